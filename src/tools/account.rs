//! Account tools: summary, margin (summary | efficiency | headroom), list of accounts, P&L,
//! consolidated view across gateways.

use super::format::{self as f, Align};
use super::margin_math::{self, MarginInputs, Threshold};
use super::support::{self, FxUsed, Meta, resolve_account};
use super::{Answer, Tool, ToolContext, ToolError};
use crate::gateway::WhatIfOrder;
use crate::model::{AccountSnapshot, GatewayRole, tags};
use crate::store::LiveState;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Parameters of tools that only take an optional account.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountParam {
    /// Account id (or its masked form as shown in answers). Default: the primary gateway's first account.
    pub account: Option<String>,
}

/// Parameters of tools that take none.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

// ---------------------------------------------------------------------------------------------
// ibkr_get_account_summary

pub struct AccountSummary;

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountSummaryOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// Account id, masked unless `display.mask_accounts` is false.
    pub account: String,
    pub base_currency: String,
    pub net_liquidation: Option<f64>,
    pub gross_position_value: Option<f64>,
    pub total_cash: Option<f64>,
    pub buying_power: Option<f64>,
    pub available_funds: Option<f64>,
    pub excess_liquidity: Option<f64>,
    pub init_margin: Option<f64>,
    pub maint_margin: Option<f64>,
    pub equity_with_loan: Option<f64>,
    /// Cushion in percent (IB reports a fraction; 10.5 here means 10.5%).
    pub cushion_pct: Option<f64>,
    /// Gross position value / net liquidation.
    pub leverage: Option<f64>,
}

impl Tool for AccountSummary {
    const NAME: &'static str = "ibkr_get_account_summary";
    const GROUP: &'static str = "account";
    const DESCRIPTION: &'static str = "Account summary: NLV, gross position value, cash, buying power, available funds, excess liquidity, margin, cushion, leverage.";
    type Params = AccountParam;
    type Output = AccountSummaryOut;

    async fn run(
        ctx: &ToolContext,
        p: AccountParam,
    ) -> Result<Answer<AccountSummaryOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let ccy = acct.base_currency.as_str();
        let out = AccountSummaryOut {
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: ccy.to_string(),
            net_liquidation: f::json_num(acct.get(tags::NET_LIQUIDATION)),
            gross_position_value: f::json_num(acct.get(tags::GROSS_POSITION_VALUE)),
            total_cash: f::json_num(acct.get(tags::TOTAL_CASH_VALUE)),
            buying_power: f::json_num(acct.get(tags::BUYING_POWER)),
            available_funds: f::json_num(acct.get(tags::AVAILABLE_FUNDS)),
            excess_liquidity: f::json_num(acct.get(tags::EXCESS_LIQUIDITY)),
            init_margin: f::json_num(acct.get(tags::INIT_MARGIN_REQ)),
            maint_margin: f::json_num(acct.get(tags::MAINT_MARGIN_REQ)),
            equity_with_loan: f::json_num(acct.get(tags::EQUITY_WITH_LOAN)),
            cushion_pct: f::json_num(acct.get(tags::CUSHION).map(|c| f::round(c * 100.0, 4))),
            leverage: f::json_num(acct.leverage().map(|l| f::round(l, 4))),
        };
        let mut md = view.header(&format!("Account Summary: {}", out.account));
        md.push('\n');
        md.push_str(&f::kv_table(&[
            ("NLV", f::money(out.net_liquidation, ccy)),
            (
                "Gross Position Value",
                f::money(out.gross_position_value, ccy),
            ),
            ("Total Cash", f::money(out.total_cash, ccy)),
            ("Buying Power", f::money(out.buying_power, ccy)),
            ("Available Funds", f::money(out.available_funds, ccy)),
            ("Excess Liquidity", f::money(out.excess_liquidity, ccy)),
            ("Initial Margin", f::money(out.init_margin, ccy)),
            ("Maintenance Margin", f::money(out.maint_margin, ccy)),
            ("Cushion", f::pct_plain(out.cushion_pct, 2)),
            ("Leverage", f::times(out.leverage)),
            ("Base Currency", ccy.to_string()),
        ]));
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_margin

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
    pub net_liquidation: Option<f64>,
    pub equity_with_loan: Option<f64>,
    pub gross_position_value: Option<f64>,
    pub init_margin: Option<f64>,
    pub maint_margin: Option<f64>,
    pub available_funds: Option<f64>,
    pub excess_liquidity: Option<f64>,
    pub cushion_pct: Option<f64>,
    /// Maintenance requirement / equity with loan, percent.
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
    pub market_value: Option<f64>,
    /// Market value converted to the base currency.
    pub market_value_base: Option<f64>,
    /// Initial margin that closing the position would free (base currency, from what-if).
    pub init_margin_freed: Option<f64>,
    pub maint_margin_freed: Option<f64>,
    /// Initial margin freed / market value, percent.
    pub margin_pct_of_value: Option<f64>,
    /// Why figures are missing, when they are.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HeadroomRow {
    pub symbol: String,
    pub currency: String,
    pub price: Option<f64>,
    /// Initial margin per additional share, base currency (from a what-if BUY).
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
    pub available_funds: Option<f64>,
}

