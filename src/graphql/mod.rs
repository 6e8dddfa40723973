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
mod ordering;
mod projects;
mod tasks;
mod users;
mod viewer;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema};

pub use errors::{ErrorCodes, with_code as errors_with_code};

use crate::access::Access;
use crate::audit::{AuditSink, RequestAudit};
use crate::auth::Identity;
use crate::config::Limits;
use crate::db::DbPool;
use crate::error::{AuthFailure, Error, Result};
use loaders::Fetch;

pub type PortalSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    viewer::ViewerQuery,
    crm::CrmQuery,
    projects::ProjectsQuery,
    tasks::TasksQuery,
    invoices::InvoicesQuery,
    knowledge_base::KnowledgeBaseQuery,
    admin::AdminQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(actions::ActionsMutation, admin::AdminMutation);

pub fn build_schema(limits: Limits) -> PortalSchema {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .extension(ErrorCodes)
        .extension(anonymous::AnonymousOperations)
        .extension(ordering::SelectionOrder)
        .extension(limits::DocumentLimits {
            max_aliases: limits.max_aliases,
            max_depth: limits.max_depth,
        })
        .data(limits)
        .finish()
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    build_schema(Limits::default()).sdl()
}

/// What one request carries: the caller (absent when anonymous) and its loader.
pub struct RequestState {
    pub caller: Option<(Arc<Access>, Identity)>,
    pub pool: DbPool,
    /// The audit of this operation (external callers and previews only).
    pub audit: Option<Arc<RequestAudit>>,
}

/// Runs a batch of operations for one caller, each with its own loader, whose batches
/// run on this task (see [`batches`]), and audits each operation that needs it.
pub async fn execute(
    schema: &PortalSchema,
    caller: Option<(Arc<Access>, Identity)>,
    pool: &DbPool,
    sink: &AuditSink,
    mut batch: async_graphql::BatchRequest,
) -> async_graphql::BatchResponse {
    let batches = batches::Batches::default();
    let mut audits = Vec::new();
    for op in batch.iter_mut() {
        let access = caller.as_ref().map(|(a, _)| a.clone());
        let audit = access
            .as_deref()
            .and_then(|a| RequestAudit::of(a, &op.query, op.operation_name.as_deref()))
            .map(Arc::new);
        audits.push(audit.clone());
        let loader = DataLoader::new(Fetch::new(pool.clone(), access), batches.spawner())
            .delay(std::time::Duration::ZERO)
            .max_batch_size(usize::MAX);
        op.data.insert(RequestState {
            caller: caller.clone(),
            pool: pool.clone(),
            audit,
        });
        op.data.insert(loader);
    }
    let response = batches.drive(schema.execute_batch(batch)).await;
    let responses: Vec<&async_graphql::Response> = match &response {
        async_graphql::BatchResponse::Single(r) => vec![r],
        async_graphql::BatchResponse::Batch(rs) => rs.iter().collect(),
    };
    for (audit, r) in audits.iter().zip(responses) {
        let Some(audit) = audit.as_ref().filter(|a| !a.was_written()) else {
            continue;
        };
        sink.record(audit.event(&outcome(r), response_ids(r))).await;
    }
    response
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

fn response_ids(r: &async_graphql::Response) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    crate::audit::record_ids(&r.data, &mut ids);
    ids
}

/// Per-request accessors for resolvers.
pub trait ContextExt {
    /// The caller's access, or `UNAUTHENTICATED`.
    fn access(&self) -> Result<&Arc<Access>>;
    fn identity(&self) -> Result<&Identity>;
    fn loader(&self) -> &DataLoader<Fetch>;
    /// For root lists that run their own page and count queries.
    fn pool(&self) -> Result<&DbPool>;
    fn limits(&self) -> Limits;
    /// The audit of this operation, when it is audited.
    fn audit(&self) -> Option<&Arc<RequestAudit>>;
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

    fn audit(&self) -> Option<&Arc<RequestAudit>> {
        self.data_opt::<RequestState>().and_then(|s| s.audit.as_ref())
    }

    fn limits(&self) -> Limits {
        self.data_opt::<Limits>().copied().unwrap_or_default()
    }
}

/// Parses a GraphQL `ID` argument as a UUID, naming the argument when it is not one.
pub fn parse_id(field: &str, id: &async_graphql::ID) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id.as_str()).map_err(|_| Error::bad_input(field, "not a valid id"))
}
