//! Stall detection, at two levels.
//!
//! **The connection.** The heartbeat (a current-time request every `HEARTBEAT_EVERY`) makes
//! sure a healthy gateway sends something every few seconds even in a quiet market; so when
//! nothing at all has arrived for `ANSWER_DEADLINE` the gateway is stalled: the state says so
//! (values are labelled stale with their age) and calls fail at once instead of waiting. The
//! gateway answering again clears it; silence beyond `gateway.stall_timeout_secs` ends the
//! session so the supervisor reconnects.
//!
//! **Each streamed symbol.** A gateway can answer the heartbeat while a quote stream has gone
//! quiet (a farm lost, a subscription dropped without a word). A symbol whose market is open
//! (exchange calendar, regular hours, on the store's clock) with no tick for
//! `gateway.symbol_stall_secs` is listed in the gateway status with when it last ticked, so
//! its values are labelled stale with their age; when every streamed symbol of an open market
//! is silent the state is `stalled`. Closed markets (nights, weekends, holidays) never count.

use super::{Ctx, SessionEnd};
use crate::calendar::{self, Venue};
use crate::gateway::events;
use crate::model::{ConnState, Millis};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the heartbeat asks the gateway for its time.
pub(super) const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// No answer (to the heartbeat or anything else) for this long: stalled.
pub(super) const ANSWER_DEADLINE: Duration = Duration::from_secs(5);

/// When each streamed symbol last ticked, on the session's monotonic clock (ms since
/// `Ctx::started`), and which calendar says whether its market is open.
#[derive(Default)]
pub(super) struct TickLog {
    streams: parking_lot::Mutex<HashMap<String, Stream>>,
    /// Numbers each opened stream, so a stream that ends late (an aborted task, a fallback to
    /// delayed data that reopens the same key) cannot close its successor.
    opened: std::sync::atomic::AtomicU64,
}

#[derive(Clone, Copy)]
struct Stream {
    venue: Venue,
    last_tick_ms: u64,
    id: u64,
}

impl TickLog {
    /// A stream for `key` is open; its silence counts from now. Returns the stream's id for
    /// `closed`.
    pub(super) fn opened(&self, key: &str, venue: Venue, now_ms: u64) -> u64 {
        let id = self.opened.fetch_add(1, Ordering::Relaxed);
        self.streams.lock().insert(
            key.to_string(),
            Stream {
                venue,
                last_tick_ms: now_ms,
                id,
            },
        );
        id
    }

    /// `key` ticked.
    pub(super) fn ticked(&self, key: &str, now_ms: u64) {
        if let Some(s) = self.streams.lock().get_mut(key) {
            s.last_tick_ms = now_ms;
        }
    }

    /// Stream `id` for `key` is over (no longer expected to tick).
    pub(super) fn closed(&self, key: &str, id: u64) {
        let mut streams = self.streams.lock();
        if streams.get(key).is_some_and(|s| s.id == id) {
            streams.remove(key);
        }
    }

    /// Symbols of open markets silent for longer than `limit`, with their silence in ms, and
    /// how many streamed symbols have an open market at all.
    fn silent(&self, now_ms: u64, limit: Duration, open: impl Fn(Venue) -> bool) -> Silence {
        let streams = self.streams.lock();
        let mut silence = Silence::default();
        for (key, s) in streams.iter().filter(|(_, s)| open(s.venue)) {
            silence.trading += 1;
            let quiet = now_ms.saturating_sub(s.last_tick_ms);
            if quiet > limit.as_millis() as u64 {
                silence.symbols.insert(key.clone(), quiet);
            }
        }
        silence
    }
}

#[derive(Default)]
struct Silence {
    /// Silent symbol → ms since its last tick.
    symbols: BTreeMap<String, u64>,
    /// Streamed symbols whose market is open.
    trading: usize,
}

