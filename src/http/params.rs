//! The parameters of a GraphQL request (GraphQL over HTTP): `query`, `operationName`,
//! `variables`, `extensions`, from a POST body (one object, or an array of them: a
//! batch) or from a GET's query string. Every mistake is one line naming the parameter,
//! in the words of the protocol, never of the Rust types that read it.

use async_graphql::{Request, Variables};
use serde_json::{Map, Value};

/// One operation's parameters as sent; `query` may be absent here so that a persisted
/// document can still supply it before [`Params::into_request`] insists on one.
#[derive(Debug, Default)]
pub struct Params {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<Map<String, Value>>,
    pub extensions: Option<Map<String, Value>>,
}

/// A request that is not a GraphQL request: 400 under either media type.
#[derive(Debug)]
pub struct Invalid {
    pub message: String,
    /// The parameter at fault, answered as `extensions.field`.
    pub field: Option<&'static str>,
}

impl Invalid {
    fn new(message: impl Into<String>, field: Option<&'static str>) -> Invalid {
        Invalid {
            message: message.into(),
            field,
        }
    }

    /// The same mistake, placed in operation `index` of a batch.
    pub fn in_batch(self, index: usize) -> Invalid {
        Invalid {
            message: format!("operation {index} of the batch: {}", self.message),
            field: self.field,
        }
    }
}

/// A POST body: one operation, or a batch of them.
pub enum Body {
    Single(Params),
    Batch(Vec<Params>),
}

impl Body {
    pub fn parse(bytes: &[u8]) -> Result<Body, Invalid> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Invalid::new(
                "the request body is empty: send a JSON object with a `query` string",
                None,
            ));
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Invalid::new(format!("the request body is not valid JSON: {e}"), None))?;
        match value {
            Value::Object(map) => Params::from_json(map).map(Body::Single),
            Value::Array(items) if items.is_empty() => Err(Invalid::new(
                "the batch is empty: send at least one operation",
                None,
            )),
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Params::from_json(map).map_err(|e| e.in_batch(i)),
                    other => Err(Invalid::new(
                        format!(
                            "operation {i} of the batch is {}, not a JSON object",
                            kind(&other)
                        ),
                        None,
                    )),
                })
                .collect::<Result<_, _>>()
                .map(Body::Batch),
            other => Err(Invalid::new(
                format!(
                    "the request body is {}: send a JSON object with a `query` string (or an array of them)",
                    kind(&other)
                ),
                None,
            )),
        }
    }
}

impl Params {
    fn from_json(mut map: Map<String, Value>) -> Result<Params, Invalid> {
        let query = match map.remove("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => return Err(not_a("query", "a string", &other)),
        };
        let operation_name = match map.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => return Err(not_a("operationName", "a string", &other)),
        };
        Ok(Params {
            query,
            operation_name,
            variables: object("variables", map.remove("variables"))?,
            extensions: object("extensions", map.remove("extensions"))?,
        })
    }

    /// A GET's parameters: each at most once; `variables` and `extensions` are JSON text.
    pub fn from_query_string(pairs: Vec<(String, String)>) -> Result<Params, Invalid> {
        let mut params = Params::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in pairs {
            if seen.contains(&name) {
                let field = match name.as_str() {
                    "query" => Some("query"),
                    "operationName" => Some("operationName"),
                    "variables" => Some("variables"),
                    "extensions" => Some("extensions"),
                    _ => None,
                };
                return Err(Invalid::new(
                    format!("the parameter `{name}` is given more than once"),
                    field,
                ));
            }
            match name.as_str() {
                "query" => params.query = Some(value),
                "operationName" => params.operation_name = Some(value).filter(|v| !v.is_empty()),
                "variables" => params.variables = json_text("variables", &value)?,
                "extensions" => params.extensions = json_text("extensions", &value)?,
                _ => {}
            }
            seen.push(name);
        }
        Ok(params)
    }

    /// The request to execute; without a `query` it is no GraphQL request.
    /// The request to run. `query` may be absent when a persisted document names it (its
    /// text is filled in later, by `graphql::persisted`, which also answers an unknown
    /// hash), and always under trusted documents, where whatever is not in the list is
    /// answered as such.
    pub fn into_request(self, trusted_documents: bool) -> Result<Request, Invalid> {
        let persisted = trusted_documents
            || self
                .extensions
                .as_ref()
                .is_some_and(|e| e.contains_key("persistedQuery"));
        let query = match self.query.filter(|q| !q.trim().is_empty()) {
            Some(query) => query,
            None if persisted => String::new(),
            None => {
                return Err(Invalid::new(
                    "the request has no query: send the GraphQL document as the `query` string",
                    Some("query"),
                ));
            }
        };
        let mut request = Request::new(query);
        request.operation_name = self.operation_name;
        if let Some(variables) = self.variables {
            request.variables = Variables::from_json(Value::Object(variables));
        }
        if let Some(extensions) = self.extensions {
            for (name, value) in extensions {
                if let Ok(value) = async_graphql::Value::from_json(value) {
                    request.extensions.0.insert(name, value);
                }
            }
        }
        Ok(request)
    }
}

fn object(name: &'static str, value: Option<Value>) -> Result<Option<Map<String, Value>>, Invalid> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(not_a(name, "a JSON object", &other)),
    }
}

fn json_text(name: &'static str, text: &str) -> Result<Option<Map<String, Value>>, Invalid> {
    if text.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Invalid::new(format!("`{name}` is not valid JSON: {e}"), Some(name)))?;
    object(name, Some(value))
}

fn not_a(name: &'static str, expected: &str, found: &Value) -> Invalid {
    Invalid::new(
        format!("`{name}` must be {expected}, not {}", kind(found)),
        Some(name),
    )
}

/// A JSON value's kind, as a client developer would name it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        match Body::parse(body.as_bytes()) {
            Err(e) => e.message,
            Ok(_) => "ok".into(),
        }
    }

    #[test]
    fn every_shape_has_its_own_sentence() {
        assert_eq!(message(r#"{"query":"{ a }"}"#), "ok");
        assert_eq!(
            message(r#"{"query":5}"#),
            "`query` must be a string, not a number"
        );
        assert_eq!(
            message(r#"{"query":"{ a }","variables":"x"}"#),
            "`variables` must be a JSON object, not a string"
        );
        assert_eq!(
            message(r#"[{"query":"{ a }"}, 3]"#),
            "operation 1 of the batch is a number, not a JSON object"
        );
        assert!(message("{").starts_with("the request body is not valid JSON: EOF"));
        assert!(message("").starts_with("the request body is empty"));
        assert!(message("[]").starts_with("the batch is empty"));
    }
}
