//! Daily history for a big book: warmed for every holding after the initial sync within IB's
//! open-request cap, kept in SQLite, topped up rather than fetched again, and never a reason
//! for a pacing error.

use crate::support::world::{BIG_BOOK_MESSAGE_RATE, default_config, fx_requests_allowed};
use crate::support::{STEP, eventually, gateway_config};
use ibkr_cockpit::gateway::{BarSpec, GatewayHandle, Gateways};
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const HIST: &str = "RequestHistoricalData";

async fn sim(positions: Option<usize>) -> SimHandle {
    let cfg = SimConfig {
        seed: 7,
        positions,
        tick_interval: None,
        // Every answer takes a while, as IB's HMDS does, so requests really overlap.
        historical_latency: Duration::from_millis(20),
        ..SimConfig::default()
    };
    let sim = match tokio::time::timeout(STEP, SimGateway::start(cfg)).await {
        Ok(Ok(h)) => h,
        other => panic!("simulator did not start: {:?}", other.map(|r| r.err())),
    };
    ibkr_cockpit::gateway::set_message_rate_for_port(sim.port(), BIG_BOOK_MESSAGE_RATE);
    sim
}

fn db() -> Db {
    Db::in_memory().unwrap_or_else(|e| panic!("in-memory database: {e}"))
}

async fn connect(sim: &SimHandle, db: &Db, warm: bool) -> (GatewayHandle, Store) {
    let store = Store::new(Clock::System, Some(db.clone()));
    let mut cfg = gateway_config(GatewayRole::Primary, sim.port(), 17);
    cfg.warm_history = warm;
    let gw = GatewayHandle::spawn(cfg, store.clone());
    assert!(gw.wait_synced(STEP).await, "adapter synced");
    (gw, store)
}

/// Waits for the warming's closing event and returns its text.
async fn warmed(store: &Store) -> String {
    eventually("daily history warmed", || async {
        store
            .snapshot()
            .events
            .iter()
            .find(|e| e.message.starts_with("daily history ready"))
            .map(|e| e.message.clone())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_book_is_warmed_whole_and_a_restart_asks_ib_for_nothing() {
    let sim1 = sim(Some(500)).await;
    let symbols: BTreeSet<String> = sim1
        .world()
        .positions
        .iter()
        .map(|p| p.symbol.clone())
        .collect();
    let db = db();
    let (gw, store) = connect(&sim1, &db, true).await;
    let event = warmed(&store).await;
    let n = symbols.len();
    assert!(
        event.contains(&format!("for {n} of {n} holding")),
        "{event}"
    );
    let c = sim1.counters();
    assert_eq!(c.requests(HIST), n as u64, "one request per held symbol");
    assert_eq!(c.pacing_violations, 0);

    // The first VaR after start covers every holding from the warmed cache.
    let ctx = ToolContext {
        store: store.clone(),
        gateways: Some(Gateways {
            primary: gw.clone(),
            secondary: None,
        }),
        config: Arc::new(default_config()),
        remote: None,
    };
    let out = tokio::time::timeout(
        STEP,
        tools::call_journaled(&ctx, "test", "ibkr_var_estimate", json!({})),
    )
    .await;
    let Ok(Ok(out)) = out else {
        panic!("ibkr_var_estimate: {out:?}");
    };
    assert_eq!(out.json["missing"], json!([]), "{}", out.markdown);
    // Only the FX pairs of holdings outside the base currency are new (IB lists some pairs the
    // other way round, so each may take two requests).
    let (allowed, currencies) = fx_requests_allowed(&out.json, &sim1.world().positions);
    let asked = sim1.counters().requests(HIST) - n as u64;
    assert!(
        asked <= allowed,
        "VaR asked for {asked} histories beyond the warmed ones ({currencies})"
    );
    gw.shutdown();

    // A restart on the same database: warming finds everything cached.
    let sim2 = sim(Some(500)).await;
    let (gw2, store2) = connect(&sim2, &db, true).await;
    let event = warmed(&store2).await;
    assert!(event.contains(&format!("for {n} of {n}")), "{event}");
    let c2 = sim2.counters();
    assert_eq!((c2.requests(HIST), c2.historical_bars_sent), (0, 0));
    gw2.shutdown();
    assert_eq!(c.real_orders + c2.real_orders, 0);
}

#[tokio::test]
async fn daily_bars_cached_on_an_earlier_day_are_topped_up() {
    let sim = sim(None).await;
    let db = db();
    let (gw, _) = connect(&sim, &db, false).await;
    let spec = BarSpec::daily_returns("KRYX", "USD", 252);
    let full = tokio::time::timeout(STEP, gw.requests().historical_bars(&spec)).await;
    let Ok(Ok(full)) = full else {
        panic!("bars: {full:?}");
    };
    assert!(full.len() > 400, "two years of daily bars");
    let full_sent = sim.counters().historical_bars_sent;
    assert_eq!(full_sent, full.len() as u64);
    gw.shutdown();

    // As if fetched two days ago, before the latest session.
    let two_days_ago = Clock::System.now() - 2 * 86_400_000;
    let older = &full[..full.len() - 1];
    if let Err(e) = db.put_bars(&spec.cache_key(), two_days_ago, older) {
        panic!("seeding the cache: {e}");
    }
    let (gw2, _) = connect(&sim, &db, false).await;
    let topped = tokio::time::timeout(STEP, gw2.requests().historical_bars(&spec)).await;
    let Ok(Ok(topped)) = topped else {
        panic!("top-up: {topped:?}");
    };
    let c = sim.counters();
    assert_eq!(c.requests(HIST), 2, "one request for the missing days");
    let sent = c.historical_bars_sent - full_sent;
    assert!(
        (1..=10).contains(&sent),
        "the top-up sent {sent} bars, not years"
    );
    // Same span as cached, now ending with the latest session.
    assert_eq!(topped.len(), older.len());
    assert_eq!(&topped[..topped.len() - 1], &full[1..full.len() - 1]);
    let (last, want) = (&topped[topped.len() - 1], &full[full.len() - 1]);
    assert_eq!((last.time, last.close), (want.time, want.close));
    // Stored with today's stamp: asked again, it is served without IB.
    let again = tokio::time::timeout(STEP, gw2.requests().historical_bars(&spec)).await;
    assert!(matches!(again, Ok(Ok(ref b)) if b.len() == topped.len()));
    assert_eq!(sim.counters().requests(HIST), 2);
    gw2.shutdown();
}
