//! Historical-data pacing, kept inside IB's published limits so a burst of LLM tool calls never
//! earns an error 162: no identical request within 15 s, at most 60 requests in any 10 minutes,
//! at most 50 open at once. (The overall ~50 messages/s limit is enforced by ibapi's own
//! `RateLimiter`, installed on every connection.)
//!
//! A request that would have to wait longer than `max_wait` is refused at once with the time
//! to retry, so a tool answers "try again in 4 min" instead of hanging.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// IB's historical-data limits (defaults) plus how long a caller may be made to wait.
#[derive(Debug, Clone)]
pub struct PacingLimits {
    /// Minimum gap between two identical requests.
    pub identical_gap: Duration,
    /// Rolling window for `max_per_window`.
    pub window: Duration,
    pub max_per_window: usize,
    /// Requests in flight at once.
    pub max_open: usize,
    /// Longest a caller waits for a slot before being told to retry later.
    pub max_wait: Duration,
}

impl Default for PacingLimits {
    fn default() -> Self {
        PacingLimits {
            // A little margin over IB's 15 s so clock skew never makes us the violator.
            identical_gap: Duration::from_millis(15_500),
            window: Duration::from_secs(600),
            max_per_window: 60,
            max_open: 50,
            max_wait: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct Ledger {
    /// Send times inside the rolling window, oldest first.
    sent: VecDeque<Instant>,
    /// Last send time per request key (for the identical-request rule).
    last_by_key: HashMap<String, Instant>,
}

/// How much of the historical-data allowance is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingUsage {
    pub sent_in_window: usize,
    pub max_per_window: usize,
    pub window: Duration,
    pub open: usize,
    pub max_open: usize,
}

/// Shared pacer for one gateway connection.
pub struct HistoricalPacer {
    limits: PacingLimits,
    ledger: Mutex<Ledger>,
    open: Arc<Semaphore>,
}

/// Held while a request is on the wire; dropping it frees an "open request" slot.
pub struct PacingPermit {
    _open: OwnedSemaphorePermit,
}

impl HistoricalPacer {
    pub fn new(limits: PacingLimits) -> Self {
        let open = Arc::new(Semaphore::new(limits.max_open.max(1)));
        HistoricalPacer {
            limits,
            ledger: Mutex::new(Ledger::default()),
            open,
        }
    }

    pub fn limits(&self) -> &PacingLimits {
        &self.limits
    }

    /// Waits for a slot for the request `key`. `Err(retry_after)` when the wait would exceed
    /// `max_wait`.
    pub async fn acquire(&self, key: &str) -> Result<PacingPermit, Duration> {
        let started = Instant::now();
        let deadline = started + self.limits.max_wait;
        let open = match tokio::time::timeout_at(deadline, self.open.clone().acquire_owned()).await
        {
            Ok(Ok(p)) => p,
            // Closed semaphore cannot happen (we never close it); a timeout means 50 are open.
            _ => return Err(self.limits.max_wait),
        };
        loop {
            let now = Instant::now();
            let wait = {
                let mut ledger = self.ledger.lock();
                self.prune(&mut ledger, now);
                let wait = self.wait_needed(&ledger, key, now);
                if wait.is_zero() {
                    ledger.sent.push_back(now);
                    ledger.last_by_key.insert(key.to_string(), now);
                    return Ok(PacingPermit { _open: open });
                }
                wait
            };
            if now + wait > deadline {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// How long until `key` may be sent, without reserving anything.
    pub fn wait_for(&self, key: &str) -> Duration {
        let now = Instant::now();
        let mut ledger = self.ledger.lock();
        self.prune(&mut ledger, now);
        self.wait_needed(&ledger, key, now)
    }

    /// Historical requests sent in the current window and open now, against their limits
    /// (`ibkr_selftest`'s pacing headroom).
    pub fn usage(&self) -> PacingUsage {
        let now = Instant::now();
        let mut ledger = self.ledger.lock();
        self.prune(&mut ledger, now);
        PacingUsage {
            sent_in_window: ledger.sent.len(),
            max_per_window: self.limits.max_per_window,
            window: self.limits.window,
            open: self
                .limits
                .max_open
                .max(1)
                .saturating_sub(self.open.available_permits()),
            max_open: self.limits.max_open,
        }
    }

    fn prune(&self, ledger: &mut Ledger, now: Instant) {
        while ledger
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limits.window)
        {
            ledger.sent.pop_front();
        }
        let gap = self.limits.identical_gap;
        ledger
            .last_by_key
            .retain(|_, t| now.duration_since(*t) < gap);
    }

    fn wait_needed(&self, ledger: &Ledger, key: &str, now: Instant) -> Duration {
        let identical = ledger
            .last_by_key
            .get(key)
            .map(|t| (*t + self.limits.identical_gap).saturating_duration_since(now))
            .unwrap_or_default();
        let window = if ledger.sent.len() >= self.limits.max_per_window {
            // The oldest send must leave the window before another may go.
            let idx = ledger.sent.len() - self.limits.max_per_window;
            ledger
                .sent
                .get(idx)
                .map(|t| (*t + self.limits.window).saturating_duration_since(now))
                .unwrap_or_default()
        } else {
            Duration::ZERO
        };
        identical.max(window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IB's rules scaled down so the tests run in real time in well under a second.
    fn small() -> PacingLimits {
        PacingLimits {
            identical_gap: Duration::from_millis(150),
            window: Duration::from_millis(400),
            max_per_window: 6,
            max_open: 5,
            max_wait: Duration::from_millis(100),
        }
    }

    #[tokio::test]
    async fn distinct_requests_pass_until_the_window_is_full() {
        let pacer = HistoricalPacer::new(small());
        for i in 0..6 {
            let p =
                tokio::time::timeout(Duration::from_secs(2), pacer.acquire(&format!("k{i}"))).await;
            assert!(matches!(p, Ok(Ok(_))), "request {i} should pass");
        }
        // The 7th would wait ~400 ms for the window: more than max_wait, so it is refused.
        let refused = tokio::time::timeout(Duration::from_secs(2), pacer.acquire("k6")).await;
        assert!(matches!(refused, Ok(Err(wait)) if wait > Duration::from_millis(100)));
    }

    #[tokio::test]
    async fn identical_request_waits_out_the_gap() {
        let limits = PacingLimits {
            max_wait: Duration::from_secs(1),
            ..small()
        };
        let pacer = HistoricalPacer::new(limits);
        let t0 = Instant::now();
        let first = tokio::time::timeout(Duration::from_secs(2), pacer.acquire("same")).await;
        let second = tokio::time::timeout(Duration::from_secs(2), pacer.acquire("same")).await;
        assert!(matches!(first, Ok(Ok(_))) && matches!(second, Ok(Ok(_))));
        assert!(Instant::now().duration_since(t0) >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn open_requests_are_capped() {
        let limits = PacingLimits {
            max_open: 2,
            max_per_window: 100,
            ..small()
        };
        let pacer = HistoricalPacer::new(limits);
        let a = pacer.acquire("a").await.ok();
        let b = pacer.acquire("b").await.ok();
        assert!(a.is_some() && b.is_some());
        assert!(pacer.acquire("c").await.is_err());
        drop(a);
        assert!(pacer.acquire("c").await.is_ok());
    }

    #[test]
    fn defaults_are_ibs_limits() {
        let d = PacingLimits::default();
        assert_eq!(
            (d.max_per_window, d.max_open, d.window),
            (60, 50, Duration::from_secs(600))
        );
        assert!(d.identical_gap >= Duration::from_secs(15));
    }
}
