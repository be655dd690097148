//! JSON-RPC details over the stdio line protocol (the filter in front of rmcp): notifications
//! before initialize, duplicate in-flight ids, invalid params, batches per protocol version,
//! and the request's id on every error.

use crate::support::STEP;
use crate::support::world::start_live_clock as start_world;
use ibkr_cockpit::mcp::serve_lines;
use ibkr_cockpit::tools::ToolContext;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};
use tokio::time::timeout;

/// A raw client: writes lines, reads lines.
pub struct RawClient {
    write: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
}

impl RawClient {
    pub fn connect(ctx: ToolContext) -> RawClient {
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_io);
        tokio::spawn(serve_lines(ctx, server_read, server_write));
        let (read, write) = tokio::io::split(client_io);
        RawClient {
            write,
            lines: BufReader::new(read).lines(),
        }
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.write
            .write_all(format!("{text}\n").as_bytes())
            .await
            .expect("write");
    }

    pub async fn send(&mut self, msg: Value) {
        self.send_raw(&msg.to_string()).await;
    }

    /// The next line, as JSON (every line the server writes must be JSON).
    pub async fn receive(&mut self) -> Value {
        let line = timeout(STEP, self.lines.next_line())
            .await
            .expect("answer in time")
            .expect("readable")
            .expect("a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("JSON only ({e}): {line}"))
    }

    /// The next message that is not a notification.
    pub async fn answer(&mut self) -> Value {
        loop {
            let msg = self.receive().await;
            if msg.is_array() || msg.get("method").is_none() {
                return msg;
            }
        }
    }

    pub async fn initialize(&mut self, version: &str) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "raw-protocol-test", "version": "1"}}}),
        )
        .await;
        let answer = self.answer().await;
        assert_eq!(answer["id"], 0, "{answer}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        answer
    }
}

