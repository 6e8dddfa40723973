//! docs/operations.md, trust at the edge: per-caller rate limits, a flood of refused
//! mutations that slows nobody else and loses no event, and PostgreSQL going away and
//! coming back under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use portal_gateway::config::{Limits, Rate};
use serde_json::{Value, json};

use crate::harness::{TestApp, codes};

const GRETA: &str = "greta@globex.example";
const IVAN: &str = "ivan@initech.example";

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).copied().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_past_their_bucket_gets_429_with_retry_after_and_others_do_not() {
    let rate = Rate {
        per_second: 1,
        burst: 3,
        in_flight: 8,
    };
    let app = TestApp::with(
        Limits {
            rate,
            ..Limits::default()
        },
        false,
    )
    .await;
    let greta = app.token(GRETA).await;
    let ivan = app.token(IVAN).await;
    let send = |token: Option<String>| {
        let mut req = app
            .http
            .post(format!("{}/graphql", app.base))
            .json(&json!({ "query": "query Mine { viewer { name } }" }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let res = req.send().await.unwrap();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (res.status().as_u16(), retry, res.json::<Value>().await.unwrap())
        }
    };
    for _ in 0..3 {
        let (status, _, body) = send(Some(greta.clone())).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["viewer"]["name"], "Greta", "{body}");
    }
    let (status, retry, body) = send(Some(greta.clone())).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(codes(&body), ["RATE_LIMITED"], "{body}");
    let retry: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry);
    // Another user's bucket is untouched by Greta's.
    for _ in 0..3 {
        let (status, _, body) = send(Some(ivan.clone())).await;
        assert_eq!(status, 200, "{body}");
    }
    // Anonymous callers share the bucket of their address.
    let mut anonymous = Vec::new();
    for _ in 0..4 {
        anonymous.push(send(None).await.0);
    }
    assert_eq!(anonymous, [200, 200, 200, 429]);
    // The bucket refills at its rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(send(Some(greta.clone())).await.0, 200);
    // The refusal is audited under Greta, with its code.
    let events = app.audit_log(5).await;
    let limited: Vec<&Value> = events.iter().filter(|e| e["outcome"] == "RATE_LIMITED").collect();
    assert_eq!(limited.len(), 1, "{events:#?}");
    assert_eq!(limited[0]["externalUser"]["email"], GRETA);
    assert_eq!(limited[0]["operationName"], "Mine");
    assert_eq!(limited[0]["rootFields"], json!(["viewer"]));
}

/// 64 refused mutations at once from one client: another caller's queries all answer
/// (each refused mutation used to hold its connection while waiting for a second one
/// to audit its failure, which starved the pool), and every refusal is audited.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_refused_mutations_slows_nobody_else_and_loses_no_event() {
    // No cap on one caller's requests in flight: the pool itself must hold.
    let rate = Rate {
        in_flight: 64,
        ..Limits::default().rate
    };
    let app = TestApp::with(
        Limits {
            rate,
            ..Limits::default()
        },
        false,
    )
    .await;
    let greta = app.token(GRETA).await;
    let ivan = app.token(IVAN).await;
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    let flood = (0..64).map(|i| {
        let body = json!({
            "query": format!("mutation Flood{i}($p: ID!) {{ createTask(projectId: $p, input: {{ title: \"no\" }}) {{ id }} }}"),
            "variables": { "p": project },
        });
        let req = app
            .http
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&greta)
            .json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    });
    let done = Arc::new(AtomicBool::new(false));
    let innocent = {
        let (http, base, done) = (app.http.clone(), app.base.clone(), done.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut answers = Vec::new();
            while !done.load(Ordering::SeqCst) || latencies.len() < 20 {
                let started = Instant::now();
                let r: Value = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&ivan)
                    .json(&json!({ "query": "{ projects { totalCount nodes { name } } }" }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                latencies.push(started.elapsed());
                answers.push(r);
            }
            (latencies, answers)
        })
    };
    let refused = futures_util::future::join_all(flood).await;
    done.store(true, Ordering::SeqCst);
    let (latencies, answers) = innocent.await.unwrap();
    for r in &refused {
        assert_eq!(codes(r), ["FORBIDDEN"], "{r}");
    }
    for r in &answers {
        assert!(r["errors"].is_null(), "the innocent caller was refused: {r}");
        assert!(r["data"]["projects"]["totalCount"].as_i64().unwrap() > 0, "{r}");
    }
    println!(
        "innocent caller during the flood: {} requests, p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        percentile(latencies.clone(), 0.5),
        percentile(latencies.clone(), 0.99),
        latencies.iter().max().unwrap()
    );
    // Every refusal is recorded (the innocent caller's queries too).
    let q = "{ auditLog(first: 100, filter: { operationType: MUTATION }) { totalCount nodes { outcome operationName } } }";
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.query_as("ada@acme.example", q).await;
        if last["data"]["auditLog"]["totalCount"] == 64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["data"]["auditLog"]["totalCount"], 64, "{last}");
    let nodes = last["data"]["auditLog"]["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["outcome"] == "FORBIDDEN"), "{last}");
    let mut names: Vec<&str> = nodes
        .iter()
        .map(|n| n["operationName"].as_str().unwrap())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 64);
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection dropped,
/// new ones closed at once, as when the server goes away) and restore.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

