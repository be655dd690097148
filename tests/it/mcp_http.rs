//! MCP over real HTTP on loopback (stateless streamable HTTP: no session id), `/healthz`, the
//! read-only REST API, and a burst of concurrent calls against the simulated gateway.

use crate::support::world;

use crate::support::{STEP, assert_close};
use futures::StreamExt;
use ibkr_cockpit::mcp::serve_http;
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use world::{Harness, start_live_clock};

struct Server {
    world: Harness,
    addr: SocketAddr,
    cancel: CancellationToken,
    http: reqwest::Client,
}

impl Server {
    async fn start() -> Server {
        let world = start_live_clock().await;
        let cancel = CancellationToken::new();
        let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let (addr, _task) = timeout(STEP, serve_http(world.ctx.clone(), bind, cancel.clone()))
            .await
            .expect("bound in time")
            .expect("bound");
        assert_ne!(addr.port(), 0, "the real port is returned");
        Server {
            world,
            addr,
            cancel,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// One JSON-RPC request to `/mcp`, as a stateless client sends it: no session header.
    async fn rpc(&self, body: Value) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
        let response = timeout(
            STEP,
            self.http
                .post(self.url("/mcp"))
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .header("mcp-protocol-version", "2025-06-18")
                .body(body.to_string())
                .send(),
        )
        .await
        .expect("answered in time")
        .expect("HTTP works");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("JSON body ({e}): {text}"));
        (status, headers, value)
    }

