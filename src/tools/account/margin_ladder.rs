//! `ibkr_margin_ladder`: the account at drawdowns of 1 to 30% (stressed NLV, excess liquidity
//! against both requirements, cushion), the first rung that restricts buying power and the first
//! that forces liquidation, and the cushion runway: how many 1σ and 2σ down days, at the
//! account's own recent daily volatility, until each line.
//!
//! Each rung is `margin_math::stress_at` — the model behind `ibkr_margin` and
//! `ibkr_stress_test` — and the lines are the same model's exact break-evens.

use super::margin_math::{self, MarginInputs, Threshold};
use crate::analytics::stats;
use crate::model::{Millis, ToolGroup, tags};
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The ladder's rungs: book drawdowns in percent of gross position value.
pub const RUNGS: [f64; 9] = [1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0];
/// Daily returns behind the volatility, unless `lookback_days` says otherwise.
const DEFAULT_LOOKBACK: u32 = 60;
/// Fewest daily NLV returns for the NLV history to be used (else the book's returns are).
const MIN_NLV_RETURNS: usize = 20;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarginLadderParams {
    /// Daily returns behind the volatility used for the runway (20–252, default 60).
    #[schemars(range(min = 20, max = 252))]
    pub lookback_days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RungOut {
    /// Book drawdown, percent of gross position value.
    pub drawdown_pct: f64,
    /// Money lost (negative), base currency.
    pub loss: f64,
    pub stressed_nlv: f64,
    /// Stressed equity − initial requirement (negative: buying power restricted).
    pub excess_init: f64,
    /// Stressed equity − maintenance requirement, i.e. excess liquidity (negative: liquidation).
    pub excess_maint: f64,
    /// Excess liquidity / stressed NLV, percent.
    pub cushion_pct: Option<f64>,
    pub buying_power_restricted: bool,
    pub forced_liquidation: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunwayLine {
    /// `buying power restricted` or `forced liquidation`.
    pub line: String,
    /// The model's exact break-even drawdown, percent of gross position value (0 = already crossed; null = not within 100%).
    pub drawdown_to_line_pct: Option<f64>,
    /// Money the book can lose before the line, base currency.
    pub loss_to_line: Option<f64>,
    /// Consecutive 1σ down days to reach the line.
    pub days_at_1_sigma: Option<f64>,
    /// Consecutive 2σ down days to reach the line.
    pub days_at_2_sigma: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Runway {
    /// `nlv_history` (daily NLV sampled into SQLite) or `book_returns` (today's positions over their past daily returns).
    pub source: String,
    /// Daily returns used.
    pub observations: usize,
    /// First and last day of the window, `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// One standard deviation of the daily change, base currency.
    pub daily_sigma: f64,
    /// The same as percent of NLV.
    pub daily_sigma_pct_of_nlv: f64,
    pub lines: Vec<RunwayLine>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarginLadderOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub net_liquidation: Option<f64>,
    /// Equity with loan value (NLV when IB does not report it).
    pub equity: f64,
    pub gross_position_value: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
    pub excess_liquidity: f64,
    pub cushion_pct: Option<f64>,
    pub rungs: Vec<RungOut>,
    /// The first rung (percent) whose stressed equity is below the initial requirement; null when none is.
    pub first_restricting_rung_pct: Option<f64>,
    /// The first rung (percent) whose stressed equity is below the maintenance requirement.
    pub first_liquidating_rung_pct: Option<f64>,
    /// Null when no volatility could be measured (see warnings).
    pub runway: Option<Runway>,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct MarginLadder;

impl Tool for MarginLadder {
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    const NAME: &'static str = "ibkr_margin_ladder";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "Margin ladder: the account at book drawdowns of 1, 2, 3, 5, 7.5, 10, 15, 20 and 30% (stressed NLV, excess liquidity against initial and maintenance margin, cushion), the first rung that restricts buying power and the first that forces liquidation, and the runway: how many 1σ and 2σ down days at the account's own daily volatility until each line.";
    type Params = MarginLadderParams;
    type Output = MarginLadderOut;

    async fn run(
        ctx: &ToolContext,
        p: MarginLadderParams,
    ) -> Result<Answer<MarginLadderOut>, ToolError> {
        let lookback = p.lookback_days.unwrap_or(DEFAULT_LOOKBACK) as usize;
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let m = MarginInputs::of(&book.account).ok_or_else(|| {
            ToolError::new(format!(
                "{}: the account {} has not reported its margin figures yet (equity, gross position value, initial and maintenance requirements); retry once the gateway has synced.",
                Self::NAME,
                book.account_label
            ))
        })?;
        let nlv = book.nlv();
        let mut warnings = Vec::new();
        let mut stale = view.stale.clone();
        let sigma = match nlv_sigma(ctx, &book.account.account, view.now, lookback) {
            Some(s) => Some(s),
            None => {
                let (s, hist_stale, missing) = book_sigma(ctx, &book, lookback).await;
                stale = risk_data::worst_stale(stale, hist_stale);
                if !missing.is_empty() {
                    warnings.push(format!(
                        "No daily history for {}: left out of the volatility.",
                        risk_data::missing_words(&missing, 5)
                    ));
                }
                s
            }
        };
        let mut out = ladder(
            &book,
            &m,
            nlv,
            sigma,
            support::meta(view.now, stale.as_ref()),
        );
        if out.runway.is_none() {
            warnings.push(
                "No volatility estimate (no NLV history and no daily bars for the holdings): the runway is left out."
                    .into(),
            );
        }
        warnings.push(
            "Approximation: requirements scale with position value; real requirements often rise in a sell-off."
                .into(),
        );
        out.warnings = warnings;
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

/// A measured daily volatility: money per day, where it came from, the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Sigma {
    pub money: f64,
    pub source: &'static str,
    pub observations: usize,
    /// Epoch seconds of the first and last return's day.
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Volatility of the account's daily NLV (last sample of each UTC day) over the last
/// `lookback` returns; `None` with fewer than [`MIN_NLV_RETURNS`].
fn nlv_sigma(ctx: &ToolContext, account: &str, now: Millis, lookback: usize) -> Option<Sigma> {
    let db = ctx.store.db()?;
    // Calendar days hold about 5/7 trading days; read enough of them.
    let since = now - (lookback as i64 * 2 + 10) * DAY_MS;
    let points = db.nlv_history(account, since).ok()?;
    let mut daily: BTreeMap<i64, f64> = BTreeMap::new();
    for (t, v) in points {
        if v.is_finite() && v > 0.0 {
            daily.insert(t.div_euclid(DAY_MS), v);
        }
    }
    let days: Vec<(i64, f64)> = daily.into_iter().collect();
    let returns: Vec<(i64, f64)> = days
        .windows(2)
        .map(|w| (w[1].0, w[1].1 / w[0].1 - 1.0))
        .collect();
    let window = &returns[returns.len().saturating_sub(lookback)..];
    if window.len() < MIN_NLV_RETURNS {
        return None;
    }
    let r: Vec<f64> = window.iter().map(|(_, r)| *r).collect();
    let last_nlv = days.last().map(|(_, v)| *v)?;
    Some(Sigma {
        money: stats::sample_std(&r) * last_nlv,
        source: "nlv_history",
        observations: r.len(),
        from: window.first().map(|(d, _)| d * 86_400),
        to: window.last().map(|(d, _)| d * 86_400),
    })
}

/// Volatility of today's book over its holdings' past daily returns: the daily P&L
/// Σ value × return, in base currency.
async fn book_sigma(
    ctx: &ToolContext,
    book: &Book,
    lookback: usize,
) -> (
    Option<Sigma>,
    Option<crate::store::Staleness>,
    Vec<risk_data::Missing>,
) {
    let items: Vec<(String, String)> = book
        .holdings
        .iter()
        .filter(|h| h.value_base.is_some())
        .map(|h| (h.symbol.clone(), h.currency.clone()))
        .collect();
    if items.is_empty() {
        return (None, None, Vec::new());
    }
    let history = risk_data::history(ctx, &items, lookback).await;
    let Ok(aligned) = risk_data::aligned_returns(MarginLadder::NAME, &history, lookback) else {
        return (None, history.stale, history.missing);
    };
    let n = aligned.dates.len();
    let mut pnl = vec![0.0; n];
    for (symbol, returns) in aligned.symbols.iter().zip(&aligned.returns) {
        let Some(value) = book.find(symbol).and_then(|h| h.value_base) else {
            continue;
        };
        for (t, r) in returns.iter().enumerate() {
            pnl[t] += value * r;
        }
    }
    let sigma = (n >= 2).then(|| Sigma {
        money: stats::sample_std(&pnl),
        source: "book_returns",
        observations: n,
        from: aligned.dates.first().copied(),
        to: aligned.dates.last().copied(),
    });
    (sigma, history.stale, history.missing)
}

/// The ladder and runway from the margin figures and a volatility (pure).
pub fn ladder(
    book: &Book,
    m: &MarginInputs,
    nlv: Option<f64>,
    sigma: Option<Sigma>,
    meta: Meta,
) -> MarginLadderOut {
    let nlv_now = nlv.unwrap_or(m.equity);
    let rungs: Vec<RungOut> = RUNGS
        .iter()
        .map(|&d| {
            let p = margin_math::stress_at(m, d);
            // NLV falls by the same loss as equity with loan.
            let stressed_nlv = nlv_now + p.loss;
            RungOut {
                drawdown_pct: d,
                loss: f::round(p.loss, 2),
                stressed_nlv: f::round(stressed_nlv, 2),
                excess_init: f::round(p.excess_init, 2),
                excess_maint: f::round(p.excess_maint, 2),
                cushion_pct: (stressed_nlv > 0.0)
                    .then(|| f::round(p.excess_maint / stressed_nlv * 100.0, 2)),
                buying_power_restricted: p.excess_init < 0.0,
                forced_liquidation: p.excess_maint < 0.0,
            }
        })
        .collect();
    let runway = sigma.filter(|s| s.money > 0.0).map(|s| {
        let line = |name: &str, t: Threshold| {
            let d = m.break_even_pct(t);
            let loss = d.map(|d| m.gross_position_value * d / 100.0);
            RunwayLine {
                line: name.to_string(),
                drawdown_to_line_pct: d.map(|d| f::round(d, 2)),
                loss_to_line: loss.map(|l| f::round(l, 2)),
                days_at_1_sigma: loss.map(|l| f::round(l / s.money, 1)),
                days_at_2_sigma: loss.map(|l| f::round(l / (2.0 * s.money), 1)),
            }
        };
        Runway {
            source: s.source.to_string(),
            observations: s.observations,
            from: s.from.map(f::date),
            to: s.to.map(f::date),
            daily_sigma: f::round(s.money, 2),
            daily_sigma_pct_of_nlv: if nlv_now > 0.0 {
                f::round(s.money / nlv_now * 100.0, 2)
            } else {
                0.0
            },
            lines: vec![
                line("buying power restricted", Threshold::BuyingPowerRestricted),
                line("forced liquidation", Threshold::ForcedLiquidation),
            ],
        }
    });
    let method = match &runway {
        Some(r) => format!(
            "Rung d: loss = gross position value × d; equity and NLV fall by the loss; initial and maintenance requirements scale by (1 − d); cushion = (equity − maintenance) / stressed NLV. Lines: the exact break-even d = (equity − requirement) / (gross position value − requirement). Runway: loss to the line / daily σ, each down day losing 1σ (or 2σ) of money; σ = sample standard deviation of {} daily {} ({} to {}).",
            r.observations,
            if r.source == "nlv_history" {
                "NLV returns (last NLV sample of each UTC day, from SQLite) × current NLV"
            } else {
                "book P&L changes (today's positions in base currency × each holding's daily close-to-close return)"
            },
            r.from.as_deref().unwrap_or("?"),
            r.to.as_deref().unwrap_or("?"),
        ),
        None => "Rung d: loss = gross position value × d; equity and NLV fall by the loss; initial and maintenance requirements scale by (1 − d); cushion = (equity − maintenance) / stressed NLV.".to_string(),
    };
    MarginLadderOut {
        meta,
        account: book.account_label.clone(),
        base_currency: book.base.clone(),
        net_liquidation: nlv.map(|v| f::round(v, 2)),
        equity: f::round(m.equity, 2),
        gross_position_value: f::round(m.gross_position_value, 2),
        init_margin: f::round(m.init_margin, 2),
        maint_margin: f::round(m.maint_margin, 2),
        excess_liquidity: f::round(
            book.get(tags::EXCESS_LIQUIDITY)
                .unwrap_or(m.equity - m.maint_margin),
            2,
        ),
        cushion_pct: book
            .get(tags::CUSHION)
            .or_else(|| (nlv_now > 0.0).then(|| (m.equity - m.maint_margin) / nlv_now))
            .map(|c| f::round(c * 100.0, 2)),
        first_restricting_rung_pct: rungs
            .iter()
            .find(|r| r.buying_power_restricted)
            .map(|r| r.drawdown_pct),
        first_liquidating_rung_pct: rungs
            .iter()
            .find(|r| r.forced_liquidation)
            .map(|r| r.drawdown_pct),
        rungs,
        runway,
        warnings: Vec::new(),
        method,
    }
}

fn rung_words(pct: Option<f64>) -> String {
    match pct {
        Some(p) => format!(
            "at the {}% rung",
            f::group(p, if p.fract() == 0.0 { 0 } else { 1 })
        ),
        None => "not within the ladder (30%)".into(),
    }
}

/// One line for the cockpit's prompt pane.
pub fn headline(out: &MarginLadderOut) -> String {
    let rung = |p: Option<f64>| p.map_or_else(|| "beyond 30%".to_string(), |p| format!("{p}%"));
    let mut s = format!(
        "restricted {} · liquidation {}",
        rung(out.first_restricting_rung_pct),
        rung(out.first_liquidating_rung_pct)
    );
    if let Some(r) = &out.runway
        && let Some(l) = r.lines.iter().find(|l| l.line == "forced liquidation")
        && let Some(d) = l.days_at_1_sigma
    {
        let _ = write!(s, " · {d} 1σ days to liquidation");
    }
    s
}

/// The answer's markdown.
pub fn render(out: &MarginLadderOut) -> String {
    let ccy = out.base_currency.as_str();
    let mut md = out.meta.header(&format!("Margin Ladder: {}", out.account));
    md.push('\n');
    md.push_str(&f::kv_table(&[
        ("NLV", f::money(out.net_liquidation, ccy)),
        ("Equity with Loan", f::money(Some(out.equity), ccy)),
        (
            "Gross Position Value",
            f::money(Some(out.gross_position_value), ccy),
        ),
        ("Initial Margin", f::money(Some(out.init_margin), ccy)),
        ("Maintenance Margin", f::money(Some(out.maint_margin), ccy)),
        (
            "Excess Liquidity",
            f::money(Some(out.excess_liquidity), ccy),
        ),
        ("Cushion", f::pct_plain(out.cushion_pct, 2)),
    ]));
    md.push_str("\n## Ladder\n");
    let rows: Vec<Vec<String>> = out
        .rungs
        .iter()
        .map(|r| {
            let state = if r.forced_liquidation {
                "🚨 liquidation"
            } else if r.buying_power_restricted {
                "⚠️ restricted"
            } else {
                "ok"
            };
            vec![
                format!("-{}%", r.drawdown_pct),
                f::money(Some(r.stressed_nlv), ccy),
                f::signed_money(Some(r.excess_init), ccy),
                f::signed_money(Some(r.excess_maint), ccy),
                f::pct_plain(r.cushion_pct, 2),
                state.to_string(),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &[
            "Drawdown",
            "Stressed NLV",
            "Excess (Initial)",
            "Excess Liquidity (Maint)",
            "Cushion",
            "State",
        ],
        &[
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
        ],
        &rows,
    ));
    let _ = writeln!(
        md,
        "\n**Buying power restricted**: {}",
        rung_words(out.first_restricting_rung_pct)
    );
    let _ = writeln!(
        md,
        "**Forced liquidation**: {}",
        rung_words(out.first_liquidating_rung_pct)
    );
    if let Some(r) = &out.runway {
        let source = if r.source == "nlv_history" {
            "NLV history"
        } else {
            "the book's returns"
        };
        let _ = writeln!(
            md,
            "\n## Cushion Runway\nDaily volatility: {} ({}% of NLV), from {source}, {} daily returns.\n",
            f::money(Some(r.daily_sigma), ccy),
            f::group(r.daily_sigma_pct_of_nlv, 2),
            r.observations
        );
        let rows: Vec<Vec<String>> = r
            .lines
            .iter()
            .map(|l| {
                let days = |d: Option<f64>| d.map_or_else(|| f::NA.to_string(), |d| f::group(d, 1));
                vec![
                    l.line.clone(),
                    l.drawdown_to_line_pct.map_or_else(
                        || "beyond 100%".to_string(),
                        |d| format!("{}%", f::group(d, 2)),
                    ),
                    f::money(l.loss_to_line, ccy),
                    days(l.days_at_1_sigma),
                    days(l.days_at_2_sigma),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Line",
                "Drawdown to Line",
                "Loss to Line",
                "1σ Days",
                "2σ Days",
            ],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &rows,
        ));
    }
    for w in &out.warnings {
        let _ = write!(md, "\n⚠️ {w}\n");
    }
    md.push_str(&f::method_line(&out.method));
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AccountSnapshot;

    fn book() -> Book {
        Book {
            account: AccountSnapshot::default(),
            account_label: "U****4321".into(),
            base: "CAD".into(),
            holdings: Vec::new(),
            fx: Vec::new(),
            unconverted: Vec::new(),
            rates: BTreeMap::new(),
        }
    }

    fn inputs() -> MarginInputs {
        MarginInputs {
            equity: 24_618.0,
            gross_position_value: 64_124.0,
            init_margin: 24_201.34,
            maint_margin: 22_012.81,
        }
    }

    #[test]
    fn render_margin_ladder() {
        let sigma = Sigma {
            money: 410.0,
            source: "book_returns",
            observations: 60,
            from: Some(1_740_000_000),
            to: Some(1_746_230_400),
        };
        let mut out = ladder(
            &book(),
            &inputs(),
            Some(24_618.0),
            Some(sigma),
            Meta::fresh("2026-05-03 17:17:44 UTC"),
        );
        // Rung 1%: loss 641.24; excess over initial 416.66 − 641.24 + 242.01 = 17.43.
        assert_eq!(out.rungs[0].loss, -641.24);
        assert_eq!(out.rungs[0].excess_init, 17.43);
        assert_eq!(out.first_restricting_rung_pct, Some(2.0));
        assert_eq!(out.first_liquidating_rung_pct, Some(7.5));
        let runway = out.runway.as_ref().unwrap();
        // Liquidation break-even (24,618 − 22,012.81) / (64,124 − 22,012.81) = 6.1865%.
        assert_eq!(runway.lines[1].drawdown_to_line_pct, Some(6.19));
        assert_eq!(runway.lines[1].days_at_1_sigma, Some(9.7));
        out.warnings = vec!["Approximation: requirements scale with position value.".into()];
        assert_eq!(
            headline(&out),
            "restricted 2% · liquidation 7.5% · 9.7 1σ days to liquidation"
        );
        insta::assert_snapshot!("render_margin_ladder", render(&out));
        insta::assert_snapshot!("headline_margin_ladder", headline(&out));
    }
}
