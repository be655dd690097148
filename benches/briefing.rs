//! `ibkr_briefing` latency with warm state, against the simulated gateway: the seed book and a
//! 2,000-position book. The briefing reads the store snapshot only and saves its `since_last`
//! baseline in SQLite, so this measures snapshot → sections → markdown/JSON → one SQLite insert.
//! Targets (BENCHMARKS.md): p50 under 5 ms for the seed book, under 50 ms at 2,000 positions.
//!
//! Run: `cargo bench --bench briefing`.

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{GatewayConfig, GatewayHandle, Gateways};
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;

/// 2026-05-03 17:17:44 UTC, as in the tests: a fixed clock keeps the data "fresh".
const NOW: i64 = 1_777_828_664_000;

struct Setup {
    ctx: ToolContext,
    _sim: SimHandle,
}

async fn setup(positions: Option<usize>) -> Setup {
    let sim = SimGateway::start(SimConfig {
        positions,
        tick_interval: None,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let store = Store::new(
        Clock::fixed(NOW),
        Some(Db::in_memory().expect("in-memory database")),
    );
    let gateway = GatewayHandle::spawn(
        GatewayConfig {
            role: GatewayRole::Primary,
            host: "127.0.0.1".into(),
            port: Some(sim.port()),
            client_id: 17,
            account: None,
            market_data_type: 4,
            stall_timeout: Duration::from_secs(600),
            quote_lines: ibkr_cockpit::gateway::DEFAULT_QUOTE_LINES,
        },
        store.clone(),
    );
    // A big book subscribes its quotes inside IB's message budget: allow minutes, not seconds.
    assert!(
        gateway.wait_synced(Duration::from_secs(300)).await,
        "adapter synced"
    );
    let want = positions.unwrap_or(5);
    for _ in 0..600 {
        if store.snapshot().positions.len() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("defaults parse");
    let ctx = ToolContext {
        store,
        gateways: Some(Gateways {
            primary: gateway,
            secondary: None,
        }),
        config: Arc::new(config),
        remote: None,
    };
    Setup { ctx, _sim: sim }
}

async fn briefing(ctx: &ToolContext, args: &Value) {
    let out = tools::call(ctx, "ibkr_briefing", args.clone()).await;
    assert!(out.is_ok(), "briefing answered: {:?}", out.err());
}

fn briefing_latency(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let mut group = c.benchmark_group("briefing");
    for (label, positions) in [("seed_book", None), ("2000_positions", Some(2000))] {
        let s = rt.block_on(setup(positions));
        rt.block_on(briefing(&s.ctx, &json!({})));
        for (mode, args) in [
            ("full", json!({})),
            (
                "terse_since_last",
                json!({"format": "terse", "since_last": true}),
            ),
        ] {
            group.bench_function(format!("{label}/{mode}"), |b| {
                b.to_async(&rt).iter(|| briefing(&s.ctx, &args))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, briefing_latency);
criterion_main!(benches);
