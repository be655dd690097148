//! `ibkr_margin`: distance to a margin call (summary), per-symbol margin efficiency, or
//! per-symbol headroom for more shares — the last two measured with what-if orders, never placed.

use super::margin_math::{self, MarginInputs, Threshold};
use crate::gateway::WhatIfOrder;
use crate::model::{AccountSnapshot, ToolGroup, tags};
use crate::store::LiveState;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Which margin analysis to run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MarginDetail {
    /// Distance to a margin call: excess liquidity, cushion, % drawdown to buying-power restriction and to forced liquidation.
    #[default]
    Summary,
    /// Per symbol: margin requirement vs market value (what closing it would free, via what-if).
    Efficiency,
    /// Per held symbol: how many more shares fit before initial margin is exhausted (via what-if).
    Headroom,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarginParams {
    /// `summary` (default), `efficiency` or `headroom`.
    #[serde(default)]
    pub detail: MarginDetail,
    /// Restrict efficiency/headroom to one held symbol.
    pub symbol: Option<String>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarginSummary {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity_with_loan: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub gross_position_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub available_funds: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_liquidity: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cushion_pct: Option<f64>,
    /// Maintenance requirement / equity with loan, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub margin_utilization_pct: Option<f64>,
    /// First whole-percent book drawdown at which buying power is restricted (0 = already; null = not within 100%).
    pub drawdown_to_restriction_pct: Option<u32>,
    /// First whole-percent book drawdown that forces liquidation (0 = already; null = not within 100%).
    pub drawdown_to_liquidation_pct: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EfficiencyRow {
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value: Option<f64>,
    /// Market value converted to the base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value_base: Option<f64>,
    /// Initial margin that closing the position would free (base currency, from what-if).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin_freed: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin_freed: Option<f64>,
    /// Initial margin freed / market value, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub margin_pct_of_value: Option<f64>,
    /// Why figures are missing, when they are.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HeadroomRow {
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    /// Initial margin per additional share, base currency (from a what-if BUY).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin_per_share: Option<f64>,
    /// Whole shares that fit in the available funds.
    pub additional_shares: Option<i64>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarginOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub detail: MarginDetail,
    pub base_currency: String,
    pub summary: Option<MarginSummary>,
    pub efficiency: Option<Vec<EfficiencyRow>>,
    pub headroom: Option<Vec<HeadroomRow>>,
    /// Available funds used for headroom (base currency).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub available_funds: Option<f64>,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct Margin;

/// What-if size used to measure per-share margin for headroom.
const HEADROOM_PROBE_SHARES: f64 = 100.0;

impl Tool for Margin {
    const NAME: &'static str = "ibkr_margin";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "Margin analysis: distance to a margin call (summary), per-symbol margin efficiency, or per-symbol headroom for more shares.";
    type Params = MarginParams;
    type Output = MarginOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: MarginParams) -> Result<Answer<MarginOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?.clone();
        let filter = match &p.symbol {
            Some(s) => Some(support::symbol(Self::NAME, s)?),
            None => None,
        };
        let mut out = MarginOut {
            method: method_words(p.detail),
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            detail: p.detail,
            base_currency: acct.base_currency.clone(),
            summary: None,
            efficiency: None,
            headroom: None,
            available_funds: f::json_num(acct.get(tags::AVAILABLE_FUNDS)),
        };
        match p.detail {
            MarginDetail::Summary => out.summary = Some(margin_summary(&acct)),
            MarginDetail::Efficiency => {
                out.efficiency = Some(efficiency(ctx, &view.snap, &acct, filter.as_deref()).await?)
            }
            MarginDetail::Headroom => {
                out.headroom = Some(headroom(ctx, &view.snap, &acct, filter.as_deref()).await?)
            }
        }
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: the section of the analysis asked for.
pub fn render(out: &MarginOut) -> String {
    let title = match out.detail {
        MarginDetail::Summary => "Margin Summary",
        MarginDetail::Efficiency => "Margin Efficiency",
        MarginDetail::Headroom => "Margin Headroom",
    };
    let mut md = out.meta.header(&format!("{title}: {}", out.account));
    md.push('\n');
    let ccy = out.base_currency.as_str();
    if let Some(s) = &out.summary {
        md.push_str(&summary_section(s, ccy));
    }
    if let Some(rows) = &out.efficiency {
        md.push_str(&efficiency_section(rows, ccy));
    }
    if let Some(rows) = &out.headroom {
        md.push_str(&headroom_section(rows, out.available_funds, ccy));
    }
    md.push_str(&f::method_line(&out.method));
    md
}

fn summary_section(s: &MarginSummary, ccy: &str) -> String {
    let mut md = f::kv_table(&[
        ("NLV", f::money(s.net_liquidation, ccy)),
        ("Equity with Loan", f::money(s.equity_with_loan, ccy)),
        ("Initial Margin", f::money(s.init_margin, ccy)),
        ("Maintenance Margin", f::money(s.maint_margin, ccy)),
        ("Available Funds", f::money(s.available_funds, ccy)),
        ("Excess Liquidity", f::money(s.excess_liquidity, ccy)),
        ("Cushion", f::pct_plain(s.cushion_pct, 2)),
        (
            "Margin Utilization",
            f::pct_plain(s.margin_utilization_pct, 1),
        ),
    ]);
    md.push_str("\n## Distance to a Margin Call\n");
    let _ = writeln!(
        md,
        "**Drawdown before buying power is restricted**: {}",
        breach_words(s.drawdown_to_restriction_pct)
    );
    let _ = writeln!(
        md,
        "**Drawdown before forced liquidation**: {}",
        breach_words(s.drawdown_to_liquidation_pct)
    );
    md
}

fn efficiency_section(rows: &[EfficiencyRow], ccy: &str) -> String {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                f::money(r.market_value, &r.currency),
                f::money(r.market_value_base, ccy),
                f::money(r.init_margin_freed, ccy),
                f::money(r.maint_margin_freed, ccy),
                f::pct_plain(r.margin_pct_of_value, 1),
            ]
        })
        .collect();
    let mut md = f::table(
        &[
            "Symbol",
            "Market Value",
            "Value (base)",
            "Init Margin Freed",
            "Maint Margin Freed",
            "Margin % of Value",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &table,
    );
    notes(&mut md, rows.iter().map(|r| (&r.symbol, &r.note)));
    md.push_str("\n_From what-if orders closing each position (no order is placed)._\n");
    md
}

fn headroom_section(rows: &[HeadroomRow], available_funds: Option<f64>, ccy: &str) -> String {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                f::money(r.price, &r.currency),
                f::money(r.init_margin_per_share, ccy),
                r.additional_shares
                    .map_or_else(|| f::NA.to_string(), |n| f::group(n as f64, 0)),
            ]
        })
        .collect();
    let mut md = format!(
        "**Available Funds**: {}\n\n",
        f::money(available_funds, ccy)
    );
    md.push_str(&f::table(
        &[
            "Symbol",
            "Price",
            "Init Margin / Share",
            "Additional Shares",
        ],
        &[Align::Left, Align::Right, Align::Right, Align::Right],
        &table,
    ));
    notes(&mut md, rows.iter().map(|r| (&r.symbol, &r.note)));
    md.push_str("\n_Per-share margin from a what-if BUY (no order is placed); assumes the rest of the book is unchanged._\n");
    md
}

