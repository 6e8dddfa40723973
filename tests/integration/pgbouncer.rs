//! The gateway behind PgBouncer in transaction pooling mode (docs/operations.md#pgbouncer):
//! a real PgBouncer (the distribution's, `make pgbouncer` installs it) started by the
//! test with a handful of server connections for many clients, so that consecutive
//! statements of one client land on different server connections. Every answer equals
//! that of a server connected directly.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portal_gateway::config::Pooler;
use serde_json::{Value, json};

use crate::cluster::{Scratch, as_postgres, free_port};
use crate::harness::TestApp;

const ADA: &str = "ada@acme.example";
const GRETA: &str = "greta@globex.example";
const DASHBOARD: &str = "query Dashboard { projects(first: 20) { totalCount nodes { name status stage { name } \
    owner { name } account { name } tasks(first: 10) { nodes { title status assignee { name } \
    comments { totalCount } } } } } }";

/// A PgBouncer in transaction pooling mode in front of the tests' PostgreSQL, stopped
/// when dropped.
struct PgBouncer {
    process: Child,
    port: u16,
    _scratch: Scratch,
}

fn pgbouncer_bin() -> PathBuf {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("pgbouncer is installed (`make pgbouncer`)")
}

impl PgBouncer {
    /// PgBouncer before `server` (`host:port` of PostgreSQL, user `postgres`), at most
    /// `server_connections` of them per database.
    async fn start(server: &reqwest::Url, server_connections: u32) -> PgBouncer {
        let scratch = Scratch::new("pgbouncer");
        let port = free_port();
        let ini = scratch.0.join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host={host} port={server_port} user=postgres\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = any\n\
                 pool_mode = transaction\n\
                 default_pool_size = {server_connections}\n\
                 max_client_conn = 200\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 logfile = {dir}/pgbouncer.log\n\
                 pidfile = {dir}/pgbouncer.pid\n",
                host = server.host_str().unwrap_or("127.0.0.1"),
                server_port = server.port().unwrap_or(5432),
                dir = scratch.0.display(),
            ),
        )
        .unwrap();
        let process = as_postgres(&pgbouncer_bin())
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let bouncer = PgBouncer {
            process,
            port,
            _scratch: scratch,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return bouncer;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("pgbouncer did not start");
    }

    /// `url` with PgBouncer in place of the server.
    fn before(&self, url: &str) -> String {
        let mut u = reqwest::Url::parse(url).unwrap();
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(self.port)).unwrap();
        u.to_string()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // runuser passes SIGTERM on; killing it would orphan PgBouncer.
        let _ = Command::new("kill").arg(self.process.id().to_string()).status();
        let _ = self.process.wait();
    }
}

