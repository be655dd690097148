//! `ibkr_portfolio_beta`: per-position OLS beta against a benchmark, the weighted portfolio beta
//! and the beta-adjusted exposure in base currency.

use super::{TABLE_ROWS, date_of_day, footer, held_items, window_words};
use crate::analytics::beta;
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book, History, Missing};
use crate::tools::support::{self, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BetaParams {
    /// Benchmark symbol (default SPY).
    pub benchmark: Option<String>,
    /// Daily returns to use (20–756; default 60).
    #[schemars(range(min = 20, max = 756))]
    pub lookback_days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BetaRow {
    pub symbol: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub beta: Option<f64>,
    /// Signed market value, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub value_base: Option<f64>,
    /// Percent of gross position value (base currency).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub weight_pct: Option<f64>,
    /// value × beta, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub beta_adjusted_exposure: Option<f64>,
    pub delayed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BetaOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub benchmark: String,
    pub method: String,
    pub lookback_days: u32,
    pub data_points: usize,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// Σ wᵢβᵢ with gross weights over positions that have a beta.
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub portfolio_beta: Option<f64>,
    /// Σ valueᵢβᵢ, base currency: the benchmark exposure the book behaves like.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub beta_adjusted_exposure: Option<f64>,
    /// Beta-adjusted exposure as a percent of NLV.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub beta_adjusted_pct_of_nlv: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    pub positions: Vec<BetaRow>,
    pub missing: Vec<Missing>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct PortfolioBeta;

/// Daily closes of the benchmark (first series) and of every other holding.
async fn histories(
    ctx: &ToolContext,
    tool: &str,
    book: &Book,
    benchmark: &str,
    lookback: usize,
) -> Result<History, ToolError> {
    let bench_hist =
        risk_data::history(ctx, &[(benchmark.to_string(), "USD".into())], lookback).await;
    if bench_hist.series.is_empty() {
        let unknown = bench_hist
            .missing
            .iter()
            .any(|m| m.reason.starts_with("unknown symbol"));
        return Err(ToolError::new(format!(
            "{tool}: no daily history for the benchmark {}.{}",
            risk_data::missing_words(&bench_hist.missing, 1),
            if unknown {
                " Try a benchmark IB knows, such as SPY or QQQ."
            } else {
                ""
            }
        )));
    }
    let items: Vec<(String, String)> = held_items(book)
        .into_iter()
        .filter(|(s, _)| s != benchmark)
        .collect();
    let hist = risk_data::history(ctx, &items, lookback).await;
    let mut all = History {
        series: bench_hist.series.clone(),
        missing: hist.missing.clone(),
        stale: risk_data::worst_stale(bench_hist.stale.clone(), hist.stale.clone()),
    };
    all.series.extend(hist.series.iter().cloned());
    Ok(all)
}

/// One row per holding, weighted by its share of the gross value.
fn beta_rows(book: &Book, betas: &HashMap<String, f64>) -> Vec<BetaRow> {
    let gross = book.gross_base();
    book.holdings
        .iter()
        .map(|h| {
            let b = betas.get(&h.symbol).copied().filter(|b| b.is_finite());
            BetaRow {
                symbol: h.symbol.clone(),
                beta: b.map(|x| f::round(x, 4)),
                value_base: h.value_base.map(|v| f::round(v, 2)),
                weight_pct: h
                    .value_base
                    .filter(|_| gross > 0.0)
                    .map(|v| f::round(v.abs() / gross * 100.0, 4)),
                beta_adjusted_exposure: h.value_base.zip(b).map(|(v, b)| f::round(v * b, 2)),
                delayed: h.delayed,
            }
        })
        .collect()
}

impl Tool for PortfolioBeta {
    const NAME: &'static str = "ibkr_portfolio_beta";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Per-position beta against a benchmark (default SPY), the weighted portfolio beta and the beta-adjusted exposure in base currency.";
    type Params = BetaParams;
    type Output = BetaOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: BetaParams) -> Result<Answer<BetaOut>, ToolError> {
        let lookback = p.lookback_days.unwrap_or(60);
        let benchmark = support::symbol(Self::NAME, p.benchmark.as_deref().unwrap_or("SPY"))?;
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        if book.holdings.is_empty() {
            return Err(ToolError::new(format!(
                "{}: the account {} holds no positions, so there is no beta to compute.",
                Self::NAME,
                book.account_label
            )));
        }
        let all = histories(ctx, Self::NAME, &book, &benchmark, lookback as usize).await?;
        let r = risk_data::aligned_returns(Self::NAME, &all, lookback as usize)?;
        let points = r.dates.len();
        if points < 2 {
            return Err(ToolError::new(format!(
                "{}: the holdings and {benchmark} share only {points} daily return(s); at least two are needed.",
                Self::NAME
            )));
        }
        let bench = &r.returns[0];
        let mut betas: HashMap<String, f64> = HashMap::new();
        for (s, ret) in r.symbols.iter().zip(&r.returns).skip(1) {
            if let Ok(b) = beta::beta(ret, bench) {
                betas.insert(s.clone(), b);
            }
        }
        // The benchmark held as a position has a beta of exactly 1.
        betas.insert(benchmark.clone(), 1.0);
        let inputs: Vec<(f64, f64)> = book
            .holdings
            .iter()
            .map(|h| {
                (
                    h.value_base.unwrap_or(f64::NAN),
                    betas.get(&h.symbol).copied().unwrap_or(f64::NAN),
                )
            })
            .collect();
        let pb = beta::portfolio_beta(&inputs);
        let nlv = book.nlv();
        let stale = risk_data::worst_stale(view.stale.clone(), all.stale.clone());
        let exposure =
            f::json_num(Some(pb.beta_adjusted_exposure)).filter(|_| pb.gross_value > 0.0);
        let mut out = BetaOut {
            warnings: Vec::new(),
            meta: support::meta(view.now, stale.as_ref()),
            account: book.account_label.clone(),
            base_currency: book.base.clone(),
            benchmark: benchmark.clone(),
            method: format!(
                "OLS beta = cov(position, {benchmark}) / var({benchmark}) over {points} daily simple returns; portfolio beta weights each position by its share of gross value"
            ),
            lookback_days: lookback,
            data_points: points,
            first_date: date_of_day(r.dates.first()),
            last_date: date_of_day(r.dates.last()),
            portfolio_beta: f::json_num(Some(pb.beta)).map(|b| f::round(b, 4)),
            beta_adjusted_exposure: exposure.map(|e| f::round(e, 2)),
            beta_adjusted_pct_of_nlv: match (exposure, nlv) {
                (Some(e), Some(n)) if n != 0.0 => Some(f::round(e / n * 100.0, 4)),
                _ => None,
            },
            net_liquidation: nlv,
            positions: beta_rows(&book, &betas),
            missing: all.missing.clone(),
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &BetaOut) -> String {
    let base = out.base_currency.as_str();
    let mut md = out.meta.header(&format!(
        "Portfolio Beta vs {} ({}D)",
        out.benchmark, out.lookback_days
    ));
    let _ = writeln!(md, "Account: {}\n", out.account);
    let _ = writeln!(
        md,
        "**Portfolio beta**: {}",
        f::number(out.portfolio_beta, 2)
    );
    let _ = writeln!(
        md,
        "**Beta-adjusted exposure**: {} ({} of NLV)",
        f::money(out.beta_adjusted_exposure, base),
        f::pct_plain(out.beta_adjusted_pct_of_nlv, 1)
    );
    let _ = writeln!(md, "**NLV**: {}", f::money(out.net_liquidation, base));
    let _ = writeln!(
        md,
        "**Data points**: {} daily returns{}\n",
        out.data_points,
        window_words(&out.first_date, &out.last_date)
    );
    let table: Vec<Vec<String>> = out
        .positions
        .iter()
        .take(TABLE_ROWS)
        .map(|r| {
            vec![
                r.symbol.clone(),
                f::number(r.beta, 2),
                f::pct_plain(r.weight_pct, 1),
                f::money(r.value_base, base),
                f::money(r.beta_adjusted_exposure, base),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &["Symbol", "Beta", "Weight", "Value", "Beta-Adj. Exposure"],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &table,
    ));
    if out.positions.len() > TABLE_ROWS {
        let _ = writeln!(
            md,
            "\n_Largest {TABLE_ROWS} of {} positions shown; all are in the JSON answer and in the totals._",
            out.positions.len()
        );
    }
    md.push_str(&f::method_line(&out.method));
    let delayed: Vec<String> = out
        .positions
        .iter()
        .filter(|r| r.delayed)
        .map(|r| r.symbol.clone())
        .collect();
    footer(
        &mut md,
        &out.missing,
        "the betas",
        &out.fx_rates,
        &out.unconverted,
        &delayed,
    );
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &BetaOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!(
            "beta {} vs {}",
            f::number(out.portfolio_beta, 2),
            out.benchmark
        ),
        format!(
            "beta-adjusted exposure {} {} ({} of NLV)",
            f::number(out.beta_adjusted_exposure, 2),
            out.base_currency,
            f::pct_plain(out.beta_adjusted_pct_of_nlv, 1)
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(symbol: &str, beta: Option<f64>, value: f64, weight: f64, delayed: bool) -> BetaRow {
        BetaRow {
            symbol: symbol.into(),
            beta,
            value_base: Some(value),
            weight_pct: Some(weight),
            beta_adjusted_exposure: beta.map(|b| f::round(value * b, 2)),
            delayed,
        }
    }

    #[test]
    fn render_portfolio_beta() {
        let stale = crate::store::Staleness {
            age_ms: 3_720_000,
            reason: "daily bars from the local cache; the gateway is not reachable".into(),
        };
        let out = BetaOut { warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, Some(&stale)),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            benchmark: "SPY".into(),
            method: "OLS beta = cov(position, SPY) / var(SPY) over 59 daily simple returns; portfolio beta weights each position by its share of gross value".into(),
            lookback_days: 60,
            data_points: 59,
            first_date: Some("2026-02-05".into()),
            last_date: Some("2026-05-01".into()),
            portfolio_beta: Some(1.2734),
            beta_adjusted_exposure: Some(142_880.5),
            beta_adjusted_pct_of_nlv: Some(118.4),
            net_liquidation: Some(120_675.0),
            positions: vec![
                row("KRYX", Some(1.62), 65_016.0, 58.2, false),
                row("VLTX", Some(0.91), 32_100.0, 28.7, true),
                row("FELN", None, 14_600.0, 13.1, false),
            ],
            missing: vec![Missing {
                symbol: "FELN".into(),
                reason: "fewer than two daily bars".into(),
            }],
            fx_rates: vec![],
            unconverted: vec![],
        };
        insta::assert_snapshot!("render_portfolio_beta", render(&out));
        insta::assert_snapshot!("headline_portfolio_beta", [headline(&out)].join("\n"));
    }
}
