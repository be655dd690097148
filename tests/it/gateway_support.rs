//! Shared helpers for the gateway integration tests: a simulator, an adapter pointed at it,
//! and bounded waits on the store.


use ibkr_cockpit::gateway::{GatewayConfig, GatewayHandle};
use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::{LiveState, Store};
use std::time::Duration;

pub fn config(port: u16) -> GatewayConfig {
    GatewayConfig {
        role: GatewayRole::Primary,
        host: "127.0.0.1".into(),
        port: Some(port),
        client_id: 17,
        account: None,
        market_data_type: 4,
        stall_timeout: Duration::from_secs(3),
        quote_lines: ibkr_cockpit::gateway::DEFAULT_QUOTE_LINES,
    }
}

pub async fn sim(cfg: SimConfig) -> SimHandle {
    match tokio::time::timeout(Duration::from_secs(10), SimGateway::start(cfg)).await {
        Ok(Ok(h)) => h,
        other => panic!("simulator did not start: {:?}", other.map(|r| r.err())),
    }
}

/// A simulator, a store and a synced adapter.
pub async fn synced(
    sim_cfg: SimConfig,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> (SimHandle, Store, GatewayHandle) {
    let sim = sim(sim_cfg).await;
    let store = Store::in_memory();
    let mut cfg = config(sim.port());
    tweak(&mut cfg);
    let gw = GatewayHandle::spawn(cfg, store.clone());
    assert!(
        gw.wait_synced(Duration::from_secs(20)).await,
        "adapter never synced: {:#?}",
        store.snapshot().events
    );
    (sim, store, gw)
}

/// Waits (bounded) until `pred` holds on a snapshot; returns the snapshot that satisfied it.
pub async fn wait_for(
    store: &Store,
    within: Duration,
    what: &str,
    pred: impl Fn(&LiveState) -> bool,
) -> LiveState {
    let mut rx = store.subscribe();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let snap = store.snapshot();
        if pred(&snap) {
            return snap;
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            panic!(
                "timed out waiting for {what}; gateway status {:#?}; events {:#?}",
                snap.gateways, snap.events
            );
        }
        // Wake on a change, or poll again shortly (time-based conditions such as staleness).
        let _ = tokio::time::timeout(remaining.min(Duration::from_millis(200)), rx.changed()).await;
    }
}

pub fn state(snap: &LiveState) -> Option<ConnState> {
    snap.gateways.get(&GatewayRole::Primary).map(|g| g.state)
}

pub fn relative_eq(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// Equal to the cent (IB and the simulator round money to cents).
pub fn cents_eq(a: f64, b: f64) -> bool {
    (a - b).abs() <= 0.0051 + 1e-9 * b.abs()
}
