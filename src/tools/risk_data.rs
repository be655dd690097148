//! Inputs shared by the risk and intelligence tools: the account's positions valued in the base
//! currency (with the FX rates used, so answers can state them), and daily-close histories read
//! through the gateway's bar cache.
//!
//! History is always requested with one duration per lookback band (`1 Y` up to 252 returns,
//! then `2 Y`, `3 Y`), the same spec `ibkr_technicals` uses, so correlation, beta, VaR and
//! technicals share one cached request per symbol per day. Symbols whose history cannot be had
//! now (pacing window full, unknown contract) are reported, never silently dropped.

use super::support::{self, FxUsed};
use super::{ToolContext, ToolError};
use crate::analytics::returns::{self, AlignedReturns, ReturnKind};
use crate::gateway::{BarSpec, GatewayError};
use crate::model::{AccountSnapshot, Millis, Position, tags};
use crate::store::{LiveState, Staleness};
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;

/// One held position, valued in the account's base currency.
#[derive(Debug, Clone)]
pub struct Holding {
    pub position: Position,
    pub symbol: String,
    pub currency: String,
    /// Price per share in the instrument's currency (position mark, else live quote).
    pub price: Option<f64>,
    /// Signed market value in the instrument's currency.
    pub market_value: Option<f64>,
    /// Signed market value in the base currency.
    pub value_base: Option<f64>,
    /// Base-currency value of one unit of the instrument's currency.
    pub fx_to_base: Option<f64>,
    /// Price comes from delayed market data.
    pub delayed: bool,
}

impl Holding {
    /// Contract multiplier (stocks report 0 or 1).
    pub fn multiplier(&self) -> f64 {
        if self.position.instrument.multiplier > 0.0 {
            self.position.instrument.multiplier
        } else {
            1.0
        }
    }
}

/// An account's book in its base currency.
#[derive(Debug, Clone)]
pub struct Book {
    pub account: AccountSnapshot,
    /// Masked (or not, per config) account id for output.
    pub account_label: String,
    pub base: String,
    pub holdings: Vec<Holding>,
    /// Non-base currencies converted, with the live rate.
    pub fx: Vec<FxUsed>,
    /// Currencies without a rate: their amounts are left out of base totals.
    pub unconverted: Vec<String>,
    /// Rate per currency (base → 1.0).
    pub rates: BTreeMap<String, Option<f64>>,
}

impl Book {
    /// Σ |value in base| over converted holdings.
    pub fn gross_base(&self) -> f64 {
        self.holdings
            .iter()
            .filter_map(|h| h.value_base)
            .map(f64::abs)
            .sum()
    }
    pub fn get(&self, tag: &str) -> Option<f64> {
        self.account.get(tag)
    }
    /// Net liquidation value (base currency).
    pub fn nlv(&self) -> Option<f64> {
        self.account.get(tags::NET_LIQUIDATION)
    }
    pub fn find(&self, symbol: &str) -> Option<&Holding> {
        self.holdings
            .iter()
            .find(|h| h.symbol.eq_ignore_ascii_case(symbol))
    }
    /// Held symbols, for "not held" errors.
    pub fn symbols(&self) -> Vec<&str> {
        self.holdings.iter().map(|h| h.symbol.as_str()).collect()
    }
    /// "Held symbols: A, B, …" (the first 30 for very large books).
    pub fn held_list(&self) -> String {
        let s = self.symbols();
        if s.len() > 30 {
            format!("{}, … ({} in all)", s[..30].join(", "), s.len())
        } else if s.is_empty() {
            "none".into()
        } else {
            s.join(", ")
        }
    }
    pub fn rate(&self, ccy: &str) -> Option<f64> {
        self.rates.get(ccy).copied().flatten()
    }
}

