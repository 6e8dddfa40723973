//! Limits checked on the parsed document: aliases per operation, and depth counted on
//! data fields only (introspection, which GraphiQL needs deep, does not count).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use std::collections::HashMap;

use async_graphql::Name;
use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Positioned, ServerError, ServerResult, Variables};

/// Refuses documents with more than `max_aliases` aliased fields (fragments counted
/// once), or whose data fields nest deeper than `max_depth`.
pub struct DocumentLimits {
    pub max_aliases: usize,
    pub max_depth: usize,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension {
            max_aliases: self.max_aliases,
            max_depth: self.max_depth,
        })
    }
}

struct DocumentLimitsExtension {
    max_aliases: usize,
    max_depth: usize,
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// The depth of data fields under `set`, following fragments; `__` fields are not data.
/// Each fragment's depth is computed once (`memo`), and a fragment met again while it
/// is being measured (a cycle, which validation refuses later) counts nothing.
fn depth(
    set: &Positioned<SelectionSet>,
    fragments: &Fragments,
    memo: &mut HashMap<Name, Option<usize>>,
) -> usize {
    let mut deepest = 0;
    for item in &set.node.items {
        let d = match &item.node {
            Selection::Field(f) if f.node.name.node.starts_with("__") => 0,
            Selection::Field(f) => 1 + depth(&f.node.selection_set, fragments, memo),
            Selection::InlineFragment(f) => depth(&f.node.selection_set, fragments, memo),
            Selection::FragmentSpread(s) => {
                let name = &s.node.fragment_name.node;
                match memo.get(name) {
                    Some(Some(d)) => *d,
                    Some(None) => 0,
                    None => {
                        memo.insert(name.clone(), None);
                        let d = fragments
                            .get(name)
                            .map_or(0, |f| depth(&f.node.selection_set, fragments, memo));
                        memo.insert(name.clone(), Some(d));
                        d
                    }
                }
            }
        };
        deepest = deepest.max(d);
    }
    deepest
}

fn aliases(set: &Positioned<SelectionSet>) -> usize {
    set.node
        .items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => usize::from(f.node.alias.is_some()) + aliases(&f.node.selection_set),
            Selection::InlineFragment(f) => aliases(&f.node.selection_set),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

fn count(doc: &ExecutableDocument) -> usize {
    let in_operations: usize = doc
        .operations
        .iter()
        .map(|(_, op)| aliases(&op.node.selection_set))
        .sum();
    let in_fragments: usize = doc
        .fragments
        .values()
        .map(|f| aliases(&f.node.selection_set))
        .sum();
    in_operations + in_fragments
}

#[async_graphql::async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let n = count(&doc);
        if n > self.max_aliases {
            let max = self.max_aliases;
            return Err(ServerError::new(
                format!("too many aliases: {n} (at most {max})"),
                None,
            ));
        }
        let mut memo = HashMap::new();
        let deepest = doc
            .operations
            .iter()
            .map(|(_, op)| depth(&op.node.selection_set, &doc.fragments, &mut memo))
            .max();
        if deepest.unwrap_or(0) > self.max_depth {
            return Err(ServerError::new(
                format!("Query is nested too deep (at most {})", self.max_depth),
                None,
            ));
        }
        Ok(doc)
    }
}
