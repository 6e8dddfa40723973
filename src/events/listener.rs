//! The listener (docs/operations.md#grants-cache): one plain connection per instance
//! that runs `LISTEN portal_events; LISTEN portal_grants` and passes on what it hears,
//! in PostgreSQL's order, to the grants cache first and then to the [`Hub`].
//!
//! It never blocks on the hub. When its connection fails, ends, or does not answer a
//! probe (every [`PROBE_EVERY`]), it switches the grants cache off, signals
//! [`Signal::Lost`] and reconnects by itself, backing off from [`BACKOFF_MIN`] to
//! [`BACKOFF_MAX`]; once listening again the cache is emptied and switched on and
//! [`Signal::Listening`] is passed on. It stops when its [`Listener`] handle (held by
//! the server's state) is dropped.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::{Instant, timeout, timeout_at};
use uuid::Uuid;

use super::Signal;
use super::hub::Hub;
use crate::auth::cache::GrantsCache;
use crate::db::queries;

/// The `application_name` of the listener's session, to find it in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "portal-gateway-listener";
/// The channel of portal events: the payload is the event's id.
pub const EVENTS: &str = "portal_events";
/// The channel of grant changes: `<workspace>` or `<workspace>:<external user>`.
pub const GRANTS: &str = "portal_grants";

/// How often a quiet connection is probed (`SELECT 1`), and how long a probe may take.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// How long connecting and `LISTEN` may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The running listener; dropping it stops the task (and closes its connection).
pub struct Listener {
    _stop: watch::Sender<()>,
}

/// Starts the listener on `url` (`DATABASE_LISTEN_URL`, else `DATABASE_URL`: a direct
/// session, never a transaction pooler). Needs a Tokio runtime.
pub fn spawn(url: &str, grants: Arc<GrantsCache>, hub: Hub) -> Listener {
    let (stop, stopped) = watch::channel(());
    let url = with_application_name(url);
    tokio::spawn(run(url, grants, hub, stopped));
    Listener { _stop: stop }
}

/// Why a session ended.
enum Lost {
    /// It never got to listen.
    Connecting(String),
    /// It was listening.
    Listening(String),
}

