//! `ibkr_volatility`: realized volatility over 10/20/60 sessions, IB's historical and implied
//! volatility series over one year, IV rank and IV percentile, and IB's current HV/IV ticks, for
//! held or named stocks.

use crate::gateway::{BarSpec, ContractQuery, GatewayError, ResearchSeries, ResearchTicks};
use crate::model::{Bar, ToolGroup};
use crate::tools::format::{self as f, Align};
use crate::tools::market_data::held::{self, Target};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const MAX_SYMBOLS: usize = 8;
/// Symbols read at once: each needs three paced historical requests.
const CONCURRENCY: usize = 2;
/// Realized-volatility windows, in sessions.
pub const WINDOWS: [usize; 3] = [10, 20, 60];
const TRADING_DAYS: f64 = 252.0;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VolatilityParams {
    /// Up to 8 stock symbols (JSON array or "KRYX,VLTX"). Default: the largest held stocks (up to 8).
    #[schemars(length(max = 8))]
    pub symbols: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct VolRow {
    pub symbol: String,
    /// Realized volatility over the last 10 / 20 / 60 sessions, annualized percent.
    pub realized_10d_pct: Option<f64>,
    pub realized_20d_pct: Option<f64>,
    pub realized_60d_pct: Option<f64>,
    /// IB's HISTORICAL_VOLATILITY, last daily bar, annualized percent.
    pub ib_hv_pct: Option<f64>,
    /// IB's OPTION_IMPLIED_VOLATILITY, last daily bar, annualized percent.
    pub ib_iv_pct: Option<f64>,
    /// One-year low and high of the implied-volatility bars, percent.
    pub iv_low_1y_pct: Option<f64>,
    pub iv_high_1y_pct: Option<f64>,
    /// (IV − 1y low) ÷ (1y high − 1y low) × 100.
    pub iv_rank: Option<f64>,
    /// Share of the year's IV bars below the current IV, percent.
    pub iv_percentile: Option<f64>,
    /// IB's current ticks: 104 (tick 23, historical) and 106 (tick 24, implied), percent.
    pub hv_tick_pct: Option<f64>,
    pub iv_tick_pct: Option<f64>,
    /// Implied-volatility bars the rank and percentile use.
    pub iv_bars: usize,
    /// Last session of the daily closes used, `YYYY-MM-DD`.
    pub last_session: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VolatilityOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub rows: Vec<VolRow>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct Volatility;

/// Annualized sample standard deviation of the last `n` close-to-close log returns, percent;
/// `None` with fewer than `n + 1` closes.
pub fn realized_vol_pct(closes: &[f64], n: usize) -> Option<f64> {
    if n < 2 || closes.len() < n + 1 {
        return None;
    }
    let tail = &closes[closes.len() - n - 1..];
    let rets: Vec<f64> = tail
        .windows(2)
        .filter(|w| w[0] > 0.0 && w[1] > 0.0)
        .map(|w| (w[1] / w[0]).ln())
        .collect();
    if rets.len() < n {
        return None;
    }
    let mean = rets.iter().sum::<f64>() / rets.len() as f64;
    let var = rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (rets.len() as f64 - 1.0);
    Some((var * TRADING_DAYS).sqrt() * 100.0)
}

/// IV rank and IV percentile of the last value of `iv` within the series.
pub fn iv_rank_percentile(iv: &[f64]) -> (Option<f64>, Option<f64>) {
    let Some(&now) = iv.last() else {
        return (None, None);
    };
    let lo = iv.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = iv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let rank = (hi > lo).then(|| (now - lo) / (hi - lo) * 100.0);
    let below = iv.iter().filter(|v| **v < now).count();
    let pct = (iv.len() > 1).then(|| below as f64 / iv.len() as f64 * 100.0);
    (rank, pct)
}

fn pct_of(v: Option<f64>) -> Option<f64> {
    v.map(|x| f::round(x * 100.0, 2))
}

fn ticks_done(t: &ResearchTicks) -> bool {
    t.hv.is_some() && t.iv.is_some()
}

/// The row from the daily closes, the two IB series and the ticks.
pub fn build_row(
    symbol: &str,
    daily: &[Bar],
    hv: &[Bar],
    iv: &[Bar],
    ticks: &ResearchTicks,
) -> VolRow {
    let closes: Vec<f64> = daily.iter().map(|b| b.close).collect();
    let iv_values: Vec<f64> = iv.iter().map(|b| b.close).filter(|v| *v > 0.0).collect();
    let (rank, percentile) = iv_rank_percentile(&iv_values);
    let realized = |n| realized_vol_pct(&closes, n).map(|v| f::round(v, 2));
    VolRow {
        symbol: symbol.to_string(),
        realized_10d_pct: realized(WINDOWS[0]),
        realized_20d_pct: realized(WINDOWS[1]),
        realized_60d_pct: realized(WINDOWS[2]),
        ib_hv_pct: pct_of(hv.last().map(|b| b.close)),
        ib_iv_pct: pct_of(iv_values.last().copied()),
        iv_low_1y_pct: pct_of(iv_values.iter().copied().reduce(f64::min)),
        iv_high_1y_pct: pct_of(iv_values.iter().copied().reduce(f64::max)),
        iv_rank: rank.map(|r| f::round(r, 1)),
        iv_percentile: percentile.map(|p| f::round(p, 1)),
        hv_tick_pct: pct_of(ticks.hv),
        iv_tick_pct: pct_of(ticks.iv),
        iv_bars: iv_values.len(),
        last_session: daily.last().map(|b| f::date(b.time)),
    }
}

async fn read_one(
    ctx: &ToolContext,
    symbol: String,
) -> (String, Result<VolRow, GatewayError>, Vec<String>) {
    let Ok(req) = ctx.requests() else {
        let e = GatewayError::NotConnected("no gateway in this process".into());
        return (symbol, Err(e), Vec::new());
    };
    let daily = match req.historical_bars(&BarSpec::daily(&symbol, "1 Y")).await {
        Ok(b) => b,
        Err(e) => return (symbol, Err(e), Vec::new()),
    };
    let mut notes = Vec::new();
    let mut series = |r: Result<Vec<Bar>, GatewayError>, name: &str| match r {
        Ok(b) => b,
        Err(e) => {
            notes.push(format!("{symbol}: {name}: {e}"));
            Vec::new()
        }
    };
    let hv = series(
        req.research_bars(&symbol, ResearchSeries::HistoricalVolatility, "1 Y")
            .await,
        "HISTORICAL_VOLATILITY",
    );
    let iv = series(
        req.research_bars(&symbol, ResearchSeries::ImpliedVolatility, "1 Y")
            .await,
        "OPTION_IMPLIED_VOLATILITY",
    );
    let query = ContractQuery {
        symbol: symbol.clone(),
        ..Default::default()
    };
    let ticks = match req
        .research_ticks(&query, &["104", "106"], ticks_done)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            notes.push(format!("{symbol}: ticks 104/106: {e}"));
            ResearchTicks::default()
        }
    };
    let row = build_row(&symbol, &daily, &hv, &iv, &ticks);
    (symbol, Ok(row), notes)
}