/// Watches the session's silence; owned by the session loop.
#[derive(Default)]
pub(super) struct StallWatch {
    /// When the current stall was noticed, if one is under way.
    stalled_at: Option<u64>,
    /// Every streamed symbol of an open market is silent (state `stalled`, calls still go out:
    /// the gateway answers the heartbeat).
    quotes_stalled: bool,
    /// The silent symbols last written to the gateway status.
    listed: std::collections::BTreeSet<String>,
}

impl StallWatch {
    /// Updates the stall state for `now`; `Some` ends the session (reconnect).
    pub(super) fn check(&mut self, ctx: &Ctx) -> Option<SessionEnd> {
        let now = ctx.elapsed_ms();
        let silent_ms = now.saturating_sub(ctx.last_heard_ms.load(Ordering::Relaxed)) as i64;
        let limit = ctx.shared.cfg.stall_timeout.max(Duration::from_millis(500));
        if silent_ms > limit.as_millis() as i64 {
            return Some(SessionEnd::Lost(format!(
                "no data from the gateway for {:.0}s although the socket is open (stalled)",
                silent_ms as f64 / 1000.0
            )));
        }
        let stalled = silent_ms > ANSWER_DEADLINE.as_millis() as i64;
        match (stalled, self.stalled_at) {
            (true, None) => {
                self.stalled_at = Some(now);
                let why = format!(
                    "no answer from the gateway for {:.0}s although the socket is open (reconnecting if it lasts {}s)",
                    silent_ms as f64 / 1000.0,
                    limit.as_secs()
                );
                ctx.shared
                    .set_stalled(Some(format!("the gateway is stalled: {why}")));
                ctx.shared.set_state(ConnState::Stalled, Some(why.clone()));
                events::supervisor(ctx.store(), ctx.role(), format!("gateway stalled: {why}"));
            }
            (false, Some(since)) => {
                self.stalled_at = None;
                self.quotes_stalled = false;
                ctx.shared.set_stalled(None);
                ctx.shared.set_state(ConnState::Connected, None);
                events::supervisor(
                    ctx.store(),
                    ctx.role(),
                    format!(
                        "the gateway answers again after a stall of {:.0}s",
                        (now - since) as f64 / 1000.0 + ANSWER_DEADLINE.as_secs_f64()
                    ),
                );
            }
            _ => {}
        }
        if self.stalled_at.is_none() {
            self.check_symbols(ctx, now);
        }
        None
    }

    /// The per-symbol rule: lists silent symbols in the status, and states `stalled` when
    /// every streamed symbol of an open market is silent.
    fn check_symbols(&mut self, ctx: &Ctx, now: u64) {
        let limit = ctx.shared.cfg.symbol_stall;
        if limit.is_zero() {
            return;
        }
        let store_now = ctx.store().now();
        let at = store_now.div_euclid(1000);
        let fx_open = calendar::session_at(Venue::Fx, at, true).is_some();
        let us_open = calendar::session_at(Venue::UsEquity, at, true).is_some();
        let silence = ctx.ticks.silent(now, limit, |v| match v {
            Venue::Fx => fx_open,
            Venue::UsEquity => us_open,
        });
        // The store is written only when the list changes: every write wakes the cockpit and
        // every subscriber.
        let unchanged = silence.symbols.len() == self.listed.len()
            && silence.symbols.keys().all(|k| self.listed.contains(k));
        if unchanged {
            self.check_all_silent(ctx, &silence, limit);
            return;
        }
        let listed = std::mem::replace(&mut self.listed, silence.symbols.keys().cloned().collect());
        ctx.shared.status(|s| {
            s.silent_symbols
                .retain(|k, _| silence.symbols.contains_key(k));
            for (k, quiet) in &silence.symbols {
                s.silent_symbols
                    .entry(k.clone())
                    .or_insert(store_now - *quiet as Millis);
            }
        });
        let newly: Vec<&String> = silence
            .symbols
            .keys()
            .filter(|k| !listed.contains(*k))
            .collect();
        let recovered: Vec<&String> = listed
            .iter()
            .filter(|k| !silence.symbols.contains_key(*k))
            .collect();
        if !newly.is_empty() {
            events::supervisor(
                ctx.store(),
                ctx.role(),
                format!(
                    "no tick for {} for {}s although the market is open: values labelled stale",
                    join(&newly),
                    limit.as_secs()
                ),
            );
        }
        if !recovered.is_empty() {
            events::supervisor(
                ctx.store(),
                ctx.role(),
                format!("{} ticking again", join(&recovered)),
            );
        }
        self.check_all_silent(ctx, &silence, limit);
    }

