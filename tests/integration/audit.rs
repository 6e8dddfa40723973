//! SPEC §10 audit, and §7: errors carry codes, and INTERNAL leaks nothing.

use serde_json::json;

use crate::harness::{TestApp, codes};

const FRANK: &str = "frank@globex.example";

#[tokio::test(flavor = "multi_thread")]
async fn queries_and_mutations_of_external_users_leave_events() {
    let app = TestApp::demo().await;
    let token = app.token(FRANK).await;
    let r = app
        .post(
            Some(&token),
            "query Home { projects { nodes { id name } } }",
            json!({}),
        )
        .await;
    let seen: Vec<String> = r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let r = app
        .post(
            Some(&token),
            "mutation Add($p: ID!) { createTask(projectId: $p, input: { title: \"audited\" }) { id } }",
            json!({ "p": wr }),
        )
        .await;
    let created = r["data"]["createTask"]["id"].as_str().unwrap().to_string();
    let greta = app.token("greta@globex.example").await;
    let r = app
        .post(
            Some(&greta),
            "mutation Nope($p: ID!) { createTask(projectId: $p, input: { title: \"denied\" }) { id } }",
            json!({ "p": wr }),
        )
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"]);
    // Staff requests are not audited.
    app.query_as("sam@acme.example", "query Staff { projects { totalCount } }")
        .await;

    let events = app.audit_log(3).await;
    assert_eq!(events.len(), 3, "{events:#?}");
    let [nope, add, home] = [&events[0], &events[1], &events[2]];
    assert_eq!(home["operationName"], "Home");
    assert_eq!(home["operationType"], "QUERY");
    assert_eq!(home["rootFields"], json!(["projects"]));
    assert_eq!(home["outcome"], "OK");
    assert_eq!(home["externalUser"]["email"], FRANK);
    assert_eq!(home["account"]["name"], "Globex");
    let ids: Vec<String> = home["recordIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, seen);
    assert_eq!(add["operationType"], "MUTATION");
    assert_eq!(add["recordIds"], json!([created]));
    assert_eq!(add["outcome"], "OK");
    assert_eq!(nope["outcome"], "FORBIDDEN");
    assert_eq!(nope["externalUser"]["email"], "greta@globex.example");
    assert_eq!(nope["recordIds"], json!([]));

    // Filters, newest first.
    let frank = app.id_of("external_users", "email", FRANK).await;
    let q = "query($f: AuditFilter) { auditLog(filter: $f) { totalCount nodes { operationName } } }";
    let r = app
        .query_vars("ada@acme.example", q, json!({ "f": { "externalUserId": frank } }))
        .await;
    assert_eq!(
        r["data"]["auditLog"]["nodes"],
        json!([{ "operationName": "Add" }, { "operationName": "Home" }])
    );
    let r = app
        .query_vars(
            "ada@acme.example",
            q,
            json!({ "f": { "operationType": "MUTATION" } }),
        )
        .await;
    assert_eq!(r["data"]["auditLog"]["totalCount"], 2);
    let r = app
        .query_vars(
            "ada@acme.example",
            q,
            json!({ "f": { "from": "2100-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(r["data"]["auditLog"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_internal_error_says_nothing_of_the_database() {
    let app = TestApp::demo().await;
    app.sql("ALTER TABLE kb_articles RENAME COLUMN body TO secret_body_column")
        .await;
    let r = app.query_as(FRANK, "{ articles { nodes { title } } }").await;
    assert_eq!(codes(&r), ["INTERNAL"], "{r}");
    let text = r.to_string();
    assert_eq!(r["errors"][0]["message"], "internal error");
    for leak in [
        "secret_body_column",
        "kb_articles",
        "select ",
        "does not exist",
        "diesel",
        "postgres",
    ] {
        assert!(
            !text.to_lowercase().contains(&leak.to_lowercase()),
            "{leak} in {text}"
        );
    }
}

/// The real binary, stopped with SIGTERM right after answering: every query's audit
/// event is written before it exits.
#[tokio::test(flavor = "multi_thread")]
async fn no_audit_event_is_lost_on_a_graceful_shutdown() {
    let app = TestApp::demo().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_portal-gateway"))
        .arg("serve")
        .env("DATABASE_URL", &app.url)
        .env("JWT_SECRET", crate::harness::SECRET)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        // 200 requests at once from one user: past the default burst, on purpose not
        // what this test is about.
        .env("RATE_LIMIT_BURST", "1000")
        .env("RATE_LIMIT_IN_FLIGHT", "256")
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if app.http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = app.token(FRANK).await;
    let sent = 200;
    let requests = (0..sent).map(|i| {
        let body = json!({ "query": format!("query Q{i} {{ viewer {{ name }} }}") });
        app.http
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    });
    for r in futures_util::future::join_all(requests).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || server.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    let q = "{ auditLog(filter: { operationType: QUERY }) { totalCount } }";
    let r = app.query_as("ada@acme.example", q).await;
    assert_eq!(r["data"]["auditLog"]["totalCount"], sent, "{r}");
}
