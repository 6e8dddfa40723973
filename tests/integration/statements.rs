//! The number of SQL statements a request runs depends on the query's depth, never on
//! the number of rows (batched loaders, one query per level).

use crate::fixtures::{client_with_role, projects_for};
use crate::harness::TestApp;

pub const DASHBOARD: &str = "query Dashboard { projects(first: 20) { totalCount nodes { \
    name status stage { name } owner { name } budget { amount currency } account { name } \
    tasks(first: 10) { nodes { title status assignee { name } comments { totalCount } } } } } }";

const GRANTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "projects",
        "{status}",
        "{stage,owner,budget,account,tasks}",
        "{}",
        "{}",
    ),
    ("tasks", "{status}", "{assignee,comments}", "{}", "{}"),
    ("crm", "{}", "{}", "{}", "{}"),
];

async fn statements_for(app: &TestApp, email: &str) -> (u64, serde_json::Value) {
    let token = app.token(email).await;
    let before = app.statements().await;
    let r = app.post(Some(&token), DASHBOARD, serde_json::json!({})).await;
    let after = app.statements().await;
    (after - before, r)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_runs_as_many_statements_for_20x10_as_for_2x1() {
    let app = TestApp::demo().await;
    app.sql(&client_with_role("small", GRANTS)).await;
    app.sql(&client_with_role("large", GRANTS)).await;
    app.sql(&projects_for("small", 2, 1)).await;
    app.sql(&projects_for("large", 20, 10)).await;

    let (small, r_small) = statements_for(&app, "small@clients.example").await;
    let (large, r_large) = statements_for(&app, "large@clients.example").await;
    let (staff, r_staff) = statements_for(&app, "sam@acme.example").await;

    // The data is really there and really shaped as asked.
    assert_eq!(r_small["data"]["projects"]["totalCount"], 2, "{r_small}");
    assert_eq!(r_large["data"]["projects"]["totalCount"], 20);
    let large_projects = r_large["data"]["projects"]["nodes"].as_array().unwrap();
    assert_eq!(large_projects.len(), 20);
    for p in large_projects {
        assert_eq!(p["tasks"]["nodes"].as_array().unwrap().len(), 10, "{p}");
        assert!(
            p["budget"]["amount"].is_string()
                && p["stage"]["name"].is_string()
                && p["account"]["name"].is_string()
        );
        for t in p["tasks"]["nodes"].as_array().unwrap() {
            assert_eq!(t["comments"]["totalCount"], 2);
            assert_eq!(t["assignee"]["name"], "Sam");
        }
    }
    assert!(r_staff["errors"].is_null(), "{r_staff}");
    println!("dashboard statements: external 2x1 = {small}, external 20x10 = {large}, staff = {staff}");
    assert_eq!(small, large);
    // auth (1) + projects page with its count, stage, budget, owner and account + tasks
    // with their comment counts and assignees.
    assert_eq!(large, 3);
    assert!(staff <= large);
}

const JOINED_LIST: &str = "{ projects(first: 100) { nodes { id name owner { id name email } \
    account { id name email } tasks(first: 10) { nodes { id title assignee { id name email } } } } } }";
const ONE_PROJECT: &str =
    "query($id: ID!) { project(id: $id) { owner { id name email } account { id name email } } }";
const ONE_TASK: &str = "query($id: ID!) { task(id: $id) { assignee { id name email } } }";

/// The `P{key}` projects of the caller's list, and each one's answers against those of
/// the same relations through their loaders (`project(id)`, `task(id)`), which must be
/// the same. By name: `(owner, account, [(task title, assignee)])`, names or `null`.
async fn joined_and_loaded(app: &TestApp, email: &str, key: &str) -> Vec<(String, serde_json::Value)> {
    let token = app.token(email).await;
    let list = app.post(Some(&token), JOINED_LIST, serde_json::json!({})).await;
    assert!(list["errors"].is_null(), "{list}");
    let mut seen = Vec::new();
    for p in list["data"]["projects"]["nodes"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if !name.starts_with(&format!("P{key} ")) {
            continue;
        }
        let one = app
            .post(Some(&token), ONE_PROJECT, serde_json::json!({ "id": p["id"] }))
            .await;
        let loaded = &one["data"]["project"];
        assert_eq!(p["owner"], loaded["owner"], "{email}, {name}: {one}");
        assert_eq!(p["account"], loaded["account"], "{email}, {name}: {one}");
        let mut tasks = Vec::new();
        for t in p["tasks"]["nodes"].as_array().unwrap() {
            let one = app
                .post(Some(&token), ONE_TASK, serde_json::json!({ "id": t["id"] }))
                .await;
            assert_eq!(
                t["assignee"], one["data"]["task"]["assignee"],
                "{email}, {name}: {one}"
            );
            tasks.push((
                t["title"].to_string(),
                serde_json::json!([t["title"], t["assignee"]["name"]]),
            ));
        }
        // In id order, which is random here; compared by title.
        tasks.sort_by(|a, b| a.0.cmp(&b.0));
        let tasks: Vec<_> = tasks.into_iter().map(|(_, t)| t).collect();
        seen.push((
            name.to_owned(),
            serde_json::json!([p["owner"]["name"], p["account"]["name"], tasks]),
        ));
    }
    seen
}

/// A page's owners, accounts and assignees come joined to the page's statements instead
/// of through their loaders: each is what its loader gives, in the same scope and
/// through the same gate. A staff member of another workspace, an account that is not
/// the caller's, and any account for a caller whose roles do not name `crm` are `null`
/// either way.
#[tokio::test(flavor = "multi_thread")]
async fn relations_joined_to_a_page_answer_as_their_loaders_do() {
    let app = TestApp::demo().await;
    let no_crm: Vec<_> = GRANTS.iter().copied().filter(|g| g.0 != "crm").collect();
    app.sql(&client_with_role("joined", GRANTS)).await;
    app.sql(&client_with_role("nocrm", &no_crm)).await;
    app.sql(&projects_for("joined", 3, 2)).await;
    app.sql(&projects_for("nocrm", 1, 1)).await;
    // Out of scope: an owner and an assignee of the other workspace, and an account that
    // is not the caller's, on a project the caller reaches as a member.
    app.sql(
        "UPDATE projects SET owner_id = (SELECT id FROM staff_users WHERE email = 'umbra@umbrella.example') \
           WHERE name = 'Pjoined 001'; \
         UPDATE tasks SET assignee_id = (SELECT id FROM staff_users WHERE email = 'umbra@umbrella.example') \
           WHERE title = 'T1' AND project_id = (SELECT id FROM projects WHERE name = 'Pjoined 002'); \
         INSERT INTO project_members (project_id, external_user_id) SELECT p.id, u.id \
           FROM projects p, external_users u WHERE p.name = 'Pjoined 003' AND u.email = 'joined@clients.example'; \
         UPDATE projects SET account_id = (SELECT id FROM accounts WHERE name = 'Globex') WHERE name = 'Pjoined 003';",
    )
    .await;
    let tasks = |first: serde_json::Value| serde_json::json!([["T1", first], ["T2", "Sam"]]);
    let expect = |rows: &[(&str, &str, &str, serde_json::Value)]| -> Vec<(String, serde_json::Value)> {
        rows.iter()
            .map(|(name, owner, account, tasks)| {
                let or_null = |s: &str| {
                    if s.is_empty() {
                        serde_json::Value::Null
                    } else {
                        s.into()
                    }
                };
                (
                    (*name).to_owned(),
                    serde_json::json!([or_null(owner), or_null(account), tasks]),
                )
            })
            .collect()
    };
    assert_eq!(
        joined_and_loaded(&app, "joined@clients.example", "joined").await,
        expect(&[
            ("Pjoined 001", "", "Account joined", tasks("Sam".into())),
            (
                "Pjoined 002",
                "Ada",
                "Account joined",
                tasks(serde_json::Value::Null)
            ),
            ("Pjoined 003", "Ada", "", tasks("Sam".into())),
        ])
    );
    assert_eq!(
        joined_and_loaded(&app, "nocrm@clients.example", "nocrm").await,
        expect(&[("Pnocrm 001", "Ada", "", serde_json::json!([["T1", "Sam"]]))])
    );
    // Staff see the internal task (T3) too.
    let staff_tasks =
        |first: serde_json::Value| serde_json::json!([["T1", first], ["T2", "Sam"], ["T3", "Sam"]]);
    assert_eq!(
        joined_and_loaded(&app, "sam@acme.example", "joined").await,
        expect(&[
            ("Pjoined 001", "", "Account joined", staff_tasks("Sam".into())),
            (
                "Pjoined 002",
                "Ada",
                "Account joined",
                staff_tasks(serde_json::Value::Null)
            ),
            ("Pjoined 003", "Ada", "Globex", staff_tasks("Sam".into())),
        ])
    );
}

/// What a caller should see of the `Ppager` projects' tasks, from the tables: per
/// project, the count of visible tasks and the titles of those after `after` in id order.
async fn expected_pages(
    app: &TestApp,
    staff: bool,
    after: Option<uuid::Uuid>,
) -> std::collections::BTreeMap<String, (i64, Vec<String>)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        titles: String,
    }
    let after = after.map_or("NULL".to_owned(), |id| format!("'{id}'"));
    let sql = format!(
        "SELECT p.name, count(*) AS total, \
           coalesce(string_agg(t.title, ',' ORDER BY t.id) FILTER (WHERE t.id > {after}::uuid OR {after} IS NULL), '') AS titles \
         FROM projects p JOIN tasks t ON t.project_id = p.id \
         WHERE p.name LIKE 'Ppager %' AND ({staff} OR NOT t.internal) GROUP BY p.name"
    );
    let mut conn = <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&app.url)
        .await
        .unwrap();
    let rows: Vec<Row> = diesel_async::RunQueryDsl::load(diesel::sql_query(sql), &mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            let titles = r
                .titles
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            (r.name, (r.total, titles))
        })
        .collect()
}

