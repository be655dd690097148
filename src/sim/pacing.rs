//! IB's historical-data pacing rules, enforced like the real gateway so the adapter's limiter
//! is tested against something that pushes back: no identical request within 15 s, no more than
//! 60 requests in any 10 minutes, no more than 50 requests open at once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub const IDENTICAL_WINDOW: Duration = Duration::from_secs(15);
pub const RATE_WINDOW: Duration = Duration::from_secs(600);
pub const MAX_PER_WINDOW: usize = 60;
pub const MAX_OPEN: usize = 50;

#[derive(Debug, Default)]
pub struct Pacing {
    recent: VecDeque<(Instant, String)>,
    /// Requests still open (keep-up-to-date streams).
    pub open: usize,
}

impl Pacing {
    /// Records an accepted request, or says which rule it breaks.
    pub fn admit(&mut self, key: &str, now: Instant) -> Result<(), &'static str> {
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            self.recent.pop_front();
        }
        if self
            .recent
            .iter()
            .any(|(t, k)| k == key && now.duration_since(*t) < IDENTICAL_WINDOW)
        {
            return Err("identical request within 15 seconds");
        }
        if self.recent.len() >= MAX_PER_WINDOW {
            return Err("more than 60 requests within 10 minutes");
        }
        if self.open >= MAX_OPEN {
            return Err("more than 50 simultaneous open requests");
        }
        self.recent.push_back((now, key.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_then_rate_limits() {
        let mut p = Pacing::default();
        let t0 = Instant::now();
        assert!(p.admit("a", t0).is_ok());
        assert!(p.admit("a", t0 + Duration::from_secs(5)).is_err());
        assert!(p.admit("a", t0 + Duration::from_secs(16)).is_ok());
        for i in 0..58 {
            assert!(
                p.admit(&format!("k{i}"), t0 + Duration::from_secs(20))
                    .is_ok()
            );
        }
        assert!(
            p.admit("one-too-many", t0 + Duration::from_secs(21))
                .is_err()
        );
        assert!(p.admit("later", t0 + Duration::from_secs(700)).is_ok());
    }
}
