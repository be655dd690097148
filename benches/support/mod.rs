//! Shared set-up for the benches that call tools: a simulated gateway on loopback (frozen
//! prices), the real adapter synced to it, every position in the store, and a `ToolContext`
//! with the default config. (Not a bench target itself: Cargo only picks up `benches/*.rs`.)
//! Each bench uses part of it.
#![allow(dead_code)]

use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{DEFAULT_QUOTE_LINES, GatewayConfig, GatewayHandle, Gateways};
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::ToolContext;
use std::sync::Arc;
use std::time::Duration;

/// Sync and "every position arrived" bounds: generous, a bench is not a test of speed here.
const SETUP_BOUND: Duration = Duration::from_secs(120);

/// Starts a simulator with `positions` generated symbols (`None`: the seed book) and returns
/// it with a tool context over `store`, synced to it.
pub async fn synced_context(positions: Option<usize>, store: Store) -> (SimHandle, ToolContext) {
    let sim = SimGateway::start(SimConfig {
        positions,
        tick_interval: None,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let gateway = GatewayHandle::spawn(gateway_config(sim.port()), store.clone());
    assert!(gateway.wait_synced(SETUP_BOUND).await, "adapter synced");
    let want = positions.unwrap_or(5);
    let all = tokio::time::timeout(SETUP_BOUND, async {
        while store.snapshot().positions.len() < want {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(all.is_ok(), "every position reached the store");
    (sim, tool_context(store, gateway))
}

/// Tools over `store` and `gateway`, with the default config.
pub fn tool_context(store: Store, gateway: GatewayHandle) -> ToolContext {
    let config: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("defaults parse");
    ToolContext {
        store,
        gateways: Some(Gateways {
            primary: gateway,
            secondary: None,
        }),
        config: Arc::new(config),
        remote: None,
    }
}

/// The adapter's configuration for a simulator on `port`: the user defaults, no history warming.
pub fn gateway_config(port: u16) -> GatewayConfig {
    GatewayConfig {
        role: GatewayRole::Primary,
        host: "127.0.0.1".into(),
        port: Some(port),
        client_id: 17,
        account: None,
        market_data_type: 4,
        stall_timeout: Duration::from_secs(600),
        // This simulator does not tick; the per-symbol rule would fire in market hours.
        symbol_stall: Duration::ZERO,
        quote_lines: DEFAULT_QUOTE_LINES,
        warm_history: false,
    }
}

/// A store with `clock` and an in-memory SQLite (bar cache, journal, briefing snapshots).
pub fn store_with_db(clock: Clock) -> Store {
    Store::new(clock, Some(Db::in_memory().expect("in-memory database")))
}
