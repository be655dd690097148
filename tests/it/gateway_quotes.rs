//! Live quotes against the simulated gateway: they stream, symbols without a subscription fall
//! back to delayed data and are marked so, and IB's sentinel values never reach the store.

use crate::support::gateway;

use gateway::*;
use ibkr_cockpit::model::{DataMode, GatewayRole, Quote};
use ibkr_cockpit::sim::{Fault, FaultPlan, SimConfig};
use std::time::Duration;

fn held_symbols(store: &ibkr_cockpit::store::Store) -> Vec<String> {
    store
        .snapshot()
        .positions
        .values()
        .map(|p| p.instrument.symbol.clone())
        .collect()
}

#[tokio::test]
async fn quotes_stream_for_every_held_symbol() {
    let (sim, store, gw) = synced(SimConfig::default(), |_| {}).await;
    let symbols = held_symbols(&store);
    assert!(!symbols.is_empty());
    let first: Vec<(String, i64)> = symbols
        .iter()
        .map(|s| {
            (
                s.clone(),
                store
                    .snapshot()
                    .quotes
                    .get(s)
                    .map(|q| q.updated)
                    .unwrap_or(0),
            )
        })
        .collect();
    // Every held symbol's quote moves again (the simulator ticks every 250 ms).
    wait_for(
        &store,
        Duration::from_secs(15),
        "every quote to update",
        |snap| {
            first.iter().all(|(s, t)| {
                snap.quotes
                    .get(s)
                    .is_some_and(|q| q.updated > *t && q.price().is_some())
            })
        },
    )
    .await;
    let snap = store.snapshot();
    for s in &symbols {
        let q = &snap.quotes[s];
        assert_eq!(q.mode, DataMode::Live, "{s} should be live");
        assert!(q.bid.is_some() && q.ask.is_some(), "{s} has no bid/ask");
        assert!(q.bid <= q.ask, "{s} bid above ask");
    }
    assert_eq!(
        snap.gateways[&GatewayRole::Primary].market_data_mode,
        DataMode::Live
    );
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn symbol_without_subscription_is_marked_delayed() {
    let sim_cfg = SimConfig {
        faults: FaultPlan {
            at_start: vec![Fault::NoSubscription(vec!["HDRX".into()])],
            scheduled: vec![],
        },
        ..SimConfig::default()
    };
    let (sim, store, gw) = synced(sim_cfg, |_| {}).await;
    let snap = wait_for(
        &store,
        Duration::from_secs(10),
        "HDRX delayed with a price",
        |s| {
            s.quotes
                .get("HDRX")
                .is_some_and(|q| q.mode.is_delayed() && q.price().is_some())
        },
    )
    .await;
    assert_eq!(
        snap.quotes["KRYX"].mode,
        DataMode::Live,
        "subscribed symbols stay live"
    );
    assert!(
        snap.gateways[&GatewayRole::Primary]
            .market_data_mode
            .is_delayed()
    );
    assert!(
        snap.events.iter().any(|e| e.code == 10167),
        "the 10167 notice is logged"
    );
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn live_only_request_falls_back_to_delayed_on_354() {
    let sim_cfg = SimConfig {
        faults: FaultPlan {
            at_start: vec![Fault::NoSubscription(vec!["VLTX".into()])],
            scheduled: vec![],
        },
        ..SimConfig::default()
    };
    // Asking for live data only (type 1): the simulator answers 354 for VLTX.
    let (sim, store, gw) = synced(sim_cfg, |c| c.market_data_type = 1).await;
    let snap = wait_for(
        &store,
        Duration::from_secs(15),
        "VLTX delayed with a price",
        |s| {
            s.quotes
                .get("VLTX")
                .is_some_and(|q| q.mode.is_delayed() && q.price().is_some())
        },
    )
    .await;
    assert!(
        snap.events.iter().any(|e| e.code == 354),
        "the 354 error is logged"
    );
    assert!(
        snap.gateways[&GatewayRole::Primary]
            .market_data_mode
            .is_delayed()
    );
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

fn clean(v: Option<f64>) -> bool {
    v.is_none_or(|x| x.is_finite() && x > 0.0 && x < 1e300)
}

fn quote_is_clean(q: &Quote) -> bool {
    [
        q.bid, q.ask, q.last, q.bid_size, q.ask_size, q.open, q.high, q.low, q.close, q.volume,
    ]
    .into_iter()
    .all(clean)
}

#[tokio::test]
async fn sentinel_ticks_never_reach_the_store() {
    let (sim, store, gw) = synced(SimConfig::default(), |_| {}).await;
    sim.inject(Fault::Sentinels(true));
    let mut rx = store.subscribe();
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    let mut snapshots = 0;
    while tokio::time::Instant::now() < until {
        let snap = store.snapshot();
        snapshots += 1;
        for (k, q) in snap.quotes.iter() {
            assert!(quote_is_clean(q), "sentinel reached quote {k}: {q:?}");
        }
        for p in snap.positions.values() {
            for v in [
                p.market_price,
                p.market_value,
                p.unrealized_pnl,
                p.daily_pnl,
            ] {
                assert!(
                    v.is_none_or(|x| x.is_finite() && x.abs() < 1e300),
                    "sentinel in {p:?}"
                );
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
    }
    assert!(snapshots > 3);
    // Prices still arrive between the sentinels.
    let snap = store.snapshot();
    assert!(snap.quotes.values().all(|q| q.price().is_some()));
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}
