//! Reads on a streaming replica (docs/operations.md#read-replica), against a real one: a
//! private primary under `target/` and its replica made with `pg_basebackup -R`, the
//! demo loaded on the primary with the gateway's own migrations and seed.
//!
//! Whether a read came from the replica is told by the data itself: with the replica's
//! replay paused, a change made on the primary afterwards is on the primary only.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::{Cluster, Scratch};
use crate::harness::TestApp;

const ADA: &str = "ada@acme.example";
const SAM: &str = "sam@acme.example";
const READ: &str = "query($t: ID!, $p: ID!) { task(id: $t) { title } project(id: $p) { name } }";

/// A primary with the demo and a streaming replica of it; all removed when dropped.
struct Replicated {
    replica: Cluster,
    primary: Cluster,
    _scratch: Scratch,
}

impl Replicated {
    async fn start() -> Replicated {
        let scratch = Scratch::new("replica");
        let primary = Cluster::primary(&scratch, "primary");
        primary.sql("postgres", "CREATE DATABASE portal").await;
        let url = primary.url("portal");
        portal_gateway::db::migrate(&url).await.unwrap();
        portal_gateway::seed::demo(&url, portal_gateway::seed::Seed::Reset)
            .await
            .unwrap();
        let replica = Cluster::replica_of(&primary, &scratch, "replica");
        Replicated {
            replica,
            primary,
            _scratch: scratch,
        }
    }

    /// A server whose writes go to the primary and whose reads may go to the replica.
    async fn app(&self, max_lag: Duration) -> TestApp {
        let read_url = self.replica.url("portal");
        TestApp::over(&self.primary.url("portal"), |c| {
            c.database_read_url = Some(read_url);
            c.read_max_lag = max_lag;
        })
        .await
    }
}

/// `portal_reads_total{server}` of the server's metrics.
async fn routed(app: &TestApp, server: &str) -> u64 {
    let text = app.metrics().await;
    let prefix = format!("portal_reads_total{{server=\"{server}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
        .trim()
        .parse()
        .unwrap()
}

async fn read(app: &TestApp, token: &str, task: &str, project: &str) -> Value {
    let r = app
        .post(Some(token), READ, json!({ "t": task, "p": project }))
        .await;
    assert!(r.get("errors").is_none(), "{r}");
    r["data"].clone()
}

/// The demo's first task and project (by id): what `READ` asks for.
async fn first_task_and_project(app: &TestApp) -> (String, String) {
    let first = |table: &str| format!("id = (SELECT id FROM {table} ORDER BY id LIMIT 1)");
    let task = app.id_where("tasks", &first("tasks")).await.to_string();
    let project = app.id_where("projects", &first("projects")).await.to_string();
    (task, project)
}

/// Waits until a read as `token` is answered from the replica (once the server has seen
/// it caught up).
async fn reads_reach_the_replica(app: &TestApp, token: &str, task: &str, project: &str) {
    until("a read goes to the replica", async || {
        let n = routed(app, "replica").await;
        read(app, token, task, project).await;
        routed(app, "replica").await > n
    })
    .await;
}

/// Reads `read` until `done` holds (the replica and the server's view of it converge
/// in the background); the test fails when they never do.
async fn until(what: &str, mut read: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if read().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_serves_reads_while_a_callers_own_writes_stay_visible() {
    let db = Replicated::start().await;
    // Replay is paused below for as long as the test takes: no lag bound interferes.
    let app = db.app(Duration::from_secs(3600)).await;
    let (task, project) = first_task_and_project(&app).await;
    let (ada, sam) = (app.token(ADA).await, app.token(SAM).await);
    let before = read(&app, &sam, &task, &project).await;
    reads_reach_the_replica(&app, &sam, &task, &project).await;

    // From here on the replica replays nothing: what happens on the primary now is
    // on the primary only.
    db.replica.sql("portal", "SELECT pg_wal_replay_pause()").await;
    db.primary
        .sql(
            "portal",
            &format!("UPDATE projects SET name = 'Renamed on the primary' WHERE id = '{project}'"),
        )
        .await;
    let r = app
        .post(
            Some(&ada),
            "mutation($t: ID!) { updateTask(id: $t, input: { title: \"Ada's own title\" }) { title } }",
            json!({ "t": task }),
        )
        .await;
    assert_eq!(r["data"]["updateTask"]["title"], "Ada's own title", "{r}");

    // Ada's next read sees her write (the replica has not replayed it: the primary).
    let primary_before = routed(&app, "primary").await;
    let ada_reads = read(&app, &ada, &task, &project).await;
    assert_eq!(ada_reads["task"]["title"], "Ada's own title");
    assert_eq!(ada_reads["project"]["name"], "Renamed on the primary");
    assert_eq!(routed(&app, "primary").await, primary_before + 1);

    // Sam wrote nothing: his read goes to the replica, which has neither change.
    let replica_before = routed(&app, "replica").await;
    let sam_reads = read(&app, &sam, &task, &project).await;
    assert_eq!(sam_reads, before, "the paused replica answered Sam");
    assert_ne!(sam_reads["task"]["title"], "Ada's own title");
    assert_eq!(routed(&app, "replica").await, replica_before + 1);

    // Replay resumes: Sam sees both changes from the replica, and so does Ada, whose
    // write the replica has now replayed.
    db.replica.sql("portal", "SELECT pg_wal_replay_resume()").await;
    until("the replica replays the changes", async || {
        read(&app, &sam, &task, &project).await["task"]["title"] == "Ada's own title"
    })
    .await;
    let replica_before = routed(&app, "replica").await;
    let ada_reads = read(&app, &ada, &task, &project).await;
    assert_eq!(ada_reads["task"]["title"], "Ada's own title");
    assert_eq!(ada_reads["project"]["name"], "Renamed on the primary");
    assert_eq!(
        routed(&app, "replica").await,
        replica_before + 1,
        "Ada reads from the replica again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_down_reads_answer_from_the_primary() {
    let mut db = Replicated::start().await;
    let app = db.app(Duration::from_secs(5)).await;
    let (task, project) = first_task_and_project(&app).await;
    let sam = app.token(SAM).await;
    reads_reach_the_replica(&app, &sam, &task, &project).await;

    db.replica.stop();
    db.primary
        .sql(
            "portal",
            &format!("UPDATE projects SET name = 'Changed while the replica is down' WHERE id = '{project}'"),
        )
        .await;
    // Every read answers, and from the primary: the change made after the replica
    // went away is there.
    let primary_before = routed(&app, "primary").await;
    for _ in 0..5 {
        let r = read(&app, &sam, &task, &project).await;
        assert_eq!(r["project"]["name"], "Changed while the replica is down");
    }
    assert_eq!(routed(&app, "primary").await, primary_before + 5);
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200, "ready: the primary answers");

    // Back up, it catches up and serves reads again.
    db.replica.start();
    until("reads go to the replica again", async || {
        let n = routed(&app, "replica").await;
        let r = read(&app, &sam, &task, &project).await;
        assert_eq!(r["project"]["name"], "Changed while the replica is down");
        routed(&app, "replica").await > n
    })
    .await;
}