pub struct Margin;

/// What-if size used to measure per-share margin for headroom.
const HEADROOM_PROBE_SHARES: f64 = 100.0;

impl Tool for Margin {
    const NAME: &'static str = "ibkr_margin";
    const GROUP: &'static str = "account";
    const DESCRIPTION: &'static str = "Margin analysis: distance to a margin call (summary), per-symbol margin efficiency, or per-symbol headroom for more shares.";
    type Params = MarginParams;
    type Output = MarginOut;

    async fn run(ctx: &ToolContext, p: MarginParams) -> Result<Answer<MarginOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?.clone();
        let ccy = acct.base_currency.clone();
        let filter = match &p.symbol {
            Some(s) => Some(support::symbol(Self::NAME, s)?),
            None => None,
        };
        let mut out = MarginOut {
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            detail: p.detail,
            base_currency: ccy.clone(),
            summary: None,
            efficiency: None,
            headroom: None,
            available_funds: f::json_num(acct.get(tags::AVAILABLE_FUNDS)),
        };
        let title = match p.detail {
            MarginDetail::Summary => "Margin Summary",
            MarginDetail::Efficiency => "Margin Efficiency",
            MarginDetail::Headroom => "Margin Headroom",
        };
        let mut md = view.header(&format!("{title}: {}", out.account));
        md.push('\n');
        match p.detail {
            MarginDetail::Summary => {
                let s = margin_summary(&acct);
                md.push_str(&f::kv_table(&[
                    ("NLV", f::money(s.net_liquidation, &ccy)),
                    ("Equity with Loan", f::money(s.equity_with_loan, &ccy)),
                    ("Initial Margin", f::money(s.init_margin, &ccy)),
                    ("Maintenance Margin", f::money(s.maint_margin, &ccy)),
                    ("Available Funds", f::money(s.available_funds, &ccy)),
                    ("Excess Liquidity", f::money(s.excess_liquidity, &ccy)),
                    ("Cushion", f::pct_plain(s.cushion_pct, 2)),
                    (
                        "Margin Utilization",
                        f::pct_plain(s.margin_utilization_pct, 1),
                    ),
                ]));
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
                md.push_str(
                    "\n_Approximation: the whole book falls together in 1% steps and margin requirements scale with position values. \
                     Real requirements may rise in a sell-off._\n",
                );
                out.summary = Some(s);
            }
            MarginDetail::Efficiency => {
                let rows = efficiency(ctx, &view.snap, &acct, filter.as_deref()).await?;
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.symbol.clone(),
                            f::money(r.market_value, &r.currency),
                            f::money(r.market_value_base, &ccy),
                            f::money(r.init_margin_freed, &ccy),
                            f::money(r.maint_margin_freed, &ccy),
                            f::pct_plain(r.margin_pct_of_value, 1),
                        ]
                    })
                    .collect();
                md.push_str(&f::table(
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
                ));
                notes(&mut md, rows.iter().map(|r| (&r.symbol, &r.note)));
                md.push_str(
                    "\n_From what-if orders closing each position (no order is placed)._\n",
                );
                out.efficiency = Some(rows);
            }
            MarginDetail::Headroom => {
                let rows = headroom(ctx, &view.snap, &acct, filter.as_deref()).await?;
                let table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.symbol.clone(),
                            f::money(r.price, &r.currency),
                            f::money(r.init_margin_per_share, &ccy),
                            r.additional_shares
                                .map_or_else(|| f::NA.to_string(), |n| f::group(n as f64, 0)),
                        ]
                    })
                    .collect();
                let _ = writeln!(
                    md,
                    "**Available Funds**: {}\n",
                    f::money(out.available_funds, &ccy)
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
                out.headroom = Some(rows);
            }
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
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

// ---------------------------------------------------------------------------------------------
// ibkr_list_accounts

