//! Slow clients are cut off without holding up anyone else: a client that sends half
//! its headers (or trickles them a byte at a time) is disconnected after the header deadline; a
//! client that declares a body and stalls gets 408 after the body deadline; while they stall,
//! `/healthz` and an MCP `tools/call` still answer. Connections over the cap get 503, and the
//! new `[mcp]` keys are validated with the file, line and key named.
//!
//! Deadlines are shortened to 1 s through the config; the only timing assertions are "cut off
//! within a generous bound".

use crate::support::world;

use crate::support::STEP;
use ibkr_cockpit::config::{self, Config};
use ibkr_cockpit::mcp;
use ibkr_cockpit::model::ToolCallRecord;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use world::Harness;

struct Server {
    world: Harness,
    addr: SocketAddr,
    cancel: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    http: reqwest::Client,
}

impl Server {
    /// The simulated book served over HTTP with the config's `[mcp]` limits changed by `tune`.
    async fn start(tune: impl FnOnce(&mut Config)) -> Server {
        let mut config = world::default_config();
        // Structured content too: the calls here compare JSON answers.
        config.mcp.output = ibkr_cockpit::config::OutputMode::Both;
        tune(&mut config);
        let world = world::start_live_clock_with(config).await;
        let cancel = CancellationToken::new();
        let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let (addr, task) = timeout(
            STEP,
            mcp::serve_http(world.ctx.clone(), bind, cancel.clone()),
        )
        .await
        .expect("bound in time")
        .expect("bound");
        Server {
            world,
            addr,
            cancel,
            task,
            // No pooled connections: the shortened header deadline closes idle ones, and a
            // request racing that close would fail for reasons that are not under test.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client"),
        }
    }

    async fn healthz(&self) -> StatusCode {
        timeout(
            STEP,
            self.http
                .get(format!("http://{}/healthz", self.addr))
                .send(),
        )
        .await
        .expect("healthz answers in time")
        .expect("healthz over HTTP")
        .status()
    }

    /// A stateless MCP `tools/call` of the account summary; returns the tool's JSON.
    async fn account_summary(&self) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "ibkr_get_account_summary", "arguments": {}}});
        let response = timeout(
            STEP,
            self.http
                .post(format!("http://{}/mcp", self.addr))
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .header("mcp-protocol-version", "2025-06-18")
                .body(body.to_string())
                .send(),
        )
        .await
        .expect("tools/call answers in time")
        .expect("tools/call over HTTP");
        assert_eq!(response.status(), StatusCode::OK);
        let value: Value = timeout(STEP, response.json())
            .await
            .expect("body in time")
            .expect("JSON body");
        assert_eq!(value["id"], 7, "{value}");
        assert_eq!(value["result"]["isError"], false, "{value}");
        value["result"]["structuredContent"].clone()
    }

    /// Both kinds of client a stalled connection must not hold up.
    async fn others_are_served(&self) {
        assert_eq!(self.healthz().await, StatusCode::OK);
        let summary = self.account_summary().await;
        assert!(
            summary.to_string().contains("CAD"),
            "the summary reports the book in its base currency: {summary}"
        );
    }

    /// Journal entries refused for `reason_part`, waited for (the connection task journals a
    /// header timeout as it closes, so the client may see the close first).
    async fn refusals(&self, reason_part: &str) -> Vec<ToolCallRecord> {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let found: Vec<ToolCallRecord> = self
                .world
                .ctx
                .store
                .snapshot()
                .journal
                .iter()
                .filter(|r| {
                    r.error
                        .as_deref()
                        .is_some_and(|e| e.starts_with("refused:") && e.contains(reason_part))
                })
                .cloned()
                .collect();
            if !found.is_empty() || tokio::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        let ended = timeout(STEP, self.task).await;
        assert!(
            matches!(ended, Ok(Ok(Ok(())))),
            "the server shuts down cleanly: {ended:?}"
        );
        self.world.shutdown().await;
    }
}

/// Reads until the server closes the connection; what it sent before closing.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let read = timeout(STEP, stream.read_to_end(&mut answer))
        .await
        .expect("the stalled connection is cut off within the bound");
    // A reset is as good a cut-off as a clean close.
    if let Err(e) = read {
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        );
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn half_sent_headers_are_cut_off_while_others_are_served() {
    let server = Server::start(|c| c.mcp.http_header_timeout_secs = 1).await;
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        .await
        .expect("half the headers");
    // A connection that never says anything is closed too, but it is not a refused request.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");

    server.others_are_served().await;

    let answer = read_until_closed(&mut stalled).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    read_until_closed(&mut silent).await;
    let refused = server.refusals("request headers not received").await;
    assert_eq!(refused.len(), 1, "only the half-sent request: {refused:?}");
    assert!(refused[0].tool.starts_with("connection from 127.0.0.1"));
    server.others_are_served().await;
    server.stop().await;
}

