//! SPEC §1: authentication, and what anonymous callers get.

use serde_json::json;

use crate::harness::{TestApp, codes};

const VIEWER: &str = "{ viewer { name } projects { totalCount } }";

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_callers_get_typename_and_introspection_only() {
    let app = TestApp::demo().await;
    let r = app
        .post(None, "{ __typename __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(r["data"]["__typename"], "Query");
    assert_eq!(r["data"]["__schema"]["queryType"]["name"], "Query");
    assert!(r.get("errors").is_none(), "{r}");

    let r = app.post(None, VIEWER, json!({})).await;
    assert_eq!(r["data"]["viewer"], json!(null));
    assert_eq!(r["data"]["projects"], json!(null));
    assert_eq!(codes(&r), ["UNAUTHENTICATED", "UNAUTHENTICATED"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_are_anonymous() {
    let app = TestApp::demo().await;
    let (id, ws, _) = app.user_id("greta@globex.example").await;
    let good = app.mint(id, ws, false, 3600);
    let r = app.post(Some(&good), VIEWER, json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta", "{r}");

    // alg: none, with the same claims.
    let parts: Vec<&str> = good.split('.').collect();
    let none_header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    // a wrong signature
    let forged = format!("{}.{}.{}", parts[0], parts[1], base64_url("not the signature"));
    let expired = app.mint(id, ws, false, -10);
    let unknown = app.mint(uuid::Uuid::now_v7(), ws, false, 3600);
    let wrong_workspace = app.mint(id, uuid::Uuid::now_v7(), false, 3600);
    let wrong_kind = app.mint(id, ws, true, 3600);
    for token in [
        alg_none,
        forged,
        expired,
        unknown,
        wrong_workspace,
        wrong_kind,
        "garbage".to_string(),
    ] {
        let r = app.post(Some(&token), VIEWER, json!({})).await;
        assert_eq!(r["data"]["viewer"], json!(null), "{token}: {r}");
        assert_eq!(codes(&r), ["UNAUTHENTICATED", "UNAUTHENTICATED"], "{token}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_portal_access_answers_unauthenticated_on_the_next_request() {
    let app = TestApp::demo().await;
    let token = app.token("greta@globex.example").await;
    let r = app.post(Some(&token), VIEWER, json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta");
    app.sql("UPDATE external_users SET portal_access = false WHERE email = 'greta@globex.example'")
        .await;
    let r = app.post(Some(&token), VIEWER, json!({})).await;
    assert_eq!(codes(&r), ["UNAUTHENTICATED", "UNAUTHENTICATED"], "{r}");
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
