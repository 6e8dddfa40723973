//! `/graphql/ws`: GraphQL over WebSocket, the graphql-transport-ws protocol
//! (docs/api.md#subscriptions).
//!
//! The token comes in `connection_init`; a refused one closes with 4403. Every event is
//! decided when it is delivered, with the user's grants of that moment (through the
//! same gate, loaders and resolvers as a query), so a role change holds on an open
//! subscription and a revocation closes the socket with 4403. A subscriber whose queue
//! overflows is closed with 4410 `too slow` and resumes with `portalEvents(after:)`.
//!
//! The protocol is served here rather than by async-graphql's own state machine, which
//! closes a refused `connection_init` with 1002, replaces a subscription whose id is
//! taken, and resolves every event with the grants of the subscription's start.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use futures_util::stream::{SelectAll, SplitSink, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream_adapter::Tagged;

use super::App;
use async_graphql::parser::types::OperationType;

use crate::access::Access;
use crate::auth::{self, Claims, Identity};
use crate::error::{AuthFailure, Error};
use crate::events::hub::{Connection, Control, Event};
use crate::graphql::{self, Delivery, Start};

/// The only subprotocol served.
const PROTOCOL: &str = "graphql-transport-ws";

/// How long a client has to send `connection_init` (the protocol's 4408 after it).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing frame may take to leave before the connection is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Events read from the inbox at once when a subscription resumes.
const REPLAY_BATCH: i64 = 500;

/// The upgrade: only for clients that ask for graphql-transport-ws.
pub(super) async fn upgrade(
    State(app): State<App>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !offers_protocol(&headers) {
        return (
            StatusCode::BAD_REQUEST,
            format!("ask for the {PROTOCOL} subprotocol (Sec-WebSocket-Protocol)"),
        )
            .into_response();
    }
    let max = app.config.live.max_message_bytes;
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve(app, socket))
}

fn offers_protocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL)
}

/// What a client sends (graphql-transport-ws).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Incoming {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    Subscribe {
        id: String,
        payload: Value,
    },
    Complete {
        id: String,
    },
}

/// Why the server closes.
struct Closing(u16, String);

impl Closing {
    fn new(code: u16, reason: impl Into<String>) -> Closing {
        Closing(code, reason.into())
    }

    /// 4403, with the reason a token or a caller was refused (`invalid_token`, …).
    fn forbidden(failure: AuthFailure) -> Closing {
        Closing::new(4403, format!("Forbidden: {}", failure.reason()))
    }
}

type Sink = SplitSink<WebSocket, Message>;

/// One socket's life: `connection_init`, then subscriptions until either side closes.
async fn serve(app: App, socket: WebSocket) {
    let (mut sink, mut incoming) = socket.split();
    let closing = match accept(&app, &mut sink, &mut incoming).await {
        Ok(session) => session.run(&mut sink, &mut incoming).await,
        Err(closing) => Some(closing),
    };
    if let Some(Closing(code, reason)) = closing {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(frame)).await;
    }
}

/// Waits for `connection_init` and decides who is calling; `Err` is how to close.
async fn accept(
    app: &App,
    sink: &mut Sink,
    incoming: &mut futures_util::stream::SplitStream<WebSocket>,
) -> Result<Session, Closing> {
    let deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
    loop {
        let message = tokio::time::timeout_at(deadline, incoming.next())
            .await
            .map_err(|_| Closing::new(4408, "Connection initialisation timeout"))?;
        let Some(Ok(message)) = message else {
            return Err(Closing::new(1000, "closed"));
        };
        let text = match message {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            Message::Close(_) => return Err(Closing::new(1000, "closed")),
            _ => continue,
        };
        match serde_json::from_str::<Incoming>(&text) {
            Ok(Incoming::ConnectionInit { payload }) => {
                let session = Session::open(app, payload.as_ref()).await?;
                send(sink, json!({ "type": "connection_ack" }))
                    .await
                    .map_err(|_| Closing::new(1000, "closed"))?;
                return Ok(session);
            }
            Ok(Incoming::Ping { payload }) => {
                let _ = send(sink, pong(payload)).await;
            }
            Ok(Incoming::Pong {}) => {}
            Ok(Incoming::Subscribe { .. } | Incoming::Complete { .. }) => {
                return Err(Closing::new(4401, "Unauthorized"));
            }
            Err(_) => return Err(Closing::new(4400, "Invalid message received")),
        }
    }
}

fn pong(payload: Option<Value>) -> Value {
    match payload {
        Some(p) => json!({ "type": "pong", "payload": p }),
        None => json!({ "type": "pong" }),
    }
}

async fn send(sink: &mut Sink, message: Value) -> Result<(), axum::Error> {
    sink.send(Message::Text(message.to_string().into())).await
}

