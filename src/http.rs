//! HTTP routes: `/` (GraphiQL), `/graphql` (GET and POST, batches), `/schema.graphql`, `/healthz`,
//! `/readyz`, and in development `/dev/personas`. Metrics are on their own listener
//! ([`crate::metrics`]), never here.
//!
//! `/graphql` speaks GraphQL over HTTP (docs/api.md#requests): the answer's media type is negotiated
//! ([`media`]), the request's parameters are read by [`params`] and its body by [`body`],
//! and under `application/graphql-response+json` the status tells a request error (4xx,
//! no `data`) from an executed operation (200).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

mod body;
mod media;
mod params;
mod ws;

use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::{BatchRequest, BatchResponse, ServerError};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::audit::{AuditSink, AuditWriter, Refused, RequestAudit};
use crate::auth::{self, Claims, TokenKind, Tokens};
use crate::config::Config;
use crate::db::replica::{Replica, Route};
use crate::db::{DbPool, StatementCounter, queries};
use crate::error::Error;
use crate::graphql::persisted::PersistedDocuments;
use crate::graphql::{self, Execution, PortalSchema};
use crate::rate::{CallerKey, RateLimiter};
use media::Media;

pub struct AppState {
    pub schema: PortalSchema,
    pub pool: DbPool,
    pub tokens: Tokens,
    pub config: Config,
    pub statements: StatementCounter,
    pub requests: AtomicU64,
    pub audit: AuditSink,
    pub rate: RateLimiter,
    /// Turns to execute (`EXECUTIONS_IN_FLIGHT`): a request waits for one after its
    /// caller's own limits and holds it until its answer is written.
    pub executions: Arc<tokio::sync::Semaphore>,
    pub documents: PersistedDocuments,
    /// The documents this instance has parsed, by their text (`graphql::parsed`).
    pub parsed: crate::graphql::parsed::ParsedDocuments,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This instance's WebSocket subscriptions.
    pub hub: crate::events::hub::Hub,
    /// Callers' grants, kept honest by the listener (docs/operations.md#grants-cache).
    pub grants: Arc<auth::cache::GrantsCache>,
    /// The listener's task, stopped when the state is dropped.
    pub listener: crate::events::listener::Listener,
    /// The streaming replica that queries may read from (`DATABASE_READ_URL`).
    pub replica: Option<Arc<Replica>>,
}

pub type App = Arc<AppState>;

impl AppState {
    /// The state of a server, and the audit writer to finish on shutdown. The writer
    /// has its own two connections, so that audit never waits for (nor is counted with)
    /// the reads.
    pub fn new(
        config: Config,
        pool: DbPool,
        statements: StatementCounter,
    ) -> anyhow::Result<(App, AuditWriter)> {
        let documents = match &config.trusted_documents {
            Some(path) => PersistedDocuments::trusted(path)?,
            None => PersistedDocuments::automatic(config.apq_cache_bytes),
        };
        // Small pools of their own (probes, the audit writer, the hub): not counted with,
        // nor waiting behind, the requests' statements.
        let side_pool = |url: &str, size: usize| {
            crate::db::pool_through(
                url,
                config.pooler,
                size,
                config.acquire_timeout,
                &StatementCounter::default(),
            )
        };
        let replica = match &config.database_read_url {
            Some(url) => {
                let reads = crate::db::pool_through(
                    url,
                    config.pooler,
                    config.pool_size,
                    config.acquire_timeout,
                    &statements,
                )?;
                Some(Replica::start(
                    reads,
                    side_pool(url, 1)?,
                    side_pool(&config.database_url, 1)?,
                    config.read_max_lag,
                ))
            }
            None => None,
        };
        let (audit, writer) = AuditSink::start(side_pool(&config.database_url, 2)?);
        let rate = config.limits.rate;
        // The hub reads each committed event once for all its subscribers.
        let hub = crate::events::hub::Hub::start(
            side_pool(&config.database_url, 2)?,
            config.live,
            config.pool_size.div_ceil(2),
        );
        let grants = Arc::new(auth::cache::GrantsCache::new(config.grants_cache));
        let listener = crate::events::listener::spawn(config.listen_url(), grants.clone(), hub.clone());
        let mut metrics = crate::metrics::Metrics::new(pool.clone(), audit.clone(), statements.clone())
            .with_grants_cache(grants.lookups());
        if let Some(replica) = &replica {
            metrics = metrics.with_replica(replica.clone());
        }
        let metrics = Arc::new(metrics);
        let state = AppState {
            metrics,
            rate: RateLimiter::new(rate, rate.in_flight as usize),
            executions: Arc::new(tokio::sync::Semaphore::new(config.executions_in_flight.max(1))),
            schema: graphql::build_schema(config.limits),
            tokens: Tokens::from_config(&config)?,
            pool,
            config,
            statements,
            requests: AtomicU64::new(0),
            audit,
            documents,
            parsed: Default::default(),
            hub,
            grants,
            listener,
            replica,
        };
        Ok((Arc::new(state), writer))
    }
}

