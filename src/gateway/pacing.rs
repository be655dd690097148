//! Historical-data pacing, kept inside IB's published limits so neither a burst of LLM tool
//! calls nor warming a 2,000-holding book earns an error 162.
//!
//! IB's rules, as its historical-data limitations page gives them: for **small bars (30 seconds
//! or less)** no identical request within 15 s and no more than 60 requests in any 10 minutes;
//! for **every bar size** no more than 50 requests open at once. Daily and minute bars therefore
//! meet only the open-request cap, which is why a large book can be covered in minutes rather
//! than hours. We keep `max_open` below IB's 50 so other API clients on the same gateway (and
//! keep-up-to-date streams) still find room, and background warming gets only a share of it
//! so an LLM's request never queues behind a whole book's history. (The overall ~50 messages/s
//! limit is enforced by ibapi's own `RateLimiter`, installed on every connection.)
//!
//! A request that would have to wait longer than `max_wait` is refused at once with the time
//! to retry, so a tool answers "try again in 4 min" instead of hanging.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Bars of this many seconds or fewer are "small" in IB's pacing rules.
pub const SMALL_BAR_SECS: i64 = 30;

/// IB's historical-data limits (defaults) plus how long a caller may be made to wait.
#[derive(Debug, Clone)]
pub struct PacingLimits {
    /// Minimum gap between two identical small-bar requests.
    pub identical_gap: Duration,
    /// Rolling window for `max_per_window` (small bars only).
    pub window: Duration,
    pub max_per_window: usize,
    /// Requests in flight at once, any bar size.
    pub max_open: usize,
    /// Of `max_open`, how many background warming may hold at once.
    pub background_open: usize,
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
            max_open: 40,
            background_open: 12,
            max_wait: Duration::from_secs(30),
        }
    }
}

/// What a historical request is, as the pacing rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKind {
    /// Bars of 30 seconds or less: the identical-request and 60-per-10-minutes rules apply.
    pub small_bars: bool,
    /// Background warming rather than someone waiting for the answer.
    pub background: bool,
}

impl RequestKind {
    /// A request someone waits for, with bars of `bar_secs` seconds.
    pub fn foreground(bar_secs: i64) -> Self {
        RequestKind {
            small_bars: bar_secs <= SMALL_BAR_SECS,
            background: false,
        }
    }
    /// Background warming with bars of `bar_secs` seconds.
    pub fn background(bar_secs: i64) -> Self {
        RequestKind {
            background: true,
            ..Self::foreground(bar_secs)
        }
    }
}

/// Why a request was not sent, with how long until it could be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacingRefusal {
    /// Every open-request slot stayed taken for `max_wait`.
    AllOpen {
        max_open: usize,
        retry_after: Duration,
    },
    /// The small-bar window (or identical-request gap) would hold it longer than `max_wait`.
    SmallBarRules { retry_after: Duration },
}

impl PacingRefusal {
    pub fn retry_after(&self) -> Duration {
        match self {
            PacingRefusal::AllOpen { retry_after, .. }
            | PacingRefusal::SmallBarRules { retry_after } => *retry_after,
        }
    }
}

impl std::fmt::Display for PacingRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.retry_after().as_secs() + 1;
        match self {
            PacingRefusal::AllOpen { max_open, .. } => write!(
                f,
                "{max_open} historical data requests are already open (IB allows 50 at once) and none finished in time; try again in {secs}s"
            ),
            PacingRefusal::SmallBarRules { .. } => write!(
                f,
                "IB allows 60 historical data requests for bars of 30 seconds or less per 10 minutes and this one would have to wait; try again in {secs}s"
            ),
        }
    }
}

#[derive(Default)]
struct Ledger {
    /// Small-bar send times inside the rolling window, oldest first.
    sent: VecDeque<Instant>,
    /// Last send time per small-bar request key (for the identical-request rule).
    last_by_key: HashMap<String, Instant>,
}

/// How much of the historical-data allowance is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingUsage {
    /// Small-bar requests sent inside the window.
    pub sent_in_window: usize,
    pub max_per_window: usize,
    pub window: Duration,
    /// Requests of any bar size open now.
    pub open: usize,
    pub max_open: usize,
}

/// Shared pacer for one gateway connection.
pub struct HistoricalPacer {
    limits: PacingLimits,
    ledger: Mutex<Ledger>,
    open: Arc<Semaphore>,
    background: Arc<Semaphore>,
}

/// Held while a request is on the wire; dropping it frees its slots.
pub struct PacingPermit {
    _open: OwnedSemaphorePermit,
    _background: Option<OwnedSemaphorePermit>,
}

impl HistoricalPacer {
    pub fn new(limits: PacingLimits) -> Self {
        let open = Arc::new(Semaphore::new(limits.max_open.max(1)));
        let background = Arc::new(Semaphore::new(
            limits.background_open.clamp(1, limits.max_open.max(1)),
        ));
        HistoricalPacer {
            limits,
            ledger: Mutex::new(Ledger::default()),
            open,
            background,
        }
    }

    pub fn limits(&self) -> &PacingLimits {
        &self.limits
    }

