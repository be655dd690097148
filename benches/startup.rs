//! Time from "start the adapter" to a synced store against the simulated gateway, for the seed
//! book and for 2,000 positions. Synced = account summary, positions, portfolio values, account
//! P&L, and the first quotes and position P&L of the largest positions (at most 40 each; the
//! seed book's 5 all count). The other streamed quotes and P&L trail the sync.
//!
//! The simulator is started once, outside the measurement, with IB's default 100 market-data
//! lines; each iteration is a fresh connection and a fresh store, as a fresh process would have,
//! at the adapter's default message rate (45/s, under IB's 50). Only spawn → synced is timed: the
//! previous connection's lines are freed (untimed) before the next starts, since the simulator
//! counts lines across connections as IB counts them per account.
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::config::Config;
use ibkr_cockpit::gateway::GatewayHandle;
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::Store;
use std::time::{Duration, Instant};

/// Waits (bounded) until the simulator holds no market-data line: the last connection is gone.
async fn lines_freed(sim: &SimHandle) {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while sim.market_data_lines_in_use() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

fn bench_startup(c: &mut Criterion) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let mut group = c.benchmark_group("startup_to_synced_store");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
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
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    client_id += 1;
                    let (mut cfg, _) = Config::default().gateway_configs();
                    cfg.port = Some(sim.port());
                    cfg.client_id = client_id;
                    total += rt.block_on(async {
                        let started = Instant::now();
                        let store = Store::in_memory();
                        let handle = GatewayHandle::spawn(cfg, store.clone());
                        let synced = handle.wait_synced(Duration::from_secs(30)).await;
                        let took = started.elapsed();
                        assert!(synced, "store did not sync");
                        handle.shutdown();
                        drop(handle);
                        lines_freed(&sim).await;
                        took
                    });
                }
                total
            })
        });
        let refused = sim.counters().market_data_lines_refused;
        assert_eq!(
            refused, 0,
            "the adapter stayed within the market-data lines"
        );
        rt.block_on(sim.shutdown());
    }
    group.finish();
}

criterion_group!(benches, bench_startup);
criterion_main!(benches);
