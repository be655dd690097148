//! IB's historical pacing as documented: the small-bar rules (identical request within 15 s,
//! six for one contract within 2 s, 60 per 10 minutes) apply to bars of 30 seconds or less;
//! daily bars meet only the 50-open-requests limit, so a big book's history (here 500 requests,
//! eight times the old 60-per-10-minutes budget) is never refused.

use crate::sim_handshake::{fields, handshake_version, open, read_frame, send_text, until_text};
use crate::support::sim::frozen_sim;
use ibkr_cockpit::sim::SimHandle;
use tokio::net::TcpStream;

async fn text_client(sim: &SimHandle) -> TcpStream {
    let mut s = open(sim, "v157..178").await;
    handshake_version(&mut s).await;
    send_text(&mut s, &["71", "2", "41", ""]).await;
    until_text(&mut s, "9").await;
    s
}

async fn request(s: &mut TcpStream, req_id: &str, symbol: &str, bar: &str, duration: &str) {
    let mut req = vec![
        "20", req_id, "0", symbol, "STK", "", "0.0", "", "", "SMART", "", "USD", "", "",
    ];
    req.extend(["0", "", bar, duration, "1", "TRADES", "2", "0", ""]);
    send_text(s, &req).await;
}

/// Answers to requests `1..=n`: how many got bars and how many got error 162.
async fn outcomes(s: &mut TcpStream, n: usize) -> (usize, usize) {
    let (mut bars, mut paced) = (0, 0);
    while bars + paced < n {
        let f = fields(&read_frame(s).await.expect("frame"));
        match f[0].as_str() {
            "17" => bars += 1,
            "4" if f[3] == "162" => paced += 1,
            _ => {}
        }
    }
    (bars, paced)
}

#[tokio::test]
async fn small_bar_bursts_get_ibs_pacing_errors() {
    let sim = frozen_sim().await;
    let mut s = text_client(&sim).await;
    // Six 30-second-bar requests for one contract within 2 s: the sixth is refused.
    for (k, d) in ["1 D", "2 D", "3 D", "4 D", "5 D", "6 D"]
        .iter()
        .enumerate()
    {
        request(&mut s, &(k + 1).to_string(), "KRYX", "30 secs", d).await;
    }
    assert_eq!(outcomes(&mut s, 6).await, (5, 1));
    // An identical small-bar request within 15 s is refused.
    request(&mut s, "7", "VLTX", "5 secs", "1800 S").await;
    request(&mut s, "8", "VLTX", "5 secs", "1800 S").await;
    assert_eq!(outcomes(&mut s, 2).await, (1, 1));
    assert_eq!(sim.counters().pacing_violations, 2);
}

#[tokio::test]
async fn five_hundred_daily_bar_requests_are_all_answered() {
    let sim = frozen_sim().await;
    let mut s = text_client(&sim).await;
    let symbols = ["KRYX", "VLTX", "OMRA", "FELN", "HDRX"];
    for k in 0..500 {
        request(&mut s, &(k + 1).to_string(), symbols[k % 5], "1 day", "1 M").await;
    }
    assert_eq!(outcomes(&mut s, 500).await, (500, 0));
    assert_eq!(sim.counters().pacing_violations, 0);
}
