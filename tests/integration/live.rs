//! docs/api.md#subscriptions: portal events over graphql-transport-ws at `/graphql/ws`,
//! with two gateway processes on one database. Each event is decided when it is
//! delivered, with the recipient's grants of that moment; revocation closes the socket
//! with 4403 on every instance; `after` resumes with no gap and no duplicate; a stalled
//! subscriber is closed with 4410 and delays nobody.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{SECRET, TestApp, codes};

const GRETA: &str = "greta@globex.example";
const IVAN: &str = "ivan@initech.example";
const FRANK: &str = "frank@globex.example";
const SAM: &str = "sam@acme.example";
const ADA: &str = "ada@acme.example";

/// Long enough for a loaded CI machine; an event that takes longer is a failure.
const WAIT: Duration = Duration::from_secs(20);

const EVENTS: &str = "subscription($after: ID) { portalEvents(after: $after) { id kind \
    task { title status estimatedHours internal } project { name } invoice { number status } } }";

/// A `portal-gateway serve` process on the test's database, killed when dropped.
struct Gateway {
    child: Child,
    base: String,
}

impl Gateway {
    async fn start(app: &TestApp, env: &[(&str, &str)]) -> Gateway {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal-gateway"));
        cmd.arg("serve")
            .env("DATABASE_URL", &app.url)
            .env("JWT_SECRET", SECRET)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "RUST_LOG",
                std::env::var("GATEWAY_LOG").unwrap_or_else(|_| "error".into()),
            )
            .env("DB_POOL_SIZE", "8")
            .env_remove("METRICS_ADDR")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let gateway = Gateway {
            child,
            base: format!("127.0.0.1:{port}"),
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = app
                .http
                .get(format!("http://{}/readyz", gateway.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return gateway;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gateway did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, app: &TestApp, email: &str, query: &str, variables: Value) -> Value {
        let token = app.token(email).await;
        app.http
            .post(format!("http://{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The upgrade request to `/graphql/ws` on `base`, asking for graphql-transport-ws.
fn upgrade(base: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://{base}/graphql/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    request
}

/// A graphql-transport-ws client.
struct Ws(Socket);

impl Ws {
    /// Opens a socket and sends `connection_init` with `payload`.
    async fn open(base: &str, payload: Value) -> Ws {
        let (mut socket, response) = tokio_tungstenite::connect_async(upgrade(base)).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": payload }).to_string(),
            ))
            .await
            .unwrap();
        Ws(socket)
    }

    /// A socket of `email`, acknowledged.
    async fn of(base: &str, app: &TestApp, email: &str) -> Ws {
        let token = app.token(email).await;
        let mut ws = Ws::open(base, json!({ "Authorization": format!("Bearer {token}") })).await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        ws
    }

    async fn send(&mut self, message: Value) {
        self.0.send(Message::text(message.to_string())).await.unwrap();
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id,
                          "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message (pings and pongs of the WebSocket itself skipped).
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("no message in time")
                .expect("the socket closed")
                .expect("the socket failed");
            match message {
                Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next event's payload, after checking it is `next` for `id`.
    async fn event(&mut self, id: &str) -> Value {
        let m = self.next().await;
        assert_eq!(m["type"], "next", "{m}");
        assert_eq!(m["id"], id, "{m}");
        assert!(m["payload"]["errors"].is_null(), "{m}");
        m["payload"]["data"]["portalEvents"].clone()
    }

    /// The close code and reason, after any messages still in flight.
    async fn closed(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(WAIT, self.0.next())
                .await
                .expect("not closed in time");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (frame.code.into(), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("failed instead of closing: {e}"),
            }
        }
    }
}

async fn set_status_via(gateway: &Gateway, app: &TestApp, title: &str, status: &str) {
    let id = app.id_of("tasks", "title", title).await;
    let r = gateway
        .post(
            app,
            SAM,
            &format!(
                "mutation($t: ID!) {{ updateTask(id: $t, input: {{ status: {status} }}) {{ status }} }}"
            ),
            json!({ "t": id }),
        )
        .await;
    assert_eq!(r["data"]["updateTask"]["status"], status, "{r}");
}

const ACME: &str = "'01900000-0001-7000-8000-000000000100'";

/// Initech's role names no notification in the demo: here it names task status changes.
async fn notify_ivan(app: &TestApp) {
    app.sql(&format!(
        "UPDATE role_grants SET notifications = '{{status_changed}}' WHERE module = 'tasks' \
         AND role_id = (SELECT id FROM roles WHERE name = 'Initech Portal' AND workspace_id = {ACME})"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_through_one_instance_reaches_subscribers_of_the_other_filtered_as_a_query() {
    let app = TestApp::demo().await;
    notify_ivan(&app).await;
    let a = Gateway::start(&app, &[]).await;
    let b = Gateway::start(&app, &[]).await;
    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    greta.subscribe("1", EVENTS, json!({})).await;
    let mut ivan = Ws::of(&a.base, &app, IVAN).await;
    ivan.subscribe("i", EVENTS, json!({})).await;
    // Let both subscriptions start before anything happens.
    tokio::time::sleep(Duration::from_millis(300)).await;

    set_status_via(&a, &app, "Set up staging server", "DONE").await; // internal
    set_status_via(&a, &app, "Write launch copy", "DONE").await;
    app.sql("UPDATE tasks SET status = 'DONE' WHERE title = 'Design new homepage'")
        .await;

    let first = greta.event("1").await;
    assert_eq!(first["kind"], "TASK_STATUS_CHANGED");
    // Hidden fields null, exactly as a query shows them to Greta.
    assert_eq!(
        first["task"],
        json!({ "title": "Write launch copy", "status": "DONE", "estimatedHours": null, "internal": null })
    );
    assert_eq!(first["project"]["name"], "Website Relaunch");
    assert_eq!(first["invoice"], Value::Null);
    let second = greta.event("1").await;
    assert_eq!(
        second["task"]["title"], "Design new homepage",
        "a change in plain SQL"
    );

    // Ivan's first event is his own account's: nothing of Globex came before it.
    set_status_via(&b, &app, "New cover sheet template", "DONE").await;
    let his = ivan.event("i").await;
    assert_eq!(his["task"]["title"], "New cover sheet template", "{his}");

    // What Greta received is what her inbox holds, on either instance.
    let inbox = b
        .post(&app, GRETA, "{ notifications { nodes { id } } }", json!({}))
        .await;
    let ids: Vec<&Value> = inbox["data"]["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&second["id"], &first["id"]], "{inbox}");
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_through_one_instance_closes_the_socket_on_the_other_with_4403() {
    let app = TestApp::demo().await;
    notify_ivan(&app).await;
    let a = Gateway::start(&app, &[]).await;
    let b = Gateway::start(&app, &[]).await;

    // A refused connection_init closes with 4403 too.
    let mut anonymous = Ws::open(&b.base, json!({})).await;
    assert_eq!(anonymous.closed().await.0, 4403);
    let mut forged = Ws::open(&b.base, json!({ "Authorization": "Bearer not-a-token" })).await;
    assert_eq!(
        forged.closed().await,
        (4403, "Forbidden: invalid_token".to_string())
    );

    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    greta.subscribe("1", EVENTS, json!({})).await;
    let mut ivan = Ws::of(&b.base, &app, IVAN).await;
    ivan.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (greta_id, ..) = app.user_id(GRETA).await;
    let r = a
        .post(
            &app,
            ADA,
            "mutation($u: ID!) { revokePortalAccess(externalUserId: $u) { id } }",
            json!({ "u": greta_id }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(
        greta.closed().await,
        (4403, "Forbidden: access_revoked".to_string())
    );

    // Ivan's socket stays open and live.
    set_status_via(&a, &app, "New cover sheet template", "DONE").await;
    assert_eq!(ivan.event("1").await["task"]["title"], "New cover sheet template");
    // And Greta cannot come back.
    let token = app.token(GRETA).await;
    let mut again = Ws::open(&b.base, json!({ "Authorization": format!("Bearer {token}") })).await;
    assert_eq!(
        again.closed().await,
        (4403, "Forbidden: access_revoked".to_string())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_change_through_one_instance_holds_on_the_others_open_subscription() {
    let app = TestApp::demo().await;
    let a = Gateway::start(&app, &[]).await;
    let b = Gateway::start(&app, &[]).await;
    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    greta.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    set_status_via(&a, &app, "Write launch copy", "DONE").await;
    assert_eq!(greta.event("1").await["task"]["status"], "DONE");

    // Through A, Clients lose the task field `status` and the notification
    // `status_changed`: the socket stays open, and what it shows changes at once.
    let role = app
        .id_where("roles", &format!("name = 'Clients' AND workspace_id = {ACME}"))
        .await;
    let r = a
        .post(
            &app,
            ADA,
            "query($r: ID!) { role(id: $r) { grants { module fields relations actions notifications } } }",
            json!({ "r": role }),
        )
        .await;
    let mut grants = r["data"]["role"]["grants"].clone();
    for g in grants.as_array_mut().unwrap() {
        if g["module"] == "tasks" {
            g["fields"] = json!(
                g["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| *f != "status")
                    .collect::<Vec<_>>()
            );
            g["notifications"] = json!(["created", "comment_added"]);
        }
    }
    let r = a
        .post(
            &app,
            ADA,
            "mutation($r: ID!, $g: [GrantInput!]!) { updateRole(id: $r, input: { grants: $g }) { id } }",
            json!({ "r": role, "g": grants }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");

    set_status_via(&a, &app, "Write launch copy", "OPEN").await; // no longer notified
    app.sql(&format!(
        "INSERT INTO tasks (id, workspace_id, project_id, title, status, priority, owner_id, internal) \
         SELECT gen_random_uuid(), {ACME}, p.id, 'Plan the launch party', 'OPEN', 'LOW', p.owner_id, false \
         FROM projects p WHERE p.name = 'Website Relaunch'"
    ))
    .await;
    let created = greta.event("1").await;
    assert_eq!(created["kind"], "TASK_CREATED", "{created}");
    assert_eq!(created["task"]["title"], "Plan the launch party");
    assert_eq!(
        created["task"]["status"],
        Value::Null,
        "the field is no longer granted"
    );

    // And B's next request agrees: the status change left her inbox.
    let inbox = b
        .post(
            &app,
            GRETA,
            "{ notifications { nodes { event { kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        inbox["data"]["notifications"]["nodes"],
        json!([{ "event": { "kind": "TASK_CREATED" } }]),
        "{inbox}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_replays_what_a_disconnected_client_missed_exactly_once() {
    let app = TestApp::demo().await;
    let a = Gateway::start(&app, &[]).await;
    let b = Gateway::start(&app, &[]).await;
    let mut greta = Ws::of(&a.base, &app, GRETA).await;
    greta.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_status_via(&a, &app, "Write launch copy", "DONE").await;
    let seen = greta.event("1").await;
    drop(greta);

    // Offline: two changes, one through each instance, and one she never receives.
    set_status_via(&b, &app, "Design new homepage", "DONE").await;
    set_status_via(&a, &app, "Set up staging server", "DONE").await;
    set_status_via(&a, &app, "Kick-off workshop", "OPEN").await;

    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    greta.subscribe("2", EVENTS, json!({ "after": seen["id"] })).await;
    assert_eq!(greta.event("2").await["task"]["title"], "Design new homepage");
    assert_eq!(greta.event("2").await["task"]["title"], "Kick-off workshop");
    // Then live events, none of the replayed ones again.
    set_status_via(&a, &app, "Write launch copy", "IN_PROGRESS").await;
    let live = greta.event("2").await;
    assert_eq!(live["task"]["status"], "IN_PROGRESS", "{live}");

    // An id that is unknown (or of another workspace) is refused: reload the inbox.
    greta
        .subscribe("3", EVENTS, json!({ "after": uuid::Uuid::now_v7() }))
        .await;
    let refused = greta.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "3");
    assert_eq!(
        codes(&json!({ "errors": refused["payload"] })),
        ["BAD_USER_INPUT"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_subscriber_delays_nobody_and_is_closed_with_4410() {
    let app = TestApp::demo().await;
    let b = Gateway::start(&app, &[("WS_QUEUE_EVENTS", "32")]).await;
    // Frank's roles name `tasks.notifications: created`. One of his clients stops
    // reading once subscribed, on a socket with a small receive buffer, so that the
    // server's sends back up.
    let created = "subscription { portalEvents { kind task { title description } } }";
    let stalled_tcp = {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(b.base.parse().unwrap()).await.unwrap()
    };
    let request = upgrade(&b.base);
    let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stalled_tcp))
        .await
        .unwrap();
    let mut stalled = Ws(socket);
    let token = app.token(FRANK).await;
    stalled
        .send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
        .await;
    assert_eq!(stalled.next().await["type"], "connection_ack");
    stalled.subscribe("slow", created, json!({})).await;

    let mut fast = Ws::of(&b.base, &app, FRANK).await;
    fast.subscribe("fast", created, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Batches the fast subscriber keeps up with; the stalled one falls behind for good.
    for batch in 0..25 {
        app.sql(&format!(
            "INSERT INTO tasks (id, workspace_id, project_id, title, description, status, priority, owner_id, internal) \
             SELECT gen_random_uuid(), {ACME}, p.id, 'Bulk task {batch}.' || g, repeat('x', 20000), 'OPEN', 'LOW', \
               p.owner_id, false \
             FROM projects p, generate_series(1, 16) g WHERE p.name = 'Website Relaunch'"
        ))
        .await;
        for _ in 0..16 {
            assert_eq!(fast.event("fast").await["kind"], "TASK_CREATED");
        }
    }
    // The stalled one was closed: what it had buffered, then 4410.
    assert_eq!(stalled.closed().await, (4410, "too slow".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_protocol_and_its_limits() {
    let app = TestApp::demo().await;
    let b = Gateway::start(
        &app,
        &[("WS_MAX_SUBSCRIPTIONS", "2"), ("WS_MAX_MESSAGE_BYTES", "4096")],
    )
    .await;

    // Subscribing before connection_init is 4401.
    let request = upgrade(&b.base);
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut early = Ws(socket);
    early.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(early.closed().await.0, 4401);

    // Without the subprotocol there is no socket.
    let plain = app
        .http
        .get(format!("http://{}/graphql/ws", b.base))
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);

    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    // A query over the socket: one answer, then complete.
    greta
        .subscribe(
            "q",
            "{ viewer { user { ... on ExternalUser { name } } } }",
            json!({}),
        )
        .await;
    let answer = greta.next().await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert_eq!(answer["payload"]["data"]["viewer"]["user"]["name"], "Greta");
    assert_eq!(greta.next().await, json!({ "type": "complete", "id": "q" }));
    // Ping, pong.
    greta.send(json!({ "type": "ping" })).await;
    assert_eq!(greta.next().await["type"], "pong");
    // Limits of the document apply as on HTTP.
    let deep = format!(
        "subscription {{ portalEvents {{ {} }} }}",
        "task { project { tasks { nodes { project { ".repeat(3) + &"} } } } }".repeat(3)
    );
    greta.subscribe("deep", &deep, json!({})).await;
    let refused = greta.next().await;
    assert_eq!(refused["type"], "error", "{refused}");

    greta.subscribe("1", EVENTS, json!({})).await;
    greta.subscribe("2", EVENTS, json!({})).await;
    greta.subscribe("3", EVENTS, json!({})).await;
    let refused = greta.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "3");
    assert_eq!(
        codes(&json!({ "errors": refused["payload"] })),
        ["BAD_USER_INPUT"]
    );
    // Completing one frees its place.
    greta.send(json!({ "type": "complete", "id": "2" })).await;
    greta.subscribe("3", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.sql("UPDATE tasks SET status = 'DONE' WHERE title = 'Write launch copy'")
        .await;
    let mut ids = vec![greta.next().await["id"].clone(), greta.next().await["id"].clone()];
    ids.sort_by_key(|v| v.to_string());
    assert_eq!(ids, [json!("1"), json!("3")]);

    // Staff have no portal events.
    let mut sam = Ws::of(&b.base, &app, SAM).await;
    sam.subscribe("1", EVENTS, json!({})).await;
    let refused = sam.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(codes(&json!({ "errors": refused["payload"] })), ["FORBIDDEN"]);

    // A subscription id in use closes with 4409.
    greta.subscribe("1", EVENTS, json!({})).await;
    assert_eq!(greta.closed().await.0, 4409);

    // A message over WS_MAX_MESSAGE_BYTES closes the socket.
    let mut big = Ws::of(&b.base, &app, GRETA).await;
    big.send(json!({ "type": "ping", "payload": { "x": "y".repeat(8192) } }))
        .await;
    assert_eq!(big.closed().await.0, 1009);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_listener_loses_nothing_and_reconnects_by_itself() {
    let app = TestApp::demo().await;
    let a = Gateway::start(&app, &[]).await;
    let b = Gateway::start(&app, &[]).await;
    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    greta.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_status_via(&a, &app, "Write launch copy", "DONE").await;
    assert_eq!(greta.event("1").await["task"]["title"], "Write launch copy");

    let listeners = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{}' \
         AND application_name = 'portal-gateway-listener'",
        app.database
    );
    // One listener per instance (the test's own in-process server has one too).
    let instances = app.count(&listeners).await;
    assert_eq!(instances, 3, "one listener per instance");
    app.admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' \
         AND application_name = 'portal-gateway-listener'",
        app.database
    ))
    .await;
    // While they are down: changes keep their events, and decisions stay right.
    set_status_via(&a, &app, "Design new homepage", "DONE").await;
    app.sql("UPDATE tasks SET status = 'OPEN' WHERE title = 'Kick-off workshop'")
        .await;
    set_status_via(&a, &app, "Set up staging server", "DONE").await; // internal

    // They come back by themselves, and what was missed arrives in order, once.
    assert_eq!(greta.event("1").await["task"]["title"], "Design new homepage");
    assert_eq!(greta.event("1").await["task"]["title"], "Kick-off workshop");
    set_status_via(&b, &app, "Write launch copy", "OPEN").await;
    let live = greta.event("1").await;
    assert_eq!(live["task"]["title"], "Write launch copy");
    assert_eq!(live["task"]["status"], "OPEN");
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.count(&listeners).await != instances {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listeners did not return"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn under_trusted_documents_the_socket_runs_only_the_manifests_documents() {
    let app = TestApp::demo().await;
    let listed = "subscription Listed { portalEvents { kind task { title } } }";
    let id = {
        use sha2::Digest;
        sha2::Sha256::digest(listed.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let path = std::env::temp_dir().join(format!("live-manifest-{}.json", uuid::Uuid::now_v7()));
    let manifest = json!({ "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{ "id": id, "name": "Listed", "type": "subscription", "body": listed }] });
    std::fs::write(&path, manifest.to_string()).unwrap();
    let b = Gateway::start(&app, &[("TRUSTED_DOCUMENTS", path.to_str().unwrap())]).await;

    let mut greta = Ws::of(&b.base, &app, GRETA).await;
    // A document that is not in the manifest is refused, subscription or query.
    greta.subscribe("1", EVENTS, json!({})).await;
    let refused = greta.next().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(
        codes(&json!({ "errors": refused["payload"] })),
        ["PERSISTED_QUERY_NOT_IN_LIST"]
    );
    greta
        .subscribe("2", "{ viewer { user { __typename } } }", json!({}))
        .await;
    let refused = greta.next().await;
    assert_eq!(
        codes(&json!({ "errors": refused["payload"] })),
        ["PERSISTED_QUERY_NOT_IN_LIST"],
        "{refused}"
    );

    // The listed one, named by its hash, runs.
    greta
        .send(json!({ "type": "subscribe", "id": "3", "payload": {
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } } } }))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.sql("UPDATE tasks SET status = 'DONE' WHERE title = 'Write launch copy'")
        .await;
    let m = greta.next().await;
    assert_eq!(m["id"], "3", "{m}");
    assert_eq!(
        m["payload"]["data"]["portalEvents"]["task"]["title"],
        "Write launch copy"
    );
    let _ = std::fs::remove_file(path);
}