fn breach_words(pct: Option<u32>) -> String {
    match pct {
        Some(0) => "already breached (0%)".into(),
        Some(n) => format!("~{n}.0%"),
        None => "not reached even at a 100% drawdown".into(),
    }
}

fn notes<'a>(md: &mut String, rows: impl Iterator<Item = (&'a String, &'a Option<String>)>) {
    for (sym, note) in rows {
        if let Some(n) = note {
            let _ = writeln!(md, "\n- {sym}: {n}");
        }
    }
}

/// Summary mode figures, with the drawdown distances from `margin_math`.
pub fn margin_summary(acct: &AccountSnapshot) -> MarginSummary {
    let nlv = acct.get(tags::NET_LIQUIDATION);
    let elv = acct.get(tags::EQUITY_WITH_LOAN).or(nlv);
    let gpv = acct.get(tags::GROSS_POSITION_VALUE);
    let init = acct.get(tags::INIT_MARGIN_REQ);
    let maint = acct.get(tags::MAINT_MARGIN_REQ);
    let (restrict, liq) = match (elv, gpv, init, maint) {
        (Some(equity), Some(gross_position_value), Some(init_margin), Some(maint_margin)) => {
            let m = MarginInputs {
                equity,
                gross_position_value,
                init_margin,
                maint_margin,
            };
            (
                margin_math::first_breach_pct(&m, Threshold::BuyingPowerRestricted),
                margin_math::first_breach_pct(&m, Threshold::ForcedLiquidation),
            )
        }
        _ => (None, None),
    };
    MarginSummary {
        net_liquidation: f::json_num(nlv),
        equity_with_loan: f::json_num(elv),
        gross_position_value: f::json_num(gpv),
        init_margin: f::json_num(init),
        maint_margin: f::json_num(maint),
        available_funds: f::json_num(acct.get(tags::AVAILABLE_FUNDS)),
        excess_liquidity: f::json_num(acct.get(tags::EXCESS_LIQUIDITY)),
        cushion_pct: f::json_num(acct.get(tags::CUSHION).map(|c| f::round(c * 100.0, 4))),
        margin_utilization_pct: f::json_num(acct.margin_utilization())
            .map(|u| f::round(u * 100.0, 4)),
        drawdown_to_restriction_pct: restrict,
        drawdown_to_liquidation_pct: liq,
    }
}