/// The bearer token of a `connection_init` payload: `Authorization` (any case, or under
/// `headers`) as `Bearer …`, or `token`.
fn token_of(payload: Option<&Value>) -> Option<String> {
    let payload = payload?.as_object()?;
    let headers = payload.get("headers").and_then(Value::as_object);
    let authorization = payload
        .iter()
        .chain(headers.into_iter().flatten())
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.as_str());
    match authorization {
        Some(value) => auth::bearer(Some(value)).map(str::to_string),
        None => payload.get("token").and_then(Value::as_str).map(str::to_string),
    }
}

/// A subscription of this socket.
struct Subscription {
    /// The hub's key for its queue.
    key: u64,
    /// Its document, run again for each event.
    document: Document,
    /// The number of the last event delivered: none at or before it is delivered again.
    last_seq: i64,
}

/// A subscription's document as it starts: resolved (persisted documents) and parsed
/// once, so that each delivery neither reads the client's message nor parses it again.
struct Document {
    query: String,
    operation_name: Option<String>,
    variables: async_graphql::Variables,
    parsed: Option<async_graphql::parser::types::ExecutableDocument>,
}

impl Document {
    fn of(request: &mut async_graphql::Request) -> Document {
        Document {
            parsed: request.parsed_query().ok().cloned(),
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
        }
    }

    /// A request of this document, for one delivery.
    fn request(&self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query.clone()).variables(self.variables.clone());
        request.operation_name = self.operation_name.clone();
        if let Some(parsed) = &self.parsed {
            request.set_parsed_query(parsed.clone());
        }
        request
    }
}

/// An accepted socket: who is calling, and their subscriptions.
struct Session {
    app: App,
    claims: Claims,
    workspace_id: uuid::Uuid,
    live: Connection,
    subscriptions: HashMap<String, Subscription>,
    queues: SelectAll<Tagged>,
    next_key: u64,
}

impl Session {
    async fn open(app: &App, payload: Option<&Value>) -> Result<Session, Closing> {
        let token = token_of(payload).ok_or_else(|| Closing::forbidden(AuthFailure::MissingToken))?;
        let claims = app.tokens.verify(&token).await.map_err(Closing::forbidden)?;
        let (access, _) = decide(app, &claims)
            .await
            .map_err(|_| unavailable())?
            .ok_or_else(|| Closing::forbidden(AuthFailure::AccessRevoked))?;
        let workspace_id = access.caller().workspace_id();
        let user_id = claims.sub;
        Ok(Session {
            app: app.clone(),
            claims,
            workspace_id,
            live: app.hub.connect(workspace_id, user_id),
            subscriptions: HashMap::new(),
            queues: SelectAll::new(),
            next_key: 0,
        })
    }

    /// Serves the socket until it closes; answers how to close, if the server does.
    async fn run(
        mut self,
        sink: &mut Sink,
        incoming: &mut futures_util::stream::SplitStream<WebSocket>,
    ) -> Option<Closing> {
        loop {
            tokio::select! {
                biased;
                control = self.live.controls.recv() => match control {
                    Some(Control::Close(code, reason)) => return Some(Closing::new(code, reason)),
                    Some(Control::Recheck) | None => {
                        let _turn = self.app.hub.turn().await;
                        if let Err(closing) = self.caller().await {
                            return Some(closing);
                        }
                    }
                },
                message = incoming.next() => {
                    let text = match message {
                        Some(Ok(Message::Text(t))) => t.to_string(),
                        Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                        Some(Ok(Message::Close(_))) | None => return None,
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Some(Closing::new(1009, too_big_or(e))),
                    };
                    if let Err(closing) = self.receive(sink, &text).await {
                        return Some(closing);
                    }
                }
                Some((key, event)) = self.queues.next() => {
                    if let Err(closing) = self.deliver(sink, key, event).await {
                        return Some(closing);
                    }
                }
            }
        }
    }

    async fn receive(&mut self, sink: &mut Sink, text: &str) -> Result<(), Closing> {
        let closed = |_| Closing::new(1000, "closed");
        match serde_json::from_str::<Incoming>(text) {
            Err(_) => Err(Closing::new(4400, "Invalid message received")),
            Ok(Incoming::ConnectionInit { .. }) => {
                Err(Closing::new(4429, "Too many initialisation requests"))
            }
            Ok(Incoming::Ping { payload }) => send(sink, pong(payload)).await.map_err(closed),
            Ok(Incoming::Pong {}) => Ok(()),
            Ok(Incoming::Complete { id }) => {
                if let Some(s) = self.subscriptions.remove(&id) {
                    self.live.unsubscribe(s.key);
                }
                Ok(())
            }
            Ok(Incoming::Subscribe { id, payload }) => self.subscribe(sink, id, payload).await,
        }
    }

