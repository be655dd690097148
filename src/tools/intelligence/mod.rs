//! Intelligence tools: sector exposure, currency exposure, one position in depth and the
//! rebalance planner. Concentration, technicals and rebalance arithmetic come from `analytics/`
//! (and `live_data::technicals`); these tools gather the inputs and state their method.

pub mod currency;
pub mod position_detail;
pub mod rebalance_planner;
pub mod sector_exposure;

use schemars::JsonSchema;
use serde::Deserialize;

/// Rows of per-position tables shown in markdown for large books (JSON has all).
pub const TABLE_ROWS: usize = 25;

/// Parameters of the tools that only need an account.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountParams {
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}
