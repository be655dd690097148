//! Toolsets: `--toolsets` / `--tools` (or `[mcp] toolsets`, `tools`) narrow what a session lists
//! and accepts, the same on stdio, HTTP and a sidecar bridged to a running cockpit; an unknown
//! name stops start-up with the valid names.

use crate::mcp_protocol::RawClient;
use crate::support::STEP;
use crate::support::daemon::Dirs;
use crate::support::world::{
    default_config, start_live_clock as start_world, start_live_clock_with as start_world_with,
};
use ibkr_cockpit::config::Config;
use ibkr_cockpit::mcp;
use ibkr_cockpit::tools;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

fn narrowed() -> Config {
    let mut config = default_config();
    config.mcp.toolsets = vec!["risk".into()];
    config.mcp.tools = vec!["ibkr_quote".into()];
    config
}

/// The names the risk toolset plus `ibkr_quote` should expose.
fn expected() -> BTreeSet<String> {
    tools::catalog()
        .iter()
        .filter(|t| t.group.as_str() == "risk" || t.name == "ibkr_quote")
        .map(|t| t.name.to_string())
        .collect()
}

fn names(list: &Value) -> BTreeSet<String> {
    list["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("a tool list: {list}"))
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_lists_and_accepts_only_the_chosen_tools() {
    let world = start_world_with(narrowed()).await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;
    client
        .send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    let list = client.answer().await;
    assert_eq!(names(&list["result"]), expected());
    assert_eq!(expected().len(), 6, "five risk tools and the quote");

    client
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "ibkr_get_positions", "arguments": {}}}))
        .await;
    let hidden = client.answer().await;
    assert_eq!(hidden["id"], 2);
    assert_eq!(hidden["error"]["code"], -32602, "{hidden}");
    let message = hidden["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not enabled") && message.contains("risk"),
        "{message}"
    );

    client
        .send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "ibkr_quote", "arguments": {"symbols": "KRYX"}}}))
        .await;
    let quote = client.answer().await;
    assert_eq!(quote["result"]["isError"], false, "{quote}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_lists_only_the_chosen_tools() {
    let world = start_world_with(narrowed()).await;
    let cancel = CancellationToken::new();
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (addr, _task) = timeout(
        STEP,
        mcp::serve_http(world.ctx.clone(), bind, cancel.clone()),
    )
    .await
    .expect("bound in time")
    .expect("bound");
    let http = reqwest::Client::new();
    let post = |body: Value| {
        http.post(format!("http://{addr}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2025-06-18")
            .body(body.to_string())
            .send()
    };
    let list: Value = timeout(
        STEP,
        post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
    )
    .await
    .expect("in time")
    .expect("HTTP")
    .json()
    .await
    .expect("JSON");
    assert_eq!(names(&list["result"]), expected(), "{list}");
    let hidden: Value = timeout(
        STEP,
        post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "ibkr_margin", "arguments": {}}})),
    )
    .await
    .expect("in time")
    .expect("HTTP")
    .json()
    .await
    .expect("JSON");
    assert_eq!(hidden["error"]["code"], -32602, "{hidden}");
    cancel.cancel();
    world.shutdown().await;
}

/// `ibkr-cockpit mcp --toolsets account --socket P` bridged to a cockpit that exposes every
/// tool: the sidecar's client sees the account tools only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridged_sidecar_applies_its_own_toolsets() {
    let world = start_world().await;
    let dirs = Dirs::new();
    let path = dirs.socket();
    let cancel = CancellationToken::new();
    let _server = timeout(
        STEP,
        mcp::serve_socket(world.ctx.clone(), &path, cancel.clone()),
    )
    .await
    .expect("socket in time")
    .expect("socket serves");

    let mut child = dirs
        .command(None)
        .args(["mcp", "--toolsets", "account", "--socket"])
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sidecar spawns");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "sidecar-test", "version": "1"}}});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    stdin
        .write_all(format!("{init}\n{initialized}\n{list}\n").as_bytes())
        .await
        .expect("write");
    let mut listed = None;
    while listed.is_none() {
        let line = timeout(STEP, stdout.next_line())
            .await
            .expect("answer in time")
            .expect("readable")
            .expect("a line");
        let msg: Value = serde_json::from_str(&line).expect("JSON");
        if msg["id"] == 2 {
            listed = Some(msg);
        }
    }
    let listed = listed.expect("tools/list answered");
    let account: BTreeSet<String> = tools::catalog()
        .iter()
        .filter(|t| t.group.as_str() == "account")
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names(&listed["result"]), account, "{listed}");
    drop(stdin);
    let _ = timeout(STEP, child.wait()).await;
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test]
async fn an_unknown_toolset_stops_start_up_with_the_valid_names() {
    let dirs = Dirs::new();
    for args in [
        vec!["mcp", "--demo", "--toolsets", "account,riks"],
        vec!["serve", "--demo", "--port", "0", "--tools", "ibkr_qoute"],
    ] {
        let out = timeout(
            STEP,
            dirs.command(None).args(&args).stdin(Stdio::null()).output(),
        )
        .await
        .expect("exits in time")
        .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "nothing on stdout: {args:?}");
        let valid = if args.contains(&"--toolsets") {
            "account, briefing, portfolio, market_data, live_data, risk, intelligence, monitoring, orders"
        } else {
            "ibkr_quote"
        };
        assert!(
            stderr.contains(valid),
            "{args:?} lists the valid names: {stderr}"
        );
    }
    // The environment variable is checked the same way.
    let out = timeout(
        STEP,
        dirs.command(None)
            .args(["mcp", "--demo"])
            .env("IBKR_TOOLSETS", "bogus")
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("exits in time")
    .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("IBKR_TOOLSETS") && stderr.contains("portfolio"),
        "{stderr}"
    );
}
