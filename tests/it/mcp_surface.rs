//! What an MCP client sees of the tools, per output mode: the text the model reads (the way
//! Claude Code reads a result: `structuredContent` when present, else the text), the size and
//! portability of `tools/list`, and toolset filtering on stdio, HTTP and a bridged sidecar.

use crate::support::world::{default_config, start_live_clock_with as start_world_with};
use crate::support::{STEP, assert_close};
use ibkr_cockpit::config::{Config, OutputMode};
use ibkr_cockpit::mcp::schema::portability_problems;
use ibkr_cockpit::mcp::{Surface, serve_lines};
use ibkr_cockpit::tools::{self, ToolContext};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientConfig, Implementation, Tool};
use rmcp::service::RunningService;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use tokio::time::timeout;

/// tools/list in the default mode must fit this many characters (about 8k tokens).
const TOOLS_LIST_BUDGET: usize = 32_000;

struct TestClient;

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            Default::default(),
            Implementation::new("surface-test", "1.0.0"),
        )
    }
}

type Client = RunningService<RoleClient, TestClient>;

async fn connect(ctx: ToolContext) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_io);
    tokio::spawn(serve_lines(ctx, server_read, server_write));
    timeout(STEP, TestClient.serve(client_io))
        .await
        .expect("initialize in time")
        .expect("initialize succeeds")
}

/// The example thesis and risk-factor files, so every tool has what it needs.
fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn config(output: OutputMode) -> Config {
    let mut config = default_config();
    config.mcp.output = output;
    config.data.config_dir = Some(examples_dir());
    config
}

/// Every tool, with arguments it answers in the simulated book.
pub fn every_tool_call() -> Vec<(&'static str, Value)> {
    vec![
        ("ibkr_briefing", json!({})),
        ("ibkr_compare_performance", json!({"symbols": "KRYX,VLTX"})),
        ("ibkr_connection_status", json!({})),
        ("ibkr_consolidated_view", json!({})),
        ("ibkr_correlation_matrix", json!({})),
        ("ibkr_currency", json!({})),
        ("ibkr_alerts", json!({})),
        ("ibkr_dividends", json!({})),
        ("ibkr_drawdown_tracker", json!({})),
        ("ibkr_fundamentals", json!({"symbols": "KRYX"})),
        ("ibkr_geopolitical_risk", json!({})),
        ("ibkr_get_account_pnl", json!({})),
        ("ibkr_get_account_summary", json!({})),
        ("ibkr_get_contract_details", json!({"symbol": "KRYX"})),
        ("ibkr_get_fx_rate", json!({"pair": "USDCAD"})),
        ("ibkr_get_historical_bars", json!({"symbol": "KRYX"})),
        ("ibkr_get_intraday", json!({"symbol": "KRYX"})),
        ("ibkr_get_option_chain", json!({"symbol": "KRYX"})),
        ("ibkr_get_orders", json!({})),
        ("ibkr_get_positions", json!({})),
        ("ibkr_list_accounts", json!({})),
        ("ibkr_margin", json!({})),
        ("ibkr_margin_history", json!({})),
        ("ibkr_margin_ladder", json!({})),
        ("ibkr_news", json!({"symbols": "KRYX"})),
        ("ibkr_portfolio_beta", json!({})),
        ("ibkr_position_detail", json!({"symbol": "KRYX"})),
        ("ibkr_quote", json!({"symbols": "KRYX,VLTX"})),
        (
            "ibkr_rebalance_planner",
            json!({"targets": "KRYX:40,VLTX:30,CASH:30"}),
        ),
        ("ibkr_scanner", json!({})),
        ("ibkr_search_contracts", json!({"query": "KRYX"})),
        ("ibkr_sector_exposure", json!({})),
        ("ibkr_selftest", json!({})),
        ("ibkr_shortable", json!({"symbols": "KRYX"})),
        ("ibkr_stress_test", json!({})),
        ("ibkr_technicals", json!({"symbol": "KRYX"})),
        (
            "ibkr_thesis_check",
            json!({"news_item": "Hyperscaler capex guidance raised again as cloud revenue beats"}),
        ),
        ("ibkr_trades", json!({})),
        ("ibkr_var_estimate", json!({})),
        ("ibkr_volatility", json!({"symbols": "KRYX"})),
        (
            "ibkr_what_if",
            json!({"symbol": "KRYX", "action": "BUY", "quantity": 10}),
        ),
    ]
}

