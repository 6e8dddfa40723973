//! Configuration, read once from the environment (and a `.env` file, if present).
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `DATABASE_URL` | `postgres://postgres@127.0.0.1:5432/portal_gateway` | PostgreSQL to serve from |
//! | `JWT_SECRET` | a development secret with `DEV_MODE`; else required unless `JWT_JWKS_URL` is set | HS256 key for bearer tokens (development, the `token` command) |
//! | `JWT_JWKS_URL` | unset (no identity provider) | the identity provider's JWKS: an `http(s)://` URL or a file path; RS256 / ES256 tokens are verified against it |
//! | `JWT_ISSUER` | unset (not checked) | the `iss` an identity provider's token must carry |
//! | `JWT_AUDIENCE` | unset (not checked) | the `aud` an identity provider's token must carry |
//! | `JWT_JWKS_CACHE_SECS` | `300` | how long a fetched JWKS is used before it is fetched again |
//! | `JWT_JWKS_MIN_REFRESH_SECS` | `10` | at most one refresh per interval for tokens with an unknown `kid`, and the wait before retrying a failed fetch |
//! | `JWT_JWKS_TIMEOUT_MS` | `3000` | longest a JWKS fetch may take (the cached set keeps serving meanwhile and after a failure) |
//! | `LISTEN_ADDR` | `127.0.0.1:8080` | where `serve` listens |
//! | `METRICS_ADDR` | unset (no metrics) | where `serve` answers Prometheus at `/metrics`; never the public port |
//! | `LOG_FORMAT` | `text` | `json`: one JSON object a line on stderr (read by `main` before the rest) |
//! | `RUST_LOG` | `portal_gateway=info,warn` | what is logged (tracing's `EnvFilter`) |
//! | `DEV_MODE` | `false` | serve the demo personas' tokens to the playground |
//! | `DB_POOL_SIZE` | `16` | connections in the pool |
//! | `EXECUTIONS_IN_FLIGHT` | 4 per core | GraphQL requests executing at once in this instance; the rest wait their turn (`TIMEOUT` after `REQUEST_TIMEOUT_MS` of waiting) |
//! | `DB_ACQUIRE_TIMEOUT_MS` | `3000` | longest wait for a pooled connection (or to open one) |
//! | `TOKEN_MAX_LIFETIME` | `86400` | seconds a token may live (`exp - iat`) |
//! | `MAX_DEPTH` | `12` | deepest query accepted (data fields, fragments expanded) |
//! | `MAX_ALIASES` | `30` | most aliased fields in one document, fragments expanded |
//! | `MAX_SELECTIONS` | `5000` | most field selections, fragments expanded |
//! | `MAX_COST` | `50000` | most records a document can return (the cost of docs/operations.md) |
//! | `MAX_BODY_BYTES` | `1048576` | largest request body |
//! | `MAX_BATCH` | `10` | operations per batched request |
//! | `MAX_PAGE` | `100` | largest `first` |
//! | `MAX_STRING_CHARS` | `100000` | longest string in an argument, variable or cursor |
//! | `MAX_RESPONSE_BYTES` | `8388608` | largest answer (an error and `data: null` beyond) |
//! | `REQUEST_TIMEOUT_MS` | `15000` | longest a request may run (`TIMEOUT`) |
//! | `RATE_LIMIT_PER_SECOND` | `50` | requests per second a caller's bucket refills (0: no limit) |
//! | `RATE_LIMIT_BURST` | `100` | requests a caller may make at once |
//! | `RATE_LIMIT_IN_FLIGHT` | `8` | requests one caller may have running at once (the rest wait their turn) |
//! | `TRUSTED_DOCUMENTS` | unset | an Apollo persisted-query manifest: only its documents run (unset: any document, and automatic persisted queries) |
//! | `APQ_CACHE_BYTES` | `8388608` | most bytes of documents remembered for automatic persisted queries, per instance |
//! | `CORS_ALLOWED_ORIGINS` | none (same-origin only) | comma-separated origins whose pages may call the API, e.g. `https://portal.example.com` |
//! | `DATABASE_READ_URL` | unset (reads go to `DATABASE_URL`) | one streaming replica for reads; a caller's own writes stay visible to their next read |
//! | `DATABASE_READ_MAX_LAG_MS` | `5000` | reads go to the primary while the replica is further behind than this |
//! | `DATABASE_LISTEN_URL` | `DATABASE_URL` | where the listener (`LISTEN portal_events`, `portal_grants`) connects: a direct connection when `DATABASE_URL` is a pooler |
//! | `DB_POOLER` | unset | `pgbouncer`: `DATABASE_URL` (and `DATABASE_READ_URL`) is PgBouncer in transaction pooling mode (no session state, no statement cache); needs `DATABASE_LISTEN_URL` |
//! | `GRANTS_CACHE` | `true` | cache callers' grants per instance, invalidated by `LISTEN/NOTIFY` |
//! | `WS_QUEUE_EVENTS` | `256` | events buffered per subscription; a subscriber that falls further behind is closed with 4410 |
//! | `WS_MAX_SUBSCRIPTIONS` | `10` | subscriptions open at once on one WebSocket |
//! | `WS_MAX_MESSAGE_BYTES` | `65536` | largest WebSocket message a client may send |
//! | `INBOX_RETENTION_DAYS` | `90` | how long events stay in inboxes (and can be resumed from) |

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

