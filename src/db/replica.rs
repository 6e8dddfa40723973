//! Reads on a streaming replica (docs/operations.md#read-replica): the one place that
//! decides whether a request's reads may go to the replica or must go to the primary.
//!
//! The rule: a read goes to the replica when the replica answers, has replayed what
//! the primary had written `max_lag` ago or less, and has replayed every write the
//! caller made through this instance (the primary's WAL position noted after their
//! mutation). Otherwise it goes to the primary: a replica that is down, lags or has not
//! caught up with the caller never fails a request, it only costs the primary the read.
//!
//! A background task polls both servers every [`POLL`]; a caller whose write is newer
//! than the last poll re-checks the replica on demand before falling back.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::DbPool;
use super::queries::{primary_lsn, replay_lsn};

/// How often the replica's replay position (and the primary's) is read.
pub const POLL: Duration = Duration::from_millis(50);

/// Callers whose last write is remembered; past it, the oldest is folded into a floor
/// that every caller waits for (never forgotten, only made coarser).
const MAX_CALLERS: usize = 100_000;

/// Primary positions kept to measure the replica's lag in time (a poll each).
const MAX_SAMPLES: usize = 4_096;

/// The longest one on-demand check of the replica may take before the read goes to
/// the primary instead.
const CHECK_TIMEOUT: Duration = Duration::from_millis(250);

/// Where a request reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Primary = 0,
    Replica = 1,
}

/// A streaming replica and what is known of its progress.
pub struct Replica {
    /// The pool requests read from on the replica.
    reads: DbPool,
    /// One connection each for the polls and checks, apart from the requests' pools.
    probe_replica: DbPool,
    probe_primary: DbPool,
    max_lag: Duration,
    state: Mutex<State>,
    /// Requests routed to the primary and to the replica, for `/metrics`.
    routed: [AtomicU64; 2],
}

#[derive(Default)]
struct State {
    /// The replica's replay position at the last poll or check; `None` while it does
    /// not answer (or is not a replica).
    replayed: Option<u64>,
    /// When the primary was last at a position the replica has replayed since.
    caught_up_at: Option<Instant>,
    /// The primary's positions (oldest first) not yet known to be replayed.
    samples: VecDeque<(Instant, u64)>,
    /// Per caller, the primary's position after their last write not yet replayed.
    writes: HashMap<Uuid, u64>,
    /// The order callers were noted in, to fold the oldest into `floor`.
    order: VecDeque<(Uuid, u64)>,
    /// A position every caller waits for: the writes of callers no longer remembered.
    floor: u64,
    /// Callers who wrote while the primary did not tell its position, and since when:
    /// their reads stay on the primary until a poll started later reads it.
    pending: HashMap<Uuid, Instant>,
    /// Likewise for everyone, when `pending` is full.
    pending_all: Option<Instant>,
}

impl State {
    fn lag_ok(&self, now: Instant, max_lag: Duration) -> bool {
        self.replayed.is_some()
            && self
                .caught_up_at
                .is_some_and(|t| now.saturating_duration_since(t) <= max_lag)
    }

    fn needed(&self, caller: Option<Uuid>) -> u64 {
        if self.pending_all.is_some() || caller.is_some_and(|c| self.pending.contains_key(&c)) {
            return u64::MAX;
        }
        let own = caller.and_then(|c| self.writes.get(&c).copied()).unwrap_or(0);
        own.max(self.floor)
    }

    /// The primary was at `primary` at some time after `at`, and the replica has
    /// replayed `replayed` after that.
    fn observe(&mut self, at: Instant, primary: Option<u64>, replayed: Option<u64>) {
        if let Some(p) = primary {
            // Writes noted while the primary did not tell its position: `p` was read
            // after they committed.
            let resolved: Vec<Uuid> = self
                .pending
                .iter()
                .filter(|(_, asked)| **asked < at)
                .map(|(c, _)| *c)
                .collect();
            for c in resolved {
                self.pending.remove(&c);
                self.note(c, p);
            }
            if self.pending_all.is_some_and(|asked| asked < at) {
                self.pending_all = None;
                self.floor = self.floor.max(p);
            }
        }
        self.replayed = replayed;
        let Some(replayed) = replayed else {
            self.samples.clear();
            self.caught_up_at = None;
            return;
        };
        if let Some(p) = primary {
            if self.samples.len() == MAX_SAMPLES {
                self.samples.pop_front();
            }
            self.samples.push_back((at, p));
        }
        while let Some(&(t, p)) = self.samples.front() {
            if p > replayed {
                break;
            }
            self.caught_up_at = Some(self.caught_up_at.map_or(t, |c| c.max(t)));
            self.samples.pop_front();
        }
        self.writes.retain(|_, lsn| *lsn > replayed);
        while self.order.front().is_some_and(|(_, lsn)| *lsn <= replayed) {
            self.order.pop_front();
        }
    }

