//! Persisted documents for mobile apps (docs/operations.md): automatic persisted queries (Apollo's
//! protocol) and the trusted-documents mode, over real HTTP.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{TestApp, codes};

const GRETA: &str = "greta@globex.example";
const VIEWER: &str = "query Me { viewer { name } }";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

/// POSTs a JSON body as it is, with an optional bearer token.
async fn post(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let mut req = app.http.post(format!("{}/graphql", app.base)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// A GET with these query parameters.
async fn get(app: &TestApp, token: Option<&str>, params: &[(&str, String)]) -> Value {
    let mut req = app.http.get(format!("{}/graphql", app.base)).query(params);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn field(r: &Value) -> &Value {
    &r["errors"][0]["extensions"]["field"]
}

/// Apollo Client's round trip: the hash alone is unknown (`PERSISTED_QUERY_NOT_FOUND`,
/// message `PersistedQueryNotFound`, which the client looks for), the client resends it
/// with the document, which runs and is registered, and the hash alone runs from then on.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_query_unknown_then_registered_then_by_hash_alone() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let hash = sha256(VIEWER);

    let unknown = post(&app, Some(&token), json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(codes(&unknown), ["PERSISTED_QUERY_NOT_FOUND"], "{unknown}");
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(unknown["data"].is_null(), "{unknown}");

    let registered = post(
        &app,
        Some(&token),
        json!({ "query": VIEWER, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(registered["data"]["viewer"]["name"], "Greta", "{registered}");
    assert!(registered.get("errors").is_none(), "{registered}");

    let by_hash = post(&app, Some(&token), json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_hash, registered);
    // Hashes are hexadecimal in either case.
    let upper = post(
        &app,
        Some(&token),
        json!({ "extensions": persisted(&hash.to_uppercase()) }),
    )
    .await;
    assert_eq!(upper, registered);
}

/// A hash that is not the document's is `BAD_USER_INPUT` naming
/// `extensions.persistedQuery.sha256Hash`, and registers nothing under either hash.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_query_with_a_wrong_hash_is_refused() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let other = sha256("{ __typename }");
    let r = post(
        &app,
        Some(&token),
        json!({ "query": VIEWER, "extensions": persisted(&other) }),
    )
    .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert_eq!(field(&r), "extensions.persistedQuery.sha256Hash", "{r}");
    assert!(r["data"].is_null(), "{r}");
    for hash in [other, sha256(VIEWER)] {
        let r = post(&app, Some(&token), json!({ "extensions": persisted(&hash) })).await;
        assert_eq!(codes(&r), ["PERSISTED_QUERY_NOT_FOUND"], "{r}");
    }
    // Not a hash at all.
    let r = post(&app, Some(&token), json!({ "extensions": persisted("abc") })).await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert_eq!(field(&r), "extensions.persistedQuery.sha256Hash", "{r}");
}

/// Only version 1 of the protocol exists; anything else (or none) is `BAD_USER_INPUT`.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_query_of_an_unsupported_version_is_refused() {
    let app = TestApp::demo().await;
    let hash = sha256(VIEWER);
    for version in [json!(2), json!("1"), Value::Null] {
        let body = json!({
            "query": VIEWER,
            "extensions": { "persistedQuery": { "version": version, "sha256Hash": hash } },
        });
        let r = post(&app, None, body).await;
        assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{version}: {r}");
        assert_eq!(field(&r), "extensions.persistedQuery.version", "{r}");
    }
    let r = post(
        &app,
        None,
        json!({ "query": VIEWER, "extensions": { "persistedQuery": 1 } }),
    )
    .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert_eq!(field(&r), "extensions.persistedQuery", "{r}");
}

/// GET carries `extensions` as a JSON query parameter: Apollo Client's
/// `useGETForHashedQueries` sends the hash alone by GET, and its retry with the document.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_query_by_get_with_extensions() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let hash = sha256(VIEWER);
    let extensions = persisted(&hash).to_string();

    let unknown = get(&app, Some(&token), &[("extensions", extensions.clone())]).await;
    assert_eq!(codes(&unknown), ["PERSISTED_QUERY_NOT_FOUND"], "{unknown}");

    let registered = get(
        &app,
        Some(&token),
        &[("query", VIEWER.to_string()), ("extensions", extensions.clone())],
    )
    .await;
    assert_eq!(registered["data"]["viewer"]["name"], "Greta", "{registered}");

    let by_hash = get(&app, Some(&token), &[("extensions", extensions)]).await;
    assert_eq!(by_hash, registered);
}

/// A mutation named by its hash alone still cannot run over GET: the 405 is judged on
/// the document that would run, not on the empty `query` parameter.
#[tokio::test(flavor = "multi_thread")]
async fn a_persisted_mutation_named_by_hash_is_refused_over_get() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let mutation =
        "mutation Contact { updateAccountContactDetails(input: { phone: \"+1 555 0100\" }) { id } }";
    let extensions = persisted(&sha256(mutation));
    let registered = post(
        &app,
        Some(&token),
        json!({ "query": mutation, "extensions": extensions }),
    )
    .await;
    // Registered once it validates; Greta may not run it, which is not the point here.
    assert_eq!(codes(&registered), ["FORBIDDEN"], "{registered}");
    let res = app
        .http
        .get(format!("{}/graphql", app.base))
        .bearer_auth(&token)
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
}

/// A document remembered by hash is known only where it was registered: another
/// workspace (here, callers without a token) does not find it. A document that does not
/// validate is never remembered.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_query_registration_is_per_workspace_and_only_when_valid() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let typename = "{ __typename }";
    let hash = sha256(typename);
    let r = post(
        &app,
        Some(&token),
        json!({ "query": typename, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(r["data"]["__typename"], "Query", "{r}");
    let anonymous = post(&app, None, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(codes(&anonymous), ["PERSISTED_QUERY_NOT_FOUND"], "{anonymous}");

    let invalid = "{ noSuchField }";
    let hash = sha256(invalid);
    let r = post(
        &app,
        Some(&token),
        json!({ "query": invalid, "extensions": persisted(&hash) }),
    )
    .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    let r = post(&app, Some(&token), json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(codes(&r), ["PERSISTED_QUERY_NOT_FOUND"], "{r}");
}

/// The document named by its hash is what every later step sees: the audit records its
/// operation and root fields, and a batch answers each operation on its own.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_query_by_hash_is_audited_and_batched_as_its_document() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let hash = sha256(VIEWER);
    post(
        &app,
        Some(&token),
        json!({ "query": VIEWER, "extensions": persisted(&hash) }),
    )
    .await;
    let unknown = sha256("query Other { viewer { email } }");
    let batch = post(
        &app,
        Some(&token),
        json!([
            { "extensions": persisted(&hash) },
            { "extensions": persisted(&unknown) },
        ]),
    )
    .await;
    assert_eq!(batch[0]["data"]["viewer"]["name"], "Greta", "{batch}");
    assert_eq!(codes(&batch[1]), ["PERSISTED_QUERY_NOT_FOUND"], "{batch}");

    let events = app.audit_log(3).await;
    let me: Vec<&Value> = events.iter().filter(|e| e["operationName"] == "Me").collect();
    assert_eq!(me.len(), 2, "{events:?}");
    for e in me {
        assert_eq!(e["rootFields"], json!(["viewer"]), "{e}");
        assert_eq!(e["outcome"], "OK", "{e}");
    }
    assert!(
        events.iter().any(|e| e["outcome"] == "PERSISTED_QUERY_NOT_FOUND"),
        "{events:?}"
    );
}

const LISTED: &str = "query Me { viewer { name } }";
const LISTED_MUTATION: &str = "mutation Accept($id: ID!) { acceptEstimate(id: $id) { id } }";

/// A manifest in Apollo's format, written to a file of its own.
fn manifest(operations: Value) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("persisted-{}.json", uuid::Uuid::now_v7()));
    let manifest = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations,
    });
    std::fs::write(&path, manifest.to_string()).unwrap();
    path
}

fn listed(name: &str, kind: &str, body: &str) -> Value {
    json!({ "id": sha256(body), "name": name, "type": kind, "body": body })
}

async fn trusted_app() -> TestApp {
    let path = manifest(json!([
        listed("Me", "query", LISTED),
        listed("Accept", "mutation", LISTED_MUTATION),
    ]));
    TestApp::configured(move |config| config.trusted_documents = Some(path)).await
}

/// Trusted documents: a listed document runs, named by its hash (by POST or GET) or
/// sent as listed.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_trusted_documents_run_by_hash_or_body() {
    let app = trusted_app().await;
    let token = app.token(GRETA).await;
    let by_hash = post(
        &app,
        Some(&token),
        json!({ "extensions": persisted(&sha256(LISTED)) }),
    )
    .await;
    assert_eq!(by_hash["data"]["viewer"]["name"], "Greta", "{by_hash}");
    let by_body = post(&app, Some(&token), json!({ "query": LISTED })).await;
    assert_eq!(by_body, by_hash);
    let both = post(
        &app,
        Some(&token),
        json!({ "query": LISTED, "extensions": persisted(&sha256(LISTED)) }),
    )
    .await;
    assert_eq!(both, by_hash);
    let by_get = get(
        &app,
        Some(&token),
        &[("extensions", persisted(&sha256(LISTED)).to_string())],
    )
    .await;
    assert_eq!(by_get, by_hash);
}

