//! The grants cache (docs/operations.md#grants-cache): per instance, the rows a caller's
//! access is decided from, so that a request runs one trivial statement instead of the
//! caller query.
//!
//! Never a stale decision:
//! - an entry holds the *rows* and the `grants_version` they were read with, in one
//!   statement (one snapshot); the access is decided from them at each request's `now`,
//!   so an expiry, which nothing announces, holds without any invalidation;
//! - a hit is used only when `SELECT n FROM grants_version` still equals the entry's
//!   version (the fence): every change of what decisions read bumps it in the changing
//!   transaction, so a change committed through any instance holds on the next request
//!   here even before its notification arrives;
//! - notifications (`portal_grants`, through the listener) drop the matching entries
//!   early; while the listener is down the cache is neither read nor written.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use lru::LruCache;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use uuid::Uuid;

use super::{Claims, Identity, TokenKind, external_access};
use crate::access::Access;
use crate::db::models::{CallerRoleRow, ExternalCallerRow, StaffUser};
use crate::db::{DbConn, queries};
use crate::error::Result;

/// How many callers one instance keeps; the least recently used goes first.
pub const CAPACITY: usize = 10_000;

/// What became of a lookup, for `portal_grants_cache_lookups_total{result}`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Lookup {
    /// The fence matched: the cached rows decided.
    Hit,
    /// Not cached, or the fence did not match: the rows were read.
    Miss,
    /// The cache is off (`GRANTS_CACHE=false`) or its listener is down.
    Bypass,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Bypass => "bypass",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LookupLabels {
    pub result: &'static str,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Kind {
    Staff,
    External,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Key {
    kind: Kind,
    user_id: Uuid,
    workspace_id: Uuid,
}

impl Key {
    fn of(claims: &Claims) -> Key {
        let kind = match claims.kind {
            TokenKind::Staff => Kind::Staff,
            TokenKind::External => Kind::External,
        };
        Key {
            kind,
            user_id: claims.sub,
            workspace_id: claims.ws,
        }
    }
}

/// A caller's rows as read, before any decision.
#[derive(Clone, Debug)]
enum Rows {
    Staff(StaffUser),
    External(ExternalCallerRow, Vec<CallerRoleRow>),
}

impl Rows {
    /// The access these rows give at `now` (docs/permissions.md#callers).
    fn decide(self, now: DateTime<Utc>) -> Option<(Access, Identity)> {
        match self {
            Rows::Staff(user) => {
                let access = Access::staff(user.id, user.workspace_id, user.is_admin);
                let identity = Identity {
                    id: user.id,
                    name: user.name,
                    email: user.email,
                    account_id: None,
                };
                Some((access, identity))
            }
            Rows::External(row, roles) => external_access(row, roles, now),
        }
    }
}

#[derive(Clone)]
struct Entry {
    rows: Rows,
    version: i64,
}

struct State {
    /// Whether the listener is listening: only then is the cache read or written.
    listening: bool,
    entries: LruCache<Key, Entry>,
}

/// This instance's cache of callers' grants. See the module doc for why it never
/// decides from stale rows.
pub struct GrantsCache {
    enabled: bool,
    state: Mutex<State>,
    lookups: Family<LookupLabels, Counter>,
}

impl GrantsCache {
    /// A cache that stays off until its listener reports listening; `enabled: false`
    /// (`GRANTS_CACHE=false`) keeps it off for good.
    pub fn new(enabled: bool) -> GrantsCache {
        GrantsCache::with_capacity(enabled, CAPACITY)
    }

    fn with_capacity(enabled: bool, capacity: usize) -> GrantsCache {
        GrantsCache {
            enabled,
            state: Mutex::new(State {
                listening: false,
                entries: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
            }),
            lookups: Family::default(),
        }
    }

    /// The lookup counters, for `/metrics`.
    pub fn lookups(&self) -> Family<LookupLabels, Counter> {
        self.lookups.clone()
    }

    /// The one entry point for deciding a verified token's caller (a request's, or a
    /// subscription's on each event): `None` for an unknown user, a user of another
    /// workspace, or one whose portal access is revoked or ended now.
    pub async fn access(&self, conn: &mut DbConn, claims: &Claims) -> Result<Option<(Access, Identity)>> {
        let now = Utc::now();
        let key = Key::of(claims);
        let Some(cached) = self.read(|entries| entries.get(&key).cloned()) else {
            self.count(Lookup::Bypass);
            return super::authenticate(conn, claims).await;
        };
        if let Some(entry) = cached
            && queries::grants_version(conn).await? == Some(entry.version)
        {
            self.count(Lookup::Hit);
            return Ok(entry.rows.decide(now));
        }
        self.count(Lookup::Miss);
        let loaded = match key.kind {
            Kind::Staff => queries::staff_user_versioned(conn, key.user_id, key.workspace_id)
                .await?
                .map(|(user, version)| (Rows::Staff(user), version)),
            Kind::External => queries::external_caller_versioned(conn, key.user_id, key.workspace_id)
                .await?
                .map(|(row, roles, version)| (Rows::External(row, roles), version)),
        };
        let Some((rows, version)) = loaded else {
            self.read(|entries| entries.pop(&key));
            return Ok(None);
        };
        self.read(|entries| {
            entries.put(
                key,
                Entry {
                    rows: rows.clone(),
                    version,
                },
            )
        });
        Ok(rows.decide(now))
    }

    /// The listener listens (again): what was announced before is unknown, so nothing
    /// cached before is kept; the cache is used from now on.
    pub fn listening(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.listening = self.enabled;
    }

    /// The listener lost its connection: announcements may be missed, so the cache is
    /// bypassed (neither read nor written) and emptied until it listens again.
    pub fn lost(&self) {
        let mut state = self.lock();
        state.listening = false;
        state.entries.clear();
    }

    /// A change of grants was announced: drops the entries it may concern (one external
    /// user's, or, with `user_id: None`, every caller's of the workspace).
    pub fn changed(&self, workspace_id: Uuid, user_id: Option<Uuid>) {
        let mut state = self.lock();
        let stale: Vec<Key> = state
            .entries
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| {
                k.workspace_id == workspace_id
                    && user_id.is_none_or(|u| k.kind == Kind::External && k.user_id == u)
            })
            .collect();
        for key in stale {
            state.entries.pop(&key);
        }
    }

    /// How many callers are cached (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on the entries while the cache is in use; `None` when it is bypassed.
    fn read<T>(&self, f: impl FnOnce(&mut LruCache<Key, Entry>) -> T) -> Option<T> {
        let mut state = self.lock();
        state.listening.then(|| f(&mut state.entries))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn count(&self, result: Lookup) {
        self.lookups
            .get_or_create(&LookupLabels {
                result: result.as_str(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: Kind, user: u128, ws: u128) -> Key {
        Key {
            kind,
            user_id: Uuid::from_u128(user),
            workspace_id: Uuid::from_u128(ws),
        }
    }

    fn staff(user: u128, ws: u128) -> Entry {
        Entry {
            rows: Rows::Staff(StaffUser {
                id: Uuid::from_u128(user),
                workspace_id: Uuid::from_u128(ws),
                email: String::new(),
                name: String::new(),
                is_admin: false,
            }),
            version: 0,
        }
    }

    fn filled() -> GrantsCache {
        let cache = GrantsCache::with_capacity(true, 8);
        cache.listening();
        cache.read(|e| {
            e.put(key(Kind::Staff, 1, 10), staff(1, 10));
            e.put(key(Kind::External, 2, 10), staff(2, 10));
            e.put(key(Kind::External, 3, 10), staff(3, 10));
            e.put(key(Kind::External, 4, 20), staff(4, 20));
        });
        cache
    }

    #[test]
    fn a_user_change_drops_that_external_user_only() {
        let cache = filled();
        cache.changed(Uuid::from_u128(10), Some(Uuid::from_u128(2)));
        assert_eq!(cache.len(), 3);
        assert!(cache.read(|e| e.contains(&key(Kind::External, 2, 10))) == Some(false));
    }

    #[test]
    fn a_workspace_change_drops_every_caller_of_the_workspace() {
        let cache = filled();
        cache.changed(Uuid::from_u128(10), None);
        assert_eq!(cache.len(), 1);
        assert!(cache.read(|e| e.contains(&key(Kind::External, 4, 20))) == Some(true));
    }

    #[test]
    fn a_lost_listener_empties_and_bypasses_the_cache() {
        let cache = filled();
        cache.lost();
        assert!(cache.is_empty());
        assert!(cache.read(|_| ()).is_none());
        cache.listening();
        assert!(cache.read(|_| ()).is_some());
    }

    #[test]
    fn a_disabled_cache_is_never_used() {
        let cache = GrantsCache::with_capacity(false, 8);
        cache.listening();
        assert!(cache.read(|_| ()).is_none());
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = GrantsCache::with_capacity(true, 2);
        cache.listening();
        cache.read(|e| {
            for u in 0..5 {
                e.put(key(Kind::Staff, u, 1), staff(u, 1));
            }
        });
        assert_eq!(cache.len(), 2);
    }
}
