//! One `/graphql` request as it is observed: a layer around the handler times it,
//! counts its SQL statements on its own task ([`crate::db::count_statements`]), and
//! keeps a [`Record`] in a task-local for the code that learns the rest (the operation
//! extension, and `errors.rs`, which sees every refusal's code). When the answer is
//! ready, the report goes to the metrics and to one log line.
//!
//! The log line carries the operation's name only when the document defines it (a
//! GraphQL name, never free text from the request), the caller's id, the outcome code,
//! the duration and the statement count: never a token, a header or a value.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use crate::error::Error;
use crate::http::App;

tokio::task_local! {
    static RECORD: Arc<Record>;
}

/// What the request's code notes while it runs.
#[derive(Default)]
pub(super) struct Record(Mutex<Noted>);

#[derive(Default)]
struct Noted {
    operations: Vec<Operation>,
    /// Codes given to errors, in order (`errors.rs`).
    codes: Vec<&'static str>,
    refusals: Vec<&'static str>,
    caller: Option<Uuid>,
    preview_by: Option<Uuid>,
}

/// One operation of the request.
pub(super) struct Operation {
    pub operation_type: &'static str,
    /// Its name, when the document defines it.
    pub name: Option<String>,
    /// `OK` or the first error's code; `None` while it runs (or if it was cut short).
    pub outcome: Option<String>,
}

/// A finished request, as counted and logged.
pub(super) struct Report {
    pub operations: Vec<ReportedOperation>,
    pub duration: Duration,
    pub statements: u64,
    pub refusals: Vec<&'static str>,
}

pub(super) struct ReportedOperation {
    pub operation_type: &'static str,
    pub outcome: String,
}

impl Record {
    fn with<T>(f: impl FnOnce(&mut Noted) -> T) -> Option<T> {
        RECORD
            .try_with(|r| r.0.lock().ok().map(|mut n| f(&mut n)))
            .ok()
            .flatten()
    }

    /// Notes an operation about to run; its index, for [`Record::finish_operation`].
    pub(super) fn start_operation(
        op: Operation,
        caller: Option<Uuid>,
        preview_by: Option<Uuid>,
    ) -> Option<usize> {
        Record::with(|n| {
            n.caller = n.caller.or(caller);
            n.preview_by = n.preview_by.or(preview_by);
            n.operations.push(op);
            n.operations.len() - 1
        })
    }

    pub(super) fn finish_operation(index: usize, outcome: String) {
        Record::with(|n| {
            if let Some(op) = n.operations.get_mut(index) {
                op.outcome = Some(outcome);
            }
        });
    }
}

/// Notes the code given to an error of the running request, and which limit refused
/// it if one did. `errors.rs` calls it for every error it codes, refusals before
/// execution included; outside a `/graphql` request it does nothing.
pub fn note_error(error: Option<&Error>, code: &'static str) {
    let limit = match error {
        Some(Error::Limit { key, .. }) => Some(*key),
        Some(Error::RateLimited { .. }) => Some("rate"),
        Some(Error::Timeout(_)) => Some("time"),
        _ => None,
    };
    Record::with(|n| {
        n.codes.push(code);
        n.refusals.extend(limit);
    });
}

/// The layer around `/graphql`: runs the request with its record, then counts and logs
/// it.
pub async fn observe(State(app): State<App>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let record = Arc::new(Record::default());
    let (response, statements) =
        crate::db::count_statements(RECORD.scope(record.clone(), next.run(request))).await;
    let noted = record
        .0
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default();
    report(noted, response.status(), started.elapsed(), statements, &app);
    response
}

fn report(mut noted: Noted, status: StatusCode, duration: Duration, statements: u64, app: &App) {
    // A body refused by its size never reaches the code that notes errors.
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        noted.refusals.push("body");
    }
    // A request answered before any operation ran counts as one, of no known type.
    let fallback = || match noted.codes.last() {
        Some(code) => code.to_string(),
        None if status.is_success() => "OK".to_string(),
        None if status.is_server_error() => "INTERNAL".to_string(),
        None => "BAD_REQUEST".to_string(),
    };
    let operations: Vec<ReportedOperation> = if noted.operations.is_empty() {
        vec![ReportedOperation {
            operation_type: "unknown",
            outcome: fallback(),
        }]
    } else {
        noted
            .operations
            .iter()
            .map(|op| ReportedOperation {
                operation_type: op.operation_type,
                // Cut short (the request time): the last code given, `TIMEOUT`.
                outcome: op.outcome.clone().unwrap_or_else(fallback),
            })
            .collect()
    };
    let names: Vec<&str> = noted
        .operations
        .iter()
        .map(|op| op.name.as_deref().unwrap_or("-"))
        .collect();
    let outcome = operations
        .iter()
        .map(|op| op.outcome.as_str())
        .find(|o| *o != "OK")
        .unwrap_or("OK");
    let types: Vec<&str> = operations.iter().map(|op| op.operation_type).collect();
    tracing::info!(
        target: "portal_gateway::request",
        operation = %names.join(","),
        operation_type = %types.join(","),
        caller = %noted.caller.map_or_else(|| "-".to_string(), |c| c.to_string()),
        preview_by = noted.preview_by.map(tracing::field::display),
        outcome = %outcome,
        status = status.as_u16(),
        duration_ms = duration.as_secs_f64() * 1000.0,
        statements,
        "request"
    );
    app.metrics.observe(&Report {
        operations,
        duration,
        statements,
        refusals: noted.refusals,
    });
}