/// Trusted documents: anything not listed is `PERSISTED_QUERY_NOT_IN_LIST`, before it is
/// parsed (a broken document answers the same, never a syntax error), an unknown hash
/// too, and registering a document by hash and body is off.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_trusted_documents_refuse_anything_else_unparsed() {
    let app = trusted_app().await;
    let token = app.token(GRETA).await;
    let not_in_list = |r: &Value| {
        assert_eq!(codes(r), ["PERSISTED_QUERY_NOT_IN_LIST"], "{r}");
        assert!(r["data"].is_null(), "{r}");
    };
    // Unlisted, though valid; a listed one with a byte changed; not even a document.
    for body in [
        "{ __typename }",
        "query Me { viewer { name  } }",
        "{ viewer { ",
        "query { ...F } fragment F on Query { ...F }",
    ] {
        not_in_list(&post(&app, Some(&token), json!({ "query": body })).await);
        not_in_list(&post(&app, None, json!({ "query": body })).await);
    }
    // An unknown hash, and an attempt to register one.
    let unlisted = "{ __typename }";
    not_in_list(
        &post(
            &app,
            Some(&token),
            json!({ "extensions": persisted(&sha256(unlisted)) }),
        )
        .await,
    );
    not_in_list(
        &post(
            &app,
            Some(&token),
            json!({ "query": unlisted, "extensions": persisted(&sha256(unlisted)) }),
        )
        .await,
    );
    not_in_list(
        &post(
            &app,
            Some(&token),
            json!({ "extensions": persisted(&sha256(unlisted)) }),
        )
        .await,
    );
    // Nothing at all.
    not_in_list(&post(&app, Some(&token), json!({})).await);
    // A listed hash sent with another document is a mismatch, not a way in.
    let r = post(
        &app,
        Some(&token),
        json!({ "query": unlisted, "extensions": persisted(&sha256(LISTED)) }),
    )
    .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert_eq!(field(&r), "extensions.persistedQuery.sha256Hash", "{r}");
}

