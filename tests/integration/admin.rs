//! docs/api.md admin API: only admins; catalog-checked roles; changes hold on the next
//! request.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes, names};

const ADA: &str = "ada@acme.example";
const GRETA: &str = "greta@globex.example";

async fn count(app: &TestApp, table: &str) -> i64 {
    let r = app.query_as(ADA, "{ roles { id } externalUsers { id } }").await;
    let _ = r;
    app.count(&format!("SELECT count(*) AS n FROM {table}")).await
}

/// Every admin mutation, with arguments that would succeed for an admin.
async fn admin_mutations(app: &TestApp) -> Vec<(String, Value)> {
    let role = app.id_of("roles", "name", "Freelancers").await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let globex = app.id_of("accounts", "name", "Globex").await;
    let etl = app.id_of("projects", "name", "Data Warehouse: ETL").await;
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let v = json!({ "role": role, "greta": greta, "globex": globex, "etl": etl, "wr": wr });
    [
        "mutation { createRole(input: { name: \"X\", grants: [{ module: \"crm\" }] }) { id } }",
        "mutation($role: ID!) { updateRole(id: $role, input: { active: false }) { id } }",
        "mutation($role: ID!) { deleteRoles(ids: [$role]) }",
        "mutation($role: ID!, $greta: ID!) { assignRole(roleId: $role, externalUserId: $greta) { id } }",
        "mutation($role: ID!, $greta: ID!) { unassignRole(roleId: $role, externalUserId: $greta) { id } }",
        "mutation($globex: ID!) { createExternalUser(accountId: $globex, email: \"new@globex.example\", name: \"New\") { id } }",
        "mutation($greta: ID!) { deleteExternalUser(id: $greta) }",
        "mutation($greta: ID!) { grantPortalAccess(externalUserId: $greta) { id } }",
        "mutation($greta: ID!) { revokePortalAccess(externalUserId: $greta) { id } }",
        "mutation($wr: ID!, $greta: ID!, $role: ID) { addProjectMember(projectId: $wr, externalUserId: $greta, roleId: $role) { id } }",
        "mutation($etl: ID!, $greta: ID!) { removeProjectMember(projectId: $etl, externalUserId: $greta) { id } }",
        "mutation($etl: ID!) { setProjectOwnOrganization(projectId: $etl, own: true) { id } }",
        "mutation($wr: ID!) { setProjectSharedWithAccount(projectId: $wr, shared: false) { id } }",
        "mutation($wr: ID!) { setBudgetClientAccess(projectId: $wr, enabled: false) { id } }",
        "mutation { setWorkspaceModule(module: \"invoices\", enabled: false) { module enabled } }",
    ]
    .into_iter()
    .map(|q| (q.to_string(), v.clone()))
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_mutation_and_query_is_refused_for_staff_and_external_users_and_changes_nothing() {
    let app = TestApp::demo().await;
    let before: Vec<i64> = futures_counts(&app).await;
    for email in ["sam@acme.example", GRETA, "frank@globex.example"] {
        for (q, v) in admin_mutations(&app).await {
            let r = app.query_vars(email, &q, v).await;
            assert_eq!(codes(&r), ["FORBIDDEN"], "{email}: {q}: {r}");
        }
        for q in [
            "{ roles { id } }",
            "{ externalUsers { id } }",
            "{ permissionCatalog { module } }",
            "{ auditLog { totalCount } }",
        ] {
            let r = app.query_as(email, q).await;
            assert_eq!(codes(&r), ["FORBIDDEN"], "{email}: {q}: {r}");
        }
    }
    assert_eq!(futures_counts(&app).await, before);
    let r = app
        .query_as(GRETA, "{ projects { totalCount } invoices { totalCount } }")
        .await;
    assert!(r["errors"].is_null(), "Greta still has her access: {r}");
}

async fn futures_counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "roles",
        "role_grants",
        "role_assignments",
        "external_users",
        "project_members",
        "budgets WHERE client_access",
    ] {
        out.push(count(app, t).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_mutation_works_for_an_admin() {
    let app = TestApp::demo().await;
    for (q, v) in admin_mutations(&app).await {
        let r = app.query_vars(ADA, &q, v).await;
        // Deleting Greta first would make later ones not found: each runs on the demo
        // state as changed so far, and may only fail by NOT_FOUND after her deletion.
        let c = codes(&r);
        assert!(c.is_empty() || c == ["NOT_FOUND"], "{q}: {r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_outside_the_catalog_is_refused_with_its_place_and_nothing_is_saved() {
    let app = TestApp::demo().await;
    let roles = count(&app, "roles").await;
    let q = "mutation($g: [GrantInput!]) { createRole(input: { name: \"Typo\", grants: $g }) { id } }";
    let cases = [
        (
            json!([{ "module": "crm" }, { "module": "tasks", "fields": ["due_date", "dueDate"] }]),
            "input.grants[1].fields",
        ),
        (
            json!([{ "module": "projects", "relations": ["budgets"] }]),
            "input.grants[0].relations",
        ),
        (json!([{ "module": "wiki" }]), "input.grants[0].module"),
        (
            json!([{ "module": "crm" }, { "module": "crm" }]),
            "input.grants[1].module",
        ),
        (
            json!([{ "module": "tasks", "actions": ["delete"] }]),
            "input.grants[0].actions",
        ),
    ];
    for (grants, field) in cases {
        let r = app.query_vars(ADA, q, json!({ "g": grants })).await;
        assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], field, "{r}");
    }
    assert_eq!(count(&app, "roles").await, roles);
    let r = app.query_vars(ADA, q, json!({ "g": [{ "module": "knowledge_base", "fields": ["body"], "notifications": ["published"] }] })).await;
    assert!(r["data"]["createRole"]["id"].is_string(), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_gives_greta_a_role_and_her_next_request_shows_it() {
    let app = TestApp::demo().await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let q = "{ projects { nodes { name progress } } }";
    let before = app.query_as(GRETA, q).await;
    let wr = |r: &Value| {
        r["data"]["projects"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Website Relaunch")
            .unwrap()["progress"]
            .clone()
    };
    assert_eq!(wr(&before), Value::Null);
    let r = app
        .query_as(ADA, "mutation { createRole(input: { name: \"Progress\", grants: [{ module: \"projects\", fields: [\"progress\"] }] }) { id grants { module fields } } }")
        .await;
    assert_eq!(
        r["data"]["createRole"]["grants"],
        json!([{ "module": "projects", "fields": ["progress"] }])
    );
    let role = r["data"]["createRole"]["id"].as_str().unwrap().to_string();
    let r = app
        .query_vars(
            ADA,
            "mutation($r: ID!, $u: ID!) { assignRole(roleId: $r, externalUserId: $u) { roles { name } } }",
            json!({ "r": role, "u": greta }),
        )
        .await;
    assert!(
        names(&json!({ "nodes": r["data"]["assignRole"]["roles"] }), "name")
            .contains(&"Progress".to_string()),
        "{r}"
    );
    assert!(wr(&app.query_as(GRETA, q).await).is_number());
    // Deactivated: it stops counting at once.
    app.query_vars(
        ADA,
        "mutation($r: ID!) { updateRole(id: $r, input: { active: false }) { active } }",
        json!({ "r": role }),
    )
    .await;
    assert_eq!(wr(&app.query_as(GRETA, q).await), Value::Null);
    // Reactivated, then expired.
    app.query_vars(
        ADA,
        "mutation($r: ID!) { updateRole(id: $r, input: { active: true }) { active } }",
        json!({ "r": role }),
    )
    .await;
    assert!(wr(&app.query_as(GRETA, q).await).is_number());
    app.query_vars(
        ADA,
        "mutation($r: ID!) { updateRole(id: $r, input: { expiresAt: \"2020-01-01T00:00:00Z\" }) { id } }",
        json!({ "r": role }),
    )
    .await;
    assert_eq!(wr(&app.query_as(GRETA, q).await), Value::Null);
    app.query_vars(
        ADA,
        "mutation($r: ID!) { updateRole(id: $r, input: { expiresAt: null }) { expiresAt } }",
        json!({ "r": role }),
    )
    .await;
    assert!(wr(&app.query_as(GRETA, q).await).is_number());
    // Unassigned, then deleted: gone in the same request.
    app.query_vars(
        ADA,
        "mutation($r: ID!, $u: ID!) { unassignRole(roleId: $r, externalUserId: $u) { id } }",
        json!({ "r": role, "u": greta }),
    )
    .await;
    assert_eq!(wr(&app.query_as(GRETA, q).await), Value::Null);
    let r = app
        .query_vars(
            ADA,
            "mutation($r: ID!) { deleteRoles(ids: [$r, $r]) }",
            json!({ "r": role }),
        )
        .await;
    assert_eq!(r["data"]["deleteRoles"], json!([role]));
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_role_removes_its_assignments_and_project_uses_in_one_go() {
    let app = TestApp::demo().await;
    let reviewer = app.id_of("roles", "name", "Project Reviewer").await;
    let q = "{ projects { nodes { name progress } } }";
    let r = app.query_as(GRETA, q).await;
    assert!(
        r["data"]["projects"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Data Warehouse" && p["progress"].is_number())
    );
    let r = app
        .query_vars(
            ADA,
            "mutation($r: ID!) { deleteRoles(ids: [$r]) }",
            json!({ "r": reviewer }),
        )
        .await;
    assert_eq!(r["data"]["deleteRoles"], json!([reviewer]));
    let r = app.query_as(GRETA, q).await;
    // Still a member of Data Warehouse, without the role's grants.
    let dw = r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Data Warehouse")
        .cloned()
        .unwrap();
    assert_eq!(dw["progress"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_portal_access_answers_unauthenticated_at_once_and_granting_restores_it() {
    let app = TestApp::demo().await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let token = app.token(GRETA).await;
    let r = app
        .query_vars(
            ADA,
            "mutation($u: ID!) { revokePortalAccess(externalUserId: $u) { portalAccess } }",
            json!({ "u": greta }),
        )
        .await;
    assert_eq!(r["data"]["revokePortalAccess"]["portalAccess"], false);
    let r = app.post(Some(&token), "{ viewer { name } }", json!({})).await;
    assert_eq!(codes(&r), ["UNAUTHENTICATED"]);
    app.query_vars(
        ADA,
        "mutation($u: ID!) { grantPortalAccess(externalUserId: $u) { portalAccess } }",
        json!({ "u": greta }),
    )
    .await;
    let r = app.post(Some(&token), "{ viewer { name } }", json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta");
}

#[tokio::test(flavor = "multi_thread")]
async fn project_organizations_own_copies_members_and_back_inherits_again() {
    let app = TestApp::demo().await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let etl = app.id_of("projects", "name", "Data Warehouse: ETL").await;
    let q = "{ projects { nodes { name } } }";
    let sees_etl =
        |r: &Value| names(&r["data"]["projects"], "name").contains(&"Data Warehouse: ETL".to_string());
    assert!(sees_etl(&app.query_as(GRETA, q).await));
    // Own organization: the parent's effective members are copied, with their roles.
    let r = app
        .query_vars(ADA, "mutation($p: ID!) { setProjectOwnOrganization(projectId: $p, own: true) { ownOrganization members { user { email } role { name } } } }", json!({ "p": etl }))
        .await;
    assert_eq!(
        r["data"]["setProjectOwnOrganization"]["ownOrganization"], true,
        "{r}"
    );
    assert_eq!(
        r["data"]["setProjectOwnOrganization"]["members"],
        json!([{ "user": { "email": GRETA }, "role": { "name": "Project Reviewer" } }])
    );
    assert!(sees_etl(&app.query_as(GRETA, q).await));
    // Removed from the sub-project's own organization only.
    app.query_vars(
        ADA,
        "mutation($p: ID!, $u: ID!) { removeProjectMember(projectId: $p, externalUserId: $u) { id } }",
        json!({ "p": etl, "u": greta }),
    )
    .await;
    let r = app.query_as(GRETA, q).await;
    assert!(
        !sees_etl(&r) && names(&r["data"]["projects"], "name").contains(&"Data Warehouse".to_string()),
        "{r}"
    );
    // Back to the main project's organization: inherits again.
    let r = app
        .query_vars(ADA, "mutation($p: ID!) { setProjectOwnOrganization(projectId: $p, own: false) { ownOrganization members { user { email } } } }", json!({ "p": etl }))
        .await;
    assert_eq!(r["data"]["setProjectOwnOrganization"]["members"], json!([]));
    assert!(sees_etl(&app.query_as(GRETA, q).await));
    // A top-level project has no main project to use.
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let r = app
        .query_vars(
            ADA,
            "mutation($p: ID!) { setProjectOwnOrganization(projectId: $p, own: false) { id } }",
            json!({ "p": wr }),
        )
        .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sharing_budgets_members_and_modules_change_what_greta_sees() {
    let app = TestApp::demo().await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let audit = app.id_of("projects", "name", "Globex Internal Audit").await;
    let dw = app.id_of("projects", "name", "Data Warehouse").await;
    let q = "{ projects { nodes { name budget { amount } } } }";
    app.query_vars(ADA, "mutation($p: ID!) { setProjectSharedWithAccount(projectId: $p, shared: true) { sharedWithAccount } }", json!({ "p": audit })).await;
    let r = app.query_as(GRETA, q).await;
    assert!(
        names(&r["data"]["projects"], "name").contains(&"Globex Internal Audit".to_string()),
        "{r}"
    );
    app.query_vars(ADA, "mutation($p: ID!) { setBudgetClientAccess(projectId: $p, enabled: true) { budget { clientAccess } } }", json!({ "p": dw })).await;
    let r = app.query_as(GRETA, q).await;
    let dw_row = r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Data Warehouse")
        .cloned()
        .unwrap();
    assert!(dw_row["budget"]["amount"].is_string(), "{r}");
    let tps = app.id_of("projects", "name", "TPS Reports").await;
    app.query_vars(
        ADA,
        "mutation($p: ID!, $u: ID!) { addProjectMember(projectId: $p, externalUserId: $u) { id } }",
        json!({ "p": tps, "u": greta }),
    )
    .await;
    assert!(
        names(&app.query_as(GRETA, q).await["data"]["projects"], "name").contains(&"TPS Reports".to_string())
    );
    let r = app
        .query_as(
            ADA,
            "mutation { setWorkspaceModule(module: \"projects\", enabled: false) { module enabled } }",
        )
        .await;
    assert!(
        r["data"]["setWorkspaceModule"]
            .as_array()
            .unwrap()
            .contains(&json!({ "module": "projects", "enabled": false }))
    );
    assert_eq!(codes(&app.query_as(GRETA, q).await), ["FORBIDDEN"]);
    app.query_as(
        ADA,
        "mutation { setWorkspaceModule(module: \"projects\", enabled: true) { module } }",
    )
    .await;
    assert!(app.query_as(GRETA, q).await["errors"].is_null());
    let r = app
        .query_as(
            ADA,
            "mutation { setWorkspaceModule(module: \"wiki\", enabled: true) { module } }",
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "module");
}

#[tokio::test(flavor = "multi_thread")]
async fn external_users_are_created_once_and_deleted_with_their_access_but_not_their_audit() {
    let app = TestApp::demo().await;
    let globex = app.id_of("accounts", "name", "Globex").await;
    let q = "mutation($a: ID!, $e: String!) { createExternalUser(accountId: $a, email: $e, name: \"Nina\") { id email portalAccess account { name } } }";
    let r = app
        .query_vars(ADA, q, json!({ "a": globex, "e": "Nina@Globex.example" }))
        .await;
    assert_eq!(
        r["data"]["createExternalUser"]["email"], "nina@globex.example",
        "{r}"
    );
    assert_eq!(r["data"]["createExternalUser"]["account"]["name"], "Globex");
    let r = app
        .query_vars(ADA, q, json!({ "a": globex, "e": "nina@globex.example" }))
        .await;
    assert_eq!(codes(&r), ["CONFLICT"]);
    let r = app
        .query_vars(ADA, q, json!({ "a": globex, "e": "no-at-sign" }))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "email");

    // Greta leaves an audit trail, then is deleted: her access ends, her events stay.
    let token = app.token(GRETA).await;
    app.post(Some(&token), "query Mine { projects { totalCount } }", json!({}))
        .await;
    app.audit_log(1).await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let r = app
        .query_vars(
            ADA,
            "mutation($u: ID!) { deleteExternalUser(id: $u) }",
            json!({ "u": greta }),
        )
        .await;
    assert_eq!(r["data"]["deleteExternalUser"], json!(greta));
    assert_eq!(
        codes(&app.post(Some(&token), "{ viewer { name } }", json!({})).await),
        ["UNAUTHENTICATED"]
    );
    assert_eq!(
        count(
            &app,
            &format!("role_assignments WHERE external_user_id = '{greta}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("project_members WHERE external_user_id = '{greta}'")
        )
        .await,
        0
    );
    assert!(count(&app, &format!("audit_events WHERE external_user_id = '{greta}'")).await >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn external_user_emails_are_unique_per_workspace_case_insensitively() {
    let app = TestApp::demo().await;
    let globex = app.id_of("accounts", "name", "Globex").await;
    let pharma = app.id_of("accounts", "name", "Umbrella Pharma").await;
    let (uma, umbrella, _) = app.user_id("uma@umbrella.example").await;
    let q = "mutation($a: ID!, $e: String!) { createExternalUser(accountId: $a, email: $e, name: \"Twin\") { id email } }";
    // An e-mail of the other workspace is free here: nothing tells Ada it exists there.
    let r = app
        .query_vars(ADA, q, json!({ "a": globex, "e": "uma@umbrella.example" }))
        .await;
    assert_eq!(
        r["data"]["createExternalUser"]["email"], "uma@umbrella.example",
        "{r}"
    );
    let r = app
        .query_vars(
            "umbra@umbrella.example",
            q,
            json!({ "a": pharma, "e": "Greta@Globex.example" }),
        )
        .await;
    assert_eq!(
        r["data"]["createExternalUser"]["email"], "greta@globex.example",
        "{r}"
    );
    // Uma of Umbrella is untouched and still signs in.
    let token = app.mint(uma, umbrella, false, 3600);
    let r = app.post(Some(&token), "{ viewer { name } }", json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Uma", "{r}");

    // In her own workspace, in any case: CONFLICT, even against a stored mixed-case row.
    app.sql("UPDATE external_users SET email = 'Frank@Globex.example' WHERE email = 'frank@globex.example'")
        .await;
    for email in [
        "UMA@umbrella.example",
        "greta@GLOBEX.example",
        "frank@globex.example",
    ] {
        let r = app.query_vars(ADA, q, json!({ "a": globex, "e": email })).await;
        assert_eq!(codes(&r), ["CONFLICT"], "{email}: {r}");
        assert!(r["data"]["createExternalUser"].is_null(), "{r}");
    }
    let r = app
        .query_vars(
            "umbra@umbrella.example",
            q,
            json!({ "a": pharma, "e": "GRETA@globex.example" }),
        )
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
}
