//! What the adapter leaves in SQLite (NLV samples, the historical-bar cache, fills), a second
//! gateway feeding the same store, and `probe` for `doctor`.

use crate::support::STEP;
use crate::support::gateway;

use gateway::*;
use ibkr_cockpit::gateway::{BarSpec, GatewayError, GatewayHandle, Gateways, probe};
use ibkr_cockpit::model::{DataMode, GatewayRole};
use ibkr_cockpit::sim::{SimBookKind, SimConfig};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use std::time::Duration;

fn db() -> Db {
    match Db::in_memory() {
        Ok(db) => db,
        Err(e) => panic!("in-memory database: {e}"),
    }
}

#[tokio::test]
async fn nlv_bars_and_fills_reach_sqlite() {
    let sim = sim(SimConfig::default()).await;
    let db = db();
    let store = Store::new(Clock::System, Some(db.clone()));
    let gw = GatewayHandle::spawn(config(sim.port()), store.clone());
    assert!(gw.wait_synced(STEP).await);
    let account = sim.account_id();

    // NLV is sampled once the sync completes (then every minute).
    let nlv = store.snapshot().accounts[&account]
        .net_liquidation()
        .unwrap_or(f64::NAN);
    let history = db.nlv_history(&account, 0).unwrap_or_default();
    assert!(!history.is_empty(), "no NLV sample recorded");
    assert!(
        history.iter().any(|(_, v)| relative_eq(*v, nlv, 0.01)),
        "{history:?} vs {nlv}"
    );

    // Bars go to SQLite and a fresh handle on the same database serves them without IB.
    let spec = BarSpec::daily("KRYX", "1 Y");
    let bars = tokio::time::timeout(STEP, gw.requests().historical_bars(&spec)).await;
    let Ok(Ok(bars)) = bars else {
        panic!("bars failed: {bars:?}");
    };
    let stored = db
        .get_bars(&spec.cache_key())
        .ok()
        .flatten()
        .map(|(_, b)| b);
    assert_eq!(stored.as_deref(), Some(bars.as_slice()));

    // Fills are journaled.
    wait_for(&store, STEP, "fills in the store", |s| !s.fills.is_empty()).await;
    let journaled = db.fills_since(0).unwrap_or_default();
    assert!(!journaled.is_empty());
    gw.shutdown();

    let sim2 = gateway::sim(SimConfig::default()).await;
    let store2 = Store::new(Clock::System, Some(db.clone()));
    let gw2 = GatewayHandle::spawn(config(sim2.port()), store2);
    assert!(gw2.wait_synced(STEP).await);
    let again = tokio::time::timeout(STEP, gw2.requests().historical_bars(&spec)).await;
    assert!(matches!(again, Ok(Ok(ref b)) if b.as_slice() == bars.as_slice()));
    assert_eq!(
        sim2.counters().requests("RequestHistoricalData"),
        0,
        "served from SQLite"
    );
    gw2.shutdown();
    assert_eq!(sim.counters().real_orders + sim2.counters().real_orders, 0);
}

#[tokio::test]
async fn primary_and_secondary_share_one_store() {
    let primary = sim(SimConfig::default()).await;
    let secondary = sim(SimConfig {
        book: SimBookKind::Secondary,
        ..SimConfig::default()
    })
    .await;
    let store = Store::in_memory();
    let gw1 = GatewayHandle::spawn(config(primary.port()), store.clone());
    let mut cfg2 = config(secondary.port());
    cfg2.role = GatewayRole::Secondary;
    cfg2.client_id = 18;
    let gw2 = GatewayHandle::spawn(cfg2, store.clone());
    assert!(gw1.wait_synced(STEP).await && gw2.wait_synced(STEP).await);
    let snap = store.snapshot();
    let (a1, a2) = (primary.account_id(), secondary.account_id());
    assert_ne!(a1, a2);
    assert_eq!(snap.accounts[&a1].gateway, Some(GatewayRole::Primary));
    assert_eq!(snap.accounts[&a2].gateway, Some(GatewayRole::Secondary));
    let expected = primary.world().positions.len() + secondary.world().positions.len();
    assert_eq!(snap.positions.len(), expected);
    let gateways = Gateways {
        primary: gw1.clone(),
        secondary: Some(gw2.clone()),
    };
    assert_eq!(
        gateways.for_account(&store, &a2).role(),
        GatewayRole::Secondary
    );
    assert_eq!(
        gateways.for_account(&store, &a1).role(),
        GatewayRole::Primary
    );
    gw1.shutdown();
    gw2.shutdown();
}

#[tokio::test]
async fn probe_reports_what_doctor_needs() {
    let sim = sim(SimConfig::default()).await;
    let report = tokio::time::timeout(
        STEP,
        probe("127.0.0.1", Some(sim.port()), 40, Duration::from_secs(10)),
    )
    .await;
    let Ok(Ok(report)) = report else {
        panic!("probe failed: {report:?}");
    };
    let world = sim.world();
    assert_eq!(report.port, sim.port());
    assert_eq!(report.server_version, 226);
    assert_eq!(report.accounts, vec![sim.account_id()]);
    assert_eq!(report.positions, world.positions.len());
    let (acct, nlv, ccy) = report.net_liquidation.first().cloned().unwrap_or_default();
    assert_eq!(acct, sim.account_id());
    assert!(relative_eq(nlv, world.accounts[0].net_liquidation, 0.01));
    assert_eq!(ccy, world.accounts[0].base_currency);
    assert_eq!(report.market_data_mode, Some(DataMode::Live));
}

#[tokio::test]
async fn probe_of_a_dead_port_fails_in_one_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let r = tokio::time::timeout(
        STEP,
        probe("127.0.0.1", Some(port), 40, Duration::from_secs(5)),
    )
    .await;
    let Ok(Err(GatewayError::NotConnected(line))) = r else {
        panic!("expected a not-connected error: {r:?}");
    };
    assert!(line.contains("nothing is listening"), "{line}");
    assert!(!line.contains('\n'));
}
