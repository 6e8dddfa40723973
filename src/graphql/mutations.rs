//! How every mutation runs: one transaction that holds its changes and, for external
//! callers, its audit event; a failure rolls everything back and leaves an event with
//! its error code, queued to the audit writer (its own connections), so that a refused
//! mutation never holds its pooled connection while waiting for a second one. Preview
//! refuses here, before anything is read.

use std::sync::Arc;

use async_graphql::Context;
use uuid::Uuid;

use super::ContextExt;
use crate::access::Access;
use crate::audit::RequestAudit;
use crate::db::{DbConn, writes};
use crate::error::{Error, Result};

/// A mutation's transaction. Dropped without [`Tx::finish`] (a cancelled request), its
/// connection is closed rather than returned to the pool, so PostgreSQL rolls back.
pub struct Tx<'a> {
    conn: Option<DbConn>,
    audit: Option<&'a Arc<RequestAudit>>,
    pub access: &'a Arc<Access>,
}

impl<'a> Tx<'a> {
    /// Opens the transaction of a mutation by a caller allowed to write at all.
    pub async fn begin(ctx: &'a Context<'_>) -> Result<Tx<'a>> {
        let access = ctx.access()?;
        let audit = ctx.audit();
        if let Err(denial) = access.writable() {
            let err = Error::from(denial);
            if let Some(audit) = audit {
                record_failure(ctx, audit, &err).await;
            }
            return Err(err);
        }
        let mut conn = ctx.primary()?.get().await?;
        writes::begin(&mut conn).await?;
        Ok(Tx {
            conn: Some(conn),
            audit,
            access,
        })
    }

    pub fn conn(&mut self) -> Result<&mut DbConn> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::internal(std::io::Error::other("transaction finished")))
    }

    /// Commits with the audit event of the changed records, or rolls back and records
    /// the failure.
    pub async fn finish<T>(mut self, ctx: &Context<'_>, result: Result<(T, Vec<Uuid>)>) -> Result<T> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| Error::internal(std::io::Error::other("finished twice")))?;
        match result {
            Ok((value, changed)) => {
                if let Some(audit) = self.audit {
                    writes::insert_audit_events(&mut conn, &[audit.event("OK", changed)]).await?;
                    audit.mark_written();
                }
                writes::commit(&mut conn).await?;
                Ok(value)
            }
            Err(err) => {
                let rolled_back = writes::rollback(&mut conn).await;
                if rolled_back.is_err() {
                    let _ = DbConn::take(conn);
                } else {
                    drop(conn);
                }
                if let Some(audit) = self.audit {
                    record_failure(ctx, audit, &err).await;
                }
                Err(err)
            }
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = DbConn::take(conn);
        }
    }
}

/// Queues a failed mutation's event; the caller holds no connection by now.
async fn record_failure(ctx: &Context<'_>, audit: &RequestAudit, err: &Error) {
    if let Some(sink) = ctx.audit_sink() {
        sink.record(audit.event(err.code(), Vec::new())).await;
        audit.mark_written();
    }
}
