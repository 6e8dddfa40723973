//! docs/permissions.md (merging, project organizations): merging roles, their lifecycle,
//! and project organizations.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes, names};

const GRETA: &str = "greta@globex.example";

fn grants<'a>(sets: &'a Value, module: &str) -> Option<&'a Value> {
    sets.as_array().unwrap().iter().find(|g| g["module"] == module)
}

fn list(sets: &Value, module: &str, kind: &str) -> Vec<String> {
    grants(sets, module)
        .map(|g| {
            g[kind]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn project<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {r}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_inactive_roles_count_for_nothing_judged_at_each_request() {
    let app = TestApp::demo().await;
    let q = "{ viewer { grants { module fields relations } } projects { nodes { name progress budget { amount } } } }";
    let r = app.query_as(GRETA, q).await;
    let sets = &r["data"]["viewer"]["grants"];
    assert!(
        !list(sets, "projects", "fields").contains(&"progress".into()),
        "{r}"
    );
    assert!(!list(sets, "crm", "fields").contains(&"description".into()));
    assert!(!list(sets, "projects", "relations").contains(&"budget".into()));
    assert_eq!(project(&r, "Website Relaunch")["progress"], Value::Null);

    // The expired role comes back to life when its expiry moves into the future …
    app.sql("UPDATE roles SET expires_at = now() + interval '1 hour' WHERE name = 'Expired Extras'")
        .await;
    let r = app.query_as(GRETA, q).await;
    assert!(project(&r, "Website Relaunch")["progress"].is_number(), "{r}");
    // … and stops counting the moment it passes: no cache serves the old decision.
    app.sql("UPDATE roles SET expires_at = now() - interval '1 second' WHERE name = 'Expired Extras'")
        .await;
    let r = app.query_as(GRETA, q).await;
    assert_eq!(project(&r, "Website Relaunch")["progress"], Value::Null);

    // The inactive role counts once activated.
    app.sql("UPDATE roles SET active = true WHERE name = 'Inactive Extras'")
        .await;
    let r = app.query_as(GRETA, q).await;
    assert!(
        project(&r, "Website Relaunch")["budget"]["amount"].is_string(),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_roles_merge_and_the_allowing_rule_wins() {
    let app = TestApp::demo().await;
    let r = app
        .query_as(
            "frank@globex.example",
            "{ viewer { grants { module fields relations actions } } }",
        )
        .await;
    let sets = &r["data"]["viewer"]["grants"];
    let fields = list(sets, "tasks", "fields");
    for f in [
        "description",
        "status",
        "priority",
        "due_date",
        "estimated_hours",
        "created_at",
    ] {
        assert!(fields.contains(&f.to_string()), "{f}: {r}");
    }
    assert!(list(sets, "tasks", "actions").contains(&"create".into()));
    let greta = app
        .query_as(GRETA, "{ viewer { grants { module actions } } }")
        .await;
    assert!(!list(&greta["data"]["viewer"]["grants"], "tasks", "actions").contains(&"create".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_role_applies_to_that_project_and_to_sub_projects_that_inherit() {
    let app = TestApp::demo().await;
    let q = "{ projects { nodes { name progress myGrants { module fields } \
              tasks { nodes { title estimatedHours } } } } }";
    let r = app.query_as(GRETA, q).await;
    // Project Reviewer (Greta's role in Data Warehouse's organization) grants progress …
    assert!(project(&r, "Data Warehouse")["progress"].is_number(), "{r}");
    assert!(
        list(&project(&r, "Data Warehouse")["myGrants"], "projects", "fields").contains(&"progress".into())
    );
    // … also in its sub-project, which uses the parent's organization …
    assert!(project(&r, "Data Warehouse: ETL")["progress"].is_number());
    // … and nowhere else.
    assert_eq!(project(&r, "Website Relaunch")["progress"], Value::Null);
    assert!(
        !list(&project(&r, "Website Relaunch")["myGrants"], "projects", "fields")
            .contains(&"progress".into())
    );
    for t in project(&r, "Data Warehouse")["tasks"]["nodes"]
        .as_array()
        .unwrap()
    {
        assert!(t["estimatedHours"].is_number(), "{t}");
    }
    for t in project(&r, "Website Relaunch")["tasks"]["nodes"]
        .as_array()
        .unwrap()
    {
        assert_eq!(t["estimatedHours"], Value::Null);
    }
    // The project role never applies to the CRM account.
    let viewer = app
        .query_as(GRETA, "{ viewer { grants { module fields } } }")
        .await;
    assert!(!list(&viewer["data"]["viewer"]["grants"], "projects", "fields").contains(&"progress".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn own_organization_and_back_to_the_main_projects() {
    let app = TestApp::demo().await;
    let q = "{ projects { nodes { name } } }";
    let frank = app.query_as("frank@globex.example", q).await;
    assert!(names(&frank["data"]["projects"], "name").contains(&"Website Relaunch: Mobile App".into()));
    // Back to the main project's organization: the sub-project's own members drop out.
    app.sql("UPDATE projects SET own_organization = false WHERE name = 'Website Relaunch: Mobile App'")
        .await;
    let frank = app.query_as("frank@globex.example", q).await;
    assert_eq!(
        names(&frank["data"]["projects"], "name"),
        ["Website Relaunch"],
        "{frank}"
    );
    // A sub-project given its own organization no longer inherits its parent's.
    app.sql("UPDATE projects SET own_organization = true WHERE name = 'Data Warehouse: ETL'")
        .await;
    let greta = app.query_as(GRETA, q).await;
    assert_eq!(
        names(&greta["data"]["projects"], "name"),
        ["Data Warehouse", "Website Relaunch"],
        "{greta}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_whose_only_projects_grant_is_a_project_role_sees_exactly_those_projects() {
    let app = TestApp::demo().await;
    app.sql(
        "INSERT INTO external_users (id, workspace_id, account_id, email, name) \
         SELECT '01900000-0000-7000-8000-00000000fa70', workspace_id, id, 'pat@globex.example', 'Pat' \
         FROM accounts WHERE name = 'Globex'; \
         INSERT INTO project_members (project_id, external_user_id, role_id) \
         SELECT p.id, '01900000-0000-7000-8000-00000000fa70', r.id FROM projects p, roles r \
         WHERE p.name = 'Data Warehouse' AND r.name = 'Project Reviewer';",
    )
    .await;
    let r = app
        .query_as("pat@globex.example", "{ projects { nodes { name progress } } }")
        .await;
    // Website Relaunch is shared with Globex, but no workspace role of Pat's names `projects`.
    assert_eq!(
        names(&r["data"]["projects"], "name"),
        ["Data Warehouse", "Data Warehouse: ETL"],
        "{r}"
    );
    let r = app.query_as("pat@globex.example", "{ account { name } }").await;
    assert_eq!(codes(&r), ["FORBIDDEN"]);
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let r = app
        .query_vars(
            "pat@globex.example",
            "query($p: ID!) { tasks(projectId: $p) { totalCount } }",
            json!({ "p": wr }),
        )
        .await;
    // In scope (shared with the account), but nothing names `tasks` for it: empty.
    assert_eq!(r["data"]["tasks"]["totalCount"], 0, "{r}");
}