/// Held positions of the account, optionally only `symbol` (an error when it is not held).
fn held<'a>(
    tool: &str,
    snap: &'a LiveState,
    acct: &'a AccountSnapshot,
    symbol: Option<&str>,
) -> Result<Vec<&'a crate::model::Position>, ToolError> {
    let all: Vec<_> = snap
        .positions_of(&acct.account)
        .filter(|p| p.quantity != 0.0)
        .collect();
    match symbol {
        None => Ok(all),
        Some(s) => {
            let one: Vec<_> = all
                .iter()
                .copied()
                .filter(|p| p.instrument.symbol.eq_ignore_ascii_case(s))
                .collect();
            if one.is_empty() {
                let held: Vec<&str> = all.iter().map(|p| p.instrument.symbol.as_str()).collect();
                Err(ToolError::new(format!(
                    "{tool}: `{s}` is not held in this account. Held symbols: {}",
                    held.join(", ")
                )))
            } else {
                Ok(one)
            }
        }
    }
}

async fn efficiency(
    ctx: &ToolContext,
    snap: &LiveState,
    acct: &AccountSnapshot,
    symbol: Option<&str>,
) -> Result<Vec<EfficiencyRow>, ToolError> {
    let positions = held(Margin::NAME, snap, acct, symbol)?;
    let req = ctx.requests()?;
    let mut rows = Vec::with_capacity(positions.len());
    for p in positions {
        let ccy = p.instrument.currency.clone();
        let rate = support::fx_rate(ctx, snap, &ccy, &acct.base_currency).await;
        let mv = p.market_value;
        let mv_base = match (mv, rate) {
            (Some(v), Some(r)) => Some(v * r),
            _ => None,
        };
        let order = WhatIfOrder {
            account: acct.account.clone(),
            symbol: p.instrument.symbol.clone(),
            action: if p.quantity > 0.0 {
                crate::model::Side::Sell
            } else {
                crate::model::Side::Buy
            },
            quantity: p.quantity.abs(),
            order_type: crate::model::OrderType::Mkt,
            limit_price: None,
        };
        let (init_freed, maint_freed, note) = match req.what_if(&order).await {
            Ok(w) => (
                w.init_margin_change.map(|c| -c),
                w.maint_margin_change.map(|c| -c),
                None,
            ),
            Err(e) => (None, None, Some(format!("what-if failed: {e}"))),
        };
        let ratio = match (init_freed, mv_base) {
            (Some(m), Some(v)) if v != 0.0 => Some(f::round(m / v.abs() * 100.0, 4)),
            _ => None,
        };
        rows.push(EfficiencyRow {
            symbol: p.instrument.symbol.clone(),
            currency: ccy,
            market_value: f::json_num(mv),
            market_value_base: f::json_num(mv_base),
            init_margin_freed: f::json_num(init_freed),
            maint_margin_freed: f::json_num(maint_freed),
            margin_pct_of_value: ratio,
            note,
        });
    }
    Ok(rows)
}

async fn headroom(
    ctx: &ToolContext,
    snap: &LiveState,
    acct: &AccountSnapshot,
    symbol: Option<&str>,
) -> Result<Vec<HeadroomRow>, ToolError> {
    let positions = held(Margin::NAME, snap, acct, symbol)?;
    let req = ctx.requests()?;
    let available = acct.get(tags::AVAILABLE_FUNDS);
    let mut rows = Vec::with_capacity(positions.len());
    for p in positions {
        let order = WhatIfOrder {
            account: acct.account.clone(),
            symbol: p.instrument.symbol.clone(),
            action: crate::model::Side::Buy,
            quantity: HEADROOM_PROBE_SHARES,
            order_type: crate::model::OrderType::Mkt,
            limit_price: None,
        };
        let (per_share, note) = match req.what_if(&order).await {
            Ok(w) => match w.init_margin_change {
                Some(c) => (Some(c / HEADROOM_PROBE_SHARES), None),
                None => (
                    None,
                    Some("what-if returned no initial margin change".to_string()),
                ),
            },
            Err(e) => (None, Some(format!("what-if failed: {e}"))),
        };
        let shares = match (available, per_share) {
            (Some(a), Some(m)) if m > 0.0 => Some((a.max(0.0) / m).floor() as i64),
            _ => None,
        };
        let price = p.current_price(snap.quotes.get(&p.instrument.symbol));
        rows.push(HeadroomRow {
            symbol: p.instrument.symbol.clone(),
            currency: p.instrument.currency.clone(),
            price: f::json_num(price),
            init_margin_per_share: f::json_num(per_share.map(|x| f::round(x, 4))),
            additional_shares: shares,
            note,
        });
    }
    Ok(rows)
}

