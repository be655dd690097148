//! Configuration: embedded defaults, the user's TOML file, then environment overrides
//! (design.md §1). An invalid file names the key and the line.
//!
//! The struct shape below is what every other module reads: add fields, don't rename (a user's
//! file names them).

mod env;
mod file;
mod paths;
mod validate;

pub use env::VARIABLES as ENV_VARIABLES;
pub use paths::{
    EnvLookup, config_dir, config_dir_in, data_dir, data_dir_in, default_config_path,
    default_config_path_in, default_db_path, runtime_socket_path, runtime_socket_path_in,
};
pub use validate::{Problem, check_mcp_surface};

use crate::gateway::GatewayConfig;
use crate::model::GatewayRole;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// How long the tool-call journal is kept in SQLite.
    #[serde(default)]
    pub journal: JournalSection,
    /// ETF or symbol → sector, used when contract details carry no industry.
    #[serde(default)]
    pub sectors: BTreeMap<String, String>,
    /// `[[alerts]]`: rules the cockpit watches (see `crate::alerts::rules`).
    #[serde(default)]
    pub alerts: Vec<crate::alerts::AlertConfig>,
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
    /// Market-data lines of the IB account (100 unless it bought more). The largest positions
    /// get streaming quotes within this budget; the rest are priced from portfolio updates.
    #[serde(default = "default_quote_lines")]
    pub quote_lines: usize,
    /// Seconds of total silence from the gateway (no answer to the heartbeat, no data) after
    /// which the connection is dropped and opened again. The state says `stalled` after 5 s.
    #[serde(default = "default_stall_timeout_secs")]
    pub stall_timeout_secs: u64,
    /// Seconds without a tick for one streamed symbol whose market is open after which that
    /// symbol's values are labelled stale (all of them silent: `stalled`). 0 turns it off.
    #[serde(default = "default_symbol_stall_secs")]
    pub symbol_stall_secs: u64,
    /// Fetch daily history for every holding in the background after connecting, so the
    /// first VaR or correlation answer covers the whole book.
    #[serde(default = "default_warm_history")]
    pub warm_history: bool,
}

fn default_warm_history() -> bool {
    true
}

fn default_stall_timeout_secs() -> u64 {
    STALL_TIMEOUT.as_secs()
}

fn default_symbol_stall_secs() -> u64 {
    SYMBOL_STALL.as_secs()
}

/// IB's default number of market-data lines per account.
fn default_quote_lines() -> usize {
    crate::gateway::DEFAULT_QUOTE_LINES
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
    /// Seconds a client may take to send a request's headers (also how long an idle
    /// keep-alive connection stays open); slower connections are closed.
    #[serde(default = "default_http_header_timeout_secs")]
    pub http_header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body once its headers are in (408 after).
    #[serde(default = "default_http_body_timeout_secs")]
    pub http_body_timeout_secs: u64,
    /// Seconds one HTTP request may take from headers to answer, tools included (408 after).
    #[serde(default = "default_http_request_timeout_secs")]
    pub http_request_timeout_secs: u64,
    /// Open HTTP connections served at once; more are answered 503 and closed.
    #[serde(default = "default_http_max_connections")]
    pub http_max_connections: u32,
    /// Open HTTP connections one peer address may hold; more are answered 503 and closed, so
    /// one client's slow connections cannot take everyone's slots.
    #[serde(default = "default_http_max_connections_per_peer")]
    pub http_max_connections_per_peer: u32,
    /// What an MCP tool result carries: `markdown` (text only), `structured`
    /// (`structuredContent` + `outputSchema`, the JSON also as text) or `both`.
    #[serde(default)]
    pub output: OutputMode,
    /// Tool groups exposed over MCP (empty: all). See `tools::catalog()` for the groups.
    #[serde(default)]
    pub toolsets: Vec<String>,
    /// Tools exposed over MCP by name, on top of `toolsets` (both empty: all).
    #[serde(default)]
    pub tools: Vec<String>,
}

/// What an MCP tool result carries. Claude Code shows the model `structuredContent` whenever a
/// result has it and drops the text, so the default for an LLM client is the markdown alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// One text block with the tool's markdown; no `outputSchema`, no `structuredContent`.
    #[default]
    Markdown,
    /// `structuredContent` and `outputSchema`, with the same JSON as text for older clients.
    Structured,
    /// The markdown as text plus `structuredContent` and `outputSchema`.
    Both,
}

impl OutputMode {
    pub const NAMES: &'static str = "markdown, structured, both";

    pub fn as_str(self) -> &'static str {
        match self {
            OutputMode::Markdown => "markdown",
            OutputMode::Structured => "structured",
            OutputMode::Both => "both",
        }
    }
}

impl std::str::FromStr for OutputMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "markdown" | "md" | "text" => Ok(OutputMode::Markdown),
            "structured" | "json" => Ok(OutputMode::Structured),
            "both" => Ok(OutputMode::Both),
            other => Err(format!(
                "unknown output mode {other:?}; accepted: {}",
                OutputMode::NAMES
            )),
        }
    }
}

