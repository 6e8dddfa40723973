//! docs/permissions.md#scope-which-records-exist: which records exist for an external user.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes, names};

const GRETA: &str = "greta@globex.example";
const PROJECTS: &str = "{ projects { totalCount nodes { name } } }";

#[tokio::test(flavor = "multi_thread")]
async fn projects_are_memberships_and_shared_projects_of_the_own_account_never_archived() {
    let app = TestApp::demo().await;
    let greta = app.query_as(GRETA, PROJECTS).await;
    assert_eq!(
        names(&greta["data"]["projects"], "name"),
        ["Data Warehouse", "Data Warehouse: ETL", "Website Relaunch"],
        "{greta}"
    );
    assert_eq!(greta["data"]["projects"]["totalCount"], 3);
    let frank = app.query_as("frank@globex.example", PROJECTS).await;
    assert_eq!(
        names(&frank["data"]["projects"], "name"),
        ["Website Relaunch", "Website Relaunch: Mobile App"]
    );
    let ivan = app.query_as("ivan@initech.example", PROJECTS).await;
    assert_eq!(names(&ivan["data"]["projects"], "name"), ["TPS Reports"]);

    // Membership of an archived project does not bring it into scope.
    app.sql(
        "INSERT INTO project_members (project_id, external_user_id) \
         SELECT p.id, u.id FROM projects p, external_users u \
         WHERE p.name = 'Legacy Portal' AND u.email = 'greta@globex.example'",
    )
    .await;
    let greta = app.query_as(GRETA, PROJECTS).await;
    assert_eq!(greta["data"]["projects"]["totalCount"], 3, "{greta}");
}

