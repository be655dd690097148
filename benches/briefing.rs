//! `ibkr_briefing` latency with warm state, against the simulated gateway: the seed book and a
//! 2,000-position book. The briefing reads the store snapshot only and saves its `since_last`
//! baseline in SQLite, so this measures snapshot → sections → markdown/JSON → one SQLite insert.
//! Targets (BENCHMARKS.md): p50 under 5 ms for the seed book, under 50 ms at 2,000 positions.
//!
//! Run: `cargo bench --bench briefing`.
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::sim::SimHandle;
use ibkr_cockpit::store::Clock;
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

/// 2026-05-03 17:17:44 UTC, as in the tests: a fixed clock keeps the data "fresh".
const NOW: i64 = 1_777_828_664_000;

struct Setup {
    ctx: ToolContext,
    _sim: SimHandle,
}

async fn setup(positions: Option<usize>) -> Setup {
    let (sim, ctx) =
        support::synced_context(positions, support::store_with_db(Clock::fixed(NOW))).await;
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