/// Splits a comma-separated list (`account, risk`) into trimmed, non-empty names.
pub fn split_names(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

// Fallbacks for files written before these keys existed (default.toml sets the same values).
fn default_http_header_timeout_secs() -> u64 {
    5
}
fn default_http_body_timeout_secs() -> u64 {
    30
}
fn default_http_request_timeout_secs() -> u64 {
    90
}
fn default_http_max_connections() -> u32 {
    256
}
fn default_http_max_connections_per_peer() -> u32 {
    64
}

/// `[journal]`: the tool-call journal's retention, enforced continuously by its writer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalSection {
    /// Calls older than this many days are deleted.
    pub keep_days: u32,
    /// The oldest calls are deleted while the database uses more than this many megabytes.
    pub max_mb: u64,
}

impl Default for JournalSection {
    fn default() -> Self {
        JournalSection {
            keep_days: 30,
            max_mb: 200,
        }
    }
}

impl JournalSection {
    pub fn retention(&self) -> crate::store::db::Retention {
        crate::store::db::Retention {
            keep_days: self.keep_days.max(1),
            max_bytes: self.max_mb.max(1).saturating_mul(1024 * 1024),
        }
    }
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

/// A connection that delivers nothing at all for this long is treated as stalled and recycled.
/// IB sends account updates at least every few minutes and we hold live quote subscriptions, so
/// 20 s of silence while the socket stays open means the gateway is wedged.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A streamed symbol with no tick for this long while its market is open is labelled stale.
/// A liquid stock's bid or ask moves many times a second in regular hours; 30 s leaves room
/// for thin names without leaving a frozen quote unlabelled for long.
pub const SYMBOL_STALL: Duration = Duration::from_secs(30);

/// Why the configuration could not be loaded. Every variant renders as one line that says
/// where the problem is and what is accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// A problem in the user's file; `line` is 1-based.
    #[error("{}", render_file_error(file, *line, key.as_deref(), message))]
    File {
        file: String,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
    /// A bad environment override.
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    /// A value that did not come from the file or the environment (a built-in default that
    /// another setting made invalid).
    #[error("config: {key}: {message}")]
    Value { key: String, message: String },
    /// The embedded defaults do not parse (a build defect, caught by the tests).
    #[error("built-in default config is invalid: {0}")]
    Defaults(String),
}

fn render_file_error(file: &str, line: Option<usize>, key: Option<&str>, message: &str) -> String {
    let mut out = file.to_string();
    if let Some(line) = line {
        out.push_str(&format!(" line {line}"));
    }
    out.push_str(": ");
    if let Some(key) = key {
        out.push_str(key);
        out.push_str(": ");
    }
    out.push_str(message);
    out
}

/// What each key accepts, in words, for error messages. Keys of `[secondary]` share the
/// `[gateway]` descriptions.
pub fn accepted(key: &str) -> Option<&'static str> {
    let key = key
        .strip_prefix("secondary.")
        .map_or(key.to_string(), |k| format!("gateway.{k}"));
    Some(match key.as_str() {
        "gateway.host" => "a host name or IP address in quotes, e.g. \"127.0.0.1\"",
        "gateway.port" => "an integer 1–65535",
        "gateway.client_id" => "a whole number, 0 or more",
        "gateway.account" => "an account id in quotes, e.g. \"U1234567\"",
        "gateway.market_data_type" => {
            "an integer 1–4 (1 live, 2 frozen, 3 delayed, 4 delayed-frozen)"
        }
        "gateway.quote_lines" => {
            "a whole number of market-data lines, 1–10000 (your IB account's lines; 100 by default)"
        }
        "gateway.stall_timeout_secs" => {
            "a whole number of seconds, 6–3600 (longer than the 5 s heartbeat deadline; 20 by default)"
        }
        "gateway.symbol_stall_secs" => {
            "a whole number of seconds, 2–3600, or 0 to turn the per-symbol rule off (30 by default)"
        }
        "gateway.warm_history" => "true or false",
        "mcp.bind" => "an IP address in quotes, e.g. \"127.0.0.1\"",
        "mcp.http_port" => "an integer 0–65535 (0 = any free port)",
        "mcp.token" => "a string",
        "mcp.socket" => "a file path in quotes",
        "mcp.allowed_origins" => "a list of origins, e.g. [\"http://localhost:6274\"]",
        "mcp.http_header_timeout_secs"
        | "mcp.http_body_timeout_secs"
        | "mcp.http_request_timeout_secs" => "a whole number of seconds, at least 1",
        "mcp.http_max_connections" | "mcp.http_max_connections_per_peer" => {
            "a whole number of connections, at least 1"
        }
        "journal.keep_days" => "a whole number of days, at least 1",
        "journal.max_mb" => "a whole number of megabytes, at least 1",
        "mcp.output" => "\"markdown\", \"structured\" or \"both\"",
        "mcp.toolsets" => {
            "a list of tool groups, e.g. [\"account\", \"portfolio\", \"risk\"] (account, briefing, \
             portfolio, market_data, live_data, risk, intelligence, monitoring, orders)"
        }
        "mcp.tools" => "a list of tool names, e.g. [\"ibkr_quote\", \"ibkr_get_positions\"]",
        "data.db_path" | "data.config_dir" => "a path in quotes",
        "data.cache_max_age_secs" | "data.stale_after_secs" => "a whole number of seconds",
        "display.mask_accounts" => "true or false",
        "display.theme" => {
            "a theme name in quotes (dark, light, high-contrast, or a file in themes/)"
        }
        "thresholds.cushion_watch"
        | "thresholds.cushion_danger"
        | "thresholds.margin_util_watch"
        | "thresholds.margin_util_danger"
        | "thresholds.concentration_pct" => "a fraction between 0 and 1 (0.10 = 10%)",
        "thresholds.leverage_watch" | "thresholds.leverage_danger" => {
            "a number such as 2.0 (gross position value / NLV)"
        }
        k if k.starts_with("sectors.") => "a sector name in quotes, e.g. \"Technology\"",
        "gateway" | "mcp" | "data" | "display" | "thresholds" | "sectors" => "a [section] table",
        "alerts" => "[[alerts]] tables with kind, level, symbol, name, hysteresis, on_fire, bell",
        _ => return None,
    })
}

