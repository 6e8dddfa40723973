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

use std::sync::Mutex;

use async_graphql::BatchRequest;
use async_graphql::parser::types::ExecutableDocument;

/// The text kept in all.
pub const MAX_TEXT_BYTES: usize = 256 << 10;
/// The longest text kept; longer ones are parsed per request.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 10;

pub struct ParsedDocuments {
    kept: Mutex<Kept>,
}

struct Kept {
    documents: lru::LruCache<String, ExecutableDocument>,
    bytes: usize,
    max_bytes: usize,
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
    pub fn attach(&self, batch: &mut BatchRequest) {
        for op in batch.iter_mut() {
            if let Some(doc) = self.parse(&op.query) {
                op.set_parsed_query(doc);
            }
        }
    }

    fn parse(&self, text: &str) -> Option<ExecutableDocument> {
        if text.is_empty() {
            return None;
        }
        if let Some(doc) = self.kept.lock().ok()?.documents.get(text) {
            return Some(doc.clone());
        }
        let doc = async_graphql::parser::parse_query(text).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES
            && let Ok(mut kept) = self.kept.lock()
        {
            kept.insert(text, doc.clone());
        }
        Some(doc)
    }
}

impl Kept {
    fn insert(&mut self, text: &str, doc: ExecutableDocument) {
        if text.len() > self.max_bytes || self.documents.contains(text) {
            return;
        }
        self.documents.put(text.to_owned(), doc);
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
        let first = parsed.parse(text).expect("parses");
        let again = parsed.parse(text).expect("kept");
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
        assert!(parsed.parse("").is_none());
        assert_eq!(parsed.kept.lock().unwrap().documents.len(), 0);
    }

    #[test]
    fn the_memory_stays_within_its_bytes_and_keeps_the_recent() {
        let parsed = ParsedDocuments::within(10 * 40);
        let text = |i: u32| format!("{{ a{i:030} }}");
        for i in 0..1000 {
            parsed.parse(&text(i)).unwrap();
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
