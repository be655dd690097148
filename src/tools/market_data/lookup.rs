//! Price and bar lookups shared by the market-data and live-data tools: the latest quote of a
//! symbol (live state, then a snapshot request, then extended-hours bars) and historical bars
//! with the SQLite bar cache as the fallback when the gateway is unreachable.

use crate::gateway::{BarSpec, ContractQuery, GatewayError};
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
    if let Ok(bars) = req.historical_bars(&minute).await
        && let Some(b) = bars.last()
    {
        q.last = Some(b.close);
        q.high = bars.iter().map(|b| b.high).reduce(f64::max);
        q.low = bars.iter().map(|b| b.low).reduce(f64::min);
        q.volume = Some(bars.iter().map(|b| b.volume).sum());
    }
    if q.close.is_none()
        && let Ok(bars) = req.historical_bars(&BarSpec::daily(symbol, "5 D")).await
    {
        let n = bars.len();
        // The last daily bar is today's when the session has traded; the close before it is "previous".
        q.close = if q.last.is_some() && n >= 2 {
            Some(bars[n - 2].close)
        } else {
            bars.last().map(|b| b.close)
        };
    }
    Ok((q, QuoteSource::ExtendedHoursBars))
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
