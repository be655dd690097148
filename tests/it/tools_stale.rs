//! Gateway killed mid-test: snapshot tools answer from the cache with a staleness banner (text)
//! and `stale` (JSON); on-demand data already fetched is served from the cache; after the gateway
//! comes back, answers are fresh again.

use crate::support::world;

use crate::support::{STEP, assert_close};
use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::sim::Fault;
use serde_json::json;
use std::time::Duration;
use world::{NOW, start};

/// Waits (bounded) until the primary gateway's state satisfies `want`.
async fn wait_state(h: &world::Harness, want: impl Fn(ConnState) -> bool) {
    tokio::time::timeout(STEP, async {
        loop {
            let state = h
                .ctx
                .store
                .snapshot()
                .gateways
                .get(&GatewayRole::Primary)
                .map(|s| s.state);
            if state.is_some_and(&want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("gateway state changed in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_from_cache_while_down_and_fresh_after_restart() {
    let h = start().await;
    let nlv = h.sim_account().net_liquidation;
    let fresh = h.ok("ibkr_get_account_summary", json!({})).await;
    assert_eq!(fresh.json["stale"], json!(null));
    assert!(!fresh.markdown.contains("Stale data"));
    // Fetch bars once while connected so they are cached.
    let bars_before = h
        .ok("ibkr_get_historical_bars", json!({"symbol": "KRYX"}))
        .await;

    h.sim.stop_accepting();
    h.sim.inject(Fault::Drop);
    wait_state(&h, |s| s != ConnState::Connected).await;
    h.set_now(NOW + 90_000);

    let out = h.ok("ibkr_get_account_summary", json!({})).await;
    assert_close(&out.json["net_liquidation"], nlv, "cached NLV");
    let age = out.json["stale"]["age_s"].as_f64().expect("stale.age_s");
    assert!(age >= 90.0, "age {age}");
    let reason = out.json["stale"]["reason"].as_str().expect("reason");
    assert!(reason.starts_with("gateway "), "{reason}");
    assert!(
        out.markdown.contains("⚠️ **Stale data**: last update 1m 3"),
        "{}",
        out.markdown
    );
    assert!(
        out.markdown.contains(reason),
        "banner says why: {}",
        out.markdown
    );

    let out = h.ok("ibkr_get_positions", json!({})).await;
    assert!(out.json["stale"].is_object() && out.markdown.contains("Stale data"));
    let out = h.ok("ibkr_quote", json!({"symbols": "KRYX"})).await;
    assert!(out.json["stale"].is_object(), "{}", out.markdown);

    // Bars fetched before the outage are still served.
    let bars_after = h
        .ok("ibkr_get_historical_bars", json!({"symbol": "KRYX"}))
        .await;
    assert_eq!(bars_after.json["bars"], bars_before.json["bars"]);

    // Nothing cached for this request: a clear message, not a trace.
    let e = h
        .err("ibkr_get_option_chain", json!({"symbol": "OMRA"}))
        .await;
    assert!(
        e.message.contains("not connected") || e.message.contains("could not get"),
        "{e}"
    );

    h.sim.resume_accepting();
    wait_state(&h, |s| s == ConnState::Connected).await;
    assert!(h.gateway.wait_synced(STEP).await, "resynced");
    let out = h.ok("ibkr_get_account_summary", json!({})).await;
    assert_eq!(
        out.json["stale"],
        json!(null),
        "fresh again: {}",
        out.markdown
    );
    assert!(!out.markdown.contains("Stale data"));
    h.shutdown().await;
}
