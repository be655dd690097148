//! Warm-cache tool latency through the MCP front doors, against the simulated gateway:
//! in-process (rmcp client over a duplex pipe, through the stdio line filter) and over HTTP
//! (stateless `/mcp` on loopback). Targets (BENCHMARKS.md): in-process p50 < 1 ms for snapshot
//! tools, HTTP round trip p50 < 3 ms.
//!
//! Run: `cargo bench --bench mcp`.
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use ibkr_cockpit::mcp::{serve_http, serve_lines};
use ibkr_cockpit::sim::SimHandle;
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::{self, ToolContext};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

/// The tools measured, with typical arguments.
fn cases() -> Vec<(&'static str, Value)> {
    [
        ("ibkr_get_account_summary", json!({})),
        ("ibkr_get_positions", json!({})),
        ("ibkr_quote", json!({"symbols": "KRYX"})),
        ("ibkr_technicals", json!({"symbol": "KRYX"})),
    ]
    .into_iter()
    .filter(|(name, _)| tools::catalog().iter().any(|t| t.name == *name))
    .collect()
}

struct Bench {
    ctx: ToolContext,
    _sim: SimHandle,
    client: RunningService<RoleClient, ()>,
    http: reqwest::Client,
    mcp_url: String,
    _cancel: CancellationToken,
}

async fn setup() -> Bench {
    let (sim, ctx) = support::synced_context(None, Store::in_memory()).await;

    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_io);
    tokio::spawn(serve_lines(ctx.clone(), server_read, server_write));
    let client = ().serve(client_io).await.expect("MCP client connects");

    let cancel = CancellationToken::new();
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (addr, _task) = serve_http(ctx.clone(), bind, cancel.clone())
        .await
        .expect("HTTP binds");
    Bench {
        ctx,
        _sim: sim,
        client,
        http: reqwest::Client::new(),
        mcp_url: format!("http://{addr}/mcp"),
        _cancel: cancel,
    }
}

async fn call_in_process(bench: &Bench, name: &'static str, args: &Value) {
    let mut params = CallToolRequestParams::new(name);
    if let Value::Object(map) = args {
        params = params.with_arguments(map.clone());
    }
    let result = bench.client.call_tool(params).await.expect("call answered");
    assert_ne!(result.is_error, Some(true), "{name} failed");
}

async fn call_over_http(bench: &Bench, name: &'static str, args: &Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": name, "arguments": args}});
    let response = bench
        .http
        .post(&bench.mcp_url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("HTTP answered");
    assert!(response.status().is_success());
    let _ = response.bytes().await.expect("body");
}

fn mcp_latency(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let bench = rt.block_on(setup());
    // Warm the caches (bars for technicals, quote snapshots) before measuring.
    for (name, args) in cases() {
        rt.block_on(async {
            let _ = tools::call(&bench.ctx, name, args.clone()).await;
        });
    }
    let mut group = c.benchmark_group("mcp");
    for (name, args) in cases() {
        group.bench_function(format!("in_process/{name}"), |b| {
            b.to_async(&rt)
                .iter(|| call_in_process(&bench, name, &args))
        });
        group.bench_function(format!("http/{name}"), |b| {
            b.to_async(&rt).iter(|| call_over_http(&bench, name, &args))
        });
    }
    group.finish();
}

criterion_group!(benches, mcp_latency);
criterion_main!(benches);
