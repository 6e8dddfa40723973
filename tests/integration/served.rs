//! What the server serves besides GraphQL answers: the schema file, health, the
//! playground.

use std::process::Command;

use crate::harness::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn schema_graphql_is_what_the_server_serves() {
    let app = TestApp::demo().await;
    let served = app
        .http
        .get(format!("{}/schema.graphql", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(served.contains("type Query"), "{served}");
    assert!(
        file == served,
        "schema.graphql differs from the served schema: run `make schema`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_readiness() {
    let app = TestApp::demo().await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    // Metrics are on their own listener only (tests/integration/metrics.rs).
    assert_eq!(get("/metrics").await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::demo().await;
    app.sql("SELECT 1").await;
    // Cut every connection of the test database and forbid new ones.
    app.admin_sql(&format!(
        "ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';",
        db = app.database
    ))
    .await;
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    app.admin_sql(&format!(
        "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
        app.database
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn personas_are_served_only_in_development() {
    let app = TestApp::demo().await;
    let r = app
        .http
        .get(format!("{}/dev/personas", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let dev = TestApp::with(Default::default(), true).await;
    let personas: serde_json::Value = dev
        .http
        .get(format!("{}/dev/personas", dev.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = personas
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "ada@acme.example",
            "sam@acme.example",
            "greta@globex.example",
            "frank@globex.example",
            "ivan@initech.example"
        ]
    );
    let token = personas[2]["token"].as_str().unwrap();
    let r = dev
        .post(Some(token), "{ viewer { name } }", serde_json::json!({}))
        .await;
    assert_eq!(r["data"]["viewer"]["name"], "Greta");
}

/// playground/e2e/browser.mjs in headless Chromium on the app's playground, as Greta,
/// with `env` for the script.
fn browser(app: &TestApp, env: &[(&str, &str)]) -> tokio::task::JoinHandle<std::process::Output> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/playground/e2e/browser.mjs");
    let mut command = Command::new("node");
    command
        .args([script, &app.base, "greta@globex.example"])
        .envs(env.iter().copied());
    tokio::task::spawn_blocking(move || {
        command
            .output()
            .expect("node runs (make test installs Chromium and the playground packages)")
    })
}

/// The script's report: its last line, after checking that it succeeded.
fn report_of(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// The bundled GraphiQL in a real headless Chromium with every off-machine request
/// blocked: the page loads, a persona is picked, the default query runs, its result
/// shows.
#[tokio::test(flavor = "multi_thread")]
async fn the_playground_runs_a_query_as_a_persona_in_a_headless_browser_offline() {
    let app = TestApp::with(Default::default(), true).await;
    let out = browser(
        &app,
        &[(
            "E2E_SCREENSHOT",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/playground.png"),
        )],
    )
    .await
    .unwrap();
    let report = report_of(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(
        report["blocked"], 0,
        "the page asked for something off this machine: {report}"
    );
    assert!(report["persona"].as_str().unwrap().contains("Greta"));
    // It opened as a persona, not anonymous, labelled with the roles that count for her.
    let opened = report["opened"].as_str().unwrap();
    assert!(opened.contains("Greta") && opened.contains("Clients"), "{opened}");
    let result: serde_json::Value = serde_json::from_str(report["result"].as_str().unwrap()).unwrap();
    // Greta's view of her projects, through the persona's token.
    assert_eq!(result["data"]["projects"]["totalCount"], 3, "{result}");
}

/// The playground's second tab subscribes to the persona's live events over the
/// WebSocket: as Greta in headless Chromium, an event arrives when Sam moves her task.
#[tokio::test(flavor = "multi_thread")]
async fn the_playground_shows_greta_an_event_when_sam_moves_her_task() {
    let app = TestApp::with(Default::default(), true).await;
    let browser = browser(
        &app,
        &[
            ("E2E_TAB", "2"),
            ("E2E_WAIT_FOR", "TASK_STATUS_CHANGED"),
            ("E2E_TIMEOUT_MS", "30000"),
            (
                "E2E_SCREENSHOT",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/playground-live.png"),
            ),
        ],
    );
    // The page subscribes when it is ready: move the task until the browser saw it.
    let task = app.id_of("tasks", "title", "Write launch copy").await;
    let mut statuses = ["DONE", "OPEN"].into_iter().cycle();
    while !browser.is_finished() {
        let status = statuses.next().unwrap();
        app.query_vars(
            "sam@acme.example",
            &format!(
                "mutation($t: ID!) {{ updateTask(id: $t, input: {{ status: {status} }}) {{ status }} }}"
            ),
            serde_json::json!({ "t": task }),
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let report = report_of(&browser.await.unwrap());
    assert_eq!(report["blocked"], 0, "{report}");
    let result: serde_json::Value = serde_json::from_str(report["result"].as_str().unwrap()).unwrap();
    let event = &result["data"]["portalEvents"];
    assert_eq!(event["kind"], "TASK_STATUS_CHANGED", "{result}");
    assert_eq!(event["task"]["title"], "Write launch copy");
    assert_eq!(
        event["task"]["estimatedHours"],
        serde_json::Value::Null,
        "hidden from Greta"
    );
}
