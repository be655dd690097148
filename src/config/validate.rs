//! Checks that need more than a type: ranges, orderings between thresholds, and the loopback
//! rule for the HTTP server. Each problem names its key, what is accepted and what was found;
//! `load` then says where the value came from (file line or environment variable).

use super::{Config, GatewaySection};
use std::net::IpAddr;

/// One invalid value.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Dotted key path, e.g. `thresholds.cushion_danger`.
    pub key: String,
    pub expected: String,
    pub found: String,
}

fn problem(key: &str, expected: impl Into<String>, found: impl ToString) -> Problem {
    Problem {
        key: key.to_string(),
        expected: expected.into(),
        found: found.to_string(),
    }
}

/// The first problem found, in file order (gateway, secondary, mcp, data, display, thresholds).
pub fn validate(cfg: &Config) -> Result<(), Problem> {
    gateway("gateway", &cfg.gateway)?;
    if let Some(s) = &cfg.secondary {
        gateway("secondary", s)?;
    }
    mcp(cfg)?;
    data(cfg)?;
    if cfg.display.theme.trim().is_empty() {
        return Err(problem(
            "display.theme",
            super::accepted_or("display.theme"),
            "\"\"",
        ));
    }
    thresholds(cfg)?;
    if let Some(k) = cfg.sectors.keys().find(|k| k.trim().is_empty()) {
        return Err(problem(
            "sectors",
            "symbol keys that are not empty",
            format!("{k:?}"),
        ));
    }
    crate::alerts::rules::compile(&cfg.alerts).map_err(|e| Problem {
        key: e.key,
        expected: e.expected,
        found: e.found,
    })?;
    Ok(())
}

fn gateway(section: &str, g: &GatewaySection) -> Result<(), Problem> {
    let key = |k: &str| format!("{section}.{k}");
    if g.host.trim().is_empty() {
        return Err(problem(
            &key("host"),
            super::accepted_or("gateway.host"),
            "\"\"",
        ));
    }
    if g.port == Some(0) {
        return Err(problem(&key("port"), super::accepted_or("gateway.port"), 0));
    }
    if g.client_id < 0 {
        return Err(problem(
            &key("client_id"),
            super::accepted_or("gateway.client_id"),
            g.client_id,
        ));
    }
    if !(1..=4).contains(&g.market_data_type) {
        return Err(problem(
            &key("market_data_type"),
            super::accepted_or("gateway.market_data_type"),
            g.market_data_type,
        ));
    }
    if !(1..=10_000).contains(&g.quote_lines) {
        return Err(problem(
            &key("quote_lines"),
            super::accepted_or("gateway.quote_lines"),
            g.quote_lines,
        ));
    }
    if !(6..=3600).contains(&g.stall_timeout_secs) {
        return Err(problem(
            &key("stall_timeout_secs"),
            super::accepted_or("gateway.stall_timeout_secs"),
            g.stall_timeout_secs,
        ));
    }
    if g.symbol_stall_secs != 0 && !(2..=3600).contains(&g.symbol_stall_secs) {
        return Err(problem(
            &key("symbol_stall_secs"),
            super::accepted_or("gateway.symbol_stall_secs"),
            g.symbol_stall_secs,
        ));
    }
    if let Some(a) = &g.account
        && a.trim().is_empty()
    {
        return Err(problem(
            &key("account"),
            super::accepted_or("gateway.account"),
            "\"\"",
        ));
    }
    Ok(())
}

fn mcp(cfg: &Config) -> Result<(), Problem> {
    let bind = cfg.mcp.bind.trim();
    let loopback = match bind {
        "localhost" => true,
        _ => match bind.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => {
                return Err(problem(
                    "mcp.bind",
                    super::accepted_or("mcp.bind"),
                    format!("{bind:?}"),
                ));
            }
        },
    };
    let has_token = cfg
        .mcp
        .token
        .as_deref()
        .is_some_and(|t| !t.trim().is_empty());
    if !loopback && !has_token {
        return Err(problem(
            "mcp.bind",
            "a loopback address (127.0.0.1, ::1, localhost) unless mcp.token (or \
             IBKR_COCKPIT_TOKEN) is set: anything else exposes the server to the network",
            format!("{bind:?} with no token"),
        ));
    }
    if let Some(o) = cfg.mcp.allowed_origins.iter().find(|o| o.trim().is_empty()) {
        return Err(problem(
            "mcp.allowed_origins",
            super::accepted_or("mcp.allowed_origins"),
            format!("{o:?}"),
        ));
    }
    check_mcp_surface(&cfg.mcp)?;
    http_limits(cfg)
}

