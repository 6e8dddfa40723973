//! Answers in the order the query asked (GraphQL spec, "Serialized Map Ordering").
//! async-graphql resolves sibling fields concurrently and writes them in the order
//! they finish, so the same request could serialize differently from one run to the
//! next; this pass puts every object's keys back in selection order.
//!
//! async-graphql also leaves a field out of its object when its resolver fails; the
//! client conventions (docs/api.md) want the key with `null` (a refused root field nulls alone, no selected key is
//! ever missing), which normalised client caches rely on. So a field selected
//! directly (not under a type condition, whose object type is unknown here) that is
//! missing comes back as `null`, unless `@skip`/`@include` left it out.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Response, Value, Variables};

/// Per operation: the parsed document and its variables, kept from parsing until
/// execution ends.
#[derive(Default)]
pub struct SelectionOrder(Mutex<Option<ExecutableDocument>>, Mutex<Option<Variables>>);

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// The selections under `set`, fragments flattened, in document order.
fn flatten<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    out: &mut Vec<&'a Positioned<async_graphql::parser::types::Field>>,
    hops: usize,
) {
    if hops == 0 {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(f) => flatten(&f.node.selection_set.node, fragments, out, hops - 1),
            Selection::FragmentSpread(s) => {
                if let Some(f) = fragments.get(&s.node.fragment_name.node) {
                    flatten(&f.node.selection_set.node, fragments, out, hops - 1);
                }
            }
        }
    }
}

/// Whether `@skip`/`@include` keep a field in the answer.
fn included(field: &async_graphql::parser::types::Field, variables: &Variables) -> bool {
    field.directives.iter().all(|d| {
        let flag = d.node.get_argument("if").and_then(|v| {
            v.node
                .clone()
                .into_const_with(|name| variables.get(&name).cloned().ok_or(()))
                .ok()
        });
        match (d.node.name.node.as_str(), flag) {
            ("skip", Some(Value::Boolean(b))) => !b,
            ("include", Some(Value::Boolean(b))) => b,
            _ => true,
        }
    })
}

/// Reorders `value` (an object or a list of them) to follow `set`; `direct` are the
/// fields selected on it without a type condition, which are `null` when missing.
fn reorder(
    value: &mut Value,
    set: &SelectionSet,
    fragments: &Fragments,
    direct: &[&Name],
    variables: &Variables,
) {
    match value {
        Value::List(items) => items
            .iter_mut()
            .for_each(|v| reorder(v, set, fragments, direct, variables)),
        Value::Object(map) => {
            let mut fields = Vec::new();
            flatten(set, fragments, &mut fields, 32);
            let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
            for f in fields {
                let key = &f.node.response_key().node;
                if let Some(mut v) = map.shift_remove(key) {
                    let inner = direct_fields(&f.node.selection_set.node, variables);
                    reorder(&mut v, &f.node.selection_set.node, fragments, &inner, variables);
                    ordered.insert(key.clone(), v);
                } else if !ordered.contains_key(key) && direct.contains(&key) {
                    ordered.insert(key.clone(), Value::Null);
                }
            }
            // Anything not matched (there should be nothing) keeps its place after.
            ordered.extend(map.drain(..));
            *map = ordered;
        }
        _ => {}
    }
}

/// The response keys selected directly in `set` (no type condition) and not skipped.
fn direct_fields<'a>(set: &'a SelectionSet, variables: &Variables) -> Vec<&'a Name> {
    set.items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(f) if included(&f.node, variables) => Some(&f.node.response_key().node),
            _ => None,
        })
        .collect()
}

impl SelectionOrder {
    /// Keeps the parsed document and its variables for [`SelectionOrder::restore`].
    pub fn keep(&self, doc: &ExecutableDocument, variables: &Variables) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(doc.clone());
        }
        if let Ok(mut slot) = self.1.lock() {
            *slot = Some(variables.clone());
        }
    }

    /// The answer in selection order, with every selected key present.
    pub fn restore(&self, mut response: Response, operation_name: Option<&str>) -> Response {
        let doc = self.0.lock().ok().and_then(|mut slot| slot.take());
        let variables = self
            .1
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_default();
        if let Some(doc) = doc
            && let Some(op) = crate::audit::selected_operation(&doc, operation_name)
        {
            // Every root field failed: async-graphql answers `data: null`, but each was a
            // field error (it has a path), so each root key is `null` on its own.
            let field_errors =
                !response.errors.is_empty() && response.errors.iter().all(|e| !e.path.is_empty());
            if response.data == Value::Null && field_errors {
                response.data = Value::Object(Default::default());
            }
            let set = &op.node.selection_set.node;
            let direct = direct_fields(set, &variables);
            reorder(&mut response.data, set, &doc.fragments, &direct, &variables);
        }
        // Errors too, by where they stand in the query.
        response
            .errors
            .sort_by(|a, b| (&a.locations, a.path.len()).cmp(&(&b.locations, b.path.len())));
        response
    }
}
