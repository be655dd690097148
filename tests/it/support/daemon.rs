//! Harness for the one-connection tests: a simulated gateway in this process, the built
//! `ibkr-cockpit` binary as a daemon (`serve`) or sidecar (`mcp`) in isolated directories, and
//! a line-oriented JSON-RPC pipe to a child process.

use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

/// Upper bound for any single step (process start, sync, one call).
use super::STEP;

pub const BIN: &str = env!("CARGO_BIN_EXE_ibkr-cockpit");

/// A simulator with frozen prices (so two views of the book can be compared exactly).
pub async fn start_sim() -> SimHandle {
    timeout(
        STEP,
        SimGateway::start(SimConfig {
            tick_interval: None,
            ..SimConfig::default()
        }),
    )
    .await
    .expect("sim starts in time")
    .expect("sim starts")
}

/// Private config/data/runtime directories, so nothing touches the user's own.
pub struct Dirs {
    pub root: tempfile::TempDir,
}

impl Dirs {
    pub fn new() -> Self {
        Dirs {
            root: tempfile::tempdir().expect("temp dir"),
        }
    }
    pub fn socket(&self) -> PathBuf {
        self.root
            .path()
            .join("run")
            .join("ibkr-cockpit")
            .join("mcp.sock")
    }
    /// A command for the binary with the isolated environment and the gateway at `port`.
    pub fn command(&self, port: Option<u16>) -> Command {
        let mut cmd = Command::new(BIN);
        let root = self.root.path();
        cmd.env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env("IBKR_HOST", "127.0.0.1")
            .env("IBKR_CLIENT_ID", "31")
            .env("RUST_LOG", "warn")
            .env_remove("IBKR_COCKPIT_CONFIG")
            .env_remove("IBKR_COCKPIT_TOKEN")
            .env_remove("MCP_HTTP_TOKEN")
            .env_remove("MCP_HTTP_PORT")
            .env_remove("IB_PORT")
            .env_remove("IB_PORT_2")
            .env_remove("IBKR_PORT_2")
            .kill_on_drop(true);
        match port {
            Some(p) => {
                cmd.env("IBKR_PORT", p.to_string());
            }
            None => {
                // Nothing listens here: a sidecar that went standalone would fail to sync.
                cmd.env("IBKR_PORT", "9");
            }
        }
        cmd
    }
}

/// `ibkr-cockpit serve` on the gateway at `port`, HTTP on a free loopback port.
pub struct Daemon {
    pub child: Child,
    pub http: String,
    pub socket: PathBuf,
}

impl Daemon {
    pub async fn start(dirs: &Dirs, port: u16) -> Daemon {
        let socket = dirs.socket();
        let mut child = dirs
            .command(Some(port))
            .args(["serve", "--port", "0", "--socket"])
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("daemon spawns");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let http = timeout(STEP, async {
            while let Some(line) = lines.next_line().await.expect("stderr readable") {
                if let Some(rest) = line.split("http://").nth(1) {
                    let addr: String = rest.chars().take_while(|c| *c != '/').collect();
                    return addr;
                }
            }
            panic!("daemon exited before saying where it serves");
        })
        .await
        .expect("daemon announces itself in time");
        // Keep draining stderr so the daemon never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Daemon {
            child,
            http,
            socket,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Whether the daemon process is still alive.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = timeout(STEP, self.child.wait()).await;
    }
}

/// A child speaking newline-delimited JSON-RPC on its stdio (the sidecar).
pub struct Pipe {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    next_id: u64,
}

impl Pipe {
    /// `ibkr-cockpit mcp --socket PATH` (gateway port points nowhere: it must bridge).
    pub fn sidecar(dirs: &Dirs, socket: &Path) -> Pipe {
        let mut child = dirs
            .command(None)
            .arg("mcp")
            .arg("--socket")
            .arg(socket)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sidecar spawns");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
        Pipe {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }

    pub async fn send(&mut self, msg: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let line = format!("{msg}\n");
        stdin.write_all(line.as_bytes()).await.expect("write");
        stdin.flush().await.expect("flush");
    }

    pub async fn receive(&mut self) -> Value {
        let line = timeout(STEP, self.stdout.next_line())
            .await
            .expect("answer in time")
            .expect("stdout readable")
            .expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("JSON-RPC only ({e}): {line}"))
    }

    /// Request with a fresh id; returns its result (skipping notifications).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let msg = self.receive().await;
            if msg["id"] == json!(id) {
                assert!(msg.get("error").is_none(), "error answer: {msg}");
                return msg["result"].clone();
            }
        }
    }

    /// initialize as `client`, then the initialized notification.
    pub async fn initialize(&mut self, client: &str) -> Value {
        let result = self
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": client, "version": "1.0"}
                }),
            )
            .await;
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        result
    }

    pub async fn call_tool(&mut self, name: &str, args: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": args}))
            .await
    }

    /// Closes stdin and waits for a clean exit.
    pub async fn close(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        timeout(STEP, self.child.wait())
            .await
            .expect("sidecar exits in time")
            .expect("sidecar status")
    }
}