/// Every name in `mcp.toolsets` is a tool group and every name in `mcp.tools` a tool; the
/// problem lists the valid names. Also run after command-line flags change these keys.
pub fn check_mcp_surface(m: &super::McpSection) -> Result<(), Problem> {
    let catalog = crate::tools::catalog();
    let groups: Vec<&str> = crate::model::ToolGroup::ALL
        .iter()
        .map(|g| g.as_str())
        .collect();
    if let Some(bad) = m
        .toolsets
        .iter()
        .find(|s| !groups.contains(&s.trim().to_ascii_lowercase().as_str()))
    {
        return Err(problem(
            "mcp.toolsets",
            format!("tool groups from: {}", groups.join(", ")),
            format!("{bad:?}"),
        ));
    }
    if let Some(bad) = m
        .tools
        .iter()
        .find(|n| !catalog.iter().any(|t| t.name == n.trim()))
    {
        let names: Vec<&str> = catalog.iter().map(|t| t.name).collect();
        return Err(problem(
            "mcp.tools",
            format!("tool names from: {}", names.join(", ")),
            format!("{bad:?}"),
        ));
    }
    Ok(())
}

/// A zero timeout would cut off every client; a body deadline past the request deadline would
/// never fire.
fn http_limits(cfg: &Config) -> Result<(), Problem> {
    let m = &cfg.mcp;
    for (key, v) in [
        ("mcp.http_header_timeout_secs", m.http_header_timeout_secs),
        ("mcp.http_body_timeout_secs", m.http_body_timeout_secs),
        ("mcp.http_request_timeout_secs", m.http_request_timeout_secs),
        (
            "mcp.http_max_connections",
            u64::from(m.http_max_connections),
        ),
        (
            "mcp.http_max_connections_per_peer",
            u64::from(m.http_max_connections_per_peer),
        ),
        ("journal.keep_days", u64::from(cfg.journal.keep_days)),
        ("journal.max_mb", cfg.journal.max_mb),
    ] {
        if v == 0 {
            return Err(problem(key, super::accepted_or(key), 0));
        }
    }
    if m.http_body_timeout_secs > m.http_request_timeout_secs {
        return Err(problem(
            "mcp.http_body_timeout_secs",
            format!(
                "a whole number of seconds, at most mcp.http_request_timeout_secs ({})",
                m.http_request_timeout_secs
            ),
            m.http_body_timeout_secs,
        ));
    }
    Ok(())
}

fn data(cfg: &Config) -> Result<(), Problem> {
    if cfg.data.stale_after_secs == 0 {
        return Err(problem(
            "data.stale_after_secs",
            "a whole number of seconds, at least 1",
            0,
        ));
    }
    for (key, path) in [
        ("data.db_path", &cfg.data.db_path),
        ("data.config_dir", &cfg.data.config_dir),
    ] {
        if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(problem(key, super::accepted_or(key), "\"\""));
        }
    }
    Ok(())
}

fn thresholds(cfg: &Config) -> Result<(), Problem> {
    let t = &cfg.thresholds;
    let fraction = |key: &str, v: f64| -> Result<(), Problem> {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(problem(key, "a fraction between 0 and 1 (0.10 = 10%)", v))
        }
    };
    fraction("thresholds.cushion_watch", t.cushion_watch)?;
    fraction("thresholds.cushion_danger", t.cushion_danger)?;
    fraction("thresholds.margin_util_watch", t.margin_util_watch)?;
    fraction("thresholds.margin_util_danger", t.margin_util_danger)?;
    fraction("thresholds.concentration_pct", t.concentration_pct)?;
    if t.concentration_pct == 0.0 {
        return Err(problem(
            "thresholds.concentration_pct",
            "a fraction above 0 and at most 1",
            0.0,
        ));
    }
    // A low cushion is bad, so the danger level sits below the watch level; utilisation and
    // leverage are bad when high, so their danger levels sit above.
    if t.cushion_danger >= t.cushion_watch {
        return Err(problem(
            "thresholds.cushion_danger",
            format!(
                "a fraction below thresholds.cushion_watch ({})",
                t.cushion_watch
            ),
            t.cushion_danger,
        ));
    }
    if t.margin_util_danger <= t.margin_util_watch {
        return Err(problem(
            "thresholds.margin_util_danger",
            format!(
                "a fraction above thresholds.margin_util_watch ({})",
                t.margin_util_watch
            ),
            t.margin_util_danger,
        ));
    }
    for (key, v) in [
        ("thresholds.leverage_watch", t.leverage_watch),
        ("thresholds.leverage_danger", t.leverage_danger),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(problem(
                key,
                "a leverage ratio above 0 (gross position value / NLV, e.g. 2.0)",
                v,
            ));
        }
    }
    if t.leverage_danger <= t.leverage_watch {
        return Err(problem(
            "thresholds.leverage_danger",
            format!(
                "a ratio above thresholds.leverage_watch ({})",
                t.leverage_watch
            ),
            t.leverage_danger,
        ));
    }
    Ok(())
}
