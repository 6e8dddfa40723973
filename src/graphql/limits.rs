//! Limits checked on the parsed document, after parsing and before validation (which is
//! itself what a hostile document makes explode), so they hold even for documents that
//! would fail validation (docs/operations.md). They run in `prepare_request`, which parses
//! the document and hands it on parsed: async-graphql's own parse step walks every fragment
//! spread for its recursion check, 2^26 times for a 1 KB document of fragments that spread
//! each other twice, so the document must be measured before it.
//!
//! - input hygiene ([`hygiene`]): no NUL and no over-long string in any argument or
//!   variable;
//! - the cost, depth, aliases and field selections of the document as expanded through
//!   fragments ([`measure`]), with list lengths from the schema's types ([`shape`]).
//!
//! Each refusal is an [`Error`] carried as the GraphQL error's source, so
//! `errors.rs` answers it `BAD_USER_INPUT` with the figure and the limit.

mod hygiene;
mod measure;
mod shape;

use std::sync::{Arc, OnceLock};

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerResult, Variables};

use crate::config::Limits;
use crate::error::Error;

/// The document limits of `limits`; the schema's shape is read on first use.
#[derive(Clone)]
pub struct DocumentLimits {
    limits: Limits,
    shape: Arc<OnceLock<shape::Shape>>,
}

impl DocumentLimits {
    pub fn new(limits: Limits) -> DocumentLimits {
        DocumentLimits {
            limits,
            shape: Arc::default(),
        }
    }
}

fn limit(what: &'static str, key: &'static str, figure: u64, limit: usize) -> Result<(), Error> {
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    if figure > limit {
        return Err(Error::Limit {
            what,
            key,
            figure,
            limit,
        });
    }
    Ok(())
}

impl DocumentLimits {
    /// The first limit `doc` passes, as an error.
    fn refusal(
        &self,
        ctx: &ExtensionContext<'_>,
        doc: &ExecutableDocument,
        variables: &Variables,
    ) -> Result<(), Error> {
        let l = &self.limits;
        hygiene::check(doc, variables, l.max_string_chars)?;
        let shape = self
            .shape
            .get_or_init(|| shape::Shape::from_registry(&ctx.schema_env.registry));
        let figures = measure::measure(doc, shape, variables);
        limit("query depth", "depth", figures.depth, l.max_depth)?;
        limit("aliases", "aliases", figures.aliases, l.max_aliases)?;
        limit(
            "field selections",
            "selections",
            figures.selections,
            l.max_selections,
        )?;
        if figures.cost > l.max_cost {
            return Err(Error::Limit {
                what: "query cost",
                key: "cost",
                figure: figures.cost,
                limit: l.max_cost,
            });
        }
        Ok(())
    }
}

impl DocumentLimits {
    /// Refuses a parsed request's document (async-graphql keeps the parse) before
    /// async-graphql walks it. A document that does not parse goes on, for
    /// async-graphql to report.
    pub fn check(&self, ctx: &ExtensionContext<'_>, request: &mut Request) -> ServerResult<()> {
        let variables = std::mem::take(&mut request.variables);
        let refused = match request.parsed_query() {
            Ok(doc) => self.refusal(ctx, doc, &variables),
            Err(_) => Ok(()),
        };
        request.variables = variables;
        refused.map_err(super::errors::server_error)
    }
}