    fn note(&mut self, caller: Uuid, lsn: u64) {
        let entry = self.writes.entry(caller).or_insert(0);
        *entry = (*entry).max(lsn);
        self.order.push_back((caller, lsn));
        // Past the bound the oldest caller is folded into the floor. `order` also holds
        // stale pairs of callers noted again since: it is bounded too.
        while self.writes.len() > MAX_CALLERS || self.order.len() > 2 * MAX_CALLERS {
            let Some((oldest, lsn)) = self.order.pop_front() else {
                break;
            };
            if self.writes.get(&oldest) == Some(&lsn) {
                self.writes.remove(&oldest);
                self.floor = self.floor.max(lsn);
            }
        }
    }
}

async fn read(pool: &DbPool, probe: impl AsyncFnOnce(&mut AsyncPgConnection) -> Option<u64>) -> Option<u64> {
    let work = async {
        let mut conn = pool.get().await.ok()?;
        probe(&mut conn).await
    };
    tokio::time::timeout(CHECK_TIMEOUT, work).await.ok().flatten()
}

impl Replica {
    /// A replica whose progress a background task polls until the replica is dropped.
    /// `reads` is the requests' pool on it; the probes are one connection each.
    pub fn start(
        reads: DbPool,
        probe_replica: DbPool,
        probe_primary: DbPool,
        max_lag: Duration,
    ) -> Arc<Replica> {
        let replica = Arc::new(Replica {
            reads,
            probe_replica,
            probe_primary,
            max_lag,
            state: Mutex::new(State::default()),
            routed: Default::default(),
        });
        tokio::spawn(poll(Arc::downgrade(&replica)));
        replica
    }

