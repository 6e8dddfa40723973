//! Prometheus metrics (docs/operations.md), served as text at `/metrics` on their own listener
//! (`METRICS_ADDR`), never on the public port.
//!
//! What a request did is noted while it runs ([`request`]: the `/graphql` layer, which
//! also writes the request's log line) and by the GraphQL extension that knows its
//! operations ([`operation`]); gauges are read from the pool and the audit queue when
//! scraped. Each server has its own registry (tests run several in one process).

mod operation;
pub mod request;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use operation::OperationRecord;

use crate::audit::AuditSink;
use crate::db::replica::{Replica, Route};
use crate::db::{DbPool, StatementCounter};
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// `query`, `mutation`, `subscription`, or `unknown` when no operation was chosen
    /// (refused before parsing, a document that does not parse, an unknown name).
    operation_type: &'static str,
    /// `OK`, or the code of the first error.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    server: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

/// One server's metrics. Counters and histograms are updated as requests finish; what
/// has a source of its own (the pool, the audit queue, the statement counter) is read
/// from it on every scrape.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Histogram,
    statements_per_request: Histogram,
    refusals: Family<LimitLabels, Counter>,
}

/// What is read at scrape time.
struct Sources {
    pool: DbPool,
    audit: AuditSink,
    statements: StatementCounter,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sources")
    }
}

/// Where requests read: `portal_reads_total{server}`.
struct Reads(Arc<Replica>);

impl std::fmt::Debug for Reads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reads")
    }
}

impl Collector for Reads {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "portal_reads",
            "GraphQL requests by the server their reads went to: replica or primary",
            None,
            MetricType::Counter,
        )?;
        for (server, route) in [("replica", Route::Replica), ("primary", Route::Primary)] {
            ConstCounter::new(self.0.routed(route))
                .encode(family.encode_family(&ServerLabels { server })?)?;
        }
        Ok(())
    }
}

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = |n: usize| ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
        let status = self.pool.status();
        let mut family = encoder.encode_descriptor(
            "portal_db_pool_connections",
            "Connections of the pool: in_use, idle, and requests waiting for one",
            None,
            MetricType::Gauge,
        )?;
        for (state, n) in [
            ("in_use", status.size.saturating_sub(status.available)),
            ("idle", status.available),
            ("waiting", status.waiting),
        ] {
            gauge(n).encode(family.encode_family(&PoolLabels { state })?)?;
        }
        let depth = gauge(self.audit.depth());
        depth.encode(encoder.encode_descriptor(
            "portal_audit_queue_depth",
            "Audit events queued and not yet written",
            None,
            depth.metric_type(),
        )?)?;
        let statements = ConstCounter::new(self.statements.get());
        statements.encode(encoder.encode_descriptor(
            "portal_sql_statements",
            "SQL statements run by the pool since the start",
            None,
            statements.metric_type(),
        )?)?;
        Ok(())
    }
}

impl Metrics {
    pub fn new(pool: DbPool, audit: AuditSink, statements: StatementCounter) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        // 1 ms … 16 s: the request time limit is 15 s.
        let duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        // 1 … 256: a request's statements follow its depth, not its rows.
        let statements_per_request = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        let refusals = Family::<LimitLabels, Counter>::default();
        registry.register(
            "portal_requests",
            "GraphQL operations answered on /graphql, by operation type and outcome code",
            requests.clone(),
        );
        registry.register(
            "portal_request_duration_seconds",
            "Time to answer a /graphql request",
            duration.clone(),
        );
        registry.register(
            "portal_statements_per_request",
            "SQL statements one /graphql request ran (counted on its own task)",
            statements_per_request.clone(),
        );
        registry.register(
            "portal_limit_refusals",
            "Requests or operations refused by a limit, by the limit's name",
            refusals.clone(),
        );
        registry.register_collector(Box::new(Sources {
            pool,
            audit,
            statements,
        }));
        Metrics {
            registry,
            requests,
            duration,
            statements_per_request,
            refusals,
        }
    }

    /// Adds the grants cache's lookups (docs/operations.md#grants-cache) as
    /// `portal_grants_cache_lookups_total{result}`.
    pub fn with_grants_cache(
        mut self,
        lookups: Family<crate::auth::cache::LookupLabels, Counter>,
    ) -> Metrics {
        self.registry.register(
            "portal_grants_cache_lookups",
            "Callers decided from the grants cache (hit), read from the database (miss), or with the cache off or its listener down (bypass)",
            lookups,
        );
        self
    }

    /// Counts a finished request: each of its operations, its time and statements, and
    /// the limits that refused it.
    fn observe(&self, report: &request::Report) {
        for op in &report.operations {
            self.requests
                .get_or_create(&RequestLabels {
                    operation_type: op.operation_type,
                    outcome: op.outcome.clone(),
                })
                .inc();
        }
        self.duration.observe(report.duration.as_secs_f64());
        self.statements_per_request.observe(report.statements as f64);
        for &limit in &report.refusals {
            self.refusals.get_or_create(&LimitLabels { limit }).inc();
        }
    }

    /// Counts where requests read (docs/operations.md#read-replica), when a replica is
    /// configured.
    pub fn with_replica(mut self, replica: Arc<Replica>) -> Metrics {
        self.registry.register_collector(Box::new(Reads(replica)));
        self
    }

    /// The exposition (OpenMetrics text, which Prometheus reads).
    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(metrics)
}

/// Serves [`router`] on `listener` (its own, never the public one).
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) -> std::io::Result<()> {
    axum::serve(listener, router(metrics)).await
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> Response {
    match metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
