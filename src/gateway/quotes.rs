//! Folding IB ticks into our `Quote`, cleaned. Live and delayed tick types land in the same
//! fields; a delayed tick (or a MarketDataType 3/4 tick) marks the quote delayed.

use super::cleaning;
use crate::model::{DataMode, Quote};
use ibapi::market_data::realtime::TickTypes;
use std::sync::Arc;

/// Applies one tick; returns true when a field changed.
pub fn apply_tick(q: &mut Quote, tick: &TickTypes) -> bool {
    match tick {
        TickTypes::Price(p) => apply_price(q, p.tick_type as i32, p.price),
        TickTypes::PriceSize(p) => {
            let a = apply_price(q, p.price_tick_type as i32, p.price);
            let b = apply_size(q, p.size_tick_type as i32, p.size);
            a || b
        }
        TickTypes::Size(s) => apply_size(q, s.tick_type as i32, s.size),
        TickTypes::MarketDataType(t) => {
            let mode = DataMode::from_ib(*t as i32);
            let changed = q.mode != mode;
            q.mode = mode;
            changed
        }
        _ => false,
    }
}

/// Delayed tick types (66–76, 88): their presence means the quote is delayed.
fn is_delayed_type(t: i32) -> bool {
    (66..=76).contains(&t) || t == 88
}

fn mark_delayed_by(q: &mut Quote, t: i32) {
    if is_delayed_type(t) && !q.mode.is_delayed() {
        q.mode = DataMode::Delayed;
    }
}

fn apply_price(q: &mut Quote, t: i32, v: f64) -> bool {
    let slot = match t {
        1 | 66 => &mut q.bid,
        2 | 67 => &mut q.ask,
        4 | 68 => &mut q.last,
        6 | 72 => &mut q.high,
        7 | 73 => &mut q.low,
        9 | 75 => &mut q.close,
        14 | 76 => &mut q.open,
        _ => return false,
    };
    // A sentinel means "unknown now": keep the last good value rather than storing garbage.
    let Some(v) = cleaning::price(v) else {
        return false;
    };
    let changed = *slot != Some(v);
    *slot = Some(v);
    mark_delayed_by(q, t);
    changed
}

fn apply_size(q: &mut Quote, t: i32, v: f64) -> bool {
    let slot = match t {
        0 | 69 => &mut q.bid_size,
        3 | 70 => &mut q.ask_size,
        8 | 74 => &mut q.volume,
        _ => return false,
    };
    let Some(v) = cleaning::size(v) else {
        return false;
    };
    let changed = *slot != Some(v);
    *slot = Some(v);
    mark_delayed_by(q, t);
    changed
}

/// The longest US-equity extended session in one-minute points (04:00–20:00 New York), so one
/// series holds a whole trading day.
pub const INTRADAY_POINTS: usize = 960;

/// Appends a one-minute price point to the symbol's intraday series, keeping the last day.
pub fn push_intraday(st: &mut crate::store::LiveState, key: &str, price: f64) {
    let series = Arc::make_mut(&mut st.intraday)
        .entry(key.to_string())
        .or_default();
    if series.len() >= INTRADAY_POINTS {
        series.remove(0);
    }
    series.push(price);
}

/// Drops a symbol's intraday series: the session it showed has ended.
pub fn clear_intraday(st: &mut crate::store::LiveState, key: &str) {
    if let Some(series) = Arc::make_mut(&mut st.intraday).get_mut(key) {
        series.clear();
    }
}

/// Replaces a symbol's intraday series with backfilled one-minute closes (oldest first),
/// keeping any points sampled since.
pub fn backfill_intraday(st: &mut crate::store::LiveState, key: &str, closes: &[f64]) {
    let series = Arc::make_mut(&mut st.intraday)
        .entry(key.to_string())
        .or_default();
    let mut merged: Vec<f64> = closes.to_vec();
    merged.append(series);
    let skip = merged.len().saturating_sub(INTRADAY_POINTS);
    *series = merged.split_off(skip);
}

/// Store key for a quote: the symbol for stocks, `BASE.QUOTE` for FX, a readable option name.
pub fn quote_key(
    symbol: &str,
    sec_type: &str,
    currency: &str,
    expiry: &str,
    strike: f64,
    right: &str,
) -> String {
    match sec_type {
        "CASH" => format!("{symbol}.{currency}"),
        "OPT" | "FOP" => format!("{symbol} {expiry} {strike}{right}"),
        _ => symbol.to_string(),
    }
}

/// The conventional IB pair for two currencies: the one ranked higher is the base
/// (EUR.USD, USD.CAD, GBP.USD, USD.JPY). `LiveState::fx_rate` inverts as needed.
pub fn fx_pair(a: &str, b: &str) -> (String, String) {
    const RANK: [&str; 18] = [
        "EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "NOK", "SEK", "DKK", "PLN", "CZK", "HUF",
        "ILS", "SGD", "HKD", "CNH", "JPY",
    ];
    let rank = |c: &str| RANK.iter().position(|r| *r == c).unwrap_or(RANK.len());
    if rank(a) <= rank(b) {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibapi::contracts::tick_types::TickType;
    use ibapi::market_data::MarketDataType;
    use ibapi::market_data::realtime::{TickPrice, TickPriceSize, TickSize};

    fn price(t: TickType, v: f64) -> TickTypes {
        TickTypes::Price(TickPrice {
            tick_type: t,
            price: v,
            ..Default::default()
        })
    }

    #[test]
    fn sentinel_ticks_never_reach_the_quote() {
        let mut q = Quote::default();
        assert!(apply_tick(&mut q, &price(TickType::Last, 101.5)));
        for bad in [-1.0, 0.0, f64::MAX, f64::NAN, f64::INFINITY] {
            apply_tick(&mut q, &price(TickType::Last, bad));
            apply_tick(&mut q, &price(TickType::Bid, bad));
            apply_tick(
                &mut q,
                &TickTypes::Size(TickSize {
                    tick_type: TickType::Volume,
                    size: bad,
                }),
            );
        }
        assert_eq!(q.last, Some(101.5));
        assert_eq!(q.bid, None);
        assert_eq!(q.volume, None);
    }

    #[test]
    fn delayed_ticks_mark_the_quote() {
        let mut q = Quote::default();
        apply_tick(
            &mut q,
            &TickTypes::PriceSize(TickPriceSize {
                price_tick_type: TickType::DelayedBid,
                price: 10.0,
                size_tick_type: TickType::DelayedBidSize,
                size: 100.0,
                ..Default::default()
            }),
        );
        assert_eq!(
            (q.bid, q.bid_size, q.mode),
            (Some(10.0), Some(100.0), DataMode::Delayed)
        );
        let mut q = Quote::default();
        apply_tick(
            &mut q,
            &TickTypes::MarketDataType(MarketDataType::DelayedFrozen),
        );
        assert!(q.mode.is_delayed());
    }

    #[test]
    fn fx_pairs_follow_ib_convention() {
        assert_eq!(fx_pair("CAD", "USD"), ("USD".into(), "CAD".into()));
        assert_eq!(fx_pair("USD", "EUR"), ("EUR".into(), "USD".into()));
        assert_eq!(quote_key("USD", "CASH", "CAD", "", 0.0, ""), "USD.CAD");
    }
}
