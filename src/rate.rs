//! Per-caller fairness at the edge (docs/operations.md): a token bucket per caller (the
//! user id of a verified token, else the client's address), and a cap on the requests one
//! caller has in flight, so that a caller who floods waits in a line of their own instead
//! of taking every pooled connection from everyone else.
//!
//! Buckets live in a few mutex-guarded shards; an idle caller's entry (full bucket,
//! nothing in flight) is dropped when its shard grows, so the table stays bounded by
//! the callers active in the last seconds.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::config::Rate;

/// Whose bucket a request draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallerKey {
    User(Uuid),
    Address(IpAddr),
}

struct Bucket {
    tokens: f64,
    updated: Instant,
    in_flight: Arc<Semaphore>,
}

const SHARDS: usize = 16;
/// Entries a shard holds before idle ones are swept.
const SWEEP_ABOVE: usize = 1_024;

pub struct RateLimiter {
    rate: Rate,
    concurrency: usize,
    shards: Vec<Mutex<HashMap<CallerKey, Bucket>>>,
    hasher: RandomState,
}

/// A request let through: holds its caller's in-flight slot until dropped.
pub struct Admitted(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl RateLimiter {
    /// `concurrency` is how many requests one caller may have running at once.
    pub fn new(rate: Rate, concurrency: usize) -> RateLimiter {
        RateLimiter {
            rate,
            concurrency: concurrency.max(1),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &CallerKey) -> &Mutex<HashMap<CallerKey, Bucket>> {
        &self.shards[self.hasher.hash_one(key) as usize % SHARDS]
    }

    /// Takes a token from the caller's bucket, then waits for one of the caller's
    /// in-flight slots; `Err(retry_after)` when the bucket is empty.
    pub async fn admit(&self, key: CallerKey) -> Result<Admitted, Duration> {
        if self.rate.per_second == 0 {
            return Ok(Admitted(None));
        }
        let slots = self.take(key, Instant::now())?;
        // The semaphore is never closed, so acquiring only waits.
        Ok(Admitted(slots.acquire_owned().await.ok()))
    }

    fn take(&self, key: CallerKey, now: Instant) -> Result<Arc<Semaphore>, Duration> {
        let per_second = f64::from(self.rate.per_second);
        let burst = f64::from(self.rate.burst.max(1));
        let Ok(mut shard) = self.shard(&key).lock() else {
            // A poisoned shard (a panic while it was held) lets requests through
            // rather than refusing everyone.
            return Ok(Arc::new(Semaphore::new(self.concurrency)));
        };
        if shard.len() > SWEEP_ABOVE {
            let concurrency = self.concurrency;
            shard.retain(|_, b| {
                let idle = b.in_flight.available_permits() == concurrency;
                let refilled = b.tokens + now.duration_since(b.updated).as_secs_f64() * per_second;
                !(idle && refilled >= burst)
            });
        }
        let bucket = shard.entry(key).or_insert_with(|| Bucket {
            tokens: burst,
            updated: now,
            in_flight: Arc::new(Semaphore::new(self.concurrency)),
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(bucket.in_flight.clone())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Duration::from_secs_f64(wait))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(
            Rate {
                per_second,
                burst,
                in_flight: 4,
            },
            4,
        )
    }

    #[test]
    fn a_burst_passes_then_the_bucket_refills_at_its_rate() {
        let l = limiter(10, 3);
        let key = CallerKey::User(Uuid::nil());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take(key, t0).is_ok());
        }
        let wait = l.take(key, t0).expect_err("empty bucket");
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(l.take(key, t0 + Duration::from_millis(100)).is_ok());
        assert!(l.take(key, t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn one_callers_flood_leaves_anothers_bucket_full() {
        let l = limiter(1, 2);
        let t0 = Instant::now();
        let flood = CallerKey::Address("10.0.0.1".parse().unwrap());
        while l.take(flood, t0).is_ok() {}
        let other = CallerKey::Address("10.0.0.2".parse().unwrap());
        assert!(l.take(other, t0).is_ok());
        assert!(l.take(other, t0).is_ok());
    }

    #[test]
    fn idle_callers_are_swept_and_the_table_stays_bounded() {
        let l = limiter(1000, 1);
        let t0 = Instant::now();
        for i in 0..20_000u32 {
            let key = CallerKey::User(Uuid::from_u128(u128::from(i)));
            let _ = l.take(key, t0 + Duration::from_millis(u64::from(i)));
        }
        let held: usize = l.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= SHARDS * (SWEEP_ABOVE + 1), "{held}");
    }
}