impl Tool for Volatility {
    const NAME: &'static str = "ibkr_volatility";
    const GROUP: ToolGroup = ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Volatility of held (default) or named stocks: realized 10/20/60-session (log returns, sample σ, ×√252), IB's historical and implied volatility (1 year of daily bars), IV rank and IV percentile, and IB's current HV/IV ticks; all annualized percent.";
    type Params = VolatilityParams;
    type Output = VolatilityOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: VolatilityParams,
    ) -> Result<Answer<VolatilityOut>, ToolError> {
        let now = ctx.now();
        let targets: Vec<Target> =
            held::targets(ctx, Self::NAME, p.symbols.as_deref(), MAX_SYMBOLS)?;
        ctx.requests()?;
        let named_one = p.symbols.as_ref().is_some_and(|s| s.len() == 1);
        let symbols: Vec<String> = targets.iter().map(|t| t.symbol.clone()).collect();
        let results: Vec<_> = futures::stream::iter(symbols)
            .map(|s| read_one(ctx, s))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut out = VolatilityOut {
            meta: support::meta(now, None),
            rows: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            method: format!(
                "Realized volatility: close-to-close log returns of 1 year of daily TRADES bars, sample standard deviation (n − 1) over the last 10, 20 and 60 returns, × √252, in percent. IB series: 1 year of daily HISTORICAL_VOLATILITY and OPTION_IMPLIED_VOLATILITY bars (IB's 30-day measures, annualized), the last bar shown. IV rank = (current IV − 1y low) ÷ (1y high − 1y low) × 100; IV percentile = share of the year's IV bars below the current IV × 100; both over the IV bars received (iv_bars). Current ticks: generic 104 (tick 23) and 106 (tick 24). Windows used: {:?} sessions.",
                WINDOWS
            ),
        };
        for (sym, r, notes) in results {
            match r {
                Ok(row) => {
                    if row.realized_60d_pct.is_none() {
                        out.warnings.push(format!(
                            "{sym}: fewer than 61 daily closes, so the 60-session realized volatility is missing."
                        ));
                    }
                    if row.iv_bars > 0 && row.iv_bars < 200 {
                        out.warnings.push(format!(
                            "{sym}: IV rank and percentile use only {} days of implied volatility.",
                            row.iv_bars
                        ));
                    }
                    out.rows.push(row);
                }
                Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. }))
                    if named_one =>
                {
                    return Err(ToolError::new(format!(
                        "{}: unknown symbol `{sym}` ({e}).",
                        Self::NAME
                    )));
                }
                Err(e) => out.errors.push(format!("{sym}: {e}")),
            }
            out.errors.extend(notes);
        }
        if !out.errors.is_empty() {
            out.warnings.push(format!(
                "{} request(s) failed; see errors.",
                out.errors.len()
            ));
        }
        if targets.is_empty() {
            out.warnings
                .push("No held stocks and no `symbols` named: nothing to read.".into());
        }
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