    /// The caller now, or how to close: 4403 once their token has expired or their
    /// portal access is revoked.
    async fn caller(&self) -> Result<(Arc<Access>, Identity), Closing> {
        let expired = self.claims.exp + (auth::LEEWAY_SECS as i64) < chrono::Utc::now().timestamp();
        if expired {
            return Err(Closing::forbidden(AuthFailure::ExpiredToken));
        }
        match decide(&self.app, &self.claims).await {
            Ok(Some((access, identity))) if access.caller().workspace_id() == self.workspace_id => {
                Ok((access, identity))
            }
            Ok(_) => Err(Closing::forbidden(AuthFailure::AccessRevoked)),
            Err(_) => Err(unavailable()),
        }
    }

    async fn subscribe(&mut self, sink: &mut Sink, id: String, payload: Value) -> Result<(), Closing> {
        let closed = |_| Closing::new(1000, "closed");
        if self.subscriptions.contains_key(&id) {
            return Err(Closing::new(4409, format!("Subscriber for {id} already exists")));
        }
        let max = self.app.config.live.max_subscriptions;
        if self.subscriptions.len() >= max {
            let error = Error::Limit {
                what: "subscriptions on one connection",
                key: "subscriptions",
                figure: self.subscriptions.len() as u64 + 1,
                limit: max as u64,
            };
            let response = async_graphql::Response::from_errors(vec![coded(error)]);
            return send(sink, error_message(&id, &response)).await.map_err(closed);
        }
        let Ok(request) = serde_json::from_value::<async_graphql::Request>(payload) else {
            return Err(Closing::new(4400, "Invalid message received"));
        };
        // Persisted documents as over HTTP (docs/operations.md): under trusted documents
        // only the manifest's documents run; an automatic persisted query is looked up.
        let mut batch = async_graphql::BatchRequest::Single(request);
        self.app.documents.resolve(Some(self.workspace_id), &mut batch);
        self.app.parsed.attach(&mut batch);
        let Ok(mut request) = batch.into_single() else {
            return Err(Closing::new(4400, "Invalid message received"));
        };
        let caller = self.caller().await?;
        // What does not parse, or was refused, runs as a request, which answers its errors.
        let is_subscription = crate::audit::operation_type(&mut request) == Some(OperationType::Subscription);
        if !is_subscription {
            // A query or mutation over the socket: one answer, then `complete`.
            // Over the socket everything reads from the primary (docs/operations.md#read-replica).
            let response = graphql::execute(
                &self.app.schema,
                Some(caller),
                &self.app.pool,
                &self.app.pool,
                &self.app.audit,
                async_graphql::BatchRequest::Single(request),
            )
            .await;
            let async_graphql::BatchResponse::Single(response) = response else {
                return Ok(());
            };
            let is_next = message_is_next(&response);
            let message = if is_next {
                next_message(&id, &response)
            } else {
                error_message(&id, &response)
            };
            send(sink, message).await.map_err(closed)?;
            if is_next {
                send(sink, json!({ "type": "complete", "id": id }))
                    .await
                    .map_err(closed)?;
            }
            return Ok(());
        }
        // Listen first, then read what was missed: nothing falls between the two.
        self.next_key += 1;
        let key = self.next_key;
        let queue = self.live.subscribe(key);
        let document = Document::of(&mut request);
        let start = Start::default();
        let refused = graphql::run_live(
            &self.app.schema,
            caller.clone(),
            &self.app.pool,
            &self.app.audit,
            request,
            start.clone(),
        )
        .await;
        if let Some(response) = refused {
            self.live.unsubscribe(key);
            return send(sink, error_message(&id, &response)).await.map_err(closed);
        }
        let mut subscription = Subscription {
            key,
            document,
            last_seq: 0,
        };
        if let Some(after) = start.after() {
            subscription.last_seq = after;
            self.replay(sink, &id, &mut subscription, caller).await?;
        }
        self.subscriptions.insert(id.clone(), subscription);
        self.queues.push(Tagged::new(key, queue));
        Ok(())
    }

    /// What the caller missed since `after`: their inbox as it is now, oldest first.
    async fn replay(
        &mut self,
        sink: &mut Sink,
        id: &str,
        subscription: &mut Subscription,
        caller: (Arc<Access>, Identity),
    ) -> Result<(), Closing> {
        let Some(inbox) = graphql::inbox(&caller.0) else {
            return Ok(());
        };
        loop {
            let batch = match self.app.pool.get().await {
                Ok(mut conn) => {
                    crate::db::queries::inbox_after(&mut conn, &inbox, subscription.last_seq, REPLAY_BATCH)
                        .await
                }
                Err(_) => {
                    return Err(unavailable());
                }
            };
            let Ok(batch) = batch else {
                return Err(unavailable());
            };
            let done = (batch.len() as i64) < REPLAY_BATCH;
            for event in batch {
                let response = {
                    let _turn = self.app.hub.turn().await;
                    self.render(subscription, caller.clone(), Arc::new(event)).await
                };
                self.send_response(sink, id, response).await?;
            }
            if done {
                return Ok(());
            }
        }
    }

