//! docs/api.md#tokens: authentication, and what anonymous callers get.

use serde_json::{Value, json};

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

    // A data field refuses the operation before anything runs: one error, its reason.
    let r = app.post(None, VIEWER, json!({})).await;
    assert_refused(&r, "missing_token");
}

/// The whole request refused: no data, one `UNAUTHENTICATED` error with this reason.
fn assert_refused(r: &Value, reason: &str) {
    assert!(r["data"].is_null(), "nothing answered: {r}");
    assert_eq!(codes(r), ["UNAUTHENTICATED"], "{r}");
    assert_eq!(r["errors"][0]["extensions"]["reason"], reason, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_token_refuses_the_whole_request_with_its_reason() {
    let app = TestApp::demo().await;
    let (id, ws, _) = app.user_id("greta@globex.example").await;
    let (rita, _, _) = app.user_id("rita@globex.example").await;
    let (umbra, umbrella, _) = app.user_id("umbra@umbrella.example").await;
    let good = app.mint(id, ws, false, 3600);
    let r = app.post(Some(&good), VIEWER, json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta", "{r}");

    let now = chrono::Utc::now().timestamp();
    let parts: Vec<&str> = good.split('.').collect();
    let none_header = base64_url(r#"{"alg":"none","typ":"JWT"}"#);
    let hs512_header = base64_url(r#"{"alg":"HS512","typ":"JWT"}"#);
    let claims = |iat: Option<i64>, exp: i64| {
        let mut c = json!({ "sub": id, "kind": "external", "ws": ws, "exp": exp });
        if let Some(iat) = iat {
            c["iat"] = json!(iat);
        }
        c
    };
    // Ends in an hour, but was issued 23 h 59 min ago: within the 24 h lifetime.
    let old_but_alive = app.mint_claims(id, ws, false, now - 86_340, now + 60);
    let r = app.post(Some(&old_but_alive), VIEWER, json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta", "{r}");

    let cases = [
        (
            "alg none",
            format!("{none_header}.{}.", parts[1]),
            "invalid_token",
        ),
        (
            "another algorithm",
            format!("{hs512_header}.{}.{}", parts[1], parts[2]),
            "invalid_token",
        ),
        (
            "wrong signature",
            format!("{}.{}.{}", parts[0], parts[1], base64_url("not it")),
            "invalid_token",
        ),
        ("malformed", "garbage".to_string(), "invalid_token"),
        ("no iat", app.sign(&claims(None, now + 3600)), "invalid_token"),
        (
            "iat in the future",
            app.mint_claims(id, ws, false, now + 600, now + 3600),
            "invalid_token",
        ),
        (
            "over the lifetime",
            app.mint_claims(id, ws, false, now, now + 86_400 + 120),
            "invalid_token",
        ),
        (
            "over the lifetime, long ago",
            app.mint_claims(id, ws, false, now - 90_000, now + 3600),
            "invalid_token",
        ),
        ("expired", app.mint(id, ws, false, -120), "expired_token"),
        (
            "unknown user",
            app.mint(uuid::Uuid::now_v7(), ws, false, 3600),
            "access_revoked",
        ),
        (
            "another workspace",
            app.mint(id, umbrella, false, 3600),
            "access_revoked",
        ),
        (
            "a user of another workspace",
            app.mint(umbra, ws, true, 3600),
            "access_revoked",
        ),
        ("wrong kind", app.mint(id, ws, true, 3600), "access_revoked"),
        (
            "access revoked",
            app.mint(rita, ws, false, 3600),
            "access_revoked",
        ),
    ];
    for (what, token, reason) in cases {
        // Even a query that asks for nothing but `__typename` is refused.
        for query in [VIEWER, "{ __typename }"] {
            let r = app.post(Some(&token), query, json!({})).await;
            assert!(r["data"].is_null(), "{what}: {r}");
            assert_eq!(codes(&r), ["UNAUTHENTICATED"], "{what}: {r}");
            assert_eq!(r["errors"][0]["extensions"]["reason"], reason, "{what}: {r}");
        }
    }

    // Portal access ended (a planned per-user access end date) is revoked access too.
    app.sql("UPDATE external_users SET access_ends_at = now() - interval '1 minute' WHERE email = 'greta@globex.example'")
        .await;
    let r = app.post(Some(&good), VIEWER, json!({})).await;
    assert_refused(&r, "access_revoked");
}

#[tokio::test(flavor = "multi_thread")]
async fn clocks_get_sixty_seconds_of_leeway() {
    let app = TestApp::demo().await;
    let (id, ws, _) = app.user_id("greta@globex.example").await;
    let now = chrono::Utc::now().timestamp();
    // Expired 30 s ago, or issued 30 s "from now" by a fast clock: accepted.
    for token in [
        app.mint_claims(id, ws, false, now - 600, now - 30),
        app.mint_claims(id, ws, false, now + 30, now + 600),
    ] {
        let r = app.post(Some(&token), VIEWER, json!({})).await;
        assert_eq!(r["data"]["viewer"]["name"], "Greta", "{r}");
    }
    let r = app
        .post(
            Some(&app.mint_claims(id, ws, false, now - 600, now - 90)),
            VIEWER,
            json!({}),
        )
        .await;
    assert_refused(&r, "expired_token");
    let r = app
        .post(
            Some(&app.mint_claims(id, ws, false, now + 90, now + 600)),
            VIEWER,
            json!({}),
        )
        .await;
    assert_refused(&r, "invalid_token");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_operation_with_malformed_arguments_is_still_unauthenticated() {
    let app = TestApp::demo().await;
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    for (query, variables) in [
        // Wrong literal types: a validation error for anyone who may call it.
        (
            "mutation { createTask(projectId: 5, input: { title: 7 }) { id } }",
            json!({}),
        ),
        // A missing required argument.
        ("mutation { addTaskComment(body: \"hi\") { id } }", json!({})),
        // A variable of the wrong type.
        (
            "mutation($i: CreateTaskInput!) { createTask(projectId: \"x\", input: $i) { id } }",
            json!({ "i": 5 }),
        ),
        // Well-typed, but not an id.
        ("mutation { acceptEstimate(id: \"not-an-id\") { id } }", json!({})),
        // An unknown field of a query, behind a fragment.
        (
            "{ ...F } fragment F on QueryRoot { projects(first: \"many\") { nope } }",
            json!({}),
        ),
        // And a well-formed one.
        (
            "mutation($p: ID!) { createTask(projectId: $p, input: { title: \"t\" }) { id } }",
            json!({ "p": project }),
        ),
    ] {
        let r = app.post(None, query, variables).await;
        assert_refused(&r, "missing_token");
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
    assert_refused(&r, "access_revoked");
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