    /// The pool on the replica.
    pub fn pool(&self) -> &DbPool {
        &self.reads
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests whose reads went to `route` since the start.
    pub fn routed(&self, route: Route) -> u64 {
        self.routed[route as usize].load(Ordering::Relaxed)
    }

    /// Where the reads of `caller` (`None`: anonymous) go now.
    pub async fn route(&self, caller: Option<Uuid>) -> Route {
        let mut route = self.decide(caller).await;
        if route == Route::Replica && self.reads.get().await.is_err() {
            // Its connections closed or none can be opened: it went away since the
            // last poll. Reads go to the primary until a poll sees it again.
            self.state().observe(Instant::now(), None, None);
            route = Route::Primary;
        }
        self.routed[route as usize].fetch_add(1, Ordering::Relaxed);
        route
    }

    async fn decide(&self, caller: Option<Uuid>) -> Route {
        let needed = {
            let state = self.state();
            if !state.lag_ok(Instant::now(), self.max_lag) {
                return Route::Primary;
            }
            let needed = state.needed(caller);
            if state.replayed.is_some_and(|r| r >= needed) {
                return Route::Replica;
            }
            needed
        };
        // The caller wrote after the last poll: ask the replica now.
        match read(&self.probe_replica, replay_lsn).await {
            Some(replayed) if replayed >= needed => {
                let mut state = self.state();
                state.replayed = state.replayed.map(|r| r.max(replayed));
                Route::Replica
            }
            _ => Route::Primary,
        }
    }

    /// Notes that `caller` has just written through this instance: their next reads
    /// wait for the replica to replay the primary's position now. Without an answer
    /// from the primary, their reads go to the primary until a poll has seen its
    /// position after this call and the replica has replayed that.
    pub async fn wrote(&self, caller: Uuid) {
        let asked = Instant::now();
        let lsn = read(&self.probe_primary, primary_lsn).await;
        let mut state = self.state();
        match lsn {
            Some(lsn) => state.note(caller, lsn),
            None if state.pending.len() < MAX_CALLERS => {
                state.pending.insert(caller, asked);
            }
            None => {
                let since = state.pending_all.map_or(asked, |t| t.max(asked));
                state.pending_all = Some(since);
            }
        }
    }

    async fn poll_once(&self) {
        let at = Instant::now();
        // The primary first: what the replica has replayed after is compared with it.
        let primary = read(&self.probe_primary, primary_lsn).await;
        let replayed = read(&self.probe_replica, replay_lsn).await;
        let mut state = self.state();
        let was_up = state.replayed.is_some();
        state.observe(at, primary, replayed);
        match (was_up, state.replayed.is_some()) {
            (true, false) => tracing::warn!(
                "the read replica does not answer (or is not a replica): reads go to the primary"
            ),
            (false, true) => tracing::info!("the read replica answers: reads may go to it"),
            _ => {}
        }
    }
}

async fn poll(replica: Weak<Replica>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(replica) = replica.upgrade() else {
            return;
        };
        replica.poll_once().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// A state that has seen the primary at `lsn` and the replica caught up with it.
    fn caught_up(lsn: u64) -> (State, Instant) {
        let mut s = State::default();
        let t = Instant::now();
        s.observe(t, Some(lsn), Some(lsn));
        (s, t)
    }

    #[test]
    fn a_callers_write_holds_their_reads_until_the_replica_replays_it() {
        let (mut s, t) = caught_up(100);
        s.note(caller(1), 150);
        assert_eq!(s.needed(Some(caller(1))), 150);
        assert_eq!(s.needed(Some(caller(2))), 0, "others are not held");
        assert_eq!(s.needed(None), 0);
        s.observe(t, Some(160), Some(149));
        assert_eq!(s.needed(Some(caller(1))), 150, "not replayed yet");
        s.observe(t, Some(160), Some(150));
        assert_eq!(s.needed(Some(caller(1))), 0, "replayed: forgotten");
        assert!(s.writes.is_empty() && s.order.is_empty());
    }

    #[test]
    fn lag_is_the_age_of_the_newest_primary_position_the_replica_has() {
        let (mut s, t0) = caught_up(100);
        let max = Duration::from_secs(5);
        // The primary moves on; the replica stays at 100 (replay paused).
        s.observe(t0 + Duration::from_secs(1), Some(200), Some(100));
        s.observe(t0 + Duration::from_secs(2), Some(300), Some(100));
        assert!(s.lag_ok(t0 + Duration::from_secs(5), max));
        assert!(
            !s.lag_ok(t0 + Duration::from_secs(6), max),
            "5 s past the last position it had"
        );
        // It replays up to 200: as current as the primary was 1 s in.
        s.observe(t0 + Duration::from_secs(7), Some(300), Some(250));
        assert!(s.lag_ok(t0 + Duration::from_secs(6), max));
        assert!(!s.lag_ok(t0 + Duration::from_secs(7), max));
        // Gone: not usable, whatever the lag was.
        s.observe(t0 + Duration::from_secs(8), Some(300), None);
        assert!(!s.lag_ok(t0 + Duration::from_secs(8), max));
    }

    #[test]
    fn forgotten_callers_raise_the_floor_for_everyone() {
        let (mut s, _) = caught_up(0);
        for n in 0..=MAX_CALLERS as u128 {
            s.note(caller(n), 10 + n as u64);
        }
        assert_eq!(s.writes.len(), MAX_CALLERS);
        assert!(!s.writes.contains_key(&caller(0)));
        assert_eq!(s.floor, 10, "the first caller's position");
        assert_eq!(s.needed(Some(caller(0))), 10, "still held");
        assert_eq!(s.needed(None), 10);
    }

    #[test]
    fn a_write_whose_position_is_unknown_waits_for_a_later_poll() {
        let (mut s, t0) = caught_up(100);
        let asked = t0 + Duration::from_secs(1);
        s.pending.insert(caller(1), asked);
        assert_eq!(s.needed(Some(caller(1))), u64::MAX, "the primary for now");
        // A poll that started before the write says nothing about it.
        s.observe(asked - Duration::from_millis(10), Some(120), Some(120));
        assert_eq!(s.needed(Some(caller(1))), u64::MAX);
        // One that started after it read a position at or past its commit.
        s.observe(asked + Duration::from_millis(10), Some(130), Some(120));
        assert_eq!(s.needed(Some(caller(1))), 130);
        s.observe(asked + Duration::from_millis(20), Some(130), Some(130));
        assert_eq!(s.needed(Some(caller(1))), 0);
    }
}
