//! Account tools: summary, margin (summary | efficiency | headroom), the list of accounts, P&L,
//! the consolidated view across gateways, the margin ladder and the margin history. `margin_math` is the drawdown model the margin
//! summary and the stress test share.

pub mod consolidated_view;
pub mod get_account_pnl;
pub mod get_account_summary;
pub mod list_accounts;
pub mod margin;
pub mod margin_history;
pub mod margin_ladder;
pub mod margin_math;

use schemars::JsonSchema;
use serde::Deserialize;

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
