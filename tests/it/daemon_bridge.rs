//! Sidecar bridging: `ibkr-cockpit mcp --socket P` (the built binary, over pipes) finds a
//! running cockpit or daemon and bridges to it. Calls run against the host's state, land in the
//! host's journal under the client's own name, and the simulator sees one connection only.

use crate::support::daemon;
use crate::support::world;

use crate::support::{STEP, eventually};
use daemon::{Daemon, Dirs, Pipe, start_sim};
use ibkr_cockpit::mcp;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn sidecar_bridges_to_a_running_cockpit() {
    // The host: store + adapter on the simulator + socket server, as the cockpit runs them.
    let world = world::start_live_clock().await;
    let dirs = Dirs::new();
    let path = dirs.socket();
    let cancel = CancellationToken::new();
    let server = timeout(
        STEP,
        mcp::serve_socket(world.ctx.clone(), &path, cancel.clone()),
    )
    .await
    .expect("socket in time")
    .expect("socket serves");

    let mut pipe = Pipe::sidecar(&dirs, &path);
    let init = pipe.initialize("claude-code").await;
    assert_eq!(init["serverInfo"]["name"], "ibkr-cockpit");
    let quote = pipe
        .call_tool("ibkr_quote", json!({"symbols": "KRYX"}))
        .await;
    assert_eq!(quote["isError"], json!(false), "{quote}");
    let positions = pipe.call_tool("ibkr_get_positions", json!({})).await;
    assert_eq!(positions["isError"], json!(false), "{positions}");

    // Both calls are in the host's journal, attributed to the client, with the very text the
    // sidecar printed.
    let journal = world.ctx.store.snapshot().journal;
    let ours: Vec<_> = journal
        .iter()
        .filter(|r| r.client == "claude-code")
        .collect();
    let tools: Vec<&str> = ours.iter().map(|r| r.tool.as_str()).collect();
    assert_eq!(tools, vec!["ibkr_quote", "ibkr_get_positions"]);
    assert_eq!(ours[0].markdown, text_of(&quote));
    assert_eq!(ours[1].markdown, text_of(&positions));
    // The positions answer lists the simulator's holdings.
    for p in world
        .sim
        .world()
        .positions
        .iter()
        .filter(|p| p.account == world.sim.account_id())
    {
        assert!(
            text_of(&positions).contains(&p.symbol),
            "{} listed",
            p.symbol
        );
    }

    assert!(pipe.close().await.success(), "sidecar exits cleanly on EOF");
    assert_eq!(
        world.sim.counters().connections,
        1,
        "the sidecar made no gateway connection of its own"
    );
    // The host keeps serving after the sidecar left.
    assert_eq!(mcp::socket::probe(&path).await, mcp::SocketState::Answering);
    cancel.cancel();
    let _ = timeout(STEP, server.task).await;
    assert!(!path.exists(), "socket removed on shutdown");
    world.shutdown().await;
}

#[tokio::test]
async fn sidecar_bridges_to_a_running_daemon() {
    let sim = start_sim().await;
    let dirs = Dirs::new();
    let daemon = Daemon::start(&dirs, sim.port()).await;
    let http = reqwest::Client::new();
    eventually("the daemon's gateway to connect", || {
        let http = http.clone();
        let url = daemon.url("/healthz");
        async move {
            let body: Value = http.get(url).send().await.ok()?.json().await.ok()?;
            (body["gateways"]["primary"]["state"] == "connected").then_some(())
        }
    })
    .await;

    let mut pipe = Pipe::sidecar(&dirs, &daemon.socket);
    pipe.initialize("claude-code").await;
    let summary = pipe.call_tool("ibkr_get_account_summary", json!({})).await;
    assert_eq!(summary["isError"], json!(false), "{summary}");
    assert!(pipe.close().await.success());

    // The daemon journaled the call under the client's name: look through an attached view.
    let config = Arc::new(world::default_config());
    let view = timeout(STEP, mcp::attach(config, &daemon.socket))
        .await
        .expect("attach in time")
        .expect("attach");
    let record = eventually("the call in the daemon's journal", || {
        let journal = view.ctx.store.snapshot().journal;
        async move {
            journal
                .iter()
                .find(|r| r.client == "claude-code" && r.tool == "ibkr_get_account_summary")
                .cloned()
        }
    })
    .await;
    assert!(record.ok);
    assert_eq!(record.markdown, text_of(&summary));

    // And /metrics counted it.
    let metrics = http
        .get(daemon.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("ibkr_cockpit_tool_calls_total{tool=\"ibkr_get_account_summary\"} 1"),
        "{metrics}"
    );

    assert_eq!(
        sim.counters().connections,
        1,
        "one gateway connection: the daemon's"
    );
    view.detach();
    daemon.stop().await;
    sim.shutdown().await;
}
