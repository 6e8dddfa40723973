//! Gives every error of a response its `extensions.code`, in one place (which is also
//! where the metrics learn of every refusal), and makes each one a single line a client
//! developer can act on (docs/api.md#errors): the parser's ASCII art becomes `syntax
//! error at line L, column C: expected …`, Rust type names become the schema's, and one
//! problem gives one error. It also notes whether an operation reached execution
//! ([`Execution`]): before that, its errors are request errors, answered under
//! `application/graphql-response+json` with a 4xx and no `data`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::{DocumentOperations, OperationDefinition};
use async_graphql::{Pos, Request, Response, ServerError, ServerResult, Value};

use crate::error::Error;

/// Put in a request's data by the HTTP layer; set once the operation starts executing.
#[derive(Clone, Debug, Default)]
pub struct Execution(Arc<AtomicBool>);

impl Execution {
    pub fn started(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// An error of ours as a GraphQL error, with the error as its source (which
/// [`with_code`] reads to give it its code).
pub fn server_error(e: Error) -> ServerError {
    let mut err = ServerError::new(e.to_string(), None);
    err.source = Some(Arc::new(e));
    err
}

/// Every error of a finished response: one per problem, each with its code.
pub(super) fn code_all(response: &mut Response) {
    one_error_per_problem(&mut response.errors);
    response.errors.iter_mut().for_each(with_code);
}

/// Errors by where they stand in the query (then the shallower first), so that the same
/// request reports its errors in the same order whichever field failed first.
pub(super) fn in_query_order(response: &mut Response) {
    response
        .errors
        .sort_by(|a, b| (&a.locations, a.path.len()).cmp(&(&b.locations, b.path.len())));
}

/// Notes that the operation reached execution (see [`Execution`]).
pub(super) fn mark_started(ctx: &ExtensionContext<'_>) {
    if let Some(execution) = ctx.data_opt::<Execution>() {
        execution.0.store(true, Ordering::Relaxed);
    }
}

/// After authentication and the document's limits: a variable the chosen operation
/// requires must be given, not null. async-graphql checks a variable's value only where
/// an argument uses it, and a missing one only once the field runs, which would answer
/// a request error as a field error.
pub(super) fn require_variables(request: &mut Request) -> ServerResult<()> {
    match missing_variables(request) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The non-null variables without a default that the chosen operation lacks, as one
/// error naming them (`extensions.field`: the first). A document that does not parse,
/// or whose operation cannot be chosen, is left to the usual errors.
fn missing_variables(request: &mut Request) -> Option<ServerError> {
    let variables = std::mem::take(&mut request.variables);
    let name = request.operation_name.clone();
    let mut missing: Vec<(String, String, Pos)> = Vec::new();
    if let Ok(doc) = request.parsed_query() {
        let operation: Option<&OperationDefinition> = match (&doc.operations, name.as_deref()) {
            (DocumentOperations::Single(op), None) => Some(&op.node),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                ops.values().next().map(|op| &op.node)
            }
            _ => None,
        };
        for definition in operation
            .map(|op| &op.variable_definitions[..])
            .unwrap_or_default()
        {
            let var = &definition.node;
            let given = variables
                .get(&var.name.node)
                .is_some_and(|v| !matches!(v, Value::Null));
            if !var.var_type.node.nullable && var.default_value.is_none() && !given {
                missing.push((
                    var.name.node.to_string(),
                    var.var_type.node.to_string(),
                    definition.pos,
                ));
            }
        }
    }
    request.variables = variables;
    let (first, _, _) = missing.first()?;
    let names: Vec<String> = missing.iter().map(|(n, t, _)| format!("`${n}` ({t})")).collect();
    let message = match &names[..] {
        [one] => format!("the variable {one} is required and was not given a value"),
        many => format!(
            "the variables {} are required and were not given values",
            many.join(", ")
        ),
    };
    let mut error = ServerError::new(message, None);
    error.locations = missing.iter().map(|(_, _, pos)| *pos).collect();
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("field", Value::from(first.clone()));
    Some(error)
}

/// Exact repeats go (two validation rules may report one mistake alike), and so do the
/// complaints of async-graphql's complexity pass about an argument value, which repeat
/// what validation said about that same value whenever validation also failed.
fn one_error_per_problem(errors: &mut Vec<ServerError>) {
    let mut seen: Vec<(String, Vec<Pos>, Vec<String>)> = Vec::new();
    errors.retain(|e| {
        let key = (
            e.message.clone(),
            e.locations.clone(),
            e.path.iter().map(|p| format!("{p:?}")).collect(),
        );
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    let argument_value = |e: &ServerError| {
        e.path.is_empty()
            && e.source.is_none()
            && (e.message.starts_with("Expected input type \"")
                || e.message.starts_with("Failed to parse \""))
    };
    if errors.iter().any(|e| !argument_value(e)) {
        errors.retain(|e| !argument_value(e));
    }
}

/// What a value of a scalar looks like, for messages about one that did not parse.
fn expected_form(scalar: &str) -> Option<&'static str> {
    match scalar {
        "Date" => Some("a date as YYYY-MM-DD"),
        "DateTime" => Some("a date and time in RFC 3339, e.g. 2024-05-01T09:30:00.000Z"),
        "Decimal" => Some("a decimal number as a string, e.g. \"1234.50\""),
        "ID" => Some("an id"),
        "Int" => Some("a 32-bit integer"),
        "Float" => Some("a number"),
        "Boolean" => Some("true or false"),
        "String" => Some("a string"),
        _ => None,
    }
}

/// One line, in the schema's words.
pub fn readable(message: &str) -> String {
    if let Some(syntax) = syntax_error(message) {
        return syntax;
    }
    // The API's own scalars (`Date`, `DateTime`, `Decimal`, scalars.rs) and the built-in
    // ones are reported under their schema names: no Rust type name to translate.
    let mut message = message.to_string();
    // `Failed to parse "Date": <why> (occurred while parsing "CreateTaskInput")`
    if let Some(rest) = message.strip_prefix("Failed to parse \"")
        && let Some((scalar, why)) = rest.split_once("\": ")
    {
        let (why, within) = match why.rsplit_once(" (occurred while parsing \"") {
            Some((why, within)) => (why, Some(within.trim_end_matches(')').trim_end_matches('"'))),
            None => (why, None),
        };
        let within = within.map(|w| format!(" in {w}")).unwrap_or_default();
        // The API's scalars say what they expect themselves.
        message = match expected_form(scalar).filter(|_| !why.starts_with("expected ")) {
            Some(form) => format!("invalid {scalar} value{within}: {why}; expected {form}"),
            None => format!("invalid {scalar} value{within}: {why}"),
        };
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// pest's report (` --> 1:37 | … = expected selection`) as one line.
fn syntax_error(message: &str) -> Option<String> {
    let position = message.split("--> ").nth(1)?.split_whitespace().next()?;
    let (line, column) = position.split_once(':')?;
    let expected = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .unwrap_or("unexpected input")
        .replace('_', " ");
    Some(format!(
        "syntax error at line {line}, column {column}: {expected}"
    ))
}
/// Our errors carry their code; anything else (parse, validation, argument coercion,
/// limits) is a problem with the request as sent.
pub fn with_code(error: &mut ServerError) {
    error.message = readable(&error.message);
    let code = match error.source::<Error>() {
        Some(Error::Internal(cause)) => {
            tracing::error!(error.cause = %cause, path = ?error.path, "internal error");
            error.message = "internal error".into();
            "INTERNAL"
        }
        Some(Error::BadUserInput { field, .. }) => {
            let field = field.clone();
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("field", Value::from(field));
            "BAD_USER_INPUT"
        }
        Some(Error::Unauthenticated(failure)) => {
            let reason = failure.reason();
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("reason", Value::from(reason));
            "UNAUTHENTICATED"
        }
        Some(Error::Limit {
            key, figure, limit, ..
        }) => {
            let (key, figure, limit) = (*key, *figure, *limit);
            let ext = error.extensions.get_or_insert_with(Default::default);
            ext.set(key, Value::from(figure));
            ext.set("limit", Value::from(limit));
            "BAD_USER_INPUT"
        }
        Some(Error::RateLimited { retry_after_secs }) => {
            let secs = *retry_after_secs;
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("retryAfter", Value::from(secs));
            "RATE_LIMITED"
        }
        Some(e) => e.code(),
        None => "BAD_USER_INPUT",
    };
    crate::metrics::request::note_error(error.source::<Error>(), code);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", Value::from(code));
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn messages_are_one_line_in_the_schemas_words() {
        let pest = " --> 1:37\n  |\n1 | { projects(first: 1) { totalCount  }\n  |                                     ^---\n  |\n  = expected selection";
        assert_eq!(
            readable(pest),
            "syntax error at line 1, column 37: expected selection"
        );
        let pest = " --> 1:1\n  |\n1 | \n  | ^---\n  |\n  = expected executable_definition";
        assert_eq!(
            readable(pest),
            "syntax error at line 1, column 1: expected executable definition"
        );
        assert_eq!(
            readable(
                r#"Failed to parse "Date": expected a date as YYYY-MM-DD (occurred while parsing "CreateTaskInput")"#
            ),
            "invalid Date value in CreateTaskInput: expected a date as YYYY-MM-DD"
        );

        assert_eq!(
            readable(r#"Unknown field "x" on type "Query"."#),
            r#"Unknown field "x" on type "Query"."#
        );
    }
}