/// The account's non-zero positions valued in base currency with live FX.
pub async fn book(
    ctx: &ToolContext,
    snap: &LiveState,
    account: Option<&str>,
) -> Result<Book, ToolError> {
    let acct = support::resolve_account(ctx, snap, account)?.clone();
    let base = acct.base_currency.clone();
    let positions: Vec<Position> = snap
        .positions_of(&acct.account)
        .filter(|p| p.quantity != 0.0)
        .cloned()
        .collect();
    let mut rates: BTreeMap<String, Option<f64>> = BTreeMap::new();
    rates.insert(base.clone(), Some(1.0));
    for p in &positions {
        rates.entry(p.instrument.currency.clone()).or_insert(None);
    }
    for ccy in acct.cash_by_currency.keys() {
        rates.entry(ccy.clone()).or_insert(None);
    }
    for (ccy, rate) in rates.iter_mut() {
        if rate.is_none() {
            *rate = support::fx_rate(ctx, snap, ccy, &base).await;
        }
    }
    let mut holdings: Vec<Holding> = positions
        .into_iter()
        .map(|p| {
            let quote = snap.quotes.get(&p.instrument.symbol);
            let fx = rates.get(&p.instrument.currency).copied().flatten();
            let price = p.current_price(quote);
            let market_value = p.current_market_value(quote);
            Holding {
                symbol: p.instrument.symbol.clone(),
                currency: p.instrument.currency.clone(),
                price,
                market_value,
                value_base: market_value.zip(fx).map(|(v, r)| v * r),
                fx_to_base: fx,
                delayed: quote.is_some_and(|q| q.mode.is_delayed()),
                position: p,
            }
        })
        .collect();
    // Largest first: tables read top-down, and large books show their biggest risks first.
    holdings.sort_by(|a, b| {
        let va = a.value_base.map_or(f64::NEG_INFINITY, f64::abs);
        let vb = b.value_base.map_or(f64::NEG_INFINITY, f64::abs);
        vb.total_cmp(&va).then_with(|| a.symbol.cmp(&b.symbol))
    });
    let fx = rates
        .iter()
        .filter(|(c, _)| **c != base)
        .filter_map(|(c, r)| {
            r.map(|rate| FxUsed {
                pair: format!("{c}.{base}"),
                rate,
            })
        })
        .collect();
    let unconverted = rates
        .iter()
        .filter(|(_, r)| r.is_none())
        .map(|(c, _)| c.clone())
        .collect();
    Ok(Book {
        account_label: ctx.mask(&acct.account),
        account: acct,
        base,
        holdings,
        fx,
        unconverted,
        rates,
    })
}

/// The daily-bar spec used for `lookback` returns of `symbol` (priced in `currency`); see
/// [`BarSpec::daily_returns`].
pub fn daily_spec(symbol: &str, currency: &str, lookback: usize) -> BarSpec {
    BarSpec::daily_returns(symbol, currency, lookback)
}

/// A symbol whose history could not be used, and why (in words).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Missing {
    pub symbol: String,
    pub reason: String,
}

/// Daily closes of several symbols.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// `(symbol, [(day, close)])` in the order asked, for symbols that have bars.
    pub series: Vec<(String, Vec<(i64, f64)>)>,
    pub missing: Vec<Missing>,
    /// Set when some bars came from an old cache because the gateway is unreachable.
    pub stale: Option<Staleness>,
}

/// How many bar requests may be outstanding at once (cache hits return at once; the gateway's
/// pacer keeps real requests inside IB's limits whatever this is).
const CONCURRENCY: usize = 16;

/// Daily closes for `(symbol, currency)` pairs, from the bar cache when fresh, otherwise one
/// paced request each. With no gateway, or the gateway down, any cached bars are used and the
/// answer is marked stale.
pub async fn history(ctx: &ToolContext, items: &[(String, String)], lookback: usize) -> History {
    let specs: Vec<(String, BarSpec)> = items
        .iter()
        .map(|(symbol, ccy)| (symbol.clone(), daily_spec(symbol, ccy, lookback)))
        .collect();
    history_of(ctx, &specs).await
}

/// The daily-bar spec of the FX pair `base_ccy.quote_ccy` (IDEALPRO midpoints), same duration
/// bands as [`daily_spec`].
pub fn fx_daily_spec(base_ccy: &str, quote_ccy: &str, lookback: usize) -> BarSpec {
    BarSpec {
        sec_type: "CASH".into(),
        exchange: "IDEALPRO".into(),
        what_to_show: crate::model::WhatToShow::Midpoint,
        use_rth: false,
        ..daily_spec(base_ccy, quote_ccy, lookback)
    }
}

