//! The database: pool, migrations, row structs and the SQL. `queries` (reads) and
//! `writes` are the only modules that run SQL (and import `diesel_async::RunQueryDsl`).

pub mod models;
pub mod queries;
pub mod replica;
pub mod schema;
pub mod writes;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{CacheSize, Instrumentation, InstrumentationEvent};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

use crate::config::Pooler;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub use diesel_async::pooled_connection::deadpool::PoolError;

/// The pool of connections to one server (docs/operations.md#pgbouncer). Through PgBouncer
/// in transaction pooling mode each connection handed out is inside a transaction until
/// it is given back: PgBouncer before 1.21 keeps a client on one server connection only
/// within a transaction, and the driver prepares every statement (a named one) in one
/// round trip and runs it in the next, which must reach the same server connection.
#[derive(Clone)]
pub struct DbPool {
    pool: Pool<AsyncPgConnection>,
    pooler: Pooler,
}

impl DbPool {
    /// A connection, waiting up to the pool's timeout for one.
    pub async fn get(&self) -> Result<DbConn, PoolError> {
        let mut conn = self.pool.get().await?;
        let pinned = self.pooler == Pooler::PgBouncer;
        if pinned
            && let Err(e) = diesel_async::SimpleAsyncConnection::batch_execute(&mut *conn, "BEGIN").await
        {
            let _ = Object::take(conn);
            return Err(PoolError::Backend(
                diesel_async::pooled_connection::PoolError::QueryError(e),
            ));
        }
        Ok(DbConn {
            conn: Some(conn),
            pinned,
        })
    }

    pub fn status(&self) -> deadpool::Status {
        self.pool.status()
    }
}

/// A pooled connection, given back when dropped (through PgBouncer: once its
/// transaction is committed).
pub struct DbConn {
    conn: Option<Object<AsyncPgConnection>>,
    pinned: bool,
}

impl DbConn {
    /// Takes the connection out of the pool: dropped, it closes (PostgreSQL, or
    /// PgBouncer, rolls back whatever it had open).
    pub fn take(mut this: DbConn) -> Option<AsyncPgConnection> {
        this.conn.take().map(Object::take)
    }
}

impl std::ops::Deref for DbConn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        // Present until `take` or `drop`, which consume it.
        self.conn
            .as_deref()
            .unwrap_or_else(|| unreachable!("a taken connection"))
    }
}

impl std::ops::DerefMut for DbConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        self.conn
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("a taken connection"))
    }
}

impl Drop for DbConn {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !self.pinned {
            return;
        }
        // An aborted transaction's COMMIT rolls it back; one committed already (a
        // mutation's) only draws a warning. Either way the connection is clean after.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if diesel_async::SimpleAsyncConnection::batch_execute(&mut *conn, "COMMIT")
                        .await
                        .is_err()
                    {
                        let _ = Object::take(conn);
                    }
                });
            }
            Err(_) => {
                let _ = Object::take(conn);
            }
        }
    }
}

/// Opens a connection through PgBouncer: the driver's own setup statements (time zone,
/// encoding) run inside a transaction, for the reason [`DbPool`] gives; PgBouncer keeps
/// the settings they make for the client on every server connection.
async fn establish_pinned(url: String) -> diesel::ConnectionResult<AsyncPgConnection> {
    use diesel::ConnectionError;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    tokio::spawn(connection);
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    let mut conn = AsyncPgConnection::try_from(client).await?;
    diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, "COMMIT")
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Counts the SQL statements every pooled connection runs, across all requests (tests
/// and benchmarks read it while nothing else runs; `/metrics` exposes it as
/// `portal_sql_statements_total`). A request's own figure is [`count_statements`].
#[derive(Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    /// The statements of the work that [`count_statements`] is running on this task.
    static TASK_STATEMENTS: Arc<AtomicU64>;
}

/// Runs `work` and counts the statements that pooled connections run while it is
/// polled: one request's own figure, which the pool-wide [`StatementCounter`] cannot
/// give under concurrency. A request's queries (its loaders' batches included) run on
/// its own task; work spawned onto other tasks is not counted.
pub async fn count_statements<F: std::future::Future>(work: F) -> (F::Output, u64) {
    let counted = Arc::new(AtomicU64::new(0));
    let output = TASK_STATEMENTS.scope(counted.clone(), work).await;
    (output, counted.load(Ordering::Relaxed))
}

struct CountStatements(Arc<AtomicU64>);

impl Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
            let _ = TASK_STATEMENTS.try_with(|n| n.fetch_add(1, Ordering::Relaxed));
        }
    }
}

/// A pool whose connections count their statements into `counter`. Waiting for a
/// connection, opening one and recycling one each give up after `timeout`, so that a
/// database that went away fails requests fast instead of holding them.
pub fn pool(
    url: &str,
    max_size: usize,
    timeout: Duration,
    counter: &StatementCounter,
) -> anyhow::Result<DbPool> {
    pool_through(url, Pooler::None, max_size, timeout, counter)
}

/// [`pool`] for a server reached through `pooler` (docs/operations.md#pgbouncer): through
/// PgBouncer in transaction pooling mode a statement prepared on one server connection
/// may be run on another, so nothing is kept prepared between statements (PgBouncer
/// before 1.21 does not carry prepared statements across its server connections).
pub fn pool_through(
    url: &str,
    pooler: Pooler,
    max_size: usize,
    timeout: Duration,
    counter: &StatementCounter,
) -> anyhow::Result<DbPool> {
    let mut config = ManagerConfig::default();
    // Checking a connection on every checkout would cost a statement per loader.
    config.recycling_method = RecyclingMethod::Fast;
    let count = counter.0.clone();
    config.custom_setup = Box::new(move |url| {
        let count = count.clone();
        let opened = match pooler {
            Pooler::None => AsyncPgConnection::establish(url).boxed(),
            Pooler::PgBouncer => establish_pinned(url.to_string()).boxed(),
        };
        opened
            .map(move |conn| {
                let mut conn = conn?;
                conn.set_instrumentation(CountStatements(count));
                if pooler == Pooler::PgBouncer {
                    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
                }
                Ok(conn)
            })
            .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let pool = Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(DbPool { pool, pooler })
}

/// Applies every pending migration. Needs a multi-thread runtime (the harness blocks).
pub async fn migrate(url: &str) -> anyhow::Result<usize> {
    let conn = AsyncPgConnection::establish(url).await?;
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}