pub(crate) fn accepted_or(key: &str) -> &'static str {
    accepted(key).unwrap_or("a valid value")
}

/// Loads the configuration: embedded defaults, then the user file (`path`, or
/// `$XDG_CONFIG_HOME/ibkr-cockpit/config.toml`; a missing default file is fine, a missing
/// explicit one is an error), then environment overrides read through `env`, then validation.
pub fn load(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let (path, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (default_config_path_in(env), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let user = text.as_deref().map(|text| file::UserFile {
        name: path.display().to_string(),
        text,
    });
    let mut cfg = file::parse(DEFAULT_CONFIG_TOML, user.as_ref())?;
    let set_by = env::apply(&mut cfg, env)?;
    if let Err(p) = validate::validate(&cfg) {
        return Err(place_problem(p, &set_by, user.as_ref()));
    }
    Ok(cfg)
}

/// Says where an invalid value came from: the environment variable that set it, else its line
/// in the user's file, else (a default made invalid by another setting) just the key.
fn place_problem(
    p: Problem,
    set_by: &BTreeMap<String, String>,
    user: Option<&file::UserFile>,
) -> ConfigError {
    if let Some(var) = set_by.get(&p.key) {
        return ConfigError::Env {
            var: var.clone(),
            message: format!("{}: expected {}, found {}", p.key, p.expected, p.found),
        };
    }
    if let Some(file) = user
        && let Some(span) = file.value_span(&p.key)
    {
        let found = file.snippet(&span).unwrap_or(p.found);
        return ConfigError::File {
            file: file.name.clone(),
            line: file.line_of(span.start),
            key: Some(p.key),
            message: format!("expected {}, found {}", p.expected, found),
        };
    }
    ConfigError::Value {
        message: format!("expected {}, found {}", p.expected, p.found),
        key: p.key,
    }
}

impl Config {
    /// The embedded defaults alone (no file, no environment).
    pub fn defaults() -> Result<Config, ConfigError> {
        file::parse(DEFAULT_CONFIG_TOML, None)
    }

    /// Both gateways in the adapter's terms. The secondary, when configured, is `Secondary`.
    pub fn gateway_configs(&self) -> (GatewayConfig, Option<GatewayConfig>) {
        let convert = |role: GatewayRole, g: &GatewaySection| GatewayConfig {
            role,
            host: g.host.clone(),
            port: g.port,
            client_id: g.client_id,
            account: g.account.clone(),
            market_data_type: g.market_data_type,
            stall_timeout: Duration::from_secs(g.stall_timeout_secs),
            symbol_stall: Duration::from_secs(g.symbol_stall_secs),
            quote_lines: g.quote_lines,
            warm_history: g.warm_history,
        };
        (
            convert(GatewayRole::Primary, &self.gateway),
            self.secondary
                .as_ref()
                .map(|s| convert(GatewayRole::Secondary, s)),
        )
    }

    /// The SQLite file: `data.db_path`, else the default under the data dir.
    pub fn db_path(&self) -> PathBuf {
        self.data.db_path.clone().unwrap_or_else(default_db_path)
    }

    /// The Unix socket for MCP: `mcp.socket`, else the runtime default.
    pub fn socket_path(&self) -> PathBuf {
        self.mcp.socket.clone().unwrap_or_else(runtime_socket_path)
    }

    /// Where `thesis_config.json` and `risk_factors.json` live: `data.config_dir`, else the
    /// config dir.
    pub fn files_dir(&self) -> PathBuf {
        self.data.config_dir.clone().unwrap_or_else(config_dir)
    }
}

impl Default for Config {
    /// The embedded defaults. They are compiled in and covered by tests, so failing to parse
    /// them is a build defect, never something a user or a file can cause.
    fn default() -> Self {
        #[allow(clippy::expect_used)]
        Config::defaults().expect("embedded default config parses")
    }
}
