//! Market data tools: quotes (portfolio / single / comparison), historical bars, contract
//! details, option chains, dividends, contract search.

use super::format::{self as f, Align};
use super::support::{self, Meta, gateway_error, resolve_account};
use super::{Answer, Tool, ToolContext, ToolError};
use crate::gateway::{BarSpec, ContractQuery, GatewayError};
use crate::model::{Bar, Millis, Quote};
use crate::store::{LiveState, Staleness};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Shared quote lookup

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
        duration: "1 D".into(),
        bar_size: "1 min".into(),
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

/// Snapshot staleness used by tools that do not need account data.
fn quote_staleness(ctx: &ToolContext, snap: &LiveState, now: Millis) -> Option<Staleness> {
    ctx.staleness(snap, now)
}

// ---------------------------------------------------------------------------------------------
// ibkr_quote

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteParams {
    /// 0–8 symbols, as a JSON array or comma-separated string ("KRYX,VLTX"). None: every held symbol.
    /// One: the detail view. Two to eight: the comparison table.
    #[schemars(length(max = 8))]
    pub symbols: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QuoteRow {
    pub symbol: String,
    pub currency: String,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub spread: Option<f64>,
    pub last: Option<f64>,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    /// Previous session's close.
    pub close: Option<f64>,
    pub change: Option<f64>,
    pub change_pct: Option<f64>,
    pub volume: Option<f64>,
    /// `live`, `frozen`, `delayed` or `delayed-frozen`.
    pub data_mode: String,
    pub delayed: bool,
    pub source: QuoteSource,
}

impl QuoteRow {
    fn from_quote(q: &Quote, source: QuoteSource) -> Self {
        let change = q.change();
        QuoteRow {
            symbol: q.symbol.clone(),
            currency: q.currency.clone(),
            bid: f::json_num(q.bid),
            ask: f::json_num(q.ask),
            spread: f::json_num(q.bid.zip(q.ask).map(|(b, a)| f::round(a - b, 6))),
            last: f::json_num(q.price()),
            open: f::json_num(q.open),
            high: f::json_num(q.high),
            low: f::json_num(q.low),
            close: f::json_num(q.close),
            change: f::json_num(change.map(|c| f::round(c.0, 6))),
            change_pct: f::json_num(change.map(|c| f::round(c.1, 4))),
            volume: f::json_num(q.volume),
            data_mode: q.mode.label().to_string(),
            delayed: q.mode.is_delayed(),
            source,
        }
    }
}

/// ` (delayed)` after a delayed price.
fn mode_marker(r: &QuoteRow) -> &'static str {
    if r.source == QuoteSource::Portfolio {
        return " (portfolio)";
    }
    match r.data_mode.as_str() {
        "live" => "",
        "frozen" => " (frozen)",
        _ => " (delayed)",
    }
}

/// Which of the three views the answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuoteView {
    Portfolio,
    Single,
    Comparison,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct QuoteOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub view: QuoteView,
    pub quotes: Vec<QuoteRow>,
}

pub struct QuoteTool;

impl Tool for QuoteTool {
    const NAME: &'static str = "ibkr_quote";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Quotes: every held symbol (no symbols), one symbol in detail, or a 2–8 symbol comparison table; delayed data labelled.";
    type Params = QuoteParams;
    type Output = QuoteOut;

