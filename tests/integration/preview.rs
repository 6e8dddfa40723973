//! docs/permissions.md#preview: preview as a user or as a role set of an account;
//! read-only, audited, and refused (never ignored) from anyone but an admin.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes};

const ADA: &str = "ada@acme.example";
const GRETA: &str = "greta@globex.example";
const DASHBOARD: &str = "query Dashboard { viewer { user { __typename ... on ExternalUser { id name } } name grants { module fields relations actions } } \
    projects(first: 20) { totalCount nodes { id name description status progress myGrants { module fields } \
    budget { amount } account { name } tasks(first: 10) { totalCount nodes { id title status dueDate estimatedHours \
    comments(first: 5) { totalCount nodes { body } } } } } } invoices(first: 20) { nodes { number status paidAmount } } }";

#[tokio::test(flavor = "multi_thread")]
async fn previewing_a_user_gives_byte_for_byte_what_the_user_gets() {
    let app = TestApp::demo().await;
    let admin = app.token(ADA).await;
    for email in [GRETA, "frank@globex.example", "ivan@initech.example"] {
        let user = app.id_of("external_users", "email", email).await;
        let own = app
            .post_raw(Some(&app.token(email).await), DASHBOARD, json!({}), &[])
            .await;
        let preview = app
            .post_raw(
                Some(&admin),
                DASHBOARD,
                json!({}),
                &[("x-preview-user", user.to_string())],
            )
            .await;
        assert_eq!(own.0, 200);
        assert!(own.1.contains("\"projects\""), "{}", own.1);
        assert_eq!(own, preview, "{email}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn previewing_a_role_set_shows_the_accounts_shared_projects_through_workspace_grants_only() {
    let app = TestApp::demo().await;
    let admin = app.token(ADA).await;
    let clients = app.id_where("roles", "name = 'Clients' AND workspace_id = (SELECT workspace_id FROM staff_users WHERE email = 'ada@acme.example')").await.to_string();
    let reviewer = app.id_of("roles", "name", "Project Reviewer").await.to_string();
    let globex = app.id_of("accounts", "name", "Globex").await.to_string();
    let headers = [
        ("x-preview-roles", format!("{clients}, {reviewer}")),
        ("x-preview-account", globex),
    ];
    let (_, body) = app
        .post_raw(
            Some(&admin),
            "{ viewer { name } projects { nodes { name progress } } account { name } }",
            json!({}),
            &headers,
        )
        .await;
    let r: Value = serde_json::from_str(&body).unwrap();
    // No memberships: Data Warehouse is not there; the reviewer role counts workspace-wide.
    let names: Vec<&str> = r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Website Relaunch"], "{r}");
    assert!(r["data"]["projects"]["nodes"][0]["progress"].is_number());
    assert_eq!(r["data"]["account"]["name"], "Globex");
    assert_eq!(r["data"]["viewer"]["name"], "Preview of Globex");

    let headers = [
        ("x-preview-roles", clients.clone()),
        (
            "x-preview-account",
            "01900000-0000-7000-8000-000000000000".to_string(),
        ),
    ];
    let (_, body) = app
        .post_raw(Some(&admin), "{ viewer { name } }", json!({}), &headers)
        .await;
    assert_eq!(codes(&serde_json::from_str(&body).unwrap()), ["NOT_FOUND"]);
    let headers = [("x-preview-roles", clients)];
    let (_, body) = app
        .post_raw(Some(&admin), "{ viewer { name } }", json!({}), &headers)
        .await;
    let r: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(codes(&r), ["BAD_USER_INPUT"]);
    assert_eq!(r["errors"][0]["extensions"]["field"], "x-preview-account");
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_is_read_only_and_audited_under_the_previewed_user() {
    let app = TestApp::demo().await;
    let admin = app.token(ADA).await;
    let frank = app.id_of("external_users", "email", "frank@globex.example").await;
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let headers = [("x-preview-user", frank.to_string())];
    let q = "mutation($p: ID!) { createTask(projectId: $p, input: { title: \"via preview\" }) { id } }";
    let (_, body) = app.post_raw(Some(&admin), q, json!({ "p": wr }), &headers).await;
    assert_eq!(codes(&serde_json::from_str(&body).unwrap()), ["FORBIDDEN"]);
    let r = app
        .query_as(
            "sam@acme.example",
            "{ tasks(projectId: \"01900000-0007-7000-8000-000000000101\", first: 100) { nodes { title } } }",
        )
        .await;
    assert!(!r.to_string().contains("via preview"));
    app.post_raw(
        Some(&admin),
        "query Peek { projects { nodes { id } } }",
        json!({}),
        &headers,
    )
    .await;
    let events = app.audit_log(2).await;
    let peek = events
        .iter()
        .find(|e| e["operationName"] == "Peek")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(peek["externalUser"]["email"], "frank@globex.example");
    assert_eq!(peek["previewBy"]["email"], ADA);
    assert_eq!(peek["account"]["name"], "Globex");
    assert_eq!(peek["outcome"], "OK");
    let failed = events.iter().find(|e| e["operationType"] == "MUTATION").unwrap();
    assert_eq!(failed["outcome"], "FORBIDDEN");
    assert_eq!(failed["previewBy"]["email"], ADA);
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_headers_from_anyone_but_an_admin_refuse_the_whole_request() {
    let app = TestApp::demo().await;
    let greta = app.id_of("external_users", "email", GRETA).await;
    let headers = [("x-preview-user", greta.to_string())];
    for token in [
        Some(app.token("sam@acme.example").await),
        Some(app.token("frank@globex.example").await),
        None,
    ] {
        let (_, body) = app
            .post_raw(
                token.as_deref(),
                "{ __typename viewer { name } }",
                json!({}),
                &headers,
            )
            .await;
        let r: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
        assert!(r["data"].is_null(), "nothing answered: {r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_preview_headers_are_forbidden_to_non_admins_and_bad_input_to_admins() {
    let app = TestApp::demo().await;
    let malformed: [&[(&str, String)]; 4] = [
        &[("x-preview-user", "not-an-id".into())],
        &[("x-preview-roles", "nope".into())],
        &[("x-preview-account", "nope".into())],
        &[
            ("x-preview-user", uuid::Uuid::now_v7().to_string()),
            ("x-preview-roles", "a,b".into()),
        ],
    ];
    let sam = app.token("sam@acme.example").await;
    let greta = app.token(GRETA).await;
    let ada = app.token(ADA).await;
    for headers in malformed {
        // Whoever is not an admin learns nothing of what is wrong with them.
        for token in [Some(sam.as_str()), Some(greta.as_str()), None] {
            let (_, body) = app
                .post_raw(token, "{ viewer { name } }", json!({}), headers)
                .await;
            let r: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(codes(&r), ["FORBIDDEN"], "{headers:?}: {r}");
            assert!(r["data"].is_null(), "{r}");
        }
        // An admin is told.
        let (_, body) = app
            .post_raw(Some(&ada), "{ viewer { name } }", json!({}), headers)
            .await;
        let r: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{headers:?}: {r}");
        assert!(r["data"].is_null(), "{r}");
    }
}
