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

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;
pub use diesel_async::pooled_connection::deadpool::PoolError;

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
        AsyncPgConnection::establish(url)
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
    Ok(Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
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
