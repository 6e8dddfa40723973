//! Documents parsed once per text: a bounded memory, least recently used first out, of
//! the documents this instance has parsed, keyed by their exact text. Clients send the
//! same few documents over and over (a portal's dashboard, an app's screens), and a
//! parse is the slowest step per byte the gateway has: a dashboard's document cost
//! 260,000 instructions to parse, 3 % of its whole request (BENCHMARKS.md, "Issue 11,
//! third round").
//!
//! A document is a function of its text alone (variables, caller and schema come later),
//! so a kept one is the parse the text would give. Only documents that parse are kept;
//! one that does not is left to async-graphql, which reports its error as always. The
//! memory is bounded by the bytes of the texts kept: at most [`MAX_TEXT_BYTES`] in all,
//! none longer than [`MAX_DOCUMENT_BYTES`]; its parsed form costs about ten times its
//! text, so about 3 MB at most. A stream of distinct documents only pushes others out:
//! they are parsed again, as they would be without this memory.
//!
//! A kept document also keeps its validation, per operation name, once it passed: the
//! rules read the schema, the document, the operation's name and the variables, so
//! an operation sent again without variables would be validated to the same result
//! (125,000 instructions of every dashboard, 2 %). With variables, or having failed, it
//! is validated again every time.

use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{BatchRequest, ValidationResult};

/// The text kept in all.
pub const MAX_TEXT_BYTES: usize = 256 << 10;
/// The longest text kept; longer ones are parsed per request.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 10;

pub struct ParsedDocuments {
    kept: Mutex<Kept>,
}

/// The operations kept validated per document; others are validated every time.
const MAX_OPERATIONS: usize = 4;

struct Kept {
    documents: lru::LruCache<String, Entry>,
    bytes: usize,
    max_bytes: usize,
}

struct Entry {
    doc: ExecutableDocument,
    /// By operation name: its validation without variables, once it passed.
    validations: Vec<(Option<String>, Validation)>,
}

/// Request data: where an operation without variables finds its document's validation
/// for its name, or leaves it once it passes (`pipeline`).
#[derive(Clone, Default)]
pub struct Validation(Arc<OnceLock<ValidationResult>>);

impl Validation {
    /// The result of this validation, if it passed before.
    pub fn known(&self) -> Option<ValidationResult> {
        self.0.get().copied()
    }

    /// Keeps a passed validation's result.
    pub fn keep(&self, result: ValidationResult) {
        let _ = self.0.set(result);
    }
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        ParsedDocuments::within(MAX_TEXT_BYTES)
    }
}

impl ParsedDocuments {
    fn within(max_bytes: usize) -> ParsedDocuments {
        ParsedDocuments {
            kept: Mutex::new(Kept {
                documents: lru::LruCache::unbounded(),
                bytes: 0,
                max_bytes,
            }),
        }
    }

    /// Gives each operation of `batch` its parsed document, from memory or parsed now,
    /// so that nothing after (audit, limits, execution) parses it again. An operation
    /// without text (a refused persisted query) or whose text does not parse is left
    /// as it is.
    ///
    /// An operation without variables also gets its [`Validation`] as request data.
    pub fn attach(&self, batch: &mut BatchRequest) {
        for op in batch.iter_mut() {
            let operation = op.variables.is_empty().then_some(op.operation_name.as_deref());
            if let Some((doc, validation)) = self.parse(&op.query, operation) {
                op.set_parsed_query(doc);
                if let Some(validation) = validation {
                    op.data.insert(validation);
                }
            }
        }
    }

    /// The document of `text`, and when `operation` names one (`Some(None)`: the
    /// document's only operation), that operation's validation.
    fn parse(
        &self,
        text: &str,
        operation: Option<Option<&str>>,
    ) -> Option<(ExecutableDocument, Option<Validation>)> {
        if text.is_empty() {
            return None;
        }
        if let Some(entry) = self.kept.lock().ok()?.documents.get_mut(text) {
            let validation = operation.and_then(|name| entry.validation(name));
            return Some((entry.doc.clone(), validation));
        }
        let doc = async_graphql::parser::parse_query(text).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES
            && let Ok(mut kept) = self.kept.lock()
        {
            let mut entry = Entry {
                doc: doc.clone(),
                validations: Vec::new(),
            };
            let validation = operation.and_then(|name| entry.validation(name));
            kept.insert(text, entry);
            return Some((doc, validation));
        }
        Some((doc, None))
    }
}

impl Entry {
    fn validation(&mut self, name: Option<&str>) -> Option<Validation> {
        if let Some((_, v)) = self.validations.iter().find(|(n, _)| n.as_deref() == name) {
            return Some(v.clone());
        }
        if self.validations.len() >= MAX_OPERATIONS {
            return None;
        }
        let v = Validation::default();
        self.validations.push((name.map(str::to_owned), v.clone()));
        Some(v)
    }
}

impl Kept {
    fn insert(&mut self, text: &str, entry: Entry) {
        if text.len() > self.max_bytes || self.documents.contains(text) {
            return;
        }
        self.documents.put(text.to_owned(), entry);
        self.bytes += text.len();
        while self.bytes > self.max_bytes {
            let Some((old, _)) = self.documents.pop_lru() else {
                break;
            };
            self.bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> BatchRequest {
        BatchRequest::Single(async_graphql::Request::new(text))
    }

    #[test]
    fn a_kept_document_is_the_parse_of_its_text() {
        let parsed = ParsedDocuments::default();
        let text = "query Q($n: Int) { tasks(first: $n) { nodes { id title } } }";
        let (first, _) = parsed.parse(text, None).expect("parses");
        let (again, _) = parsed.parse(text, None).expect("kept");
        assert_eq!(format!("{again:?}"), format!("{first:?}"));
        assert_eq!(
            format!("{again:?}"),
            format!("{:?}", async_graphql::parser::parse_query(text).unwrap())
        );
        assert_eq!(parsed.kept.lock().unwrap().documents.len(), 1);
    }

    #[test]
    fn what_does_not_parse_is_left_to_async_graphql_and_not_kept() {
        let parsed = ParsedDocuments::default();
        let mut batch = one("{ tasks { ");
        parsed.attach(&mut batch);
        let mut op = batch.into_single().unwrap();
        assert!(
            op.parsed_query().is_err(),
            "the request still reports its parse error"
        );
        assert!(parsed.parse("", None).is_none());
        assert_eq!(parsed.kept.lock().unwrap().documents.len(), 0);
    }

    #[test]
    fn the_memory_stays_within_its_bytes_and_keeps_the_recent() {
        let parsed = ParsedDocuments::within(10 * 40);
        let text = |i: u32| format!("{{ a{i:030} }}");
        for i in 0..1000 {
            parsed.parse(&text(i), None).unwrap();
            let kept = parsed.kept.lock().unwrap();
            assert!(kept.bytes <= kept.max_bytes);
        }
        let kept = parsed.kept.lock().unwrap();
        assert_eq!(kept.documents.len(), 11);
        assert!(kept.documents.contains(text(999).as_str()));
        assert!(!kept.documents.contains(text(0).as_str()));
    }

    #[test]
    fn a_long_document_is_parsed_but_not_kept() {
        let parsed = ParsedDocuments::default();
        let long = format!("{{ {} }}", "a ".repeat(MAX_DOCUMENT_BYTES));
        let mut batch = one(&long);
        parsed.attach(&mut batch);
        assert!(batch.into_single().unwrap().parsed_query().is_ok());
        assert_eq!(parsed.kept.lock().unwrap().documents.len(), 0);
    }
}
