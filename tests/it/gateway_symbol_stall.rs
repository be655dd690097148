//! The per-symbol stall rule against the simulator: one streamed symbol goes silent while the
//! gateway keeps answering (the simulator's `Silence` fault) → within 6 s that symbol's values
//! are labelled stale with its age (quote, positions), the rest of the book keeps flowing and
//! the state stays connected; every symbol silent → state `stalled`; ticks again → labels gone.
//! A closed market (Saturday on the store's clock) never counts as a stall.

use super::support::{STEP, eventually, gateway_config};
use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{GatewayHandle, Gateways};
use ibkr_cockpit::model::{ConnState, GatewayRole, Millis};
use ibkr_cockpit::sim::{Fault, SimConfig, SimGateway};
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Wednesday 2026-12-02 16:00 UTC = 11:00 New York: US equities and FX trade.
const WEDNESDAY_MIDDAY: Millis = 1_796_227_200_000;
/// Saturday 2026-12-05 16:00 UTC: every market is closed.
const SATURDAY: Millis = 1_796_486_400_000;

const SYMBOL_STALL: Duration = Duration::from_secs(3);

fn state(ctx: &ToolContext) -> Option<(ConnState, Option<String>)> {
    let snap = ctx.store.snapshot();
    snap.gateways
        .get(&GatewayRole::Primary)
        .map(|g| (g.state, g.last_error.clone()))
}

async fn quote(ctx: &ToolContext, symbol: &str) -> Value {
    tools::call(ctx, "ibkr_quote", json!({ "symbols": symbol }))
        .await
        .expect("quote answers")
        .json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_symbol_is_labelled_stale_within_six_seconds_and_all_silent_is_a_stall() {
    let sim = SimGateway::start(SimConfig::default()).await.expect("sim");
    let store = Store::new(Clock::fixed(WEDNESDAY_MIDDAY), None);
    let mut cfg = gateway_config(GatewayRole::Primary, sim.port(), 17);
    cfg.symbol_stall = SYMBOL_STALL;
    cfg.stall_timeout = Duration::from_secs(20);
    let gateway = GatewayHandle::spawn(cfg, store.clone());
    assert!(gateway.wait_synced(STEP).await, "adapter synced");
    let config: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("defaults parse");
    let ctx = ToolContext {
        store: store.clone(),
        gateways: Some(Gateways {
            primary: gateway.clone(),
            secondary: None,
        }),
        config: Arc::new(config),
        remote: None,
    };
    // Every stream has ticked within the limit: nothing is labelled.
    tokio::time::sleep(SYMBOL_STALL + Duration::from_secs(1)).await;
    assert_eq!(quote(&ctx, "KRYX").await["stale"], Value::Null);
    assert_eq!(state(&ctx).map(|s| s.0), Some(ConnState::Connected));

    // One symbol falls silent.
    sim.inject(Fault::Silence {
        symbols: vec!["KRYX".into()],
        duration: Duration::from_secs(10),
    });
    let silence_start = Instant::now();
    let stale = eventually("KRYX to be labelled stale", || {
        let ctx = ctx.clone();
        async move {
            let q = quote(&ctx, "KRYX").await;
            q["stale"].is_object().then_some(q)
        }
    })
    .await;
    let noticed = silence_start.elapsed();
    eprintln!("KRYX silent: labelled stale after {noticed:?}");
    assert!(noticed <= Duration::from_secs(6), "stale after {noticed:?}");
    let reason = stale["stale"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("no tick for KRYX") && reason.contains("market is open"),
        "{reason}"
    );
    let age = stale["stale"]["age_s"].as_f64().unwrap_or_default();
    assert!(age >= SYMBOL_STALL.as_secs_f64(), "age {age} s: {reason}");
    let snap = store.snapshot();
    assert!(snap.silent_since("KRYX").is_some());
    let silent: Vec<&String> = snap.gateways[&GatewayRole::Primary]
        .silent_symbols
        .keys()
        .collect();
    assert_eq!(silent, vec!["KRYX"], "the other streams keep ticking");
    // The gateway still answers: connected, values labelled, nothing refused.
    assert_eq!(state(&ctx).map(|s| s.0), Some(ConnState::Connected));
    let positions = tools::call(&ctx, "ibkr_get_positions", json!({}))
        .await
        .expect("positions answer");
    assert!(
        positions.markdown.contains("Stale data") && positions.markdown.contains("KRYX for"),
        "{}",
        positions.markdown
    );

    // Ticks again: the label goes.
    eventually("KRYX ticking again", || {
        let ctx = ctx.clone();
        async move { quote(&ctx, "KRYX").await["stale"].is_null().then_some(()) }
    })
    .await;
    assert!(store.snapshot().silent_since("KRYX").is_none());

    // Every symbol silent while the heartbeat is answered: the state says stalled.
    sim.inject(Fault::Silence {
        symbols: Vec::new(),
        duration: Duration::from_secs(9),
    });
    let all_start = Instant::now();
    let why = eventually("the state to say stalled", || {
        let ctx = ctx.clone();
        async move {
            match state(&ctx) {
                Some((ConnState::Stalled, why)) => Some(why.unwrap_or_default()),
                _ => None,
            }
        }
    })
    .await;
    eprintln!(
        "every symbol silent: stalled after {:?}",
        all_start.elapsed()
    );
    assert!(
        all_start.elapsed() <= Duration::from_secs(6),
        "stalled after {:?}",
        all_start.elapsed()
    );
    assert!(
        why.contains("no tick from any of the") && why.contains("still answers"),
        "{why}"
    );
    let q = quote(&ctx, "KRYX").await;
    assert!(
        q["stale"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("stalled")),
        "{q}"
    );
    eventually("connected once quotes flow again", || {
        let ctx = ctx.clone();
        async move { (state(&ctx)?.0 == ConnState::Connected).then_some(()) }
    })
    .await;
    assert_eq!(
        store.snapshot().gateways[&GatewayRole::Primary].reconnects,
        0,
        "a quote stall is not a reason to reconnect"
    );

    // A closed market: silence is expected, nothing is labelled.
    store.clock().set(SATURDAY);
    sim.inject(Fault::Silence {
        symbols: Vec::new(),
        duration: Duration::from_secs(6),
    });
    tokio::time::sleep(SYMBOL_STALL + Duration::from_secs(2)).await;
    let snap = store.snapshot();
    assert!(
        snap.gateways[&GatewayRole::Primary]
            .silent_symbols
            .is_empty(),
        "{:?}",
        snap.gateways[&GatewayRole::Primary].silent_symbols
    );
    assert_eq!(state(&ctx).map(|s| s.0), Some(ConnState::Connected));
    assert!(
        snap.events
            .iter()
            .any(|e| e.message.contains("no tick for KRYX")),
        "the event log names the silent symbol"
    );

    gateway.shutdown();
    sim.shutdown().await;
}
