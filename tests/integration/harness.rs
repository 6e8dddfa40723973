//! The test harness: a fresh database per test, cloned from a template that is migrated
//! and seeded once (per content of the migrations and the demo), and the real server on
//! a random port, spoken to over HTTP.

use std::hash::{DefaultHasher, Hash, Hasher};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use portal_gateway::auth::{Claims, TokenKind, Tokens};
use portal_gateway::config::{Config, Limits, Secret};
use portal_gateway::db::{self, StatementCounter, queries};
use portal_gateway::http::{self, AppState};
use serde_json::{Value, json};
use uuid::Uuid;

pub const SECRET: &str = "test-secret-for-integration-tests";

/// The server's PostgreSQL (a maintenance database on it): `DATABASE_URL` if set.
fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(database: &str) -> String {
    let admin = admin_url();
    let (base, rest) = admin.rsplit_once('/').unwrap_or((&admin, ""));
    let query = rest
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    format!("{base}/{database}{query}")
}

fn template_name() -> String {
    let mut h = DefaultHasher::new();
    portal_gateway::seed::DEMO_SQL.hash(&mut h);
    for m in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let dir = m.unwrap().path();
        dir.hash(&mut h);
        std::fs::read_to_string(dir.join("up.sql")).unwrap().hash(&mut h);
    }
    format!("portal_tmpl_{:016x}", h.finish())
}

async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&admin_url())
        .await
        .expect("PostgreSQL reachable at DATABASE_URL")
}

/// Creates the template if it does not exist yet, once across parallel test processes.
async fn ensure_template() -> String {
    let name = template_name();
    let mut conn = admin().await;
    conn.batch_execute("SELECT pg_advisory_lock(727274)")
        .await
        .unwrap();
    let exists = diesel_async::RunQueryDsl::load::<Exists>(
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&name),
        &mut conn,
    )
    .await
    .unwrap()[0]
        .n
        > 0;
    if !exists {
        let building = format!("{name}_building");
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
            .await
            .unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .unwrap();
        let url = url_for(&building);
        db::migrate(&url).await.unwrap();
        portal_gateway::seed::demo(&url, portal_gateway::seed::Seed::Reset)
            .await
            .unwrap();
        conn.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .await
            .unwrap();
    }
    conn.batch_execute("SELECT pg_advisory_unlock(727274)")
        .await
        .unwrap();
    name
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

pub struct TestApp {
    pub base: String,
    /// The metrics listener's base URL (a port of its own, as `METRICS_ADDR` gives).
    pub metrics_base: String,
    pub database: String,
    /// Whether `database` was made on the server's PostgreSQL for this test (and is
    /// dropped with it).
    owned: bool,
    pub url: String,
    pub http: reqwest::Client,
    tokens: Tokens,
    statements: StatementCounter,
    pub server: tokio::task::JoinHandle<()>,
    metrics_server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// A server over a fresh copy of the demo.
    pub async fn demo() -> TestApp {
        TestApp::with(Limits::default(), false).await
    }

    /// A server over a fresh copy of the demo whose per-caller rate limit is `rate`.
    pub async fn with_rate(rate: portal_gateway::config::Rate) -> TestApp {
        TestApp::with(
            Limits {
                rate,
                ..Limits::default()
            },
            false,
        )
        .await
    }

    pub async fn with(limits: Limits, dev_mode: bool) -> TestApp {
        TestApp::start(limits, dev_mode, |url| url.to_string()).await
    }

    /// A server whose connections (pool and audit writer) go to `server_url(url)`, e.g.
    /// through a proxy the test can cut, while the test itself reaches `url` directly.
    pub async fn start(limits: Limits, dev_mode: bool, server_url: impl FnOnce(&str) -> String) -> TestApp {
        TestApp::start_configured(limits, dev_mode, server_url, |_| {}).await
    }

    /// A server over a fresh copy of the demo, its configuration adjusted by `configure`.
    pub async fn configured(configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::start_configured(Limits::default(), false, |url| url.to_string(), configure).await
    }

