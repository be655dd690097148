//! Price and bar lookups shared by the market-data and live-data tools: the latest quote of a
//! symbol (live state, then a snapshot request, then extended-hours bars) and historical bars
//! with the SQLite bar cache as the fallback when the gateway is unreachable.

use crate::gateway::{BarSpec, ContractQuery, GatewayError, intraday};
use crate::model::{Bar, BarSize, Quote};
use crate::store::{LiveState, Staleness};
use crate::tools::support::gateway_error;
use crate::tools::{ToolContext, ToolError};
use schemars::JsonSchema;
use serde::Serialize;
use std::sync::Arc;

/// Where a quote's price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuoteSource {
    /// The streaming subscription kept in the live state.
    Stream,
    /// A one-off snapshot request.
    Snapshot,
    /// No live price: last extended-hours 1-minute bar and the previous daily close.
    ExtendedHoursBars,
    /// A held position without a market-data line (beyond the account's lines): IB's
    /// portfolio mark, refreshed every few minutes.
    Portfolio,
}

/// The latest quote for `symbol`: the live state first, then a snapshot request, then (no price
/// at all, e.g. market closed) extended-hours 1-minute bars plus the previous daily close.
pub async fn quote_for(
    ctx: &ToolContext,
    snap: &LiveState,
    tool: &str,
    symbol: &str,
) -> Result<(Quote, QuoteSource), ToolError> {
    if let Some(q) = snap.quotes.get(symbol).filter(|q| q.price().is_some()) {
        return Ok((q.clone(), QuoteSource::Stream));
    }
    let req = match ctx.requests() {
        Ok(r) => r,
        Err(e) => {
            return match snap.quotes.get(symbol) {
                Some(q) => Ok((q.clone(), QuoteSource::Stream)),
                None => Err(ToolError::new(format!(
                    "{tool}: no quote for {symbol} is cached. {}",
                    e.message
                ))),
            };
        }
    };
    let query = ContractQuery {
        symbol: symbol.to_string(),
        ..Default::default()
    };
    let snapshot = match req.quote_snapshot(&query).await {
        Ok(q) => q,
        Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. })) => {
            return Err(ToolError::new(format!(
                "{tool}: unknown symbol `{symbol}` (IB has no such contract: {e}). Try ibkr_search_contracts to find the right symbol."
            )));
        }
        Err(e) => {
            return match snap.quotes.get(symbol) {
                Some(q) => Ok((q.clone(), QuoteSource::Stream)),
                None => Err(gateway_error(tool, &format!("a quote for {symbol}"), &e)),
            };
        }
    };
    if snapshot.price().is_some() && (snapshot.last.is_some() || snapshot.bid.is_some()) {
        return Ok((snapshot, QuoteSource::Snapshot));
    }
    // No live price: extended-hours minute bars for "last", the daily bars for the previous close.
    let mut q = snapshot;
    let minute = BarSpec {
        bar_size: BarSize::Min1,
        use_rth: false,
        ..BarSpec::daily(symbol, "1 D")
    };
    let minute_bars = req.historical_bars(&minute).await.unwrap_or_default();
    let session_date = fill_from_minute_bars(&mut q, &minute_bars);
    if q.close.is_none()
        && let Ok(bars) = req.historical_bars(&BarSpec::daily(symbol, "5 D")).await
    {
        // The session the "last" comes from, else the latest on the calendar (a weekend's or a
        // holiday's is the last trading day's).
        let date = session_date
            .or_else(|| intraday::latest_session(ctx.now().div_euclid(1_000)).map(|s| s.date));
        q.close = match date {
            Some(d) => intraday::previous_close(&bars, d),
            None => bars.last().map(|b| b.close),
        };
    }
    Ok((q, QuoteSource::ExtendedHoursBars))
}

/// Last, high, low and volume from the latest session's extended-hours minute bars (the
/// exchange calendar's session of the last bar); returns that session's date.
fn fill_from_minute_bars(q: &mut Quote, bars: &[Bar]) -> Option<time::Date> {
    let last = bars.last()?;
    let session = intraday::latest_session(last.time)?;
    let day = intraday::bars_in(bars, &session);
    q.last = Some(last.close);
    q.high = day.iter().map(|b| b.high).reduce(f64::max);
    q.low = day.iter().map(|b| b.low).reduce(f64::min);
    q.volume = Some(day.iter().map(|b| b.volume).sum());
    Some(session.date)
}

/// Bars from the gateway, or from the SQLite bar cache (with a staleness note) when it fails.
pub async fn bars_with_cache(
    ctx: &ToolContext,
    tool: &str,
    spec: &BarSpec,
) -> Result<(Arc<Vec<Bar>>, Option<Staleness>), ToolError> {
    let live = match ctx.requests() {
        Ok(req) => req.historical_bars(spec).await,
        Err(e) => Err(GatewayError::NotConnected(e.message)),
    };
    match live {
        Ok(bars) => Ok((bars, None)),
        Err(e @ (GatewayError::NotConnected(_) | GatewayError::Timeout(_))) => {
            let cached = ctx
                .store
                .db()
                .and_then(|db| db.get_bars(&spec.cache_key()).ok().flatten());
            match cached {
                Some((fetched, bars)) => Ok((
                    Arc::new(bars),
                    Some(Staleness {
                        age_ms: (ctx.now() - fetched).max(0),
                        reason: format!("bars from the local cache; {e}"),
                    }),
                )),
                None => Err(gateway_error(
                    tool,
                    &format!("{} bars for {}", spec.bar_size.ib(), spec.symbol),
                    &e,
                )),
            }
        }
        Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. })) => {
            Err(ToolError::new(format!(
                "{tool}: unknown symbol `{}` ({e}). Try ibkr_search_contracts to find the right symbol.",
                spec.symbol
            )))
        }
        Err(e) => Err(gateway_error(
            tool,
            &format!("bars for {}", spec.symbol),
            &e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(time: i64, close: f64) -> Bar {
        Bar {
            time,
            open: close,
            high: close,
            low: close,
            close,
            volume: 10.0,
            ..Bar::default()
        }
    }

    #[test]
    fn pre_market_change_is_against_the_last_session_not_the_one_before() {
        // Monday 2026-11-30 07:00 New York (12:00 UTC): pre-market bars are Monday's, the last
        // daily bar is Friday's (a half day), so Friday's close is the previous close.
        let mut q = Quote::default();
        let date = fill_from_minute_bars(
            &mut q,
            &[bar(1_796_040_000 - 60, 9.0), bar(1_796_040_000, 10.5)],
        );
        assert_eq!(date, Some(time::macros::date!(2026 - 11 - 30)));
        assert_eq!((q.last, q.high, q.low), (Some(10.5), Some(10.5), Some(9.0)));
        let daily = [
            bar(1_795_564_800, 8.0),  // Wed 25 Nov
            bar(1_795_737_600, 10.0), // Fri 27 Nov (Thursday was Thanksgiving)
        ];
        assert_eq!(intraday::previous_close(&daily, date.unwrap()), Some(10.0));
    }
}
