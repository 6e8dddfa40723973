//! Operation (docs/operations.md): `make run` keeps the database. `seed demo` loads the demo only when it is
//! missing, `seed demo --reset` starts over, and `serve --migrate --seed-demo` binds its
//! port before it touches any data.

use std::process::{Command, Output};

use serde_json::json;

use crate::harness::{SECRET, TestApp};

const ADA: &str = "ada@acme.example";

fn gateway(url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal-gateway"));
    cmd.args(args)
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "error");
    cmd
}

async fn run(url: &str, args: &[&str]) -> Output {
    let mut cmd = gateway(url, args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

async fn roles_named(app: &TestApp, name: &str) -> usize {
    let r = app.query_as(ADA, "{ roles { name } }").await;
    r["data"]["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .filter(|role| role["name"] == name)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn served_demo_seed_keeps_what_users_created_and_reset_starts_over() {
    let app = TestApp::demo().await;
    let r = app
        .query_as(
            ADA,
            "mutation { createRole(input: { name: \"Made by a user\", grants: [{ module: \"crm\" }] }) { id } }",
        )
        .await;
    assert!(r["data"]["createRole"]["id"].is_string(), "{r}");
    assert_eq!(roles_named(&app, "Made by a user").await, 1);

    let out = run(&app.url, &["seed", "demo"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept"), "{out:?}");
    assert_eq!(roles_named(&app, "Made by a user").await, 1, "the seed kept it");

    let out = run(&app.url, &["seed", "demo", "--reset"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        roles_named(&app, "Made by a user").await,
        0,
        "--reset starts over"
    );
    assert_eq!(roles_named(&app, "Clients").await, 1, "with the demo back");
}

/// A fresh, empty database beside the test's own, dropped with the app.
async fn empty_database(app: &TestApp) -> (String, String) {
    let name = format!("{}_empty", app.database);
    app.admin_sql(&format!("CREATE DATABASE {name}")).await;
    (name.clone(), app.url.replacen(&app.database, &name, 1))
}

#[tokio::test(flavor = "multi_thread")]
async fn served_with_migrate_and_seed_demo_binds_its_port_before_touching_data() {
    let app = TestApp::demo().await;
    let (name, url) = empty_database(&app).await;
    let ada_exists = || async {
        let out = run(&url, &["token", "--email", ADA]).await;
        out.status.success()
    };

    // The port is taken (another `make run`): nothing is migrated or seeded.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut serve = gateway(&url, &["serve", "--migrate", "--seed-demo"]);
    serve.env("LISTEN_ADDR", format!("127.0.0.1:{port}"));
    let out = tokio::task::spawn_blocking(move || serve.output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("binding"),
        "{out:?}"
    );
    assert!(!ada_exists().await, "the database was touched");
    drop(taken);

    // A free port: bound, migrated, seeded, served.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = gateway(&url, &["serve", "--migrate", "--seed-demo"])
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = app.http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready);
    let out = run(&url, &["token", "--email", ADA]).await;
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap();
    let r: serde_json::Value = app
        .http
        .post(format!("{base}/graphql"))
        .bearer_auth(token.trim())
        .json(&json!({ "query": "{ viewer { name } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["viewer"]["name"], "Ada", "{r}");
    server.kill().unwrap();
    server.wait().unwrap();
    app.admin_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}