/// Daily history of the base-currency value of one unit of each currency in `currencies`
/// (labelled by the currency): the pair C.B as quoted, else B.C inverted (IB lists USD.CAD,
/// not CAD.USD).
pub async fn fx_history(
    ctx: &ToolContext,
    base: &str,
    currencies: &[String],
    lookback: usize,
) -> History {
    let direct: Vec<(String, BarSpec)> = currencies
        .iter()
        .map(|c| (c.clone(), fx_daily_spec(c, base, lookback)))
        .collect();
    let mut out = history_of(ctx, &direct).await;
    if out.missing.is_empty() {
        return out;
    }
    let retry: Vec<(String, BarSpec)> = out
        .missing
        .iter()
        .map(|m| (m.symbol.clone(), fx_daily_spec(base, &m.symbol, lookback)))
        .collect();
    let inverse = history_of(ctx, &retry).await;
    out.missing = inverse
        .missing
        .into_iter()
        .map(|m| Missing {
            reason: format!("no daily {}.{base} history: {}", m.symbol, m.reason),
            symbol: m.symbol,
        })
        .collect();
    for (ccy, closes) in inverse.series {
        let inverted = closes.iter().map(|&(d, c)| (d, 1.0 / c)).collect();
        out.series.push((ccy, inverted));
    }
    out.stale = worst_stale(out.stale, inverse.stale);
    out
}

/// Daily closes for `(label, spec)` pairs (see [`history`]).
pub async fn history_of(ctx: &ToolContext, specs: &[(String, BarSpec)]) -> History {
    let req = ctx.requests().ok();
    let now = ctx.now();
    let results: Vec<(String, Fetched)> = futures::stream::iter(specs.iter().cloned())
        .map(|(symbol, spec)| async move {
            let got = fetch(ctx, req, &spec).await;
            (symbol, got)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut out = History::default();
    let mut oldest: Option<Millis> = None;
    let mut stale_reason: Option<String> = None;
    for (symbol, r) in results {
        match r {
            Ok((closes, cached_at)) if closes.len() >= 2 => {
                if let Some(at) = cached_at {
                    oldest = Some(oldest.map_or(at, |o: Millis| o.min(at)));
                    stale_reason.get_or_insert_with(|| {
                        "daily bars from the local cache; the gateway is not reachable".into()
                    });
                }
                out.series.push((symbol, closes));
            }
            Ok(_) => out.missing.push(Missing {
                symbol,
                reason: "fewer than two daily bars".into(),
            }),
            Err(reason) => out.missing.push(Missing { symbol, reason }),
        }
    }
    if let (Some(at), Some(reason)) = (oldest, stale_reason) {
        out.stale = Some(Staleness {
            age_ms: (now - at).max(0),
            reason,
        });
    }
    out
}

type Fetched = Result<(Vec<(i64, f64)>, Option<Millis>), String>;

async fn fetch(
    ctx: &ToolContext,
    req: Option<&crate::gateway::Requests>,
    spec: &BarSpec,
) -> Fetched {
    let from_db = || {
        ctx.store
            .db()
            .and_then(|db| db.get_bars(&spec.cache_key()).ok().flatten())
            .map(|(at, bars)| (returns::daily_closes(&bars), Some(at)))
    };
    let Some(req) = req else {
        return from_db().ok_or_else(|| "no gateway in this process and nothing cached".into());
    };
    match req.historical_bars(spec).await {
        Ok(bars) => Ok((returns::daily_closes(&bars), None)),
        Err(e @ (GatewayError::NotConnected(_) | GatewayError::Timeout(_))) => {
            match req.cached_bars(spec) {
                Some((at, bars)) => Ok((returns::daily_closes(&bars), Some(at))),
                None => Err(format!("{e}; nothing cached")),
            }
        }
        Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. })) => {
            Err(format!("unknown symbol ({e})"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Aligned simple daily returns over the most recent `lookback` common dates.
pub fn aligned_returns(
    tool: &str,
    history: &History,
    lookback: usize,
) -> Result<AlignedReturns, ToolError> {
    let aligned = returns::align(&history.series);
    aligned
        .returns(ReturnKind::Simple, Some(lookback))
        .map_err(|e| ToolError::new(format!("{tool}: could not compute returns: {e}")))
}

/// "KRYX (reason); VLTX (reason)" for at most `n` symbols, plus how many more.
pub fn missing_words(missing: &[Missing], n: usize) -> String {
    let mut parts: Vec<String> = missing
        .iter()
        .take(n)
        .map(|m| format!("{} ({})", m.symbol, m.reason))
        .collect();
    if missing.len() > n {
        parts.push(format!("and {} more", missing.len() - n));
    }
    parts.join("; ")
}

/// The staleness to show: the live view's, else the history's.
pub fn worst_stale(a: Option<Staleness>, b: Option<Staleness>) -> Option<Staleness> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if x.age_ms >= y.age_ms { x } else { y }),
        (x, y) => x.or(y),
    }
}
