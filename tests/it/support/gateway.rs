//! Shared helpers for the gateway integration tests: a simulator, an adapter pointed at it,
//! and bounded waits on the store.

use ibkr_cockpit::gateway::{GatewayConfig, GatewayHandle};
use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::{LiveState, Store};
use std::time::Duration;

/// The adapter's configuration for a simulator on `port`, with a short stall timeout so the
/// fault tests see a stall within seconds.
pub fn config(port: u16) -> GatewayConfig {
    GatewayConfig {
        stall_timeout: Duration::from_secs(3),
        ..super::gateway_config(GatewayRole::Primary, port, 17)
    }
}

pub async fn sim(cfg: SimConfig) -> SimHandle {
    match tokio::time::timeout(super::STEP, SimGateway::start(cfg)).await {
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

/// `a` within `tol` of `b`, relative to `|b|` (absolute below 1).
pub fn relative_eq(a: f64, b: f64, tol: f64) -> bool {
    super::approx(a, b, 0.0, tol) || super::approx(a, b, tol, 0.0)
}

/// Equal to the cent (IB and the simulator round money to cents).
pub fn cents_eq(a: f64, b: f64) -> bool {
    super::approx(a, b, 0.0051, 1e-9)
}