    async fn start_configured(
        limits: Limits,
        dev_mode: bool,
        server_url: impl FnOnce(&str) -> String,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let template = ensure_template().await;
        let database = format!("portal_test_{}", Uuid::now_v7().simple());
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {database} TEMPLATE {template}"))
            .await
            .unwrap();
        let url = url_for(&database);
        let served_from = server_url(&url);
        TestApp::serve(database, true, url, served_from, limits, dev_mode, configure).await
    }

    /// A second server with its own state, pool and listener over the same database, as
    /// another instance of a scaled-out gateway (docs/operations.md#grants-cache).
    pub async fn beside(&self) -> TestApp {
        self.beside_configured(|_| {}).await
    }

    /// [`TestApp::beside`], its configuration adjusted by `configure`.
    pub async fn beside_configured(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let url = self.url.clone();
        TestApp::serve(
            self.database.clone(),
            false,
            url.clone(),
            url,
            Limits::default(),
            false,
            configure,
        )
        .await
    }

    /// A server over a database the test made itself at `url` (e.g. on a cluster of its
    /// own, which it removes), its configuration adjusted by `configure`: its pools
    /// follow `database_url` and `pooler` as configured.
    pub async fn over(url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::serve(
            String::new(),
            false,
            url.to_string(),
            url.to_string(),
            Limits::default(),
            false,
            configure,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn serve(
        database: String,
        owned: bool,
        url: String,
        served_from: String,
        limits: Limits,
        dev_mode: bool,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let statements = StatementCounter::default();
        let mut config = Config {
            database_url: served_from,
            jwt_secret: Some(Secret(SECRET.into())),
            identity_provider: None,
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            metrics_addr: Some("127.0.0.1:0".parse().unwrap()),
            dev_mode,
            pool_size: 8,
            executions_in_flight: Config::default_executions_in_flight(),
            acquire_timeout: std::time::Duration::from_secs(3),
            token_max_lifetime: std::time::Duration::from_secs(86_400),
            limits,
            trusted_documents: None,
            apq_cache_bytes: 8 << 20,
            cors_allowed_origins: Vec::new(),
            database_read_url: None,
            read_max_lag: std::time::Duration::from_secs(5),
            database_listen_url: None,
            pooler: Default::default(),
            grants_cache: true,
            live: Default::default(),
        };
        configure(&mut config);
        let pool = db::pool_through(
            &config.database_url,
            config.pooler,
            8,
            std::time::Duration::from_secs(3),
            &statements,
        )
        .unwrap();
        let (state, _audit) = AppState::new(config, pool, statements.clone()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_base = format!("http://{}", metrics_listener.local_addr().unwrap());
        let metrics_state = state.metrics.clone();
        let metrics_server = tokio::spawn(async move {
            portal_gateway::metrics::serve(metrics_listener, metrics_state)
                .await
                .unwrap();
        });
        let server = tokio::spawn(async move {
            let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, app).await.unwrap();
        });
        TestApp {
            base,
            metrics_base,
            owned,
            database,
            url,
            http: reqwest::Client::new(),
            tokens: Tokens::hs256(SECRET),
            statements,
            server,
            metrics_server,
        }
    }

    /// Runs SQL on the test's database (to arrange data for a rule).
    pub async fn sql(&self, sql: &str) {
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        conn.batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    /// Runs SQL on the server's maintenance database.
    pub async fn admin_sql(&self, sql: &str) {
        admin()
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }

    pub async fn user_id(&self, email: &str) -> (Uuid, Uuid, bool) {
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        queries::user_id_by_email(&mut conn, email)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user {email}"))
    }

    /// A valid token for the user with this e-mail.
    pub async fn token(&self, email: &str) -> String {
        let (id, ws, staff) = self.user_id(email).await;
        self.mint(id, ws, staff, 3600)
    }

    /// A token issued now that expires in `ttl_seconds` (negative: expired).
    pub fn mint(&self, sub: Uuid, ws: Uuid, staff: bool, ttl_seconds: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        self.mint_claims(sub, ws, staff, now, now + ttl_seconds)
    }

    /// A token with these `iat` and `exp` (seconds since the epoch).
    pub fn mint_claims(&self, sub: Uuid, ws: Uuid, staff: bool, iat: i64, exp: i64) -> String {
        self.tokens.mint(&Claims {
            sub,
            kind: if staff {
                TokenKind::Staff
            } else {
                TokenKind::External
            },
            ws,
            iat,
            exp,
        })
    }

    /// Signs any claims with the server's secret (HS256), e.g. without `iat`.
    pub fn sign(&self, claims: &Value) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).unwrap()
    }

    /// POSTs a query with an optional bearer token; the whole JSON response.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self.http.post(format!("{}/graphql", self.base)).json(&json!({
            "query": query, "variables": variables
        }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        res.json().await.unwrap()
    }

    /// POSTs a query with extra headers; the status and the body as sent.
    pub async fn post_raw(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        headers: &[(&str, String)],
    ) -> (u16, String) {
        let mut req = self.http.post(format!("{}/graphql", self.base)).json(&json!({
            "query": query, "variables": variables
        }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// Audit events of the workspace, newest first, through the admin API (waits a
    /// moment for the writer, which batches query events).
    pub async fn audit_log(&self, expected_at_least: usize) -> Vec<Value> {
        let q = "{ auditLog(first: 100) { nodes { id at operationName operationType rootFields recordIds outcome \
                 externalUser { email } previewBy { email } account { name } } } }";
        for _ in 0..50 {
            let r = self.query_as("ada@acme.example", q).await;
            let nodes = r["data"]["auditLog"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{r}"))
                .clone();
            if nodes.len() >= expected_at_least {
                return nodes;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("fewer than {expected_at_least} audit events");
    }

    /// The query as the user with this e-mail.
    pub async fn query_as(&self, email: &str, query: &str) -> Value {
        let token = self.token(email).await;
        self.post(Some(&token), query, json!({})).await
    }

    pub async fn query_vars(&self, email: &str, query: &str, variables: Value) -> Value {
        let token = self.token(email).await;
        self.post(Some(&token), query, variables).await
    }

    /// SQL statements run by the server's pool so far (its own counter, read while the
    /// test runs one request at a time).
    pub async fn statements(&self) -> u64 {
        self.statements.get()
    }

    /// The metrics listener's exposition.
    pub async fn metrics(&self) -> String {
        let res = self
            .http
            .get(format!("{}/metrics", self.metrics_base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    /// The figure `n` that `sql` selects in its one row (test checks only).
    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        let rows: Vec<Exists> = diesel_async::RunQueryDsl::load(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap();
        rows[0].n
    }

    /// The id of the one record with `column = value` (test setup only).
    pub async fn id_of(&self, table: &str, column: &str, value: &str) -> Uuid {
        self.id_where(table, &format!("{column} = '{}'", value.replace('\'', "''")))
            .await
    }

    /// The id of the one record matching a condition (test setup only).
    pub async fn id_where(&self, table: &str, condition: &str) -> Uuid {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: Uuid,
        }
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        let sql = format!("SELECT id FROM {table} WHERE {condition}");
        let rows: Vec<Id> = diesel_async::RunQueryDsl::load(diesel::sql_query(&sql), &mut conn)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "exactly one row for {sql}");
        rows[0].id
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        self.metrics_server.abort();
        if !self.owned {
            return;
        }
        let database = self.database.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&admin_url()).await {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// The error codes of a response, in order.
pub fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Names of the nodes of a connection at `path` in `data`.
pub fn names(connection: &Value, key: &str) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {connection}"))
        .iter()
        .map(|n| n[key].as_str().unwrap().to_string())
        .collect()
}
