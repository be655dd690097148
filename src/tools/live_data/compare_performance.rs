//! `ibkr_compare_performance`: 2–8 symbols ranked by return over a lookback, with volatility,
//! max drawdown and return/volatility.

use crate::analytics::{performance, windows};
use crate::gateway::BarSpec;
use crate::model::Bar;
use crate::store::Staleness;
use crate::tools::format::{self as f, Align};
use crate::tools::market_data::lookup::bars_with_cache;
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use time::Date;

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
    /// IB duration string to request. YTD asks for one year (two late in December, so the last
    /// close of the previous year is inside whatever holidays fall around it); the window is then
    /// cut by date.
    fn ib(self, today: Date) -> String {
        match self {
            PerfDuration::Ytd if today.ordinal() > 350 => "2 Y".into(),
            PerfDuration::Ytd => "1 Y".into(),
            // One extra session so "5 D" holds five daily returns.
            PerfDuration::Days5 => "6 D".into(),
            other => other.label().into(),
        }
    }
    /// What the window is, in words.
    fn window_words(self) -> &'static str {
        match self {
            PerfDuration::Days5 => "the last 5 sessions",
            PerfDuration::Month1 => "IB's 1-month calendar duration",
            PerfDuration::Month3 => "IB's 3-month calendar duration",
            PerfDuration::Month6 => "IB's 6-month calendar duration",
            PerfDuration::Year1 => "IB's 1-year calendar duration",
            PerfDuration::Ytd => "year to date: from the last close of the previous year",
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
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub return_pct: Option<f64>,
    /// Annualised volatility of daily returns, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub volatility_pct: Option<f64>,
    /// Worst peak-to-trough fall of the closes, percent (≤ 0).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub max_drawdown_pct: Option<f64>,
    /// Return / volatility.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub return_to_vol: Option<f64>,
    /// Daily returns in the window.
    pub days: usize,
    /// Date of the anchor close the return is measured from.
    pub start_date: Option<String>,
    /// Date of the last close.
    pub end_date: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompareOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub duration: PerfDuration,
    /// The window and how every number is computed.
    pub method: String,
    /// Best first.
    pub ranking: Vec<PerfRow>,
    /// Best return − worst return, percentage points.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub spread_pct: Option<f64>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

/// One unranked row from a symbol's daily bars over the window (anchor close first).
fn perf_row(symbol: &str, bars: &[Bar]) -> PerfRow {
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let p = performance::performance(&closes);
    let pct = |x: f64| f::round(x * 100.0, 4);
    let date = |b: Option<&Bar>| b.and_then(windows::bar_date).map(|d| d.to_string());
    PerfRow {
        rank: 0,
        symbol: symbol.to_string(),
        return_pct: p.map(|p| pct(p.total_return)),
        volatility_pct: p.and_then(|p| p.volatility).map(pct),
        max_drawdown_pct: p.map(|p| pct(p.max_drawdown)),
        return_to_vol: p
            .and_then(|p| p.return_to_volatility)
            .map(|x| f::round(x, 4)),
        days: p.map_or(0, |p| p.daily_returns),
        start_date: date(bars.first()),
        end_date: date(bars.last()),
    }
}

/// Sorts best return first (unknown returns last, ties by symbol) and numbers the ranks;
/// returns the best − worst spread.
fn rank(rows: &mut [PerfRow]) -> Option<f64> {
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
    if known.len() >= 2 {
        Some(f::round(
            known.iter().copied().fold(f64::MIN, f64::max)
                - known.iter().copied().fold(f64::MAX, f64::min),
            4,
        ))
    } else {
        None
    }
}

pub struct ComparePerformance;

impl Tool for ComparePerformance {
    const NAME: &'static str = "ibkr_compare_performance";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Relative performance of 2–8 symbols over 5 D / 1 M / 3 M / 6 M / 1 Y / YTD: return, volatility, max drawdown, return/vol, ranked.";
    type Params = CompareParams;
    type Output = CompareOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

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
        let today = windows::date_of_day(now.div_euclid(86_400_000))
            .ok_or_else(|| ToolError::new(format!("{}: the clock is out of range", Self::NAME)))?;
        let duration = p.duration.ib(today);
        let mut rows = Vec::with_capacity(symbols.len());
        let mut stale: Option<Staleness> = None;
        for s in &symbols {
            let (bars, st) =
                bars_with_cache(ctx, Self::NAME, &BarSpec::daily(s, &duration)).await?;
            if st.is_some() {
                stale = st;
            }
            let window: &[Bar] = match p.duration {
                PerfDuration::Ytd => windows::year_to_date(&bars, today).unwrap_or_default(),
                _ => &bars,
            };
            rows.push(perf_row(s, window));
        }
        let spread = rank(&mut rows);
        let mut out = CompareOut {
            warnings: Vec::new(),
            meta: support::meta(now, stale.as_ref()),
            duration: p.duration,
            method: format!(
                "window: {}; {}",
                p.duration.window_words(),
                performance::METHOD
            ),
            ranking: rows,
            spread_pct: spread,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &CompareOut) -> String {
    let rows = &out.ranking;
    let mut md = out.meta.header(&format!(
        "Performance Comparison ({})",
        out.duration.label()
    ));
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
            out.spread_pct
                .map_or_else(|| f::NA.to_string(), |s| format!("{s:.2} pp")),
            best.symbol,
            worst.symbol
        );
    }
    let dates: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{} {} to {}",
                r.symbol,
                r.start_date.as_ref()?,
                r.end_date.as_ref()?
            ))
        })
        .collect();
    if !dates.is_empty() {
        let _ = writeln!(md, "\n**Closes used**: {}", dates.join("; "));
    }
    md.push_str(&f::method_line(&out.method));
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &CompareOut) -> String {
    use crate::tools::format as f;
    let best = out
        .ranking
        .first()
        .map(|r| format!("best {} {}", r.symbol, f::pct(r.return_pct)))
        .unwrap_or_default();
    let worst = out
        .ranking
        .last()
        .filter(|_| out.ranking.len() > 1)
        .map(|r| format!("worst {} {}", r.symbol, f::pct(r.return_pct)))
        .unwrap_or_default();
    f::headline(&[
        out.duration.label().to_string(),
        best,
        worst,
        format!("spread {}", f::pct_plain(out.spread_pct, 2)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_compare_performance() {
        // Sessions of 2026-04-24 … 2026-05-01 (a weekend in between).
        let bars = |closes: &[f64]| -> Vec<Bar> {
            [20_567, 20_570, 20_571, 20_572, 20_573, 20_574]
                .iter()
                .zip(closes)
                .map(|(day, close)| Bar {
                    time: day * 86_400,
                    close: *close,
                    ..Bar::default()
                })
                .collect()
        };
        let mut rows = vec![
            perf_row("KRYX", &bars(&[56.0, 55.1, 57.3, 54.2, 54.18, 54.9])),
            perf_row("VLTX", &bars(&[20.0, 20.4, 20.9, 21.2, 21.4, 21.5])),
            perf_row("OMRA", &bars(&[8.3])),
        ];
        let spread = rank(&mut rows);
        let out = CompareOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            duration: PerfDuration::Days5,
            method: format!(
                "window: {}; {}",
                PerfDuration::Days5.window_words(),
                performance::METHOD
            ),
            ranking: rows,
            spread_pct: spread,
        };
        insta::assert_snapshot!("render_compare_performance", render(&out));
        insta::assert_snapshot!("headline_compare_performance", [headline(&out)].join("\n"));
    }
}