/// `host:port` of a `postgres://user@host:port/db?…` URL, and the URL with another one.
fn authority(url: &str) -> (String, impl Fn(&str) -> String + use<>) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (auth, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = auth.rsplit_once('@').map_or((None, auth), |(u, h)| (Some(u), h));
    let (scheme, user, path) = (scheme.to_string(), user.map(str::to_string), path.to_string());
    let rebuild = move |host: &str| match &user {
        Some(u) => format!("{scheme}://{u}@{host}/{path}"),
        None => format!("{scheme}://{host}/{path}"),
    };
    (host.to_string(), rebuild)
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Default::default();
        let (accepting, registry) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                registry.lock().unwrap().push(link.abort_handle());
            }
        });
        Proxy { addr, up, links }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_going_away_fails_requests_fast_and_the_gateway_recovers_by_itself() {
    let admin = std::env::var("DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (server, _) = authority(&admin);
    let proxy = Proxy::start(server).await;
    let via = proxy.addr.to_string();
    // Failing fast, four clients ask faster than the default rate: not this test's point.
    let rate = Rate {
        per_second: 10_000,
        burst: 10_000,
        in_flight: 8,
    };
    let limits = Limits {
        rate,
        ..Limits::default()
    };
    let app = TestApp::start(limits, false, |url| authority(url).1(&via)).await;
    let greta = app.token(GRETA).await;
    let ready = || async {
        app.http
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready().await, 200);

    // Four clients in a loop for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let phase = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (http, base, token) = (app.http.clone(), app.base.clone(), greta.clone());
            let (stop, sent, phase) = (stop.clone(), sent.clone(), phase.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let at = phase.load(Ordering::SeqCst);
                    let started = Instant::now();
                    let res = http
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({ "query": "query Load { projects { totalCount } }" }))
                        .send()
                        .await
                        .unwrap();
                    let status = res.status().as_u16();
                    let body: Value = res.json().await.unwrap();
                    sent.fetch_add(1, Ordering::SeqCst);
                    seen.push((at, status, started.elapsed(), body));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                seen
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.store(1, Ordering::SeqCst);
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself stays healthy");
    let started = Instant::now();
    assert_eq!(ready().await, 503, "not ready while the database is away");
    println!("/readyz answered 503 in {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_millis(1500)).await;

    phase.store(2, Ordering::SeqCst);
    proxy.restore();
    let mut recovered = None;
    for _ in 0..100 {
        if ready().await == 200 {
            let r = app.query_as(GRETA, "{ projects { totalCount } }").await;
            if r["errors"].is_null() {
                recovered = Some(r);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered.is_some(), "the gateway did not recover by itself");
    phase.store(3, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut seen = Vec::new();
    for c in clients {
        seen.extend(c.await.unwrap());
    }
    assert!(!app.server.is_finished(), "the server task ended (a panic?)");

    let during: Vec<_> = seen.iter().filter(|s| s.0 == 1).collect();
    assert!(!during.is_empty());
    for (_, status, elapsed, body) in &during {
        assert!(*status < 500, "{status} {body}");
        assert!(
            body["errors"].is_null() || codes(body) == ["INTERNAL"],
            "a clear refusal while the database is away: {body}"
        );
        // Bounded by the pool's acquire timeout, far below the request limit.
        assert!(*elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
    let failed = during.iter().filter(|s| !s.3["errors"].is_null()).count();
    assert!(failed > 0, "the cut was not noticed");
    let message = during
        .iter()
        .find(|s| !s.3["errors"].is_null())
        .map(|s| s.3["errors"][0]["message"].as_str().unwrap().to_string())
        .unwrap();
    assert!(
        message.contains("database is unavailable") || message == "internal error",
        "{message}"
    );
    let after: Vec<_> = seen.iter().filter(|s| s.0 == 3).collect();
    assert!(!after.is_empty());
    for (_, _, _, body) in &after {
        assert!(body["errors"].is_null(), "after recovery: {body}");
    }
    let slowest = during.iter().map(|s| s.2).max().unwrap();
    println!(
        "{} requests while the database was away, {failed} refused, slowest {slowest:?}",
        during.len()
    );

    // Every request was audited, those during the outage included, once the database
    // took the writer's retries.
    let total = sent.load(Ordering::SeqCst) + 1;
    let q = "{ auditLog(filter: { operationType: QUERY }) { totalCount } }";
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app.query_as("ada@acme.example", q).await;
        if last["data"]["auditLog"]["totalCount"].as_u64() == Some(total as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        last["data"]["auditLog"]["totalCount"].as_u64(),
        Some(total as u64),
        "{last}"
    );
}