pub fn headline(out: &VolatilityOut) -> String {
    match out.rows.as_slice() {
        [] => "No volatility read".into(),
        [r] => format!(
            "{} RV20 {} · IV {} · IV rank {} · IV pctl {}",
            r.symbol,
            f::pct_plain(r.realized_20d_pct, 2),
            f::pct_plain(r.ib_iv_pct, 2),
            f::number(r.iv_rank, 0),
            f::number(r.iv_percentile, 0)
        ),
        rows => {
            let top = rows.iter().max_by(|a, b| {
                a.realized_20d_pct
                    .unwrap_or(0.0)
                    .total_cmp(&b.realized_20d_pct.unwrap_or(0.0))
            });
            match top {
                Some(r) => format!(
                    "{} stocks · most volatile {} RV20 {}",
                    rows.len(),
                    r.symbol,
                    f::pct_plain(r.realized_20d_pct, 2)
                ),
                None => format!("{} stocks", rows.len()),
            }
        }
    }
}

pub fn render(out: &VolatilityOut) -> String {
    let mut md = out.meta.header("Volatility");
    md.push('\n');
    if out.rows.is_empty() {
        md.push_str("No volatility could be read.\n");
    } else {
        let p = |v: Option<f64>| f::pct_plain(v, 2);
        let table: Vec<Vec<String>> = out
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    p(r.realized_10d_pct),
                    p(r.realized_20d_pct),
                    p(r.realized_60d_pct),
                    p(r.ib_hv_pct),
                    p(r.ib_iv_pct),
                    format!("{} – {}", p(r.iv_low_1y_pct), p(r.iv_high_1y_pct)),
                    f::number(r.iv_rank, 1),
                    f::number(r.iv_percentile, 1),
                    format!("{} / {}", p(r.hv_tick_pct), p(r.iv_tick_pct)),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Symbol",
                "RV 10d",
                "RV 20d",
                "RV 60d",
                "IB HV",
                "IB IV",
                "IV 1y Range",
                "IV Rank",
                "IV Pctl",
                "Ticks HV / IV",
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
                Align::Right,
            ],
            &table,
        ));
    }
    f::push_warnings_errors_method(&mut md, &out.warnings, &out.errors, &out.method);
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realized_vol_is_sample_sigma_annualized() {
        // Alternating ±1% log returns: sample σ of [+a, −a, +a, −a] around 0 mean.
        let a = 0.01f64;
        let mut closes = vec![100.0];
        for i in 0..10 {
            let last = *closes.last().unwrap();
            closes.push(last * if i % 2 == 0 { a.exp() } else { (-a).exp() });
        }
        let n = 10.0;
        let expected = (a * a * n / (n - 1.0) * 252.0).sqrt() * 100.0;
        let got = realized_vol_pct(&closes, 10).unwrap();
        assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");
        assert_eq!(realized_vol_pct(&closes, 20), None);
    }

    #[test]
    fn iv_rank_and_percentile() {
        let (rank, pct) = iv_rank_percentile(&[0.2, 0.4, 0.3, 0.25]);
        assert!((rank.unwrap() - 25.0).abs() < 1e-9);
        assert!((pct.unwrap() - 25.0).abs() < 1e-9);
        assert_eq!(iv_rank_percentile(&[]), (None, None));
        assert_eq!(iv_rank_percentile(&[0.3, 0.3]).0, None);
    }

    #[test]
    fn render_volatility() {
        let out = VolatilityOut {
            meta: Meta::fresh("2026-12-01 14:30:00 UTC"),
            rows: vec![VolRow {
                symbol: "KRYX".into(),
                realized_10d_pct: Some(41.22),
                realized_20d_pct: Some(45.87),
                realized_60d_pct: Some(47.3),
                ib_hv_pct: Some(45.87),
                ib_iv_pct: Some(52.46),
                iv_low_1y_pct: Some(38.1),
                iv_high_1y_pct: Some(66.9),
                iv_rank: Some(49.9),
                iv_percentile: Some(55.2),
                hv_tick_pct: Some(43.73),
                iv_tick_pct: Some(46.03),
                iv_bars: 231,
                last_session: Some("2026-11-30".into()),
            }],
            errors: vec![],
            warnings: vec![],
            method: "Close-to-close log returns.".into(),
        };
        assert_eq!(
            headline(&out),
            "KRYX RV20 45.87% · IV 52.46% · IV rank 50 · IV pctl 55"
        );
        insta::assert_snapshot!("render_volatility", render(&out));
        insta::assert_snapshot!("headline_volatility", headline(&out));
    }
}
