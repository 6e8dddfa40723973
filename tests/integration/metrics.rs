//! Operation (docs/operations.md): Prometheus metrics on their own listener (never the public
//! port), and one log line per request that names no secret.

use std::io::Read;

use portal_gateway::config::{Limits, Rate};
use serde_json::{Value, json};

use crate::harness::{SECRET, TestApp, codes};
use crate::statements::DASHBOARD;

const GRETA: &str = "greta@globex.example";

/// The value of one sample (`name{labels}`, exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn requests(text: &str, operation_type: &str, outcome: &str) -> f64 {
    let series =
        format!("portal_requests_total{{operation_type=\"{operation_type}\",outcome=\"{outcome}\"}}");
    sample(text, &series).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_type_and_outcome_on_their_own_listener_only() {
    let app = TestApp::with(
        Limits {
            max_aliases: 2,
            ..Limits::default()
        },
        false,
    )
    .await;
    let public = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "no metrics on the public port");

    let greta = app.token(GRETA).await;
    let r = app.post(Some(&greta), DASHBOARD, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    let r = app.post(Some(&greta), "{ viewer { name } }", json!({})).await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta");
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let create = "mutation($p: ID!) { createTask(projectId: $p, input: { title: \"x\" }) { id } }";
    let r = app.post(Some(&greta), create, json!({ "p": wr })).await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    let r = app
        .post(
            Some(&greta),
            "{ a: viewer { name } b: viewer { name } c: viewer { name } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    let r = app.post(None, "{ viewer { name } }", json!({})).await;
    assert_eq!(codes(&r), ["UNAUTHENTICATED"], "{r}");
    // Refused before any operation is chosen: a token that does not verify.
    let r = app
        .post(Some("not-a-token"), "{ viewer { name } }", json!({}))
        .await;
    assert_eq!(codes(&r), ["UNAUTHENTICATED"], "{r}");

    let text = app.metrics().await;
    assert_eq!(requests(&text, "query", "OK"), 2.0, "{text}");
    assert_eq!(requests(&text, "mutation", "FORBIDDEN"), 1.0, "{text}");
    assert_eq!(requests(&text, "query", "BAD_USER_INPUT"), 1.0, "{text}");
    assert_eq!(requests(&text, "query", "UNAUTHENTICATED"), 1.0, "{text}");
    assert_eq!(requests(&text, "unknown", "UNAUTHENTICATED"), 1.0, "{text}");
    assert_eq!(
        sample(&text, "portal_limit_refusals_total{limit=\"aliases\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "portal_request_duration_seconds_count"),
        Some(6.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "portal_statements_per_request_count"),
        Some(6.0),
        "{text}"
    );
    for state in ["in_use", "idle", "waiting"] {
        let series = format!("portal_db_pool_connections{{state=\"{state}\"}}");
        assert!(sample(&text, &series).is_some(), "{series} in {text}");
    }
    assert_eq!(
        sample(&text, "portal_db_pool_connections{state=\"in_use\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "portal_db_pool_connections{state=\"waiting\"}"),
        Some(0.0)
    );
    assert!(sample(&text, "portal_audit_queue_depth").is_some(), "{text}");
    assert!(
        text.contains("# TYPE portal_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE portal_statements_per_request histogram"),
        "{text}"
    );
}

/// Each request's statements are its own: under concurrency the histogram's sum is the
/// pool's count, and the dashboard's figure is the one `statements.rs` proves alone.
#[tokio::test(flavor = "multi_thread")]
async fn statements_per_request_are_each_requests_own_under_concurrency() {
    let app = TestApp::demo().await;
    let greta = app.token(GRETA).await;
    let sum = |text: &str| sample(text, "portal_statements_per_request_sum").unwrap_or(0.0);

    let before = app.statements().await;
    app.post(Some(&greta), DASHBOARD, json!({})).await;
    let alone = app.statements().await - before;
    let text = app.metrics().await;
    assert_eq!(sum(&text), alone as f64, "{text}");

    let before = app.statements().await;
    let requests = (0..12).map(|_| app.post(Some(&greta), DASHBOARD, json!({})));
    for r in futures_util::future::join_all(requests).await {
        assert!(r["errors"].is_null(), "{r}");
    }
    let together = app.statements().await - before;
    assert_eq!(together, 12 * alone, "every request runs as many statements");
    let text = app.metrics().await;
    assert_eq!(sum(&text), (13 * alone) as f64, "{text}");
    // All 13 observations at the same figure: none took another's statements.
    let le = |bound: &str| {
        sample(
            &text,
            &format!("portal_statements_per_request_bucket{{le=\"{bound}\"}}"),
        )
        .unwrap_or(-1.0)
    };
    let bounds = ["1.0", "2.0", "4.0", "8.0", "16.0", "32.0"];
    let cumulative: Vec<f64> = bounds.iter().map(|b| le(b)).collect();
    assert!(
        cumulative.iter().all(|&c| c == 0.0 || c == 13.0),
        "{cumulative:?} in {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_refusals_are_counted_by_their_limit() {
    let app = TestApp::with(
        Limits {
            rate: Rate {
                per_second: 1,
                burst: 2,
                in_flight: 8,
            },
            ..Limits::default()
        },
        false,
    )
    .await;
    let greta = app.token(GRETA).await;
    let mut refused = 0;
    for _ in 0..5 {
        let r = app.post(Some(&greta), "{ viewer { name } }", json!({})).await;
        if codes(&r) == ["RATE_LIMITED"] {
            refused += 1;
        }
    }
    assert!(refused >= 2, "{refused}");
    let text = app.metrics().await;
    assert_eq!(
        sample(&text, "portal_limit_refusals_total{limit=\"rate\"}"),
        Some(refused as f64),
        "{text}"
    );
    assert_eq!(
        requests(&text, "unknown", "RATE_LIMITED"),
        refused as f64,
        "{text}"
    );
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The real binary with `LOG_FORMAT=json` and `METRICS_ADDR`: one JSON line per request
/// with the operation's name, the caller's id, the outcome, the duration and the
/// statements, and nowhere the token (nor an `operationName` that is not the
/// document's, nor colour codes on a pipe); metrics on their port, not on the public one.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_logs_one_json_line_per_request_without_the_token_and_serves_metrics_apart() {
    let app = TestApp::demo().await;
    let (port, metrics_port) = (free_port(), free_port());
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_portal-gateway"))
        .arg("serve")
        .env("DATABASE_URL", &app.url)
        .env("JWT_SECRET", SECRET)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "portal_gateway=info")
        .env_remove("NO_COLOR")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let metrics = format!("http://127.0.0.1:{metrics_port}/metrics");
    for _ in 0..100 {
        if app.http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let token = app.token(GRETA).await;
    let (greta_id, _, _) = app.user_id(GRETA).await;
    let post = |body: Value| {
        app.http
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .header("X-Secret-Header", "header-value-never-logged")
            .json(&body)
            .send()
    };
    let r = post(json!({ "query": "query GretaViewer { viewer { name } }" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A name that the document does not define is not logged: it could be anything.
    let r = post(json!({ "query": "{ viewer { name } }", "operationName": token }))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let public = app.http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let text = app.http.get(&metrics).send().await.unwrap().text().await.unwrap();

    std::process::Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let mut stderr = server.stderr.take().unwrap();
    let log = tokio::task::spawn_blocking(move || {
        let mut log = String::new();
        stderr.read_to_string(&mut log).unwrap();
        assert!(server.wait().unwrap().success());
        log
    })
    .await
    .unwrap();

    assert_eq!(requests(&text, "query", "OK"), 1.0, "{text}");
    assert_eq!(requests(&text, "unknown", "BAD_USER_INPUT"), 1.0, "{text}");
    assert!(!log.contains('\u{1b}'), "no colour codes on a pipe: {log}");
    let signature = token.rsplit('.').next().unwrap();
    for secret in [
        token.as_str(),
        signature,
        "Bearer",
        "header-value-never-logged",
        SECRET,
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log: {log}");
    }
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let logged: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(logged.len(), 2, "one line per request: {log}");
    let first = logged[0];
    assert_eq!(first["operation"], "GretaViewer", "{first}");
    assert_eq!(first["operation_type"], "query", "{first}");
    assert_eq!(first["caller"], greta_id.to_string(), "{first}");
    assert_eq!(first["outcome"], "OK", "{first}");
    assert!(first["statements"].as_u64().unwrap() >= 1, "{first}");
    assert!(first["duration_ms"].as_f64().unwrap() > 0.0, "{first}");
    assert_eq!(logged[1]["operation"], "-", "{}", logged[1]);
    assert_eq!(logged[1]["outcome"], "BAD_USER_INPUT", "{}", logged[1]);
}