    async fn call_tool(&self, id: u64, name: &str, args: Value) -> Value {
        let (status, _, body) = self
            .rpc(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": name, "arguments": args}}))
            .await;
        assert!(status.is_success(), "{status}: {body}");
        assert_eq!(body["id"], id);
        body["result"].clone()
    }

    async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = timeout(STEP, self.http.get(self.url(path)).send())
            .await
            .expect("answered in time")
            .expect("HTTP works");
        let status = response.status();
        let body = response.json::<Value>().await.expect("JSON body");
        (status, body)
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.world.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateless_mcp_over_http_needs_no_session() {
    let server = Server::start().await;

    let (status, headers, init) = server
        .rpc(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "http-test", "version": "1"}}}),
        )
        .await;
    assert!(status.is_success(), "{status}: {init}");
    assert!(
        headers.get("mcp-session-id").is_none(),
        "stateless: no session id issued"
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "ibkr-cockpit");

    // No session header on any later request, and no initialize needed before it either.
    let (status, _, list) = server
        .rpc(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    assert!(status.is_success(), "{status}: {list}");
    let tools = list["result"]["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), ibkr_cockpit::tools::catalog().len());
    for tool in tools {
        assert_eq!(
            tool["annotations"]["readOnlyHint"], true,
            "{}",
            tool["name"]
        );
        assert!(
            tool["inputSchema"].is_object() && tool["outputSchema"].is_object(),
            "{}",
            tool["name"]
        );
    }

    let account = server.world.sim_account();
    let result = server
        .call_tool(3, "ibkr_get_account_summary", json!({}))
        .await;
    assert_eq!(result["isError"], false, "{result}");
    assert_close(
        &result["structuredContent"]["net_liquidation"],
        account.net_liquidation,
        "NLV over HTTP",
    );
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap_or("")
            .contains("Account Summary")
    );

    let bad = server
        .call_tool(4, "ibkr_margin", json!({"detail": "nope"}))
        .await;
    assert_eq!(bad["isError"], true, "bad enum is a tool error: {bad}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_bodies_get_json_rpc_errors_and_serving_continues() {
    let server = Server::start().await;

    let response = timeout(
        STEP,
        server
            .http
            .post(server.url("/mcp"))
            .header("content-type", "application/json")
            .body("{not json")
            .send(),
    )
    .await
    .expect("in time")
    .expect("HTTP works");
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON-RPC error body");
    assert_eq!(body["error"]["code"], -32700, "{body}");
    assert!(body["id"].is_null());

    let (status, _, body) = server
        .rpc(json!({"jsonrpc": "2.0", "id": 9, "nonsense": true}))
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], -32600, "{body}");
    assert_eq!(body["id"], 9, "the id is echoed when it can be read");

    // A plain `curl -d` style request (no Accept header) is still served.
    let response = timeout(
        STEP,
        server
            .http
            .post(server.url("/mcp"))
            .body(
                json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
                "params": {"name": "ibkr_list_accounts", "arguments": {}}})
                .to_string(),
            )
            .send(),
    )
    .await
    .expect("in time")
    .expect("HTTP works");
    assert!(response.status().is_success(), "{}", response.status());
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["result"]["isError"], false, "{body}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_rest_api_return_the_tools_json() {
    let server = Server::start().await;
    let account = server.world.sim_account();

    let (status, health) = server.get_json("/healthz").await;
    assert!(status.is_success());
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["gateways"]["primary"]["state"], "connected",
        "{health}"
    );

    let (status, summary) = server.get_json("/api/summary").await;
    assert!(status.is_success(), "{summary}");
    assert_close(
        &summary["net_liquidation"],
        account.net_liquidation,
        "REST NLV",
    );
    // The same JSON the tool returns (apart from the answer's timestamp).
    let tool = server
        .call_tool(1, "ibkr_get_account_summary", json!({}))
        .await;
    let mut from_tool = tool["structuredContent"].clone();
    let mut from_rest = summary.clone();
    from_tool["as_of"] = Value::Null;
    from_rest["as_of"] = Value::Null;
    assert_eq!(from_rest, from_tool);

    let (status, positions) = server.get_json("/api/positions?sort=symbol&limit=2").await;
    assert!(status.is_success(), "{positions}");
    let rows = positions["positions"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "query parameters reach the tool");
    let symbols: Vec<&str> = rows.iter().filter_map(|r| r["symbol"].as_str()).collect();
    let mut sorted = symbols.clone();
    sorted.sort();
    assert_eq!(symbols, sorted);

    let (status, error) = server.get_json("/api/positions?sort=sideways").await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(
        error["error"].as_str().unwrap_or("").contains("sort"),
        "{error}"
    );

    let (status, fx) = server.get_json("/api/fx?pair=USDCAD").await;
    assert!(status.is_success(), "{fx}");
    let rate = server
        .world
        .sim
        .world()
        .fx
        .get("USD.CAD")
        .copied()
        .expect("sim USD.CAD");
    let got = fx["rate"].as_f64().expect("rate");
    assert!((got - rate).abs() < 1e-3, "USDCAD {got} vs {rate}");
    let (status, all) = server.get_json("/api/fx").await;
    assert!(status.is_success(), "{all}");
    assert!(!all["pairs"].as_array().expect("pairs").is_empty());
    let (status, tech) = server.get_json("/api/technicals/KRYX").await;
    assert!(status.is_success(), "{tech}");
    assert_eq!(tech["symbol"], "KRYX");
    let (status, bars) = server
        .get_json("/api/history?symbol=KRYX&duration=30%20D")
        .await;
    assert!(status.is_success(), "{bars}");
    assert_eq!(bars["symbol"], "KRYX");

    let (status, _) = server.get_json("/api/nothing-here").await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_concurrent_calls_all_answered_without_pacing_violations() {
    let server = Server::start().await;
    let names = [
        "ibkr_get_account_summary",
        "ibkr_get_positions",
        "ibkr_list_accounts",
        "ibkr_quote",
        "ibkr_get_historical_bars",
        "ibkr_technicals",
    ];
    let args_for = |name: &str| match name {
        "ibkr_get_historical_bars" | "ibkr_technicals" => json!({"symbol": "KRYX"}),
        _ => json!({}),
    };
    let server_ref = &server;
    let results: Vec<Value> = timeout(
        STEP * 4,
        futures::stream::iter(0..200u64)
            .map(|i| {
                let name = names[i as usize % names.len()];
                let args = args_for(name);
                async move { server_ref.call_tool(100 + i, name, args).await }
            })
            .buffer_unordered(32)
            .collect(),
    )
    .await
    .expect("the burst is answered in time");
    assert_eq!(results.len(), 200);
    for r in &results {
        assert_eq!(r["isError"], false, "{r}");
        assert!(r["structuredContent"].is_object());
    }
    let counters = server.world.sim.counters();
    assert_eq!(
        counters.pacing_violations, 0,
        "no pacing violation at the gateway"
    );
    assert_eq!(counters.real_orders, 0);
    let journaled = server.world.ctx.store.snapshot().journal.len();
    assert!(journaled >= 200, "every call journaled ({journaled})");
    server.stop().await;
}