/// What Claude Code hands the model: `JSON.stringify(structuredContent)` when the result has
/// it, else the text blocks.
fn model_view(result: &CallToolResult) -> String {
    match &result.structured_content {
        Some(v) => v.to_string(),
        None => result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

async fn call(client: &Client, name: &str, args: &Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map.clone());
    }
    timeout(STEP, client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("{name} answered in time"))
        .unwrap_or_else(|e| panic!("{name} is not a protocol error: {e}"))
}

async fn list(client: &Client) -> Vec<Tool> {
    timeout(STEP, client.list_all_tools())
        .await
        .expect("tools/list in time")
        .expect("tools/list")
}

/// The tools/list result as a client receives it, in characters.
fn list_chars(tools: &[Tool]) -> usize {
    json!({"tools": tools}).to_string().chars().count()
}

#[test]
fn the_call_table_covers_every_tool() {
    let table: BTreeSet<&str> = every_tool_call().iter().map(|(n, _)| *n).collect();
    let catalog: BTreeSet<&str> = tools::catalog().iter().map(|t| t.name).collect();
    assert_eq!(table, catalog);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_model_reads_each_tools_markdown() {
    let world = start_world_with(config(OutputMode::Markdown)).await;
    let client = connect(world.ctx.clone()).await;

    let listed = list(&client).await;
    assert_eq!(listed.len(), tools::catalog().len());
    assert!(
        listed.iter().all(|t| t.output_schema.is_none()),
        "no outputSchema in the default mode"
    );
    let chars = list_chars(&listed);
    eprintln!("tools/list: {chars} characters for {} tools", listed.len());
    assert!(
        chars <= TOOLS_LIST_BUDGET,
        "tools/list is {chars} characters, over the {TOOLS_LIST_BUDGET} budget"
    );

    for (name, args) in every_tool_call() {
        let result = call(&client, name, &args).await;
        let seen = model_view(&result);
        assert_eq!(result.is_error, Some(false), "{name} answers: {seen}");
        assert!(result.structured_content.is_none(), "{name}: text only");
        // The journal holds the markdown the tool wrote for this very call.
        let journal = world.ctx.store.snapshot().journal.clone();
        let record = journal
            .iter()
            .rev()
            .find(|r| r.tool == name)
            .unwrap_or_else(|| panic!("{name} journaled"));
        assert!(!record.markdown.is_empty(), "{name} wrote markdown");
        assert_eq!(seen, record.markdown, "{name}: the model sees the markdown");
    }
    drop(client);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_mode_sends_valid_json_with_schemas_and_the_same_json_as_text() {
    let world = start_world_with(config(OutputMode::Structured)).await;
    let client = connect(world.ctx.clone()).await;
    let listed = list(&client).await;
    for tool in &listed {
        let schema = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{} has an outputSchema", tool.name));
        assert_eq!(schema.get("type"), Some(&json!("object")), "{}", tool.name);
    }
    for (name, args) in every_tool_call() {
        let result = call(&client, name, &args).await;
        assert_eq!(
            result.is_error,
            Some(false),
            "{name}: {}",
            model_view(&result)
        );
        let structured = result
            .structured_content
            .clone()
            .unwrap_or_else(|| panic!("{name}: structuredContent"));
        let text = result.content[0]
            .as_text()
            .expect("a text block")
            .text
            .clone();
        let as_json: Value = serde_json::from_str(&text).expect("the text is the JSON");
        assert_eq!(as_json, structured, "{name}: the same JSON as text");
        // The answer validates against the schema the client was given.
        let schema = listed
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.output_schema.clone())
            .unwrap_or_else(|| panic!("{name} listed with an outputSchema"));
        let validator = jsonschema::validator_for(&Value::Object((*schema).clone()))
            .unwrap_or_else(|e| panic!("{name}: the outputSchema compiles: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&structured)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
    let summary = call(&client, "ibkr_get_account_summary", &json!({})).await;
    assert_close(
        &summary.structured_content.expect("structured")["net_liquidation"],
        world.sim_account().net_liquidation,
        "NLV in structured mode",
    );
    drop(client);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_mode_sends_markdown_text_and_structured_content() {
    let world = start_world_with(config(OutputMode::Both)).await;
    let client = connect(world.ctx.clone()).await;
    let listed = list(&client).await;
    assert!(listed.iter().all(|t| t.output_schema.is_some()));
    let result = call(&client, "ibkr_get_positions", &json!({})).await;
    let text = result.content[0].as_text().expect("text").text.clone();
    assert!(text.starts_with('#'), "markdown text: {text}");
    assert!(result.structured_content.is_some());
    drop(client);
    world.shutdown().await;
}

/// Sizes and portability of tools/list in every mode. The sizes are printed for BENCHMARKS.md
/// (`cargo test --test it tools_list_sizes -- --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_sizes_and_portable_schemas_in_every_mode() {
    let world = start_world_with(config(OutputMode::Markdown)).await;
    for output in [
        OutputMode::Markdown,
        OutputMode::Structured,
        OutputMode::Both,
    ] {
        let surface = Surface {
            output,
            ..Surface::default()
        };
        let tools = surface.mcp_tools();
        let chars = list_chars(&tools);
        println!("tools/list {}: {chars} characters", output.as_str());
        if output == OutputMode::Markdown {
            assert!(chars <= TOOLS_LIST_BUDGET, "{chars} characters");
        }
        for tool in &tools {
            let problems = portability_problems(&Value::Object((*tool.input_schema).clone()));
            assert!(problems.is_empty(), "{} input: {problems:?}", tool.name);
            if let Some(out) = &tool.output_schema {
                let problems = portability_problems(&Value::Object((**out).clone()));
                assert!(problems.is_empty(), "{} output: {problems:?}", tool.name);
            }
            // A list parameter says it takes a JSON array or a comma-separated string.
            let params = tool
                .input_schema
                .get("properties")
                .and_then(Value::as_object);
            for (param, schema) in params.into_iter().flatten() {
                let original = tools::catalog()
                    .iter()
                    .find(|t| t.name == tool.name)
                    .and_then(|t| t.input_schema["properties"].get(param))
                    .expect("the catalogue has the parameter");
                if original.to_string().contains("\"array\"") {
                    let kinds: Vec<&Value> = schema["anyOf"]
                        .as_array()
                        .unwrap_or_else(|| panic!("{}.{param} anyOf: {schema}", tool.name))
                        .iter()
                        .map(|alt| &alt["type"])
                        .collect();
                    assert_eq!(kinds, [&json!("array"), &json!("string")], "{}", tool.name);
                }
            }
        }
    }
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_parameter_accepts_a_comma_separated_string_and_an_array() {
    let world = start_world_with(config(OutputMode::Both)).await;
    let client = connect(world.ctx.clone()).await;
    let from_string = call(&client, "ibkr_quote", &json!({"symbols": "KRYX,VLTX"})).await;
    let from_array = call(&client, "ibkr_quote", &json!({"symbols": ["KRYX", "VLTX"]})).await;
    for r in [&from_string, &from_array] {
        assert_eq!(r.is_error, Some(false), "{}", model_view(r));
        let quotes = r.structured_content.as_ref().expect("structured")["quotes"]
            .as_array()
            .expect("quotes")
            .len();
        assert_eq!(quotes, 2);
    }
    drop(client);
    world.shutdown().await;
}

/// Characters the model reads per tool in the default mode (markdown) against what it would read
/// from `structuredContent` (JSON), for BENCHMARKS.md
/// (`cargo test --test it model_visible_characters -- --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_visible_characters_per_tool() {
    let world = start_world_with(config(OutputMode::Markdown)).await;
    let (mut markdown_total, mut json_total) = (0, 0);
    println!("| tool | markdown chars | JSON chars |\n|---|---:|---:|");
    for (name, args) in every_tool_call() {
        let out = tools::call(&world.ctx, name, args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (md, js) = (
            out.markdown.chars().count(),
            out.json.to_string().chars().count(),
        );
        assert!(md > 0 && js > 0, "{name}");
        println!("| {name} | {md} | {js} |");
        markdown_total += md;
        json_total += js;
    }
    println!("| all | {markdown_total} | {json_total} |");
    world.shutdown().await;
}
