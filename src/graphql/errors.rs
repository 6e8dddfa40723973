//! Gives every error of a response its `extensions.code`, in one place (which is
//! also where the metrics learn of every refusal).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest};
use async_graphql::{Response, ServerError, Value};

use crate::error::Error;

pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(with_code);
        response
    }
}

/// Our errors carry their code; anything else (parse, validation, argument coercion,
/// limits) is a problem with the request as sent.
pub fn with_code(error: &mut ServerError) {
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
