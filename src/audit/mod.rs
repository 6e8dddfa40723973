//! docs/operations.md#audit: every request of an external user or of a preview leaves an
//! audit event.
//!
//! What an event says comes from what ran, never from the response's keys: the root
//! fields are the schema names of the executed operation's root fields, through
//! aliases, fragments and inline fragments; the record ids are those of the records the
//! resolvers handed out ([`RequestAudit::returned`]), whether or not the client selected
//! `id`, so an alias `id: title` cannot forge one and leaving `id` out cannot blank one.
//!
//! Queries' events go through [`AuditSink`] to one writer task with its own connections,
//! which inserts whatever has queued up in one statement (so auditing costs reads
//! little), retries until the database takes them, and drains the queue on shutdown. A
//! mutation's event is written by the mutation itself, in its transaction (see
//! `graphql::mutations`); a failed mutation's event goes through the sink, so that no
//! request ever waits for a second pooled connection while holding one.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::parser::types::{
    Directive, DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::{Name, Positioned, Value as ConstValue, Variables};
use async_graphql_value::Value;
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
    /// The records resolved into the response so far, in the order first returned (the
    /// set answers "seen already?" without a scan: a dashboard returns hundreds).
    returned: Mutex<(Vec<Uuid>, foldhash::HashSet<Uuid>)>,
    /// Set once a mutation wrote this operation's event itself.
    pub written: AtomicBool,
}

impl RequestAudit {
    /// The audit of one operation, for external callers and previews; `None` for staff.
    /// The document is parsed here once and kept in the request, where execution and
    /// the other steps find it.
    pub fn of(access: &Access, request: &mut async_graphql::Request) -> Option<RequestAudit> {
        let (external_user_id, account_id) = match access.caller() {
            Caller::External { id, account_id, .. } => ((!id.is_nil()).then_some(*id), Some(*account_id)),
            Caller::Staff { .. } => return None,
        };
        let name = request.operation_name.clone();
        let variables = std::mem::take(&mut request.variables);
        let (operation_type, operation_name, root_fields) =
            operation(request.parsed_query().ok(), name.as_deref(), &variables);
        request.variables = variables;
        Some(RequestAudit {
            workspace_id: access.caller().workspace_id(),
            external_user_id,
            account_id,
            preview_by: access.preview_by(),
            operation_name,
            operation_type,
            root_fields,
            returned: Mutex::new(Default::default()),
            written: AtomicBool::new(false),
        })
    }