    async fn run(ctx: &ToolContext, p: QuoteParams) -> Result<Answer<QuoteOut>, ToolError> {
        let requested = support::symbols(Self::NAME, p.symbols.as_deref().unwrap_or(&[]))?;
        if requested.len() > 8 {
            return Err(ToolError::new(format!(
                "{}: too many symbols: {} given, at most 8 accepted (nothing was dropped; split the request)",
                Self::NAME,
                requested.len()
            )));
        }
        // Held positions priced from portfolio updates (no market-data line): their mark, so a
        // 2,000-position book does not turn into 2,000 snapshot requests.
        let mut portfolio_marks: BTreeMap<String, Quote> = BTreeMap::new();
        let (snap, now, stale, view, symbols) = if requested.is_empty() {
            let live = ctx.live()?;
            let acct = resolve_account(ctx, &live.snap, None)?;
            let mut held: Vec<String> = live
                .snap
                .positions_of(&acct.account)
                .filter(|p| p.quantity != 0.0 && p.instrument.sec_type == "STK")
                .map(|p| p.instrument.symbol.clone())
                .collect();
            held.dedup();
            for p in live.snap.positions_of(&acct.account).filter(|p| {
                p.price_source == crate::model::PriceSource::Portfolio
                    && !live.snap.quotes.contains_key(&p.instrument.symbol)
            }) {
                portfolio_marks.insert(
                    p.instrument.symbol.clone(),
                    Quote {
                        symbol: p.instrument.symbol.clone(),
                        con_id: p.instrument.con_id,
                        currency: p.instrument.currency.clone(),
                        last: p.market_price,
                        updated: p.updated,
                        ..Quote::default()
                    },
                );
            }
            (
                live.snap.clone(),
                live.now,
                live.stale,
                QuoteView::Portfolio,
                held,
            )
        } else {
            let snap = ctx.store.snapshot();
            let now = ctx.now();
            let stale = quote_staleness(ctx, &snap, now);
            let view = if requested.len() == 1 {
                QuoteView::Single
            } else {
                QuoteView::Comparison
            };
            (snap, now, stale, view, requested)
        };
        let mut rows = Vec::with_capacity(symbols.len());
        let mut unknown = Vec::new();
        for s in &symbols {
            if let Some(q) = portfolio_marks.get(s) {
                rows.push(QuoteRow::from_quote(q, QuoteSource::Portfolio));
                continue;
            }
            match quote_for(ctx, &snap, Self::NAME, s).await {
                Ok((q, src)) => {
                    let mut row = QuoteRow::from_quote(&q, src);
                    if row.symbol.is_empty() {
                        row.symbol = s.clone();
                    }
                    rows.push(row);
                }
                Err(e) if e.message.contains("unknown symbol") => unknown.push(s.clone()),
                Err(e) => return Err(e),
            }
        }
        if !unknown.is_empty() {
            return Err(ToolError::new(format!(
                "{}: unknown symbol{} {} (no such contract at IB). Try ibkr_search_contracts to find the right symbol.",
                Self::NAME,
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", ")
            )));
        }
        let title = match view {
            QuoteView::Portfolio => "Portfolio Quotes".to_string(),
            QuoteView::Single => format!("Quote: {}", symbols[0]),
            QuoteView::Comparison => "Symbol Comparison".to_string(),
        };
        let mut md = support::header(&title, now, stale.as_ref());
        md.push('\n');
        if view == QuoteView::Single {
            let r = &rows[0];
            let c = r.currency.as_str();
            md.push_str(&f::kv_table(&[
                ("Last", format!("{}{}", f::money(r.last, c), mode_marker(r))),
                ("Bid", f::money(r.bid, c)),
                ("Ask", f::money(r.ask, c)),
                ("Spread", f::money(r.spread, c)),
                ("Open", f::money(r.open, c)),
                ("High", f::money(r.high, c)),
                ("Low", f::money(r.low, c)),
                ("Previous Close", f::money(r.close, c)),
                (
                    "Change",
                    format!(
                        "{} ({})",
                        f::signed_money(r.change, c),
                        f::pct(r.change_pct)
                    ),
                ),
                ("Volume", f::volume(r.volume)),
                ("Data", r.data_mode.clone()),
            ]));
        } else if rows.is_empty() {
            md.push_str("No held stock positions to quote.\n");
        } else {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.symbol.clone(),
                        format!("{}{}", f::money(r.last, &r.currency), mode_marker(r)),
                        f::signed_money(r.change, &r.currency),
                        f::pct(r.change_pct),
                        f::volume(r.volume),
                    ]
                })
                .collect();
            md.push_str(&f::table(
                &["Symbol", "Last", "Change", "Change %", "Volume"],
                &[
                    Align::Left,
                    Align::Right,
                    Align::Right,
                    Align::Right,
                    Align::Right,
                ],
                &table,
            ));
        }
        let marks = rows
            .iter()
            .filter(|r| r.source == QuoteSource::Portfolio)
            .count();
        if marks > 0 {
            let _ = writeln!(
                md,
                "\n_{marks} holding(s) marked (portfolio) have no market-data line (the account's lines go to the largest holdings): price from IB's portfolio updates, no bid/ask or change._"
            );
        }
        let ext: Vec<&str> = rows
            .iter()
            .filter(|r| r.source == QuoteSource::ExtendedHoursBars)
            .map(|r| r.symbol.as_str())
            .collect();
        if !ext.is_empty() {
            let _ = writeln!(
                md,
                "\n_No live snapshot for {} (market closed or no subscription): last price from extended-hours 1-minute bars, change against the previous daily close._",
                ext.join(", ")
            );
        }
        let delayed: Vec<String> = rows
            .iter()
            .filter(|r| r.delayed)
            .map(|r| r.symbol.clone())
            .collect();
        if let Some(note) = f::delayed_note(&delayed) {
            md.push('\n');
            md.push_str(&note);
        }
        Ok(Answer {
            markdown: md,
            data: QuoteOut {
                meta: support::meta(now, stale.as_ref()),
                view,
                quotes: rows,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_get_historical_bars

/// Bar sizes IB accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
pub enum BarSize {
    #[serde(rename = "1 min")]
    Min1,
    #[serde(rename = "2 mins")]
    Min2,
    #[serde(rename = "3 mins")]
    Min3,
    #[serde(rename = "5 mins")]
    Min5,
    #[serde(rename = "10 mins")]
    Min10,
    #[serde(rename = "15 mins")]
    Min15,
    #[serde(rename = "20 mins")]
    Min20,
    #[serde(rename = "30 mins")]
    Min30,
    #[serde(rename = "1 hour")]
    Hour1,
    #[serde(rename = "2 hours")]
    Hour2,
    #[serde(rename = "3 hours")]
    Hour3,
    #[serde(rename = "4 hours")]
    Hour4,
    #[serde(rename = "8 hours")]
    Hour8,
    #[default]
    #[serde(rename = "1 day")]
    Day1,
    #[serde(rename = "1 week")]
    Week1,
    #[serde(rename = "1 month")]
    Month1,
}

impl BarSize {
    pub fn ib(self) -> &'static str {
        match self {
            BarSize::Min1 => "1 min",
            BarSize::Min2 => "2 mins",
            BarSize::Min3 => "3 mins",
            BarSize::Min5 => "5 mins",
            BarSize::Min10 => "10 mins",
            BarSize::Min15 => "15 mins",
            BarSize::Min20 => "20 mins",
            BarSize::Min30 => "30 mins",
            BarSize::Hour1 => "1 hour",
            BarSize::Hour2 => "2 hours",
            BarSize::Hour3 => "3 hours",
            BarSize::Hour4 => "4 hours",
            BarSize::Hour8 => "8 hours",
            BarSize::Day1 => "1 day",
            BarSize::Week1 => "1 week",
            BarSize::Month1 => "1 month",
        }
    }
    /// Bar length in seconds (a month counted as 30 days).
    pub fn seconds(self) -> i64 {
        match self {
            BarSize::Min1 => 60,
            BarSize::Min2 => 120,
            BarSize::Min3 => 180,
            BarSize::Min5 => 300,
            BarSize::Min10 => 600,
            BarSize::Min15 => 900,
            BarSize::Min20 => 1200,
            BarSize::Min30 => 1800,
            BarSize::Hour1 => 3600,
            BarSize::Hour2 => 7200,
            BarSize::Hour3 => 10_800,
            BarSize::Hour4 => 14_400,
            BarSize::Hour8 => 28_800,
            BarSize::Day1 => 86_400,
            BarSize::Week1 => 7 * 86_400,
            BarSize::Month1 => 30 * 86_400,
        }
    }
    fn intraday(self) -> bool {
        self.seconds() < 86_400
    }
}

/// What the bars are built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WhatToShow {
    #[default]
    Trades,
    Midpoint,
    Bid,
    Ask,
    AdjustedLast,
}

impl WhatToShow {
    fn ib(self) -> &'static str {
        match self {
            WhatToShow::Trades => "TRADES",
            WhatToShow::Midpoint => "MIDPOINT",
            WhatToShow::Bid => "BID",
            WhatToShow::Ask => "ASK",
            WhatToShow::AdjustedLast => "ADJUSTED_LAST",
        }
    }
}

