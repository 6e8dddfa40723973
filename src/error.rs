//! The one error type of the API.
//!
//! Which error belongs where:
//! - `db` returns `diesel::QueryResult`; `access` returns [`crate::access::Denial`] or
//!   plain values; neither knows GraphQL.
//! - resolvers return `async_graphql::Result`, built from [`Error`] with `?` (the error
//!   travels as the GraphQL error's source);
//! - `graphql::errors` (a step of `graphql::pipeline`) gives every error of a response its `extensions.code`
//!   from [`Error::code`], once, at the boundary, and replaces internal causes by a bare
//!   "internal error" after logging them.
//! - `anyhow` only in `main` and the CLI.

use std::sync::Arc;

use crate::access::Denial;

#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.message())]
    Unauthenticated(AuthFailure),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("invalid value for `{field}`: {message}")]
    BadUserInput { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// A limit of docs/operations.md passed: `BAD_USER_INPUT` naming the figure and the
    /// limit (`extensions.<key>` and `extensions.limit`).
    #[error("{what} {figure} exceeds the limit {limit}")]
    Limit {
        what: &'static str,
        key: &'static str,
        figure: u64,
        limit: u64,
    },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the request took longer than {0} ms")]
    Timeout(u64),
    /// An automatic persisted query whose hash this server does not know. The message is
    /// Apollo's, which Apollo clients look for before they resend the document.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// In trusted-documents mode, a document that is not in the list.
    #[error("only trusted documents run here; send the sha256Hash of a listed document")]
    PersistedQueryNotInList,
    /// The database did not answer in time (gone away, or the pool exhausted).
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// The cause is logged, never answered.
    #[error("internal error")]
    Internal(Arc<dyn std::error::Error + Send + Sync>),
}

/// Why a request is not authenticated (docs/api.md#tokens, `extensions.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    InvalidToken,
    ExpiredToken,
    AccessRevoked,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "missing_token",
            AuthFailure::InvalidToken => "invalid_token",
            AuthFailure::ExpiredToken => "expired_token",
            AuthFailure::AccessRevoked => "access_revoked",
        }
    }

    fn message(self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "authentication required: send a bearer token",
            AuthFailure::InvalidToken => "the bearer token is not valid",
            AuthFailure::ExpiredToken => "the bearer token has expired",
            AuthFailure::AccessRevoked => "this user has no portal access",
        }
    }
}

impl Error {
    /// The code of docs/api.md#errors. Exhaustive on purpose: a new variant must choose its
    /// code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound => "NOT_FOUND",
            Error::BadUserInput { .. } => "BAD_USER_INPUT",
            Error::Conflict(_) => "CONFLICT",
            Error::Limit { .. } => "BAD_USER_INPUT",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::Timeout(_) => "TIMEOUT",
            Error::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Error::PersistedQueryNotInList => "PERSISTED_QUERY_NOT_IN_LIST",
            Error::Unavailable | Error::Internal(_) => "INTERNAL",
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Internal(Arc::new(cause))
    }
}

impl From<Denial> for Error {
    fn from(denial: Denial) -> Error {
        match denial {
            Denial::ModuleForbidden(m) => Error::Forbidden(format!("no access to module `{}`", m.name())),
            Denial::NotAllowed => Error::Forbidden("not allowed".into()),
            Denial::ReadOnly => Error::Forbidden("preview is read-only".into()),
            Denial::ActionNotGranted(g) => {
                let name = g.module.spec().names(g.kind)[g.bit as usize];
                Error::Forbidden(format!("action `{}.{name}` not granted", g.module.name()))
            }
        }
    }
}

impl From<diesel::result::Error> for Error {
    /// A unique violation is a conflict with existing data (its constraint is not named
    /// to the caller); anything else is internal.
    fn from(e: diesel::result::Error) -> Error {
        use diesel::result::{DatabaseErrorKind, Error as Db};
        match e {
            Db::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Error::Conflict("conflicts with existing data".into())
            }
            Db::NotFound => Error::NotFound,
            e => Error::internal(e),
        }
    }
}

impl From<crate::db::PoolError> for Error {
    /// A pool that cannot hand out a connection in time means the database is away or
    /// saturated: a clear, retryable answer, logged once here.
    fn from(e: crate::db::PoolError) -> Error {
        tracing::warn!(error = %e, "no database connection");
        Error::Unavailable
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
