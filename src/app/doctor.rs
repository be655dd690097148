//! `ibkr-cockpit doctor`: check config, ports, gateway reachability, API version, accounts and
//! market-data permissions, and say what to fix. Output is for people: one line per fact, and
//! for each problem what to do.

use crate::config::Config;
use crate::gateway::{AUTO_DETECT_PORTS, GatewayConfig, GatewayHandle};
use crate::model::ConnState;
use crate::store::Store;
use crate::tools::monitoring::checks;
use std::fmt::Write as _;
use std::time::Duration;

/// The verdict: the text to print and whether everything needed works.
pub struct DoctorReport {
    pub text: String,
    pub ok: bool,
}

/// Finds the first port that accepts a TCP connection: the configured one, or the usual four.
async fn reachable_port(host: &str, port: Option<u16>) -> Result<u16, String> {
    let candidates: Vec<u16> = match port {
        Some(p) => vec![p],
        None => AUTO_DETECT_PORTS.to_vec(),
    };
    let mut refused = Vec::new();
    for p in &candidates {
        let attempt = tokio::time::timeout(
            Duration::from_millis(800),
            tokio::net::TcpStream::connect((host, *p)),
        )
        .await;
        match attempt {
            Ok(Ok(_)) => return Ok(*p),
            Ok(Err(e)) => refused.push(format!("{p} ({e})")),
            Err(_) => refused.push(format!("{p} (timed out)")),
        }
    }
    let ports = refused.join(", ");
    Err(match port {
        Some(_) => format!(
            "Nothing is listening on {host}:{ports}. Start IB Gateway or TWS with the API enabled on that port, or set IBKR_PORT to the right one."
        ),
        None => format!(
            "No gateway found on {host}: tried {ports}. Start IB Gateway or TWS with the API enabled, or set IBKR_PORT."
        ),
    })
}

/// Checks one gateway and appends its section to `out`. Returns false when it is unusable.
async fn check_gateway(cfg: GatewayConfig, out: &mut String, problems: &mut Vec<String>) -> bool {
    let role = cfg.role.as_str();
    let port = match reachable_port(&cfg.host, cfg.port).await {
        Ok(p) => p,
        Err(line) => {
            let _ = writeln!(out, "{role} gateway: NOT REACHABLE");
            problems.push(line);
            return false;
        }
    };
    let _ = writeln!(out, "{role} gateway: reachable at {}:{port}", cfg.host);
    let store = Store::in_memory();
    let handle = GatewayHandle::spawn(
        GatewayConfig {
            port: Some(port),
            // A check, not a session: no history to warm.
            warm_history: false,
            ..cfg.clone()
        },
        store.clone(),
    );
    let synced = handle.wait_synced(Duration::from_secs(10)).await;
    let snap = store.snapshot();
    handle.shutdown();

    let status = snap.gateways.get(&cfg.role).cloned().unwrap_or_default();
    if status.state != ConnState::Connected || !synced {
        let why = status
            .last_error
            .unwrap_or_else(|| "no answer to the API handshake".into());
        let _ = writeln!(out, "  API session: FAILED ({why})");
        if crate::gateway::is_too_old(&why) {
            problems.push(format!("{role}: {why}"));
            return false;
        }
        problems.push(checks::api_session_fix(role, &why, cfg.client_id));
        return false;
    }
    let version = status
        .server_version
        .map(|v| v.to_string())
        .unwrap_or_else(|| "unknown".into());
    let _ = writeln!(out, "  server version: {version}");
    let _ = writeln!(out, "  client id: {}", status.client_id);
    let _ = writeln!(out, "  accounts: {}", status.accounts.join(", "));
    let _ = writeln!(out, "  market data: {}", status.market_data_mode.label());
    if status.market_data_mode.is_delayed() {
        problems.push(checks::delayed_fix(role));
    }
    for acct in snap
        .accounts
        .values()
        .filter(|a| a.gateway == Some(cfg.role))
    {
        let nlv = acct
            .net_liquidation()
            .map(|v| format!("{v:.2} {}", acct.base_currency))
            .unwrap_or_else(|| "N/A".into());
        let count = snap.positions_of(&acct.account).count();
        let _ = writeln!(out, "  {}: NLV {nlv}, {count} positions", acct.account);
    }
    if status.accounts.is_empty() {
        problems.push(checks::no_accounts_fix(role));
    }
    true
}

/// Runs every check. `ok` is false when the primary gateway is unusable.
pub async fn run(config: &Config, config_source: &str) -> DoctorReport {
    let mut out = String::new();
    let mut problems = Vec::new();
    let _ = writeln!(out, "config: {config_source}");
    // What is already running decides whether a sidecar bridges or connects on its own.
    let running = super::daemon::running_report(config).await;
    out.push_str(&running);
    let (primary, secondary) = config.gateway_configs();
    let primary_ok = check_gateway(primary, &mut out, &mut problems).await;
    if let Some(sec) = secondary {
        check_gateway(sec, &mut out, &mut problems).await;
    }
    if problems.is_empty() {
        let _ = writeln!(out, "\nAll checks passed.");
    } else {
        let _ = writeln!(out, "\nTo fix:");
        for p in &problems {
            let _ = writeln!(out, "- {p}");
        }
    }
    // Short when there is nothing to talk to: the config used, what is running, the fix.
    if !primary_ok && !out.contains("API session") {
        let line = problems.first().cloned().unwrap_or_default();
        return DoctorReport {
            text: format!("config: {config_source}\n{running}{line}"),
            ok: false,
        };
    }
    DoctorReport {
        text: out,
        ok: primary_ok,
    }
}