/// The routes, and what every answer gets on its way out (docs/api.md#requests): CORS for the
/// allowed origins, compression of 1 KiB and more, `X-Content-Type-Options: nosniff`.
pub fn router(state: App) -> Router {
    let observed =
        axum::middleware::from_fn_with_state(state.metrics.clone(), crate::metrics::request::observe);
    let cors = cors(&state.config.cors_allowed_origins);
    Router::new()
        .route("/", get(playground))
        .route(
            "/playground/{file}",
            get(playground_asset).layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                // Fingerprinted names: their content never changes.
                |r: &Response| {
                    r.status()
                        .is_success()
                        .then(|| HeaderValue::from_static("public, max-age=31536000, immutable"))
                },
            )),
        )
        .route("/graphql/ws", get(ws::upgrade))
        .route(
            "/graphql",
            get(graphql_http)
                .post(graphql_http)
                .fallback(graphql_method_not_allowed)
                .layer(observed),
        )
        .route("/schema.graphql", get(schema_sdl))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/dev/personas",
            get(personas).layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            )),
        )
        .with_state(state)
        .layer(
            CompressionLayer::new().compress_when(
                SizeAbove::new(1024)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE),
            ),
        )
        .layer(cors)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// Browser pages of the allowed origins may call the API with a bearer token (no
/// cookies, so no credentials mode); preflights are answered for every origin, with the
/// CORS headers only for allowed ones.
fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static(auth::preview::USER),
            HeaderName::from_static(auth::preview::ROLES),
            HeaderName::from_static(auth::preview::ACCOUNT),
        ])
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(Duration::from_secs(600))
}

/// The page is revalidated on every load, so that it names the current assets.
async fn playground() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, crate::playground::CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        crate::playground::INDEX.as_str(),
    )
}

/// The schema the server serves, as SDL (also committed as `schema.graphql`).
async fn schema_sdl(State(app): State<App>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::graphql::sdl_of(&app.schema),
    )
}

