//! Today's one-minute prices on the exchange calendar: which session a minute series belongs
//! to, its regular-hours part, the close before it, and the backfill of the movers' sparklines.
//!
//! Live quotes add one point per minute while the extended session (04:00–20:00 New York, 17:00
//! on early-close days) is open (`quotes::push_intraday`); the backfill fills the part of the
//! session before the cockpit started. Only the largest positions are backfilled: historical
//! requests are paced, and a sparkline for the 500th position is not worth that budget.

use super::{BarSpec, Requests, quotes};
use crate::calendar::{self, Session, Venue};
use crate::model::{Bar, BarSize, Millis};
use crate::store::Store;
use time::Date;

/// The US-equity extended session a minute series shows at `now` (epoch seconds): the one in
/// progress, else the most recent one (on a weekend, a holiday or overnight, the last trading
/// day's).
pub fn latest_session(now: i64) -> Option<Session> {
    calendar::last_session(Venue::UsEquity, now, false)
}

/// The session date a live price sampled at `now_ms` belongs to: `None` while the US-equity
/// market is closed (overnight, weekends, holidays), when no point is added.
pub fn sampling_session(now_ms: Millis) -> Option<Date> {
    calendar::session_at(Venue::UsEquity, now_ms.div_euclid(1_000), false).map(|s| s.date)
}

/// The minute bars (oldest first, `time` in epoch seconds) that fall in `session`.
pub fn bars_in(bars: &[Bar], session: &Session) -> Vec<Bar> {
    bars.iter()
        .filter(|b| session.contains(b.time))
        .copied()
        .collect()
}

/// The regular-hours (09:30 to 16:00 or the early close) part of one day's minute bars.
pub fn regular_hours(bars: &[Bar], date: Date) -> Vec<Bar> {
    match calendar::session(Venue::UsEquity, date, true) {
        Some(rth) => bars_in(bars, &rth),
        None => Vec::new(),
    }
}

/// The close before the session dated `session_date`: the last daily bar (time = midnight UTC
/// of its date) dated earlier, wherever weekends and holidays put it.
pub fn previous_close(daily: &[Bar], session_date: Date) -> Option<f64> {
    let start = calendar_midnight(session_date);
    daily.iter().rev().find(|b| b.time < start).map(|b| b.close)
}

fn calendar_midnight(d: Date) -> i64 {
    crate::analytics::windows::day_number(d) * 86_400
}

