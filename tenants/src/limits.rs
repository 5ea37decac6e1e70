//! Rate-limit counters in the platform database, for instances that share a
//! PostgreSQL and have no Redis. Fixed windows: a key counts hits since its window
//! started and remembers the last one.

use crate::StoreError;
use crate::clock::now_ms;
use crate::store::Store;

/// A counter after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Hits in the current window, this one included.
    pub count: i64,
    /// When the window started, Unix milliseconds.
    pub window_start: i64,
    /// The hit before this one (equal to this one's time for the first hit).
    pub previous_at: i64,
}

/// Counts a hit on `key` in a window of `window_ms`.
pub async fn hit(store: &Store, key: &str, window_ms: i64) -> Result<Counter, StoreError> {
    let now = now_ms();
    let mut tx = store.platform_tx().await?;
    let previous: Option<i64> =
        sqlx::query_scalar("SELECT last_at FROM rate_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    let (count, window_start): (i64, i64) = sqlx::query_as(
        "INSERT INTO rate_limits (key, count, window_start, last_at) VALUES ($1, 1, $2, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           count = CASE WHEN rate_limits.window_start < $3 THEN 1 ELSE rate_limits.count + 1 END, \
           window_start = CASE WHEN rate_limits.window_start < $3 THEN $2 ELSE rate_limits.window_start END, \
           last_at = $2 \
         RETURNING count, window_start",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_ms)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Counter {
        count,
        window_start,
        previous_at: previous.unwrap_or(now),
    })
}

/// The counter of `key` if its window is still open.
pub async fn peek(store: &Store, key: &str, window_ms: i64) -> Result<Option<Counter>, StoreError> {
    let row: Option<(i64, i64, i64)> =
        sqlx::query_as("SELECT count, window_start, last_at FROM rate_limits WHERE key = $1 AND window_start >= $2")
            .bind(key)
            .bind(now_ms() - window_ms)
            .fetch_optional(store.platform())
            .await?;
    Ok(row.map(|(count, window_start, last_at)| Counter {
        count,
        window_start,
        previous_at: last_at,
    }))
}

/// Forgets `key` (after a success).
pub async fn clear(store: &Store, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM rate_limits WHERE key = $1")
        .bind(key)
        .execute(store.platform())
        .await?;
    Ok(())
}

/// Removes counters whose window ended before `older_than_ms` ago.
pub async fn prune(store: &Store, older_than_ms: i64) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(now_ms() - older_than_ms)
            .execute(store.platform())
            .await?
            .rows_affected(),
    )
}
