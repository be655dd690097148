//! `ibkr_get_historical_bars`: OHLCV bars with a period summary (high, low, close-to-close
//! return, volume).

use super::lookup::bars_with_cache;
use crate::analytics::returns;
use crate::gateway::BarSpec;
use crate::model::{Bar, BarSize, WhatToShow};
use crate::tools::format as f;
use crate::tools::params::values::ib_duration;
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

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
    /// Data type (default `TRADES`; for FX pairs, `sec_type` CASH, `TRADES` is read as
    /// `MIDPOINT`: IB keeps no trades for currencies).
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
/// Bars shown in the markdown table (the JSON has them all).
const SHOWN: usize = 15;

/// Refuses a bar size longer than the duration, or a combination IB would answer with more
/// than `MAX_BARS` bars.
fn check_bar_count(tool: &str, p: &BarsParams, duration: &str, days: f64) -> Result<(), ToolError> {
    let bar_s = p.bar_size.seconds() as f64;
    let session_s = if p.bar_size.is_intraday() {
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
            "{tool}: a `{}` bar is longer than the `{duration}` duration; use a smaller bar_size or a longer duration",
            p.bar_size.ib()
        )));
    }
    if bars_est > MAX_BARS {
        return Err(ToolError::new(format!(
            "{tool}: `{}` bars over `{duration}` would be about {} bars (at most {} per request); use a larger bar_size or a shorter duration",
            p.bar_size.ib(),
            bars_est.round(),
            MAX_BARS
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BarOut {
    /// `YYYY-MM-DD` for daily and longer bars, `YYYY-MM-DD HH:MM` (UTC) for intraday.
    pub time: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub open: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub low: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub close: f64,
    #[serde(serialize_with = "crate::tools::format::dp0")]
    pub volume: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BarsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    pub duration: String,
    pub bar_size: BarSize,
    pub what_to_show: WhatToShow,
    pub use_rth: bool,
    pub bar_count: usize,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub period_high: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub period_low: Option<f64>,
    /// Close-to-close simple return from the first bar's close to the last bar's close, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub return_pct: Option<f64>,
    /// How `return_pct` and the other figures are computed: return basis, the bars and dates used.
    pub method: String,
    #[serde(serialize_with = "crate::tools::format::dp0")]
    pub average_volume: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub first_close: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub last_close: Option<f64>,
    pub bars: Vec<BarOut>,
    /// Currency the prices are in (the request's).
    #[serde(skip)]
    pub currency: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct HistoricalBars;

impl Tool for HistoricalBars {
    const NAME: &'static str = "ibkr_get_historical_bars";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Historical OHLCV bars (duration, bar size, data type, RTH) with a period summary: high, low, return, average volume.";
    type Params = BarsParams;
    type Output = BarsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: BarsParams) -> Result<Answer<BarsOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let (duration, days) = ib_duration(Self::NAME, &p.duration)?;
        check_bar_count(Self::NAME, &p, &duration, days)?;
        let upper_or = |o: &Option<String>, default: &str| {
            o.as_deref()
                .map_or(default.to_string(), str::to_ascii_uppercase)
        };
        let sec_type = upper_or(&p.sec_type, "STK");
        let what_to_show = fx_safe_what_to_show(&sec_type, p.what_to_show);
        let spec = BarSpec {
            symbol: symbol.clone(),
            sec_type,
            exchange: upper_or(&p.exchange, "SMART"),
            currency: upper_or(&p.currency, "USD"),
            duration: duration.clone(),
            bar_size: p.bar_size,
            what_to_show,
            use_rth: p.use_rth,
        };
        let (bars, stale) = bars_with_cache(ctx, Self::NAME, &spec).await?;
        let mut out = summarise(&spec, &bars, support::meta(ctx.now(), stale.as_ref()));
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// IDEALPRO publishes no trades, and IB answers FX `TRADES` (and `ADJUSTED_LAST`) history with
/// error 162; the midpoint is the price a currency pair's bars are made of.
fn fx_safe_what_to_show(sec_type: &str, what: WhatToShow) -> WhatToShow {
    if sec_type == "CASH" && matches!(what, WhatToShow::Trades | WhatToShow::AdjustedLast) {
        WhatToShow::Midpoint
    } else {
        what
    }
}

/// The answer's numbers: every bar plus the period's high, low, return and average volume.
fn summarise(spec: &BarSpec, bars: &[Bar], meta: Meta) -> BarsOut {
    let fmt_time = |t: i64| {
        if spec.bar_size.is_intraday() {
            f::date_time(t)
        } else {
            f::date(t)
        }
    };
    let first = bars.first();
    let last = bars.last();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let return_pct = returns::period_return(&closes).map(|r| f::round(r * 100.0, 4));
    let average_volume = if bars.is_empty() {
        None
    } else {
        Some(f::round(
            bars.iter().map(|b| b.volume).sum::<f64>() / bars.len() as f64,
            2,
        ))
    };
    BarsOut {
        warnings: Vec::new(),
        meta,
        symbol: spec.symbol.clone(),
        duration: spec.duration.clone(),
        bar_size: spec.bar_size,
        what_to_show: spec.what_to_show,
        use_rth: spec.use_rth,
        bar_count: bars.len(),
        period_high: f::json_num(bars.iter().map(|b| b.high).reduce(f64::max)),
        period_low: f::json_num(bars.iter().map(|b| b.low).reduce(f64::min)),
        return_pct,
        method: format!(
            "return = {} from the first bar's close ({}) to the last bar's close ({}), {} bars; high/low = extremes of the bars' highs and lows; average volume = mean bar volume",
            returns::RETURN_BASIS,
            first.map_or(f::NA.to_string(), |b| fmt_time(b.time)),
            last.map_or(f::NA.to_string(), |b| fmt_time(b.time)),
            bars.len()
        ),
        average_volume,
        first_close: first.map(|b| b.close),
        last_close: last.map(|b| b.close),
        bars: bars
            .iter()
            .map(|b| BarOut {
                time: fmt_time(b.time),
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            })
            .collect(),
        currency: spec.currency.clone(),
    }
}

pub fn render(out: &BarsOut) -> String {
    let ccy = out.currency.as_str();
    let mut md = out.meta.header(&format!(
        "Historical Bars: {} ({}, {})",
        out.symbol,
        out.duration,
        out.bar_size.ib()
    ));
    md.push('\n');
    md.push_str(&f::kv_table(&[
        ("Period High", f::money(out.period_high, ccy)),
        ("Period Low", f::money(out.period_low, ccy)),
        ("Return (close-to-close)", f::pct(out.return_pct)),
        (
            "Average Volume",
            f::volume(out.average_volume.map(f64::round)),
        ),
        ("Bars", out.bar_count.to_string()),
        (
            "Data",
            format!(
                "{}{}",
                out.what_to_show.ib(),
                if out.use_rth {
                    ", regular hours"
                } else {
                    ", incl. extended hours"
                }
            ),
        ),
    ]));
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
    md.push_str(&f::method_line(&out.method));
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &BarsOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!("{} {}: {} bars", out.symbol, out.duration, out.bar_count),
        format!("return {} close-to-close", f::pct(out.return_pct)),
        format!(
            "range {}–{} {}",
            f::number(out.period_low, 2),
            f::number(out.period_high, 2),
            out.currency
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fx_pairs_never_ask_for_trades() {
        assert_eq!(
            fx_safe_what_to_show("CASH", WhatToShow::Trades),
            WhatToShow::Midpoint
        );
        assert_eq!(
            fx_safe_what_to_show("CASH", WhatToShow::Bid),
            WhatToShow::Bid
        );
        assert_eq!(
            fx_safe_what_to_show("STK", WhatToShow::Trades),
            WhatToShow::Trades
        );
    }

    #[test]
    fn render_get_historical_bars() {
        let day0 = 1_776_124_800; // 2026-04-14 00:00 UTC
        let bars: Vec<Bar> = (0..18)
            .map(|i| {
                let c = 52.0 + (i as f64 * 0.7).sin() * 2.0;
                Bar {
                    time: day0 + i * 86_400,
                    open: c - 0.3,
                    high: c + 0.8,
                    low: c - 0.9,
                    close: c,
                    volume: 1_500_000.0 + i as f64 * 10_000.0,
                    wap: c,
                    count: 100,
                }
            })
            .collect();
        let spec = BarSpec::daily("KRYX", "30 D");
        let out = summarise(&spec, &bars, support::meta(1_777_828_664_000, None));
        let stale = crate::store::Staleness {
            age_ms: 312_000,
            reason: "bars from the local cache; gateway not connected".into(),
        };
        let empty = summarise(
            &BarSpec {
                bar_size: BarSize::Min5,
                use_rth: false,
                ..BarSpec::daily("VLTX", "1 D")
            },
            &[],
            support::meta(1_777_828_664_000, Some(&stale)),
        );
        insta::assert_snapshot!(
            "render_get_historical_bars",
            format!("{}\n---\n\n{}", render(&out), render(&empty))
        );
        insta::assert_snapshot!(
            "headline_get_historical_bars",
            [headline(&out), headline(&empty)].join("\n")
        );
    }
}
