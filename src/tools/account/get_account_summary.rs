//! `ibkr_get_account_summary`: NLV, gross position value, cash, buying power, funds, margin,
//! cushion and leverage of one account.

use super::AccountParam;
use crate::model::{ToolGroup, tags};
use crate::tools::format as f;
use crate::tools::support::{Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::Serialize;

pub struct AccountSummary;

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountSummaryOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// Account id, masked unless `display.mask_accounts` is false.
    pub account: String,
    pub base_currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub gross_position_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_cash: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub buying_power: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub available_funds: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_liquidity: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity_with_loan: Option<f64>,
    /// Cushion in percent (IB reports a fraction; 10.5 here means 10.5%).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cushion_pct: Option<f64>,
    /// Gross position value / net liquidation.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub leverage: Option<f64>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

impl Tool for AccountSummary {
    const NAME: &'static str = "ibkr_get_account_summary";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "Account summary: NLV, gross position value, cash, buying power, available funds, excess liquidity, margin, cushion, leverage.";
    type Params = AccountParam;
    type Output = AccountSummaryOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: AccountParam,
    ) -> Result<Answer<AccountSummaryOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let mut out = AccountSummaryOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: acct.base_currency.clone(),
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
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: one key/value table.
pub fn render(out: &AccountSummaryOut) -> String {
    let ccy = out.base_currency.as_str();
    let mut md = out
        .meta
        .header(&format!("Account Summary: {}", out.account));
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
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &AccountSummaryOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    f::headline(&[
        format!("NLV {} {ccy}", f::number(out.net_liquidation, 2)),
        format!(
            "excess liquidity {} {ccy}",
            f::number(out.excess_liquidity, 2)
        ),
        format!("cushion {}", f::pct_plain(out.cushion_pct, 2)),
        format!("leverage {}", f::times(out.leverage)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::support::StaleInfo;

    #[test]
    fn renders_the_summary_with_a_stale_banner_and_a_missing_value() {
        let out = AccountSummaryOut {
            warnings: Vec::new(),
            meta: Meta {
                as_of: "2026-05-03 17:17:44 UTC".into(),
                stale: Some(StaleInfo {
                    age_s: 5.0,
                    reason: "no gateway connection in this process (cache only)".into(),
                }),
            },
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            net_liquidation: Some(24_618.0),
            gross_position_value: Some(64_124.0),
            total_cash: Some(-39_506.0),
            buying_power: Some(2_777.0),
            available_funds: Some(416.66),
            excess_liquidity: Some(2_605.19),
            init_margin: Some(24_201.34),
            maint_margin: Some(22_012.81),
            equity_with_loan: Some(24_618.0),
            cushion_pct: Some(10.58),
            leverage: None,
        };
        insta::assert_snapshot!("render_get_account_summary", render(&out));
        insta::assert_snapshot!("headline_get_account_summary", [headline(&out)].join("\n"));
    }
}
