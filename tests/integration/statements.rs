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
    // auth (1) + projects page with its count, stage and budget + owner + account + tasks
    // with their comment counts + assignee.
    assert_eq!(large, 6);
    assert!(staff <= large);
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