/// The real binary refuses to start on a manifest it cannot trust, saying why: an `id`
/// that is not its body's SHA-256, another format, or a file that is not there.
#[tokio::test(flavor = "multi_thread")]
async fn persisted_trusted_documents_bad_manifest_refused_at_startup() {
    let wrong_id = manifest(json!([
        { "id": sha256("{ __typename }"), "name": "Me", "type": "query", "body": LISTED },
    ]));
    let not_apollo = std::env::temp_dir().join(format!("persisted-{}.json", uuid::Uuid::now_v7()));
    std::fs::write(
        &not_apollo,
        json!({ "format": "relay", "version": 1, "operations": [] }).to_string(),
    )
    .unwrap();
    let missing = std::env::temp_dir().join("persisted-no-such-manifest.json");
    for (path, says) in [
        (&wrong_id, "is not the SHA-256 of its `body`"),
        (&not_apollo, "apollo-persisted-query-manifest"),
        (&missing, "cannot read the manifest"),
    ] {
        let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_portal-gateway"))
            .arg("serve")
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
            .env("JWT_SECRET", crate::harness::SECRET)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("TRUSTED_DOCUMENTS", path)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(status) = server.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                server.kill().unwrap();
                panic!("the server started with {}", path.display());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!status.success(), "{stderr}");
        assert!(stderr.contains("TRUSTED_DOCUMENTS="), "{stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
    for path in [wrong_id, not_apollo] {
        let _ = std::fs::remove_file(path);
    }
}
