//! The GraphQL API: root objects, one file per module, thin types over rows. Every
//! resolver of a grantable field asks the grants carried by its record; every list and
//! lookup loads through `loaders` with the caller's scope.

mod actions;
mod admin;
mod anonymous;
mod batches;
pub mod connection;
mod crm;
mod errors;
mod invoices;
mod knowledge_base;
mod limits;
pub mod loaders;
mod mutations;
mod node;
mod notifications;
pub mod parsed;
pub mod persisted;
mod pipeline;
mod projects;
mod response_size;
pub mod scalars;
mod tasks;
mod users;
mod viewer;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, MergedObject, Schema};

pub use errors::{Execution, server_error, with_code as errors_with_code};

use crate::access::Access;
use crate::audit::{AuditSink, RequestAudit};
use crate::auth::Identity;
use crate::config::Limits;
use crate::db::DbPool;
use crate::error::{AuthFailure, Error, Result};
use loaders::Fetch;

pub type PortalSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

pub(crate) use notifications::inbox;
pub use notifications::{Delivery, Start, SubscriptionRoot};

/// Reads. Every list and lookup answers only what the caller may see: records out of their
/// scope do not exist, fields not granted are `null` (see docs/permissions.md).
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    viewer::ViewerQuery,
    node::NodeQuery,
    crm::CrmQuery,
    projects::ProjectsQuery,
    tasks::TasksQuery,
    invoices::InvoicesQuery,
    knowledge_base::KnowledgeBaseQuery,
    notifications::NotificationsQuery,
    admin::AdminQuery,
);

/// Changes. External users may take the actions their grants allow; staff run the
/// workspace; admins manage roles and access. A failed mutation changes nothing.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    actions::ActionsMutation,
    admin::AdminMutation,
    notifications::NotificationsMutation,
);

pub fn build_schema(limits: Limits) -> PortalSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
        // One extension: each registered one costs every field a link (see pipeline).
        .extension(pipeline::Pipeline::new(limits))
        .data(limits)
        .finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    sdl_of(&build_schema(Limits::default()))
}