    /// A live event for the subscription `key`: delivered when it reaches the caller
    /// now, and not delivered before.
    async fn deliver(&mut self, sink: &mut Sink, key: u64, event: Event) -> Result<(), Closing> {
        let Some((id, mut subscription)) = self
            .subscriptions
            .iter()
            .find(|(_, s)| s.key == key)
            .map(|(id, _)| id.clone())
            .and_then(|id| self.subscriptions.remove_entry(&id))
        else {
            return Ok(());
        };
        let result = self.deliver_to(sink, &id, &mut subscription, event).await;
        self.subscriptions.insert(id, subscription);
        result
    }

    async fn deliver_to(
        &mut self,
        sink: &mut Sink,
        id: &str,
        subscription: &mut Subscription,
        event: Event,
    ) -> Result<(), Closing> {
        if event.seq <= subscription.last_seq {
            return Ok(());
        }
        let response = {
            // The turn covers the database work, never the send to a slow socket.
            let _turn = self.app.hub.turn().await;
            let caller = self.caller().await?;
            let Some(inbox) = graphql::inbox(&caller.0) else {
                return Ok(());
            };
            let mut conn = self.app.pool.get().await.map_err(|_| unavailable())?;
            let reaches = crate::db::queries::inbox_holds(&mut conn, &inbox, event.id)
                .await
                .map_err(|_| unavailable())?;
            drop(conn);
            if !reaches {
                subscription.last_seq = event.seq;
                return Ok(());
            }
            self.render(subscription, caller, event).await
        };
        self.send_response(sink, id, response).await
    }

    /// Resolves `event` as the subscription's document asks, for `caller`.
    async fn render(
        &self,
        subscription: &mut Subscription,
        caller: (Arc<Access>, Identity),
        event: Event,
    ) -> Option<async_graphql::Response> {
        subscription.last_seq = subscription.last_seq.max(event.seq);
        let request = subscription.document.request();
        graphql::run_live(
            &self.app.schema,
            caller,
            &self.app.pool,
            &self.app.audit,
            request,
            Delivery(event),
        )
        .await
    }

    async fn send_response(
        &self,
        sink: &mut Sink,
        id: &str,
        response: Option<async_graphql::Response>,
    ) -> Result<(), Closing> {
        let Some(response) = response else { return Ok(()) };
        send(sink, next_message(id, &response))
            .await
            .map_err(|_| Closing::new(1000, "closed"))
    }
}

fn unavailable() -> Closing {
    Closing::new(1011, "the database is unavailable; try again shortly")
}

/// The caller a verified token names, judged now (through the fenced grants cache, as
/// a request's caller is); `None` when they may not use the portal.
async fn decide(app: &App, claims: &Claims) -> crate::error::Result<Option<(Arc<Access>, Identity)>> {
    let mut conn = app.pool.get().await?;
    Ok(app
        .grants
        .access(&mut conn, claims)
        .await?
        .map(|(access, identity)| (Arc::new(access), identity)))
}

fn coded(error: Error) -> async_graphql::ServerError {
    let mut e = graphql::server_error(error);
    graphql::errors_with_code(&mut e);
    e
}

fn message_is_next(response: &async_graphql::Response) -> bool {
    response.data != async_graphql::Value::Null || response.errors.is_empty()
}

fn next_message(id: &str, response: &async_graphql::Response) -> Value {
    json!({ "type": "next", "id": id, "payload": response })
}

fn error_message(id: &str, response: &async_graphql::Response) -> Value {
    json!({ "type": "error", "id": id, "payload": response.errors })
}

fn too_big_or(e: axum::Error) -> String {
    let text = e.to_string();
    if text.contains("too long") || text.contains("Space limit") || text.contains("size") {
        "message too big".into()
    } else {
        "invalid frame".into()
    }
}

mod tokio_stream_adapter {
    //! A subscription's queue as a stream of `(key, event)`, for `SelectAll`.

    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::sync::mpsc;

    use crate::events::hub::Event;

    pub struct Tagged {
        key: u64,
        queue: mpsc::Receiver<Event>,
    }

    impl Tagged {
        pub fn new(key: u64, queue: mpsc::Receiver<Event>) -> Tagged {
            Tagged { key, queue }
        }
    }

    impl futures_util::Stream for Tagged {
        type Item = (u64, Event);

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let key = self.key;
            self.queue.poll_recv(cx).map(|e| e.map(|e| (key, e)))
        }
    }
}
