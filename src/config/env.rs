//! Environment overrides, applied after the file. Our own names (`IBKR_*`) win over the seed
//! project's (`IB_*`, `PRIMARY_ACCOUNT`, …), which are honoured so its users switch without
//! touching their environment. Empty values count as unset.

use super::{Config, ConfigError, GatewaySection};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

/// Which config key each variable sets, for `overridden` bookkeeping and docs.
/// Each entry: (key path, variables in order of precedence).
pub const VARIABLES: &[(&str, &[&str])] = &[
    ("gateway.host", &["IBKR_HOST", "IB_HOST"]),
    ("gateway.port", &["IBKR_PORT", "IB_PORT"]),
    ("gateway.client_id", &["IBKR_CLIENT_ID", "IB_CLIENT_ID"]),
    ("gateway.account", &["IBKR_ACCOUNT", "PRIMARY_ACCOUNT"]),
    (
        "gateway.market_data_type",
        &["IBKR_MARKET_DATA_TYPE", "IB_MARKET_DATA_TYPE"],
    ),
    ("secondary.host", &["IBKR_HOST_2"]),
    ("secondary.port", &["IBKR_PORT_2", "IB_PORT_2"]),
    (
        "secondary.client_id",
        &["IBKR_CLIENT_ID_2", "IB_CLIENT_ID_2"],
    ),
    (
        "secondary.account",
        &["IBKR_ACCOUNT_2", "SECONDARY_ACCOUNT"],
    ),
    ("mcp.http_port", &["MCP_HTTP_PORT"]),
    ("mcp.token", &["IBKR_COCKPIT_TOKEN", "MCP_HTTP_TOKEN"]),
    ("mcp.output", &["IBKR_MCP_OUTPUT"]),
    ("mcp.toolsets", &["IBKR_TOOLSETS"]),
    ("mcp.tools", &["IBKR_TOOLS"]),
    ("data.db_path", &["IBKR_DB_PATH"]),
    ("data.cache_max_age_secs", &["IBKR_CACHE_MAX_AGE"]),
];

/// Applies every set variable to `cfg`. Returns key path → the variable that set it, so later
/// validation errors can name the variable rather than the file.
pub(super) fn apply(
    cfg: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut set_by = BTreeMap::new();
    let lookup = |key: &str| -> Option<(String, String)> {
        let vars = VARIABLES.iter().find(|(k, _)| *k == key)?.1;
        vars.iter().find_map(|var| {
            let value = env(var)?;
            let value = value.trim();
            (!value.is_empty()).then(|| (var.to_string(), value.to_string()))
        })
    };

    // Primary gateway first, so a secondary created from the environment copies the result.
    if let Some((var, v)) = lookup("gateway.host") {
        cfg.gateway.host = v;
        set_by.insert("gateway.host".into(), var);
    }
    if let Some((var, v)) = lookup("gateway.port") {
        cfg.gateway.port = Some(parse_port(&var, &v)?);
        set_by.insert("gateway.port".into(), var);
    }
    if let Some((var, v)) = lookup("gateway.client_id") {
        cfg.gateway.client_id = parse(&var, &v, super::accepted_or("gateway.client_id"))?;
        set_by.insert("gateway.client_id".into(), var);
    }
    if let Some((var, v)) = lookup("gateway.account") {
        cfg.gateway.account = Some(v);
        set_by.insert("gateway.account".into(), var);
    }
    if let Some((var, v)) = lookup("gateway.market_data_type") {
        cfg.gateway.market_data_type =
            parse(&var, &v, super::accepted_or("gateway.market_data_type"))?;
        set_by.insert("gateway.market_data_type".into(), var);
    }

    let secondary_keys = [
        "secondary.host",
        "secondary.port",
        "secondary.client_id",
        "secondary.account",
    ];
    if secondary_keys.iter().any(|k| lookup(k).is_some()) {
        let primary = cfg.gateway.clone();
        // A variable for the second gateway creates it when the file has none: same host and
        // data type as the primary, next client id, port auto-detected unless given.
        let secondary = cfg.secondary.get_or_insert_with(|| GatewaySection {
            host: primary.host.clone(),
            port: None,
            client_id: primary.client_id.saturating_add(1),
            account: None,
            market_data_type: primary.market_data_type,
            quote_lines: primary.quote_lines,
            stall_timeout_secs: primary.stall_timeout_secs,
            symbol_stall_secs: primary.symbol_stall_secs,
            warm_history: primary.warm_history,
        });
        if let Some((var, v)) = lookup("secondary.host") {
            secondary.host = v;
            set_by.insert("secondary.host".into(), var);
        }
        if let Some((var, v)) = lookup("secondary.port") {
            secondary.port = Some(parse_port(&var, &v)?);
            set_by.insert("secondary.port".into(), var);
        }
        if let Some((var, v)) = lookup("secondary.client_id") {
            secondary.client_id = parse(&var, &v, super::accepted_or("secondary.client_id"))?;
            set_by.insert("secondary.client_id".into(), var);
        }
        if let Some((var, v)) = lookup("secondary.account") {
            secondary.account = Some(v);
            set_by.insert("secondary.account".into(), var);
        }
    }

    if let Some((var, v)) = lookup("mcp.http_port") {
        cfg.mcp.http_port = parse(&var, &v, super::accepted_or("mcp.http_port"))?;
        set_by.insert("mcp.http_port".into(), var);
    }
    if let Some((var, v)) = lookup("mcp.token") {
        cfg.mcp.token = Some(v);
        set_by.insert("mcp.token".into(), var);
    }
    if let Some((var, v)) = lookup("mcp.output") {
        cfg.mcp.output = v.parse().map_err(|message| ConfigError::Env {
            var: var.clone(),
            message,
        })?;
        set_by.insert("mcp.output".into(), var);
    }
    if let Some((var, v)) = lookup("mcp.toolsets") {
        cfg.mcp.toolsets = super::split_names(&v);
        set_by.insert("mcp.toolsets".into(), var);
    }
    if let Some((var, v)) = lookup("mcp.tools") {
        cfg.mcp.tools = super::split_names(&v);
        set_by.insert("mcp.tools".into(), var);
    }
    if let Some((var, v)) = lookup("data.db_path") {
        cfg.data.db_path = Some(PathBuf::from(v));
        set_by.insert("data.db_path".into(), var);
    }
    if let Some((var, v)) = lookup("data.cache_max_age_secs") {
        cfg.data.cache_max_age_secs =
            parse(&var, &v, super::accepted_or("data.cache_max_age_secs"))?;
        set_by.insert("data.cache_max_age_secs".into(), var);
    }
    Ok(set_by)
}

fn parse<T: FromStr>(var: &str, value: &str, expected: &str) -> Result<T, ConfigError> {
    value.parse().map_err(|_| ConfigError::Env {
        var: var.to_string(),
        message: format!("expected {expected}, found {value:?}"),
    })
}

/// Gateway ports: 0 is not a port anyone listens on, so it is rejected here too.
fn parse_port(var: &str, value: &str) -> Result<u16, ConfigError> {
    let expected = super::accepted_or("gateway.port");
    match parse::<u16>(var, value, expected)? {
        0 => Err(ConfigError::Env {
            var: var.to_string(),
            message: format!("expected {expected}, found {value:?}"),
        }),
        p => Ok(p),
    }
}
