//! Daily history for a 2,000-position book at IB's real limits: the adapter's default message
//! budget (45 of IB's 50 messages per second, shared with everything else the session sends),
//! the pacer's defaults and a simulated HMDS that takes `LATENCY` per answer.
//!
//! Measures (printed, one run each; not a statistical bench):
//! - **time to full coverage**: from the end of the initial sync to every holding's daily
//!   history in the cache (background warming), then the first `ibkr_var_estimate`'s time and
//!   how many holdings it leaves out;
//! - **warm restart**: a new session on the same database: historical requests sent and bars
//!   received until warming reports the book ready, and the VaR's time.
//!
//! Run: `cargo bench --bench coverage` (about two minutes).
// A harness that fails loudly is what a benchmark wants; the no-panic rule is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use ibkr_cockpit::gateway::{GatewayConfig, GatewayHandle};
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::json;
use std::time::{Duration, Instant};

const POSITIONS: usize = 2_000;
/// A daily-history answer from IB's HMDS typically takes a few hundred milliseconds.
const LATENCY: Duration = Duration::from_millis(250);
const BOUND: Duration = Duration::from_secs(900);
const HIST: &str = "RequestHistoricalData";

async fn sim() -> SimHandle {
    SimGateway::start(SimConfig {
        positions: Some(POSITIONS),
        tick_interval: None,
        historical_latency: LATENCY,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

async fn session(sim: &SimHandle, db: &Db) -> (ToolContext, Instant) {
    let store = Store::new(Clock::System, Some(db.clone()));
    let gateway = GatewayHandle::spawn(
        GatewayConfig {
            warm_history: true,
            ..support::gateway_config(sim.port())
        },
        store.clone(),
    );
    assert!(gateway.wait_synced(BOUND).await, "adapter synced");
    let synced = Instant::now();
    (support::tool_context(store, gateway), synced)
}

/// Waits for warming's closing event; returns it.
async fn warmed(ctx: &ToolContext) -> String {
    tokio::time::timeout(BOUND, async {
        loop {
            let snap = ctx.store.snapshot();
            if let Some(e) = snap
                .events
                .iter()
                .find(|e| e.message.starts_with("daily history ready"))
            {
                return e.message.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("warming finished")
}

/// The first VaR: how long it took and how many holdings it left out.
async fn var(ctx: &ToolContext) -> (Duration, usize) {
    let t = Instant::now();
    let out = tools::call(ctx, "ibkr_var_estimate", json!({}))
        .await
        .expect("VaR answers");
    let missing = out.json["missing"].as_array().map_or(usize::MAX, Vec::len);
    (t.elapsed(), missing)
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let db = Db::in_memory().expect("in-memory database");
        let first = sim().await;
        let (ctx, synced) = session(&first, &db).await;
        let event = warmed(&ctx).await;
        let to_coverage = synced.elapsed();
        let (var_took, missing) = var(&ctx).await;
        let c = first.counters();
        println!(
            "cold start, {POSITIONS} positions, HMDS latency {LATENCY:?}: every holding's daily history cached {:.1} s after the initial sync ({event}); {} historical requests, {} bars, {} pacing errors; first VaR {:.2} s, {missing} holding(s) left out",
            to_coverage.as_secs_f64(),
            c.requests(HIST),
            c.historical_bars_sent,
            c.pacing_violations,
            var_took.as_secs_f64()
        );
        if let Some(g) = &ctx.gateways {
            g.primary.shutdown();
        }

        let second = sim().await;
        let (ctx, synced) = session(&second, &db).await;
        let event = warmed(&ctx).await;
        let to_ready = synced.elapsed();
        let (var_took, missing) = var(&ctx).await;
        let c = second.counters();
        println!(
            "warm restart on the same database: ready {:.2} s after the initial sync ({event}); {} historical requests, {} bars; first VaR {:.2} s, {missing} holding(s) left out",
            to_ready.as_secs_f64(),
            c.requests(HIST),
            c.historical_bars_sent,
            var_took.as_secs_f64()
        );
    });
}
