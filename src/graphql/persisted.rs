//! Persisted documents for mobile apps (docs/operations.md#limits), decided on the request as sent,
//! before anything parses its document:
//!
//! - **automatic persisted queries** (Apollo's protocol): a request may name its
//!   document by `extensions.persistedQuery { version: 1, sha256Hash }`. An unknown hash
//!   answers `PERSISTED_QUERY_NOT_FOUND` with the message `PersistedQueryNotFound`, which
//!   is what Apollo clients look for before they resend the hash with the document; a
//!   document sent with its hash is checked against it, runs, and is remembered once it
//!   has validated. The memory is per instance, per workspace (a document one workspace
//!   registered is unknown to another), and bounded in bytes, least recently used first.
//! - **trusted documents** (`TRUSTED_DOCUMENTS`, Apollo's persisted-query manifest): only
//!   listed documents run, named by their hash or sent as listed; anything else is
//!   `PERSISTED_QUERY_NOT_IN_LIST` before it is parsed, and nothing is registered.
//!
//! [`PersistedDocuments::resolve`] runs in the HTTP layer once the caller's workspace is
//! known from their token, so that every later step (audit, limits, execution) sees the
//! document's text. A refused operation keeps no text and carries its refusal, which
//! [`PersistedRefusals`] answers first thing in `prepare_request`.

