//! The hub: the WebSocket connections of this instance and their subscriptions, and
//! what the listener passes on to them (docs/api.md#subscriptions).
//!
//! The hub decides nothing about visibility. It hands each committed event to every
//! subscription of the event's workspace, and each change of grants to the connections
//! it may concern; the connection decides, with its user's grants of that moment,
//! whether and how the event shows. A subscription's queue is bounded: a subscriber
//! that falls behind is closed with 4410 instead of slowing the hub, the listener or
//! anyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use super::Signal;
use crate::config::Live;
use crate::db::models::PortalEvent;
use crate::db::{DbPool, queries};

/// Events read at once when catching up after the listener was down.
const CATCH_UP_BATCH: i64 = 1_000;

/// How often events older than the inbox's retention are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// What a connection is told to do, besides delivering events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Grants of its user may have changed: decide again whether they may stay.
    Recheck,
    /// Close with this code and reason (4410 `too slow`).
    Close(u16, &'static str),
}

/// A committed event, shared by every subscription it is handed to.
pub type Event = Arc<PortalEvent>;

/// This instance's subscriptions. Cheap to clone; [`Hub::signal`] never blocks.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    signals: mpsc::UnboundedSender<Signal>,
    /// Deliveries that may use the request pool at once (the rest wait their turn, in
    /// order, holding no connection): a burst of events for many subscribers never
    /// takes every pooled connection from requests.
    deliveries: Arc<tokio::sync::Semaphore>,
    queue_events: usize,
    connections: Mutex<Connections>,
}

#[derive(Default)]
struct Connections {
    next_id: u64,
    /// Workspace → connection id → connection.
    by_workspace: HashMap<Uuid, HashMap<u64, Registered>>,
}

struct Registered {
    user_id: Uuid,
    control: mpsc::UnboundedSender<Control>,
    subscriptions: HashMap<u64, mpsc::Sender<Event>>,
}

impl Hub {
    /// A hub whose task reads events through `pool` and drops those older than the
    /// retention of `live`; at most `deliveries` deliveries run at once.
    pub fn start(pool: DbPool, live: Live, deliveries: usize) -> Hub {
        let (signals, received) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            signals,
            deliveries: Arc::new(tokio::sync::Semaphore::new(deliveries.max(1))),
            queue_events: live.queue_events.max(1),
            connections: Mutex::default(),
        });
        tokio::spawn(run(Arc::downgrade(&inner), received, pool, live.inbox_retention));
        Hub { inner }
    }

    /// Passes on what the listener heard. Never blocks the listener.
    pub fn signal(&self, signal: Signal) {
        let _ = self.inner.signals.send(signal);
    }

    /// Registers a connection of `user_id`; it is forgotten, with its subscriptions, when
    /// the returned value is dropped.
    pub fn connect(&self, workspace_id: Uuid, user_id: Uuid) -> Connection {
        let (control, controls) = mpsc::unbounded_channel();
        let mut all = self.inner.lock();
        all.next_id += 1;
        let id = all.next_id;
        all.by_workspace.entry(workspace_id).or_default().insert(
            id,
            Registered {
                user_id,
                control,
                subscriptions: HashMap::new(),
            },
        );
        Connection {
            hub: self.inner.clone(),
            workspace_id,
            id,
            controls,
        }
    }

    /// A turn to deliver (and decide) one event, or to start a subscription.
    pub async fn turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.deliveries.clone().acquire_owned().await.ok()
    }

    /// How many connections this instance holds.
    pub fn connections(&self) -> usize {
        self.inner.lock().by_workspace.values().map(HashMap::len).sum()
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `event` to every subscription of its workspace; a full queue closes its
    /// connection with 4410.
    fn dispatch(&self, event: &Event) {
        let all = self.lock();
        let Some(connections) = all.by_workspace.get(&event.workspace_id) else {
            return;
        };
        for connection in connections.values() {
            for queue in connection.subscriptions.values() {
                if let Err(mpsc::error::TrySendError::Full(_)) = queue.try_send(event.clone()) {
                    let _ = connection.control.send(Control::Close(4410, "too slow"));
                }
            }
        }
    }

    /// Tells the connections a change of grants may concern to decide again.
    fn recheck(&self, workspace_id: Option<Uuid>, user_id: Option<Uuid>) {
        let all = self.lock();
        let workspaces = all
            .by_workspace
            .iter()
            .filter(|(ws, _)| workspace_id.is_none_or(|w| w == **ws));
        for (_, connections) in workspaces {
            for c in connections.values() {
                if user_id.is_none_or(|u| u == c.user_id) {
                    let _ = c.control.send(Control::Recheck);
                }
            }
        }
    }
}