async fn playground_asset(Path(file): Path<String>) -> Response {
    match crate::playground::asset(&file) {
        Some((mime, body)) => ([(header::CONTENT_TYPE, mime)], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Ready when the database answers within a second (a pool that cannot hand out a
/// connection, or a database that went away, is not ready).
async fn readyz(State(app): State<App>) -> Response {
    let ping = async {
        match app.pool.get().await {
            Ok(mut conn) => queries::ping(&mut conn).await.is_ok(),
            Err(_) => false,
        }
    };
    let ready = tokio::time::timeout(std::time::Duration::from_secs(1), ping)
        .await
        .unwrap_or(false);
    if ready {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

/// The demo personas with fresh tokens, for the playground's switcher. Development only.
async fn personas(State(app): State<App>) -> Response {
    if !app.config.dev_mode {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut out = Vec::new();
    let Ok(mut conn) = app.pool.get().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    for (email, name, kind, roles) in crate::seed::PERSONAS {
        if let Ok(Some((id, ws, staff))) = queries::user_id_by_email(&mut conn, email).await {
            let token_kind = if staff {
                TokenKind::Staff
            } else {
                TokenKind::External
            };
            let claims = Claims::issued_now(id, token_kind, ws, chrono::Duration::hours(12));
            out.push(serde_json::json!({
                "email": email, "name": name, "kind": kind, "roles": roles, "token": app.tokens.mint(&claims),
            }));
        }
    }
    Json(out).into_response()
}

/// The room an answer is written into at first: a dashboard's answer (25 KB) fits, and
/// a small answer holds it only until it is sent. From serde's 128 bytes, the
/// dashboard's answer was copied eight times as it grew.
const ANSWER_ROOM: usize = 32 << 10;

/// An answer in the negotiated media type.
fn json_answer(media: Media, status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut bytes = Vec::with_capacity(ANSWER_ROOM);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => (status, [(header::CONTENT_TYPE, media.content_type())], bytes).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "an answer did not serialize");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A request that is not a GraphQL request the server can run (malformed body or
/// parameters, wrong method, media type or size): this status under either media type,
/// one error, no `data`.
fn request_error(media: Media, status: StatusCode, message: &str, field: Option<&str>) -> Response {
    let mut extensions = serde_json::json!({ "code": "BAD_USER_INPUT" });
    if let Some(field) = field {
        extensions["field"] = field.into();
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] });
    json_answer(media, status, &body)
}

fn invalid(media: Media, e: params::Invalid) -> Response {
    request_error(media, StatusCode::BAD_REQUEST, &e.message, e.field)
}

/// `POST /graphql` and `GET /graphql` (GraphQL over HTTP, docs/api.md#requests). Answers to
/// authenticated requests are never stored by a cache.
async fn graphql_http(State(app): State<App>, request: Request) -> Response {
    app.requests.fetch_add(1, Ordering::Relaxed);
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = graphql_answer(&app, request).await;
    if authenticated {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn graphql_answer(app: &AppState, request: Request) -> Response {
    let Some(media) = Media::negotiate(request.headers()) else {
        return request_error(
            Media::Json,
            StatusCode::NOT_ACCEPTABLE,
            "the server answers in application/graphql-response+json or application/json: accept one of them",
            None,
        );
    };
    let headers = request.headers().clone();
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let read_only = matches!(*request.method(), Method::GET | Method::HEAD);
    let mut batch = match parse_request(app, request, media).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    // Who is asking, as far as the token says: the key of their bucket, and whom to
    // audit a refusal under. Verifying a signature costs no database work.
    // Verified once: `caller` decides on the same result.
    let verified = match auth::bearer(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())) {
        Some(t) => Some(app.tokens.verify(t).await),
        None => None,
    };
    let claims = verified.clone().and_then(Result::ok);
    let key = match (&claims, address) {
        (Some(c), _) => CallerKey::User(c.sub),
        (None, Some(ip)) => CallerKey::Address(ip),
        (None, None) => CallerKey::Address(std::net::Ipv4Addr::UNSPECIFIED.into()),
    };
    let _admitted = match app.rate.admit(key).await {
        Ok(admitted) => admitted,
        Err(wait) => {
            let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let refusal = Error::RateLimited { retry_after_secs };
            audit_refusal(app, claims.as_ref(), &headers, &batch, &refusal).await;
            let mut response = refused(media, refusal);
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
    };
    app.documents.resolve(claims.as_ref().map(|c| c.ws), &mut batch);
    // Judged on the document that will run, a persisted one included. The check needs
    // the parse, so a GET's document is parsed (or found parsed) here, once; the others'
    // within their turn below.
    if read_only {
        app.parsed.attach(&mut batch);
        if batch.iter_mut().any(selects_mutation) {
            let mut response = request_error(
                media,
                StatusCode::METHOD_NOT_ALLOWED,
                "a mutation cannot run over GET: send it in a POST",
                None,
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
    }
    // A turn to execute, waited for in arrival order for at most the request's time
    // (the execution then has its own).
    let timeout = app.config.limits.request_timeout;
    let _turn = match tokio::time::timeout(timeout, app.executions.clone().acquire_owned()).await {
        Ok(Ok(turn)) => (turn, crate::alloc::Executing::start()),
        // The semaphore is never closed; only the wait can run out.
        Ok(Err(_)) | Err(_) => return refused(media, Error::Timeout(timeout.as_millis() as u64)),
    };
    // Parsed (or found parsed) within the turn, so that requests waiting for one hold
    // their text only.
    if !read_only {
        app.parsed.attach(&mut batch);
    }
    let caller = match caller(app, &headers, verified).await {
        Ok(c) => c,
        Err(e) => {
            audit_refusal(app, claims.as_ref(), &headers, &batch, &e).await;
            return refused(media, e);
        }
    };
    let executions: Vec<Execution> = batch
        .iter_mut()
        .map(|op| {
            let execution = Execution::default();
            op.data.insert(execution.clone());
            execution
        })
        .collect();
    // A batch with a mutation reads from the primary: its queries see its writes.
    let writes = app.replica.is_some() && batch.iter_mut().any(selects_mutation);
    let user = claims.as_ref().map(|c| c.sub);
    let reads = match &app.replica {
        Some(replica) if !writes => match replica.route(user).await {
            Route::Replica => replica.pool(),
            Route::Primary => &app.pool,
        },
        _ => &app.pool,
    };
    let response = graphql::execute(&app.schema, caller, &app.pool, reads, &app.audit, batch).await;
    if let (Some(replica), Some(user), true) = (&app.replica, user, writes) {
        replica.wrote(user).await;
    }
    match response {
        BatchResponse::Single(r) => {
            let executed = executions.first().is_some_and(Execution::started);
            answer(media, r, executed)
        }
        BatchResponse::Batch(rs) => {
            let answers: Vec<AnswerBody> = rs
                .iter()
                .zip(&executions)
                .map(|(r, e)| answer_body(media, r, e.started()))
                .collect();
            json_answer(media, StatusCode::OK, &answers)
        }
    }
}

/// One operation's answer. Under `application/json` it is always 200 (the legacy
/// behaviour clients rely on); under `application/graphql-response+json` an operation
/// that never started executing (a request error: parse, validation, variables,
/// operation choice, a limit, a refusal) has no `data` and a 4xx that says why.
fn answer(media: Media, r: async_graphql::Response, executed: bool) -> Response {
    let body = answer_body(media, &r, executed);
    if media == Media::Json || executed {
        let status = match code(&r) {
            Some("RATE_LIMITED") => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::OK,
        };
        return json_answer(media, status, &body);
    }
    let status = match code(&r) {
        Some("UNAUTHENTICATED") => StatusCode::UNAUTHORIZED,
        Some("FORBIDDEN") => StatusCode::FORBIDDEN,
        Some("RATE_LIMITED") => StatusCode::TOO_MANY_REQUESTS,
        Some("TIMEOUT") => StatusCode::GATEWAY_TIMEOUT,
        Some("INTERNAL") => StatusCode::SERVICE_UNAVAILABLE,
        None if r.errors.is_empty() => StatusCode::OK,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = json_answer(media, status, &body);
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750 §3: no error code when no token was sent.
        let challenge = match reason(&r) {
            Some("missing_token") | None => "Bearer",
            Some(_) => "Bearer error=\"invalid_token\"",
        };
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    }
    response
}

/// An operation's answer as sent: whole, or under `application/graphql-response+json`
/// without `data` when it never executed. Serialized as it stands, so that the fields of
/// `data` keep the order of the selection.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum AnswerBody<'a> {
    Whole(&'a async_graphql::Response),
    RequestError { errors: &'a [ServerError] },
}

fn answer_body(media: Media, r: &async_graphql::Response, executed: bool) -> AnswerBody<'_> {
    if media == Media::GraphqlResponse && !executed {
        AnswerBody::RequestError { errors: &r.errors }
    } else {
        AnswerBody::Whole(r)
    }
}

/// The code of the answer's first error.
fn code(r: &async_graphql::Response) -> Option<&str> {
    first_extension(r, "code")
}

fn reason(r: &async_graphql::Response) -> Option<&str> {
    first_extension(r, "reason")
}

fn first_extension<'a>(r: &'a async_graphql::Response, key: &str) -> Option<&'a str> {
    match r.errors.first()?.extensions.as_ref()?.get(key)? {
        async_graphql::Value::String(s) => Some(s),
        _ => None,
    }
}

/// A request refused as a whole, before anything ran: one error with its code, and no
/// `data`.
fn refused(media: Media, e: Error) -> Response {
    let mut err = graphql::server_error(e);
    graphql::errors_with_code(&mut err);
    answer(media, async_graphql::Response::from_errors(vec![err]), false)
}

/// Any other method on `/graphql`.
async fn graphql_method_not_allowed(headers: HeaderMap) -> Response {
    let media = Media::negotiate(&headers).unwrap_or(Media::Json);
    let mut response = request_error(
        media,
        StatusCode::METHOD_NOT_ALLOWED,
        "GraphQL is served over GET (queries) and POST",
        None,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    response
}

/// docs/operations.md#audit: a request refused before execution leaves its event too, when
/// it would have been audited: an external user's (by their token), or a preview (by the
/// admin who asked for it). Anonymous and plain staff requests are not audited.
async fn audit_refusal(
    app: &AppState,
    claims: Option<&Claims>,
    headers: &HeaderMap,
    batch: &BatchRequest,
    e: &Error,
) {
    let Some(claims) = claims else { return };
    let previewing = [auth::preview::USER, auth::preview::ROLES, auth::preview::ACCOUNT]
        .iter()
        .any(|h| headers.contains_key(*h));
    let who = match claims.kind {
        TokenKind::External => Refused {
            workspace_id: claims.ws,
            external_user_id: Some(claims.sub),
            preview_by: None,
        },
        TokenKind::Staff if previewing => Refused {
            workspace_id: claims.ws,
            external_user_id: None,
            preview_by: Some(claims.sub),
        },
        TokenKind::Staff => return,
    };
    // Built before the first await: a request's `Data` is not `Sync`.
    let events: Vec<_> = batch
        .iter()
        .map(|op| {
            RequestAudit::refused(who, &op.query, op.operation_name.as_deref(), &op.variables)
                .event(e.code(), Vec::new())
        })
        .collect();
    for event in events {
        app.audit.record(event).await;
    }
}

/// The operations of a request, or the answer that refuses it. A GET carries its
/// parameters in the query string and may run queries only; a POST carries JSON, of at
/// most `max_body_bytes`.
async fn parse_request(app: &AppState, request: Request, media: Media) -> Result<BatchRequest, Response> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
            .map_err(|_| {
                request_error(
                    media,
                    StatusCode::BAD_REQUEST,
                    "the query string is not valid URL-encoded parameters",
                    None,
                )
            })?
            .0;
        let op = params::Params::from_query_string(pairs)
            .and_then(|p| p.into_request(app.documents.is_trusted()))
            .map_err(|e| invalid(media, e))?;
        return Ok(BatchRequest::Single(op));
    }
    if !is_json(request.headers()) {
        return Err(request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a POST body must be JSON in UTF-8, sent with `Content-Type: application/json`",
            None,
        ));
    }
    let limit = app.config.limits.max_body_bytes;
    let (parts, body) = request.into_parts();
    let bytes = body::read(&parts.headers, body, limit).await.map_err(|e| {
        let (status, message) = match e {
            body::BodyError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than the limit of {limit} bytes"),
            ),
            body::BodyError::Unreadable => (
                StatusCode::BAD_REQUEST,
                "the request body could not be read to its end".to_string(),
            ),
        };
        let mut response = request_error(media, status, &message, None);
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    })?;
    match params::Body::parse(&bytes).map_err(|e| invalid(media, e))? {
        params::Body::Single(op) => Ok(BatchRequest::Single(
            op.into_request(app.documents.is_trusted())
                .map_err(|e| invalid(media, e))?,
        )),
        params::Body::Batch(ops) => {
            let max_batch = app.config.limits.max_batch;
            if ops.len() > max_batch {
                let message = format!(
                    "the batch has {} operations: at most {max_batch} per batch",
                    ops.len()
                );
                return Err(request_error(media, StatusCode::BAD_REQUEST, &message, None));
            }
            let ops = ops
                .into_iter()
                .enumerate()
                .map(|(i, op)| {
                    op.into_request(app.documents.is_trusted())
                        .map_err(|e| e.in_batch(i))
                })
                .collect::<Result<_, _>>()
                .map_err(|e| invalid(media, e))?;
            Ok(BatchRequest::Batch(ops))
        }
    }
}

/// `Content-Type: application/json`, in UTF-8 when a charset is named.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|p| match p.split_once('=') {
            Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
                let charset = charset.trim().trim_matches('"');
                charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

/// Whether the operation a GET would run is a mutation. A document that does not parse,
/// or whose operation cannot be chosen, is left to the usual errors.
fn selects_mutation(op: &mut async_graphql::Request) -> bool {
    crate::audit::operation_type(op) == Some(async_graphql::parser::types::OperationType::Mutation)
}

/// The caller of a request, decided before anything of the request runs: `None`
/// (anonymous) without a token; `UNAUTHENTICATED` for the whole request with a token that
/// fails (`invalid_token`, `expired_token`) or whose user may not use the portal now
/// (`access_revoked`: unknown, of another workspace, revoked or ended). Preview headers
/// are looked at only once the caller is known to be an admin: from anyone else they
/// refuse the whole request, however they are written (docs/permissions.md#preview).
async fn caller(
    app: &AppState,
    headers: &HeaderMap,
    verified: Option<Result<auth::Claims, crate::error::AuthFailure>>,
) -> crate::error::Result<Option<(Arc<crate::access::Access>, auth::Identity)>> {
    use crate::error::{AuthFailure, Error};
    let forbidden = || Error::Forbidden("preview is for admins".into());
    let previewing = auth::preview::asked(headers);
    if !headers.contains_key(header::AUTHORIZATION) {
        return if previewing { Err(forbidden()) } else { Ok(None) };
    }
    // A header that is there but holds no bearer token was never verified: invalid.
    let claims = verified
        .unwrap_or(Err(AuthFailure::InvalidToken))
        .map_err(Error::Unauthenticated)?;
    let mut conn = app.pool.get().await?;
    let (access, identity) = app
        .grants
        .access(&mut conn, &claims)
        .await?
        .ok_or(Error::Unauthenticated(AuthFailure::AccessRevoked))?;
    if !previewing {
        return Ok(Some((Arc::new(access), identity)));
    }
    if !access.is_admin() {
        return Err(forbidden());
    }
    let preview = auth::preview::requested(headers)?.ok_or_else(forbidden)?;
    let previewed = auth::preview::access(&mut conn, &access, preview)
        .await?
        .ok_or(Error::Unauthenticated(AuthFailure::AccessRevoked))?;
    Ok(Some((Arc::new(previewed.0), previewed.1)))
}