pub struct ListAccounts;

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountRow {
    pub account: String,
    /// `primary` or `secondary` (null when unknown).
    pub gateway: Option<String>,
    /// True for the default account of every `account?` parameter.
    pub default: bool,
    pub base_currency: String,
    pub net_liquidation: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListAccountsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub accounts: Vec<AccountRow>,
}

impl Tool for ListAccounts {
    const NAME: &'static str = "ibkr_list_accounts";
    const GROUP: &'static str = "account";
    const DESCRIPTION: &'static str = "All accounts on all connected gateways, primary/secondary marked, with base currency and NLV.";
    type Params = NoParams;
    type Output = ListAccountsOut;

    async fn run(ctx: &ToolContext, _p: NoParams) -> Result<Answer<ListAccountsOut>, ToolError> {
        let view = ctx.live()?;
        let default = view.snap.primary_account().map(|a| a.account.clone());
        let accounts: Vec<AccountRow> = view
            .snap
            .accounts
            .values()
            .map(|a| AccountRow {
                account: ctx.mask(&a.account),
                gateway: a.gateway.map(|g| g.as_str().to_string()),
                default: default.as_deref() == Some(a.account.as_str()),
                base_currency: a.base_currency.clone(),
                net_liquidation: f::json_num(a.net_liquidation()),
            })
            .collect();
        let mut md = view.header("Accounts");
        md.push('\n');
        let rows: Vec<Vec<String>> = accounts
            .iter()
            .map(|a| {
                vec![
                    if a.default {
                        format!("{} (default)", a.account)
                    } else {
                        a.account.clone()
                    },
                    a.gateway.clone().unwrap_or_else(|| f::NA.into()),
                    a.base_currency.clone(),
                    f::money(a.net_liquidation, &a.base_currency),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Account", "Gateway", "Base Currency", "NLV"],
            &[Align::Left, Align::Left, Align::Left, Align::Right],
            &rows,
        ));
        Ok(Answer {
            markdown: md,
            data: ListAccountsOut {
                meta: view.meta(),
                accounts,
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_get_account_pnl

pub struct AccountPnl;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PnlParams {
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
    /// Also list P&L per position (default false).
    #[serde(default)]
    pub by_position: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionPnl {
    pub symbol: String,
    /// Currency of the position's figures.
    pub currency: String,
    pub daily: Option<f64>,
    pub unrealized: Option<f64>,
    pub realized: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PnlOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub daily: Option<f64>,
    /// Daily P&L as a percent of NLV.
    pub daily_pct_of_nlv: Option<f64>,
    pub unrealized: Option<f64>,
    pub realized: Option<f64>,
    /// Present when `by_position` is true.
    pub positions: Option<Vec<PositionPnl>>,
}

impl Tool for AccountPnl {
    const NAME: &'static str = "ibkr_get_account_pnl";
    const GROUP: &'static str = "account";
    const DESCRIPTION: &'static str = "Daily, unrealized and realized P&L of an account (PnL subscription), optionally per position.";
    type Params = PnlParams;
    type Output = PnlOut;

    async fn run(ctx: &ToolContext, p: PnlParams) -> Result<Answer<PnlOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let ccy = acct.base_currency.as_str();
        let pnl = acct.pnl.unwrap_or_default();
        let nlv = acct.net_liquidation();
        let daily_pct = match (pnl.daily, nlv) {
            (Some(d), Some(n)) if n != 0.0 => Some(f::round(d / n * 100.0, 4)),
            _ => None,
        };
        let positions = p.by_position.then(|| {
            view.snap
                .positions_of(&acct.account)
                .map(|pos| PositionPnl {
                    symbol: pos.instrument.symbol.clone(),
                    currency: pos.instrument.currency.clone(),
                    daily: f::json_num(pos.daily_pnl),
                    unrealized: f::json_num(pos.unrealized_pnl),
                    realized: f::json_num(pos.realized_pnl),
                })
                .collect::<Vec<_>>()
        });
        let out = PnlOut {
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: ccy.to_string(),
            daily: f::json_num(pnl.daily),
            daily_pct_of_nlv: daily_pct,
            unrealized: f::json_num(pnl.unrealized),
            realized: f::json_num(pnl.realized),
            positions,
        };
        let mut md = view.header(&format!("P&L: {}", out.account));
        md.push('\n');
        let _ = writeln!(
            md,
            "**Daily**: {} ({} of NLV)",
            f::signed_money(out.daily, ccy),
            f::pct(out.daily_pct_of_nlv)
        );
        let _ = writeln!(
            md,
            "**Unrealized**: {}",
            f::signed_money(out.unrealized, ccy)
        );
        let _ = writeln!(md, "**Realized**: {}", f::signed_money(out.realized, ccy));
        if acct.pnl.is_none() {
            md.push_str(
                "\n_The PnL subscription has not reported yet: figures are N/A, not zero._\n",
            );
        }
        if let Some(rows) = &out.positions {
            md.push_str("\n## By Position\n");
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.symbol.clone(),
                        f::signed_money(r.daily, &r.currency),
                        f::signed_money(r.unrealized, &r.currency),
                        f::signed_money(r.realized, &r.currency),
                    ]
                })
                .collect();
            md.push_str(&f::table(
                &["Symbol", "Daily P&L", "Unrealized P&L", "Realized P&L"],
                &[Align::Left, Align::Right, Align::Right, Align::Right],
                &table,
            ));
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_consolidated_view

pub struct ConsolidatedView;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsolidatedParams {
    /// Currency to convert everything into (three letters). Default: the primary account's base currency.
    pub base_currency: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConsolidatedAccount {
    pub account: String,
    pub gateway: Option<String>,
    pub currency: String,
    pub net_liquidation: Option<f64>,
    /// NLV converted to the consolidation currency.
    pub net_liquidation_converted: Option<f64>,
    pub gross_position_value_converted: Option<f64>,
    pub cash_converted: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MergedPosition {
    pub symbol: String,
    pub currency: String,
    pub quantity: f64,
    pub market_value: Option<f64>,
    pub market_value_converted: Option<f64>,
    /// Number of accounts holding it.
    pub accounts: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConsolidatedOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub currency: String,
    pub accounts: Vec<ConsolidatedAccount>,
    pub total_net_liquidation: Option<f64>,
    pub total_gross_position_value: Option<f64>,
    pub total_cash: Option<f64>,
    pub positions: Vec<MergedPosition>,
    /// FX rates used (live quotes).
    pub fx_rates: Vec<FxUsed>,
    /// Currencies that could not be converted (excluded from totals).
    pub unconverted: Vec<String>,
}

impl Tool for ConsolidatedView {
    const NAME: &'static str = "ibkr_consolidated_view";
    const GROUP: &'static str = "account";
    const DESCRIPTION: &'static str = "All gateways' accounts aggregated into one currency with live FX (rates shown), positions merged by symbol.";
    type Params = ConsolidatedParams;
    type Output = ConsolidatedOut;

    async fn run(
        ctx: &ToolContext,
        p: ConsolidatedParams,
    ) -> Result<Answer<ConsolidatedOut>, ToolError> {
        let view = ctx.live()?;
        let snap = &view.snap;
        let base = match p.base_currency.as_deref().map(str::trim) {
            Some(c) if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
                c.to_ascii_uppercase()
            }
            Some(c) => {
                return Err(ToolError::new(format!(
                    "{}: `base_currency` must be a three-letter currency code such as CAD or USD; got \"{c}\"",
                    Self::NAME
                )));
            }
            None => snap
                .primary_account()
                .map(|a| a.base_currency.clone())
                .unwrap_or_else(|| "USD".into()),
        };
        // Every currency that appears, converted once.
        let mut rates: BTreeMap<String, Option<f64>> = BTreeMap::new();
        for a in snap.accounts.values() {
            rates.entry(a.base_currency.clone()).or_insert(None);
        }
        for pos in snap.positions.values() {
            rates.entry(pos.instrument.currency.clone()).or_insert(None);
        }
        for (ccy, rate) in rates.iter_mut() {
            *rate = support::fx_rate(ctx, snap, ccy, &base).await;
        }
        let conv = |v: Option<f64>, ccy: &str| -> Option<f64> {
            Some(v? * rates.get(ccy).copied().flatten()?)
        };
        let mut accounts = Vec::new();
        let (mut tot_nlv, mut tot_gpv, mut tot_cash) = (Some(0.0), Some(0.0), Some(0.0));
        for a in snap.accounts.values() {
            let c = a.base_currency.as_str();
            let nlv = conv(a.net_liquidation(), c);
            let gpv = conv(a.gross_position_value(), c);
            let cash = conv(a.get(tags::TOTAL_CASH_VALUE), c);
            tot_nlv = tot_nlv.zip(nlv).map(|(t, v)| t + v);
            tot_gpv = tot_gpv.zip(gpv).map(|(t, v)| t + v);
            tot_cash = tot_cash.zip(cash).map(|(t, v)| t + v);
            accounts.push(ConsolidatedAccount {
                account: ctx.mask(&a.account),
                gateway: a.gateway.map(|g| g.as_str().to_string()),
                currency: c.to_string(),
                net_liquidation: f::json_num(a.net_liquidation()),
                net_liquidation_converted: f::json_num(nlv),
                gross_position_value_converted: f::json_num(gpv),
                cash_converted: f::json_num(cash),
            });
        }
        let mut merged: BTreeMap<(String, String), MergedPosition> = BTreeMap::new();
        for pos in snap.positions.values().filter(|p| p.quantity != 0.0) {
            let key = (
                pos.instrument.symbol.clone(),
                pos.instrument.currency.clone(),
            );
            let m = merged.entry(key).or_insert_with(|| MergedPosition {
                symbol: pos.instrument.symbol.clone(),
                currency: pos.instrument.currency.clone(),
                quantity: 0.0,
                market_value: Some(0.0),
                market_value_converted: Some(0.0),
                accounts: 0,
            });
            m.quantity += pos.quantity;
            m.market_value = m.market_value.zip(pos.market_value).map(|(a, b)| a + b);
            m.market_value_converted = m
                .market_value_converted
                .zip(conv(pos.market_value, &pos.instrument.currency))
                .map(|(a, b)| a + b);
            m.accounts += 1;
        }
        let mut positions: Vec<MergedPosition> = merged.into_values().collect();
        positions.sort_by(|a, b| {
            let av = a.market_value_converted.map_or(0.0, f64::abs);
            let bv = b.market_value_converted.map_or(0.0, f64::abs);
            bv.total_cmp(&av).then_with(|| a.symbol.cmp(&b.symbol))
        });
        let fx_rates: Vec<FxUsed> = rates
            .iter()
            .filter(|(c, _)| **c != base)
            .filter_map(|(c, r)| {
                r.map(|rate| FxUsed {
                    pair: format!("{c}.{base}"),
                    rate,
                })
            })
            .collect();
        let unconverted: Vec<String> = rates
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        let out = ConsolidatedOut {
            meta: view.meta(),
            currency: base.clone(),
            total_net_liquidation: f::json_num(tot_nlv),
            total_gross_position_value: f::json_num(tot_gpv),
            total_cash: f::json_num(tot_cash),
            accounts,
            positions,
            fx_rates,
            unconverted,
        };
        let mut md = view.header(&format!("Consolidated View ({base})"));
        md.push('\n');
        md.push_str(&f::kv_table(&[
            ("Total NLV", f::money(out.total_net_liquidation, &base)),
            (
                "Total Gross Position Value",
                f::money(out.total_gross_position_value, &base),
            ),
            ("Total Cash", f::money(out.total_cash, &base)),
            ("Accounts", out.accounts.len().to_string()),
        ]));
        md.push_str("\n## Accounts\n");
        let rows: Vec<Vec<String>> = out
            .accounts
            .iter()
            .map(|a| {
                vec![
                    a.account.clone(),
                    a.gateway.clone().unwrap_or_else(|| f::NA.into()),
                    f::money(a.net_liquidation, &a.currency),
                    f::money(a.net_liquidation_converted, &base),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Account", "Gateway", "NLV", &format!("NLV ({base})")],
            &[Align::Left, Align::Left, Align::Right, Align::Right],
            &rows,
        ));
        md.push_str("\n## Positions (merged by symbol)\n");
        let rows: Vec<Vec<String>> = out
            .positions
            .iter()
            .map(|p| {
                vec![
                    p.symbol.clone(),
                    f::volume(Some(p.quantity)),
                    f::money(p.market_value, &p.currency),
                    f::money(p.market_value_converted, &base),
                    p.accounts.to_string(),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Symbol",
                "Quantity",
                "Market Value",
                &format!("Value ({base})"),
                "Accounts",
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
        md.push_str(&fx_lines(&out.fx_rates, &out.unconverted));
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

/// `**FX**: USD.CAD 1.3650 (live)` lines, plus what could not be converted.
pub fn fx_lines(rates: &[FxUsed], unconverted: &[String]) -> String {
    let mut s = String::new();
    if !rates.is_empty() {
        let list: Vec<String> = rates
            .iter()
            .map(|r| format!("{} {:.4}", r.pair, r.rate))
            .collect();
        let _ = writeln!(s, "\n**FX rates used (live)**: {}", list.join(", "));
    }
    if !unconverted.is_empty() {
        let _ = writeln!(
            s,
            "\n⚠️ No FX rate for {}: those amounts are left out of the totals.",
            unconverted.join(", ")
        );
    }
    s
}

/// Role label used in tables.
pub fn role_label(role: Option<GatewayRole>) -> &'static str {
    role.map_or("unknown", GatewayRole::as_str)
}