    /// Waits for a slot for the request `key`. Background requests first wait for one of
    /// their own share, with no deadline (nobody is waiting for them).
    pub async fn acquire(
        &self,
        key: &str,
        kind: RequestKind,
    ) -> Result<PacingPermit, PacingRefusal> {
        let background = if kind.background {
            // Never closed, so this only fails if the pacer is being torn down.
            self.background.clone().acquire_owned().await.ok()
        } else {
            None
        };
        let started = Instant::now();
        let deadline = started + self.limits.max_wait;
        let open = if kind.background {
            self.open.clone().acquire_owned().await.ok()
        } else {
            tokio::time::timeout_at(deadline, self.open.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
        };
        let Some(open) = open else {
            return Err(PacingRefusal::AllOpen {
                max_open: self.limits.max_open,
                retry_after: self.limits.max_wait,
            });
        };
        if !kind.small_bars {
            return Ok(PacingPermit {
                _open: open,
                _background: background,
            });
        }
        loop {
            let now = Instant::now();
            let wait = {
                let mut ledger = self.ledger.lock();
                self.prune(&mut ledger, now);
                let wait = self.wait_needed(&ledger, key, now);
                if wait.is_zero() {
                    ledger.sent.push_back(now);
                    ledger.last_by_key.insert(key.to_string(), now);
                    return Ok(PacingPermit {
                        _open: open,
                        _background: background,
                    });
                }
                wait
            };
            if !kind.background && now + wait > deadline {
                return Err(PacingRefusal::SmallBarRules { retry_after: wait });
            }
            tokio::time::sleep(wait).await;
        }
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
            background_open: 2,
            max_wait: Duration::from_millis(100),
        }
    }

    const SMALL: RequestKind = RequestKind {
        small_bars: true,
        background: false,
    };
    const DAILY: RequestKind = RequestKind {
        small_bars: false,
        background: false,
    };

    #[tokio::test]
    async fn small_bar_requests_pass_until_the_window_is_full() {
        let pacer = HistoricalPacer::new(small());
        for i in 0..6 {
            let p = tokio::time::timeout(
                Duration::from_secs(2),
                pacer.acquire(&format!("k{i}"), SMALL),
            )
            .await;
            assert!(matches!(p, Ok(Ok(_))), "request {i} should pass");
        }
        // The 7th would wait ~400 ms for the window: more than max_wait, so it is refused.
        let refused =
            tokio::time::timeout(Duration::from_secs(2), pacer.acquire("k6", SMALL)).await;
        let Ok(Err(refusal)) = refused else {
            panic!("the seventh small-bar request should be refused");
        };
        assert!(matches!(refusal, PacingRefusal::SmallBarRules { .. }));
        assert!(refusal.retry_after() > Duration::from_millis(100));
        assert!(
            refusal.to_string().contains("30 seconds or less"),
            "{refusal}"
        );
        assert_eq!(pacer.usage().sent_in_window, 6);
    }

    #[tokio::test]
    async fn larger_bars_meet_only_the_open_request_cap() {
        let pacer = HistoricalPacer::new(small());
        // Far beyond the small-bar window, all identical: none waits while slots are free.
        for _ in 0..200 {
            let p =
                tokio::time::timeout(Duration::from_secs(2), pacer.acquire("same", DAILY)).await;
            assert!(matches!(p, Ok(Ok(_))));
        }
        assert_eq!(pacer.usage().sent_in_window, 0);
    }

    #[tokio::test]
    async fn identical_small_bar_request_waits_out_the_gap() {
        let limits = PacingLimits {
            max_wait: Duration::from_secs(1),
            ..small()
        };
        let pacer = HistoricalPacer::new(limits);
        let t0 = Instant::now();
        let first =
            tokio::time::timeout(Duration::from_secs(2), pacer.acquire("same", SMALL)).await;
        let second =
            tokio::time::timeout(Duration::from_secs(2), pacer.acquire("same", SMALL)).await;
        assert!(matches!(first, Ok(Ok(_))) && matches!(second, Ok(Ok(_))));
        assert!(Instant::now().duration_since(t0) >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn open_requests_are_capped() {
        let limits = PacingLimits {
            max_open: 2,
            ..small()
        };
        let pacer = HistoricalPacer::new(limits);
        let a = pacer.acquire("a", DAILY).await.ok();
        let b = pacer.acquire("b", DAILY).await.ok();
        assert!(a.is_some() && b.is_some());
        assert_eq!(pacer.usage().open, 2);
        let refused = pacer.acquire("c", DAILY).await.err();
        assert!(matches!(
            refused,
            Some(PacingRefusal::AllOpen { max_open: 2, .. })
        ));
        drop(a);
        assert!(pacer.acquire("c", DAILY).await.is_ok());
    }

    #[tokio::test]
    async fn background_warming_leaves_slots_for_callers() {
        let pacer = Arc::new(HistoricalPacer::new(small()));
        let bg = RequestKind::background(86_400);
        let mut held = Vec::new();
        for i in 0..2 {
            held.push(pacer.acquire(&format!("bg{i}"), bg).await.ok());
        }
        // A third background request waits for the background share, not for the caller's slots.
        let p2 = pacer.clone();
        let third = tokio::spawn(async move { p2.acquire("bg2", bg).await.is_ok() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished());
        assert_eq!(pacer.usage().open, 2);
        for i in 0..3 {
            assert!(pacer.acquire(&format!("fg{i}"), DAILY).await.is_ok());
        }
        held.clear();
        assert!(matches!(
            tokio::time::timeout(Duration::from_secs(2), third).await,
            Ok(Ok(true))
        ));
    }

    #[test]
    fn defaults_are_ibs_limits_with_headroom() {
        let d = PacingLimits::default();
        assert_eq!((d.max_per_window, d.window), (60, Duration::from_secs(600)));
        assert!(d.max_open < 50 && d.background_open < d.max_open);
        assert!(d.identical_gap >= Duration::from_secs(15));
        assert!(RequestKind::foreground(30).small_bars);
        assert!(!RequestKind::foreground(60).small_bars);
    }
}