fn call(id: Value, name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": args}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_before_initialize_is_ignored_and_the_session_goes_on() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client
        .send_raw(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;
    let init = client.initialize("2025-06-18").await;
    assert_eq!(
        init["result"]["serverInfo"]["name"], "ibkr-cockpit",
        "{init}"
    );
    client
        .send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    let list = client.answer().await;
    assert_eq!(list["id"], 1);
    assert!(
        list["result"]["tools"]
            .as_array()
            .is_some_and(|t| t.len() > 20)
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_the_request_id_and_the_right_code() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;

    // Arguments that are not an object: invalid params, not "method not found".
    client
        .send(call(json!(11), "ibkr_quote", json!(["KRYX"])))
        .await;
    let bad = client.answer().await;
    assert_eq!(bad["id"], 11, "{bad}");
    assert_eq!(bad["error"]["code"], -32602, "{bad}");

    // An unknown tool: invalid params naming the closest tool.
    client
        .send(call(json!("t-12"), "ibkr_qoute", json!({})))
        .await;
    let unknown = client.answer().await;
    assert_eq!(unknown["id"], "t-12", "{unknown}");
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let message = unknown["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("ibkr_quote"), "{message}");

    // JSON that is no JSON-RPC message: invalid request, with its id.
    client.send(json!({"jsonrpc": "2.0", "id": 13})).await;
    let invalid = client.answer().await;
    assert_eq!(invalid["id"], 13, "{invalid}");
    assert_eq!(invalid["error"]["code"], -32600, "{invalid}");

    // The session is healthy afterwards.
    client
        .send(call(json!(14), "ibkr_list_accounts", json!({})))
        .await;
    let ok = client.answer().await;
    assert_eq!(ok["id"], 14);
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_requests_with_one_id_in_flight_are_both_answered() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;
    // Both lines in one write: the second arrives while the first is being served.
    let first = call(json!(7), "ibkr_briefing", json!({}));
    let second = call(json!(7), "ibkr_list_accounts", json!({}));
    client.send_raw(&format!("{first}\n{second}")).await;
    let answers = [client.answer().await, client.answer().await];
    assert!(answers.iter().all(|a| a["id"] == 7), "{answers:?}");
    let results = answers.iter().filter(|a| a.get("result").is_some()).count();
    let refusals: Vec<&Value> = answers
        .iter()
        .filter(|a| a.get("error").is_some())
        .collect();
    // Either both ran, or the second was refused saying which id clashed.
    assert!(results >= 1, "{answers:?}");
    for r in refusals {
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("id 7"),
            "{r}"
        );
    }
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_answered_under_2025_03_26_and_refused_per_request_otherwise() {
    let world = start_world().await;

    let mut old = RawClient::connect(world.ctx.clone());
    let init = old.initialize("2025-03-26").await;
    assert_eq!(init["result"]["protocolVersion"], "2025-03-26");
    old.send(json!([
        call(json!(1), "ibkr_list_accounts", json!({})),
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "x", "progress": 1}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        call(json!(3), "ibkr_quote", json!(["KRYX"])),
    ]))
    .await;
    let batch = old.answer().await;
    let answers = batch
        .as_array()
        .unwrap_or_else(|| panic!("an array: {batch}"));
    assert_eq!(answers.len(), 3, "one answer per request: {batch}");
    let by_id = |id: i64| {
        answers
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("answer {id} in {batch}"))
    };
    assert_eq!(by_id(1)["result"]["isError"], false);
    assert!(by_id(2)["result"]["tools"].is_array());
    assert_eq!(by_id(3)["error"]["code"], -32602);

    let mut new = RawClient::connect(world.ctx.clone());
    new.initialize("2025-06-18").await;
    new.send(json!([
        call(json!(1), "ibkr_list_accounts", json!({})),
        {"jsonrpc": "2.0", "id": "b", "method": "tools/list"},
    ]))
    .await;
    let refused = new.answer().await;
    let errors = refused
        .as_array()
        .unwrap_or_else(|| panic!("an array: {refused}"));
    let ids: Vec<&Value> = errors.iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, [&json!(1), &json!("b")], "{refused}");
    for e in errors {
        assert_eq!(e["error"]["code"], -32600, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("2025-03-26"),
            "{e}"
        );
    }
    // Still serving.
    new.send(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}))
        .await;
    assert_eq!(new.answer().await["id"], 9);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_invalid_params_and_unknown_tools_are_32602_with_the_id() {
    let world = start_world().await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let bind: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (addr, _task) = ibkr_cockpit::mcp::serve_http(world.ctx.clone(), bind, cancel.clone())
        .await
        .expect("bound");
    let http = reqwest::Client::new();
    for (body, id) in [
        (call(json!(21), "ibkr_quote", json!(["KRYX"])), json!(21)),
        (call(json!("u"), "ibkr_qoute", json!({})), json!("u")),
    ] {
        let answer: Value = timeout(
            STEP,
            http.post(format!("http://{addr}/mcp"))
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .header("mcp-protocol-version", "2025-06-18")
                .body(body.to_string())
                .send(),
        )
        .await
        .expect("in time")
        .expect("HTTP")
        .json()
        .await
        .expect("JSON");
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(answer["error"]["code"], -32602, "{answer}");
    }
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_batch_is_served_under_2025_03_26_and_refused_per_request_otherwise() {
    let world = start_world().await;
    let cancel = tokio_util::sync::CancellationToken::new();
    let bind: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (addr, _task) = ibkr_cockpit::mcp::serve_http(world.ctx.clone(), bind, cancel.clone())
        .await
        .expect("bound");
    let http = reqwest::Client::new();
    let batch = json!([
        call(json!(1), "ibkr_list_accounts", json!({})),
        {"jsonrpc": "2.0", "id": "two", "method": "tools/list"},
        call(json!(3), "ibkr_quote", json!(["KRYX"])),
    ]);
    let post = |version: &'static str| {
        http.post(format!("http://{addr}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", version)
            .body(batch.to_string())
            .send()
    };
    let served: Value = timeout(STEP, post("2025-03-26"))
        .await
        .expect("in time")
        .expect("HTTP")
        .json()
        .await
        .expect("JSON");
    let answers = served
        .as_array()
        .unwrap_or_else(|| panic!("an array: {served}"));
    assert_eq!(answers.len(), 3, "{served}");
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["result"]["isError"], false, "{served}");
    assert_eq!(answers[1]["id"], "two");
    assert!(answers[1]["result"]["tools"].is_array(), "{served}");
    assert_eq!(answers[2]["id"], 3);
    assert_eq!(answers[2]["error"]["code"], -32602, "{served}");

    let response = timeout(STEP, post("2025-06-18"))
        .await
        .expect("in time")
        .expect("HTTP");
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused: Value = response.json().await.expect("JSON");
    let ids: Vec<&Value> = refused
        .as_array()
        .unwrap_or_else(|| panic!("an array: {refused}"))
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!("two"), &json!(3)], "{refused}");
    assert!(
        refused[0]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("2025-03-26")
    );
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_tool_call_is_answered_exactly_as_rmcp_answers_it() {
    // Fixed clock: two answers to the same call are byte for byte the same.
    let world = crate::support::world::start().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;
    let cases = [
        ("ibkr_get_positions", json!({})),
        ("ibkr_get_account_summary", json!({})),
        // A tool error is a result with isError, whichever way the call went.
        ("ibkr_get_positions", json!({"bogus": 1})),
    ];
    for (name, args) in cases {
        // Plain params: served by the line filter. With `_meta`: the same call through rmcp.
        client.send(call(json!(1), name, args.clone())).await;
        let plain = client.answer().await;
        client
            .send(
                json!({"jsonrpc": "2.0", "id": "two", "method": "tools/call",
                "params": {"name": name, "arguments": args, "_meta": {}}}),
            )
            .await;
        let through_rmcp = client.answer().await;
        assert_eq!(plain["jsonrpc"], "2.0");
        assert_eq!(plain["id"], 1);
        assert_eq!(through_rmcp["id"], "two");
        assert!(plain["result"]["content"][0]["text"].is_string(), "{plain}");
        assert_eq!(plain["result"], through_rmcp["result"], "{name} {args}");
        assert_eq!(
            plain
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            through_rmcp
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        );
    }
    let journaled = world
        .ctx
        .store
        .snapshot()
        .journal
        .iter()
        .filter(|r| r.client == "raw-protocol-test")
        .count();
    assert_eq!(
        journaled, 6,
        "every call journaled under the client's name, both ways"
    );
    world.shutdown().await;
}
