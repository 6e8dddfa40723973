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
    // auth (1) + projects page with its count, stage and budget + owner + account + tasks +
    // assignee + comment counts.
    assert_eq!(large, 7);
    assert!(staff <= large);
}
