//! The one extension of the schema: every step that async-graphql lets us take around a
//! request, in one place and in one order. async-graphql runs every registered
//! extension's `resolve` around every field (a boxed future each, even when it only
//! passes the field on), so seven extensions took a fifth of the gateway's CPU on a
//! dashboard (BENCHMARKS.md); as steps of one extension, each field passes one link.
//!
//! The order of the steps, which the modules rely on:
//! - before the document is looked at: the operation's metrics record starts; a
//!   persisted document's refusal and an anonymous caller's refusal are answered before
//!   anything parses or validates (`persisted`, `anonymous`);
//! - once parsed, before validation: the document limits (`limits`), then the required
//!   variables (`errors`);
//! - validation: skipped for an operation without variables whose document passed it
//!   before as that operation (`parsed`); then an automatic persisted query is
//!   remembered (`persisted`);
//! - around execution: the start is noted (`errors::Execution`); every object and list
//!   is charged to the response budget (`response_size`); the answer is checked against
//!   the budget, and its errors put in query order (`errors`); its data is in selection
//!   order already (async-graphql as patched in `vendor/async-graphql`, see its PATCH.md);
//! - last: every error gets its code (`errors`), and the metrics record its outcome.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextRequest,
    NextValidation,
};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Value};

use super::limits::DocumentLimits;
use super::response_size::Budget;
use super::{anonymous, errors, parsed, persisted};
use crate::config::Limits;
use crate::metrics::OperationRecord;

/// Creates each operation's steps.
pub struct Pipeline {
    limits: DocumentLimits,
    max_response_bytes: usize,
}

impl Pipeline {
    pub fn new(limits: Limits) -> Pipeline {
        Pipeline {
            limits: DocumentLimits::new(limits),
            max_response_bytes: limits.max_response_bytes,
        }
    }
}

impl ExtensionFactory for Pipeline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Steps {
            record: OperationRecord::default(),
            limits: self.limits.clone(),
            budget: Budget::new(self.max_response_bytes),
        })
    }
}

/// One operation's steps (async-graphql creates extensions per operation of a batch).
struct Steps {
    record: OperationRecord,
    limits: DocumentLimits,
    budget: Budget,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Steps {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        errors::code_all(&mut response);
        self.record.finish(&response);
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.record.start(&mut request);
        persisted::refusal(&request)?;
        anonymous::refusal(&mut request)?;
        let mut request = next.run(ctx, request).await?;
        self.limits.check(ctx, &mut request)?;
        errors::require_variables(&mut request)?;
        Ok(request)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // An operation without variables whose document passed before, as this
        // operation, passes again with the same result (`parsed`).
        let validation = ctx.data_opt::<parsed::Validation>();
        let result = match validation.and_then(parsed::Validation::known) {
            Some(result) => result,
            None => {
                let result = next.run(ctx).await?;
                if let Some(v) = validation {
                    v.keep(result);
                }
                result
            }
        };
        persisted::register_validated(ctx);
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        errors::mark_started(ctx);
        let response = next.run(ctx, operation_name).await;
        let mut response = self.budget.check(response);
        errors::in_query_order(&mut response);
        response
    }

    /// Leaves and list items skip the extension (the budget charges their bytes with
    /// the object or list that holds them) ...
    fn resolve_every_field(&self) -> bool {
        false
    }

    /// ... and objects and lists are charged synchronously, before and after they
    /// resolve, without wrapping their futures.
    fn resolve_composites(&self) -> bool {
        false
    }

    fn enter_composite(&self, _ctx: &ExtensionContext<'_>) -> ServerResult<()> {
        self.budget.enter()
    }

    fn leave_composite(&self, _ctx: &ExtensionContext<'_>, key: &str, value: &Value) -> ServerResult<()> {
        self.budget.leave(key, value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_graphql::{BatchRequest, Schema, Variables};

    use super::*;
    use crate::graphql::parsed::ParsedDocuments;
    use crate::graphql::{MutationRoot, PortalSchema, QueryRoot, SubscriptionRoot};

    /// Counts the validations that reach async-graphql's rules (it runs inside the
    /// pipeline, as the rules do).
    #[derive(Clone, Default)]
    struct Validations(Arc<AtomicUsize>);

    impl ExtensionFactory for Validations {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(self.clone())
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Validations {
        async fn validation(
            &self,
            ctx: &ExtensionContext<'_>,
            next: NextValidation<'_>,
        ) -> Result<ValidationResult, Vec<ServerError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            next.run(ctx).await
        }
    }

    fn schema(count: &Validations) -> PortalSchema {
        let limits = Limits::default();
        Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
            .extension(Pipeline::new(limits))
            .extension(count.clone())
            .data(limits)
            .finish()
    }

    async fn run(schema: &PortalSchema, parsed: &ParsedDocuments, request: Request) -> Response {
        let mut batch = BatchRequest::Single(request);
        parsed.attach(&mut batch);
        schema.execute(batch.into_single().unwrap()).await
    }

    #[tokio::test]
    async fn an_operation_without_variables_is_validated_once_per_name() {
        let count = Validations::default();
        let schema = schema(&count);
        let parsed = ParsedDocuments::default();
        let doc = "query A { __typename } query B { t: __typename }";
        for _ in 0..3 {
            for name in ["A", "B"] {
                let r = run(&schema, &parsed, Request::new(doc).operation_name(name)).await;
                assert!(r.errors.is_empty(), "{:?}", r.errors);
            }
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 2, "once for A, once for B");

        // With variables, every time: the rules read them.
        let with = "query V($n: String!) { __type(name: $n) { name } }";
        for _ in 0..2 {
            let vars = Variables::from_json(serde_json::json!({ "n": "Query" }));
            let r = run(&schema, &parsed, Request::new(with).variables(vars)).await;
            assert!(r.errors.is_empty(), "{:?}", r.errors);
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 4);

        // What fails is validated, and fails, every time.
        for _ in 0..2 {
            let r = run(&schema, &parsed, Request::new("{ __typename nope }")).await;
            assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 6);
    }
}
