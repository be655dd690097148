//! Live data tools: FX rates, intraday minute bars, relative performance, technical indicators
//! (computed with the `ta` crate on one year of daily bars).

use super::format::{self as f, Align};
use super::market_data::{bars_with_cache, quote_for};
use super::support::{self, Meta, gateway_error};
use super::{Answer, Tool, ToolContext, ToolError};
use crate::gateway::{BarSpec, ContractQuery, GatewayError};
use crate::model::{Bar, Quote};
use crate::store::Staleness;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use ta::Next;
use ta::indicators::{
    AverageTrueRange, BollingerBands, ExponentialMovingAverage, MovingAverageConvergenceDivergence,
    RelativeStrengthIndex, SimpleMovingAverage,
};

// ---------------------------------------------------------------------------------------------
// ibkr_get_fx_rate

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FxParams {
    /// Currency pair as six letters, e.g. `USDCAD` (case-insensitive; `USD.CAD` and `USD/CAD` also accepted).
    pub pair: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FxOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// `USD.CAD`
    pub pair: String,
    /// Units of the quote currency per unit of the base currency (mid, else last).
    pub rate: Option<f64>,
    pub inverse: Option<f64>,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    /// Ask − bid in pips (0.0001; 0.01 for JPY).
    pub spread_pips: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub previous_close: Option<f64>,
    pub change: Option<f64>,
    pub change_pct: Option<f64>,
    pub data_mode: String,
}

/// `usdcad`, `USD.CAD`, `usd/cad` → (`USD`, `CAD`).
pub fn parse_pair(tool: &str, raw: &str) -> Result<(String, String), ToolError> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, '.' | '/' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    if s.len() == 6 && s.chars().all(|c| c.is_ascii_alphabetic()) && s[..3] != s[3..] {
        Ok((s[..3].to_string(), s[3..].to_string()))
    } else {
        Err(ToolError::new(format!(
            "{tool}: `pair` \"{raw}\" is not a currency pair; accepted: six letters, two different ISO currencies, e.g. USDCAD or EURUSD"
        )))
    }
}

/// Inverts a quote of `B.A` into `A.B` (bid and ask swap).
fn invert(q: &Quote) -> Quote {
    let inv = |x: Option<f64>| x.filter(|v| *v > 0.0).map(|v| 1.0 / v);
    Quote {
        bid: inv(q.ask),
        ask: inv(q.bid),
        last: inv(q.last),
        open: inv(q.open),
        high: inv(q.low),
        low: inv(q.high),
        close: inv(q.close),
        ..q.clone()
    }
}

pub struct FxRate;

impl Tool for FxRate {
    const NAME: &'static str = "ibkr_get_fx_rate";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Live FX rate of a currency pair with inverse, bid, ask, spread in pips, day high/low and daily change.";
    type Params = FxParams;
    type Output = FxOut;

