//! The demo is complete: `ibkr-cockpit mcp --demo` with no thesis or risk-factor file of the
//! user's answers every tool, and the two file-based tools say they use the example files.

use crate::support::STEP;
use crate::support::daemon::Dirs;
use serde_json::{Value, json};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::timeout;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_answers_the_file_based_tools_from_the_labelled_examples() {
    let dirs = Dirs::new();
    let mut child = dirs
        .command(None)
        .args(["mcp", "--demo"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcp --demo spawns");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "demo-test", "version": "1"}}});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    stdin
        .write_all(format!("{init}\n{initialized}\n").as_bytes())
        .await
        .expect("write");
    let calls = [
        json!({"name": "ibkr_thesis_check",
               "arguments": {"news_item": "Hyperscaler capex guidance raised as cloud revenue beats"}}),
        json!({"name": "ibkr_geopolitical_risk", "arguments": {}}),
    ];
    let mut answers: Vec<Value> = Vec::new();
    let mut id = 0;
    for params in calls {
        // The demo's simulated gateway may still be syncing: an MCP client retries what the
        // answer says to retry.
        let answer = timeout(STEP, async {
            loop {
                id += 1;
                let call =
                    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
                stdin
                    .write_all(format!("{call}\n").as_bytes())
                    .await
                    .expect("write");
                let msg = loop {
                    let line = stdout.next_line().await.expect("readable").expect("a line");
                    let msg: Value = serde_json::from_str(&line).expect("JSON only on stdout");
                    if msg["id"] == id {
                        break msg;
                    }
                };
                let text = msg["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap_or_default();
                if !text.contains("gateway connecting") {
                    return msg;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
        .await
        .expect("an answer once the demo gateway is connected");
        answers.push(answer);
    }
    for answer in &answers {
        let text = answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(answer["result"]["isError"], false, "{answer}");
        assert!(
            text.contains("(example file)"),
            "says it uses the example: {text}"
        );
    }
    drop(stdin);
    let _ = timeout(STEP, child.wait()).await;
    // The user's config directory was left alone.
    assert!(
        !dirs
            .root
            .path()
            .join("config/ibkr-cockpit/thesis_config.json")
            .exists()
    );
}
