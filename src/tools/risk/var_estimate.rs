//! `ibkr_var_estimate`: parametric (covariance) Value at Risk at 95%/99% in base currency, with
//! Euler component VaR per position.

use super::{TABLE_ROWS, date_of_day, delayed_symbols, footer, window_words};
use crate::analytics::{stats, var};
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book, Missing};
use crate::tools::support::{self, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Confidence level(s) of the VaR.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Confidence {
    #[serde(rename = "95")]
    P95,
    #[serde(rename = "99")]
    P99,
    /// Both 95% and 99% (default).
    #[default]
    #[serde(rename = "both")]
    Both,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarParams {
    /// `95`, `99` or `both` (default).
    #[serde(default)]
    pub confidence: Confidence,
    /// Daily returns used for the covariance matrix (20–756; default 252).
    #[schemars(range(min = 20, max = 756))]
    pub lookback_days: Option<u32>,
    /// Horizon in trading days (1–250; default 1), scaled by √h.
    #[schemars(range(min = 1, max = 250))]
    pub horizon_days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VarLevel {
    /// Percent, e.g. 95.
    pub confidence_pct: f64,
    /// Normal quantile used.
    pub z: f64,
    /// Loss not exceeded with this confidence over the horizon, base currency (positive).
    pub var: f64,
    pub var_pct_of_nlv: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VarComponent {
    pub symbol: String,
    /// Signed value, base currency.
    pub value_base: f64,
    /// Component VaR at the highest confidence reported, base currency (sums to VaR).
    pub component_var: f64,
    /// Share of VaR, percent (negative: the position hedges the rest).
    pub share_pct: f64,
    /// VaR added per unit of base currency in the position.
    pub marginal_var: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct VarOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub method: String,
    pub lookback_days: u32,
    pub data_points: usize,
    pub horizon_days: u32,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// One-day standard deviation of the book's P&L, base currency.
    pub sigma_daily: f64,
    pub net_liquidation: Option<f64>,
    /// Gross value of the positions the VaR covers, base currency.
    pub covered_gross_value: f64,
    pub levels: Vec<VarLevel>,
    /// Confidence (percent) of the component breakdown.
    pub components_confidence_pct: f64,
    pub components: Vec<VarComponent>,
    /// Positions left out (no history or no FX rate).
    pub missing: Vec<Missing>,
    pub fx_rates: Vec<FxUsed>,
    pub delayed: Vec<String>,
    /// Currencies without a rate (footnote).
    #[serde(skip)]
    pub unconverted: Vec<String>,
}

pub struct VarEstimate;

/// Holdings that cannot be valued in base currency (left out, and said so).
fn unvalued(book: &Book) -> Vec<Missing> {
    book.holdings
        .iter()
        .filter(|h| h.value_base.is_none())
        .map(|h| Missing {
            symbol: h.symbol.clone(),
            reason: format!("no price or no {}→{} rate", h.currency, book.base),
        })
        .collect()
}

/// Component VaR rows of the highest confidence computed, largest first.
fn components(symbols: &[String], values: &[f64], top: &var::VarResult) -> Vec<VarComponent> {
    let mut components: Vec<VarComponent> = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| VarComponent {
            symbol: s.clone(),
            value_base: f::round(values[i], 2),
            component_var: f::round(top.component[i], 2),
            share_pct: f::round(top.component_share[i] * 100.0, 4),
            marginal_var: f::round(top.marginal[i], 6),
        })
        .collect();
    components.sort_by(|a, b| {
        b.component_var
            .total_cmp(&a.component_var)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    components
}

impl Tool for VarEstimate {
    const NAME: &'static str = "ibkr_var_estimate";
    const GROUP: &'static str = "risk";
    const DESCRIPTION: &'static str = "Parametric (covariance) Value at Risk at 95%/99% in base currency, with component VaR per position.";
    type Params = VarParams;
    type Output = VarOut;

    async fn run(ctx: &ToolContext, p: VarParams) -> Result<Answer<VarOut>, ToolError> {
        let lookback = p.lookback_days.unwrap_or(252);
        let horizon = p.horizon_days.unwrap_or(1);
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        if book.holdings.is_empty() {
            return Err(ToolError::new(format!(
                "{}: the account {} holds no positions: its VaR is zero.",
                Self::NAME,
                book.account_label
            )));
        }
        let mut missing = unvalued(&book);
        let items: Vec<(String, String)> = book
            .holdings
            .iter()
            .filter(|h| h.value_base.is_some())
            .map(|h| (h.symbol.clone(), h.currency.clone()))
            .collect();
        let hist = risk_data::history(ctx, &items, lookback as usize).await;
        missing.extend(hist.missing.iter().cloned());
        if hist.series.is_empty() {
            return Err(ToolError::new(format!(
                "{}: no daily history is available for any position: {}",
                Self::NAME,
                risk_data::missing_words(&missing, 10)
            )));
        }
        let r = risk_data::aligned_returns(Self::NAME, &hist, lookback as usize)?;
        let points = r.dates.len();
        if points < 2 {
            return Err(ToolError::new(format!(
                "{}: the positions share only {points} daily return(s); at least two are needed.",
                Self::NAME
            )));
        }
        let values: Vec<f64> = r
            .symbols
            .iter()
            .map(|s| book.find(s).and_then(|h| h.value_base).unwrap_or(0.0))
            .collect();
        let cov = stats::covariance_matrix(&r.returns)
            .map_err(|e| ToolError::new(format!("{}: {e}", Self::NAME)))?;
        let confidences: &[f64] = match p.confidence {
            Confidence::P95 => &[0.95],
            Confidence::P99 => &[0.99],
            Confidence::Both => &[0.95, 0.99],
        };
        let mut results = Vec::with_capacity(confidences.len());
        for &c in confidences {
            results.push(
                var::parametric_var(&values, &cov, c, f64::from(horizon))
                    .map_err(|e| ToolError::new(format!("{}: {e}", Self::NAME)))?,
            );
        }
        let nlv = book.nlv();
        let levels: Vec<VarLevel> = results
            .iter()
            .map(|v| VarLevel {
                confidence_pct: f::round(v.confidence * 100.0, 2),
                z: f::round(v.z, 6),
                var: f::round(v.var, 2),
                var_pct_of_nlv: nlv
                    .filter(|n| *n != 0.0)
                    .map(|n| f::round(v.var / n * 100.0, 4)),
            })
            .collect();
        // Components at the highest confidence asked (99% when both).
        let Some(top) = results.last() else {
            return Err(ToolError::new(format!(
                "{}: no confidence level to compute",
                Self::NAME
            )));
        };
        let stale = risk_data::worst_stale(view.stale.clone(), hist.stale.clone());
        let conf_words = levels
            .iter()
            .map(|l| format!("{}%", l.confidence_pct))
            .collect::<Vec<_>>()
            .join(" and ");
        let out = VarOut {
            meta: support::meta(view.now, stale.as_ref()),
            account: book.account_label.clone(),
            base_currency: book.base.clone(),
            method: format!(
                "parametric VaR by the covariance method: {conf_words}, {horizon}-day horizon (√{horizon} scaling), zero-mean normal P&L, sample covariance of {points} daily simple returns; component VaR by Euler allocation (sums to VaR)"
            ),
            lookback_days: lookback,
            data_points: points,
            horizon_days: horizon,
            first_date: date_of_day(r.dates.first()),
            last_date: date_of_day(r.dates.last()),
            sigma_daily: f::round(top.sigma_daily, 2),
            net_liquidation: nlv,
            covered_gross_value: f::round(values.iter().map(|v| v.abs()).sum(), 2),
            levels,
            components_confidence_pct: f::round(top.confidence * 100.0, 2),
            components: components(&r.symbols, &values, top),
            missing,
            fx_rates: book.fx.clone(),
            delayed: delayed_symbols(&book),
            unconverted: book.unconverted.clone(),
        };
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

pub fn render(out: &VarOut) -> String {
    let base = out.base_currency.as_str();
    let horizon = out.horizon_days;
    let title = if horizon == 1 {
        "Value at Risk (1-Day, Parametric)".to_string()
    } else {
        format!("Value at Risk ({horizon}-Day, Parametric)")
    };
    let mut md = out.meta.header(&title);
    let _ = writeln!(md, "Account: {}\n", out.account);
    for l in &out.levels {
        let _ = writeln!(
            md,
            "**VaR {}%**: {} ({} of NLV)",
            l.confidence_pct,
            f::money(Some(l.var), base),
            f::pct_plain(l.var_pct_of_nlv, 2)
        );
    }
    let _ = writeln!(
        md,
        "**Daily P&L volatility (1σ)**: {}",
        f::money(Some(out.sigma_daily), base)
    );
    let _ = writeln!(md, "**NLV**: {}", f::money(out.net_liquidation, base));
    let _ = writeln!(
        md,
        "**Data points**: {} daily returns{}\n",
        out.data_points,
        window_words(&out.first_date, &out.last_date)
    );
    let _ = writeln!(md, "## Component VaR ({}%)", out.components_confidence_pct);
    let rows: Vec<Vec<String>> = out
        .components
        .iter()
        .take(TABLE_ROWS)
        .map(|c| {
            vec![
                c.symbol.clone(),
                f::money(Some(c.value_base), base),
                f::money(Some(c.component_var), base),
                f::pct_plain(Some(c.share_pct), 1),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &["Symbol", "Value", "Component VaR", "Share of VaR"],
        &[Align::Left, Align::Right, Align::Right, Align::Right],
        &rows,
    ));
    if out.components.len() > TABLE_ROWS {
        let _ = writeln!(
            md,
            "\n_Largest {TABLE_ROWS} of {} components shown; all are in the JSON answer._",
            out.components.len()
        );
    }
    let _ = writeln!(
        md,
        "\n_Method: {}. Fat tails and correlation breakdowns make real losses exceed this more often than the confidence suggests._",
        out.method
    );
    footer(
        &mut md,
        &out.missing,
        "the VaR",
        &out.fx_rates,
        &out.unconverted,
        &out.delayed,
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_var_estimate() {
        let component = |symbol: &str, value: f64, cvar: f64, share: f64| VarComponent {
            symbol: symbol.into(),
            value_base: value,
            component_var: cvar,
            share_pct: share,
            marginal_var: cvar / value,
        };
        let out = VarOut {
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            method: "parametric VaR by the covariance method: 95% and 99%, 10-day horizon (√10 scaling), zero-mean normal P&L, sample covariance of 251 daily simple returns; component VaR by Euler allocation (sums to VaR)".into(),
            lookback_days: 252,
            data_points: 251,
            horizon_days: 10,
            first_date: Some("2025-05-02".into()),
            last_date: Some("2026-05-01".into()),
            sigma_daily: 2_412.77,
            net_liquidation: Some(120_675.0),
            covered_gross_value: 111_716.0,
            levels: vec![
                VarLevel {
                    confidence_pct: 95.0,
                    z: 1.644854,
                    var: 12_549.9,
                    var_pct_of_nlv: Some(10.3997),
                },
                VarLevel {
                    confidence_pct: 99.0,
                    z: 2.326348,
                    var: 17_749.6,
                    var_pct_of_nlv: Some(14.7086),
                },
            ],
            components_confidence_pct: 99.0,
            components: vec![
                component("KRYX", 65_016.0, 13_120.4, 73.92),
                component("VLTX", 32_100.0, 5_210.1, 29.35),
                component("HDRX", -14_600.0, -580.9, -3.27),
            ],
            missing: vec![Missing {
                symbol: "OMRA".into(),
                reason: "no price or no HKD→USD rate".into(),
            }],
            fx_rates: vec![],
            delayed: vec!["VLTX".into()],
            unconverted: vec!["HKD".into()],
        };
        insta::assert_snapshot!("render_var_estimate", render(&out));
    }
}
