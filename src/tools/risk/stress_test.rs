//! `ibkr_stress_test`: what a drawdown, a gap or a macro shock does to the margin picture.
//!
//! The drawdown and preflight scenarios use `margin_math` — the very functions behind
//! `ibkr_margin`'s "distance to a margin call" — so the two tools can never disagree. The gap
//! scenario and the rate/FX/vol shocks use `analytics::stress` with the same proportional model
//! (requirements scale with position value). Every answer states its approximations.

use super::TABLE_ROWS;
use crate::analytics::stats;
use crate::analytics::stress::{self, GapInput, MarginState, ShockAssumptions, ShockExposure};
use crate::model::tags;
use crate::tools::account::margin::margin_summary;
use crate::tools::account::margin_math::{self, MarginInputs};
use crate::tools::format::fx_lines;
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book, Missing};
use crate::tools::support::{self, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Daily returns behind each position's volatility in the gap scenario.
const GAP_VOL_LOOKBACK: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Step the whole book down 1% at a time to find the drawdowns that restrict buying power and force liquidation (default).
    Preflight,
    /// One uniform drawdown of `drawdown_pct` (default 20%).
    Drawdown,
    /// Each position gaps against itself by `sigma_multiplier` × its daily volatility, or by `shocks`.
    Gap,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StressParams {
    /// `preflight` (default), `drawdown` or `gap` (default `gap` when `shocks` are given).
    pub scenario: Option<Scenario>,
    /// Drawdown for `drawdown`, percent of gross position value (0–100, sign ignored; default 20).
    #[schemars(range(min = -100, max = 100))]
    pub drawdown_pct: Option<f64>,
    /// Gap size in daily standard deviations (0.1–10; default 2.0).
    #[schemars(range(min = 0.1, max = 10))]
    pub sigma_multiplier: Option<f64>,
    /// Explicit per-symbol moves for `gap`, "SYM:PCT,…" e.g. "KRYX:-15,VLTX:-8".
    pub shocks: Option<String>,
    /// Parallel move in interest rates, basis points (−1000 to 1000).
    #[schemars(range(min = -1000, max = 1000))]
    pub rates_bps: Option<f64>,
    /// Move of every non-base currency against the base currency, percent (−50 to 50; +5 = foreign currencies 5% stronger).
    #[schemars(range(min = -50, max = 50))]
    pub fx_pct: Option<f64>,
    /// Relative change in volatility, percent (−90 to 500; +50 = volatility 1.5×).
    #[schemars(range(min = -90, max = 500))]
    pub vol_pct: Option<f64>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

/// Parses "KRYX:-15, vltx:+8%" into (SYMBOL, fraction). Errors name the bad item.
pub fn parse_shocks(tool: &str, text: &str) -> Result<Vec<(String, f64)>, ToolError> {
    let example =
        "accepted: \"SYMBOL:PERCENT,…\" such as \"KRYX:-15,VLTX:-8\" (percent from -100 to 1000)";
    let items: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.is_empty() {
        return Err(ToolError::new(format!(
            "{tool}: `shocks` is empty; {example}"
        )));
    }
    let mut out: Vec<(String, f64)> = Vec::with_capacity(items.len());
    for item in items {
        let bad = || ToolError::new(format!("{tool}: malformed shock \"{item}\"; {example}"));
        let (sym, pct) = item.split_once(':').ok_or_else(bad)?;
        let sym = support::symbol(tool, sym).map_err(|_| bad())?;
        let pct: f64 = pct
            .trim()
            .trim_end_matches('%')
            .trim()
            .trim_start_matches('+')
            .parse()
            .map_err(|_| bad())?;
        if !(pct.is_finite() && (-100.0..=1000.0).contains(&pct)) {
            return Err(bad());
        }
        if out.iter().any(|(s, _)| *s == sym) {
            return Err(ToolError::new(format!(
                "{tool}: {sym} appears twice in `shocks`; give each symbol once"
            )));
        }
        out.push((sym, pct / 100.0));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrentState {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    /// Equity with loan value (NLV when IB does not report it): what margin is measured against.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub gross_position_value: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_liquidity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cushion_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StressedState {
    /// Fraction of gross position value lost, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub drawdown_pct: f64,
    /// Money lost (negative), base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub loss: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub stressed_equity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: f64,
    /// Equity − initial requirement (negative: buying power restricted).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_init: f64,
    /// Equity − maintenance requirement (negative: forced liquidation).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_maint: f64,
    pub buying_power_restricted: bool,
    pub forced_liquidation: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GapRowOut {
    pub symbol: String,
    /// Move applied, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub move_pct: f64,
    /// P&L, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub pnl: f64,
    /// Daily volatility used, percent (null for explicit shocks).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_vol_pct: Option<f64>,
    /// The move came from `shocks`.
    pub explicit: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ShocksOut {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub rates_bps: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub fx_pct: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub vol_pct: f64,
    /// Equity price effect of the rate move, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub rates_pnl: f64,
    /// Change in yearly interest on the margin loan (positive = more cost), base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub financing_change_per_year: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub fx_pnl: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub vol_pnl: f64,
    /// Factor by which parametric VaR scales with the vol move.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub var_scale: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_pnl: f64,
    /// Exposures the shocks act on, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity_value: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub foreign_value: f64,
    /// Equity and maintenance excess after the shocks (on top of the scenario).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity_after: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_maint_after: f64,
    /// The sensitivities assumed, one sentence each.
    pub assumptions: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StressOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub scenario: Scenario,
    pub current: CurrentState,
    /// First whole-percent drawdown at which buying power is restricted (same number as `ibkr_margin`); 0 = already; null = not even at 100%.
    pub drawdown_to_restriction_pct: Option<u32>,
    /// First whole-percent drawdown that forces liquidation (same number as `ibkr_margin`).
    pub drawdown_to_liquidation_pct: Option<u32>,
    /// The linear model's exact break-evens, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub restriction_break_even_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub liquidation_break_even_pct: Option<f64>,
    /// The stressed account (drawdown: at `drawdown_pct`; gap: after the gaps; preflight: at the liquidation step).
    pub stressed: Option<StressedState>,
    /// Preflight: each 1% step from 0% up to the liquidation step.
    pub curve: Vec<StressedState>,
    pub gap: Vec<GapRowOut>,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub sigma_multiplier: Option<f64>,
    pub shocks: Option<ShocksOut>,
    /// Positions the gap left out (no volatility estimate).
    pub missing: Vec<Missing>,
    /// How the stressed figures are computed: every approximation the answer rests on (margin
    /// scaling, restriction and liquidation rules, the gap's σ window, macro sensitivities).
    pub method: String,
    pub fx_rates: Vec<FxUsed>,
    /// The scenario in words (the title).
    #[serde(skip)]
    pub title: String,
    /// Currencies without a rate (footnote).
    #[serde(skip)]
    pub unconverted: Vec<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct StressTest;

fn stressed(p: &margin_math::StressPoint) -> StressedState {
    StressedState {
        drawdown_pct: f::round(p.drawdown_pct, 4),
        loss: f::round(p.loss, 2),
        stressed_equity: f::round(p.equity, 2),
        init_margin: f::round(p.init_margin, 2),
        maint_margin: f::round(p.maint_margin, 2),
        excess_init: f::round(p.excess_init, 2),
        excess_maint: f::round(p.excess_maint, 2),
        buying_power_restricted: p.excess_init < 0.0,
        forced_liquidation: p.excess_maint < 0.0,
    }
}

/// The account's margin inputs, exactly as `ibkr_margin` reads them.
fn margin_inputs(tool: &str, book: &Book) -> Result<MarginInputs, ToolError> {
    let nlv = book.get(tags::NET_LIQUIDATION);
    let equity = book.get(tags::EQUITY_WITH_LOAN).or(nlv);
    match (
        equity,
        book.get(tags::GROSS_POSITION_VALUE),
        book.get(tags::INIT_MARGIN_REQ),
        book.get(tags::MAINT_MARGIN_REQ),
    ) {
        (Some(equity), Some(gross_position_value), Some(init_margin), Some(maint_margin)) => {
            Ok(MarginInputs {
                equity,
                gross_position_value,
                init_margin,
                maint_margin,
            })
        }
        _ => Err(ToolError::new(format!(
            "{tool}: the account {} has not reported its margin figures yet (equity, gross position value, initial and maintenance requirements); retry once the gateway has synced.",
            book.account_label
        ))),
    }
}

impl Tool for StressTest {
    const NAME: &'static str = "ibkr_stress_test";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Margin stress test: preflight 1% step search for the drawdowns that restrict buying power and force liquidation, a uniform drawdown, per-position gaps, plus rate/FX/vol shocks.";
    type Params = StressParams;
    type Output = StressOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: StressParams) -> Result<Answer<StressOut>, ToolError> {
        let tool = Self::NAME;
        let shocks = p
            .shocks
            .as_deref()
            .map(|s| parse_shocks(tool, s))
            .transpose()?;
        let scenario = match (p.scenario, &shocks) {
            (None, Some(_)) => Scenario::Gap,
            (None, None) => Scenario::Preflight,
            (Some(s), Some(_)) if s != Scenario::Gap => {
                return Err(ToolError::new(format!(
                    "{tool}: `shocks` are per-position gaps and apply to scenario `gap`, not `{}`; drop `scenario` or set it to `gap`.",
                    scenario_name(s)
                )));
            }
            (Some(s), _) => s,
        };
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        if let Some(list) = &shocks {
            check_shocks_held(tool, &book, list)?;
        }
        let m = margin_inputs(tool, &book)?;
        let mut out = baseline(&book, &m, scenario);
        let mut approximations = vec![
            "Margin requirements are taken to scale with position value (requirement × (1 − drawdown)); real requirements often rise in a sell-off as volatility climbs.".to_string(),
            "Buying power is restricted when equity falls below the initial requirement; liquidation starts when it falls below the maintenance requirement.".to_string(),
        ];
        let mut stale = view.stale.clone();
        out.title = match scenario {
            Scenario::Preflight => {
                let last = out.drawdown_to_liquidation_pct.unwrap_or(100);
                out.curve = (0..=last)
                    .map(|pct| stressed(&margin_math::stress_at(&m, f64::from(pct))))
                    .collect();
                out.stressed = out.curve.last().cloned();
                "Stress Test: Preflight (1% steps)".to_string()
            }
            Scenario::Drawdown => {
                let dd = p.drawdown_pct.unwrap_or(20.0).abs();
                out.stressed = Some(stressed(&margin_math::stress_at(&m, dd)));
                format!("Stress Test: -{dd:.2}% Drawdown")
            }
            Scenario::Gap => {
                let sigma = p.sigma_multiplier.unwrap_or(2.0);
                let gap_stale = run_gap(ctx, &book, &m, sigma, shocks.as_deref(), &mut out).await;
                stale = risk_data::worst_stale(stale, gap_stale);
                approximations.push(format!(
                    "Gap: each position moves against itself by {sigma} × the standard deviation of its last {GAP_VOL_LOOKBACK} daily returns (explicit `shocks` as given), all at once; no correlation offsets."
                ));
                if shocks.is_some() {
                    "Stress Test: Custom Gap".to_string()
                } else {
                    format!("Stress Test: {sigma}σ Gap")
                }
            }
        };
        // Macro shocks ride on top of whatever scenario was run.
        let (rates, fx, vol) = (
            p.rates_bps.unwrap_or(0.0),
            p.fx_pct.unwrap_or(0.0),
            p.vol_pct.unwrap_or(0.0),
        );
        if rates != 0.0 || fx != 0.0 || vol != 0.0 {
            let (shocked, notes) = macro_shocks(&book, &m, &out, rates, fx, vol);
            out.shocks = Some(shocked);
            approximations.extend(notes);
        }
        out.method = approximations.join(" ");
        out.meta = support::meta(view.now, stale.as_ref());
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// Refuses `shocks` that name symbols the account does not hold.
fn check_shocks_held(tool: &str, book: &Book, shocks: &[(String, f64)]) -> Result<(), ToolError> {
    let unknown: Vec<&str> = shocks
        .iter()
        .filter(|(s, _)| book.find(s).is_none())
        .map(|(s, _)| s.as_str())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ToolError::new(format!(
        "{tool}: `shocks` names symbols not held in {}: {}. Held symbols: {}",
        book.account_label,
        unknown.join(", "),
        book.held_list()
    )))
}

/// The account's current margin state and break-evens, before any scenario is applied.
fn baseline(book: &Book, m: &MarginInputs, scenario: Scenario) -> StressOut {
    // The same function as ibkr_margin: the two answers agree by construction.
    let summary = margin_summary(&book.account);
    let pre = stress::preflight(&margin_state(m));
    let current = CurrentState {
        net_liquidation: book.nlv(),
        equity: m.equity,
        gross_position_value: m.gross_position_value,
        init_margin: m.init_margin,
        maint_margin: m.maint_margin,
        excess_liquidity: f::round(m.equity - m.maint_margin, 2),
        cushion_pct: book
            .get(tags::CUSHION)
            .map(|c| f::round(c * 100.0, 4))
            .or_else(|| {
                book.nlv()
                    .filter(|n| *n != 0.0)
                    .map(|n| f::round((m.equity - m.maint_margin) / n * 100.0, 4))
            }),
    };
    StressOut {
        warnings: Vec::new(),
        meta: support::meta(0, None),
        account: book.account_label.clone(),
        base_currency: book.base.clone(),
        scenario,
        current,
        drawdown_to_restriction_pct: summary.drawdown_to_restriction_pct,
        drawdown_to_liquidation_pct: summary.drawdown_to_liquidation_pct,
        restriction_break_even_pct: pre.restricts_exact.map(|d| f::round(d * 100.0, 4)),
        liquidation_break_even_pct: pre.liquidates_exact.map(|d| f::round(d * 100.0, 4)),
        stressed: None,
        curve: Vec::new(),
        gap: Vec::new(),
        sigma_multiplier: None,
        shocks: None,
        missing: Vec::new(),
        method: String::new(),
        fx_rates: book.fx.clone(),
        title: String::new(),
        unconverted: book.unconverted.clone(),
    }
}

fn margin_state(m: &MarginInputs) -> MarginState {
    MarginState {
        nlv: m.equity,
        gross_position_value: m.gross_position_value,
        init_margin: m.init_margin,
        maint_margin: m.maint_margin,
    }
}

/// The gap scenario: each position moves against itself by `sigma` × its daily volatility (or
/// by its explicit shock). Fills the gap rows, the stressed state and what was left out;
/// returns the staleness of the histories used.
async fn run_gap(
    ctx: &ToolContext,
    book: &Book,
    m: &MarginInputs,
    sigma: f64,
    shocks: Option<&[(String, f64)]>,
    out: &mut StressOut,
) -> Option<crate::store::Staleness> {
    out.sigma_multiplier = Some(sigma);
    let explicit: BTreeMap<String, f64> = shocks.unwrap_or_default().iter().cloned().collect();
    // Volatility only for positions without an explicit move.
    let need: Vec<(String, String)> = book
        .holdings
        .iter()
        .filter(|h| h.value_base.is_some() && !explicit.contains_key(&h.symbol))
        .map(|h| (h.symbol.clone(), h.currency.clone()))
        .collect();
    let mut vols: BTreeMap<String, f64> = BTreeMap::new();
    let mut stale = None;
    if !need.is_empty() {
        let hist = risk_data::history(ctx, &need, GAP_VOL_LOOKBACK).await;
        stale = hist.stale.clone();
        for (sym, closes) in &hist.series {
            let c: Vec<f64> = closes.iter().map(|(_, c)| *c).collect();
            let tail = &c[c.len().saturating_sub(GAP_VOL_LOOKBACK + 1)..];
            if let Ok(r) = crate::analytics::returns::simple_returns(tail) {
                vols.insert(sym.clone(), stats::sample_std(&r));
            }
        }
        out.missing = hist.missing.clone();
    }
    let inputs: Vec<GapInput> = book
        .holdings
        .iter()
        .filter_map(|h| {
            Some(GapInput {
                symbol: h.symbol.clone(),
                value: h.value_base?,
                daily_vol: vols.get(&h.symbol).copied().unwrap_or(f64::NAN),
                shock: explicit.get(&h.symbol).copied(),
            })
        })
        .collect();
    let g = stress::gap(&margin_state(m), &inputs, sigma);
    out.gap = g
        .rows
        .iter()
        .map(|r| GapRowOut {
            symbol: r.symbol.clone(),
            move_pct: f::round(r.moved * 100.0, 4),
            pnl: f::round(r.pnl, 2),
            daily_vol_pct: (!r.explicit)
                .then(|| vols.get(&r.symbol).map(|v| f::round(v * 100.0, 4)))
                .flatten(),
            explicit: r.explicit,
        })
        .collect();
    let a = g.after;
    out.stressed = Some(StressedState {
        drawdown_pct: f::round(a.drawdown * 100.0, 4),
        loss: f::round(-a.loss, 2),
        stressed_equity: f::round(a.nlv, 2),
        init_margin: f::round(a.init_margin, 2),
        maint_margin: f::round(a.maint_margin, 2),
        excess_init: f::round(a.excess_init, 2),
        excess_maint: f::round(a.excess_maint, 2),
        buying_power_restricted: a.restricted(),
        forced_liquidation: a.liquidating(),
    });
    stale
}

/// Rate, FX and volatility shocks on top of the scenario's stressed state, with the
/// approximations they add.
fn macro_shocks(
    book: &Book,
    m: &MarginInputs,
    out: &StressOut,
    rates: f64,
    fx: f64,
    vol: f64,
) -> (ShocksOut, Vec<String>) {
    let exposure = shock_exposure(book);
    let assumptions = ShockAssumptions::default();
    let s = stress::shocks(&exposure, rates, fx, 0.0, vol, &assumptions);
    let (eq0, ex0) = out
        .stressed
        .as_ref()
        .filter(|_| out.scenario != Scenario::Preflight)
        .map_or((m.equity, m.equity - m.maint_margin), |st| {
            (st.stressed_equity, st.excess_maint)
        });
    let mut notes: Vec<String> = s.assumptions.clone();
    notes.push("Macro shocks are first-order and leave margin requirements unchanged.".into());
    if book
        .holdings
        .iter()
        .any(|h| h.position.instrument.sec_type == "OPT")
    {
        notes.push("Options are valued as stock exposure here: their vega is not modelled, so a vol shock moves only VaR.".into());
    }
    let shocked = ShocksOut {
        rates_bps: rates,
        fx_pct: fx,
        vol_pct: vol,
        rates_pnl: f::round(s.rates_pnl, 2),
        financing_change_per_year: f::round(s.financing_change_per_year, 2),
        fx_pnl: f::round(s.fx_pnl, 2),
        vol_pnl: f::round(s.vol_pnl, 2),
        var_scale: f::round(s.var_scale, 4),
        total_pnl: f::round(s.total_pnl, 2),
        equity_value: f::round(exposure.equity_value, 2),
        cash: f::round(exposure.cash, 2),
        foreign_value: f::round(exposure.foreign_value, 2),
        equity_after: f::round(eq0 + s.total_pnl, 2),
        excess_maint_after: f::round(ex0 + s.total_pnl, 2),
        assumptions: s.assumptions,
    };
    (shocked, notes)
}

fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::Preflight => "preflight",
        Scenario::Drawdown => "drawdown",
        Scenario::Gap => "gap",
    }
}

/// What the rate/FX/vol shocks act on, in base currency.
fn shock_exposure(book: &Book) -> ShockExposure {
    let equity_value: f64 = book
        .holdings
        .iter()
        .filter(|h| matches!(h.position.instrument.sec_type.as_str(), "STK" | "ETF" | ""))
        .filter_map(|h| h.value_base)
        .sum();
    let cash: f64 = book.get(tags::TOTAL_CASH_VALUE).unwrap_or_else(|| {
        book.account
            .cash_by_currency
            .iter()
            .filter_map(|(c, v)| book.rate(c).map(|r| v * r))
            .sum()
    });
    let foreign_positions: f64 = book
        .holdings
        .iter()
        .filter(|h| h.currency != book.base)
        .filter_map(|h| h.value_base)
        .sum();
    let foreign_cash: f64 = book
        .account
        .cash_by_currency
        .iter()
        .filter(|(c, _)| **c != book.base)
        .filter_map(|(c, v)| book.rate(c).map(|r| v * r))
        .sum();
    ShockExposure {
        equity_value,
        cash,
        foreign_value: foreign_positions + foreign_cash,
        vega: 0.0,
    }
}

pub fn render(out: &StressOut) -> String {
    let mut md = out.meta.header(&out.title);
    let _ = writeln!(md, "Account: {}", out.account);
    render_current(&mut md, out);
    render_gaps(&mut md, out);
    render_stressed(&mut md, out);
    render_survivability(&mut md, out);
    render_verdict(&mut md, out);
    render_shocks(&mut md, out);
    if !out.missing.is_empty() {
        let _ = writeln!(
            md,
            "\n⚠️ No volatility estimate (left out of the gap): {}.",
            risk_data::missing_words(&out.missing, 10)
        );
    }
    md.push_str(&f::method_line(&out.method));
    md.push_str(&fx_lines(&out.fx_rates, &out.unconverted));
    md
}

fn render_current(md: &mut String, out: &StressOut) {
    let base = out.base_currency.as_str();
    let money = |v: f64| f::money(Some(v), base);
    let c = &out.current;
    md.push_str("\n## Current State\n");
    let _ = writeln!(md, "**NLV**: {}", f::money(c.net_liquidation, base));
    let _ = writeln!(md, "**Equity with Loan**: {}", money(c.equity));
    let _ = writeln!(
        md,
        "**Gross Position Value**: {}",
        money(c.gross_position_value)
    );
    let _ = writeln!(md, "**Initial Margin**: {}", money(c.init_margin));
    let _ = writeln!(md, "**Maint Margin**: {}", money(c.maint_margin));
    let _ = writeln!(md, "**Excess Liquidity**: {}", money(c.excess_liquidity));
    let _ = writeln!(md, "**Cushion**: {}", f::pct(c.cushion_pct));
}

fn render_gaps(md: &mut String, out: &StressOut) {
    let base = out.base_currency.as_str();
    if !out.gap.is_empty() {
        let _ = writeln!(md, "\n## Gaps\n");
        let rows: Vec<Vec<String>> = out
            .gap
            .iter()
            .take(TABLE_ROWS)
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::pct(Some(r.move_pct)),
                    if r.explicit {
                        "given".into()
                    } else {
                        f::pct_plain(r.daily_vol_pct, 2)
                    },
                    f::signed_money(Some(r.pnl), base),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Move", "Daily Vol", "P&L"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
            &rows,
        ));
        if out.gap.len() > TABLE_ROWS {
            let _ = writeln!(
                md,
                "\n_Largest {TABLE_ROWS} of {} positions shown; all are in the JSON answer and the totals._",
                out.gap.len()
            );
        }
    }
}

/// The stressed account of the drawdown and gap scenarios.
fn render_stressed(md: &mut String, out: &StressOut) {
    let base = out.base_currency.as_str();
    let money = |v: f64| f::money(Some(v), base);
    if let Some(s) = &out.stressed
        && out.scenario != Scenario::Preflight
    {
        let heading = match out.scenario {
            Scenario::Drawdown => format!("After -{:.2}% Drawdown (estimated)", s.drawdown_pct),
            _ => format!(
                "After the Gaps (estimated; {:.2}% of gross value)",
                s.drawdown_pct
            ),
        };
        let _ = writeln!(md, "\n## {heading}");
        let _ = writeln!(
            md,
            "**Estimated Loss**: {}",
            f::signed_money(Some(s.loss), base)
        );
        let _ = writeln!(md, "**Stressed NLV**: {}", money(s.stressed_equity));
        let _ = writeln!(md, "**Stressed Excess (Init)**: {}", money(s.excess_init));
        let _ = writeln!(md, "**Stressed Excess (Maint)**: {}", money(s.excess_maint));
    }
}

/// The drawdowns that restrict and liquidate, and the preflight curve.
fn render_survivability(md: &mut String, out: &StressOut) {
    let base = out.base_currency.as_str();
    let money = |v: f64| f::money(Some(v), base);
    md.push_str("\n## Survivability\n");
    let words = |pct: Option<u32>, exact: Option<f64>| match pct {
        Some(0) => "already breached (0%)".to_string(),
        Some(n) => format!(
            "~{n}.0%{}",
            exact.map_or(String::new(), |e| format!(" (linear break-even {e:.2}%)"))
        ),
        None => "not reached even at a 100% drawdown".to_string(),
    };
    let _ = writeln!(
        md,
        "**Drawdown that restricts buying power**: {}",
        words(
            out.drawdown_to_restriction_pct,
            out.restriction_break_even_pct
        )
    );
    let _ = writeln!(
        md,
        "**Drawdown that forces liquidation**: {}",
        words(
            out.drawdown_to_liquidation_pct,
            out.liquidation_break_even_pct
        )
    );
    if out.scenario == Scenario::Preflight && !out.curve.is_empty() {
        md.push_str("\n| Drawdown | Equity | Excess (Init) | Excess (Maint) | Status |\n|---:|---:|---:|---:|---|\n");
        for s in &out.curve {
            let status = if s.forced_liquidation {
                "🚨 liquidation"
            } else if s.buying_power_restricted {
                "⚠️ restricted"
            } else {
                "ok"
            };
            let _ = writeln!(
                md,
                "| {:.0}% | {} | {} | {} | {status} |",
                s.drawdown_pct,
                money(s.stressed_equity),
                money(s.excess_init),
                money(s.excess_maint)
            );
        }
    }
}

/// Whether the drawdown or gap scenario restricts or liquidates the account.
fn render_verdict(md: &mut String, out: &StressOut) {
    let money = |v: f64| f::money(Some(v), &out.base_currency);
    if let Some(s) = &out.stressed
        && out.scenario != Scenario::Preflight
    {
        let (what, breach) = match out.scenario {
            Scenario::Drawdown => (format!("a {:.0}% drawdown", s.drawdown_pct), "breaches"),
            _ => ("these gaps".to_string(), "breach"),
        };
        if s.buying_power_restricted {
            let _ = writeln!(
                md,
                "\n⚠️ BUYING POWER RESTRICTED: {what} {breach} initial margin by {}.",
                money(-s.excess_init)
            );
        }
        if s.forced_liquidation {
            let _ = writeln!(
                md,
                "\n🚨 FORCED LIQUIDATION: {what} {breach} maintenance margin by {}.",
                money(-s.excess_maint)
            );
        }
        if !s.buying_power_restricted && !s.forced_liquidation {
            let _ = writeln!(
                md,
                "\n✅ The account survives {what} without a margin restriction."
            );
        }
    }
}

fn render_shocks(md: &mut String, out: &StressOut) {
    let base = out.base_currency.as_str();
    let money = |v: f64| f::money(Some(v), base);
    if let Some(s) = &out.shocks {
        md.push_str("\n## Macro Shocks\n");
        md.push_str(&f::kv_table(&[
            (
                "Rates",
                format!(
                    "{:+} bp → {}",
                    s.rates_bps,
                    f::signed_money(Some(s.rates_pnl), base)
                ),
            ),
            (
                "Margin loan interest / year",
                f::signed_money(Some(s.financing_change_per_year), base),
            ),
            (
                "FX",
                format!(
                    "{} on {} foreign exposure → {}",
                    f::pct(Some(s.fx_pct)),
                    money(s.foreign_value),
                    f::signed_money(Some(s.fx_pnl), base)
                ),
            ),
            (
                "Volatility",
                format!(
                    "{} → VaR × {:.2}; P&L {}",
                    f::pct(Some(s.vol_pct)),
                    s.var_scale,
                    f::signed_money(Some(s.vol_pnl), base)
                ),
            ),
            ("Total shock P&L", f::signed_money(Some(s.total_pnl), base)),
            ("Equity after shocks", money(s.equity_after)),
            ("Excess (Maint) after shocks", money(s.excess_maint_after)),
        ]));
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &StressOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    let state = out
        .stressed
        .as_ref()
        .map(|s| {
            let verdict = if s.forced_liquidation {
                "FORCED LIQUIDATION"
            } else if s.buying_power_restricted {
                "buying power restricted"
            } else {
                "no margin breach"
            };
            f::headline(&[
                format!("loss {} {ccy}", f::number(Some(s.loss), 2)),
                format!(
                    "excess maintenance {} {ccy}",
                    f::number(Some(s.excess_maint), 2)
                ),
                verdict.to_string(),
            ])
        })
        .unwrap_or_default();
    f::headline(&[
        out.title.clone(),
        state,
        out.drawdown_to_liquidation_pct
            .map_or(String::new(), |d| format!("liquidation at ~{d}% drawdown")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shocks_parse_and_reject() {
        let s = parse_shocks("t", "kryx:-15, VLTX:+8%").unwrap();
        assert_eq!(s, vec![("KRYX".into(), -0.15), ("VLTX".into(), 0.08)]);
        for bad in [
            "KRYX",
            "KRYX:abc",
            "KRYX:-150",
            ":5",
            "KRYX:-5,KRYX:3",
            " , ",
        ] {
            let e = parse_shocks("t", bad).unwrap_err();
            assert!(
                e.message.contains("shock") || e.message.contains("twice"),
                "{bad}: {e}"
            );
        }
    }
    fn state(dd: f64, equity: f64, init: f64, maint: f64) -> StressedState {
        StressedState {
            drawdown_pct: dd,
            loss: -(120_675.0 - equity),
            stressed_equity: equity,
            init_margin: init,
            maint_margin: maint,
            excess_init: equity - init,
            excess_maint: equity - maint,
            buying_power_restricted: equity < init,
            forced_liquidation: equity < maint,
        }
    }

    fn base_out(scenario: Scenario, title: &str) -> StressOut {
        StressOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            scenario,
            current: CurrentState {
                net_liquidation: Some(120_675.0),
                equity: 120_675.0,
                gross_position_value: 211_716.0,
                init_margin: 63_514.8,
                maint_margin: 52_929.0,
                excess_liquidity: 67_746.0,
                cushion_pct: Some(56.1392),
            },
            drawdown_to_restriction_pct: Some(28),
            drawdown_to_liquidation_pct: Some(3),
            restriction_break_even_pct: Some(27.3458),
            liquidation_break_even_pct: Some(2.9157),
            stressed: None,
            curve: vec![],
            gap: vec![],
            sigma_multiplier: None,
            shocks: None,
            missing: vec![],
            method: "Margin requirements are taken to scale with position value.".into(),
            fx_rates: vec![],
            title: title.into(),
            unconverted: vec![],
        }
    }

    #[test]
    fn render_stress_test() {
        let preflight = StressOut {
            curve: vec![
                state(0.0, 120_675.0, 63_514.8, 52_929.0),
                state(1.0, 118_557.8, 62_879.7, 52_399.7),
                state(2.0, 116_440.7, 62_244.5, 51_870.4),
                state(3.0, 48_323.5, 61_609.4, 51_341.2),
            ],
            ..base_out(Scenario::Preflight, "Stress Test: Preflight (1% steps)")
        };
        let gap = StressOut {
            stressed: Some(state(14.5, 89_977.0, 54_300.0, 45_250.0)),
            gap: vec![
                GapRowOut {
                    symbol: "KRYX".into(),
                    move_pct: -15.0,
                    pnl: -9_752.4,
                    daily_vol_pct: None,
                    explicit: true,
                },
                GapRowOut {
                    symbol: "VLTX".into(),
                    move_pct: -6.42,
                    pnl: -2_060.82,
                    daily_vol_pct: Some(3.21),
                    explicit: false,
                },
            ],
            sigma_multiplier: Some(2.0),
            shocks: Some(ShocksOut {
                rates_bps: 100.0,
                fx_pct: -5.0,
                vol_pct: 50.0,
                rates_pnl: -1_850.0,
                financing_change_per_year: 910.5,
                fx_pnl: -730.0,
                vol_pnl: 0.0,
                var_scale: 1.5,
                total_pnl: -2_580.0,
                equity_value: 92_500.0,
                cash: -91_041.0,
                foreign_value: 14_600.0,
                equity_after: 87_397.0,
                excess_maint_after: 42_147.0,
                assumptions: vec!["Equities fall 2% per 100 bp of rates.".into()],
            }),
            missing: vec![Missing {
                symbol: "OMRA".into(),
                reason: "fewer than two daily bars".into(),
            }],
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            unconverted: vec!["HKD".into()],
            ..base_out(Scenario::Gap, "Stress Test: Custom Gap")
        };
        insta::assert_snapshot!(
            "render_stress_test",
            format!("{}\n---\n\n{}", render(&preflight), render(&gap))
        );
        insta::assert_snapshot!(
            "headline_stress_test",
            [headline(&preflight), headline(&gap)].join("\n")
        );
    }
}
