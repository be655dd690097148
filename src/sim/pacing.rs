//! IB's historical-data pacing rules, as IB documents them. For **small bars (30 seconds or
//! less)**: no identical request within 15 s, no six requests for the same contract, exchange
//! and tick type within 2 s, no more than 60 requests in any 10 minutes. For every bar size: no
//! more than 50 requests open at once (in flight, or keep-up-to-date streams). Larger bars have
//! only IB's soft limit, which normal use never meets.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub const IDENTICAL_WINDOW: Duration = Duration::from_secs(15);
pub const SAME_CONTRACT_WINDOW: Duration = Duration::from_secs(2);
pub const SAME_CONTRACT_MAX: usize = 5;
pub const RATE_WINDOW: Duration = Duration::from_secs(600);
pub const MAX_PER_WINDOW: usize = 60;
pub const MAX_OPEN: usize = 50;
/// Bars of this many seconds or fewer are "small" in IB's pacing rules.
pub const SMALL_BAR_SECS: i64 = 30;

/// One historical request as the pacing rules see it.
pub struct PacedRequest<'a> {
    /// Everything that makes two requests identical.
    pub key: &'a str,
    /// Contract, exchange and tick type.
    pub contract: &'a str,
    /// Bar size of 30 seconds or less.
    pub small_bar: bool,
}

#[derive(Debug, Default)]
pub struct Pacing {
    /// Small-bar requests of the last 10 minutes: (when, identical key, contract key).
    recent: VecDeque<(Instant, String, String)>,
    /// Requests open now (in flight or streaming).
    pub open: usize,
}

impl Pacing {
    /// Records an accepted request, or says which rule it breaks.
    pub fn admit(&mut self, r: &PacedRequest, now: Instant) -> Result<(), &'static str> {
        if self.open >= MAX_OPEN {
            return Err("more than 50 simultaneous open requests");
        }
        if !r.small_bar {
            return Ok(());
        }
        while self
            .recent
            .front()
            .is_some_and(|(t, _, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        if self
            .recent
            .iter()
            .any(|(t, k, _)| k == r.key && now.duration_since(*t) < IDENTICAL_WINDOW)
        {
            return Err("identical request within 15 seconds");
        }
        let same_contract = self
            .recent
            .iter()
            .filter(|(t, _, c)| c == r.contract && now.duration_since(*t) < SAME_CONTRACT_WINDOW)
            .count();
        if same_contract >= SAME_CONTRACT_MAX {
            return Err("six requests for one contract, exchange and tick type within 2 seconds");
        }
        if self.recent.len() >= MAX_PER_WINDOW {
            return Err("more than 60 requests within 10 minutes");
        }
        self.recent
            .push_back((now, r.key.to_string(), r.contract.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small<'a>(key: &'a str, contract: &'a str) -> PacedRequest<'a> {
        PacedRequest {
            key,
            contract,
            small_bar: true,
        }
    }

    #[test]
    fn small_bars_identical_same_contract_and_rate_limits() {
        let mut p = Pacing::default();
        let t0 = Instant::now();
        assert!(p.admit(&small("a", "A"), t0).is_ok());
        assert!(
            p.admit(&small("a", "A"), t0 + Duration::from_secs(5))
                .is_err()
        );
        assert!(
            p.admit(&small("a", "A"), t0 + Duration::from_secs(16))
                .is_ok()
        );
        let t1 = t0 + Duration::from_secs(30);
        for i in 0..5 {
            assert!(p.admit(&small(&format!("b{i}"), "B"), t1).is_ok());
        }
        assert!(p.admit(&small("b5", "B"), t1).is_err(), "sixth in 2 s");
        for i in 0..53 {
            let key = format!("k{i}");
            assert!(
                p.admit(&small(&key, &key), t1 + Duration::from_secs(3))
                    .is_ok()
            );
        }
        assert!(
            p.admit(&small("one-too-many", "Z"), t1 + Duration::from_secs(4))
                .is_err()
        );
        assert!(
            p.admit(&small("later", "Z"), t0 + Duration::from_secs(700))
                .is_ok()
        );
    }

    #[test]
    fn larger_bars_only_meet_the_open_request_limit() {
        let mut p = Pacing::default();
        let t0 = Instant::now();
        let daily = |k: &'static str| PacedRequest {
            key: k,
            contract: "A",
            small_bar: false,
        };
        for _ in 0..2_000 {
            assert!(p.admit(&daily("same"), t0).is_ok());
        }
        p.open = MAX_OPEN;
        assert!(p.admit(&daily("x"), t0).is_err());
    }
}