    /// The audit of a request refused before anything ran (a limit, a preview header, a
    /// rate limit), for a caller known only by their token or preview.
    pub fn refused(
        who: Refused,
        query: &str,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> RequestAudit {
        let doc = async_graphql::parser::parse_query(query).ok();
        let (operation_type, operation_name, root_fields) =
            operation(doc.as_ref(), operation_name, variables);
        RequestAudit {
            workspace_id: who.workspace_id,
            external_user_id: who.external_user_id,
            account_id: None,
            preview_by: who.preview_by,
            operation_name,
            operation_type,
            root_fields,
            returned: Mutex::new(Default::default()),
            written: AtomicBool::new(false),
        }
    }

    /// Notes a record a resolver handed out into the response.
    pub fn returned(&self, id: Uuid) {
        if let Ok(mut returned) = self.returned.lock()
            && returned.1.insert(id)
        {
            returned.0.push(id);
        }
    }

    /// The records resolved into the response.
    pub fn returned_ids(&self) -> Vec<Uuid> {
        self.returned.lock().map(|r| r.0.clone()).unwrap_or_default()
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
            operation_name: self.operation_name.as_deref().map(storable),
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

/// An operation name as the client sent it, made storable: PostgreSQL text holds no
/// NUL, and a name longer than any real one is cut (an attacker must not be able to
/// make an event unwritable, or huge).
fn storable(name: &str) -> String {
    name.chars()
        .take(200)
        .map(|c| if c == '\0' { char::REPLACEMENT_CHARACTER } else { c })
        .collect()
}

/// Who made a request that was refused before it ran.
#[derive(Clone, Copy, Debug)]
pub struct Refused {
    pub workspace_id: Uuid,
    pub external_user_id: Option<Uuid>,
    pub preview_by: Option<Uuid>,
}

/// The operation of a document that runs: the named one, or the only one. The same rule
/// as execution's, so that what is audited is what ran.
/// The type of the operation `op` would run (its document parsed once, and kept in
/// `op`); `None` when the document does not parse or its operation cannot be chosen.
pub fn operation_type(op: &mut async_graphql::Request) -> Option<OperationType> {
    let name = op.operation_name.clone();
    let doc = op.parsed_query().ok()?;
    selected_operation(doc, name.as_deref()).map(|o| o.node.ty)
}

pub fn selected_operation<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<async_graphql::parser::types::OperationDefinition>> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(n)) => ops.get(n),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The type, name and root fields of the operation a request runs (a query that does
/// not parse, or names no operation it has, is recorded as a query with no root fields).
fn operation(
    doc: Option<&ExecutableDocument>,
    name: Option<&str>,
    variables: &Variables,
) -> (&'static str, Option<String>, Vec<String>) {
    let name_owned = name.map(str::to_string);
    let Some(doc) = doc else {
        return ("QUERY", name_owned, Vec::new());
    };
    let Some(op) = selected_operation(doc, name) else {
        return ("QUERY", name_owned, Vec::new());
    };
    let kind = match op.node.ty {
        OperationType::Query => "QUERY",
        OperationType::Mutation => "MUTATION",
        OperationType::Subscription => "SUBSCRIPTION",
    };
    // A named operation sent without `operationName` is the document's only one.
    let name = name_owned.or_else(|| match &doc.operations {
        DocumentOperations::Multiple(ops) => ops.keys().next().map(|n| n.to_string()),
        DocumentOperations::Single(_) => None,
    });
    let mut roots = Vec::new();
    let walk = RootWalk {
        fragments: &doc.fragments,
        variables,
    };
    walk.fields(&op.node.selection_set, &mut HashSet::new(), &mut roots);
    (kind, name, roots)
}

/// What the root fields of an operation are read against.
struct RootWalk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
}

impl RootWalk<'_> {
    /// The schema names of the fields of `set` that execute, through inline fragments
    /// and fragment spreads, leaving out what `@skip`/`@include` leave out; each
    /// fragment is entered once (which also ends cycles), each name kept once.
    fn fields(&self, set: &Positioned<SelectionSet>, entered: &mut HashSet<Name>, out: &mut Vec<String>) {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(f) if self.runs(&f.node.directives) => {
                    let name = f.node.name.node.as_str();
                    if !out.iter().any(|n| n == name) {
                        out.push(name.to_string());
                    }
                }
                Selection::InlineFragment(f) if self.runs(&f.node.directives) => {
                    self.fields(&f.node.selection_set, entered, out)
                }
                Selection::FragmentSpread(s) if self.runs(&s.node.directives) => {
                    let name = &s.node.fragment_name.node;
                    if entered.insert(name.clone())
                        && let Some(f) = self.fragments.get(name)
                    {
                        self.fields(&f.node.selection_set, entered, out);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether a selection executes under its `@skip(if:)` and `@include(if:)`. A
    /// condition that is neither a boolean nor a variable holding one (validation
    /// refuses it) counts as running, so nothing escapes the record by a bad argument.
    fn runs(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().all(|d| {
            let condition = d.node.get_argument("if").and_then(|v| match &v.node {
                Value::Boolean(b) => Some(*b),
                Value::Variable(name) => match self.variables.get(name) {
                    Some(ConstValue::Boolean(b)) => Some(*b),
                    _ => None,
                },
                _ => None,
            });
            !matches!(
                (d.node.name.node.as_str(), condition),
                ("skip", Some(true)) | ("include", Some(false))
            )
        })
    }
}

/// Where request-level events go.
#[derive(Clone)]
pub struct AuditSink {
    queue: mpsc::Sender<AuditEvent>,
    depth: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// The writer task; [`AuditWriter::finish`] waits until every queued event is written.
pub struct AuditWriter(tokio::task::JoinHandle<()>);

const BATCH: usize = 500;
/// Events queued before a request waits for the writer: minutes of a flood, or the
/// seconds of a database outage, without anyone waiting.
const QUEUE: usize = 100_000;
/// How long the writer keeps trying one batch while the database is away, and how
/// long shutdown waits for the database to take what is left.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

impl AuditSink {
    pub fn start(pool: DbPool) -> (AuditSink, AuditWriter) {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(QUEUE);
        let depth = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let queued = depth.clone();
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                write(&pool, &batch).await;
                queued.fetch_sub(batch.len(), Ordering::Relaxed);
                batch.clear();
            }
        });
        (AuditSink { queue: tx, depth }, AuditWriter(task))
    }

    /// Queues an event; waits only when the writer is far behind (nothing is dropped).
    pub async fn record(&self, event: AuditEvent) {
        self.depth.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(event).await.is_err() {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            tracing::error!("audit writer stopped; event lost");
        }
    }

    /// Events queued and not yet written.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }
}

/// Writes one batch, retrying with backoff while the database is away: events wait in
/// the queue rather than being dropped, for up to [`GIVE_UP_AFTER`].
async fn write(pool: &DbPool, batch: &[AuditEvent]) {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    for attempt in 0.. {
        let result = match pool.get().await {
            Ok(mut conn) => writes::insert_audit_events(&mut conn, batch)
                .await
                .map_err(WriteError::from),
            Err(e) => Err(WriteError::Unreachable(e.to_string())),
        };
        let Err(e) = result else { return };
        if let WriteError::Refused(e) = &e {
            // The database took the statement and refused a row: write the rest one by
            // one, so that one bad event never holds back the others.
            tracing::error!(error = %e, events = batch.len(), "an audit batch was refused; writing its events one by one");
            return write_each(pool, batch).await;
        }
        if started.elapsed() > GIVE_UP_AFTER {
            tracing::error!(error = %e, attempt, events = batch.len(), "audit events lost: the database did not take them");
            return;
        }
        tracing::warn!(error = %e, attempt, events = batch.len(), "writing audit events failed; retrying");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

enum WriteError {
    /// The database is away or the connection broke: try again.
    Unreachable(String),
    /// The database refused the rows (a constraint): trying again will not help.
    Refused(String),
}

impl From<diesel::result::Error> for WriteError {
    fn from(e: diesel::result::Error) -> WriteError {
        use diesel::result::DatabaseErrorKind as Kind;
        match e {
            diesel::result::Error::DatabaseError(
                Kind::UniqueViolation
                | Kind::ForeignKeyViolation
                | Kind::NotNullViolation
                | Kind::CheckViolation,
                _,
            ) => WriteError::Refused(e.to_string()),
            e => WriteError::Unreachable(e.to_string()),
        }
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Unreachable(e) | WriteError::Refused(e) => f.write_str(e),
        }
    }
}

async fn write_each(pool: &DbPool, batch: &[AuditEvent]) {
    for event in batch {
        let result = match pool.get().await {
            Ok(mut conn) => writes::insert_audit_events(&mut conn, std::slice::from_ref(event))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, event = %event.id, "audit event refused by the database");
        }
    }
}

impl AuditWriter {
    pub async fn finish(self) {
        let _ = self.0.await;
    }
}
