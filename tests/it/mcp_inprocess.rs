//! MCP in-process: an rmcp client talks to the server over a `tokio::io::duplex` pipe, through
//! the same line filter stdio uses; the tools read the simulated gateway through the real adapter.

use crate::support::world;

use crate::support::{STEP, assert_close};
use ibkr_cockpit::mcp::serve_lines;
use ibkr_cockpit::tools;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, Implementation};
use rmcp::service::RunningService;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;
use world::start_live_clock;

/// A client that introduces itself by name, so the journal can be checked.
struct NamedClient;

impl ClientHandler for NamedClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            Default::default(),
            Implementation::new("claude-code-test", "1.0.0"),
        )
    }
}

async fn connect(ctx: tools::ToolContext) -> RunningService<RoleClient, NamedClient> {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_io);
    tokio::spawn(serve_lines(ctx, server_read, server_write));
    timeout(STEP, NamedClient.serve(client_io))
        .await
        .expect("initialize in time")
        .expect("initialize succeeds")
}

async fn call(
    client: &RunningService<RoleClient, NamedClient>,
    name: &str,
    args: Value,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    timeout(STEP, client.call_tool(params))
        .await
        .expect("call answered in time")
        .expect("call is not a protocol error")
}

fn text_of(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_has_every_tool_with_schemas_and_read_only_hint() {
    let world = start_live_clock().await;
    let client = connect(world.ctx.clone()).await;

    let info = client.peer_info().expect("server info after initialize");
    let server = info.server_info.clone().expect("server names itself");
    assert_eq!(server.name, "ibkr-cockpit");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));

    let listed = timeout(STEP, client.list_all_tools())
        .await
        .expect("in time")
        .expect("tools/list");
    let catalog = tools::catalog();
    assert_eq!(
        listed.len(),
        catalog.len(),
        "every catalogue tool is listed"
    );
    for spec in catalog {
        let tool = listed
            .iter()
            .find(|t| t.name == spec.name)
            .unwrap_or_else(|| panic!("{} listed", spec.name));
        assert_eq!(tool.description.as_deref(), Some(spec.description));
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{} input schema",
            spec.name
        );
        let output = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{} output schema", spec.name));
        assert_eq!(
            output.get("type"),
            Some(&json!("object")),
            "{} output schema",
            spec.name
        );
        let annotations = tool.annotations.as_ref().expect("annotations");
        assert_eq!(
            annotations.read_only_hint,
            Some(true),
            "{} readOnlyHint",
            spec.name
        );
        assert_eq!(
            annotations.destructive_hint,
            Some(false),
            "{} destructiveHint",
            spec.name
        );
    }
    for name in ["ibkr_get_account_summary", "ibkr_get_positions"] {
        assert!(listed.iter().any(|t| t.name == name), "{name} listed");
    }
    drop(client);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_summary_and_positions_match_the_simulated_book_and_are_journaled() {
    let world = start_live_clock().await;
    let client = connect(world.ctx.clone()).await;
    let account = world.sim_account();

    let summary = call(&client, "ibkr_get_account_summary", json!({})).await;
    assert_eq!(summary.is_error, Some(false), "{}", text_of(&summary));
    let s = summary
        .structured_content
        .clone()
        .expect("structuredContent");
    assert_close(&s["net_liquidation"], account.net_liquidation, "NLV");
    assert_close(
        &s["gross_position_value"],
        account.gross_position_value,
        "gross position value",
    );
    assert_close(
        &s["maint_margin"],
        account.maint_margin,
        "maintenance margin",
    );
    assert_eq!(s["base_currency"], json!(account.base_currency));
    // Masked by default: U****1234, never the full id.
    let masked = s["account"].as_str().expect("account");
    assert!(masked.contains("****"), "account masked: {masked}");
    assert!(
        !text_of(&summary).contains(&account.account),
        "full account id never shown"
    );
    assert!(text_of(&summary).contains("Account Summary"));

    let positions = call(&client, "ibkr_get_positions", json!({})).await;
    assert_eq!(positions.is_error, Some(false), "{}", text_of(&positions));
    let p = positions
        .structured_content
        .clone()
        .expect("structuredContent");
    let rows = p["positions"].as_array().expect("positions array");
    let sim_positions: Vec<_> = world
        .sim
        .world()
        .positions
        .into_iter()
        .filter(|sp| sp.account == account.account)
        .collect();
    assert_eq!(
        rows.len(),
        sim_positions.len(),
        "one row per simulated position"
    );
    for sp in &sim_positions {
        let row = rows
            .iter()
            .find(|r| r["symbol"] == json!(sp.symbol))
            .unwrap_or_else(|| panic!("{} in the answer", sp.symbol));
        assert_close(
            &row["quantity"],
            sp.quantity,
            &format!("{} quantity", sp.symbol),
        );
        assert_close(
            &row["avg_cost"],
            sp.avg_cost,
            &format!("{} average cost", sp.symbol),
        );
        assert_eq!(
            row["currency"],
            json!(sp.currency),
            "{} currency",
            sp.symbol
        );
        assert_close(
            &row["market_value"],
            sp.market_value,
            &format!("{} market value", sp.symbol),
        );
        assert!(
            text_of(&positions).contains(&sp.symbol),
            "{} in the markdown",
            sp.symbol
        );
    }

    // Both calls are in the journal under the client's own name.
    let journal = world.ctx.store.snapshot().journal;
    let ours: Vec<_> = journal
        .iter()
        .filter(|r| r.client == "claude-code-test")
        .collect();
    assert!(
        ours.iter()
            .any(|r| r.tool == "ibkr_get_account_summary" && r.ok)
    );
    assert!(ours.iter().any(|r| r.tool == "ibkr_get_positions" && r.ok));

    drop(client);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_and_unknown_tools_are_tool_errors_not_protocol_errors() {
    let world = start_live_clock().await;
    let client = connect(world.ctx.clone()).await;

    let bad = call(&client, "ibkr_margin", json!({"detail": "everything"})).await;
    assert_eq!(bad.is_error, Some(true));
    let message = text_of(&bad);
    assert!(message.contains("detail"), "names the parameter: {message}");
    assert!(
        message.contains("headroom"),
        "says what is accepted: {message}"
    );

    let unknown_account = call(
        &client,
        "ibkr_get_account_summary",
        json!({"account": "U0000000"}),
    )
    .await;
    assert_eq!(
        unknown_account.is_error,
        Some(true),
        "unknown account is an error, never a fall-back"
    );

    let typo = call(&client, "ibkr_get_postions", json!({})).await;
    assert_eq!(typo.is_error, Some(true));
    assert!(
        text_of(&typo).contains("ibkr_get_positions"),
        "suggests the close name: {}",
        text_of(&typo)
    );

    // The session is still healthy afterwards.
    let ok = call(&client, "ibkr_list_accounts", json!({})).await;
    assert_eq!(ok.is_error, Some(false), "{}", text_of(&ok));

    drop(client);
    world.shutdown().await;
}

/// Raw JSON-RPC lines over the pipe: garbage gets a parse error, and the next request is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_lines_get_json_rpc_errors_and_the_server_keeps_serving() {
    let world = start_live_clock().await;
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_io);
    tokio::spawn(serve_lines(world.ctx.clone(), server_read, server_write));
    let (client_read, mut client_write) = tokio::io::split(client_io);
    let mut lines = BufReader::new(client_read).lines();
    let mut next_message = async || -> Value {
        let line = timeout(STEP, lines.next_line())
            .await
            .expect("answer in time")
            .expect("readable")
            .expect("a line");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("every output line is JSON ({e}): {line}"))
    };

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}});
    client_write
        .write_all(format!("{init}\n").as_bytes())
        .await
        .expect("write");
    let answer = next_message().await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["serverInfo"]["name"], "ibkr-cockpit");
    client_write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .expect("write");

    client_write
        .write_all(b"this is not json\n")
        .await
        .expect("write");
    let error = next_message().await;
    assert_eq!(error["error"]["code"], -32700, "parse error: {error}");
    assert!(error["id"].is_null());

    client_write
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"bogus\":true}\n")
        .await
        .expect("write");
    let error = next_message().await;
    assert!(
        error["error"]["code"].is_i64(),
        "JSON that is not JSON-RPC gets an error: {error}"
    );

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "ibkr_get_account_summary", "arguments": {}}});
    client_write
        .write_all(format!("{call}\n").as_bytes())
        .await
        .expect("write");
    let answer = next_message().await;
    assert_eq!(answer["id"], 3, "{answer}");
    assert_close(
        &answer["result"]["structuredContent"]["net_liquidation"],
        world.sim_account().net_liquidation,
        "NLV after malformed input",
    );

    drop(client_write);
    world.shutdown().await;
}
