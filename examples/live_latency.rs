//! Event latency from commit to delivery (issue "Live", BENCHMARKS.md): two gateway
//! processes on one database, `SUBSCRIBERS` WebSocket subscribers spread over them
//! (Greta and Frank of the demo, alternately), `EVENTS` task status changes committed
//! in plain SQL one after another; each delivery's latency is its arrival time minus
//! the moment the commit returned. Prints p50 / p99 / max and the deliveries counted.
//!
//! `make bench-live` runs it against the release binary. Knobs (environment):
//! `SUBSCRIBERS` (1000), `EVENTS` (20), `EVENT_GAP_MS` (1000), `DATABASE_URL` (the
//! PostgreSQL to create the bench database in; 127.0.0.1:5432 by default).

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SECRET: &str = "live-latency-bench-secret-0123456789";
const DB: &str = "portal_live_bench";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn binary() -> String {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/live_latency → target/<profile>/portal-gateway
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("portal-gateway")
        .display()
        .to_string()
}

struct Gateway(Child, String);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gateway(url: &str) -> Gateway {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary())
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", SECRET)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .env("WS_QUEUE_EVENTS", "256")
        .env("RATE_LIMIT_PER_SECOND", "0")
        .stdout(Stdio::null())
        .spawn()
        .expect("build the release binary first (make bench-live)");
    Gateway(child, format!("127.0.0.1:{port}"))
}

fn run(url: &str, args: &[&str]) -> String {
    let out = Command::new(binary())
        .args(args)
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let subscribers: usize = env_or("SUBSCRIBERS", 1000);
    let events: usize = env_or("EVENTS", 20);
    let gap = Duration::from_millis(env_or("EVENT_GAP_MS", 1000));
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
        format!("CREATE DATABASE {DB}"),
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap();
    }
    let url = match admin.rfind('/') {
        Some(i) => format!("{}/{DB}", &admin[..i]),
        None => panic!("DATABASE_URL has no database name"),
    };
    run(&url, &["migrate"]);
    run(&url, &["seed", "demo"]);
    let tokens = [
        run(&url, &["token", "--email", "greta@globex.example"]),
        run(&url, &["token", "--email", "frank@globex.example"]),
    ];
    let instances = [gateway(&url), gateway(&url)];
    let http = reqwest_ready(&instances).await;
    drop(http);

    // Subscribers, alternately Greta and Frank, alternately on each instance.
    let arrivals: Arc<Mutex<Vec<(usize, Instant)>>> = Arc::default();
    let mut tasks = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers);
    for i in 0..subscribers {
        let base = instances[i % 2].1.clone();
        let token = tokens[(i / 2) % 2].clone();
        let arrivals = arrivals.clone();
        let ready = ready_tx.clone();
        tasks.push(tokio::spawn(async move {
            let mut request = format!("ws://{base}/graphql/ws").into_client_request().unwrap();
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
            let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
            ws.send(Message::text(init.to_string())).await.unwrap();
            let _ack = ws.next().await;
            let subscribe = json!({ "type": "subscribe", "id": "1", "payload": { "query":
                "subscription { portalEvents { id kind task { title status } project { name } } }" } });
            ws.send(Message::text(subscribe.to_string())).await.unwrap();
            let _ = ready.send(()).await;
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    let v: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
                    if v["type"] == "next" {
                        let title = v["payload"]["data"]["portalEvents"]["task"]["title"].as_str().unwrap_or("");
                        if let Some(n) = title.strip_prefix("Latency ").and_then(|n| n.parse().ok()) {
                            arrivals.lock().unwrap().push((n, Instant::now()));
                        }
                    }
                }
            }
        }));
    }
    for _ in 0..subscribers {
        ready_rx.recv().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Events: one committed change at a time, its commit's return time noted.
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let mut committed = Vec::new();
    for n in 0..events {
        conn.batch_execute(&format!(
            "UPDATE tasks SET title = 'Latency {n}', status = CASE WHEN status = 'DONE' THEN 'OPEN' ELSE 'DONE' END \
             WHERE id = '01900000-0008-7000-8000-000000000104'"
        ))
        .await
        .unwrap();
        committed.push(Instant::now());
        tokio::time::sleep(gap).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let arrivals = arrivals.lock().unwrap().clone();
    let mut latencies: Vec<f64> = arrivals
        .iter()
        .filter(|(n, _)| *n < committed.len())
        .map(|(n, at)| at.saturating_duration_since(committed[*n]).as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let report = json!({
        "subscribers": subscribers,
        "instances": 2,
        "events": events,
        "deliveries": latencies.len(),
        "expected_deliveries": subscribers * events,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies.last().copied().unwrap_or(f64::NAN),
    });
    println!("{report}");
    for t in tasks {
        t.abort();
    }
    drop(instances);
    let mut conn = AsyncPgConnection::establish(&admin).await.unwrap();
    let drop = diesel::sql_query(format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"));
    let _ = diesel_async::RunQueryDsl::execute(drop, &mut conn).await;
}

/// Waits until both instances answer `/readyz`.
async fn reqwest_ready(instances: &[Gateway; 2]) -> reqwest::Client {
    let http = reqwest::Client::new();
    for g in instances {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http
            .get(format!("http://{}/readyz", g.1))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "a gateway did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    http
}