#[tokio::test(flavor = "multi_thread")]
async fn membership_may_cross_accounts() {
    let app = TestApp::demo().await;
    app.sql(
        "INSERT INTO project_members (project_id, external_user_id) \
         SELECT p.id, u.id FROM projects p, external_users u \
         WHERE p.name = 'TPS Reports' AND u.email = 'greta@globex.example'",
    )
    .await;
    let q = "{ projects { nodes { name account { name } } } }";
    let greta = app.query_as(GRETA, q).await;
    let tps = greta["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "TPS Reports")
        .cloned();
    let tps = tps.unwrap_or_else(|| panic!("{greta}"));
    // Initech is not Greta's account: out of her `crm` scope, so the relation is null.
    assert_eq!(tps["account"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_tasks_and_comments_never_show() {
    let app = TestApp::demo().await;
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    let q = "query($p: ID!) { tasks(projectId: $p) { totalCount nodes { id comments { totalCount nodes { body } } } } }";
    let greta = app.query_vars(GRETA, q, json!({ "p": project })).await;
    let staff = app
        .query_vars("sam@acme.example", q, json!({ "p": project }))
        .await;
    let visible = greta["data"]["tasks"]["totalCount"].as_i64().unwrap();
    let all = staff["data"]["tasks"]["totalCount"].as_i64().unwrap();
    let internal: i64 = {
        let ids = staff["data"]["tasks"]["nodes"].as_array().unwrap().len() as i64;
        assert_eq!(ids, all);
        all - visible
    };
    assert!(internal >= 1, "the demo has an internal task: {staff}");
    assert_eq!(
        greta["data"]["tasks"]["nodes"].as_array().unwrap().len() as i64,
        visible
    );

    let comments = |r: &Value| -> (i64, Vec<String>) {
        let mut total = 0;
        let mut bodies = Vec::new();
        for t in r["data"]["tasks"]["nodes"].as_array().unwrap() {
            total += t["comments"]["totalCount"].as_i64().unwrap();
            for c in t["comments"]["nodes"].as_array().unwrap() {
                bodies.push(c["body"].as_str().unwrap().to_string());
            }
        }
        (total, bodies)
    };
    let (greta_total, greta_bodies) = comments(&greta);
    let (staff_total, _) = comments(&staff);
    assert!(
        staff_total > greta_total,
        "an internal comment exists and is hidden"
    );
    assert_eq!(greta_total as usize, greta_bodies.len());

    // Looking up the internal task by id: as if it did not exist.
    let internal_task = app
        .id_where(
            "tasks",
            "internal AND project_id = (SELECT id FROM projects WHERE name = 'Website Relaunch')",
        )
        .await;
    let r = app
        .query_vars(
            GRETA,
            "query($id: ID!) { task(id: $id) { title } }",
            json!({ "id": internal_task }),
        )
        .await;
    assert_eq!(r["data"]["task"], Value::Null);
    assert_eq!(codes(&r), ["NOT_FOUND"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn invoices_are_the_own_accounts_and_never_drafts() {
    let app = TestApp::demo().await;
    let q = "{ invoices { totalCount nodes { number status } } }";
    let greta = app.query_as(GRETA, q).await;
    let numbers = names(&greta["data"]["invoices"], "number");
    assert!(!numbers.is_empty());
    for inv in greta["data"]["invoices"]["nodes"].as_array().unwrap() {
        assert_ne!(inv["status"], "DRAFT", "{greta}");
    }
    let ivan = app.query_as("ivan@initech.example", q).await;
    let ivans = names(&ivan["data"]["invoices"], "number");
    assert!(
        ivans.iter().all(|n| !numbers.contains(n)),
        "{numbers:?} {ivans:?}"
    );

    let draft = app.id_of("invoices", "status", "DRAFT").await;
    let r = app
        .query_vars(
            GRETA,
            "query($id: ID!) { invoice(id: $id) { number } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(codes(&r), ["NOT_FOUND"]);
    let estimates = app
        .query_as(GRETA, "{ invoices(kind: ESTIMATE) { nodes { kind } } }")
        .await;
    for e in estimates["data"]["invoices"]["nodes"].as_array().unwrap() {
        assert_eq!(e["kind"], "ESTIMATE");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_only_account_is_the_own_one() {
    let app = TestApp::demo().await;
    let r = app.query_as(GRETA, "{ account { name } }").await;
    assert_eq!(r["data"]["account"]["name"], "Globex", "{r}");
    let initech = app.id_of("accounts", "name", "Initech").await;
    let r = app
        .query_vars(
            GRETA,
            "query($id: ID) { account(id: $id) { name } }",
            json!({ "id": initech }),
        )
        .await;
    assert_eq!(codes(&r), ["NOT_FOUND"]);
    let r = app.query_as(GRETA, "{ accounts { totalCount } }").await;
    assert_eq!(codes(&r), ["FORBIDDEN"]);
    assert_eq!(r["data"]["accounts"], Value::Null);
    let r = app
        .query_as("sam@acme.example", "{ accounts { nodes { name } } }")
        .await;
    assert_eq!(names(&r["data"]["accounts"], "name"), ["Globex", "Initech"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_published_articles_show() {
    let app = TestApp::demo().await;
    let greta = app
        .query_as(GRETA, "{ articles { totalCount nodes { title } } }")
        .await;
    let titles = names(&greta["data"]["articles"], "title");
    assert!(!titles.contains(&"Upcoming pricing".to_string()), "{titles:?}");
    assert_eq!(greta["data"]["articles"]["totalCount"], 3);
    let draft = app.id_of("kb_articles", "title", "Upcoming pricing").await;
    let r = app
        .query_vars(
            GRETA,
            "query($id: ID!) { article(id: $id) { title } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(codes(&r), ["NOT_FOUND"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_crosses_workspaces() {
    let app = TestApp::demo().await;
    let umbrella = app
        .id_where(
            "projects",
            "workspace_id = (SELECT id FROM workspaces WHERE name = 'Umbrella Corp')",
        )
        .await;
    for email in ["ada@acme.example", "sam@acme.example", GRETA] {
        let r = app
            .query_vars(
                email,
                "query($id: ID!) { project(id: $id) { name } }",
                json!({ "id": umbrella }),
            )
            .await;
        assert_eq!(codes(&r), ["NOT_FOUND"], "{email}: {r}");
    }
    let ada = app
        .query_as(
            "ada@acme.example",
            "{ projects { nodes { id } } accounts { nodes { name } } }",
        )
        .await;
    assert!(
        !ada["data"]["projects"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == umbrella.to_string())
    );
    assert!(
        !names(&ada["data"]["accounts"], "name")
            .iter()
            .any(|n| n.contains("Umbrella")),
        "{ada}"
    );
    let umbra = app.query_as("umbra@umbrella.example", PROJECTS).await;
    assert_eq!(umbra["data"]["projects"]["totalCount"], 1, "{umbra}");
}
