//! Test harness for the MCP front doors: a simulated gateway on a loopback port, the real
//! adapter connected to it over TCP, and the `ToolContext` every front door serves.
//! Prices are frozen (no ticks) so a tool's answer and the simulator's book can be compared.

use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{GatewayConfig, GatewayHandle, Gateways};
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::{self, ToolContext};
use std::sync::Arc;
use std::time::Duration;

/// Upper bound for any single step of a test (connect, sync, one call).
pub const STEP: Duration = Duration::from_secs(30);

pub struct World {
    pub ctx: ToolContext,
    pub sim: SimHandle,
    pub gateway: GatewayHandle,
}

impl World {
    /// The simulated book's primary account figures.
    pub fn sim_account(&self) -> ibkr_cockpit::sim::SimAccountView {
        let view = self.sim.world();
        let id = self.sim.account_id();
        view.accounts
            .iter()
            .find(|a| a.account == id)
            .cloned()
            .or_else(|| view.accounts.first().cloned())
            .expect("the simulator has an account")
    }

    pub async fn shutdown(self) {
        self.gateway.shutdown();
        self.sim.shutdown().await;
    }
}

/// The embedded default configuration (masking on, loopback).
pub fn default_config() -> Config {
    toml::from_str(DEFAULT_CONFIG_TOML).expect("embedded defaults parse")
}

/// The default configuration with MCP results in `output` mode.
pub fn config_with_output(output: ibkr_cockpit::config::OutputMode) -> Config {
    let mut config = default_config();
    config.mcp.output = output;
    config
}

/// Starts the simulator (seed 7, frozen prices) and the adapter, and waits for the first sync.
pub async fn start_world() -> World {
    start_world_with(default_config()).await
}

pub async fn start_world_with(config: Config) -> World {
    let sim = tokio::time::timeout(
        STEP,
        SimGateway::start(SimConfig {
            tick_interval: None,
            ..SimConfig::default()
        }),
    )
    .await
    .expect("sim starts in time")
    .expect("sim starts");
    let store = Store::in_memory();
    let gateway = GatewayHandle::spawn(
        GatewayConfig {
            role: GatewayRole::Primary,
            host: "127.0.0.1".into(),
            port: Some(sim.port()),
            client_id: 17,
            account: None,
            market_data_type: 4,
            stall_timeout: Duration::from_secs(60),
            quote_lines: ibkr_cockpit::gateway::DEFAULT_QUOTE_LINES,
        },
        store.clone(),
    );
    assert!(
        gateway.wait_synced(STEP).await,
        "adapter synced with the simulator"
    );
    let ctx = ToolContext {
        store,
        gateways: Some(Gateways {
            primary: gateway.clone(),
            secondary: None,
        }),
        config: Arc::new(config),
        remote: None,
    };
    World { ctx, sim, gateway }
}

pub fn has_tool(name: &str) -> bool {
    tools::catalog().iter().any(|t| t.name == name)
}

/// Float equality to a cent (the tools round money to cents).
pub fn assert_close(actual: &serde_json::Value, expected: f64, what: &str) {
    let got = actual
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {actual}"));
    assert!(
        (got - expected).abs() <= 0.01 + expected.abs() * 1e-9,
        "{what}: tool says {got}, simulator says {expected}"
    );
}
