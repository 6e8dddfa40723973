//! The body of a POST, at most `limits.max_body_bytes` (docs/operations.md#limits). A larger one is
//! refused with 413: from its `Content-Length` before a byte of it is read (so no
//! `100 Continue` goes out), or as soon as a chunked one passes the limit. Either way
//! the answer says `Connection: close`, and what the client is still sending is read and
//! thrown away in the background, up to [`DRAIN_BYTES`] or [`DRAIN_TIME`]: closing a
//! socket with unread data makes the kernel send a reset, which can destroy the 413
//! before the client reads it.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;

/// How much of a refused body is drained before the connection is closed regardless.
pub const DRAIN_BYTES: usize = 8 << 20;
/// How long a refused body is drained before the connection is closed regardless.
pub const DRAIN_TIME: Duration = Duration::from_secs(5);

pub enum BodyError {
    /// Over the limit; the client may still be sending.
    TooLarge,
    /// The connection failed while the body was read.
    Unreadable,
}

/// The whole body, or why not. `headers` are the request's.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        // A client waiting for `100 Continue` has sent nothing: not polling the body is
        // what keeps hyper from inviting it to.
        let waiting = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waiting {
            drain(body);
        }
        return Err(BodyError::TooLarge);
    }
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0) as usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if bytes.len() + chunk.len() > limit {
            drain_stream(stream);
            return Err(BodyError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

fn drain(body: Body) {
    drain_stream(body.into_data_stream());
}

fn drain_stream(mut stream: axum::body::BodyDataStream) {
    tokio::spawn(async move {
        let mut left = DRAIN_BYTES;
        let _ = tokio::time::timeout(DRAIN_TIME, async {
            while let Some(Ok(chunk)) = stream.next().await {
                left = left.saturating_sub(chunk.len());
                if left == 0 {
                    break;
                }
            }
        })
        .await;
    });
}