pub const DEV_SECRET: &str = "portal-gateway-development-secret-change-me";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    /// The HS256 key; `None` when only an identity provider signs tokens. Never
    /// printed: `Debug` of `Config` redacts it.
    pub jwt_secret: Option<Secret>,
    /// Tokens from an identity provider (RS256 / ES256 against its JWKS), if configured.
    pub identity_provider: Option<IdentityProvider>,
    pub listen_addr: SocketAddr,
    /// Where metrics are served, on a listener of their own; `None`: not at all.
    pub metrics_addr: Option<SocketAddr>,
    pub dev_mode: bool,
    pub pool_size: usize,
    /// How many GraphQL requests execute at once; the others wait in arrival order.
    /// Each execution holds its answer's tree while it runs, so this bounds the memory
    /// of a burst; and past a few per core more at once only interleave (BENCHMARKS.md).
    pub executions_in_flight: usize,
    /// The longest wait for a pooled connection, or to open one.
    pub acquire_timeout: Duration,
    /// The longest a token may live, `exp - iat`.
    pub token_max_lifetime: Duration,
    pub limits: Limits,
    /// The manifest of trusted documents; when set, nothing else runs.
    pub trusted_documents: Option<PathBuf>,
    /// The bound of the memory of automatic persisted queries.
    pub apq_cache_bytes: usize,
    /// Origins (`scheme://host[:port]`) whose browser pages may call the API (CORS);
    /// empty: same-origin only.
    pub cors_allowed_origins: Vec<String>,
    /// A streaming replica for reads, when set.
    pub database_read_url: Option<String>,
    /// Reads go to the primary while the replica is further behind than this.
    pub read_max_lag: Duration,
    /// Where the listener connects (`LISTEN` needs a session: not through a pooler).
    pub database_listen_url: Option<String>,
    /// What `DATABASE_URL` points at.
    pub pooler: Pooler,
    /// Whether callers' grants are cached per instance (invalidated by `LISTEN/NOTIFY`).
    pub grants_cache: bool,
    pub live: Live,
}

/// What `DATABASE_URL` reaches: PostgreSQL itself, or PgBouncer in transaction pooling
/// mode (no session state survives a statement, no named prepared statements).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pooler {
    #[default]
    None,
    PgBouncer,
}

impl std::str::FromStr for Pooler {
    type Err = String;

    fn from_str(s: &str) -> Result<Pooler, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Pooler::None),
            "pgbouncer" => Ok(Pooler::PgBouncer),
            other => Err(format!(
                "{other:?} is not a pooler this gateway knows (pgbouncer)"
            )),
        }
    }
}

/// Live events over WebSockets and the inbox (docs/api.md#subscriptions).
#[derive(Clone, Copy, Debug)]
pub struct Live {
    /// Events buffered per subscription before it is closed with 4410.
    pub queue_events: usize,
    /// Subscriptions open at once on one WebSocket.
    pub max_subscriptions: usize,
    /// Largest WebSocket message a client may send.
    pub max_message_bytes: usize,
    /// How long events stay in inboxes, and can be resumed from.
    pub inbox_retention: Duration,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            queue_events: 256,
            max_subscriptions: 10,
            max_message_bytes: 64 << 10,
            inbox_retention: Duration::from_secs(90 * 86_400),
        }
    }
}