use std::any::TypeId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::ExtensionContext;
use async_graphql::{BatchRequest, Request, ServerResult, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::Error;

/// A document's SHA-256.
type Hash = [u8; 32];

/// Where a document is looked up: per workspace (`None` for callers without a valid token).
type Key = (Option<Uuid>, Hash);

const HASH_FIELD: &str = "extensions.persistedQuery.sha256Hash";
const VERSION_FIELD: &str = "extensions.persistedQuery.version";
const EXTENSION_FIELD: &str = "extensions.persistedQuery";

/// Bytes counted for an entry beyond its text (key, pointers, the LRU's links).
const ENTRY_OVERHEAD: usize = 128;

/// The persisted documents of one server: a bounded memory of registered documents, or
/// the fixed list of trusted ones.
pub enum PersistedDocuments {
    Automatic(Arc<Mutex<Registered>>),
    Trusted(HashMap<Hash, Arc<str>>),
}

/// Documents registered through automatic persisted queries, least recently used first
/// out once their text passes `max_bytes`.
pub struct Registered {
    documents: lru::LruCache<Key, Arc<str>>,
    bytes: usize,
    max_bytes: usize,
}

impl Registered {
    fn get(&mut self, key: &Key) -> Option<Arc<str>> {
        self.documents.get(key).cloned()
    }

    fn insert(&mut self, key: Key, text: Arc<str>) {
        let size = text.len() + ENTRY_OVERHEAD;
        if size > self.max_bytes || self.documents.contains(&key) {
            return;
        }
        self.documents.put(key, text);
        self.bytes += size;
        while self.bytes > self.max_bytes {
            let Some((_, old)) = self.documents.pop_lru() else {
                break;
            };
            self.bytes -= old.len() + ENTRY_OVERHEAD;
        }
    }
}

/// Why a trusted-documents manifest cannot be served; the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("TRUSTED_DOCUMENTS={path}: cannot read the manifest: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("TRUSTED_DOCUMENTS={path}: not an Apollo persisted-query manifest: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("TRUSTED_DOCUMENTS={path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(serde::Deserialize)]
struct Manifest {
    format: String,
    version: u64,
    operations: Vec<ManifestOperation>,
}

#[derive(serde::Deserialize)]
struct ManifestOperation {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    body: String,
}

impl PersistedDocuments {
    /// Automatic persisted queries, remembering at most `max_bytes` of documents.
    pub fn automatic(max_bytes: usize) -> PersistedDocuments {
        PersistedDocuments::Automatic(Arc::new(Mutex::new(Registered {
            documents: lru::LruCache::unbounded(),
            bytes: 0,
            max_bytes,
        })))
    }

    /// Trusted documents from an Apollo persisted-query manifest, checked whole: the
    /// format and version, each `id` the SHA-256 of its `body`, each body a document.
    /// Whether only the documents of a manifest run.
    pub fn is_trusted(&self) -> bool {
        matches!(self, PersistedDocuments::Trusted(_))
    }

    pub fn trusted(path: &Path) -> Result<PersistedDocuments, ManifestError> {
        let text = std::fs::read(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let manifest: Manifest = serde_json::from_slice(&text).map_err(|source| ManifestError::Json {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |message: String| ManifestError::Invalid {
            path: path.to_owned(),
            message,
        };
        if manifest.format != "apollo-persisted-query-manifest" {
            return Err(invalid(format!(
                "`format` is {:?}, not \"apollo-persisted-query-manifest\"",
                manifest.format
            )));
        }
        if manifest.version != 1 {
            return Err(invalid(format!(
                "`version` {} is not supported; only 1 is",
                manifest.version
            )));
        }
        let mut documents = HashMap::new();
        for (i, op) in manifest.operations.into_iter().enumerate() {
            let which = format!("operation {i} ({:?})", op.name);
            if !matches!(op.kind.as_str(), "query" | "mutation" | "subscription") {
                return Err(invalid(format!(
                    "{which}: `type` is {:?}, not query, mutation or subscription",
                    op.kind
                )));
            }
            let hash = sha256(&op.body);
            if parse_hash(&op.id) != Some(hash) {
                return Err(invalid(format!(
                    "{which}: `id` {:?} is not the SHA-256 of its `body` ({})",
                    op.id,
                    hex(&hash)
                )));
            }
            if async_graphql::parser::parse_query(&op.body).is_err() {
                return Err(invalid(format!("{which}: `body` is not a GraphQL document")));
            }
            documents.insert(hash, Arc::from(op.body));
        }
        Ok(PersistedDocuments::Trusted(documents))
    }

    /// Gives each operation of `batch` the text of its document, or a refusal (and no
    /// text) that [`PersistedRefusals`] answers before anything parses it. `workspace` is
    /// the caller's, as their token says.
    pub fn resolve(&self, workspace: Option<Uuid>, batch: &mut BatchRequest) {
        for op in batch.iter_mut() {
            match self.document(workspace, op) {
                Ok(Resolved::AsSent) => {}
                Ok(Resolved::Found(text)) => op.query = text.to_string(),
                Ok(Resolved::Register(registration)) => op.data.insert(registration),
                Err(e) => {
                    op.query = String::new();
                    op.data.insert(Refusal(e));
                }
            }
        }
    }

    fn document(&self, workspace: Option<Uuid>, op: &Request) -> Result<Resolved, Error> {
        let asked = persisted_query(op)?;
        match self {
            PersistedDocuments::Automatic(registered) => {
                let Some(hash) = asked else {
                    return Ok(Resolved::AsSent);
                };
                let key = (workspace, hash);
                if op.query.is_empty() {
                    let found = registered.lock().ok().and_then(|mut r| r.get(&key));
                    return found.map(Resolved::Found).ok_or(Error::PersistedQueryNotFound);
                }
                if sha256(&op.query) != hash {
                    return Err(hash_mismatch());
                }
                Ok(Resolved::Register(Registration {
                    registered: registered.clone(),
                    key,
                    text: Arc::from(op.query.as_str()),
                }))
            }
            PersistedDocuments::Trusted(listed) => {
                let hash = match asked {
                    Some(hash) if !op.query.is_empty() && sha256(&op.query) != hash => {
                        return Err(hash_mismatch());
                    }
                    Some(hash) => hash,
                    None if op.query.is_empty() => return Err(Error::PersistedQueryNotInList),
                    None => sha256(&op.query),
                };
                let text = listed.get(&hash).ok_or(Error::PersistedQueryNotInList)?;
                Ok(Resolved::Found(text.clone()))
            }
        }
    }
}

enum Resolved {
    /// No persisted document involved: the request runs as sent.
    AsSent,
    Found(Arc<str>),
    /// A document sent with its (verified) hash, to remember once it validates.
    Register(Registration),
}

/// The hash a request names in `extensions.persistedQuery`, if any.
fn persisted_query(op: &Request) -> Result<Option<Hash>, Error> {
    let Some(pq) = op.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(pq) = pq else {
        return Err(Error::bad_input(
            EXTENSION_FIELD,
            "expected an object { version: 1, sha256Hash }",
        ));
    };
    let version_1 = match pq.get("version") {
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    };
    if !version_1 {
        return Err(Error::bad_input(
            VERSION_FIELD,
            "unsupported persisted query version; only 1 is supported",
        ));
    }
    match pq.get("sha256Hash") {
        Some(Value::String(s)) => parse_hash(s)
            .map(Some)
            .ok_or_else(|| Error::bad_input(HASH_FIELD, "expected a SHA-256 hash in hexadecimal")),
        _ => Err(Error::bad_input(
            HASH_FIELD,
            "expected a SHA-256 hash in hexadecimal",
        )),
    }
}

fn hash_mismatch() -> Error {
    Error::bad_input(HASH_FIELD, "does not match the SHA-256 of the query")
}

fn sha256(text: &str) -> Hash {
    Sha256::digest(text.as_bytes()).into()
}

/// 64 hexadecimal digits, in either case.
fn parse_hash(s: &str) -> Option<Hash> {
    let digits = s.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *byte = (high * 16 + low) as u8;
    }
    Some(hash)
}

fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// An operation refused by [`PersistedDocuments::resolve`].
struct Refusal(Error);

/// A document to remember once it has validated (a document that does not validate is
/// not worth a place in the memory).
struct Registration {
    registered: Arc<Mutex<Registered>>,
    key: Key,
    text: Arc<str>,
}

/// The refusal [`PersistedDocuments::resolve`] decided for this operation, answered
/// before any other step of the request parses its document.
pub(super) fn refusal(request: &Request) -> ServerResult<()> {
    let refusal = request
        .data
        .get(&TypeId::of::<Refusal>())
        .and_then(|d| d.downcast_ref::<Refusal>());
    match refusal {
        Some(Refusal(e)) => Err(super::errors::server_error(e.clone())),
        None => Ok(()),
    }
}

/// Remembers an automatic persisted query once its document has validated.
pub(super) fn register_validated(ctx: &ExtensionContext<'_>) {
    if let Some(r) = ctx.data_opt::<Registration>()
        && let Ok(mut registered) = r.registered.lock()
    {
        registered.insert(r.key, r.text.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_in_either_case() {
        let hash = sha256("{ __typename }");
        assert_eq!(parse_hash(&hex(&hash)), Some(hash));
        assert_eq!(parse_hash(&hex(&hash).to_uppercase()), Some(hash));
        assert_eq!(parse_hash("abc"), None);
        assert_eq!(parse_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn the_memory_stays_within_its_bytes() {
        let mut r = Registered {
            documents: lru::LruCache::unbounded(),
            bytes: 0,
            max_bytes: 10 * (ENTRY_OVERHEAD + 100),
        };
        for i in 0..1000u32 {
            let text: Arc<str> = Arc::from(format!("{i:0100}"));
            r.insert((None, sha256(&text)), text);
            assert!(r.bytes <= r.max_bytes);
        }
        assert_eq!(r.documents.len(), 10);
        let newest = format!("{:0100}", 999);
        assert!(r.get(&(None, sha256(&newest))).is_some());
        let oldest = format!("{:0100}", 0);
        assert!(r.get(&(None, sha256(&oldest))).is_none());
    }
}