fn default_duration() -> String {
    "30 D".into()
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BarsParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// IB duration: a number and a unit D, W, M or Y, from `1 D` to `5 Y` (default `30 D`).
    #[serde(default = "default_duration")]
    pub duration: String,
    /// Bar size (default `1 day`).
    #[serde(default)]
    pub bar_size: BarSize,
    /// Data type (default `TRADES`).
    #[serde(default)]
    pub what_to_show: WhatToShow,
    /// Regular trading hours only (default true).
    #[serde(default = "default_true")]
    pub use_rth: bool,
    /// Security type (default `STK`).
    pub sec_type: Option<String>,
    /// Exchange (default `SMART`).
    pub exchange: Option<String>,
    /// Currency (default `USD`).
    pub currency: Option<String>,
}

/// Most bars one request may return before we call the combination invalid.
const MAX_BARS: f64 = 20_000.0;

/// Parses `30 D` / `30D` / `1y` into IB's form and its length in days; errors say what is accepted.
pub fn parse_duration(tool: &str, raw: &str) -> Result<(String, f64), ToolError> {
    let bad = || {
        ToolError::new(format!(
            "{tool}: `duration` \"{raw}\" is not valid; accepted: a number and a unit D, W, M or Y from `1 D` to `5 Y` (e.g. `30 D`, `6 M`, `1 Y`)"
        ))
    };
    let s: String = raw
        .trim()
        .to_ascii_uppercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u32 = n.parse().map_err(|_| bad())?;
    let per = match unit {
        "D" => 1.0,
        "W" => 7.0,
        "M" => 30.0,
        "Y" => 365.0,
        _ => return Err(bad()),
    };
    let days = n as f64 * per;
    if n == 0 || days > 5.0 * 365.0 {
        return Err(bad());
    }
    Ok((format!("{n} {unit}"), days))
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BarOut {
    /// `YYYY-MM-DD` for daily and longer bars, `YYYY-MM-DD HH:MM` (UTC) for intraday.
    pub time: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BarsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    pub duration: String,
    pub bar_size: String,
    pub what_to_show: String,
    pub use_rth: bool,
    pub bar_count: usize,
    pub period_high: Option<f64>,
    pub period_low: Option<f64>,
    /// First open to last close, percent.
    pub return_pct: Option<f64>,
    pub average_volume: Option<f64>,
    pub first_close: Option<f64>,
    pub last_close: Option<f64>,
    pub bars: Vec<BarOut>,
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
                    &format!("{} bars for {}", spec.bar_size, spec.symbol),
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

pub struct HistoricalBars;

impl Tool for HistoricalBars {
    const NAME: &'static str = "ibkr_get_historical_bars";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Historical OHLCV bars (duration, bar size, data type, RTH) with a period summary: high, low, return, average volume.";
    type Params = BarsParams;
    type Output = BarsOut;

    async fn run(ctx: &ToolContext, p: BarsParams) -> Result<Answer<BarsOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let (duration, days) = parse_duration(Self::NAME, &p.duration)?;
        let bar_s = p.bar_size.seconds() as f64;
        let session_s = if p.bar_size.intraday() {
            if p.use_rth {
                6.5 * 3600.0
            } else {
                16.0 * 3600.0
            }
        } else {
            86_400.0
        };
        let bars_est = days * session_s / bar_s.min(session_s.max(bar_s));
        if bar_s > days * 86_400.0 {
            return Err(ToolError::new(format!(
                "{}: a `{}` bar is longer than the `{duration}` duration; use a smaller bar_size or a longer duration",
                Self::NAME,
                p.bar_size.ib()
            )));
        }
        if bars_est > MAX_BARS {
            return Err(ToolError::new(format!(
                "{}: `{}` bars over `{duration}` would be about {} bars (at most {} per request); use a larger bar_size or a shorter duration",
                Self::NAME,
                p.bar_size.ib(),
                bars_est.round(),
                MAX_BARS
            )));
        }
        let spec = BarSpec {
            symbol: symbol.clone(),
            sec_type: p
                .sec_type
                .as_deref()
                .map_or("STK".into(), str::to_ascii_uppercase),
            exchange: p
                .exchange
                .as_deref()
                .map_or("SMART".into(), str::to_ascii_uppercase),
            currency: p
                .currency
                .as_deref()
                .map_or("USD".into(), str::to_ascii_uppercase),
            duration: duration.clone(),
            bar_size: p.bar_size.ib().into(),
            what_to_show: p.what_to_show.ib().into(),
            use_rth: p.use_rth,
        };
        let (bars, stale) = bars_with_cache(ctx, Self::NAME, &spec).await?;
        let now = ctx.now();
        let fmt_time = |t: i64| {
            if p.bar_size.intraday() {
                f::date_time(t)
            } else {
                f::date(t)
            }
        };
        let out_bars: Vec<BarOut> = bars
            .iter()
            .map(|b| BarOut {
                time: fmt_time(b.time),
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            })
            .collect();
        let high = bars.iter().map(|b| b.high).reduce(f64::max);
        let low = bars.iter().map(|b| b.low).reduce(f64::min);
        let first = bars.first();
        let last = bars.last();
        let ret = match (first, last) {
            (Some(a), Some(b)) if a.open != 0.0 => {
                Some(f::round((b.close / a.open - 1.0) * 100.0, 4))
            }
            _ => None,
        };
        let avg_vol = if bars.is_empty() {
            None
        } else {
            Some(f::round(
                bars.iter().map(|b| b.volume).sum::<f64>() / bars.len() as f64,
                2,
            ))
        };
        let out = BarsOut {
            meta: support::meta(now, stale.as_ref()),
            symbol: symbol.clone(),
            duration: duration.clone(),
            bar_size: p.bar_size.ib().into(),
            what_to_show: p.what_to_show.ib().into(),
            use_rth: p.use_rth,
            bar_count: bars.len(),
            period_high: f::json_num(high),
            period_low: f::json_num(low),
            return_pct: ret,
            average_volume: avg_vol,
            first_close: first.map(|b| b.close),
            last_close: last.map(|b| b.close),
            bars: out_bars,
        };
        let ccy = spec.currency.as_str();
        let mut md = support::header(
            &format!(
                "Historical Bars: {symbol} ({duration}, {})",
                p.bar_size.ib()
            ),
            now,
            stale.as_ref(),
        );
        md.push('\n');
        md.push_str(&f::kv_table(&[
            ("Period High", f::money(out.period_high, ccy)),
            ("Period Low", f::money(out.period_low, ccy)),
            ("Return", f::pct(out.return_pct)),
            (
                "Average Volume",
                f::volume(out.average_volume.map(f64::round)),
            ),
            ("Bars", out.bar_count.to_string()),
            (
                "Data",
                format!(
                    "{}{}",
                    out.what_to_show,
                    if out.use_rth {
                        ", regular hours"
                    } else {
                        ", incl. extended hours"
                    }
                ),
            ),
        ]));
        const SHOWN: usize = 15;
        if !out.bars.is_empty() {
            let _ = writeln!(
                md,
                "\n## Recent Bars (last {} of {}; all in JSON)",
                SHOWN.min(out.bars.len()),
                out.bars.len()
            );
            md.push_str(&f::ohlcv_table(
                "Time",
                out.bars[out.bars.len().saturating_sub(SHOWN)..]
                    .iter()
                    .map(|b| (b.time.as_str(), b.open, b.high, b.low, b.close, b.volume)),
            ));
        } else {
            md.push_str("\nNo bars returned for this period.\n");
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_get_contract_details

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// Security type (default `STK`).
    pub sec_type: Option<String>,
    /// Exchange (default `SMART`).
    pub exchange: Option<String>,
    /// Currency (default `USD` for stocks).
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContractOut {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub long_name: String,
    pub industry: String,
    pub category: String,
    pub subcategory: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    pub min_tick: f64,
    pub trading_class: String,
    pub trading_hours: String,
    pub liquid_hours: String,
    pub time_zone: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ContractDetailsOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// True when several contracts match: pass `exchange`/`currency`/`sec_type` to pick one.
    pub ambiguous: bool,
    pub contracts: Vec<ContractOut>,
}

pub struct ContractDetails;

fn query_from(
    symbol: &str,
    sec_type: &Option<String>,
    exchange: &Option<String>,
    currency: &Option<String>,
) -> ContractQuery {
    let up = |o: &Option<String>| {
        o.as_deref()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
    };
    ContractQuery {
        symbol: symbol.to_string(),
        sec_type: up(sec_type),
        exchange: up(exchange),
        currency: up(currency),
    }
}

impl Tool for ContractDetails {
    const NAME: &'static str = "ibkr_get_contract_details";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Contract details: long name, industry/category, exchanges, min tick, trading class, con_id, trading hours; lists candidates when ambiguous.";
    type Params = ContractParams;
    type Output = ContractDetailsOut;

    async fn run(
        ctx: &ToolContext,
        p: ContractParams,
    ) -> Result<Answer<ContractDetailsOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let query = query_from(&symbol, &p.sec_type, &p.exchange, &p.currency);
        let infos = match ctx.requests()?.contract_details(&query).await {
            Ok(v) => v,
            Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. })) => {
                return Err(ToolError::new(format!(
                    "{}: no contract found for `{symbol}` ({e}). Try ibkr_search_contracts to find the right symbol.",
                    Self::NAME
                )));
            }
            Err(e) => {
                return Err(gateway_error(
                    Self::NAME,
                    &format!("contract details for {symbol}"),
                    &e,
                ));
            }
        };
        if infos.is_empty() {
            return Err(ToolError::new(format!(
                "{}: no contract found for `{symbol}`. Try ibkr_search_contracts to find the right symbol.",
                Self::NAME
            )));
        }
        let contracts: Vec<ContractOut> = infos
            .iter()
            .map(|c| ContractOut {
                con_id: c.instrument.con_id,
                symbol: c.instrument.symbol.clone(),
                sec_type: c.instrument.sec_type.clone(),
                long_name: c.long_name.clone(),
                industry: c.industry.clone(),
                category: c.category.clone(),
                subcategory: c.subcategory.clone(),
                exchange: c.instrument.exchange.clone(),
                primary_exchange: c.instrument.primary_exchange.clone(),
                currency: c.instrument.currency.clone(),
                min_tick: c.min_tick,
                trading_class: c.trading_class.clone(),
                trading_hours: c.trading_hours.clone(),
                liquid_hours: c.liquid_hours.clone(),
                time_zone: c.time_zone.clone(),
            })
            .collect();
        let now = ctx.now();
        let ambiguous = contracts.len() > 1;
        let mut md = support::header(&format!("Contract Details: {symbol}"), now, None);
        md.push('\n');
        if ambiguous {
            let _ = writeln!(
                md,
                "`{symbol}` matches {} contracts; pass `exchange`, `currency` or `sec_type` to pick one.\n",
                contracts.len()
            );
            let rows: Vec<Vec<String>> = contracts
                .iter()
                .map(|c| {
                    vec![
                        c.con_id.to_string(),
                        c.symbol.clone(),
                        c.sec_type.clone(),
                        c.primary_exchange.clone(),
                        c.currency.clone(),
                        c.long_name.clone(),
                    ]
                })
                .collect();
            md.push_str(&f::table(
                &[
                    "con_id",
                    "Symbol",
                    "Type",
                    "Primary Exchange",
                    "Currency",
                    "Name",
                ],
                &[],
                &rows,
            ));
        } else {
            let c = &contracts[0];
            let or_na = |s: &str| {
                if s.is_empty() {
                    f::NA.to_string()
                } else {
                    s.to_string()
                }
            };
            md.push_str(&f::table(
                &["Field", "Value"],
                &[],
                &[
                    vec!["Long Name".into(), or_na(&c.long_name)],
                    vec!["Industry".into(), or_na(&c.industry)],
                    vec!["Category".into(), or_na(&c.category)],
                    vec!["Subcategory".into(), or_na(&c.subcategory)],
                    vec!["Type".into(), or_na(&c.sec_type)],
                    vec!["Exchange".into(), or_na(&c.exchange)],
                    vec!["Primary Exchange".into(), or_na(&c.primary_exchange)],
                    vec!["Currency".into(), or_na(&c.currency)],
                    vec!["Min Tick".into(), format!("{}", c.min_tick)],
                    vec!["Trading Class".into(), or_na(&c.trading_class)],
                    vec!["con_id".into(), c.con_id.to_string()],
                    vec!["Time Zone".into(), or_na(&c.time_zone)],
                    vec!["Trading Hours".into(), or_na(&c.trading_hours)],
                    vec!["Liquid Hours".into(), or_na(&c.liquid_hours)],
                ],
            ));
        }
        Ok(Answer {
            markdown: md,
            data: ContractDetailsOut {
                meta: support::meta(now, None),
                ambiguous,
                contracts,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_get_option_chain

fn default_strikes() -> u32 {
    5
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionChainParams {
    /// Underlying symbol, e.g. KRYX.
    pub symbol: String,
    /// Expiration `YYYYMMDD`. Without it: the list of expirations and the ATM strike.
    pub expiration: Option<String>,
    /// Strikes on each side of the ATM strike (1–10, default 5).
    #[serde(default = "default_strikes")]
    #[schemars(range(min = 1, max = 10))]
    pub strikes_around_atm: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OptionRow {
    pub strike: f64,
    /// `C` or `P`.
    pub right: String,
    pub atm: bool,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    /// Implied volatility as a fraction (0.35 = 35%).
    pub implied_vol: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    pub theta: Option<f64>,
    pub vega: Option<f64>,
    pub delayed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OptionChainOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    pub underlying_price: Option<f64>,
    pub atm_strike: Option<f64>,
    /// Every expiration, `YYYYMMDD`, soonest first.
    pub expirations: Vec<String>,
    /// The requested expiration (null without one).
    pub expiration: Option<String>,
    pub strikes: Vec<f64>,
    pub calls: Vec<OptionRow>,
    pub puts: Vec<OptionRow>,
}

/// Days since 0000-03-01 for a `YYYYMMDD` string (calendar distance only).
fn day_number(s: &str) -> Option<i64> {
    if s.len() != 8 || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: i64 = s[4..6].parse().ok()?;
    let d: i64 = s[6..8].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    Some(365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d - 1)
}

pub struct OptionChain;

impl Tool for OptionChain {
    const NAME: &'static str = "ibkr_get_option_chain";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Option chain: expirations and ATM strike, or near-ATM calls and puts of one expiration with bid/ask/last, IV and Greeks.";
    type Params = OptionChainParams;
    type Output = OptionChainOut;

    async fn run(
        ctx: &ToolContext,
        p: OptionChainParams,
    ) -> Result<Answer<OptionChainOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let expiration = match p
            .expiration
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(e) => {
                let e = e.replace('-', "");
                if day_number(&e).is_none() {
                    return Err(ToolError::new(format!(
                        "{}: `expiration` \"{e}\" is not a date; accepted: YYYYMMDD (e.g. 20260619)",
                        Self::NAME
                    )));
                }
                Some(e)
            }
            None => None,
        };
        let req = ctx.requests()?;
        let defs = req.option_chain(&symbol).await.map_err(|e| match e {
            GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. } => ToolError::new(
                format!("{}: no option chain for `{symbol}` ({e}).", Self::NAME),
            ),
            other => gateway_error(Self::NAME, &format!("the option chain of {symbol}"), &other),
        })?;
        let mut expirations: Vec<String> = defs
            .iter()
            .flat_map(|d| d.expirations.iter().cloned())
            .collect();
        expirations.sort();
        expirations.dedup();
        if expirations.is_empty() {
            return Err(ToolError::new(format!(
                "{}: `{symbol}` has no listed options.",
                Self::NAME
            )));
        }
        let snap = ctx.store.snapshot();
        let underlying = quote_for(ctx, &snap, Self::NAME, &symbol)
            .await
            .ok()
            .and_then(|(q, _)| q.price());
        // Strikes of the chosen expiration's own chain (or all of them without one).
        let strikes_of = |exp: Option<&str>| -> Vec<f64> {
            let mut s: Vec<f64> = defs
                .iter()
                .filter(|d| exp.is_none_or(|e| d.expirations.iter().any(|x| x == e)))
                .flat_map(|d| d.strikes.iter().copied())
                .filter(|x| x.is_finite())
                .collect();
            s.sort_by(f64::total_cmp);
            s.dedup();
            s
        };
        if let Some(e) = &expiration
            && !expirations.contains(e)
        {
            let target = day_number(e).unwrap_or(0);
            let nearest = expirations
                .iter()
                .min_by_key(|x| (day_number(x).unwrap_or(i64::MAX / 2) - target).abs())
                .cloned()
                .unwrap_or_default();
            return Err(ToolError::new(format!(
                "{}: {symbol} has no expiration {e}. Nearest: {nearest}. Available: {}",
                Self::NAME,
                expirations.join(", ")
            )));
        }
        let all_strikes = strikes_of(expiration.as_deref());
        let atm = underlying.and_then(|u| {
            all_strikes
                .iter()
                .copied()
                .min_by(|a, b| (a - u).abs().total_cmp(&(b - u).abs()))
        });
        let now = ctx.now();
        let mut out = OptionChainOut {
            meta: support::meta(now, None),
            symbol: symbol.clone(),
            underlying_price: f::json_num(underlying),
            atm_strike: atm,
            expirations: expirations.clone(),
            expiration: expiration.clone(),
            strikes: Vec::new(),
            calls: Vec::new(),
            puts: Vec::new(),
        };
        let mut md = support::header(
            &match &expiration {
                Some(e) => format!("Option Chain: {symbol} {}", f::ib_date(e)),
                None => format!("Option Chain: {symbol}"),
            },
            now,
            None,
        );
        md.push('\n');
        let _ = writeln!(md, "**Underlying**: {}", f::money(underlying, "USD"));
        let _ = writeln!(
            md,
            "**ATM Strike**: {}",
            atm.map_or_else(|| f::NA.to_string(), |a| format!("{a}"))
        );
        match &expiration {
            None => {
                let _ = writeln!(
                    md,
                    "**Expirations** ({}): {}",
                    expirations.len(),
                    expirations
                        .iter()
                        .map(|e| f::ib_date(e))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                md.push_str(
                    "\n_Pass `expiration` (YYYYMMDD) for near-ATM calls and puts with Greeks._\n",
                );
                out.strikes = all_strikes;
            }
            Some(e) => {
                let n = p.strikes_around_atm as usize;
                let centre = atm
                    .and_then(|a| all_strikes.iter().position(|s| *s == a))
                    .unwrap_or(all_strikes.len() / 2);
                let lo = centre.saturating_sub(n);
                let hi = (centre + n + 1).min(all_strikes.len());
                let chosen: Vec<f64> = all_strikes[lo..hi].to_vec();
                let quotes = req
                    .option_quotes(&symbol, e, &chosen)
                    .await
                    .map_err(|err| {
                        gateway_error(Self::NAME, &format!("option quotes for {symbol} {e}"), &err)
                    })?;
                for q in &quotes {
                    let row = OptionRow {
                        strike: q.strike,
                        right: q.right.clone(),
                        atm: Some(q.strike) == atm,
                        bid: f::json_num(q.bid),
                        ask: f::json_num(q.ask),
                        last: f::json_num(q.last),
                        implied_vol: f::json_num(q.implied_vol),
                        delta: f::json_num(q.delta),
                        gamma: f::json_num(q.gamma),
                        theta: f::json_num(q.theta),
                        vega: f::json_num(q.vega),
                        delayed: q.mode.is_delayed(),
                    };
                    if q.right.eq_ignore_ascii_case("P") {
                        out.puts.push(row);
                    } else {
                        out.calls.push(row);
                    }
                }
                out.calls.sort_by(|a, b| a.strike.total_cmp(&b.strike));
                out.puts.sort_by(|a, b| a.strike.total_cmp(&b.strike));
                for (label, rows) in [("Calls", &out.calls), ("Puts", &out.puts)] {
                    let _ = writeln!(md, "\n## {label}");
                    let table: Vec<Vec<String>> = rows
                        .iter()
                        .map(|r| {
                            vec![
                                if r.atm {
                                    format!("**{}** ◀ ATM", r.strike)
                                } else {
                                    format!("{}", r.strike)
                                },
                                f::number(r.bid, 2),
                                f::number(r.ask, 2),
                                f::number(r.last, 2),
                                f::pct_plain(r.implied_vol.map(|v| v * 100.0), 1),
                                f::number(r.delta, 3),
                                f::number(r.gamma, 4),
                                f::number(r.theta, 3),
                                f::number(r.vega, 3),
                            ]
                        })
                        .collect();
                    md.push_str(&f::table(
                        &[
                            "Strike", "Bid", "Ask", "Last", "IV", "Delta", "Gamma", "Theta", "Vega",
                        ],
                        &[
                            Align::Left,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                        ],
                        &table,
                    ));
                }
                if out.calls.iter().chain(out.puts.iter()).any(|r| r.delayed) {
                    md.push_str("\n_Delayed option data (no live subscription)._\n");
                }
                out.strikes = chosen;
            }
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_dividends

/// What to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DividendScope {
    /// Last and next dividend of one `symbol`.
    Single,
    /// Upcoming ex-dates of every held symbol (default).
    #[default]
    Calendar,
    /// Estimated annual dividend income of the book.
    Income,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DividendParams {
    /// `single`, `calendar` (default) or `income`.
    #[serde(default)]
    pub scope: DividendScope,
    /// Required for `single`.
    pub symbol: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DividendRow {
    pub symbol: String,
    pub currency: String,
    /// Dividends per share over the past 12 months.
    pub past_12m: Option<f64>,
    /// Expected dividends per share over the next 12 months.
    pub next_12m: Option<f64>,
    /// Next ex-date `YYYY-MM-DD`.
    pub next_date: Option<String>,
    pub next_amount: Option<f64>,
    /// Shares held (0 for a symbol not held).
    pub quantity: f64,
    /// quantity × next_12m, in the symbol's currency.
    pub annual_income: Option<f64>,
    /// Yield on the current price, percent.
    pub yield_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DividendsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub scope: DividendScope,
    pub rows: Vec<DividendRow>,
    /// Income scope: total in the base currency (FX-converted).
    pub total_annual_income: Option<f64>,
    pub base_currency: Option<String>,
    pub fx_rates: Vec<support::FxUsed>,
}

pub struct Dividends;

/// The state to read, its staleness, (symbol, shares held) to look up, and the base currency.
type DividendTargets = (
    LiveState,
    Option<Staleness>,
    Vec<(String, f64)>,
    Option<String>,
);

impl Tool for Dividends {
    const NAME: &'static str = "ibkr_dividends";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Dividends: last/next dividend of one symbol, the ex-date calendar of held symbols, or the book's estimated annual income.";
    type Params = DividendParams;
    type Output = DividendsOut;

    async fn run(ctx: &ToolContext, p: DividendParams) -> Result<Answer<DividendsOut>, ToolError> {
        let now = ctx.now();
        let (snap, stale, targets, base): DividendTargets = match p.scope {
            DividendScope::Single => {
                let raw = p.symbol.as_deref().ok_or_else(|| {
                    ToolError::new(format!(
                        "{}: scope `single` needs `symbol` (e.g. symbol=KRYX)",
                        Self::NAME
                    ))
                })?;
                let s = support::symbol(Self::NAME, raw)?;
                let snap = ctx.store.snapshot();
                let held: f64 = snap
                    .positions
                    .values()
                    .filter(|x| x.instrument.symbol == s)
                    .map(|x| x.quantity)
                    .sum();
                (snap, None, vec![(s, held)], None)
            }
            DividendScope::Calendar | DividendScope::Income => {
                if p.symbol.is_some() {
                    return Err(ToolError::new(format!(
                        "{}: `symbol` is only used with scope `single`; calendar and income cover every held symbol",
                        Self::NAME
                    )));
                }
                let live = ctx.live()?;
                let acct = resolve_account(ctx, &live.snap, None)?;
                let base = acct.base_currency.clone();
                let mut held: BTreeMap<String, f64> = BTreeMap::new();
                for pos in live
                    .snap
                    .positions_of(&acct.account)
                    .filter(|x| x.quantity != 0.0 && x.instrument.sec_type == "STK")
                {
                    *held.entry(pos.instrument.symbol.clone()).or_default() += pos.quantity;
                }
                (
                    live.snap.clone(),
                    live.stale.clone(),
                    held.into_iter().collect(),
                    Some(base),
                )
            }
        };
        let req = ctx.requests()?;
        let mut rows = Vec::new();
        for (sym, qty) in &targets {
            let info = match req
                .dividends(&ContractQuery {
                    symbol: sym.clone(),
                    ..Default::default()
                })
                .await
            {
                Ok(i) => i,
                Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. }))
                    if p.scope == DividendScope::Single =>
                {
                    return Err(ToolError::new(format!(
                        "{}: unknown symbol `{sym}` ({e}).",
                        Self::NAME
                    )));
                }
                Err(e) => {
                    return Err(gateway_error(
                        Self::NAME,
                        &format!("dividends of {sym}"),
                        &e,
                    ));
                }
            };
            let price = snap.quotes.get(sym).and_then(|q| q.price());
            let currency = if info.currency.is_empty() {
                "USD".to_string()
            } else {
                info.currency.clone()
            };
            rows.push(DividendRow {
                symbol: sym.clone(),
                currency,
                past_12m: f::json_num(info.past_12m),
                next_12m: f::json_num(info.next_12m),
                next_date: info.next_date.as_deref().map(f::ib_date),
                next_amount: f::json_num(info.next_amount),
                quantity: *qty,
                annual_income: f::json_num(info.next_12m.map(|d| f::round(d * qty, 2))),
                yield_pct: match (info.next_12m.or(info.past_12m), price) {
                    (Some(d), Some(px)) if px > 0.0 => Some(f::round(d / px * 100.0, 4)),
                    _ => None,
                },
            });
        }
        let mut fx_rates = Vec::new();
        let mut total = None;
        if p.scope == DividendScope::Income {
            let base = base.clone().unwrap_or_else(|| "USD".into());
            let mut sum = Some(0.0);
            let mut seen: BTreeMap<String, Option<f64>> = BTreeMap::new();
            for r in &rows {
                if !seen.contains_key(&r.currency) {
                    let rate = support::fx_rate(ctx, &snap, &r.currency, &base).await;
                    seen.insert(r.currency.clone(), rate);
                }
                let rate = seen.get(&r.currency).copied().flatten();
                // A symbol paying nothing contributes a real zero, not a missing value.
                let income = r.annual_income.or(Some(0.0));
                sum = sum
                    .zip(income.zip(rate).map(|(i, x)| i * x))
                    .map(|(a, b)| a + b);
            }
            total = sum.map(|t| f::round(t, 2));
            fx_rates = seen
                .into_iter()
                .filter(|(c, _)| *c != base)
                .filter_map(|(c, r)| {
                    r.map(|rate| support::FxUsed {
                        pair: format!("{c}.{base}"),
                        rate,
                    })
                })
                .collect();
        }
        if p.scope == DividendScope::Calendar {
            rows.sort_by(|a, b| match (&a.next_date, &b.next_date) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.symbol.cmp(&b.symbol),
            });
        }
        let title = match p.scope {
            DividendScope::Single => format!(
                "Dividends: {}",
                targets.first().map_or("", |t| t.0.as_str())
            ),
            DividendScope::Calendar => "Dividend Calendar".into(),
            DividendScope::Income => "Dividend Income".into(),
        };
        let mut md = support::header(&title, now, stale.as_ref());
        md.push('\n');
        match p.scope {
            DividendScope::Single => {
                let r = &rows[0];
                let c = r.currency.as_str();
                md.push_str(&f::kv_table(&[
                    ("Past 12 Months (per share)", f::money(r.past_12m, c)),
                    ("Next 12 Months (per share)", f::money(r.next_12m, c)),
                    (
                        "Next Ex-Date",
                        r.next_date.clone().unwrap_or_else(|| f::NA.into()),
                    ),
                    ("Next Amount", f::money(r.next_amount, c)),
                    ("Yield", f::pct_plain(r.yield_pct, 2)),
                ]));
            }
            DividendScope::Calendar => {
                if rows.is_empty() {
                    md.push_str("No held stock positions.\n");
                } else {
                    let table: Vec<Vec<String>> = rows
                        .iter()
                        .map(|r| {
                            vec![
                                r.symbol.clone(),
                                r.next_date
                                    .clone()
                                    .unwrap_or_else(|| "none announced".into()),
                                f::money(r.next_amount, &r.currency),
                                f::money(r.next_12m, &r.currency),
                                f::pct_plain(r.yield_pct, 2),
                            ]
                        })
                        .collect();
                    md.push_str(&f::table(
                        &[
                            "Symbol",
                            "Next Ex-Date",
                            "Next Amount",
                            "Next 12M / Share",
                            "Yield",
                        ],
                        &[
                            Align::Left,
                            Align::Left,
                            Align::Right,
                            Align::Right,
                            Align::Right,
                        ],
                        &table,
                    ));
                }
            }
            DividendScope::Income => {
                let base = base.clone().unwrap_or_default();
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.symbol.clone(),
                            f::volume(Some(r.quantity)),
                            f::money(r.next_12m, &r.currency),
                            f::money(r.annual_income.or(Some(0.0)), &r.currency),
                        ]
                    })
                    .collect();
                md.push_str(&f::table(
                    &["Symbol", "Shares", "Next 12M / Share", "Annual Income"],
                    &[Align::Left, Align::Right, Align::Right, Align::Right],
                    &table,
                ));
                let _ = writeln!(
                    md,
                    "\n**Estimated annual income**: {}",
                    f::money(total, &base)
                );
                md.push_str(&super::account::fx_lines(&fx_rates, &[]));
            }
        }
        Ok(Answer {
            markdown: md,
            data: DividendsOut {
                meta: support::meta(now, stale.as_ref()),
                scope: p.scope,
                rows,
                total_annual_income: total,
                base_currency: base,
                fx_rates,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_search_contracts

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Symbol or company name (or part of it).
    pub query: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub query: String,
    pub matches: Vec<SearchRow>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchRow {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub primary_exchange: String,
    pub currency: String,
    pub description: String,
}

pub struct SearchContracts;

impl Tool for SearchContracts {
    const NAME: &'static str = "ibkr_search_contracts";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Find contracts by symbol or company name: con_id, symbol, type, exchange, currency, description.";
    type Params = SearchParams;
    type Output = SearchOut;

    async fn run(ctx: &ToolContext, p: SearchParams) -> Result<Answer<SearchOut>, ToolError> {
        let q = p.query.trim().to_string();
        if q.is_empty() || q.len() > 64 {
            return Err(ToolError::new(format!(
                "{}: `query` must be 1–64 characters (a symbol or part of a company name)",
                Self::NAME
            )));
        }
        let matches = ctx
            .requests()?
            .search_contracts(&q)
            .await
            .map_err(|e| gateway_error(Self::NAME, &format!("matches for \"{q}\""), &e))?
            .into_iter()
            .map(|m| SearchRow {
                con_id: m.con_id,
                symbol: m.symbol,
                sec_type: m.sec_type,
                primary_exchange: m.primary_exchange,
                currency: m.currency,
                description: m.description,
            })
            .collect::<Vec<_>>();
        let now = ctx.now();
        let mut md = support::header(&format!("Contract Search: \"{q}\""), now, None);
        md.push('\n');
        if matches.is_empty() {
            let _ = writeln!(md, "No contract matches \"{q}\".");
        } else {
            let rows: Vec<Vec<String>> = matches
                .iter()
                .map(|m| {
                    vec![
                        m.con_id.to_string(),
                        m.symbol.clone(),
                        m.sec_type.clone(),
                        m.primary_exchange.clone(),
                        m.currency.clone(),
                        m.description.clone(),
                    ]
                })
                .collect();
            md.push_str(&f::table(
                &[
                    "con_id",
                    "Symbol",
                    "Type",
                    "Exchange",
                    "Currency",
                    "Description",
                ],
                &[],
                &rows,
            ));
        }
        Ok(Answer {
            markdown: md,
            data: SearchOut {
                meta: support::meta(now, None),
                query: q,
                matches,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("t", "30 D").unwrap(), ("30 D".into(), 30.0));
        assert_eq!(parse_duration("t", "1y").unwrap().0, "1 Y");
        assert!(parse_duration("t", "6 Y").is_err());
        assert!(parse_duration("t", "0 D").is_err());
        assert!(
            parse_duration("t", "abc")
                .unwrap_err()
                .message
                .contains("accepted")
        );
    }

    #[test]
    fn calendar_distance() {
        let a = day_number("20260619").unwrap();
        let b = day_number("20260717").unwrap();
        assert_eq!(b - a, 28);
        assert_eq!(day_number("20261301"), None);
    }
}