impl Config {
    /// Four executions per core: enough to keep the cores busy while others wait on
    /// PostgreSQL.
    pub fn default_executions_in_flight() -> usize {
        4 * std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Where the listener connects.
    pub fn listen_url(&self) -> &str {
        self.database_listen_url.as_deref().unwrap_or(&self.database_url)
    }

    /// A direct connection to the primary, for work that needs a session of its own
    /// (migrations, the seed): `DATABASE_LISTEN_URL` behind a pooler, else `DATABASE_URL`.
    pub fn direct_url(&self) -> &str {
        match self.pooler {
            Pooler::PgBouncer => self.listen_url(),
            Pooler::None => &self.database_url,
        }
    }
}

/// An identity provider whose RS256 / ES256 tokens are verified against its JWKS
/// (docs/api.md#tokens); see `auth::jwks` for how the set is cached and refreshed.
#[derive(Clone, Debug)]
pub struct IdentityProvider {
    /// An `http(s)://` URL or a file path.
    pub jwks_url: String,
    /// The `iss` its tokens must carry, when set.
    pub issuer: Option<String>,
    /// The `aud` its tokens must carry, when set.
    pub audience: Option<String>,
    pub cache_ttl: Duration,
    /// At most one refresh per interval for unknown `kid`s; the wait after a failed fetch.
    pub min_refresh: Duration,
    pub fetch_timeout: Duration,
}

impl IdentityProvider {
    /// The JWKS at `jwks_url` with the default cache settings, no `iss` or `aud` check.
    pub fn new(jwks_url: impl Into<String>) -> IdentityProvider {
        IdentityProvider {
            jwks_url: jwks_url.into(),
            issuer: None,
            audience: None,
            cache_ttl: Duration::from_secs(300),
            min_refresh: Duration::from_secs(10),
            fetch_timeout: Duration::from_millis(3_000),
        }
    }

    fn from_env() -> anyhow::Result<Option<IdentityProvider>> {
        let Some(url) = var("JWT_JWKS_URL") else {
            if var("JWT_ISSUER").is_some() || var("JWT_AUDIENCE").is_some() {
                bail!(
                    "JWT_ISSUER and JWT_AUDIENCE check an identity provider's tokens: set JWT_JWKS_URL too"
                );
            }
            return Ok(None);
        };
        let d = IdentityProvider::new(url);
        Ok(Some(IdentityProvider {
            issuer: var("JWT_ISSUER"),
            audience: var("JWT_AUDIENCE"),
            cache_ttl: Duration::from_secs(parsed("JWT_JWKS_CACHE_SECS", d.cache_ttl.as_secs())?),
            min_refresh: Duration::from_secs(parsed("JWT_JWKS_MIN_REFRESH_SECS", d.min_refresh.as_secs())?),
            fetch_timeout: Duration::from_millis(parsed(
                "JWT_JWKS_TIMEOUT_MS",
                d.fetch_timeout.as_millis() as u64,
            )?),
            ..d
        }))
    }
}

/// Limits against abuse (docs/operations.md); each refused with a clear error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_aliases: usize,
    pub max_selections: usize,
    pub max_cost: u64,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub max_page: i64,
    pub max_string_chars: usize,
    pub max_response_bytes: usize,
    pub request_timeout: Duration,
    pub rate: Rate,
}

/// The per-caller token bucket: `per_second` refill, `burst` capacity; `per_second`
/// 0 turns rate limiting off. `in_flight` caps one caller's concurrent requests.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
    pub in_flight: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_aliases: 30,
            max_selections: 5_000,
            max_cost: 50_000,
            max_body_bytes: 1 << 20,
            max_batch: 10,
            max_page: 100,
            max_string_chars: 100_000,
            max_response_bytes: 8 << 20,
            request_timeout: Duration::from_secs(15),
            rate: Rate {
                per_second: 50,
                burst: 100,
                in_flight: 8,
            },
        }
    }
}

/// A value that must not appear in logs.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
    }
}

