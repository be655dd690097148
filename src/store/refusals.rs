//! Sampling of refused requests, so a flood of them costs a counter, not a journal row each:
//! every refusal is counted; the first of a burst from a peer is journaled in full; the rest of
//! the burst are summed up in one line per peer per [`SUMMARY_EVERY`].
//!
//! A burst ends after [`BURST_GAP`] without a refusal from that peer. At most [`MAX_PEERS`]
//! peers are tracked; beyond that, new peers share one "other peers" entry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Quiet time after which a peer's next refusal starts a new burst (and is journaled).
pub const BURST_GAP: Duration = Duration::from_secs(10);

/// How often a burst's suppressed refusals are summed up in one journal line.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Peers tracked at once.
pub const MAX_PEERS: usize = 4096;

/// Who was refused: an address, or `None` when the front door does not know it.
pub type Peer = Option<IpAddr>;

#[derive(Debug)]
struct Burst {
    last_seen: Instant,
    window_started: Instant,
    suppressed: u64,
    last_reason: String,
}

/// What the caller should journal for a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The first of a burst: journal it.
    Journal,
    /// Counted only.
    Suppressed,
}

/// A summary line due: `count` refusals from `peer` not journaled one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub peer: Peer,
    pub count: u64,
    pub over: Duration,
    pub last_reason: String,
}

#[derive(Debug, Default)]
pub struct RefusalSampler {
    bursts: HashMap<Peer, Burst>,
    total: u64,
}

/// Peers over the tracking cap are pooled under this key.
const OTHER_PEERS: Peer = Some(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));

impl RefusalSampler {
    /// Every refusal ever seen, journaled or not.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Counts one refusal from `peer` at `now`; says whether to journal it, and returns a
    /// summary when this peer's window is due.
    pub fn record(&mut self, peer: Peer, reason: &str, now: Instant) -> (Verdict, Option<Summary>) {
        self.total += 1;
        let key = if self.bursts.contains_key(&peer) || self.bursts.len() < MAX_PEERS {
            peer
        } else {
            self.forget_quiet(now);
            if self.bursts.len() < MAX_PEERS {
                peer
            } else {
                OTHER_PEERS
            }
        };
        match self.bursts.get_mut(&key) {
            Some(b) if now.duration_since(b.last_seen) < BURST_GAP => {
                b.last_seen = now;
                b.suppressed += 1;
                b.last_reason = reason.to_string();
                (Verdict::Suppressed, take_due(key, b, now))
            }
            Some(b) => {
                // A new burst: whatever the old one suppressed is reported with it.
                let summary = take_summary(key, b, now);
                b.last_seen = now;
                b.window_started = now;
                (Verdict::Journal, summary)
            }
            None => {
                self.bursts.insert(
                    key,
                    Burst {
                        last_seen: now,
                        window_started: now,
                        suppressed: 0,
                        last_reason: String::new(),
                    },
                );
                (Verdict::Journal, None)
            }
        }
    }

    /// The summaries due at `now` (windows a minute old, and bursts that ended), forgetting
    /// peers quiet for long. Call it periodically so a burst's tail is reported when it stops.
    pub fn tick(&mut self, now: Instant) -> Vec<Summary> {
        let mut out = Vec::new();
        for (peer, b) in self.bursts.iter_mut() {
            let ended = now.duration_since(b.last_seen) >= BURST_GAP;
            let due = if ended {
                take_summary(*peer, b, now)
            } else {
                take_due(*peer, b, now)
            };
            out.extend(due);
        }
        self.forget_quiet(now);
        out
    }

    fn forget_quiet(&mut self, now: Instant) {
        self.bursts
            .retain(|_, b| b.suppressed > 0 || now.duration_since(b.last_seen) < BURST_GAP);
    }
}

fn take_due(peer: Peer, b: &mut Burst, now: Instant) -> Option<Summary> {
    if now.duration_since(b.window_started) >= SUMMARY_EVERY {
        take_summary(peer, b, now)
    } else {
        None
    }
}

fn take_summary(peer: Peer, b: &mut Burst, now: Instant) -> Option<Summary> {
    if b.suppressed == 0 {
        return None;
    }
    let summary = Summary {
        peer,
        count: b.suppressed,
        over: now.duration_since(b.window_started),
        last_reason: std::mem::take(&mut b.last_reason),
    };
    b.suppressed = 0;
    b.window_started = now;
    Some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> Peer {
        Some(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, last)))
    }

    #[test]
    fn first_of_a_burst_is_journaled_then_one_summary_a_minute() {
        let mut s = RefusalSampler::default();
        let t0 = Instant::now();
        assert_eq!(s.record(ip(1), "x", t0).0, Verdict::Journal);
        let mut summaries = Vec::new();
        // 20,000 refusals over 90 s from one peer.
        for i in 1..20_000u64 {
            let at = t0 + Duration::from_micros(i * 4_500);
            let (verdict, summary) = s.record(ip(1), "missing bearer token", at);
            assert_eq!(verdict, Verdict::Suppressed);
            summaries.extend(summary);
        }
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        // Another peer starts its own burst.
        assert_eq!(s.record(ip(2), "x", t0).0, Verdict::Journal);
        // The tail is reported once the burst has ended.
        let tail = s.tick(t0 + Duration::from_secs(120));
        let reported: u64 = summaries.iter().chain(&tail).map(|s| s.count).sum();
        assert_eq!(reported, 19_999);
        assert_eq!(s.total(), 20_001);
        // A later refusal starts a new burst.
        let later = t0 + Duration::from_secs(200);
        assert_eq!(s.record(ip(1), "x", later).0, Verdict::Journal);
    }

    #[test]
    fn peers_beyond_the_cap_share_one_entry() {
        let mut s = RefusalSampler::default();
        let t0 = Instant::now();
        for i in 0..(MAX_PEERS as u32 + 100) {
            let peer = Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            s.record(peer, "x", t0);
        }
        assert!(s.bursts.len() <= MAX_PEERS + 1);
    }
}
