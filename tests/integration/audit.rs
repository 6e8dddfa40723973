//! docs/operations.md (audit) and docs/api.md: errors carry codes, and INTERNAL leaks
//! nothing.

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

/// docs/operations.md#audit: root fields and record ids come from what ran. Fragments,
/// inline fragments and aliases cannot blank them, leaving `id` out cannot hide a record,
/// an alias `id:` on another field cannot forge one, and requests refused before execution
/// are audited with their code.
#[tokio::test(flavor = "multi_thread")]
async fn the_audit_cannot_be_blanked_or_forged_through_the_document() {
    let app = TestApp::demo().await;
    let greta = app.token("greta@globex.example").await;
    let ids_of = |r: &serde_json::Value, path: &[&str]| -> Vec<String> {
        let mut v = r.clone();
        for p in path {
            v = v[*p].clone();
        }
        v["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{r}"))
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app
        .post(Some(&greta), "{ projects { nodes { id } } }", json!({}))
        .await;
    let projects = ids_of(&r, &["data", "projects"]);
    assert!(!projects.is_empty());
    let project = projects[0].clone();
    let r = app
        .post(
            Some(&greta),
            "query($p: ID!) { tasks(projectId: $p) { nodes { id } } }",
            json!({ "p": project }),
        )
        .await;
    let tasks = ids_of(&r, &["data", "tasks"]);
    assert!(!tasks.is_empty(), "{r}");
    // A title that looks like the id of a record Greta may not see (an internal task).
    let internal = "01900000-0008-7000-8000-000000000103";
    app.sql(&format!(
        "UPDATE tasks SET title = '{internal}' WHERE id = '{}'",
        tasks[0]
    ))
    .await;

    let shapes = [
        (
            "Spread",
            "query Spread { ...Root } fragment Root on Query { mine: projects { nodes { name } } }",
            json!(["projects"]),
        ),
        (
            "Inline",
            "query Inline { ... on Query { me: viewer { name } ... on Query { list: projects { totalCount nodes { name } } } } }",
            json!(["viewer", "projects"]),
        ),
        (
            "Forge",
            "query Forge($p: ID!) { t: tasks(projectId: $p) { nodes { id: title } } }",
            json!(["tasks"]),
        ),
    ];
    for (name, query, _) in &shapes {
        let r = app.post(Some(&greta), query, json!({ "p": project })).await;
        assert!(r["errors"].is_null(), "{name}: {r}");
    }
    let r = app
        .post(
            Some(&greta),
            "query Forge2($p: ID!) { t: tasks(projectId: $p) { nodes { id: title } } }",
            json!({ "p": project }),
        )
        .await;
    assert!(
        r.to_string().contains(internal),
        "the forged value is in the answer: {r}"
    );
    // Refused before execution: too deep.
    let deep = format!(
        "query Deep {{ projects {{ nodes {{ {} name {} }} }} }}",
        "parent { ".repeat(12),
        "} ".repeat(12)
    );
    let r = app.post(Some(&greta), &deep, json!({})).await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    // A malformed preview header from an admin is refused, and audited as a preview.
    let ada = app.token("ada@acme.example").await;
    let (_, body) = app
        .post_raw(
            Some(&ada),
            "query Peek { projects { totalCount } }",
            json!({}),
            &[("x-preview-user", "not-an-id".to_string())],
        )
        .await;
    assert!(body.contains("BAD_USER_INPUT"), "{body}");

    let events = app.audit_log(8).await;
    let event = |name: &str| {
        events
            .iter()
            .find(|e| e["operationName"] == name)
            .unwrap_or_else(|| panic!("no event {name}: {events:#?}"))
            .clone()
    };
    for (name, _, roots) in &shapes {
        let e = event(name);
        assert_eq!(&e["rootFields"], roots, "{name}: {e}");
        assert_eq!(e["outcome"], "OK", "{name}");
    }
    let as_set = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        as_set(&event("Spread")["recordIds"]),
        projects.iter().cloned().collect()
    );
    assert_eq!(
        as_set(&event("Inline")["recordIds"]),
        projects.iter().cloned().collect()
    );
    let forged = as_set(&event("Forge")["recordIds"]);
    assert_eq!(
        forged,
        tasks.iter().cloned().collect(),
        "record ids are the tasks returned"
    );
    assert!(!forged.contains(internal));
    let deep = event("Deep");
    assert_eq!(deep["outcome"], "BAD_USER_INPUT");
    assert_eq!(deep["rootFields"], json!(["projects"]));
    assert_eq!(deep["recordIds"], json!([]));
    let peek = event("Peek");
    assert_eq!(peek["outcome"], "BAD_USER_INPUT");
    assert_eq!(peek["previewBy"]["email"], "ada@acme.example");
}
