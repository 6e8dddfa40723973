//! The GraphQL side of a request's record: which operation ran, for whom, and its
//! outcome. The first step of the schema's pipeline (`graphql::pipeline`), so it sees
//! the document before any other step refuses it, and the response once coded.

use std::any::TypeId;
use std::sync::Mutex;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Request, Response, Value};

use super::request::{Operation, Record};
use crate::graphql::RequestState;

/// One operation's place in its request's record (async-graphql runs each operation of
/// a batch with its own extension, so one of these each).
#[derive(Default)]
pub struct OperationRecord {
    index: Mutex<Option<usize>>,
}

impl OperationRecord {
    /// Notes the operation's outcome (`OK` or its first code) once answered.
    pub fn finish(&self, response: &Response) {
        let index = self.index.lock().ok().and_then(|i| *i);
        if let Some(index) = index {
            Record::finish_operation(index, outcome(response));
        }
    }

    /// Notes which operation the request runs, and for whom.
    pub fn start(&self, request: &mut Request) {
        let (caller, preview_by) = request
            .data
            .get(&TypeId::of::<RequestState>())
            .and_then(|d| d.downcast_ref::<RequestState>())
            .and_then(|s| s.caller.as_ref())
            .map_or((None, None), |(access, identity)| {
                (Some(identity.id), access.preview_by())
            });
        let name = request.operation_name.clone();
        // Parsed once: async-graphql and the other extensions keep this document.
        let chosen = request.parsed_query().ok().and_then(|doc| {
            match (&doc.operations, name.as_deref()) {
                (DocumentOperations::Single(op), None) => Some((op.node.ty, None)),
                // An anonymous operation asked for by a name, which async-graphql refuses
                // (the name is free text from the request, never logged).
                (DocumentOperations::Single(_), Some(_)) => None,
                (DocumentOperations::Multiple(ops), Some(n)) => ops
                    .iter()
                    .find(|(k, _)| k.as_str() == n)
                    .map(|(k, op)| (op.node.ty, Some(k.to_string()))),
                (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                    ops.iter().next().map(|(k, op)| (op.node.ty, Some(k.to_string())))
                }
                (DocumentOperations::Multiple(_), None) => None,
            }
        });
        let operation = match chosen {
            Some((ty, name)) => Operation {
                operation_type: type_label(ty),
                name,
                outcome: None,
            },
            None => Operation {
                operation_type: "unknown",
                name: None,
                outcome: None,
            },
        };
        let index = Record::start_operation(operation, caller, preview_by);
        if let Ok(mut slot) = self.index.lock() {
            *slot = index;
        }
    }
}

fn type_label(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// `OK`, or the code of the response's first error.
fn outcome(r: &Response) -> String {
    r.errors
        .first()
        .and_then(|e| match e.extensions.as_ref()?.get("code")? {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "OK".to_string())
}
