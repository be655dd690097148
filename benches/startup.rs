//! Time from "start the adapter" to a fully synced store (accounts, summary, positions, P&L,
//! first quotes) against the simulated gateway, for the seed book and for 2,000 positions.
//! The simulator is started once, outside the measurement; each iteration is a fresh
//! connection and a fresh store, as a fresh process would have.

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::config::Config;
use ibkr_cockpit::gateway::GatewayHandle;
use ibkr_cockpit::sim::{SimConfig, SimGateway};
use ibkr_cockpit::store::Store;
use std::time::Duration;

fn bench_startup(c: &mut Criterion) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let mut group = c.benchmark_group("startup_to_synced_store");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    for (label, positions) in [("seed_book", None), ("2000_positions", Some(2000))] {
        let sim = rt
            .block_on(SimGateway::start(SimConfig {
                positions,
                tick_interval: None,
                ..SimConfig::default()
            }))
            .unwrap_or_else(|e| panic!("sim: {e}"));
        let mut client_id = 100;
        group.bench_function(label, |b| {
            b.iter(|| {
                client_id += 1;
                let (mut cfg, _) = Config::default().gateway_configs();
                cfg.port = Some(sim.port());
                cfg.client_id = client_id;
                rt.block_on(async {
                    let store = Store::in_memory();
                    let handle = GatewayHandle::spawn(cfg, store.clone());
                    let synced = handle.wait_synced(Duration::from_secs(30)).await;
                    assert!(synced, "store did not sync");
                    handle.shutdown();
                });
            })
        });
        rt.block_on(sim.shutdown());
    }
    group.finish();
}

criterion_group!(benches, bench_startup);
criterion_main!(benches);
