//! The one test harness: bounded steps, polling instead of sleeping, one float comparator, one
//! adapter configuration, and a world builder per front door.
//!
//! - `world`: simulator + real adapter over TCP + store + `ToolContext` (tools, MCP, REST).
//! - `gateway`: simulator + adapter + store, and waits on the store (adapter behaviour).
//! - `sim`: simulator + the official `ibapi::Client` (wire protocol).
//! - `tui`: the cockpit's app state over a world, rendered with ratatui's `TestBackend`.
//! - `daemon`: the real binary (`serve`, `mcp`) in temporary directories.

pub mod daemon;
pub mod gateway;
pub mod sim;
pub mod tui;
pub mod world;

use ibkr_cockpit::gateway::GatewayConfig;
use ibkr_cockpit::model::GatewayRole;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;

/// Upper bound for any single step of a test (start, connect, sync, one call, one wait).
pub const STEP: Duration = Duration::from_secs(30);

/// How often `eventually` polls a condition that has no change notification.
const POLL: Duration = Duration::from_millis(50);

/// The adapter's configuration for a simulator on `port`, as a user's default config gives it
/// (market-data type 4, default line budget). Tests adjust single fields.
pub fn gateway_config(role: GatewayRole, port: u16, client_id: i32) -> GatewayConfig {
    GatewayConfig {
        role,
        host: "127.0.0.1".into(),
        port: Some(port),
        client_id,
        account: None,
        market_data_type: 4,
        stall_timeout: Duration::from_secs(60),
        // Tests run at any hour and some simulators never tick: the per-symbol rule would
        // depend on the wall clock. `gateway_symbol_stall` tests it on a fixed clock.
        symbol_stall: Duration::ZERO,
        quote_lines: ibkr_cockpit::gateway::DEFAULT_QUOTE_LINES,
        // Off so a test's count of historical requests is its own; `gateway_warm` turns it on.
        warm_history: false,
    }
}

/// Polls `f` until it returns `Some`, for at most `STEP`; panics naming `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let polled = tokio::time::timeout(STEP, async {
        loop {
            if let Some(v) = f().await {
                return v;
            }
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    match polled {
        Ok(v) => v,
        Err(_) => panic!("timed out after {STEP:?} waiting for {what}"),
    }
}

/// `|a - b| <= abs_tol + rel_tol * |b|`: the one float comparison of the suite.
pub fn approx(a: f64, b: f64, abs_tol: f64, rel_tol: f64) -> bool {
    (a - b).abs() <= abs_tol + rel_tol * b.abs()
}

/// A JSON number equal to `expected` to the cent (tools, IB and the simulator round money to
/// cents); `what` names the value in the failure.
pub fn assert_close(actual: &Value, expected: f64, what: &str) {
    let Some(got) = actual.as_f64() else {
        panic!("{what}: expected a number, got {actual}")
    };
    assert!(
        approx(got, expected, 0.01, 1e-9),
        "{what}: tool says {got}, simulator says {expected}"
    );
}
