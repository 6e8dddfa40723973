//! The response size limit (docs/operations.md): an answer over `max_response_bytes` is
//! refused with one error and `data: null`, and is never built to the end.
//!
//! Each operation keeps a byte budget, charged as every field with a selection set (an
//! object, or a list of them) resolves: its key, and the approximate size of the leaves
//! its value holds directly (an object's scalar members, or those of each object of a
//! list); nested objects and lists are charged by their own fields. Leaf fields and list
//! items do not pass through the extension at all, and objects and lists only through
//! its two synchronous calls before and after they resolve, without a future of their
//! own (async-graphql as patched in `vendor/async-graphql`), which is what makes the
//! budget cheap. Once the budget is
//! spent, every object or list still to resolve is refused before its resolver runs, so
//! no further row is loaded; the operation's answer is then replaced by the one refusal.
//! The exact serialised size is checked as a backstop when the estimate comes near the
//! limit.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::{Response, ServerError, ServerResult, Value};

use super::errors::server_error;
use crate::error::Error;

/// One operation's budget.
pub struct Budget {
    max_bytes: usize,
    spent: AtomicUsize,
}

impl Budget {
    pub fn new(max_bytes: usize) -> Budget {
        Budget {
            max_bytes,
            spent: AtomicUsize::new(0),
        }
    }

    fn refusal(&self, bytes: usize) -> ServerError {
        server_error(Error::Limit {
            what: "response size in bytes",
            key: "responseBytes",
            figure: u64::try_from(bytes).unwrap_or(u64::MAX),
            limit: u64::try_from(self.max_bytes).unwrap_or(u64::MAX),
        })
    }
}

/// The bytes `value` adds to the answer as a leaf (a scalar, an enum, or a list of them).
fn leaf_bytes(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Boolean(_) => 5,
        Value::Number(_) => 20,
        // Quotes, and room for a few escapes.
        Value::String(s) => s.len() + 2 + s.len() / 8,
        Value::Enum(name) => name.len() + 2,
        Value::Binary(b) => b.len() * 2,
        Value::List(items) => 2 + items.iter().map(|v| leaf_bytes(v) + 1).sum::<usize>(),
        Value::Object(_) => 2,
    }
}

/// Whether `value` came from a field with a selection set (charged by that field).
fn is_composite(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::List(items) => items.iter().any(is_composite),
        _ => false,
    }
}

/// The bytes of the leaves `value` holds directly: an object's members that are leaves
/// (with their keys), or those of every object in a list; a leaf value itself.
fn own_bytes(value: &Value) -> usize {
    match value {
        Value::Object(members) => {
            2 + members
                .iter()
                .filter(|(_, v)| !is_composite(v))
                .map(|(k, v)| k.len() + 4 + leaf_bytes(v))
                .sum::<usize>()
        }
        Value::List(items) => 2 + items.iter().map(|v| own_bytes(v) + 1).sum::<usize>(),
        leaf => leaf_bytes(leaf),
    }
}

/// The exact length of `value` as JSON, without building the text.
fn serialised_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

impl Budget {
    /// Refuses a field with a selection set before its resolver runs once the budget is
    /// spent, so that no further row is loaded.
    pub fn enter(&self) -> ServerResult<()> {
        let spent = self.spent.load(Ordering::Relaxed);
        if spent > self.max_bytes {
            return Err(self.refusal(spent));
        }
        Ok(())
    }

    /// Charges a field with a selection set once it resolved: its response key, `"key":`
    /// and a comma, and the leaves its value holds directly.
    pub fn leave(&self, key: &str, value: &Value) -> ServerResult<()> {
        let bytes = key.len() + 4 + own_bytes(value);
        let spent = self
            .spent
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if spent > self.max_bytes {
            return Err(self.refusal(spent));
        }
        Ok(())
    }

    /// The answer, or the one refusal when it came out over the budget.
    pub fn check(&self, response: Response) -> Response {
        let spent = self.spent.load(Ordering::Relaxed);
        let size = if spent > self.max_bytes / 2 {
            spent.max(serialised_len(&response.data))
        } else {
            spent
        };
        if size > self.max_bytes {
            return Response::from_errors(vec![self.refusal(size)]);
        }
        response
    }
}