fn server() -> reqwest::Url {
    let admin = std::env::var("DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    reqwest::Url::parse(&admin).unwrap()
}

/// A server over a fresh demo whose connections all go through `bouncer`.
async fn through(bouncer: &PgBouncer, pooler: Pooler) -> TestApp {
    TestApp::configured(|c| {
        c.database_listen_url = Some(c.database_url.clone());
        c.database_url = bouncer.before(&c.database_url);
        c.pooler = pooler;
    })
    .await
}

async fn answers(app: &TestApp, requests: &[(&str, &str, Value)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (who, query, variables) in requests {
        out.push(app.query_vars(who, query, variables.clone()).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn pgbouncer_transaction_pooling_answers_as_a_direct_connection() {
    let bouncer = PgBouncer::start(&server(), 2).await;
    let direct = TestApp::demo().await;
    let pooled = through(&bouncer, Pooler::PgBouncer).await;
    let task = direct
        .id_where("tasks", "id = (SELECT id FROM tasks ORDER BY id LIMIT 1)")
        .await
        .to_string();
    let globex = direct.id_of("accounts", "name", "Globex").await.to_string();
    let steps: Vec<(&str, &str, Value)> = vec![
        (ADA, DASHBOARD, json!({})),
        (GRETA, DASHBOARD, json!({})),
        (
            ADA,
            "mutation($t: ID!) { updateTask(id: $t, input: { title: \"Through the pooler\" }) { title status } }",
            json!({ "t": task }),
        ),
        (
            GRETA,
            "mutation($t: ID!) { updateTask(id: $t, input: { title: \"Not allowed\" }) { title } }",
            json!({ "t": task }),
        ),
        // Fails inside its transaction (the e-mail is taken): rolled back, and the
        // connection serves the next request.
        (
            ADA,
            "mutation($a: ID!) { createExternalUser(accountId: $a, email: \"greta@globex.example\", name: \"Twice\") { email } }",
            json!({ "a": globex }),
        ),
        (
            ADA,
            "mutation { createRole(input: { name: \"Made through the pooler\", grants: [{ module: \"crm\" }] }) { name } }",
            json!({}),
        ),
        (
            ADA,
            "query($t: ID!) { task(id: $t) { title } }",
            json!({ "t": task }),
        ),
        (ADA, "{ roles { name } }", json!({})),
        (ADA, DASHBOARD, json!({})),
    ];
    let expected = answers(&direct, &steps).await;
    let got = answers(&pooled, &steps).await;
    for ((step, e), g) in steps.iter().zip(&expected).zip(&got) {
        assert_eq!(g, e, "{}", step.1);
    }
    assert_eq!(expected[2]["data"]["updateTask"]["title"], "Through the pooler");
    assert_eq!(
        crate::harness::codes(&expected[3]),
        ["FORBIDDEN"],
        "{}",
        expected[3]
    );
    assert_eq!(
        crate::harness::codes(&expected[4]),
        ["CONFLICT"],
        "{}",
        expected[4]
    );
    assert_eq!(expected[6]["data"]["task"]["title"], "Through the pooler");

    // The audit writer's connections go through PgBouncer too: Greta's dashboard and
    // her refused mutation are in the log, as on the direct server.
    let events = |log: Vec<Value>| {
        log.iter()
            .map(|e| (e["operationType"].clone(), e["outcome"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        events(pooled.audit_log(2).await),
        events(direct.audit_log(2).await)
    );

    // Many requests at once over two server connections: every one answers in full.
    let want = &expected[8];
    let token = pooled.token(ADA).await;
    let mut running = Vec::new();
    for _ in 0..48 {
        let (pooled, token) = (&pooled, token.clone());
        running.push(async move { pooled.post(Some(&token), DASHBOARD, json!({})).await });
    }
    for got in futures_util::future::join_all(running).await {
        assert_eq!(&got, want);
    }
}

/// Why `DB_POOLER=pgbouncer` matters with the PgBouncer this machine has (before 1.21,
/// which does not carry prepared statements across server connections): without it,
/// statements prepared on one server connection are run on another, and fail.
#[tokio::test(flavor = "multi_thread")]
async fn pgbouncer_without_the_pooler_setting_named_statements_fail() {
    let version = Command::new(pgbouncer_bin()).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let minor: u32 = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.strip_prefix("1."))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("a PgBouncer 1.x version in {version:?}"));
    if minor >= 21 {
        eprintln!("{version}: tracks prepared statements itself; nothing to show");
        return;
    }
    let bouncer = PgBouncer::start(&server(), 2).await;
    let unaware = through(&bouncer, Pooler::None).await;
    let token = unaware.token(ADA).await;
    // A failure needs a statement prepared on one server connection to be run on the
    // other, which depends on timing: rounds until one does (one or two, unless the
    // machine is busy with other tests).
    let mut failed = 0;
    for _ in 0..30 {
        let mut running = Vec::new();
        for _ in 0..16 {
            let (unaware, token) = (&unaware, token.clone());
            running.push(async move { unaware.post(Some(&token), DASHBOARD, json!({})).await });
        }
        failed += futures_util::future::join_all(running)
            .await
            .iter()
            .filter(|r| crate::harness::codes(r).iter().any(|c| c == "INTERNAL"))
            .count();
        if failed > 0 {
            break;
        }
    }
    assert!(
        failed > 0,
        "every request answered through {version} without the pooler setting"
    );
}

/// `LISTEN` cannot work through a transaction pooler: the binary refuses
/// `DB_POOLER=pgbouncer` without a direct `DATABASE_LISTEN_URL`, and says so.
#[test]
fn pgbouncer_without_a_listen_url_is_refused_at_startup() {
    let run = |listen: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal-gateway"));
        cmd.arg("migrate")
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")
            .env("JWT_SECRET", crate::harness::SECRET)
            .env("DB_POOLER", "pgbouncer")
            .env("DB_ACQUIRE_TIMEOUT_MS", "500")
            .env_remove("DATABASE_LISTEN_URL");
        if let Some(url) = listen {
            cmd.env("DATABASE_LISTEN_URL", url);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, stderr) = run(None);
    assert!(!ok);
    assert!(stderr.contains("DATABASE_LISTEN_URL"), "{stderr}");
    // With it, the configuration is accepted (and `migrate` fails on the unreachable
    // database instead).
    let (ok, stderr) = run(Some("postgres://postgres@127.0.0.1:1/nowhere"));
    assert!(!ok);
    assert!(!stderr.contains("DATABASE_LISTEN_URL"), "{stderr}");
}