/// Fetches the latest session's one-minute bars (including extended hours) for up to
/// `max_symbols` held stocks, largest absolute market value first, and stores their closes.
/// Returns how many symbols were filled; failures are skipped (the sparkline then starts from
/// live samples).
pub async fn backfill(requests: &Requests, store: &Store, max_symbols: usize) -> usize {
    let snap = store.snapshot();
    let Some(session) = latest_session(store.now().div_euclid(1_000)) else {
        return 0;
    };
    let mut held: Vec<(String, String, f64)> = snap
        .positions
        .values()
        .filter(|p| p.instrument.sec_type == "STK")
        .map(|p| {
            let value = p.market_value.unwrap_or(p.quantity * p.avg_cost).abs();
            (
                p.instrument.symbol.clone(),
                p.instrument.currency.clone(),
                value,
            )
        })
        .collect();
    held.sort_by(|a, b| b.2.total_cmp(&a.2));
    held.dedup_by(|a, b| a.0 == b.0);
    let mut filled = 0;
    for (symbol, currency, _) in held.into_iter().take(max_symbols) {
        let spec = BarSpec {
            currency,
            bar_size: BarSize::Min1,
            use_rth: false,
            ..BarSpec::daily(&symbol, "1 D")
        };
        match requests.historical_bars(&spec).await {
            Ok(bars) => {
                let closes: Vec<f64> = bars_in(&bars, &session).iter().map(|b| b.close).collect();
                if !closes.is_empty() {
                    store.update(|st| quotes::backfill_intraday(st, &symbol, &closes));
                    filled += 1;
                }
            }
            Err(e) => tracing::debug!("intraday backfill for {symbol}: {e}"),
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// Epoch seconds of New York wall-clock `hh:mm` on `d`.
    fn ny(d: Date, hh: i64, mm: i64) -> i64 {
        calendar::ny_to_utc(d, hh * 3_600 + mm * 60)
    }

    fn minute_bars(from: i64, to: i64) -> Vec<Bar> {
        (0..)
            .map(|k| from + k * 60)
            .take_while(|t| *t < to)
            .map(|t| Bar {
                time: t,
                open: 10.0,
                high: 10.0 + (t % 7) as f64,
                low: 9.0,
                close: 10.0,
                volume: 1.0,
                wap: 10.0,
                count: 1,
            })
            .collect()
    }

    fn daily(dates: &[Date]) -> Vec<Bar> {
        dates
            .iter()
            .enumerate()
            .map(|(k, d)| Bar {
                time: calendar_midnight(*d),
                close: 100.0 + k as f64,
                ..Bar::default()
            })
            .collect()
    }

    #[test]
    fn on_a_full_holiday_the_series_is_the_last_trading_days() {
        // Thanksgiving 2026 (Thursday 26 November): closed; Wednesday is the last session.
        let noon = ny(date!(2026 - 11 - 26), 12, 0);
        assert_eq!(
            sampling_session(noon * 1_000),
            None,
            "no samples on a holiday"
        );
        let s = latest_session(noon).expect("a session");
        assert_eq!(s.date, date!(2026 - 11 - 25));
        assert_eq!(
            (s.open, s.close),
            (
                ny(date!(2026 - 11 - 25), 4, 0),
                ny(date!(2026 - 11 - 25), 20, 0)
            )
        );
        // IB's "1 D" of minute bars on the holiday: Wednesday's; the previous close is Tuesday's.
        let daily = daily(&[
            date!(2026 - 11 - 23),
            date!(2026 - 11 - 24),
            date!(2026 - 11 - 25),
        ]);
        assert_eq!(previous_close(&daily, s.date), Some(101.0));
    }

    #[test]
    fn on_a_half_day_the_regular_session_ends_at_13_00_and_extended_hours_at_17_00() {
        // The day after Thanksgiving 2026 closes early.
        let d = date!(2026 - 11 - 27);
        let at = ny(d, 16, 30);
        assert_eq!(sampling_session(at * 1_000), Some(d));
        assert_eq!(sampling_session(ny(d, 17, 30) * 1_000), None);
        let s = latest_session(at).expect("a session");
        let bars = minute_bars(s.open, ny(d, 16, 31));
        let rth = regular_hours(&bars, d);
        assert_eq!(rth.len(), 210, "09:30–13:00 is 210 minutes");
        assert_eq!(rth[0].time, ny(d, 9, 30));
        assert_eq!(rth[rth.len() - 1].time, ny(d, 12, 59));
        assert_eq!(bars_in(&bars, &s).len(), bars.len());
    }

    #[test]
    fn the_mondays_after_the_dst_switches_open_at_09_30_new_york() {
        // Spring forward on 2026-03-08: Monday opens 13:30 UTC (EDT); the Friday before at
        // 14:30 UTC (EST). Fall back on 2026-11-01: Monday opens 14:30 UTC again.
        for (monday, friday, open_utc_hour) in [
            (date!(2026 - 03 - 09), date!(2026 - 03 - 06), 13),
            (date!(2026 - 11 - 02), date!(2026 - 10 - 30), 14),
        ] {
            let open = calendar_midnight(monday) + open_utc_hour * 3_600 + 30 * 60;
            let before_open = open - 60;
            // Pre-market is Monday's session already; Friday's bars are not "today".
            let s = latest_session(before_open).expect("a session");
            assert_eq!(s.date, monday);
            assert_eq!(sampling_session(before_open * 1_000), Some(monday));
            let friday_bars = minute_bars(ny(friday, 15, 0), ny(friday, 20, 0));
            assert!(bars_in(&friday_bars, &s).is_empty());
            let bars = minute_bars(ny(monday, 4, 0), open + 5 * 60);
            let rth = regular_hours(&bars, monday);
            assert_eq!(rth.first().map(|b| b.time), Some(open));
            assert_eq!(rth.len(), 5);
            // Monday's previous close is Friday's, two calendar days back.
            let daily = daily(&[friday - time::Duration::days(1), friday]);
            assert_eq!(previous_close(&daily, monday), Some(101.0));
        }
    }

    #[test]
    fn overnight_and_weekends_add_no_samples() {
        let saturday = date!(2026 - 12 - 05);
        assert_eq!(sampling_session(ny(saturday, 12, 0) * 1_000), None);
        assert_eq!(
            latest_session(ny(saturday, 12, 0)).map(|s| s.date),
            Some(date!(2026 - 12 - 04))
        );
        let tuesday = date!(2026 - 12 - 01);
        assert_eq!(sampling_session(ny(tuesday, 3, 59) * 1_000), None);
        assert_eq!(sampling_session(ny(tuesday, 4, 0) * 1_000), Some(tuesday));
    }
}
