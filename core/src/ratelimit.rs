//! Rate limits on sign-in, second factor, invitations (and, later, SMS): per client
//! address a hard ceiling per window; per account a growing delay after a few
//! failures, which slows guessing to a crawl without ever locking the real person
//! out (they wait at most a minute). Counters live in Redis when configured, else
//! in the database when PostgreSQL serves several instances, else in memory on the
//! embedded single-instance default.

use std::collections::HashMap;
use std::sync::Mutex;

use portico_tenants::clock::now_ms;
use portico_tenants::limits::{self, Counter};
use portico_tenants::{Backend, Store, StoreError};

/// Failures an account may have in a window before delays start.
const FREE_FAILURES: i64 = 5;
/// The longest delay between attempts on one account, seconds.
const MAX_DELAY_SECONDS: i64 = 60;
/// Account and address windows.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

/// Why a counter could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// The database failed.
    #[error("rate-limit storage")]
    Store(#[from] StoreError),
    /// Redis failed.
    #[error("rate-limit storage (redis)")]
    Redis(#[from] redis::RedisError),
}

enum Counters {
    Memory(Mutex<HashMap<String, (i64, i64, i64)>>),
    Database(Store),
    /// Redis, with this installation's key prefix.
    Redis(redis::aio::ConnectionManager, String),
}

/// The rate limiter of one application.
pub struct RateLimiter {
    counters: Counters,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.counters {
            Counters::Memory(_) => "memory",
            Counters::Database(_) => "database",
            Counters::Redis(..) => "redis",
        };
        f.debug_struct("RateLimiter")
            .field("counters", &kind)
            .finish()
    }
}

impl RateLimiter {
    /// Redis when configured; the database when PostgreSQL is; memory otherwise.
    /// `installation` keeps this installation's Redis keys apart from any other's.
    pub fn new(
        store: &Store,
        redis: Option<redis::aio::ConnectionManager>,
        installation: &str,
    ) -> Self {
        let counters = match (redis, store.backend()) {
            (Some(redis), _) => Counters::Redis(redis, format!("portico:{installation}:rl:")),
            (None, Backend::Postgres) => Counters::Database(store.clone()),
            (None, Backend::Sqlite) => Counters::Memory(Mutex::new(HashMap::new())),
        };
        RateLimiter { counters }
    }

