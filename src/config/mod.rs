//! Configuration: embedded defaults, the user's TOML file, then environment overrides
//! (design.md §1). An invalid file names the key and the line.
//!
//! OWNER: config/db helper (loading, env overrides, validation, tests). The struct shape below is
//! the contract other modules code against: add fields, don't rename.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The defaults, embedded in the binary and documented field by field.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub gateway: GatewaySection,
    /// Optional second gateway (e.g. a second IB login) for consolidation.
    #[serde(default)]
    pub secondary: Option<GatewaySection>,
    pub mcp: McpSection,
    pub data: DataSection,
    pub display: DisplaySection,
    pub thresholds: Thresholds,
    /// ETF or symbol → sector, used when contract details carry no industry.
    #[serde(default)]
    pub sectors: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    pub host: String,
    /// Absent: try 4001, 4002, 7496, 7497 in turn.
    #[serde(default)]
    pub port: Option<u16>,
    pub client_id: i32,
    #[serde(default)]
    pub account: Option<String>,
    /// 1 live, 2 frozen, 3 delayed, 4 delayed-frozen (live where subscribed, delayed otherwise).
    pub market_data_type: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpSection {
    /// Address the HTTP server binds. Anything but loopback requires `token`.
    pub bind: String,
    pub http_port: u16,
    /// Bearer token for HTTP (also `IBKR_COCKPIT_TOKEN`, `MCP_HTTP_TOKEN`).
    #[serde(default)]
    pub token: Option<String>,
    /// Unix socket path; default `$XDG_RUNTIME_DIR/ibkr-cockpit/mcp.sock`, else the data dir.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// Browser origins allowed to call the HTTP server (DNS-rebinding protection).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// SQLite file; default `$XDG_DATA_HOME/ibkr-cockpit/cockpit.db`.
    #[serde(default)]
    pub db_path: Option<PathBuf>,
    /// How long cached answers may be served while the gateway is down (seconds).
    pub cache_max_age_secs: u64,
    /// Live data older than this (seconds) is flagged stale even while connected.
    pub stale_after_secs: u64,
    /// Directory of thesis_config.json and risk_factors.json; default the config dir.
    #[serde(default)]
    pub config_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplaySection {
    /// Mask account ids in output (`U****1234`).
    pub mask_accounts: bool,
    /// Theme name (a file in themes/ or a built-in: dark, light, high-contrast).
    pub theme: String,
}

/// Alert thresholds (fractions, e.g. 0.10 = 10%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Cushion below this is "watch".
    pub cushion_watch: f64,
    /// Cushion below this is "danger".
    pub cushion_danger: f64,
    /// Margin utilisation (maint / equity) above this is "watch".
    pub margin_util_watch: f64,
    pub margin_util_danger: f64,
    /// Leverage (GPV/NLV) above this is "watch".
    pub leverage_watch: f64,
    pub leverage_danger: f64,
    /// A single position above this weight is a concentration alert.
    pub concentration_pct: f64,
}
