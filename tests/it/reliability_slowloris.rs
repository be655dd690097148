//! One peer's slow connections cannot lock the others out: 300 slowloris connections from
//! 127.0.0.2 (headers trickled a byte at a time, reconnecting whenever cut off) while a normal
//! client on 127.0.0.1 makes 120 MCP requests; at least 99% of them are answered. Bounded: the
//! attack lasts as long as the normal client's requests, a few seconds.

use ibkr_cockpit::config::Config;
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::ToolContext;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const SLOW_CONNECTIONS: usize = 300;
const REQUESTS: usize = 120;

/// Holds one slow connection open at a time, for as long as `stop` is unset.
async fn slowloris(server: SocketAddr, stop: Arc<AtomicBool>, held: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(socket) = TcpSocket::new_v4() else {
            return;
        };
        if socket.bind(SocketAddr::new(ATTACKER, 0)).is_err() {
            return;
        }
        let Ok(mut stream) = socket.connect(server).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .is_err()
        {
            continue;
        }
        held.fetch_add(1, Ordering::Relaxed);
        // One byte every 500 ms until the server cuts us off.
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if stream.write_all(b"a").await.is_err() {
                break;
            }
        }
        // Reconnect at once, as an attacker would (a short pause keeps the loop from spinning
        // on connections refused with 503).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_slow_connections_from_one_peer_leave_the_others_served() {
    let config: Config =
        toml::from_str(ibkr_cockpit::config::DEFAULT_CONFIG_TOML).expect("defaults");
    let ctx = ToolContext {
        store: Store::in_memory(),
        gateways: None,
        config: Arc::new(config),
        remote: None,
    };
    let cancel = CancellationToken::new();
    let (addr, _task) =
        ibkr_cockpit::mcp::serve_http(ctx, "127.0.0.1:0".parse().expect("addr"), cancel.clone())
            .await
            .expect("serves");

    let stop = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicU64::new(0));
    let attack: Vec<_> = (0..SLOW_CONNECTIONS)
        .map(|_| tokio::spawn(slowloris(addr, stop.clone(), held.clone())))
        .collect();
    // Let the attack take every slot it can before the normal client starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while held.load(Ordering::Relaxed) < SLOW_CONNECTIONS as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let http = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let url = format!("http://{addr}/mcp");
    let mut answered = 0;
    let mut failures = Vec::new();
    let started = Instant::now();
    for i in 0..REQUESTS {
        let body = if i % 2 == 0 {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/list"})
        } else {
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": {"name": "ibkr_connection_status", "arguments": {}}})
        };
        let response = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                let v: Value = r.json().await.unwrap_or(Value::Null);
                if v["result"].is_object() {
                    answered += 1;
                } else {
                    failures.push(v.to_string());
                }
            }
            Ok(r) => failures.push(format!("HTTP {}", r.status())),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let attempts = held.load(Ordering::Relaxed);
    for task in attack {
        let _ = timeout(Duration::from_secs(10), task).await;
    }
    cancel.cancel();
    eprintln!(
        "slowloris: {attempts} slow connections opened from {ATTACKER}; normal client: \
         {answered}/{REQUESTS} answered in {elapsed:?}; failures: {failures:?}"
    );
    assert!(
        answered * 100 >= REQUESTS * 99,
        "{answered}/{REQUESTS} answered: {failures:?}"
    );
}
