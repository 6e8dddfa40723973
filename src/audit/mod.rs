//! SPEC §10: every request of an external user or of a preview leaves an audit event.
//!
//! Queries' events go through [`AuditSink`] to one writer task that inserts whatever has
//! queued up in one statement (so auditing costs reads little), and drains the queue on
//! shutdown. A mutation's event is written by the mutation itself, in its transaction
//! (see `graphql::mutations`); a failed mutation's event is written after the rollback.

use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use chrono::Utc;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::access::{Access, Caller};
use crate::db::models::AuditEvent;
use crate::db::{DbPool, writes};

/// Who and what one audited operation is about.
#[derive(Debug)]
pub struct RequestAudit {
    pub workspace_id: Uuid,
    pub external_user_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub preview_by: Option<Uuid>,
    pub operation_name: Option<String>,
    pub operation_type: &'static str,
    pub root_fields: Vec<String>,
    /// Set once a mutation wrote this operation's event itself.
    pub written: AtomicBool,
}

impl RequestAudit {
    /// The audit of one operation, for external callers and previews; `None` for staff.
    pub fn of(access: &Access, query: &str, operation_name: Option<&str>) -> Option<RequestAudit> {
        let (external_user_id, account_id) = match access.caller() {
            Caller::External { id, account_id, .. } => ((!id.is_nil()).then_some(*id), Some(*account_id)),
            Caller::Staff { .. } => return None,
        };
        let (operation_type, operation_name, root_fields) = operation(query, operation_name);
        Some(RequestAudit {
            workspace_id: access.caller().workspace_id(),
            external_user_id,
            account_id,
            preview_by: access.preview_by(),
            operation_name,
            operation_type,
            root_fields,
            written: AtomicBool::new(false),
        })
    }

    /// The event for an outcome (`OK` or an error code) and the records concerned.
    pub fn event(&self, outcome: &str, record_ids: Vec<Uuid>) -> AuditEvent {
        AuditEvent {
            id: Uuid::now_v7(),
            workspace_id: self.workspace_id,
            at: Utc::now(),
            external_user_id: self.external_user_id,
            account_id: self.account_id,
            preview_by: self.preview_by,
            operation_name: self.operation_name.clone(),
            operation_type: self.operation_type.to_string(),
            root_fields: self.root_fields.clone(),
            record_ids,
            outcome: outcome.to_string(),
        }
    }

    pub fn mark_written(&self) {
        self.written.store(true, Ordering::SeqCst);
    }

    pub fn was_written(&self) -> bool {
        self.written.load(Ordering::SeqCst)
    }
}

/// The type, name and root fields of the operation a request runs (a query that does
/// not parse is recorded as a query with no root fields).
fn operation(query: &str, name: Option<&str>) -> (&'static str, Option<String>, Vec<String>) {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return ("QUERY", name.map(str::to_string), Vec::new());
    };
    let (op, name) = match (&doc.operations, name) {
        (DocumentOperations::Single(op), n) => (Some(op), n.map(str::to_string)),
        (DocumentOperations::Multiple(ops), Some(n)) => (ops.get(n), Some(n.to_string())),
        (DocumentOperations::Multiple(ops), None) => match ops.iter().next() {
            Some((n, op)) => (Some(op), Some(n.to_string())),
            None => (None, None),
        },
    };
    let Some(op) = op else {
        return ("QUERY", name, Vec::new());
    };
    let kind = match op.node.ty {
        OperationType::Query => "QUERY",
        OperationType::Mutation => "MUTATION",
        OperationType::Subscription => "SUBSCRIPTION",
    };
    let roots = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|s| match &s.node {
            Selection::Field(f) => Some(f.node.name.node.to_string()),
            _ => None,
        })
        .collect();
    (kind, name, roots)
}

/// The ids of the records in a response: every `id` field that holds a UUID.
pub fn record_ids(data: &async_graphql::Value, out: &mut Vec<Uuid>) {
    use async_graphql::Value;
    match data {
        Value::Object(map) => {
            for (k, v) in map {
                if k.as_str() == "id"
                    && let Value::String(s) = v
                    && let Ok(id) = Uuid::parse_str(s)
                    && !out.contains(&id)
                {
                    out.push(id);
                }
                record_ids(v, out);
            }
        }
        Value::List(items) => items.iter().for_each(|v| record_ids(v, out)),
        _ => {}
    }
}

/// Where request-level events go.
#[derive(Clone)]
pub struct AuditSink(mpsc::Sender<AuditEvent>);

/// The writer task; [`AuditWriter::finish`] waits until every queued event is written.
pub struct AuditWriter(tokio::task::JoinHandle<()>);

const BATCH: usize = 500;

impl AuditSink {
    pub fn start(pool: DbPool) -> (AuditSink, AuditWriter) {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(10_000);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                write(&pool, &batch).await;
                batch.clear();
            }
        });
        (AuditSink(tx), AuditWriter(task))
    }

    /// Queues an event; waits only when the writer is far behind (nothing is dropped).
    pub async fn record(&self, event: AuditEvent) {
        if self.0.send(event).await.is_err() {
            tracing::error!("audit writer stopped; event lost");
        }
    }
}

async fn write(pool: &DbPool, batch: &[AuditEvent]) {
    for attempt in 0..3 {
        let result = match pool.get().await {
            Ok(mut conn) => writes::insert_audit_events(&mut conn, batch)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, attempt, events = batch.len(), "writing audit events failed");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

impl AuditWriter {
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}