/// One WebSocket connection's registration: its controls, and its subscriptions'
/// queues.
pub struct Connection {
    hub: Arc<Inner>,
    workspace_id: Uuid,
    id: u64,
    /// What the hub tells this connection.
    pub controls: mpsc::UnboundedReceiver<Control>,
}

impl Connection {
    /// A new subscription's queue, bounded by `WS_QUEUE_EVENTS`; events committed from
    /// now on arrive in it, in commit order.
    pub fn subscribe(&self, subscription: u64) -> mpsc::Receiver<Event> {
        let (queue, events) = mpsc::channel(self.hub.queue_events);
        if let Some(c) = self.registered(&mut self.hub.lock()) {
            c.subscriptions.insert(subscription, queue);
        }
        events
    }

    /// Stops handing events to a subscription.
    pub fn unsubscribe(&self, subscription: u64) {
        if let Some(c) = self.registered(&mut self.hub.lock()) {
            c.subscriptions.remove(&subscription);
        }
    }

    fn registered<'a>(&self, all: &'a mut Connections) -> Option<&'a mut Registered> {
        all.by_workspace.get_mut(&self.workspace_id)?.get_mut(&self.id)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut all = self.hub.lock();
        if let Some(connections) = all.by_workspace.get_mut(&self.workspace_id) {
            connections.remove(&self.id);
            if connections.is_empty() {
                all.by_workspace.remove(&self.workspace_id);
            }
        }
    }
}

/// The hub's task: signals in the order the listener heard them, and the retention
/// sweep. Ends when the last [`Hub`] is dropped.
async fn run(
    hub: Weak<Inner>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
    pool: DbPool,
    retention: Duration,
) {
    // The number of the latest event handed on: where to catch up from.
    let mut last_seq: Option<i64> = None;
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        let signal = tokio::select! {
            signal = signals.recv() => match signal {
                Some(s) => s,
                None => return,
            },
            _ = sweep.tick() => {
                sweep_old(&pool, retention).await;
                continue;
            }
        };
        let Some(inner) = hub.upgrade() else { return };
        match signal {
            Signal::Event(id) => match load(&pool, id).await {
                Ok(Some(event)) => {
                    last_seq = Some(last_seq.unwrap_or(0).max(event.seq));
                    inner.dispatch(&Arc::new(event));
                }
                Ok(None) => {}
                Err(e) => {
                    // The event is in the outbox: the next catch-up hands it on.
                    tracing::warn!(error = %e, "could not read a notified event; catching up");
                    if let Some(seq) = last_seq {
                        last_seq = catch_up(&inner, &pool, seq).await;
                    }
                }
            },
            Signal::Grants {
                workspace_id,
                user_id,
            } => inner.recheck(Some(workspace_id), user_id),
            Signal::Listening => {
                last_seq = match last_seq {
                    // Events committed while the listener was down were never announced.
                    Some(seq) => catch_up(&inner, &pool, seq).await,
                    None => first_seq(&pool).await,
                };
                // And grants may have changed meanwhile.
                inner.recheck(None, None);
            }
            Signal::Lost => {}
        }
    }
}

async fn load(pool: &DbPool, id: Uuid) -> crate::error::Result<Option<PortalEvent>> {
    let mut conn = pool.get().await?;
    Ok(queries::event(&mut conn, id).await?)
}

async fn first_seq(pool: &DbPool) -> Option<i64> {
    let mut conn = pool.get().await.ok()?;
    queries::last_event_seq(&mut conn).await.ok()
}

/// Hands on every event committed after `seq`, in order; answers the new position
/// (unchanged when the database cannot be read: the next catch-up tries again).
async fn catch_up(hub: &Inner, pool: &DbPool, mut seq: i64) -> Option<i64> {
    loop {
        let batch = match pool.get().await {
            Ok(mut conn) => queries::events_after(&mut conn, seq, CATCH_UP_BATCH).await,
            Err(e) => {
                tracing::warn!(error = %e, "could not catch up on events");
                return Some(seq);
            }
        };
        let Ok(batch) = batch else { return Some(seq) };
        let done = (batch.len() as i64) < CATCH_UP_BATCH;
        for event in batch {
            seq = seq.max(event.seq);
            hub.dispatch(&Arc::new(event));
        }
        if done {
            return Some(seq);
        }
    }
}

async fn sweep_old(pool: &DbPool, retention: Duration) {
    let Ok(retention) = chrono::Duration::from_std(retention) else {
        return;
    };
    let Ok(mut conn) = pool.get().await else { return };
    match queries::sweep_events(&mut conn, chrono::Utc::now() - retention).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "dropped events past the inbox's retention"),
        Err(e) => tracing::warn!(error = %e, "could not sweep old events"),
    }
}
