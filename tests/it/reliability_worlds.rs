//! Demo and live never mix, with the real binary: a `serve --demo` daemon states its mode and
//! world on the socket handshake; a live `ibkr-cockpit mcp` refuses to bridge to it with a
//! one-line reason (and runs standalone only when asked with `--standalone`); every answer the
//! demo daemon gives says on its first line that the data is simulated.

use ibkr_cockpit::mcp::socket::identify;
use ibkr_cockpit::store::SIMULATED_NOTICE;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_ibkr-cockpit");

fn command(root: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("XDG_CONFIG_HOME", root.join("config"))
        .env("XDG_DATA_HOME", root.join("data"))
        .env("XDG_RUNTIME_DIR", root.join("run"))
        .env("IBKR_HOST", "127.0.0.1")
        // Nothing listens here: a live process has no gateway.
        .env("IBKR_PORT", "9")
        .env("RUST_LOG", "warn")
        .env_remove("IBKR_COCKPIT_CONFIG")
        .env_remove("IBKR_COCKPIT_TOKEN")
        .env_remove("MCP_HTTP_TOKEN")
        .kill_on_drop(true);
    cmd
}

/// `serve --demo` on a free port; returns once it says where it serves.
async fn demo_daemon(root: &Path, socket: &Path) -> Child {
    let mut child = command(root)
        .args(["serve", "--demo", "--port", "0", "--socket"])
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("daemon spawns");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    timeout(STEP, async {
        while let Some(line) = lines.next_line().await.expect("stderr") {
            if line.contains("http://") {
                return;
            }
        }
        panic!("daemon exited before announcing itself");
    })
    .await
    .expect("announced in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_sidecar_refuses_a_demo_daemon_and_demo_answers_say_so() {
    let root = tempfile::tempdir().expect("temp dir");
    let socket = root
        .path()
        .join("run")
        .join("ibkr-cockpit")
        .join("mcp.sock");
    let mut daemon = demo_daemon(root.path(), &socket).await;

    // The handshake states mode and world.
    let id = identify(&socket).await.expect("the daemon says who it is");
    assert_eq!(id.mode, "demo");
    assert!(id.world.contains("simulated"), "{id:?}");

    // A live sidecar refuses to bridge: one line on stderr, a failure exit, nothing on stdout.
    let refused = timeout(
        STEP,
        command(root.path())
            .arg("mcp")
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("answers in time")
    .expect("runs");
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty(), "stdout stays protocol-only");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let reason: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("refusing to bridge"))
        .collect();
    assert_eq!(reason.len(), 1, "{stderr}");
    assert!(
        reason[0].contains("demo") && reason[0].contains("--standalone"),
        "{stderr}"
    );

    // Asked to, it runs standalone (its own, live, world) and answers.
    let mut standalone = command(root.path())
        .args(["mcp", "--standalone", "--socket"])
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawns");
    let mut stdin = standalone.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(standalone.stdout.take().expect("stdout")).lines();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}}});
    stdin
        .write_all(format!("{init}\n").as_bytes())
        .await
        .expect("write");
    let answer = timeout(STEP, stdout.next_line())
        .await
        .expect("in time")
        .expect("readable")
        .expect("a line");
    let answer: Value = serde_json::from_str(&answer).expect("JSON-RPC");
    assert_eq!(answer["result"]["serverInfo"]["name"], "ibkr-cockpit");
    drop(stdin);
    let _ = timeout(STEP, standalone.wait()).await;

    // An MCP client on the demo daemon's socket: the answer's first line says "simulated".
    let stream = UnixStream::connect(&socket).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "ibkr_get_account_summary", "arguments": {}}});
    write
        .write_all(
            format!(
                "{init}\n{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}}\n{call}\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let text = timeout(STEP, async {
        loop {
            let line = lines.next_line().await.expect("read").expect("open");
            let v: Value = serde_json::from_str(&line).expect("JSON-RPC");
            if v["id"] == json!(2) {
                return v["result"]["content"][0]["text"]
                    .as_str()
                    .expect("text content")
                    .to_string();
            }
        }
    })
    .await
    .expect("answered in time");
    assert_eq!(text.lines().next(), Some(SIMULATED_NOTICE), "{text}");

    let _ = daemon.start_kill();
    let _ = timeout(STEP, daemon.wait()).await;
}