async fn run(url: String, grants: Arc<GrantsCache>, hub: Hub, mut stopped: watch::Receiver<()>) {
    let mut backoff = BACKOFF_MIN;
    let mut was_lost = false;
    loop {
        let lost = tokio::select! {
            _ = stopped.changed() => return,
            lost = session(&url, &grants, &hub, was_lost) => lost,
        };
        // The connection is gone: whatever is announced from now on is missed.
        grants.lost();
        match lost {
            Lost::Listening(why) => {
                tracing::warn!(reason = %why, "listener lost its connection; deciding without the grants cache until it listens again");
                hub.signal(Signal::Lost);
                was_lost = true;
                backoff = BACKOFF_MIN;
            }
            Lost::Connecting(why) => {
                tracing::debug!(reason = %why, retry_in_ms = backoff.as_millis() as u64, "listener could not listen");
            }
        }
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection: listens, then passes on notifications until the connection fails.
async fn session(url: &str, grants: &GrantsCache, hub: &Hub, was_lost: bool) -> Lost {
    let connect = async {
        let mut conn = AsyncPgConnection::establish(url)
            .await
            .map_err(|e| e.to_string())?;
        conn.batch_execute(&format!("LISTEN {EVENTS}; LISTEN {GRANTS}"))
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(conn)
    };
    let mut conn = match timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Lost::Connecting(e),
        Err(_) => return Lost::Connecting("timed out".into()),
    };
    grants.listening();
    hub.signal(Signal::Listening);
    if was_lost {
        tracing::info!("listener listens again; the grants cache is back in use");
    } else {
        tracing::info!("listener listens");
    }
    loop {
        let probe_at = Instant::now() + PROBE_EVERY;
        {
            // Notifications that arrive while the probe runs wait in diesel-async's
            // channel for the next stream.
            let mut notifications = pin!(conn.notifications_stream());
            loop {
                match timeout_at(probe_at, notifications.next()).await {
                    Err(_) => break,
                    Ok(None) => return Lost::Listening("the connection ended".into()),
                    Ok(Some(Err(e))) => return Lost::Listening(e.to_string()),
                    Ok(Some(Ok(n))) => pass_on(&n.channel, &n.payload, grants, hub),
                }
            }
        }
        match timeout(PROBE_EVERY, queries::ping(&mut conn)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Lost::Listening(format!("probe failed: {e}")),
            Err(_) => return Lost::Listening("probe timed out".into()),
        }
    }
}

/// One notification: a change of grants reaches the cache before the hub, so that a
/// subscription re-deciding on it never reads the entry it invalidates.
fn pass_on(channel: &str, payload: &str, grants: &GrantsCache, hub: &Hub) {
    match channel {
        GRANTS => match grants_signal(payload) {
            Some(signal) => {
                if let Signal::Grants {
                    workspace_id,
                    user_id,
                } = signal
                {
                    grants.changed(workspace_id, user_id);
                }
                hub.signal(signal);
            }
            None => {
                // Never from our triggers; whatever it meant, forget everything.
                tracing::warn!(channel, "unreadable notification; grants cache emptied");
                grants.listening();
            }
        },
        EVENTS => match Uuid::parse_str(payload.trim()) {
            Ok(id) => hub.signal(Signal::Event(id)),
            Err(_) => tracing::warn!(channel, "unreadable notification ignored"),
        },
        _ => tracing::warn!(channel, "notification on an unknown channel ignored"),
    }
}

/// A `portal_grants` payload: `<workspace>` or `<workspace>:<external user>`.
pub fn grants_signal(payload: &str) -> Option<Signal> {
    let (workspace, user) = match payload.split_once(':') {
        Some((w, u)) => (w, Some(u)),
        None => (payload, None),
    };
    let workspace_id = Uuid::try_parse(workspace).ok()?;
    let user_id = match user {
        Some(u) => Some(Uuid::try_parse(u).ok()?),
        None => None,
    };
    Some(Signal::Grants {
        workspace_id,
        user_id,
    })
}

/// The connection string with the listener's `application_name`, as a URL parameter or
/// a key-value pair, whichever form it is in.
fn with_application_name(url: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}application_name={APPLICATION_NAME}")
    } else {
        format!("{url} application_name={APPLICATION_NAME}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "0192a3b4-c5d6-7e8f-9a0b-1c2d3e4f5a6b";
    const USER: &str = "0192a3b4-c5d6-7e8f-9a0b-000000000001";

    #[test]
    fn a_workspace_payload_names_the_workspace() {
        assert_eq!(
            grants_signal(WS),
            Some(Signal::Grants {
                workspace_id: Uuid::parse_str(WS).unwrap(),
                user_id: None
            })
        );
    }

    #[test]
    fn a_user_payload_names_the_workspace_and_the_user() {
        assert_eq!(
            grants_signal(&format!("{WS}:{USER}")),
            Some(Signal::Grants {
                workspace_id: Uuid::parse_str(WS).unwrap(),
                user_id: Some(Uuid::parse_str(USER).unwrap())
            })
        );
    }

    #[test]
    fn anything_else_is_unreadable() {
        for payload in [
            "",
            ":",
            "not-a-uuid",
            &format!("{WS}:"),
            &format!(":{USER}"),
            &format!("{WS}:{USER}:{USER}"),
            &format!("{WS}:nobody"),
        ] {
            assert_eq!(grants_signal(payload), None, "{payload:?}");
        }
    }

    #[test]
    fn the_listener_names_its_session() {
        assert_eq!(
            with_application_name("postgres://h/db"),
            "postgres://h/db?application_name=portal-gateway-listener"
        );
        assert_eq!(
            with_application_name("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&application_name=portal-gateway-listener"
        );
        assert_eq!(
            with_application_name("host=h dbname=db"),
            "host=h dbname=db application_name=portal-gateway-listener"
        );
    }
}