/// A schema's SDL as introspection describes it: with each scalar's `@specifiedBy`.
pub fn sdl_of(schema: &PortalSchema) -> String {
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// What one request carries: the caller (absent when anonymous) and its loader.
pub struct RequestState {
    pub caller: Option<(Arc<Access>, Identity)>,
    /// Where this operation reads: the replica, or the primary (docs/operations.md#read-replica).
    pub pool: DbPool,
    /// Where writes go.
    pub primary: DbPool,
    /// The audit of this operation (external callers and previews only).
    pub audit: Option<Arc<RequestAudit>>,
    /// Where events go that are not written in a mutation's own transaction.
    pub audit_sink: AuditSink,
}

/// Runs a batch of operations for one caller, each with its own loader, whose batches
/// run on this task (see [`batches`]), and audits each operation that needs it. Writes
/// go to `pool`, reads to `reads` (the same pool, or a replica for a batch of queries).
pub async fn execute(
    schema: &PortalSchema,
    caller: Option<(Arc<Access>, Identity)>,
    pool: &DbPool,
    reads: &DbPool,
    sink: &AuditSink,
    mut batch: async_graphql::BatchRequest,
) -> async_graphql::BatchResponse {
    let batch_len = match &batch {
        async_graphql::BatchRequest::Single(_) => None,
        async_graphql::BatchRequest::Batch(ops) => Some(ops.len()),
    };
    let batches = batches::Batches::default();
    let audits: Vec<_> = batch
        .iter_mut()
        .map(|op| prepare(op, caller.clone(), pool, reads, sink, &batches))
        .collect();
    let response = within_time(schema, batches.drive(schema.execute_batch(batch)), batch_len).await;
    let responses: Vec<&async_graphql::Response> = match &response {
        async_graphql::BatchResponse::Single(r) => vec![r],
        async_graphql::BatchResponse::Batch(rs) => rs.iter().collect(),
    };
    for (audit, r) in audits.iter().zip(responses) {
        record(sink, audit.as_deref(), r).await;
    }
    response
}

/// Gives one operation what its resolvers read: the caller, its own loader (whose
/// batches run on `batches`), the pools and its audit, which it answers (external
/// callers and previews only).
fn prepare(
    op: &mut async_graphql::Request,
    caller: Option<(Arc<Access>, Identity)>,
    pool: &DbPool,
    reads: &DbPool,
    sink: &AuditSink,
    batches: &batches::Batches,
) -> Option<Arc<RequestAudit>> {
    let access = caller.as_ref().map(|(a, _)| a.clone());
    let audit = access
        .as_deref()
        .and_then(|a| RequestAudit::of(a, op))
        .map(Arc::new);
    let loader = DataLoader::new(Fetch::new(reads.clone(), access), batches.spawner())
        .delay(std::time::Duration::ZERO)
        .max_batch_size(usize::MAX);
    op.data.insert(RequestState {
        caller,
        pool: reads.clone(),
        primary: pool.clone(),
        audit: audit.clone(),
        audit_sink: sink.clone(),
    });
    op.data.insert(loader);
    audit
}

/// Records an operation's audit event with its outcome, unless a mutation already wrote
/// it in its own transaction.
async fn record(sink: &AuditSink, audit: Option<&RequestAudit>, response: &async_graphql::Response) {
    if let Some(audit) = audit.filter(|a| !a.was_written()) {
        sink.record(audit.event(&outcome(response), audit.returned_ids()))
            .await;
    }
}

/// Runs one step of a subscription (docs/api.md#subscriptions) for `caller`, audited
/// like a request: its start, with [`Start`] in `step`, which checks the document and
/// `after` and answers nothing when they pass; or the delivery of one event, with
/// [`Delivery`], decided with the grants of `caller` as they are now.
pub async fn run_live(
    schema: &PortalSchema,
    caller: (Arc<Access>, Identity),
    pool: &DbPool,
    sink: &AuditSink,
    mut request: async_graphql::Request,
    step: impl std::any::Any + Send + Sync,
) -> Option<async_graphql::Response> {
    use futures_util::StreamExt;
    let batches = batches::Batches::default();
    let audit = prepare(&mut request, Some(caller), pool, pool, sink, &batches);
    request.data.insert(step);
    let mut answers = schema.execute_stream(request);
    let response = within_time(
        schema,
        batches
            .drive(async { async_graphql::BatchResponse::Single(answers.next().await.unwrap_or_default()) }),
        None,
    )
    .await;
    let async_graphql::BatchResponse::Single(mut response) = response else {
        return None;
    };
    // A stream's answers do not pass the pipeline's `execute` step, which codes errors.
    response.errors.iter_mut().for_each(errors_with_code);
    record(sink, audit.as_deref(), &response).await;
    (response.data != async_graphql::Value::Null || !response.errors.is_empty()).then_some(response)
}

/// The batch's answer, or when it runs past `request_timeout`, one `TIMEOUT` error and
/// `data: null` for each of its operations. Dropping the execution drops any open
/// mutation transaction, whose connection is then closed (see `mutations::Tx`), so
/// PostgreSQL rolls it back.
async fn within_time(
    schema: &PortalSchema,
    execution: impl std::future::Future<Output = async_graphql::BatchResponse>,
    batch_len: Option<usize>,
) -> async_graphql::BatchResponse {
    let timeout = schema
        .data::<Limits>()
        .copied()
        .unwrap_or_default()
        .request_timeout;
    match tokio::time::timeout(timeout, execution).await {
        Ok(response) => response,
        Err(_) => {
            let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            let timed_out = || {
                let mut err = errors::server_error(Error::Timeout(ms));
                errors_with_code(&mut err);
                async_graphql::Response::from_errors(vec![err])
            };
            match batch_len {
                None => async_graphql::BatchResponse::Single(timed_out()),
                Some(n) => async_graphql::BatchResponse::Batch((0..n).map(|_| timed_out()).collect()),
            }
        }
    }
}

/// `OK`, or the code of the response's first error.
fn outcome(r: &async_graphql::Response) -> String {
    r.errors
        .first()
        .and_then(|e| match e.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "OK".to_string())
}

/// Per-request accessors for resolvers.
pub trait ContextExt {
    /// The caller's access, or `UNAUTHENTICATED`.
    fn access(&self) -> Result<&Arc<Access>>;
    fn identity(&self) -> Result<&Identity>;
    fn loader(&self) -> &DataLoader<Fetch>;
    /// For root lists that run their own page and count queries: where this operation
    /// reads (a replica for a batch of queries when one is configured and has caught up
    /// with the caller, docs/operations.md#read-replica; the primary in a mutation).
    fn pool(&self) -> Result<&DbPool>;
    /// Where writes go: a mutation's transaction.
    fn primary(&self) -> Result<&DbPool>;
    fn limits(&self) -> Limits;
    /// The audit of this operation, when it is audited.
    fn audit(&self) -> Option<&Arc<RequestAudit>>;
    fn audit_sink(&self) -> Option<&AuditSink>;
    /// Notes a record resolved into the response, for the audit.
    fn note_returned(&self, id: uuid::Uuid);
    /// Notes a single record resolved into the response, and hands it on.
    fn returned<N: connection::Node>(&self, node: N) -> N {
        self.note_returned(node.record_id());
        node
    }
}

impl ContextExt for Context<'_> {
    fn access(&self) -> Result<&Arc<Access>> {
        self.data_opt::<RequestState>()
            .and_then(|s| s.caller.as_ref())
            .map(|(a, _)| a)
            .ok_or(Error::Unauthenticated(AuthFailure::MissingToken))
    }

    fn identity(&self) -> Result<&Identity> {
        self.data_opt::<RequestState>()
            .and_then(|s| s.caller.as_ref())
            .map(|(_, i)| i)
            .ok_or(Error::Unauthenticated(AuthFailure::MissingToken))
    }

    fn loader(&self) -> &DataLoader<Fetch> {
        self.data_unchecked::<DataLoader<Fetch>>()
    }

    fn pool(&self) -> Result<&DbPool> {
        self.data_opt::<RequestState>()
            .map(|s| &s.pool)
            .ok_or(Error::Unauthenticated(AuthFailure::MissingToken))
    }

    fn primary(&self) -> Result<&DbPool> {
        self.data_opt::<RequestState>()
            .map(|s| &s.primary)
            .ok_or(Error::Unauthenticated(AuthFailure::MissingToken))
    }

    fn audit(&self) -> Option<&Arc<RequestAudit>> {
        self.data_opt::<RequestState>().and_then(|s| s.audit.as_ref())
    }

    fn audit_sink(&self) -> Option<&AuditSink> {
        self.data_opt::<RequestState>().map(|s| &s.audit_sink)
    }

    fn note_returned(&self, id: uuid::Uuid) {
        if let Some(audit) = self.audit() {
            audit.returned(id);
        }
    }

    fn limits(&self) -> Limits {
        self.data_opt::<Limits>().copied().unwrap_or_default()
    }
}

/// Parses a GraphQL `ID` argument as a UUID, naming the argument when it is not one.
pub fn parse_id(field: &str, id: &async_graphql::ID) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid id"))
}
