//! `ibkr_consolidated_view`: every gateway's accounts aggregated into one currency with live FX
//! (rates shown), positions merged by symbol.

use crate::model::{ToolGroup, tags};
use crate::store::LiveState;
use crate::tools::format::{self as f, Align};
use crate::tools::params::values::currency_code;
use crate::tools::support::{FxRates, FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    /// NLV converted to the consolidation currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation_converted: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub gross_position_value_converted: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash_converted: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MergedPosition {
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
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
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_net_liquidation: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_gross_position_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_cash: Option<f64>,
    pub positions: Vec<MergedPosition>,
    /// FX rates used (live quotes).
    pub fx_rates: Vec<FxUsed>,
    /// Currencies that could not be converted (excluded from totals).
    pub unconverted: Vec<String>,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

impl Tool for ConsolidatedView {
    const NAME: &'static str = "ibkr_consolidated_view";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "All gateways' accounts aggregated into one currency with live FX (rates shown), positions merged by symbol.";
    type Params = ConsolidatedParams;
    type Output = ConsolidatedOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: ConsolidatedParams,
    ) -> Result<Answer<ConsolidatedOut>, ToolError> {
        let view = ctx.live()?;
        let snap = &view.snap;
        let base = match p.base_currency.as_deref() {
            Some(c) => currency_code(Self::NAME, "base_currency", c)?,
            None => snap
                .primary_account()
                .map(|a| a.base_currency.clone())
                .unwrap_or_else(|| "USD".into()),
        };
        // Every account base and position currency, each fetched once.
        let currencies = snap
            .accounts
            .values()
            .map(|a| a.base_currency.clone())
            .chain(
                snap.positions
                    .values()
                    .map(|p| p.instrument.currency.clone()),
            );
        let rates = FxRates::fetch(ctx, snap, currencies, &base).await;
        let (accounts, totals) = account_rows(ctx, snap, &rates);
        let positions = merged_positions(snap, &rates);
        let (fx_rates, unconverted) = rates.used(&base);
        let mut out = ConsolidatedOut {
            method: method_words(&base),
            warnings: Vec::new(),
            meta: view.meta(),
            currency: base,
            total_net_liquidation: f::json_num(totals.net_liquidation),
            total_gross_position_value: f::json_num(totals.gross_position_value),
            total_cash: f::json_num(totals.cash),
            accounts,
            positions,
            fx_rates,
            unconverted,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// Converted totals over every account; `None` when any account's figure cannot be converted.
struct Totals {
    net_liquidation: Option<f64>,
    gross_position_value: Option<f64>,
    cash: Option<f64>,
}

/// One row per account, and the converted totals of NLV, gross position value and cash.
fn account_rows(
    ctx: &ToolContext,
    snap: &LiveState,
    rates: &FxRates,
) -> (Vec<ConsolidatedAccount>, Totals) {
    let mut accounts = Vec::new();
    let mut totals = Totals {
        net_liquidation: Some(0.0),
        gross_position_value: Some(0.0),
        cash: Some(0.0),
    };
    for a in snap.accounts.values() {
        let c = a.base_currency.as_str();
        let nlv = rates.conv(a.net_liquidation(), c);
        let gpv = rates.conv(a.gross_position_value(), c);
        let cash = rates.conv(a.get(tags::TOTAL_CASH_VALUE), c);
        totals.net_liquidation = totals.net_liquidation.zip(nlv).map(|(t, v)| t + v);
        totals.gross_position_value = totals.gross_position_value.zip(gpv).map(|(t, v)| t + v);
        totals.cash = totals.cash.zip(cash).map(|(t, v)| t + v);
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
    (accounts, totals)
}

/// Every account's positions merged by symbol and currency, largest converted value first.
fn merged_positions(snap: &LiveState, rates: &FxRates) -> Vec<MergedPosition> {
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
            .zip(rates.conv(pos.market_value, &pos.instrument.currency))
            .map(|(a, b)| a + b);
        m.accounts += 1;
    }
    let mut positions: Vec<MergedPosition> = merged.into_values().collect();
    positions.sort_by(|a, b| {
        let av = a.market_value_converted.map_or(0.0, f64::abs);
        let bv = b.market_value_converted.map_or(0.0, f64::abs);
        bv.total_cmp(&av).then_with(|| a.symbol.cmp(&b.symbol))
    });
    positions
}

/// The answer's markdown: totals, the accounts, the merged positions and the FX rates used.
pub fn render(out: &ConsolidatedOut) -> String {
    let base = out.currency.as_str();
    let mut md = out.meta.header(&format!("Consolidated View ({base})"));
    md.push('\n');
    md.push_str(&f::kv_table(&[
        ("Total NLV", f::money(out.total_net_liquidation, base)),
        (
            "Total Gross Position Value",
            f::money(out.total_gross_position_value, base),
        ),
        ("Total Cash", f::money(out.total_cash, base)),
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
                f::money(a.net_liquidation_converted, base),
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
                f::money(p.market_value_converted, base),
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
    md.push_str(&f::fx_lines(&out.fx_rates, &out.unconverted));
    md.push_str(&f::method_line(&out.method));
    md
}

/// How the accounts are added up, in the currency `base`.
fn method_words(base: &str) -> String {
    format!(
        "each account's NLV, gross position value and cash converted to {base} at the FX rates listed; positions of the same contract merged across accounts, their market values converted the same way; an amount with no rate is left out of the totals"
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &ConsolidatedOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!("{} account(s)", out.accounts.len()),
        format!(
            "NLV {} {}",
            f::number(out.total_net_liquidation, 2),
            out.currency
        ),
        format!("{} positions", out.positions.len()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_totals_accounts_positions_and_fx() {
        let out = ConsolidatedOut {
            method: method_words("CAD"),
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            currency: "CAD".into(),
            accounts: vec![
                ConsolidatedAccount {
                    account: "U****4321".into(),
                    gateway: Some("primary".into()),
                    currency: "CAD".into(),
                    net_liquidation: Some(24_618.0),
                    net_liquidation_converted: Some(24_618.0),
                    gross_position_value_converted: Some(64_124.0),
                    cash_converted: Some(-39_506.0),
                },
                ConsolidatedAccount {
                    account: "U****8765".into(),
                    gateway: Some("secondary".into()),
                    currency: "EUR".into(),
                    net_liquidation: Some(10_000.0),
                    net_liquidation_converted: None,
                    gross_position_value_converted: None,
                    cash_converted: None,
                },
            ],
            total_net_liquidation: None,
            total_gross_position_value: None,
            total_cash: None,
            positions: vec![MergedPosition {
                symbol: "KRYX".into(),
                currency: "USD".into(),
                quantity: 440.0,
                market_value: Some(23_839.2),
                market_value_converted: Some(32_659.7),
                accounts: 2,
            }],
            fx_rates: vec![FxUsed {
                pair: "USD.CAD".into(),
                rate: 1.37,
            }],
            unconverted: vec!["EUR".into()],
        };
        insta::assert_snapshot!("render_consolidated_view", render(&out));
        insta::assert_snapshot!("headline_consolidated_view", [headline(&out)].join("\n"));
    }
}
