//! Repeated unknown symbols: `ibkr_technicals symbol=BRK.B` (unknown to the simulator, as to an
//! account without the class-B listing) asked again after IB said it does not know it. The
//! second call is answered from the negative cache without a gateway request (the test suite
//! checks that at the simulator's counters); this measures how long the answer takes.
//! Target (BENCHMARKS.md): under 50 ms on repeat.
//!
//! Run: `cargo bench --bench negative_cache`.
// A harness that fails loudly is what a benchmark wants; the no-panic rule is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::json;
use std::time::Instant;
use tokio::runtime::Runtime;

async fn technicals_unknown(ctx: &ToolContext) {
    let out = tools::call(ctx, "ibkr_technicals", json!({"symbol": "BRK.B"})).await;
    assert!(out.is_err(), "BRK.B is unknown to the simulator");
}

fn unknown_symbol_repeat(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let (_sim, ctx) = rt.block_on(support::synced_context(
        None,
        Store::new(Clock::System, None),
    ));
    let first = Instant::now();
    rt.block_on(technicals_unknown(&ctx));
    eprintln!("first call (asks the gateway): {:?}", first.elapsed());
    let mut group = c.benchmark_group("negative_cache");
    group.bench_function("technicals_unknown_symbol_repeat", |b| {
        b.to_async(&rt).iter(|| technicals_unknown(&ctx))
    });
    group.finish();
}

criterion_group!(benches, unknown_symbol_repeat);
criterion_main!(benches);
