//! Authentication before arguments (docs/api.md#tokens): an anonymous caller may ask for
//! nothing but `__typename` and introspection, so an operation of theirs that selects any
//! other root field is refused as a whole with `UNAUTHENTICATED` (`missing_token`) before
//! it is validated. Otherwise a malformed argument would answer `BAD_USER_INPUT` and tell
//! an anonymous caller about the shape of what they may not use.

use std::any::TypeId;
use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, ServerResult};

use super::RequestState;
use crate::error::{AuthFailure, Error};

/// Root fields that answer anonymous callers.
const PUBLIC_ROOT_FIELDS: [&str; 3] = ["__typename", "__schema", "__type"];

/// The refusal of an anonymous operation that selects data, decided before validation.
pub(super) fn refusal(request: &mut Request) -> ServerResult<()> {
    let anonymous = request
        .data
        .get(&TypeId::of::<RequestState>())
        .and_then(|d| d.downcast_ref::<RequestState>())
        .is_some_and(|s| s.caller.is_none());
    if !anonymous {
        return Ok(());
    }
    let name = request.operation_name.clone();
    // A document that does not parse is reported as such by the usual path.
    match request.parsed_query() {
        Ok(doc) if selects_data(doc, name.as_deref()) => Err(super::errors::server_error(
            Error::Unauthenticated(AuthFailure::MissingToken),
        )),
        _ => Ok(()),
    }
}

/// Whether the operation that would run selects a root field other than
/// [`PUBLIC_ROOT_FIELDS`], through fragments too. An operation that cannot be chosen (an
/// unknown name, or several operations and none named) is left to validation.
fn selects_data(doc: &ExecutableDocument, name: Option<&str>) -> bool {
    crate::audit::selected_operation(doc, name)
        .is_some_and(|op| selects_beyond_public(doc, &op.node.selection_set.node, &mut HashSet::new()))
}

fn selects_beyond_public<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut HashSet<&'a str>,
) -> bool {
    set.items.iter().any(|selection| match &selection.node {
        Selection::Field(field) => !PUBLIC_ROOT_FIELDS.contains(&field.node.name.node.as_str()),
        Selection::InlineFragment(fragment) => {
            selects_beyond_public(doc, &fragment.node.selection_set.node, seen)
        }
        Selection::FragmentSpread(spread) => {
            let name = spread.node.fragment_name.node.as_str();
            // A cycle or an unknown fragment is validation's to report.
            seen.insert(name)
                && doc
                    .fragments
                    .get(name)
                    .is_some_and(|f| selects_beyond_public(doc, &f.node.selection_set.node, seen))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selects(query: &str, name: Option<&str>) -> bool {
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        selects_data(&doc, name)
    }

    #[test]
    fn introspection_and_typename_are_public_everything_else_is_data() {
        assert!(!selects("{ __typename __schema { types { name } } }", None));
        assert!(!selects("query { ... on Query { __typename } }", None));
        assert!(selects("{ __typename viewer { name } }", None));
        assert!(selects(
            "mutation { createTask(projectId: 1, input: {}) { id } }",
            None
        ));
        assert!(selects(
            "{ ...F } fragment F on Query { projects { totalCount } }",
            None
        ));
        assert!(selects(
            "{ ... { ...F } } fragment F on Query { viewer { name } }",
            None
        ));
        assert!(!selects("{ ...F } fragment F on Query { ...F }", None));
    }

    #[test]
    fn the_named_operation_decides() {
        let doc = "query A { __typename } query B { viewer { name } }";
        assert!(!selects(doc, Some("A")));
        assert!(selects(doc, Some("B")));
        assert!(!selects(doc, None), "left to validation");
        assert!(!selects(doc, Some("C")), "left to validation");
    }
}
