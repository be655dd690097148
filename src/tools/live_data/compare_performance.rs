//! `ibkr_compare_performance`: 2–8 symbols ranked by return over a lookback, with volatility,
//! max drawdown and return/volatility.

use crate::gateway::BarSpec;
use crate::store::Staleness;
use crate::tools::format::{self as f, Align};
use crate::tools::market_data::lookup::bars_with_cache;
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

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

/// One unranked row from a symbol's daily closes.
fn perf_row(symbol: &str, closes: &[f64]) -> PerfRow {
    let (ret, vol, mdd) = performance(closes);
    PerfRow {
        rank: 0,
        symbol: symbol.to_string(),
        return_pct: ret.map(|x| f::round(x, 4)),
        volatility_pct: vol.map(|x| f::round(x, 4)),
        max_drawdown_pct: mdd.map(|x| f::round(x, 4)),
        return_to_vol: match (ret, vol) {
            (Some(r), Some(v)) if v > 0.0 => Some(f::round(r / v, 4)),
            _ => None,
        },
        days: closes.len().saturating_sub(1),
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
    const GROUP: &'static str = "live_data";
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
            rows.push(perf_row(s, &closes));
        }
        let spread = rank(&mut rows);
        let out = CompareOut {
            meta: support::meta(now, stale.as_ref()),
            duration: p.duration,
            ranking: rows,
            spread_pct: spread,
        };
        Ok(Answer {
            markdown: render(&out),
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
    md.push_str("\n_Daily closes; volatility annualised with √252._\n");
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn performance_numbers() {
        let (r, v, m) = performance(&[100.0, 110.0, 99.0, 121.0]);
        assert!((r.unwrap() - 21.0).abs() < 1e-9);
        assert!((m.unwrap() - -10.0).abs() < 1e-9);
        assert!(v.unwrap() > 0.0);
        assert_eq!(performance(&[100.0]), (None, None, None));
    }

    #[test]
    fn render_compare_performance() {
        let mut rows = vec![
            perf_row("KRYX", &[56.0, 55.1, 57.3, 54.2, 54.18]),
            perf_row("VLTX", &[20.0, 20.4, 20.9, 21.2, 21.4]),
            perf_row("OMRA", &[8.3]),
        ];
        let spread = rank(&mut rows);
        let out = CompareOut {
            meta: support::meta(1_777_828_664_000, None),
            duration: PerfDuration::Days5,
            ranking: rows,
            spread_pct: spread,
        };
        insta::assert_snapshot!("render_compare_performance", render(&out));
    }
}
