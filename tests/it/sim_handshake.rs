//! Version negotiation as IB does it: the client's `vMIN..vMAX` gets `min(vMAX, ours)`; below the
//! protobuf versions the session speaks IB's classic text protocol in both directions; a range
//! we cannot serve is refused. Raw TCP against the simulator, no client library in between.

use crate::support::STEP;
use crate::support::sim::{frozen_sim, sim_with};
use ibkr_cockpit::sim::{SimConfig, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) async fn open(sim: &SimHandle, range: &str) -> TcpStream {
    let mut s = TcpStream::connect(sim.addr()).await.expect("tcp connect");
    let mut hello = b"API\0".to_vec();
    hello.extend_from_slice(&(range.len() as u32).to_be_bytes());
    hello.extend_from_slice(range.as_bytes());
    s.write_all(&hello).await.expect("send preamble");
    s
}

/// One frame's payload, or `None` at EOF.
pub(crate) async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let len = tokio::time::timeout(STEP, s.read_u32())
        .await
        .expect("frame in time")
        .ok()? as usize;
    let mut buf = vec![0u8; len];
    tokio::time::timeout(STEP, s.read_exact(&mut buf))
        .await
        .expect("frame body in time")
        .ok()?;
    Some(buf)
}

pub(crate) fn fields(payload: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(payload);
    let mut f: Vec<String> = text.split('\0').map(str::to_string).collect();
    f.pop();
    f
}

pub(crate) async fn send_text(s: &mut TcpStream, fields: &[&str]) {
    let mut body = Vec::new();
    for f in fields {
        body.extend_from_slice(f.as_bytes());
        body.push(0);
    }
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    s.write_all(&frame).await.expect("send frame");
}

/// Text frames until one whose id is `id` (the farm notices and the rest skipped).
pub(crate) async fn until_text(s: &mut TcpStream, id: &str) -> Vec<String> {
    for _ in 0..200 {
        let f = fields(&read_frame(s).await.expect("a frame before EOF"));
        if f.first().map(String::as_str) == Some(id) {
            return f;
        }
    }
    panic!("no message {id} within 200 frames");
}

pub(crate) async fn handshake_version(s: &mut TcpStream) -> i32 {
    let reply = fields(&read_frame(s).await.expect("handshake reply"));
    assert_eq!(reply.len(), 2, "version and connection time: {reply:?}");
    reply[0].parse().expect("numeric version")
}

#[tokio::test]
async fn a_text_client_gets_its_highest_version_and_text_replies() {
    let sim = frozen_sim().await;
    let mut s = open(&sim, "v157..178").await;
    assert_eq!(handshake_version(&mut s).await, 178);
    send_text(&mut s, &["71", "2", "5", ""]).await;
    let accounts = until_text(&mut s, "15").await;
    assert_eq!(accounts, vec!["15", "1", sim.account_id().as_str()]);
    let next_id = until_text(&mut s, "9").await;
    assert_eq!(next_id[..2], ["9", "1"]);

    // A text account-summary request gets text rows equal to the book.
    send_text(&mut s, &["62", "1", "9", "All", "NetLiquidation"]).await;
    let row = until_text(&mut s, "63").await;
    let nlv = sim.world().accounts[0].net_liquidation;
    assert_eq!(
        row[2..6],
        [
            "9",
            &sim.account_id(),
            "NetLiquidation",
            &format!("{nlv:.2}")
        ]
    );
    assert_eq!(until_text(&mut s, "64").await, vec!["64", "1", "9"]);
}

#[tokio::test]
async fn a_text_historical_request_gets_bars_and_end_in_one_message() {
    let sim = frozen_sim().await;
    let mut s = open(&sim, "v157..178").await;
    handshake_version(&mut s).await;
    send_text(&mut s, &["71", "2", "6", ""]).await;
    until_text(&mut s, "9").await;
    let contract = [
        "0", "KRYX", "STK", "", "0.0", "", "", "SMART", "", "USD", "", "",
    ];
    let mut req = vec!["20", "4"];
    req.extend(contract);
    req.extend(["0", "", "1 day", "5 D", "1", "TRADES", "1", "0", ""]);
    send_text(&mut s, &req).await;
    let bars = until_text(&mut s, "17").await;
    assert_eq!(bars[1], "4");
    let n: usize = bars[4].parse().expect("bar count");
    assert_eq!(n, 5, "five daily bars for 5 D: {bars:?}");
    assert_eq!(bars.len(), 5 + 8 * n, "8 fields per bar");
    let last_close: f64 = bars[5 + 8 * (n - 1) + 4].parse().expect("close");
    let q = &sim.world().quotes["KRYX"];
    assert!(
        (last_close - q.last).abs() < 1e-9 || (last_close - q.close).abs() < 1e-9,
        "last daily close {last_close} is the quote's last or previous close {q:?}"
    );
}

#[tokio::test]
async fn a_range_reaching_protobuf_gets_protobuf() {
    let sim = frozen_sim().await;
    let mut s = open(&sim, "v100..240").await;
    assert_eq!(handshake_version(&mut s).await, 226);
    let mut s = open(&sim, "v213..220").await;
    assert_eq!(handshake_version(&mut s).await, 220);
}

#[tokio::test]
async fn a_range_between_text_and_protobuf_falls_back_to_text() {
    let sim = frozen_sim().await;
    let mut s = open(&sim, "v100..193 +PACEAPI").await;
    assert_eq!(handshake_version(&mut s).await, 178);
}

#[tokio::test]
async fn an_unservable_range_is_refused_without_a_reply() {
    let sim = frozen_sim().await;
    for range in ["v20..60", "v190..200", "nonsense"] {
        let mut s = open(&sim, range).await;
        assert_eq!(read_frame(&mut s).await, None, "{range}: closed, no reply");
    }
    assert_eq!(sim.counters().connections, 0);
}

#[tokio::test]
async fn an_older_gateway_tells_a_newer_client_its_version() {
    let sim = sim_with(SimConfig {
        tick_interval: None,
        server_version: 176,
        ..SimConfig::default()
    })
    .await;
    let mut s = open(&sim, "v213..226").await;
    assert_eq!(handshake_version(&mut s).await, 176);
    // And the official client refuses it the way it refuses any pre-protobuf gateway.
    let err = tokio::time::timeout(STEP, ibapi::Client::connect(&sim.addr(), 3))
        .await
        .expect("connect answers in time")
        .err()
        .expect("ibapi refuses a server below 213");
    assert!(
        matches!(err, ibapi::Error::ServerVersion(213, 176, _)),
        "{err:?}"
    );
    // ib_async's range is still served, in text, at the older version.
    let mut s = open(&sim, "v157..178").await;
    assert_eq!(handshake_version(&mut s).await, 176);
}

#[tokio::test]
async fn doctor_says_in_one_line_that_the_gateway_is_too_old_and_what_to_install() {
    let sim = sim_with(SimConfig {
        tick_interval: None,
        server_version: 200,
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = ibkr_cockpit::config::Config::default();
    cfg.gateway.port = Some(sim.port());
    cfg.mcp.socket = Some(dir.path().join("cockpit.sock"));
    cfg.mcp.http_port = 0;
    let report = ibkr_cockpit::app::doctor::run(&cfg, "test").await;
    assert!(!report.ok, "{}", report.text);
    let line = "- primary: IB Gateway is too old: server version 200, this build needs 213 or later — install IB Gateway/TWS 10.40 or later";
    assert!(
        report.text.lines().any(|l| l == line),
        "doctor output:\n{}",
        report.text
    );
}
