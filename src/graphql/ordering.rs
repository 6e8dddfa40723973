//! Answers in the order the query asked (GraphQL spec, "Serialized Map Ordering").
//! async-graphql resolves sibling fields concurrently and writes them in the order
//! they finish, so the same request could serialize differently from one run to the
//! next; this pass puts every object's keys back in selection order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Response, ServerResult, Value, Variables};

pub struct SelectionOrder;

impl ExtensionFactory for SelectionOrder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SelectionOrderExtension(Mutex::new(None)))
    }
}

/// Per request: the parsed document, kept from parsing until execution ends.
struct SelectionOrderExtension(Mutex<Option<ExecutableDocument>>);

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

/// Reorders `value` (an object or a list of them) to follow `set`.
fn reorder(value: &mut Value, set: &SelectionSet, fragments: &Fragments) {
    match value {
        Value::List(items) => items.iter_mut().for_each(|v| reorder(v, set, fragments)),
        Value::Object(map) => {
            let mut fields = Vec::new();
            flatten(set, fragments, &mut fields, 32);
            let mut ordered = async_graphql::indexmap::IndexMap::with_capacity(map.len());
            for f in fields {
                let key = &f.node.response_key().node;
                if let Some(mut v) = map.shift_remove(key) {
                    reorder(&mut v, &f.node.selection_set.node, fragments);
                    ordered.insert(key.clone(), v);
                }
            }
            // Anything not matched (there should be nothing) keeps its place after.
            ordered.extend(map.drain(..));
            *map = ordered;
        }
        _ => {}
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for SelectionOrderExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(doc.clone());
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let doc = self.0.lock().ok().and_then(|mut slot| slot.take());
        if let Some(doc) = doc
            && let Some(op) = crate::audit::selected_operation(&doc, operation_name)
        {
            reorder(&mut response.data, &op.node.selection_set.node, &doc.fragments);
        }
        // Errors too, by where they stand in the query.
        response
            .errors
            .sort_by(|a, b| (&a.locations, a.path.len()).cmp(&(&b.locations, b.path.len())));
        response
    }
}
