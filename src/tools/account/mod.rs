//! Account tools: summary, margin (summary | efficiency | headroom), the list of accounts, P&L,
//! and the consolidated view across gateways. `margin_math` is the drawdown model the margin
//! summary and the stress test share.

pub mod consolidated_view;
pub mod get_account_pnl;
pub mod get_account_summary;
pub mod list_accounts;
pub mod margin;
pub mod margin_math;

pub use crate::tools::format::fx_lines;
pub use margin::margin_summary;

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
