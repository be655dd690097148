//! Health checks shared by `ibkr_selftest` (a running process checks itself) and
//! `ibkr-cockpit doctor` (a fresh connection checks the setup): each check's verdict and, for
//! a problem, what to do about it, in one set of words.

use crate::model::{ConnState, GatewayStatus};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check: what was checked, the verdict, what was found, and what to do when it is not a pass.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Check {
    pub name: String,
    pub verdict: Verdict,
    pub detail: String,
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Check {
        Check {
            name: name.to_string(),
            verdict: Verdict::Pass,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.to_string(),
            verdict: Verdict::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name: name.to_string(),
            verdict: Verdict::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// What to do when the port answers but the API session does not come up.
pub fn api_session_fix(role: &str, why: &str, client_id: i32) -> String {
    format!(
        "{role}: the port accepts connections but the API session failed ({why}). In IB Gateway/TWS enable \"ActiveX and Socket Clients\", check \"Trusted IPs\" includes 127.0.0.1, and that client id {client_id} is free."
    )
}

/// What to do about delayed quotes.
pub fn delayed_fix(role: &str) -> String {
    format!(
        "{role}: quotes are delayed (no real-time market-data subscription for some symbols). Subscribe in Client Portal → Market Data Subscriptions for live prices; delayed data is labelled everywhere meanwhile."
    )
}

/// What to do when the gateway reports no accounts.
pub fn no_accounts_fix(role: &str) -> String {
    format!(
        "{role}: the gateway reports no managed accounts; log in to IB Gateway with a trading account."
    )
}

/// What to do when nothing answers on the gateway's port.
pub fn unreachable_fix(host: &str, port: u16) -> String {
    format!(
        "Nothing answers on {host}:{port}. Start IB Gateway or TWS with the API enabled on that port, or set IBKR_PORT to the right one."
    )
}

/// The connection check of a running gateway.
pub fn connection(role: &str, s: &GatewayStatus, now: crate::model::Millis) -> Check {
    let name = format!("{role} gateway");
    let age = crate::tools::format::age((now - s.since).max(0));
    match s.state {
        ConnState::Connected => Check::pass(
            &name,
            format!(
                "connected to {}:{} for {age} (client id {})",
                s.host, s.port, s.client_id
            ),
        ),
        ConnState::Stalled => Check::fail(
            &name,
            format!(
                "connected to {}:{} but not answering for {age}",
                s.host, s.port
            ),
            format!(
                "{role}: the gateway has stopped answering; it is reconnected automatically. If this persists, restart IB Gateway/TWS."
            ),
        ),
        ConnState::Connecting | ConnState::Reconnecting | ConnState::Disconnected => {
            let why = s
                .last_error
                .clone()
                .unwrap_or_else(|| s.state.label().to_string());
            let fix = if why.contains("refused") || why.contains("timed out") {
                unreachable_fix(&s.host, s.port)
            } else {
                api_session_fix(role, &why, s.client_id)
            };
            Check::fail(
                &name,
                format!(
                    "{} for {age} ({why}); {} failed attempt(s)",
                    s.state.label(),
                    s.failed_attempts
                ),
                fix,
            )
        }
    }
}
