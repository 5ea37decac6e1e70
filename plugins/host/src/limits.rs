//! Hard limits around invocations: memory summed over an instance's memories, a
//! circuit breaker per tenant × plugin × version, per-tenant concurrency and daily
//! CPU budgets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Caps the sum of all of an instance's linear memories and tables (wasmtime's
/// `StoreLimits` caps each memory separately, which a component with several
/// memories could multiply).
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    used: usize,
    tables: usize,
    /// Set when a growth was refused: the trap that follows is a memory limit.
    pub hit: bool,
}

impl MemoryLimiter {
    /// A limiter for `limit` bytes.
    pub fn new(limit: usize) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            used: 0,
            tables: 0,
            hit: false,
        }
    }

    /// Bytes of linear memory in use.
    pub fn used(&self) -> usize {
        self.used
    }
}

/// The most table elements an instance may hold in all its tables.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let next = self.used.saturating_sub(current).saturating_add(desired);
        if next > self.limit {
            self.hit = true;
            return Ok(false);
        }
        self.used = next;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let next = self.tables.saturating_sub(current).saturating_add(desired);
        if next > MAX_TABLE_ELEMENTS {
            self.hit = true;
            return Ok(false);
        }
        self.tables = next;
        Ok(true)
    }

    fn instances(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        8
    }

    fn tables(&self) -> usize {
        16
    }
}

/// Opens after `threshold` consecutive failures of a tenant's plugin version and
/// stays open for `cool_down`; then one call is let through to test it.
#[derive(Debug)]
pub struct Breakers {
    threshold: u32,
    cool_down: Duration,
    state: Mutex<HashMap<String, Breaker>>,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

impl Breakers {
    /// Breakers opening after `threshold` failures for `cool_down`.
    pub fn new(threshold: u32, cool_down: Duration) -> Breakers {
        Breakers {
            threshold,
            cool_down,
            state: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Breaker>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may go ahead; when the cool-down has passed, one does.
    pub fn allow(&self, key: &str) -> bool {
        let mut state = self.lock();
        let Some(breaker) = state.get_mut(key) else {
            return true;
        };
        match breaker.open_until {
            Some(until) if Instant::now() < until => false,
            Some(_) => {
                // Half-open: this call tests the plugin; another failure re-opens.
                breaker.open_until = None;
                breaker.failures = self.threshold.saturating_sub(1);
                true
            }
            None => true,
        }
    }

    /// Records a call's outcome.
    pub fn record(&self, key: &str, failed: bool) {
        let mut state = self.lock();
        if !failed {
            state.remove(key);
            return;
        }
        let breaker = state.entry(key.to_owned()).or_default();
        breaker.failures += 1;
        if breaker.failures >= self.threshold {
            breaker.open_until = Some(Instant::now() + self.cool_down);
        }
    }

    /// Whether the breaker for `key` is open now.
    pub fn is_open(&self, key: &str) -> bool {
        self.lock()
            .get(key)
            .and_then(|b| b.open_until)
            .is_some_and(|until| Instant::now() < until)
    }
}

/// Per-tenant concurrency and daily CPU time.
#[derive(Debug)]
pub struct TenantLimits {
    concurrency: usize,
    daily_cpu: Duration,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    spent: Mutex<HashMap<String, (u64, Duration)>>,
}

fn today() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

impl TenantLimits {
    /// `concurrency` calls at once per tenant, `daily_cpu` of guest time per day.
    pub fn new(concurrency: usize, daily_cpu: Duration) -> TenantLimits {
        TenantLimits {
            concurrency,
            daily_cpu,
            slots: Mutex::new(HashMap::new()),
            spent: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's semaphore.
    pub fn slots(&self, tenant: &str) -> Arc<Semaphore> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry(tenant.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.concurrency)))
            .clone()
    }

    /// Waits up to `wait` for one of the tenant's slots.
    pub async fn acquire(&self, tenant: &str, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots(tenant);
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Some(permit);
        }
        tokio::time::timeout(wait, slots.acquire_owned())
            .await
            .ok()
            .and_then(|r| r.ok())
    }

    /// Whether the tenant still has CPU time today.
    pub fn has_budget(&self, tenant: &str) -> bool {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        match spent.get(tenant) {
            Some((day, used)) if *day == today() => *used < self.daily_cpu,
            _ => true,
        }
    }

    /// Adds a call's CPU time to the tenant's day.
    pub fn charge(&self, tenant: &str, cpu: Duration) {
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        let day = today();
        let entry = spent
            .entry(tenant.to_owned())
            .or_insert((day, Duration::ZERO));
        if entry.0 != day {
            *entry = (day, Duration::ZERO);
        }
        entry.1 += cpu;
    }

    /// CPU time spent today by the tenant's plugins.
    pub fn spent_today(&self, tenant: &str) -> Duration {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        match spent.get(tenant) {
            Some((day, used)) if *day == today() => *used,
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn limiter_sums_memories() {
        let mut limiter = MemoryLimiter::new(10 << 20);
        assert!(limiter.memory_growing(0, 6 << 20, None).expect("ok"));
        // A second memory of 6 MiB would pass a per-memory cap; the sum refuses it.
        assert!(!limiter.memory_growing(0, 6 << 20, None).expect("ok"));
        assert!(limiter.hit);
        assert!(limiter.memory_growing(6 << 20, 9 << 20, None).expect("ok"));
        assert_eq!(limiter.used(), 9 << 20);
    }

    #[test]
    fn breaker_opens_and_half_opens() {
        let breakers = Breakers::new(3, Duration::from_millis(30));
        for _ in 0..3 {
            assert!(breakers.allow("t:p:1"));
            breakers.record("t:p:1", true);
        }
        assert!(!breakers.allow("t:p:1"));
        assert!(breakers.allow("t:p:2"), "other versions are not affected");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breakers.allow("t:p:1"), "half-open after the cool-down");
        breakers.record("t:p:1", true);
        assert!(!breakers.allow("t:p:1"), "one more failure re-opens it");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breakers.allow("t:p:1"));
        breakers.record("t:p:1", false);
        assert!(breakers.allow("t:p:1"));
    }

    #[test]
    fn budgets_are_per_tenant() {
        let limits = TenantLimits::new(2, Duration::from_millis(100));
        limits.charge("a", Duration::from_millis(150));
        assert!(!limits.has_budget("a"));
        assert!(limits.has_budget("b"));
    }
}