/// How the answer for `detail` is measured.
fn method_words(detail: MarginDetail) -> String {
    match detail {
        MarginDetail::Summary => "cushion = excess liquidity / NLV (IB's Cushion); utilization = maintenance requirement / equity with loan value; drawdown to restriction / liquidation = the first whole-percent fall of every position (requirements scaling with position value) at which equity drops below the initial / maintenance requirement (the whole book falls together; real requirements may rise in a sell-off)".to_string(),
        MarginDetail::Efficiency => "margin freed = IB's what-if initial and maintenance margin change for closing each whole position at market (never placed); efficiency = initial margin freed / market value in the base currency".to_string(),
        MarginDetail::Headroom => format!("initial margin per share = IB's what-if initial margin change for buying {HEADROOM_PROBE_SHARES} shares at market (never placed) / {HEADROOM_PROBE_SHARES}; additional shares = available funds / margin per share, rounded down"),
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &MarginOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    let funds = format!(
        "available funds {} {ccy}",
        f::number(out.available_funds, 2)
    );
    match (&out.summary, &out.efficiency, &out.headroom) {
        (Some(s), _, _) => f::headline(&[
            format!(
                "excess liquidity {} {ccy}",
                f::number(s.excess_liquidity, 2)
            ),
            format!("cushion {}", f::pct_plain(s.cushion_pct, 2)),
            s.drawdown_to_liquidation_pct.map_or(String::new(), |d| {
                format!("forced liquidation at ~{d}% drawdown")
            }),
        ]),
        (_, Some(rows), _) => f::headline(&[
            format!("margin efficiency of {} position(s)", rows.len()),
            funds,
        ]),
        (_, _, Some(rows)) => {
            f::headline(&[format!("headroom for {} position(s)", rows.len()), funds])
        }
        _ => funds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(detail: MarginDetail) -> MarginOut {
        MarginOut {
            method: method_words(detail),
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            detail,
            base_currency: "CAD".into(),
            summary: None,
            efficiency: None,
            headroom: None,
            available_funds: Some(416.66),
        }
    }

    #[test]
    fn renders_the_distance_to_a_margin_call() {
        let summary = MarginOut {
            summary: Some(MarginSummary {
                net_liquidation: Some(24_618.0),
                equity_with_loan: Some(24_618.0),
                gross_position_value: Some(64_124.0),
                init_margin: Some(24_201.34),
                maint_margin: Some(22_012.81),
                available_funds: Some(416.66),
                excess_liquidity: Some(2_605.19),
                cushion_pct: Some(10.58),
                margin_utilization_pct: Some(89.4175),
                drawdown_to_restriction_pct: Some(0),
                drawdown_to_liquidation_pct: Some(5),
            }),
            ..out(MarginDetail::Summary)
        };
        insta::assert_snapshot!("render_margin", render(&summary));
        insta::assert_snapshot!("headline_margin", [headline(&summary)].join("\n"));
    }

    #[test]
    fn efficiency_and_headroom_list_failed_what_ifs_as_notes() {
        let efficiency = MarginOut {
            efficiency: Some(vec![EfficiencyRow {
                symbol: "KRYX".into(),
                currency: "USD".into(),
                market_value: Some(18_421.2),
                market_value_base: Some(25_236.04),
                init_margin_freed: None,
                maint_margin_freed: None,
                margin_pct_of_value: None,
                note: Some("what-if failed: timed out".into()),
            }]),
            ..out(MarginDetail::Efficiency)
        };
        let md = render(&efficiency);
        assert!(md.starts_with("# Margin Efficiency: U****4321\n"), "{md}");
        assert!(md.contains("\n- KRYX: what-if failed: timed out\n"), "{md}");
        let headroom = MarginOut {
            headroom: Some(vec![HeadroomRow {
                symbol: "VLTX".into(),
                currency: "USD".into(),
                price: Some(94.32),
                init_margin_per_share: Some(32.3),
                additional_shares: Some(12),
                note: None,
            }]),
            ..out(MarginDetail::Headroom)
        };
        let md = render(&headroom);
        assert!(md.contains("**Available Funds**: $416.66 CAD\n\n|"), "{md}");
        assert!(
            md.contains("| VLTX | $94.32 USD | $32.30 CAD | 12 |"),
            "{md}"
        );
    }
}