/// `CORS_ALLOWED_ORIGINS`: origins as a browser sends them (no path, no trailing slash).
fn origins(list: &str) -> anyhow::Result<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let o = o.trim_end_matches('/');
            let valid = (o.starts_with("https://") || o.starts_with("http://"))
                && !o
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.is_empty() || rest.contains('/'))
                && axum::http::HeaderValue::from_str(o).is_ok();
            if valid {
                Ok(o.to_string())
            } else {
                bail!("CORS_ALLOWED_ORIGINS: {o:?} is not an origin like https://portal.example.com")
            }
        })
        .collect()
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let _ = dotenvy::dotenv();
        let dev_mode = parsed("DEV_MODE", false)?;
        let identity_provider = IdentityProvider::from_env()?;
        let jwt_secret = match var("JWT_SECRET") {
            Some(s) => Some(s),
            None if dev_mode => Some(DEV_SECRET.to_string()),
            None if identity_provider.is_some() => None,
            None => bail!(
                "neither JWT_SECRET nor JWT_JWKS_URL is set (or set DEV_MODE=true for the development secret)"
            ),
        };
        let defaults = Limits::default();
        let live = Live::default();
        let pooler = parsed("DB_POOLER", Pooler::None)?;
        if pooler == Pooler::PgBouncer && var("DATABASE_LISTEN_URL").is_none() {
            bail!(
                "DB_POOLER=pgbouncer: LISTEN cannot work through a transaction pooler, so set DATABASE_LISTEN_URL \
                 to a direct connection to PostgreSQL (docs/operations.md#pgbouncer)"
            );
        }
        Ok(Config {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/portal_gateway".into()),
            jwt_secret: jwt_secret.map(Secret),
            identity_provider,
            listen_addr: parsed("LISTEN_ADDR", "127.0.0.1:8080".parse().context("default")?)?,
            metrics_addr: var("METRICS_ADDR")
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|e| anyhow::anyhow!("METRICS_ADDR={v:?}: {e}"))
                })
                .transpose()?,
            dev_mode,
            pool_size: parsed("DB_POOL_SIZE", 16)?,
            executions_in_flight: parsed("EXECUTIONS_IN_FLIGHT", Config::default_executions_in_flight())?,
            acquire_timeout: Duration::from_millis(parsed("DB_ACQUIRE_TIMEOUT_MS", 3_000)?),
            token_max_lifetime: Duration::from_secs(parsed("TOKEN_MAX_LIFETIME", 86_400)?),
            trusted_documents: var("TRUSTED_DOCUMENTS").map(PathBuf::from),
            apq_cache_bytes: parsed("APQ_CACHE_BYTES", 8 << 20)?,
            limits: Limits {
                max_depth: parsed("MAX_DEPTH", defaults.max_depth)?,
                max_aliases: parsed("MAX_ALIASES", defaults.max_aliases)?,
                max_selections: parsed("MAX_SELECTIONS", defaults.max_selections)?,
                max_cost: parsed("MAX_COST", defaults.max_cost)?,
                max_body_bytes: parsed("MAX_BODY_BYTES", defaults.max_body_bytes)?,
                max_batch: parsed("MAX_BATCH", defaults.max_batch)?,
                max_page: parsed("MAX_PAGE", defaults.max_page)?,
                max_string_chars: parsed("MAX_STRING_CHARS", defaults.max_string_chars)?,
                max_response_bytes: parsed("MAX_RESPONSE_BYTES", defaults.max_response_bytes)?,
                request_timeout: Duration::from_millis(parsed(
                    "REQUEST_TIMEOUT_MS",
                    defaults.request_timeout.as_millis() as u64,
                )?),
                rate: Rate {
                    per_second: parsed("RATE_LIMIT_PER_SECOND", defaults.rate.per_second)?,
                    burst: parsed("RATE_LIMIT_BURST", defaults.rate.burst)?,
                    in_flight: parsed("RATE_LIMIT_IN_FLIGHT", defaults.rate.in_flight)?,
                },
            },
            cors_allowed_origins: origins(&var("CORS_ALLOWED_ORIGINS").unwrap_or_default())?,
            database_read_url: var("DATABASE_READ_URL"),
            read_max_lag: Duration::from_millis(parsed("DATABASE_READ_MAX_LAG_MS", 5_000)?),
            database_listen_url: var("DATABASE_LISTEN_URL"),
            pooler,
            grants_cache: parsed("GRANTS_CACHE", true)?,
            live: Live {
                queue_events: parsed("WS_QUEUE_EVENTS", live.queue_events)?,
                max_subscriptions: parsed("WS_MAX_SUBSCRIPTIONS", live.max_subscriptions)?,
                max_message_bytes: parsed("WS_MAX_MESSAGE_BYTES", live.max_message_bytes)?,
                inbox_retention: Duration::from_secs(
                    86_400 * parsed("INBOX_RETENTION_DAYS", live.inbox_retention.as_secs() / 86_400)?,
                ),
            },
        })
    }
}
