//! The built binary as Claude Code runs it: `ibkr-cockpit mcp --demo` over pipes. Every line it
//! writes to stdout must be JSON-RPC; garbage in gets a JSON-RPC error and the next request is
//! still answered; closing stdin ends the process cleanly.

use crate::support::STEP;
use serde_json::{Value, json};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

struct Pipe {
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Pipe {
    async fn send(&mut self, line: &str) {
        self.stdin
            .write_all(line.as_bytes())
            .await
            .expect("write stdin");
        self.stdin.write_all(b"\n").await.expect("write stdin");
        self.stdin.flush().await.expect("flush stdin");
    }

    /// The next stdout line, which must be a JSON-RPC 2.0 message.
    async fn receive(&mut self) -> Value {
        let line = timeout(STEP, self.stdout.next_line())
            .await
            .expect("an answer in time")
            .expect("stdout readable")
            .expect("stdout still open");
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC ({e}): {line}"));
        assert_eq!(value["jsonrpc"], "2.0", "JSON-RPC 2.0 message: {line}");
        value
    }

    /// Sends a request and returns its answer (skipping server notifications, if any).
    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )
        .await;
        loop {
            let message = self.receive().await;
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
            assert!(
                message.get("method").is_some(),
                "unexpected message: {message}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_demo_binary_speaks_only_json_rpc_on_stdout() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ibkr-cockpit"))
        .args(["mcp", "--demo", "--output", "both"])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path().join("run"))
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut pipe = Pipe {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")).lines(),
    };

    let init = pipe
        .request(
            1,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "claude-code", "version": "test"}}),
        )
        .await;
    assert_eq!(
        init["result"]["serverInfo"]["name"], "ibkr-cockpit",
        "{init}"
    );
    assert_eq!(
        init["result"]["serverInfo"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(init["result"]["capabilities"]["tools"].is_object());
    pipe.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;

    let list = pipe.request(2, "tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), ibkr_cockpit::tools::catalog().len());
    assert!(
        tools
            .iter()
            .all(|t| t["annotations"]["readOnlyHint"] == true)
    );

    // The demo's simulated gateway may still be syncing its account values: ask again, as a
    // client would, until the summary carries the NLV (bounded by STEP).
    let deadline = tokio::time::Instant::now() + STEP;
    let mut id = 100;
    let summary = loop {
        id += 1;
        let s = pipe
            .request(
                id,
                "tools/call",
                json!({"name": "ibkr_get_account_summary", "arguments": {}}),
            )
            .await;
        if s["result"]["structuredContent"]["net_liquidation"].is_f64()
            || tokio::time::Instant::now() > deadline
        {
            break s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let result = &summary["result"];
    assert_eq!(result["isError"], false, "{summary}");
    let nlv = result["structuredContent"]["net_liquidation"]
        .as_f64()
        .expect("NLV is a number");
    assert!(nlv > 0.0, "the demo book has a positive NLV: {nlv}");
    assert_eq!(
        result["structuredContent"]["base_currency"], "CAD",
        "the seed book is CAD-based"
    );

    // Garbage, then a request: an error for the first, an answer for the second.
    pipe.send("{{{ definitely not json").await;
    let error = pipe.receive().await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    let again = pipe
        .request(
            4,
            "tools/call",
            json!({"name": "ibkr_get_positions", "arguments": {}}),
        )
        .await;
    assert_eq!(again["result"]["isError"], false, "{again}");
    assert!(
        !again["result"]["structuredContent"]["positions"]
            .as_array()
            .expect("rows")
            .is_empty()
    );

    // Closing stdin ends the session and the process, cleanly.
    drop(pipe.stdin);
    let status = timeout(STEP, child.wait())
        .await
        .expect("exits after stdin closes")
        .expect("status");
    assert!(status.success(), "clean exit: {status}");
    // Nothing else was written after the last answer.
    let rest = timeout(STEP, pipe.stdout.next_line())
        .await
        .expect("EOF in time")
        .expect("readable");
    assert!(rest.is_none(), "no stray output: {rest:?}");
}
