//! Prompts, resources and logging over the stdio protocol, against the simulated gateway:
//! capabilities say exactly what is served, prompts expand with their arguments, resources read
//! the book as markdown and announce updates after a price move, and a gateway drop reaches a
//! client that set a log level as `notifications/message`.

use crate::mcp_protocol::RawClient;
use crate::support::STEP;
use crate::support::world::start_live_clock as start_world;
use ibkr_cockpit::sim::Fault;
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Reads until a notification with `method` arrives (answers and other notifications skipped).
async fn notification(client: &mut RawClient, method: &str) -> Value {
    timeout(STEP, async {
        loop {
            let msg = client.receive().await;
            if msg["method"] == method {
                return msg;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{method} within {STEP:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_say_what_each_transport_serves() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    let init = client.initialize("2025-06-18").await;
    let caps = &init["result"]["capabilities"];
    assert!(caps["tools"].is_object(), "{caps}");
    assert!(caps["prompts"].is_object(), "{caps}");
    assert_eq!(caps["resources"]["subscribe"], true, "{caps}");
    assert!(caps["logging"].is_object(), "{caps}");
    assert!(caps.get("completions").is_none(), "{caps}");

    // Stateless HTTP cannot push notifications: no logging, no subscriptions.
    let cancel = CancellationToken::new();
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let (addr, _task) = ibkr_cockpit::mcp::serve_http(world.ctx.clone(), bind, cancel.clone())
        .await
        .expect("bound");
    let body = request(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "caps", "version": "1"}}),
    );
    let init: Value = reqwest::Client::new()
        .post(format!("http://{addr}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("HTTP")
        .json()
        .await
        .expect("JSON");
    let caps = &init["result"]["capabilities"];
    assert!(
        caps["tools"].is_object() && caps["prompts"].is_object(),
        "{caps}"
    );
    assert!(caps.get("logging").is_none(), "{caps}");
    assert!(caps["resources"].get("subscribe").is_none(), "{caps}");
    cancel.cancel();
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_list_and_expand_with_their_arguments() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;

    client.send(request(1, "prompts/list", json!({}))).await;
    let list = client.answer().await;
    let prompts = list["result"]["prompts"].as_array().expect("prompts");
    let names: Vec<&str> = prompts.iter().filter_map(|p| p["name"].as_str()).collect();
    for wanted in [
        "morning_briefing",
        "margin_call_check",
        "pre_trade_check",
        "thesis_review",
    ] {
        assert!(names.contains(&wanted), "{wanted} in {names:?}");
    }
    let pre_trade = prompts
        .iter()
        .find(|p| p["name"] == "pre_trade_check")
        .expect("pre_trade_check");
    let args: Vec<&str> = pre_trade["arguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(args, ["symbol", "side", "quantity"]);

    client
        .send(request(
            2,
            "prompts/get",
            json!({"name": "pre_trade_check",
                "arguments": {"symbol": "KRYX", "side": "BUY", "quantity": "100"}}),
        ))
        .await;
    let got = client.answer().await;
    let text = got["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("prompt text: {got}"));
    assert!(text.contains("BUY 100 KRYX"), "{text}");
    assert!(
        text.contains("ibkr_what_if (symbol=KRYX, action=BUY, quantity=100)"),
        "{text}"
    );

    client
        .send(request(
            3,
            "prompts/get",
            json!({"name": "pre_trade_check", "arguments": {"symbol": "KRYX"}}),
        ))
        .await;
    let missing = client.answer().await;
    assert_eq!(missing["id"], 3);
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("side"),
        "{missing}"
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_read_the_book_and_announce_updates_after_a_price_move() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;

    client.send(request(1, "resources/list", json!({}))).await;
    let list = client.answer().await;
    let uris: Vec<&str> = list["result"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(
        uris,
        [
            "ibkr://account/summary",
            "ibkr://positions",
            "ibkr://briefing"
        ]
    );

    client
        .send(request(
            2,
            "resources/read",
            json!({"uri": "ibkr://positions"}),
        ))
        .await;
    let read = client.answer().await;
    let contents = &read["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "text/markdown", "{read}");
    let text = contents["text"].as_str().expect("text");
    let account = world.sim.account_id();
    for p in world
        .sim
        .world()
        .positions
        .iter()
        .filter(|p| p.account == account)
    {
        assert!(
            text.contains(&p.symbol),
            "{} in the positions resource",
            p.symbol
        );
    }

    client
        .send(request(
            3,
            "resources/read",
            json!({"uri": "ibkr://nothing"}),
        ))
        .await;
    let unknown = client.answer().await;
    assert_eq!(unknown["id"], 3);
    assert_eq!(unknown["error"]["code"], -32002, "{unknown}");

    client
        .send(request(
            4,
            "resources/subscribe",
            json!({"uri": "ibkr://positions"}),
        ))
        .await;
    assert_eq!(client.answer().await["id"], 4);
    // Prices move: the simulator pushes new portfolio values, the book changes.
    world.sim.advance(30);
    let updated = notification(&mut client, "notifications/resources/updated").await;
    assert_eq!(updated["params"]["uri"], "ibkr://positions", "{updated}");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_drop_reaches_the_client_as_a_log_message() {
    let world = start_world().await;
    let mut client = RawClient::connect(world.ctx.clone());
    client.initialize("2025-06-18").await;
    client
        .send(request(1, "logging/setLevel", json!({"level": "info"})))
        .await;
    let set = client.answer().await;
    assert_eq!(set["id"], 1);
    assert!(set.get("error").is_none(), "{set}");

    world.sim.inject(Fault::Drop);
    let message = timeout(STEP, async {
        loop {
            let msg = notification(&mut client, "notifications/message").await;
            if msg["params"]["data"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("connection lost"))
            {
                return msg;
            }
        }
    })
    .await
    .expect("the drop is reported");
    assert_eq!(message["params"]["level"], "warning", "{message}");
    assert_eq!(message["params"]["logger"], "gateway", "{message}");
    assert_eq!(message["params"]["data"]["gateway"], "primary", "{message}");
    world.shutdown().await;
}