    async fn hit(&self, key: &str, window_ms: i64) -> Result<Counter, LimitError> {
        let now = now_ms();
        match &self.counters {
            Counters::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if map.len() > 100_000 {
                    map.retain(|_, (_, start, _)| *start >= now - window_ms);
                }
                let entry = map.entry(key.to_owned()).or_insert((0, now, now));
                if entry.1 < now - window_ms {
                    *entry = (0, now, now);
                }
                let previous_at = entry.2;
                entry.0 += 1;
                entry.2 = now;
                Ok(Counter {
                    count: entry.0,
                    window_start: entry.1,
                    previous_at,
                })
            }
            Counters::Database(store) => Ok(limits::hit(store, key, window_ms).await?),
            Counters::Redis(redis, prefix) => {
                let mut connection = redis.clone();
                let key = format!("{prefix}{key}");
                let (count, window_start, previous): (i64, i64, Option<i64>) = redis::pipe()
                    .atomic()
                    .hincr(&key, "count", 1)
                    .hset_nx(&key, "window_start", now)
                    .ignore()
                    .hget(&key, "window_start")
                    .hget(&key, "last_at")
                    .hset(&key, "last_at", now)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(window_ms)
                    .arg("NX")
                    .ignore()
                    .query_async(&mut connection)
                    .await?;
                Ok(Counter {
                    count,
                    window_start,
                    previous_at: previous.unwrap_or(now),
                })
            }
        }
    }

    async fn peek(&self, key: &str, window_ms: i64) -> Result<Option<Counter>, LimitError> {
        let now = now_ms();
        match &self.counters {
            Counters::Memory(map) => {
                let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                Ok(map
                    .get(key)
                    .filter(|(_, start, _)| *start >= now - window_ms)
                    .map(|(count, start, last)| Counter {
                        count: *count,
                        window_start: *start,
                        previous_at: *last,
                    }))
            }
            Counters::Database(store) => Ok(limits::peek(store, key, window_ms).await?),
            Counters::Redis(redis, prefix) => {
                let mut connection = redis.clone();
                let key = format!("{prefix}{key}");
                let (count, start, last): (Option<i64>, Option<i64>, Option<i64>) = redis::pipe()
                    .hget(&key, "count")
                    .hget(&key, "window_start")
                    .hget(&key, "last_at")
                    .query_async(&mut connection)
                    .await?;
                Ok(match (count, start, last) {
                    (Some(count), Some(start), Some(last)) => Some(Counter {
                        count,
                        window_start: start,
                        previous_at: last,
                    }),
                    _ => None,
                })
            }
        }
    }

    async fn clear(&self, key: &str) -> Result<(), LimitError> {
        match &self.counters {
            Counters::Memory(map) => {
                map.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(key);
                Ok(())
            }
            Counters::Database(store) => Ok(limits::clear(store, key).await?),
            Counters::Redis(redis, prefix) => {
                let mut connection = redis.clone();
                let _: i64 = redis::cmd("DEL")
                    .arg(format!("{prefix}{key}"))
                    .query_async(&mut connection)
                    .await?;
                Ok(())
            }
        }
    }

    /// Counts a request from a client address; `Some(seconds)` to wait once more
    /// than `max` arrived in the window.
    pub async fn address(&self, key: &str, max: i64) -> Result<Option<u64>, LimitError> {
        let counter = self.hit(key, WINDOW_MS).await?;
        if counter.count > max {
            let remaining_ms = (counter.window_start + WINDOW_MS - now_ms()).max(1000);
            return Ok(Some((remaining_ms / 1000) as u64));
        }
        Ok(None)
    }

    /// Whether an account must wait before its next attempt; `Some(seconds)` if so.
    pub async fn account_wait(&self, key: &str) -> Result<Option<u64>, LimitError> {
        let Some(counter) = self.peek(key, WINDOW_MS).await? else {
            return Ok(None);
        };
        if counter.count < FREE_FAILURES {
            return Ok(None);
        }
        let delay_ms =
            (1_i64 << (counter.count - FREE_FAILURES).clamp(0, 6)).min(MAX_DELAY_SECONDS) * 1000;
        let waited = now_ms() - counter.previous_at;
        Ok((waited < delay_ms).then(|| ((delay_ms - waited + 999) / 1000) as u64))
    }

    /// Records a failed attempt on an account.
    pub async fn account_failed(&self, key: &str) -> Result<(), LimitError> {
        self.hit(key, WINDOW_MS).await.map(|_| ())
    }

    /// Forgets an account's failures after a success.
    pub async fn account_succeeded(&self, key: &str) -> Result<(), LimitError> {
        self.clear(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accounts_slow_down_after_five_failures_and_addresses_stop_at_their_ceiling() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(portico_tenants::StoreOptions::sqlite(dir.path()))
            .await
            .expect("store");
        let limiter = RateLimiter::new(&store, None, "test");
        for _ in 0..FREE_FAILURES - 1 {
            limiter.account_failed("a").await.expect("hit");
            assert_eq!(limiter.account_wait("a").await.expect("peek"), None);
        }
        limiter.account_failed("a").await.expect("hit");
        let wait = limiter
            .account_wait("a")
            .await
            .expect("peek")
            .expect("a delay");
        assert!((1..=1).contains(&wait), "{wait}");
        limiter.account_succeeded("a").await.expect("clear");
        assert_eq!(limiter.account_wait("a").await.expect("peek"), None);
        for _ in 0..3 {
            assert_eq!(limiter.address("ip", 3).await.expect("hit"), None);
        }
        assert!(limiter.address("ip", 3).await.expect("hit").is_some());
    }
}
