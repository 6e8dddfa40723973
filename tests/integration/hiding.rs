//! docs/permissions.md#hiding: each row of the hiding table.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes, names};

const GRETA: &str = "greta@globex.example";
const FRANK: &str = "frank@globex.example";

fn project<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no projects in {r}"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {r}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_not_granted_is_null() {
    let app = TestApp::demo().await;
    let q = "{ projects { nodes { name description progress } } }";
    let greta = app.query_as(GRETA, q).await;
    let frank = app.query_as(FRANK, q).await;
    // Both hold Clients (description); only Frank's Freelancers grants progress.
    assert!(
        project(&greta, "Website Relaunch")["description"].is_string(),
        "{greta}"
    );
    assert_eq!(project(&greta, "Website Relaunch")["progress"], Value::Null);
    assert!(
        project(&frank, "Website Relaunch")["progress"].is_number(),
        "{frank}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_relation_not_granted_is_null() {
    let app = TestApp::demo().await;
    let q = "{ projects { nodes { name budget { amount currency } stage { name } } } }";
    let greta = app.query_as(GRETA, q).await;
    let frank = app.query_as(FRANK, q).await;
    assert_eq!(
        project(&greta, "Website Relaunch")["budget"],
        Value::Null,
        "{greta}"
    );
    assert!(project(&greta, "Website Relaunch")["stage"]["name"].is_string());
    assert!(
        project(&frank, "Website Relaunch")["budget"]["amount"].is_string(),
        "{frank}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_single_relation_whose_target_module_is_not_accessible_is_null() {
    let app = TestApp::demo().await;
    let q = "{ projects { nodes { name account { name } } } }";
    let before = app.query_as(GRETA, q).await;
    assert_eq!(
        project(&before, "Website Relaunch")["account"]["name"],
        "Globex",
        "{before}"
    );
    // Clients keeps the `account` relation, but no role of Greta's names `crm` any more.
    app.sql("DELETE FROM role_grants WHERE module = 'crm'").await;
    let after = app.query_as(GRETA, q).await;
    assert_eq!(
        project(&after, "Website Relaunch")["account"],
        Value::Null,
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_relation_not_granted_or_without_module_access_is_stripped() {
    let app = TestApp::demo().await;
    let q = "{ projects(first: 10) { nodes { name tasks(first: 10) { totalCount nodes { title } } \
             subprojects(first: 10) { totalCount nodes { name } } } } }";
    let ivan = app.query_as("ivan@initech.example", q).await;
    // Initech Portal grants `tasks` but not `subprojects`.
    let tps = project(&ivan, "TPS Reports");
    assert!(tps["tasks"]["totalCount"].as_i64().unwrap() > 0, "{ivan}");
    assert_eq!(tps["subprojects"], json!({"totalCount": 0, "nodes": []}));

    // The relation stays granted, but the `tasks` module is no longer named.
    app.sql(
        "DELETE FROM role_grants g USING roles r WHERE r.id = g.role_id \
         AND r.name = 'Initech Portal' AND g.module = 'tasks'",
    )
    .await;
    let ivan = app.query_as("ivan@initech.example", q).await;
    assert_eq!(
        project(&ivan, "TPS Reports")["tasks"],
        json!({"totalCount": 0, "nodes": []}),
        "{ivan}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_budget_without_client_access_is_null_even_when_granted() {
    let app = TestApp::demo().await;
    // Greta's project role on Data Warehouse grants `budget`; its client access is off.
    let q = "{ projects { nodes { name budget { amount } } } }";
    let r = app.query_as(GRETA, q).await;
    assert_eq!(project(&r, "Data Warehouse")["budget"], Value::Null, "{r}");
    app.sql(
        "UPDATE budgets SET client_access = true WHERE project_id = \
         (SELECT id FROM projects WHERE name = 'Data Warehouse')",
    )
    .await;
    let r = app.query_as(GRETA, q).await;
    assert!(
        project(&r, "Data Warehouse")["budget"]["amount"].is_string(),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_root_field_without_module_access_is_null_and_forbidden() {
    let app = TestApp::demo().await;
    let q = "{ invoices { totalCount } viewer { grants { module } } }";
    let r = app.query_as(GRETA, q).await;
    assert!(r["data"]["invoices"]["totalCount"].as_i64().unwrap() > 0, "{r}");

    // Switched off for the workspace: forbidden, and gone from Greta's grants.
    app.sql("UPDATE workspaces SET disabled_modules = '{invoices}' WHERE name = 'Acme Studio'")
        .await;
    let r = app.query_as(GRETA, q).await;
    assert_eq!(r["data"]["invoices"], Value::Null);
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let modules: Vec<&str> = r["data"]["viewer"]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["module"].as_str().unwrap())
        .collect();
    assert!(!modules.contains(&"invoices"), "{modules:?}");
    // Staff still see its records.
    let r = app.query_as("sam@acme.example", q).await;
    assert!(r["data"]["invoices"]["totalCount"].as_i64().unwrap() > 0, "{r}");

    // No role of the caller names the module.
    app.sql(
        "DELETE FROM role_grants g USING roles r WHERE r.id = g.role_id \
         AND r.name = 'Initech Portal' AND g.module = 'knowledge_base'",
    )
    .await;
    let r = app
        .query_as("ivan@initech.example", "{ articles { totalCount } }")
        .await;
    assert_eq!(r["data"]["articles"], Value::Null);
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_out_of_scope_answers_exactly_like_one_that_does_not_exist() {
    let app = TestApp::demo().await;
    let audit = app.id_of("projects", "name", "Globex Internal Audit").await;
    let missing = uuid::Uuid::now_v7();
    let q = "query($id: ID!) { project(id: $id) { id name } }";
    let hidden = app.query_vars(GRETA, q, json!({ "id": audit })).await;
    let absent = app.query_vars(GRETA, q, json!({ "id": missing })).await;
    assert_eq!(hidden, absent);
    assert_eq!(hidden["data"]["project"], Value::Null);
    assert_eq!(codes(&hidden), ["NOT_FOUND"]);
    // Staff see it.
    let staff = app
        .query_vars("sam@acme.example", q, json!({ "id": audit }))
        .await;
    assert_eq!(staff["data"]["project"]["name"], "Globex Internal Audit");
    let _ = names;
}