    async fn run(ctx: &ToolContext, p: FxParams) -> Result<Answer<FxOut>, ToolError> {
        let (base, quote) = parse_pair(Self::NAME, &p.pair)?;
        let pair = format!("{base}.{quote}");
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let direct = snap.quotes.get(&pair).cloned();
        let reverse = snap.quotes.get(&format!("{quote}.{base}")).map(invert);
        let q = match direct.or(reverse).filter(|q| q.price().is_some()) {
            Some(q) => q,
            None => {
                let req = ctx.requests()?;
                let query = |b: &str, c: &str| ContractQuery {
                    symbol: b.to_string(),
                    sec_type: Some("CASH".into()),
                    exchange: Some("IDEALPRO".into()),
                    currency: Some(c.to_string()),
                };
                match req.quote_snapshot(&query(&base, &quote)).await {
                    Ok(q) if q.price().is_some() => q,
                    first => match req.quote_snapshot(&query(&quote, &base)).await {
                        Ok(q) if q.price().is_some() => invert(&q),
                        _ => {
                            return Err(match first {
                                Err(e @ GatewayError::NotConnected(_)) => {
                                    gateway_error(Self::NAME, &format!("a rate for {pair}"), &e)
                                }
                                _ => ToolError::new(format!(
                                    "{}: no FX quote for {pair} (IB knows no such pair, or it has no price now).",
                                    Self::NAME
                                )),
                            });
                        }
                    },
                }
            }
        };
        let stale = ctx.staleness(&snap, now);
        let pip = if quote == "JPY" { 0.01 } else { 0.0001 };
        let rate = q.price();
        let change = q.change();
        let out = FxOut {
            meta: support::meta(now, stale.as_ref()),
            pair: pair.clone(),
            rate: f::json_num(rate),
            inverse: f::json_num(rate.filter(|r| *r > 0.0).map(|r| 1.0 / r)),
            bid: f::json_num(q.bid),
            ask: f::json_num(q.ask),
            spread_pips: f::json_num(q.bid.zip(q.ask).map(|(b, a)| f::round((a - b) / pip, 2))),
            high: f::json_num(q.high),
            low: f::json_num(q.low),
            previous_close: f::json_num(q.close),
            change: f::json_num(change.map(|c| c.0)),
            change_pct: f::json_num(change.map(|c| f::round(c.1, 4))),
            data_mode: q.mode.label().to_string(),
        };
        let mut md = support::header(&format!("FX: {base}/{quote}"), now, stale.as_ref());
        md.push('\n');
        let r5 = |v: Option<f64>| f::number(v, 5);
        md.push_str(&f::kv_table(&[
            (
                "Rate",
                format!("{}{}", r5(out.rate), f::mode_marker(q.mode)),
            ),
            (&format!("Inverse ({quote}/{base})"), r5(out.inverse)),
            ("Bid", r5(out.bid)),
            ("Ask", r5(out.ask)),
            (
                "Spread",
                out.spread_pips
                    .map_or_else(|| f::NA.to_string(), |s| format!("{s:.1} pips")),
            ),
            ("Day High", r5(out.high)),
            ("Day Low", r5(out.low)),
            (
                "Change",
                format!("{} ({})", f::number(out.change, 5), f::pct(out.change_pct)),
            ),
        ]));
        let _ = writeln!(md, "\n_1 {base} = {} {quote}_", r5(out.rate));
        if q.mode.is_delayed() {
            md.push_str("\n_Delayed FX data (no live subscription)._\n");
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_get_intraday

fn default_minutes() -> u32 {
    30
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntradayParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// Minutes of one-minute bars to show (1–120, default 30).
    #[serde(default = "default_minutes")]
    #[schemars(range(min = 1, max = 120))]
    pub minutes: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MinuteBar {
    /// `YYYY-MM-DD HH:MM` UTC.
    pub time: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IntradayOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    pub currency: String,
    pub current: Option<f64>,
    pub session_high: Option<f64>,
    pub session_low: Option<f64>,
    pub session_volume: Option<f64>,
    /// Move over the last `minutes`: last close − first open of the window.
    pub window_move: Option<f64>,
    pub window_move_pct: Option<f64>,
    /// Move against the previous close.
    pub day_change_pct: Option<f64>,
    pub minutes: u32,
    pub bars: Vec<MinuteBar>,
    pub delayed: bool,
}

pub struct Intraday;

impl Tool for Intraday {
    const NAME: &'static str = "ibkr_get_intraday";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Intraday view: current price, session high/low, volume and move, with one-minute bars for the last N minutes (extended hours included).";
    type Params = IntradayParams;
    type Output = IntradayOut;

    async fn run(ctx: &ToolContext, p: IntradayParams) -> Result<Answer<IntradayOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let spec = BarSpec {
            bar_size: "1 min".into(),
            use_rth: false,
            ..BarSpec::daily(&symbol, "1 D")
        };
        let (bars, bar_stale) = bars_with_cache(ctx, Self::NAME, &spec).await?;
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let quote = quote_for(ctx, &snap, Self::NAME, &symbol)
            .await
            .ok()
            .map(|(q, _)| q);
        let stale = bar_stale.or_else(|| ctx.staleness(&snap, now));
        let n = p.minutes as usize;
        let window = &bars[bars.len().saturating_sub(n)..];
        let current = quote
            .as_ref()
            .and_then(|q| q.last.or_else(|| q.price()))
            .or(bars.last().map(|b| b.close));
        let currency = quote
            .as_ref()
            .map(|q| q.currency.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "USD".into());
        let (wm, wmp) = match (window.first(), window.last()) {
            (Some(a), Some(b)) if a.open != 0.0 => (
                Some(b.close - a.open),
                Some(f::round((b.close / a.open - 1.0) * 100.0, 4)),
            ),
            _ => (None, None),
        };
        let out = IntradayOut {
            meta: support::meta(now, stale.as_ref()),
            symbol: symbol.clone(),
            currency: currency.clone(),
            current: f::json_num(current),
            session_high: bars.iter().map(|b| b.high).reduce(f64::max),
            session_low: bars.iter().map(|b| b.low).reduce(f64::min),
            session_volume: if bars.is_empty() {
                None
            } else {
                Some(bars.iter().map(|b| b.volume).sum())
            },
            window_move: f::json_num(wm.map(|m| f::round(m, 6))),
            window_move_pct: wmp,
            day_change_pct: quote
                .as_ref()
                .and_then(|q| q.change())
                .map(|c| f::round(c.1, 4)),
            minutes: p.minutes,
            bars: window
                .iter()
                .map(|b| MinuteBar {
                    time: f::date_time(b.time),
                    open: b.open,
                    high: b.high,
                    low: b.low,
                    close: b.close,
                    volume: b.volume,
                })
                .collect(),
            delayed: quote.as_ref().is_some_and(|q| q.mode.is_delayed()),
        };
        let c = currency.as_str();
        let mut md = support::header(
            &format!("Intraday: {symbol} (last {} min)", p.minutes),
            now,
            stale.as_ref(),
        );
        md.push('\n');
        md.push_str(&f::kv_table(&[
            (
                "Current",
                format!(
                    "{}{}",
                    f::money(out.current, c),
                    if out.delayed { " (delayed)" } else { "" }
                ),
            ),
            ("Session High", f::money(out.session_high, c)),
            ("Session Low", f::money(out.session_low, c)),
            ("Session Volume", f::volume(out.session_volume)),
            (
                &format!("Move ({} min)", p.minutes),
                format!(
                    "{} ({})",
                    f::signed_money(out.window_move, c),
                    f::pct(out.window_move_pct)
                ),
            ),
            ("Day Change", f::pct(out.day_change_pct)),
        ]));
        if out.bars.is_empty() {
            md.push_str("\nNo one-minute bars today yet.\n");
        } else {
            let _ = writeln!(md, "\n## One-Minute Bars ({} shown)", out.bars.len());
            md.push_str(&f::ohlcv_table(
                "Time (UTC)",
                out.bars
                    .iter()
                    .rev()
                    .map(|b| (b.time.as_str(), b.open, b.high, b.low, b.close, b.volume)),
            ));
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_compare_performance

/// Lookback of the comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum PerfDuration {
    #[serde(rename = "5 D")]
    Days5,
    #[default]
    #[serde(rename = "1 M")]
    Month1,
    #[serde(rename = "3 M")]
    Month3,
    #[serde(rename = "6 M")]
    Month6,
    #[serde(rename = "1 Y")]
    Year1,
    #[serde(rename = "YTD")]
    Ytd,
}

impl PerfDuration {
    fn label(self) -> &'static str {
        match self {
            PerfDuration::Days5 => "5 D",
            PerfDuration::Month1 => "1 M",
            PerfDuration::Month3 => "3 M",
            PerfDuration::Month6 => "6 M",
            PerfDuration::Year1 => "1 Y",
            PerfDuration::Ytd => "YTD",
        }
    }
    /// IB duration string; YTD counts the days since 1 January (UTC) of `now`.
    fn ib(self, now_ms: i64) -> String {
        match self {
            PerfDuration::Ytd => {
                let day_of_year = time::OffsetDateTime::from_unix_timestamp(now_ms / 1000)
                    .map(|t| t.ordinal() as i64)
                    .unwrap_or(1);
                format!("{} D", day_of_year.max(2))
            }
            // One extra day so "5 D" holds five daily returns.
            PerfDuration::Days5 => "6 D".into(),
            other => other.label().into(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareParams {
    /// 2–8 symbols, JSON array or comma-separated string.
    #[schemars(length(min = 2, max = 8))]
    pub symbols: Vec<String>,
    /// `5 D`, `1 M` (default), `3 M`, `6 M`, `1 Y` or `YTD`.
    #[serde(default)]
    pub duration: PerfDuration,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PerfRow {
    pub rank: usize,
    pub symbol: String,
    /// Close-to-close return over the period, percent.
    pub return_pct: Option<f64>,
    /// Annualised volatility of daily returns, percent.
    pub volatility_pct: Option<f64>,
    /// Worst peak-to-trough fall of the closes, percent (≤ 0).
    pub max_drawdown_pct: Option<f64>,
    /// Return / volatility.
    pub return_to_vol: Option<f64>,
    pub days: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompareOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub duration: PerfDuration,
    /// Best first.
    pub ranking: Vec<PerfRow>,
    /// Best return − worst return, percentage points.
    pub spread_pct: Option<f64>,
}

/// Return, annualised volatility and max drawdown (all percent) of a close series.
pub fn performance(closes: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if closes.len() < 2 || closes[0] == 0.0 {
        return (None, None, None);
    }
    let ret = (closes[closes.len() - 1] / closes[0] - 1.0) * 100.0;
    let rets: Vec<f64> = closes
        .windows(2)
        .filter(|w| w[0] != 0.0)
        .map(|w| w[1] / w[0] - 1.0)
        .collect();
    let vol = if rets.len() >= 2 {
        let mean = rets.iter().sum::<f64>() / rets.len() as f64;
        let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (rets.len() - 1) as f64;
        Some(var.sqrt() * 252f64.sqrt() * 100.0)
    } else {
        None
    };
    let mut peak = closes[0];
    let mut mdd: f64 = 0.0;
    for &c in closes {
        peak = peak.max(c);
        if peak > 0.0 {
            mdd = mdd.min((c / peak - 1.0) * 100.0);
        }
    }
    (Some(ret), vol, Some(mdd))
}

pub struct ComparePerformance;

impl Tool for ComparePerformance {
    const NAME: &'static str = "ibkr_compare_performance";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Relative performance of 2–8 symbols over 5 D / 1 M / 3 M / 6 M / 1 Y / YTD: return, volatility, max drawdown, return/vol, ranked.";
    type Params = CompareParams;
    type Output = CompareOut;

    async fn run(ctx: &ToolContext, p: CompareParams) -> Result<Answer<CompareOut>, ToolError> {
        let symbols = support::symbols(Self::NAME, &p.symbols)?;
        if !(2..=8).contains(&symbols.len()) {
            return Err(ToolError::new(format!(
                "{}: `symbols` needs 2 to 8 different symbols; {} given",
                Self::NAME,
                symbols.len()
            )));
        }
        let now = ctx.now();
        let duration = p.duration.ib(now);
        let mut rows = Vec::with_capacity(symbols.len());
        let mut stale: Option<Staleness> = None;
        for s in &symbols {
            let (bars, st) =
                bars_with_cache(ctx, Self::NAME, &BarSpec::daily(s, &duration)).await?;
            if st.is_some() {
                stale = st;
            }
            let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
            let (ret, vol, mdd) = performance(&closes);
            rows.push(PerfRow {
                rank: 0,
                symbol: s.clone(),
                return_pct: ret.map(|x| f::round(x, 4)),
                volatility_pct: vol.map(|x| f::round(x, 4)),
                max_drawdown_pct: mdd.map(|x| f::round(x, 4)),
                return_to_vol: match (ret, vol) {
                    (Some(r), Some(v)) if v > 0.0 => Some(f::round(r / v, 4)),
                    _ => None,
                },
                days: closes.len().saturating_sub(1),
            });
        }
        rows.sort_by(|a, b| {
            b.return_pct
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.return_pct.unwrap_or(f64::NEG_INFINITY))
                .then_with(|| a.symbol.cmp(&b.symbol))
        });
        for (i, r) in rows.iter_mut().enumerate() {
            r.rank = i + 1;
        }
        let known: Vec<f64> = rows.iter().filter_map(|r| r.return_pct).collect();
        let spread = if known.len() >= 2 {
            Some(f::round(
                known.iter().copied().fold(f64::MIN, f64::max)
                    - known.iter().copied().fold(f64::MAX, f64::min),
                4,
            ))
        } else {
            None
        };
        let mut md = support::header(
            &format!("Performance Comparison ({})", p.duration.label()),
            now,
            stale.as_ref(),
        );
        md.push('\n');
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.rank.to_string(),
                    r.symbol.clone(),
                    f::pct(r.return_pct),
                    f::pct_plain(r.volatility_pct, 2),
                    f::pct(r.max_drawdown_pct),
                    f::number(r.return_to_vol, 2),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Rank",
                "Symbol",
                "Return",
                "Volatility (ann.)",
                "Max Drawdown",
                "Return/Vol",
            ],
            &[
                Align::Right,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
        if let (Some(best), Some(worst)) = (
            rows.first(),
            rows.iter().rev().find(|r| r.return_pct.is_some()),
        ) {
            let _ = writeln!(
                md,
                "\n**Spread (best − worst)**: {} ({} vs {})",
                spread.map_or_else(|| f::NA.to_string(), |s| format!("{s:.2} pp")),
                best.symbol,
                worst.symbol
            );
        }
        md.push_str("\n_Daily closes; volatility annualised with √252._\n");
        Ok(Answer {
            markdown: md,
            data: CompareOut {
                meta: support::meta(now, stale.as_ref()),
                duration: p.duration,
                ranking: rows,
                spread_pct: spread,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_technicals

/// Indicator groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// SMA 20/50/200, EMA 12/26.
    Trend,
    /// RSI 14, MACD 12/26/9.
    Momentum,
    /// Bollinger 20/2, ATR 14.
    Volatility,
    /// 52-week high/low.
    Levels,
    /// Everything (default).
    All,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechnicalsParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// Sections to compute: any of `trend`, `momentum`, `volatility`, `levels`, `all` (default `all`);
    /// JSON array or comma-separated string.
    pub sections: Option<Vec<Section>>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Trend {
    pub sma20: Option<f64>,
    pub sma50: Option<f64>,
    pub sma200: Option<f64>,
    pub ema12: Option<f64>,
    pub ema26: Option<f64>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Momentum {
    pub rsi14: Option<f64>,
    pub macd: Option<f64>,
    pub macd_signal: Option<f64>,
    pub macd_histogram: Option<f64>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Volatility {
    pub bollinger_upper: Option<f64>,
    pub bollinger_middle: Option<f64>,
    pub bollinger_lower: Option<f64>,
    pub atr14: Option<f64>,
    /// ATR as a percent of the price.
    pub atr_pct: Option<f64>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Levels {
    pub high_52w: Option<f64>,
    pub low_52w: Option<f64>,
    /// Percent below the 52-week high (≤ 0).
    pub from_high_pct: Option<f64>,
    /// Percent above the 52-week low (≥ 0).
    pub from_low_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TechnicalsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    pub price: Option<f64>,
    pub bars_used: usize,
    pub trend: Option<Trend>,
    pub momentum: Option<Momentum>,
    pub volatility: Option<Volatility>,
    pub levels: Option<Levels>,
    /// Plain-words reading of the indicators.
    pub signals: Vec<String>,
}

/// Last value of an indicator fed every close, or `None` with fewer bars than its period.
fn last_of<I: Next<f64, Output = f64>>(
    ind: Option<I>,
    closes: &[f64],
    period: usize,
) -> Option<f64> {
    let mut ind = ind?;
    if closes.len() < period {
        return None;
    }
    closes
        .iter()
        .map(|c| ind.next(*c))
        .last()
        .filter(|v| v.is_finite())
}

/// `ta` smooths RSI and ATR with an EMA of α = 2 / (period + 1); charting platforms (and IB's
/// own charts) use Wilder's smoothing, α = 1 / n. An EMA of period 2n − 1 *is* Wilder's n, so we
/// hand `ta` that period and the numbers match what a trader sees (the seeding differs, which
/// fades out well within a year of bars; `tests/tools_live.rs` checks against
/// `analytics::technicals`, the hand-written Wilder reference).
const fn wilder(n: usize) -> usize {
    2 * n - 1
}

/// Computes every indicator over daily bars (oldest first).
pub fn compute_technicals(bars: &[Bar]) -> (Trend, Momentum, Volatility, Levels) {
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let price = closes.last().copied();
    let trend = Trend {
        sma20: last_of(SimpleMovingAverage::new(20).ok(), &closes, 20),
        sma50: last_of(SimpleMovingAverage::new(50).ok(), &closes, 50),
        sma200: last_of(SimpleMovingAverage::new(200).ok(), &closes, 200),
        ema12: last_of(ExponentialMovingAverage::new(12).ok(), &closes, 12),
        ema26: last_of(ExponentialMovingAverage::new(26).ok(), &closes, 26),
    };
    let mut momentum = Momentum {
        rsi14: last_of(RelativeStrengthIndex::new(wilder(14)).ok(), &closes, 15),
        ..Default::default()
    };
    if closes.len() >= 35
        && let Ok(mut m) = MovingAverageConvergenceDivergence::new(12, 26, 9)
        && let Some(o) = closes.iter().map(|c| m.next(*c)).last()
    {
        momentum.macd = Some(o.macd);
        momentum.macd_signal = Some(o.signal);
        momentum.macd_histogram = Some(o.histogram);
    }
    let mut vol = Volatility::default();
    if closes.len() >= 20
        && let Ok(mut bb) = BollingerBands::new(20, 2.0)
        && let Some(o) = closes.iter().map(|c| bb.next(*c)).last()
    {
        vol.bollinger_upper = Some(o.upper);
        vol.bollinger_middle = Some(o.average);
        vol.bollinger_lower = Some(o.lower);
    }
    if bars.len() >= 15
        && let Ok(mut atr) = AverageTrueRange::new(wilder(14))
    {
        let items: Vec<ta::DataItem> = bars
            .iter()
            .filter_map(|b| {
                ta::DataItem::builder()
                    .open(b.open)
                    .high(b.high.max(b.open).max(b.close))
                    .low(b.low.min(b.open).min(b.close))
                    .close(b.close)
                    .volume(b.volume.max(0.0))
                    .build()
                    .ok()
            })
            .collect();
        vol.atr14 = items.iter().map(|i| atr.next(i)).last();
        vol.atr_pct = vol
            .atr14
            .zip(price)
            .filter(|(_, p)| *p > 0.0)
            .map(|(a, p)| a / p * 100.0);
    }
    let last_year = &bars[bars.len().saturating_sub(252)..];
    let high = last_year.iter().map(|b| b.high).reduce(f64::max);
    let low = last_year.iter().map(|b| b.low).reduce(f64::min);
    let levels = Levels {
        high_52w: high,
        low_52w: low,
        from_high_pct: high
            .zip(price)
            .filter(|(h, _)| *h > 0.0)
            .map(|(h, p)| (p / h - 1.0) * 100.0),
        from_low_pct: low
            .zip(price)
            .filter(|(l, _)| *l > 0.0)
            .map(|(l, p)| (p / l - 1.0) * 100.0),
    };
    (trend, momentum, vol, levels)
}

/// Plain-words signals from the indicators.
pub fn signals(price: Option<f64>, t: &Trend, m: &Momentum, v: &Volatility) -> Vec<String> {
    let mut s = Vec::new();
    if let Some(p) = price {
        for (name, ma) in [("50-day", t.sma50), ("200-day", t.sma200)] {
            if let Some(ma) = ma {
                s.push(format!(
                    "Price is {} its {name} average ({:+.1}%).",
                    if p >= ma { "above" } else { "below" },
                    (p / ma - 1.0) * 100.0
                ));
            }
        }
        if let (Some(u), Some(l)) = (v.bollinger_upper, v.bollinger_lower) {
            if p > u {
                s.push("Price is above the upper Bollinger band (stretched).".into());
            } else if p < l {
                s.push("Price is below the lower Bollinger band (stretched).".into());
            }
        }
    }
    if let (Some(a), Some(b)) = (t.sma50, t.sma200) {
        s.push(if a >= b {
            "50-day average above the 200-day (golden-cross regime: uptrend).".into()
        } else {
            "50-day average below the 200-day (death-cross regime: downtrend).".into()
        });
    }
    if let Some(r) = m.rsi14 {
        s.push(if r >= 70.0 {
            format!("RSI {r:.1}: overbought.")
        } else if r <= 30.0 {
            format!("RSI {r:.1}: oversold.")
        } else {
            format!("RSI {r:.1}: neutral.")
        });
    }
    if let Some(h) = m.macd_histogram {
        s.push(if h >= 0.0 {
            "MACD above its signal line: momentum positive.".into()
        } else {
            "MACD below its signal line: momentum negative.".into()
        });
    }
    s
}

pub struct Technicals;

impl Tool for Technicals {
    const NAME: &'static str = "ibkr_technicals";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Technical indicators on one year of daily bars: SMA 20/50/200, EMA 12/26, RSI 14, MACD 12/26/9, Bollinger 20/2, ATR 14, 52-week range, signals.";
    type Params = TechnicalsParams;
    type Output = TechnicalsOut;

    async fn run(
        ctx: &ToolContext,
        p: TechnicalsParams,
    ) -> Result<Answer<TechnicalsOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let sections = p.sections.unwrap_or_default();
        let want = |s: Section| {
            sections.is_empty() || sections.contains(&Section::All) || sections.contains(&s)
        };
        let (bars, stale) =
            bars_with_cache(ctx, Self::NAME, &BarSpec::daily(&symbol, "1 Y")).await?;
        if bars.is_empty() {
            return Err(ToolError::new(format!(
                "{}: no daily bars for {symbol}, so nothing to compute.",
                Self::NAME
            )));
        }
        let now = ctx.now();
        let (trend, momentum, vol, levels) = compute_technicals(&bars);
        let price = bars.last().map(|b| b.close);
        let sig = signals(price, &trend, &momentum, &vol);
        let r = |v: Option<f64>| v.map(|x| f::round(x, 4));
        let mut md = support::header(&format!("Technicals: {symbol}"), now, stale.as_ref());
        md.push('\n');
        let _ = writeln!(
            md,
            "**Price**: {} (last daily close; {} bars)",
            f::money(price, "USD"),
            bars.len()
        );
        let m2 = |v: Option<f64>| f::money(v, "USD");
        if want(Section::Trend) {
            md.push_str("\n## Trend\n");
            md.push_str(&f::kv_table(&[
                ("SMA 20", m2(trend.sma20)),
                ("SMA 50", m2(trend.sma50)),
                ("SMA 200", m2(trend.sma200)),
                ("EMA 12", m2(trend.ema12)),
                ("EMA 26", m2(trend.ema26)),
            ]));
        }
        if want(Section::Momentum) {
            md.push_str("\n## Momentum\n");
            md.push_str(&f::kv_table(&[
                ("RSI 14", f::number(momentum.rsi14, 1)),
                ("MACD", f::number(momentum.macd, 3)),
                ("Signal", f::number(momentum.macd_signal, 3)),
                ("Histogram", f::number(momentum.macd_histogram, 3)),
            ]));
        }
        if want(Section::Volatility) {
            md.push_str("\n## Volatility\n");
            md.push_str(&f::kv_table(&[
                ("Bollinger Upper", m2(vol.bollinger_upper)),
                ("Bollinger Middle", m2(vol.bollinger_middle)),
                ("Bollinger Lower", m2(vol.bollinger_lower)),
                (
                    "ATR 14",
                    format!("{} ({})", m2(vol.atr14), f::pct_plain(vol.atr_pct, 2)),
                ),
            ]));
        }
        if want(Section::Levels) {
            md.push_str("\n## Levels\n");
            md.push_str(&f::kv_table(&[
                ("52-Week High", m2(levels.high_52w)),
                ("52-Week Low", m2(levels.low_52w)),
                ("From High", f::pct(levels.from_high_pct)),
                ("From Low", f::pct(levels.from_low_pct)),
            ]));
        }
        if !sig.is_empty() {
            md.push_str("\n## Signals\n");
            for s in &sig {
                let _ = writeln!(md, "- {s}");
            }
        }
        let out = TechnicalsOut {
            meta: support::meta(now, stale.as_ref()),
            symbol,
            price,
            bars_used: bars.len(),
            trend: want(Section::Trend).then(|| Trend {
                sma20: r(trend.sma20),
                sma50: r(trend.sma50),
                sma200: r(trend.sma200),
                ema12: r(trend.ema12),
                ema26: r(trend.ema26),
            }),
            momentum: want(Section::Momentum).then(|| Momentum {
                rsi14: r(momentum.rsi14),
                macd: r(momentum.macd),
                macd_signal: r(momentum.macd_signal),
                macd_histogram: r(momentum.macd_histogram),
            }),
            volatility: want(Section::Volatility).then(|| Volatility {
                bollinger_upper: r(vol.bollinger_upper),
                bollinger_middle: r(vol.bollinger_middle),
                bollinger_lower: r(vol.bollinger_lower),
                atr14: r(vol.atr14),
                atr_pct: r(vol.atr_pct),
            }),
            levels: want(Section::Levels).then(|| Levels {
                high_52w: levels.high_52w,
                low_52w: levels.low_52w,
                from_high_pct: r(levels.from_high_pct),
                from_low_pct: r(levels.from_low_pct),
            }),
            signals: sig,
        };
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs() {
        assert_eq!(
            parse_pair("t", "usdcad").unwrap(),
            ("USD".into(), "CAD".into())
        );
        assert_eq!(
            parse_pair("t", "EUR/USD").unwrap(),
            ("EUR".into(), "USD".into())
        );
        assert!(
            parse_pair("t", "USDCA")
                .unwrap_err()
                .message
                .contains("six letters")
        );
        assert!(parse_pair("t", "USDUSD").is_err());
    }

    #[test]
    fn performance_numbers() {
        let (r, v, m) = performance(&[100.0, 110.0, 99.0, 121.0]);
        assert!((r.unwrap() - 21.0).abs() < 1e-9);
        assert!((m.unwrap() - -10.0).abs() < 1e-9);
        assert!(v.unwrap() > 0.0);
        assert_eq!(performance(&[100.0]), (None, None, None));
    }

    #[test]
    fn technicals_on_a_rising_series() {
        let bars: Vec<Bar> = (0..260)
            .map(|i| {
                let c = 100.0 + i as f64 * 0.5;
                Bar {
                    time: i as i64 * 86_400,
                    open: c - 0.2,
                    high: c + 1.0,
                    low: c - 1.0,
                    close: c,
                    volume: 1000.0,
                    wap: c,
                    count: 1,
                }
            })
            .collect();
        let (t, m, v, l) = compute_technicals(&bars);
        // SMA 20 of the last 20 closes: mean of 219.5..229.5 step 0.5 = 224.75.
        assert!((t.sma20.unwrap() - 224.75).abs() < 1e-9);
        assert!(t.sma50.unwrap() > t.sma200.unwrap());
        assert!(m.rsi14.unwrap() > 70.0);
        assert!(m.macd_histogram.is_some());
        assert!(v.atr14.unwrap() > 0.0);
        assert_eq!(l.high_52w, Some(230.5));
        let s = signals(Some(229.5), &t, &m, &v);
        assert!(s.iter().any(|x| x.contains("golden-cross")));
        assert!(s.iter().any(|x| x.contains("overbought")));
    }
}