#[tokio::test]
async fn headers_trickled_a_byte_at_a_time_are_cut_off() {
    let server = Server::start(|c| c.mcp.http_header_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("request line");
    let (mut read, mut write) = stream.into_split();
    // Slowloris: a byte every 100 ms never lets a per-read timer fire; the deadline covers the
    // whole head, so the connection is still cut off.
    let trickle = tokio::spawn(async move {
        for _ in 0..10_000 {
            if write.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    // Closed or reset: either way cut off.
    let _ = timeout(STEP, read.read_to_end(&mut answer))
        .await
        .expect("the trickling connection is cut off within the bound");
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    server.others_are_served().await;
    trickle.abort();
    assert_eq!(
        server.refusals("request headers not received").await.len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_declared_body_that_never_arrives_gets_408_while_others_are_served() {
    // The request deadline stays at its default (90 s): a 408 within the bound is the body's.
    let server = Server::start(|c| c.mcp.http_body_timeout_secs = 1).await;
    let mut stalled = TcpStream::connect(server.addr).await.expect("connect");
    stalled
        .write_all(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowpoke/1.0\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":",
        )
        .await
        .expect("headers and a little body");

    server.others_are_served().await;

    let answer = read_until_closed(&mut stalled).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("not received within 1 s"), "{answer}");
    let refused = server.refusals("request body not received").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].tool, "POST /mcp");
    assert_eq!(refused[0].client, "slowpoke");
    assert!(!refused[0].ok);
    server.others_are_served().await;

    // The refusals are counted with the others on /metrics.
    let metrics = timeout(
        STEP,
        server
            .http
            .get(format!("http://{}/metrics", server.addr))
            .send(),
    )
    .await
    .expect("metrics in time")
    .expect("metrics")
    .text()
    .await
    .expect("text");
    assert!(
        metrics.contains("ibkr_cockpit_http_refused_total 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_body_trickled_past_its_deadline_gets_408() {
    let server = Server::start(|c| c.mcp.http_body_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n")
        .await
        .expect("headers");
    let (mut read, mut write) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..500 {
            if write.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let _ = timeout(STEP, read.read_to_end(&mut answer))
        .await
        .expect("the trickled body is cut off within the bound");
    trickle.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_get_503_and_slots_come_back() {
    let server = Server::start(|c| c.mcp.http_max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let stream = TcpStream::connect(server.addr).await.expect("connect");
        held.push(stream);
    }
    // The server accepts in order, so the two held connections own both slots by now... once
    // it has accepted them; a third client can only tell by asking.
    let mut third = TcpStream::connect(server.addr).await.expect("connect");
    let answer = read_until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too many connections"), "{answer}");

    drop(held);
    // Closed connections give their slots back (the server notices the close).
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let ok = server
            .http
            .get(format!("http://{}/healthz", server.addr))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK);
        if ok {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a slot frees up once the held connections close"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections() {
    let server = Server::start(|_| {}).await;
    // One answered request, then the connection sits idle, kept alive.
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let mut first = [0u8; 64];
    let n = timeout(STEP, idle.read(&mut first))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    server.cancel.cancel();
    // Shutdown does not wait out the header deadline (15 s by default) on an idle connection.
    read_until_closed(&mut idle).await;
    let ended = timeout(STEP, server.task).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    server.world.shutdown().await;
}

fn load_text(text: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write config");
    config::load(Some(&path), &|_| None).map_err(|e| e.to_string())
}

#[test]
fn http_limits_are_read_from_the_config_and_validated() {
    let defaults = Config::defaults().expect("defaults");
    assert_eq!(defaults.mcp.http_header_timeout_secs, 5);
    assert_eq!(defaults.mcp.http_max_connections_per_peer, 64);
    assert_eq!(defaults.journal.keep_days, 30);
    assert_eq!(defaults.journal.max_mb, 200);
    assert_eq!(defaults.mcp.http_body_timeout_secs, 30);
    assert_eq!(defaults.mcp.http_request_timeout_secs, 90);
    assert_eq!(defaults.mcp.http_max_connections, 256);

    let cfg = load_text("[mcp]\nhttp_header_timeout_secs = 3\nhttp_max_connections = 8\n")
        .expect("valid");
    assert_eq!(cfg.mcp.http_header_timeout_secs, 3);
    assert_eq!(cfg.mcp.http_max_connections, 8);

    let err = load_text("[mcp]\nbind = \"127.0.0.1\"\nhttp_body_timeout_secs = 0\n")
        .expect_err("zero refused");
    assert!(
        err.ends_with(
            "line 3: mcp.http_body_timeout_secs: expected a whole number of seconds, at least 1, \
             found 0"
        ),
        "{err}"
    );
    let err = load_text("[mcp]\nhttp_max_connections = 0\n").expect_err("zero refused");
    assert!(
        err.contains("line 2: mcp.http_max_connections: expected a whole number of connections"),
        "{err}"
    );
    let err = load_text("[mcp]\nhttp_request_timeout_secs = 10\nhttp_body_timeout_secs = 20\n")
        .expect_err("body past request refused");
    assert!(
        err.contains("line 3: mcp.http_body_timeout_secs")
            && err.contains("at most mcp.http_request_timeout_secs (10)"),
        "{err}"
    );
    let err = load_text("[mcp]\nhttp_header_timeout_secs = \"soon\"\n").expect_err("type");
    assert!(
        err.contains("line 2: mcp.http_header_timeout_secs: expected a whole number of seconds"),
        "{err}"
    );
}
