//! HTTP routes: `/` (GraphiQL), `/graphql` (GET and POST, batches), `/schema.graphql`, `/healthz`,
//! `/readyz`, `/metrics`, and in development `/dev/personas`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::{BatchRequest, BatchResponse, ServerError};
use axum::body::to_bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::audit::{AuditSink, AuditWriter, Refused, RequestAudit};
use crate::auth::{self, Claims, TokenKind, Tokens};
use crate::config::Config;
use crate::db::{DbPool, StatementCounter, queries};
use crate::error::Error;
use crate::graphql::{self, PortalSchema};
use crate::rate::{CallerKey, RateLimiter};

pub struct AppState {
    pub schema: PortalSchema,
    pub pool: DbPool,
    pub tokens: Tokens,
    pub config: Config,
    pub statements: StatementCounter,
    pub requests: AtomicU64,
    pub audit: AuditSink,
    pub rate: RateLimiter,
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
        let audit_pool = crate::db::pool(
            &config.database_url,
            2,
            config.acquire_timeout,
            &StatementCounter::default(),
        )?;
        let (audit, writer) = AuditSink::start(audit_pool);
        let rate = config.limits.rate;
        let state = AppState {
            rate: RateLimiter::new(rate, rate.in_flight as usize),
            schema: graphql::build_schema(config.limits),
            tokens: Tokens::hs256(&config.jwt_secret.0).max_lifetime(config.token_max_lifetime),
            pool,
            config,
            statements,
            requests: AtomicU64::new(0),
            audit,
        };
        Ok((Arc::new(state), writer))
    }
}

pub fn router(state: App) -> Router {
    Router::new()
        .route("/", get(playground))
        .route("/playground/{file}", get(playground_asset))
        .route("/graphql", get(graphql_http).post(graphql_http))
        .route("/schema.graphql", get(schema_sdl))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/dev/personas", get(personas))
        .with_state(state)
}

async fn playground() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, crate::playground::CSP),
        ],
        crate::playground::INDEX,
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
        Some((mime, body)) => (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            body,
        )
            .into_response(),
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

async fn metrics(State(app): State<App>) -> String {
    format!(
        "# HELP portal_sql_statements_total SQL statements run by the pool.\n\
         # TYPE portal_sql_statements_total counter\n\
         portal_sql_statements_total {}\n\
         # HELP portal_graphql_requests_total GraphQL HTTP requests served.\n\
         # TYPE portal_graphql_requests_total counter\n\
         portal_graphql_requests_total {}\n",
        app.statements.get(),
        app.requests.load(Ordering::Relaxed)
    )
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

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (status, Json(body)).into_response()
}

async fn graphql_http(State(app): State<App>, request: Request) -> Response {
    app.requests.fetch_add(1, Ordering::Relaxed);
    let headers = request.headers().clone();
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let batch = match parse_request(&app, request).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let max_batch = app.config.limits.max_batch;
    if let BatchRequest::Batch(ops) = &batch
        && ops.len() > max_batch
    {
        let msg = format!("at most {max_batch} operations per batch");
        return error_response(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &msg);
    }
    // Who is asking, as far as the token says: the key of their bucket, and whom to
    // audit a refusal under. Verifying a signature costs no database work.
    let claims = auth::bearer(headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()))
        .and_then(|t| app.tokens.verify(t).ok());
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
            audit_refusal(&app, claims.as_ref(), &headers, &batch, &refusal).await;
            let mut response = refused(refusal);
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return response;
        }
    };
    let caller = match caller(&app, &headers).await {
        Ok(c) => c,
        Err(e) => {
            audit_refusal(&app, claims.as_ref(), &headers, &batch, &e).await;
            return refused(e);
        }
    };
    let response: BatchResponse = graphql::execute(&app.schema, caller, &app.pool, &app.audit, batch).await;
    Json(response).into_response()
}

/// A request refused as a whole, before anything ran: one error with its code.
fn refused(e: Error) -> Response {
    let mut err = ServerError::new(e.to_string(), None);
    err.source = Some(Arc::new(e));
    graphql::errors_with_code(&mut err);
    Json(async_graphql::Response::from_errors(vec![err])).into_response()
}

/// SPEC §10: a request refused before execution leaves its event too, when it would
/// have been audited: an external user's (by their token), or a preview (by the admin
/// who asked for it). Anonymous and plain staff requests are not audited.
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
            RequestAudit::refused(who, &op.query, op.operation_name.as_deref()).event(e.code(), Vec::new())
        })
        .collect();
    for event in events {
        app.audit.record(event).await;
    }
}

async fn parse_request(app: &AppState, request: Request) -> Result<BatchRequest, Response> {
    let bad = |m: String| error_response(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &m);
    if request.method() == Method::GET {
        let query = request.uri().query().unwrap_or_default();
        return async_graphql::http::parse_query_string(query)
            .map(BatchRequest::Single)
            .map_err(|e| bad(format!("malformed request: {e}")));
    }
    let limit = app.config.limits.max_body_bytes;
    let bytes = to_bytes(request.into_body(), limit).await.map_err(|_| {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BAD_USER_INPUT",
            &format!("request body is larger than {limit} bytes"),
        )
    })?;
    serde_json::from_slice::<BatchRequest>(&bytes).map_err(|e| bad(format!("malformed request: {e}")))
}

/// The caller of a request, decided before anything of the request runs: `None`
/// (anonymous) without a token; `UNAUTHENTICATED` for the whole request with a token that
/// fails (`invalid_token`, `expired_token`) or whose user may not use the portal now
/// (`access_revoked`: unknown, of another workspace, revoked or ended). Preview headers
/// are looked at only once the caller is known to be an admin: from anyone else they
/// refuse the whole request, however they are written (SPEC §8).
async fn caller(
    app: &AppState,
    headers: &HeaderMap,
) -> crate::error::Result<Option<(Arc<crate::access::Access>, auth::Identity)>> {
    use crate::error::{AuthFailure, Error};
    let forbidden = || Error::Forbidden("preview is for admins".into());
    let previewing = auth::preview::asked(headers);
    let Some(header) = headers.get(header::AUTHORIZATION) else {
        return if previewing { Err(forbidden()) } else { Ok(None) };
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| auth::bearer(Some(h)))
        .ok_or(Error::Unauthenticated(AuthFailure::InvalidToken))?;
    let claims = app.tokens.verify(token).map_err(Error::Unauthenticated)?;
    let mut conn = app.pool.get().await?;
    let (access, identity) = auth::authenticate(&mut conn, &claims)
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
