//! Outages against the simulated gateway: a dropped connection, IB's daily restart and a stalled
//! socket each end with the adapter reconnected, resubscribed and quotes flowing again, with the
//! outage visible as staleness in between and cached values kept. 326 → next client id.

use crate::support::gateway;

use gateway::*;
use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::sim::{Fault, FaultPlan, SimConfig, SimHandle};
use ibkr_cockpit::store::Store;
use std::time::Duration;

const OUTAGE: Duration = Duration::from_secs(30);

/// Waits for the outage to show, checks what a user sees meanwhile, then waits for recovery.
async fn outage_then_recovery(sim: &SimHandle, store: &Store, positions_before: usize) {
    let during = wait_for(store, OUTAGE, "the outage to be noticed", |s| {
        state(s).is_some_and(|st| st != ConnState::Connected)
    })
    .await;
    let now = store.now();
    let stale = during.staleness(now, 30_000);
    assert!(stale.is_some(), "an outage must be visible as staleness");
    let reason = stale.map(|s| s.reason).unwrap_or_default();
    assert!(
        reason.contains("reconnecting"),
        "staleness says why: {reason}"
    );
    assert!(
        during.gateways[&GatewayRole::Primary].last_error.is_some(),
        "last_error explains the outage"
    );
    // Cached values are kept through the outage.
    assert_eq!(during.positions.len(), positions_before);
    assert!(
        during
            .accounts
            .values()
            .all(|a| a.net_liquidation().is_some())
    );
    assert!(during.quotes.values().any(|q| q.price().is_some()));

    let after = wait_for(store, OUTAGE, "reconnected", |s| {
        s.gateways
            .get(&GatewayRole::Primary)
            .is_some_and(|g| g.state == ConnState::Connected && g.reconnects >= 1)
    })
    .await;
    assert!(after.staleness(store.now(), 30_000).is_none());

    // Resubscribed: quotes flow again on the new session.
    let t = store.now();
    wait_for(store, OUTAGE, "quotes flowing after reconnect", |s| {
        s.quotes.get("KRYX").is_some_and(|q| q.updated > t)
    })
    .await;
    let snap = wait_for(store, OUTAGE, "resubscribed event", |s| {
        s.events
            .iter()
            .any(|e| e.message.starts_with("resubscribed after reconnect"))
    })
    .await;
    assert_eq!(snap.positions.len(), positions_before);
    assert!(
        snap.events
            .iter()
            .any(|e| e.message.starts_with("connection lost"))
    );
    assert!(sim.counters().connections >= 2);
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn dropped_connection_reconnects_and_resubscribes() {
    let (sim, store, gw) = synced(SimConfig::default(), |_| {}).await;
    let positions = store.snapshot().positions.len();
    sim.inject(Fault::Drop);
    outage_then_recovery(&sim, &store, positions).await;
    gw.shutdown();
}

#[tokio::test]
async fn daily_restart_reconnects_and_resubscribes() {
    let (sim, store, gw) = synced(SimConfig::default(), |_| {}).await;
    let positions = store.snapshot().positions.len();
    sim.inject(Fault::DailyRestart);
    outage_then_recovery(&sim, &store, positions).await;
    let snap = store.snapshot();
    assert!(
        snap.events.iter().any(|e| e.code == 1100),
        "1100 is logged in words"
    );
    gw.shutdown();
}

#[tokio::test]
async fn stalled_connection_is_recycled() {
    let (sim, store, gw) = synced(SimConfig::default(), |c| {
        c.stall_timeout = Duration::from_secs(2)
    })
    .await;
    let positions = store.snapshot().positions.len();
    sim.inject(Fault::Stall(Duration::from_secs(5)));
    // While stalled the socket is open but silent: data goes stale before the supervisor acts.
    wait_for(&store, OUTAGE, "stale data during the stall", |s| {
        s.staleness(store.now(), 1_000).is_some()
    })
    .await;
    outage_then_recovery(&sim, &store, positions).await;
    let snap = store.snapshot();
    assert!(
        snap.events.iter().any(|e| e.message.contains("stalled")),
        "the stall is named in the event log"
    );
    gw.shutdown();
}

#[tokio::test]
async fn client_id_in_use_moves_to_the_next_id() {
    let sim_cfg = SimConfig {
        faults: FaultPlan {
            at_start: vec![Fault::ClientIdInUse { times: 1 }],
            scheduled: vec![],
        },
        ..SimConfig::default()
    };
    let (sim, store, gw) = synced(sim_cfg, |_| {}).await;
    let snap = store.snapshot();
    let status = &snap.gateways[&GatewayRole::Primary];
    assert_eq!(status.state, ConnState::Connected);
    assert_eq!(status.client_id, 18, "configured 17 was in use");
    assert!(snap.events.iter().any(|e| e.code == 326));
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn gateway_down_keeps_trying_and_says_why() {
    let sim = sim(SimConfig::default()).await;
    sim.stop_accepting();
    let store = Store::in_memory();
    let gw = ibkr_cockpit::gateway::GatewayHandle::spawn(config(sim.port()), store.clone());
    let snap = wait_for(&store, OUTAGE, "a connect failure in words", |s| {
        s.gateways
            .get(&GatewayRole::Primary)
            .is_some_and(|g| g.last_error.is_some())
    })
    .await;
    let status = &snap.gateways[&GatewayRole::Primary];
    assert_eq!(status.state, ConnState::Disconnected);
    let err = status.last_error.clone().unwrap_or_default();
    assert!(err.contains("nothing is listening"), "{err}");
    assert!(!gw.is_connected());
    // When the gateway comes up, the supervisor connects on its own.
    sim.resume_accepting();
    assert!(
        gw.wait_synced(OUTAGE).await,
        "connects once the gateway is back"
    );
    gw.shutdown();
}