    /// Every streamed symbol of an open market silent: state `stalled` (and back).
    fn check_all_silent(&mut self, ctx: &Ctx, silence: &Silence, limit: Duration) {
        let all_silent = silence.trading > 0 && silence.symbols.len() == silence.trading;
        match (all_silent, self.quotes_stalled) {
            (true, false) => {
                self.quotes_stalled = true;
                let why = format!(
                    "no tick from any of the {} streamed symbols for {}s although their markets are open (the gateway still answers)",
                    silence.trading,
                    limit.as_secs()
                );
                ctx.shared.set_state(ConnState::Stalled, Some(why.clone()));
                events::supervisor(ctx.store(), ctx.role(), format!("quotes stalled: {why}"));
            }
            (false, true) => {
                self.quotes_stalled = false;
                ctx.shared.set_state(ConnState::Connected, None);
                events::supervisor(ctx.store(), ctx.role(), "quotes flow again");
            }
            _ => {}
        }
    }
}

/// Keeps a quote stream in the tick log for as long as it lives (however its task ends).
pub(super) struct Watched {
    ctx: std::sync::Arc<Ctx>,
    key: String,
    id: u64,
}

impl Watched {
    pub(super) fn new(ctx: &std::sync::Arc<Ctx>, key: &str, venue: Venue) -> Watched {
        let id = ctx.ticks.opened(key, venue, ctx.elapsed_ms());
        Watched {
            ctx: ctx.clone(),
            key: key.to_string(),
            id,
        }
    }

    pub(super) fn ticked(&self) {
        self.ctx.ticks.ticked(&self.key, self.ctx.elapsed_ms());
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.ctx.ticks.closed(&self.key, self.id);
    }
}

fn join(keys: &[&String]) -> String {
    keys.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_markets_silent_beyond_the_limit_count() {
        let log = TickLog::default();
        assert_eq!(log.opened("KRYX", Venue::UsEquity, 0), 0);
        log.opened("ZEPH", Venue::UsEquity, 0);
        assert_eq!(log.opened("USD.CAD", Venue::Fx, 0), 2);
        log.ticked("ZEPH", 9_000);
        let limit = Duration::from_secs(5);
        let s = log.silent(10_000, limit, |_| true);
        assert_eq!(s.trading, 3);
        assert_eq!(
            s.symbols.keys().cloned().collect::<Vec<_>>(),
            vec!["KRYX", "USD.CAD"]
        );
        assert_eq!(s.symbols["KRYX"], 10_000);
        // Equities closed (a weekend, a holiday, the night): only FX is watched.
        let s = log.silent(10_000, limit, |v| v == Venue::Fx);
        assert_eq!(s.trading, 1);
        assert_eq!(
            s.symbols.keys().cloned().collect::<Vec<_>>(),
            vec!["USD.CAD"]
        );
        // The first KRYX stream ends late, after a new one took its place.
        let reopened = log.opened("KRYX", Venue::UsEquity, 10_000);
        log.closed("KRYX", 0);
        let s = log.silent(10_000, limit, |_| true);
        assert_eq!(s.trading, 3, "the new KRYX stream is still watched");
        assert!(!s.symbols.contains_key("KRYX"));
        log.closed("KRYX", reopened);
        log.closed("USD.CAD", 2);
        let s = log.silent(10_000, limit, |_| true);
        assert_eq!((s.trading, s.symbols.len()), (1, 0));
    }
}
