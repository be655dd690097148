//! `ibkr_list_accounts`: every account on every connected gateway, the default one marked.

use super::NoParams;
use crate::model::ToolGroup;
use crate::tools::format::{self as f, Align};
use crate::tools::support::Meta;
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::Serialize;

pub struct ListAccounts;

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccountRow {
    pub account: String,
    /// `primary` or `secondary` (null when unknown).
    pub gateway: Option<String>,
    /// True for the default account of every `account?` parameter.
    pub default: bool,
    pub base_currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListAccountsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub accounts: Vec<AccountRow>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

impl Tool for ListAccounts {
    const NAME: &'static str = "ibkr_list_accounts";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "All accounts on all connected gateways, primary/secondary marked, with base currency and NLV.";
    type Params = NoParams;
    type Output = ListAccountsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

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
        let mut out = ListAccountsOut {
            warnings: Vec::new(),
            meta: view.meta(),
            accounts,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: one table row per account.
pub fn render(out: &ListAccountsOut) -> String {
    let mut md = out.meta.header("Accounts");
    md.push('\n');
    let rows: Vec<Vec<String>> = out
        .accounts
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
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &ListAccountsOut) -> String {
    use crate::tools::format as f;
    let list: Vec<String> = out
        .accounts
        .iter()
        .map(|a| {
            format!(
                "{} NLV {} {}",
                a.account,
                f::number(a.net_liquidation, 2),
                a.base_currency
            )
        })
        .collect();
    f::headline(&[
        format!("{} account(s)", out.accounts.len()),
        list.join(", "),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_accounts_with_the_default_marked() {
        let out = ListAccountsOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            accounts: vec![
                AccountRow {
                    account: "U****4321".into(),
                    gateway: Some("primary".into()),
                    default: true,
                    base_currency: "CAD".into(),
                    net_liquidation: Some(24_618.0),
                },
                AccountRow {
                    account: "U****8765".into(),
                    gateway: None,
                    default: false,
                    base_currency: "USD".into(),
                    net_liquidation: None,
                },
            ],
        };
        insta::assert_snapshot!("render_list_accounts", render(&out));
        insta::assert_snapshot!("headline_list_accounts", [headline(&out)].join("\n"));
    }
}