/// One batch pages every project's tasks on its own: each page is cut at `first` in id
/// order, continues after the cursor it is given, and holds only the tasks (and counts
/// only the comments) its caller may see; staff see the internal ones.
#[tokio::test(flavor = "multi_thread")]
async fn each_project_of_a_batch_gets_its_own_page_of_tasks() {
    let app = TestApp::demo().await;
    app.sql(&client_with_role("pager", GRANTS)).await;
    // Three projects of five visible tasks and one internal; each task has two visible
    // comments and one internal.
    app.sql(&projects_for("pager", 3, 5)).await;
    let q = "query($after: String) { projects(first: 100) { nodes { name \
        tasks(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } \
          nodes { id title comments { totalCount } } } } } }";
    for (email, staff) in [("pager@clients.example", false), ("sam@acme.example", true)] {
        let first = app.query_vars(email, q, serde_json::json!({})).await;
        assert!(first["errors"].is_null(), "{first}");
        let pages = |r: &serde_json::Value| -> Vec<serde_json::Value> {
            let nodes = r["data"]["projects"]["nodes"].as_array().unwrap();
            nodes
                .iter()
                .filter(|p| p["name"].as_str().unwrap().starts_with("Ppager "))
                .cloned()
                .collect()
        };
        let expected = expected_pages(&app, staff, None).await;
        let got = pages(&first);
        assert_eq!(got.len(), 3, "{email}: {first}");
        for p in &got {
            let (total, titles) = &expected[p["name"].as_str().unwrap()];
            let tasks = &p["tasks"];
            assert_eq!(tasks["totalCount"], *total, "{email}: {p}");
            assert_eq!(*total, if staff { 6 } else { 5 });
            let served: Vec<&str> = tasks["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap())
                .collect();
            assert_eq!(served, titles[..2], "{email}: {p}");
            assert_eq!(tasks["pageInfo"]["hasNextPage"], true);
            for t in tasks["nodes"].as_array().unwrap() {
                assert_eq!(
                    t["comments"]["totalCount"],
                    if staff { 3 } else { 2 },
                    "{email}: {t}"
                );
            }
        }

        // A task alone (not through a page) counts its comments the same.
        let task = &got[0]["tasks"]["nodes"][0];
        let alone = app
            .query_vars(
                email,
                "query($id: ID!) { task(id: $id) { comments { totalCount } } }",
                serde_json::json!({ "id": task["id"] }),
            )
            .await;
        assert_eq!(
            alone["data"]["task"]["comments"]["totalCount"], task["comments"]["totalCount"],
            "{email}: {alone}"
        );

        // The first project's cursor, given to the whole batch: every project's page
        // continues after that task's id.
        let (name, cursor) = (
            got[0]["name"].as_str().unwrap(),
            &got[0]["tasks"]["pageInfo"]["endCursor"],
        );
        let last = &expected[name].1[1];
        let after_id = app
            .id_where(
                "tasks",
                &format!("title = '{last}' AND project_id = (SELECT id FROM projects WHERE name = '{name}')"),
            )
            .await;
        let next = app
            .query_vars(email, q, serde_json::json!({ "after": cursor }))
            .await;
        assert!(next["errors"].is_null(), "{next}");
        let expected = expected_pages(&app, staff, Some(after_id)).await;
        let got = pages(&next);
        assert_eq!(got.len(), 3);
        for p in &got {
            let titles = &expected[p["name"].as_str().unwrap()].1;
            let served: Vec<&str> = p["tasks"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap())
                .collect();
            assert_eq!(served, titles[..titles.len().min(2)], "{email}: {p}");
            assert_eq!(
                p["tasks"]["pageInfo"]["hasNextPage"],
                titles.len() > 2,
                "{email}: {p}"
            );
        }
        // The first project's own continuation is the rest of its tasks after the first two.
        let first_titles = &expected_pages(&app, staff, None).await[name].1;
        let own: Vec<&str> = got[0]["tasks"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        assert_eq!(own, first_titles[2..4], "{email}");
    }
}

/// The demo with 5,000 more projects in Sam's workspace, and `named` ones after them in
/// name order; that workspace, and a connection of the test's own.
async fn large_workspace(named: &[&str]) -> (TestApp, uuid::Uuid, diesel_async::AsyncPgConnection) {
    use diesel_async::AsyncConnection;
    let app = TestApp::demo().await;
    let (_, workspace_id, _) = app.user_id("sam@acme.example").await;
    let named = named
        .iter()
        .map(|n| format!("('{n}')"))
        .collect::<Vec<_>>()
        .join(", ");
    let named = if named.is_empty() {
        String::new()
    } else {
        format!(
            "INSERT INTO projects (id, workspace_id, name, status) \
               SELECT gen_random_uuid(), '{workspace_id}', n, 'ACTIVE' FROM (VALUES {named}) v(n);"
        )
    };
    app.sql(&format!(
        "INSERT INTO projects (id, workspace_id, name, status) \
           SELECT gen_random_uuid(), '{workspace_id}', 'Bulk ' || lpad(g::text, 5, '0'), 'ACTIVE' \
           FROM generate_series(1, 5000) g; \
         {named} ANALYZE projects;"
    ))
    .await;
    let conn = diesel_async::AsyncPgConnection::establish(&app.url)
        .await
        .unwrap();
    (app, workspace_id, conn)
}

#[derive(diesel::QueryableByName, Debug)]
struct PlanCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    statement: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    custom_plans: i64,
}

/// A page of projects is planned once per statement, not on every request: PostgreSQL
/// plans the first five executions of a prepared statement for their values, then keeps
/// its generic plan unless that plan looks dearer. With the page size bound as
/// `LIMIT $n`, the generic plan was priced for a tenth of a large workspace, so a staff
/// page was planned again every time; and a cursor written `$6 IS NULL OR …` could not
/// bound the generic plan's index scan.
#[tokio::test(flavor = "multi_thread")]
async fn pages_of_a_large_workspace_keep_one_generic_plan() {
    use diesel_async::RunQueryDsl;
    use portal_gateway::access::Scope;
    use portal_gateway::db::queries::{self, Page};

    // Held to the end: the test database goes with it.
    let (_app, workspace_id, mut conn) = large_workspace(&[]).await;
    let scope = Scope {
        workspace_id,
        staff: true,
        project_ids: Vec::new(),
        account_id: None,
        workspace_named: true,
    };
    let first = Page {
        first: 21,
        after: None,
    };
    let (page, _) = queries::projects_page(&mut conn, &scope, &first, false, Default::default())
        .await
        .unwrap();
    assert_eq!(page.len(), 21);
    let last = &page[20].view.project;
    let next = Page {
        first: 21,
        after: Some((last.name.clone(), last.id)),
    };
    for _ in 0..8 {
        let (a, _) = queries::projects_page(&mut conn, &scope, &first, false, Default::default())
            .await
            .unwrap();
        let (b, _) = queries::projects_page(&mut conn, &scope, &next, false, Default::default())
            .await
            .unwrap();
        assert_eq!(a.len(), 21);
        assert_eq!(b.len(), 21);
        // The second page starts after the first one's last row.
        assert!((b[0].view.project.name.as_str(), b[0].view.project.id) > (last.name.as_str(), last.id));
        // Smaller pages share one statement: not a statement per size.
        for n in [1, 5, 9, 15] {
            let small = Page {
                first: n,
                after: None,
            };
            let (c, _) = queries::projects_page(&mut conn, &scope, &small, false, Default::default())
                .await
                .unwrap();
            assert_eq!(c.len(), n as usize);
            assert_eq!(c[0].view.project.id, a[0].view.project.id);
        }
    }
    let plans: Vec<PlanCount> = diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE 'SELECT p.*%FROM projects p WHERE%ORDER BY p.name, p.id%'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        plans.len(),
        3,
        "pages of 21 with a cursor and without, and the smaller pages: {plans:?}"
    );
    let with_cursor = plans
        .iter()
        .filter(|p| p.statement.contains("(p.name, p.id) > ($6, $7)"));
    assert_eq!(with_cursor.count(), 1, "{plans:?}");
    for p in &plans {
        // Five custom plans to learn the statement's cost, then the generic one.
        assert!(p.custom_plans <= 5, "planned again on every execution: {p:?}");
        assert!(p.generic_plans >= 3, "{p:?}");
    }
}

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// An external user's page reads their projects, not the workspace: priced for a few
/// rows, a plan walks the workspace in name order to find the caller's few projects
/// among its thousands (what the staff statement's ceiling does to an external one).
#[tokio::test(flavor = "multi_thread")]
async fn an_external_page_of_a_large_workspace_reads_its_own_projects() {
    use diesel_async::RunQueryDsl;
    use portal_gateway::access::Scope;
    use portal_gateway::db::queries::{self, Page};

    let (app, workspace_id, mut conn) = large_workspace(&["Zed 1", "Zed 2", "Zed 3"]).await;
    let mut own = Vec::new();
    for n in ["Zed 1", "Zed 2", "Zed 3"] {
        own.push(app.id_where("projects", &format!("name = '{n}'")).await);
    }
    let scope = Scope {
        workspace_id,
        staff: false,
        project_ids: own.clone(),
        account_id: None,
        workspace_named: false,
    };
    let page = Page {
        first: 21,
        after: None,
    };
    for _ in 0..8 {
        let (rows, _) = queries::projects_page(&mut conn, &scope, &page, false, Default::default())
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
    }
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM pg_prepared_statements WHERE statement LIKE 'SELECT p.*%FROM projects p WHERE%'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(names.len(), 1);
    let ids = own.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(",");
    let plan: Vec<PlanLine> = diesel::sql_query(format!(
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE {}('{workspace_id}', false, '{{{ids}}}', NULL, false, NULL, NULL, 21)",
        names[0].name
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
    // Rows looked at and dropped by a filter: the workspace's, had it walked them.
    let passed_over: u64 = plan
        .iter()
        .filter_map(|l| l.trim().strip_prefix("Rows Removed by Filter: "))
        .filter_map(|n| n.trim().parse::<u64>().ok())
        .sum();
    assert!(
        passed_over < 100,
        "passed over {passed_over} rows for 3 projects: {plan:#?}"
    );
}

const TASK_DETAIL: &str =
    "id title description priority dueDate estimatedHours createdAt completedAt owner { name }";

/// A page's tasks are read as their head columns alone (`TaskHead`) when their items are
/// asked nothing more, and whole otherwise, however the query spells it (fields, an
/// alias, a fragment through `edges`). Each task answers as `task(id)` does, and no
/// task is loaded again on its own.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_tasks_reads_the_columns_its_items_are_asked() {
    let app = TestApp::demo().await;
    app.sql(&client_with_role("lean", GRANTS)).await;
    app.sql(&projects_for("lean", 2, 3)).await;
    app.sql(
        "UPDATE tasks SET description = 'about ' || title, priority = 'HIGH', due_date = '2026-12-01', \
           estimated_hours = 2.5, completed_at = '2026-11-30 10:00:00+00', \
           owner_id = (SELECT id FROM staff_users WHERE email = 'ada@acme.example') \
         WHERE project_id IN (SELECT id FROM projects WHERE name LIKE 'Plean %');",
    )
    .await;
    let token = app.token("sam@acme.example").await;
    let page = |items: &str| {
        format!("{{ projects(first: 100) {{ nodes {{ name tasks(first: 10) {{ {items} }} }} }} }}")
    };
    let spellings = [
        ("lean", page("nodes { id title status }"), "id title status"),
        ("fields", page(&format!("nodes {{ {TASK_DETAIL} }}")), TASK_DETAIL),
        ("alias", page("nodes { id due: dueDate }"), "id due: dueDate"),
        (
            "fragment",
            page("edges { node { id ...Detail } }")
                + &format!(" fragment Detail on Task {{ {TASK_DETAIL} }}"),
            TASK_DETAIL,
        ),
    ];
    let mut counts = Vec::new();
    for (name, query, fields) in &spellings {
        let before = app.statements().await;
        let r = app.post(Some(&token), query, serde_json::json!({})).await;
        counts.push(app.statements().await - before);
        assert!(r["errors"].is_null(), "{name}: {r}");
        let mut seen = 0;
        for p in r["data"]["projects"]["nodes"].as_array().unwrap() {
            if !p["name"].as_str().unwrap().starts_with("Plean ") {
                continue;
            }
            let tasks = &p["tasks"];
            let items: Vec<&serde_json::Value> = match tasks["nodes"].as_array() {
                Some(nodes) => nodes.iter().collect(),
                None => tasks["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| &e["node"])
                    .collect(),
            };
            // Staff see the internal task too.
            assert_eq!(items.len(), 4, "{name}: {p}");
            for task in items {
                let one = app
                    .post(
                        Some(&token),
                        &format!("query($id: ID!) {{ task(id: $id) {{ {fields} }} }}"),
                        serde_json::json!({ "id": task["id"] }),
                    )
                    .await;
                assert_eq!(task, &one["data"]["task"], "{name}: {one}");
                seen += 1;
            }
        }
        assert_eq!(seen, 8, "{name}");
    }
    // The detail was really there, not nulls on both sides.
    let r = app
        .post(Some(&token), &spellings[1].1, serde_json::json!({}))
        .await;
    let some = r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Plean 001")
        .unwrap()["tasks"]["nodes"][0]
        .clone();
    assert_eq!(some["priority"], "HIGH", "{some}");
    assert_eq!(some["dueDate"], "2026-12-01");
    assert_eq!(some["owner"]["name"], "Ada");
    assert_eq!(
        some["description"],
        format!("about {}", some["title"].as_str().unwrap())
    );
    // The same statements for every spelling, plus the task owners' where they are
    // asked (a task loaded again would be one more).
    let lean = counts[0];
    assert_eq!(
        counts,
        [lean, lean + 1, lean, lean + 1],
        "statements per spelling"
    );
}
