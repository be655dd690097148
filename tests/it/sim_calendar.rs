//! The simulator follows the exchange calendar: daily bars only on trading days, intraday bars
//! only inside the session (New York time, DST, half days), FX round the clock on weekdays,
//! contract hours with CLOSED days. Requests go over the classic text protocol (the protobuf
//! path shares the same bar code and is covered by `sim_requests`).

use crate::sim_handshake::{handshake_version, open, send_text, until_text};
use crate::support::sim::frozen_sim;
use ibkr_cockpit::calendar::{self, Venue};
use ibkr_cockpit::sim::SimHandle;
use time::macros::date;
use tokio::net::TcpStream;

async fn text_session(sim: &SimHandle) -> TcpStream {
    let mut s = open(sim, "v157..178").await;
    handshake_version(&mut s).await;
    send_text(&mut s, &["71", "2", "11", ""]).await;
    until_text(&mut s, "9").await;
    s
}

/// The date of each bar of a historical request. The arguments are the request's own fields,
/// in the wire order, so each test reads like the request it sends.
#[allow(clippy::too_many_arguments)]
async fn bars(
    s: &mut TcpStream,
    req_id: &str,
    symbol: &str,
    sec_type: &str,
    end: &str,
    bar: &str,
    duration: &str,
    what: &str,
    rth: &str,
    format: &str,
) -> Vec<String> {
    let (sym, currency) = match sec_type {
        "CASH" => (
            symbol.split('.').next().unwrap_or(""),
            symbol.split('.').nth(1).unwrap_or(""),
        ),
        _ => (symbol, "USD"),
    };
    let exchange = if sec_type == "CASH" {
        "IDEALPRO"
    } else {
        "SMART"
    };
    let mut req = vec![
        "20", req_id, "0", sym, sec_type, "", "0.0", "", "", exchange, "", currency, "", "",
    ];
    req.extend(["0", end, bar, duration, rth, what, format, "0", ""]);
    send_text(s, &req).await;
    let f = until_text(s, "17").await;
    assert_eq!(f[1], req_id);
    let n: usize = f[4].parse().expect("bar count");
    (0..n).map(|k| f[5 + 8 * k].clone()).collect()
}

fn utc_hm(epoch: &str) -> (String, i64) {
    let t: i64 = epoch.parse().expect("epoch seconds");
    let d = calendar::ymd(
        time::OffsetDateTime::from_unix_timestamp(t)
            .expect("time")
            .date(),
    );
    (d, (t % 86_400) / 60)
}

#[tokio::test]
async fn daily_bars_skip_weekends_and_nyse_holidays() {
    let sim = frozen_sim().await;
    let mut s = text_session(&sim).await;
    let dates = bars(
        &mut s, "1", "KRYX", "STK", "", "1 day", "2 Y", "TRADES", "1", "1",
    )
    .await;
    assert!(dates.len() > 480, "{} bars", dates.len());
    for holiday in ["20251225", "20260101", "20260403", "20251127", "20250704"] {
        assert!(!dates.iter().any(|d| d == holiday), "no bar on {holiday}");
    }
    for d in &dates {
        let day = time::Date::parse(d, time::macros::format_description!("[year][month][day]"))
            .expect("yyyyMMdd");
        assert!(
            calendar::is_trading_day(Venue::UsEquity, day),
            "{d} is a trading day"
        );
    }
    // The day after Thanksgiving (a half day) is there.
    assert!(dates.iter().any(|d| d == "20251128"));
}

#[tokio::test]
async fn minute_bars_follow_new_york_time_half_days_and_dst() {
    let sim = frozen_sim().await;
    let mut s = text_session(&sim).await;
    // Half day after Thanksgiving 2025 (EST): 09:30–13:00 New York = 14:30–18:00 UTC.
    let half = bars(
        &mut s,
        "2",
        "KRYX",
        "STK",
        "20251128 23:00:00 UTC",
        "1 min",
        "1 D",
        "TRADES",
        "1",
        "2",
    )
    .await;
    assert_eq!(half.len(), 210, "210 minutes");
    assert_eq!(utc_hm(&half[0]), ("20251128".into(), 14 * 60 + 30));
    assert_eq!(utc_hm(&half[209]), ("20251128".into(), 17 * 60 + 59));
    // Monday after the March 2026 DST switch (EDT): 13:30 UTC open, full session.
    let dst = bars(
        &mut s,
        "3",
        "KRYX",
        "STK",
        "20260309 23:00:00 UTC",
        "1 min",
        "1 D",
        "TRADES",
        "1",
        "2",
    )
    .await;
    assert_eq!(dst.len(), 390);
    assert_eq!(utc_hm(&dst[0]).1, 13 * 60 + 30);
    // Monday after the November 2025 switch (EST): 14:30 UTC.
    let nov = bars(
        &mut s,
        "4",
        "KRYX",
        "STK",
        "20251103 23:00:00 UTC",
        "1 min",
        "1 D",
        "TRADES",
        "1",
        "2",
    )
    .await;
    assert_eq!(utc_hm(&nov[0]).1, 14 * 60 + 30);
    // Extended hours start at 04:00 New York (09:00 UTC in winter).
    let ext = bars(
        &mut s,
        "5",
        "KRYX",
        "STK",
        "20251103 23:00:00 UTC",
        "1 min",
        "1 D",
        "TRADES",
        "0",
        "2",
    )
    .await;
    assert_eq!(utc_hm(&ext[0]).1, 9 * 60);
    // formatDate 1: New York wall clock with the zone.
    let named = bars(
        &mut s,
        "6",
        "KRYX",
        "STK",
        "20251103 23:00:00 UTC",
        "1 hour",
        "1 D",
        "TRADES",
        "1",
        "1",
    )
    .await;
    assert_eq!(named[0], "20251103 09:00:00 US/Eastern");
}

#[tokio::test]
async fn fx_trades_round_the_clock_on_weekdays_only() {
    let sim = frozen_sim().await;
    let mut s = text_session(&sim).await;
    // The week ending Friday 2025-12-05 and the weekend after: hourly bars to Monday noon.
    let hours = bars(
        &mut s,
        "7",
        "EUR.USD",
        "CASH",
        "20251208 17:00:00 UTC",
        "1 hour",
        "5 D",
        "MIDPOINT",
        "0",
        "2",
    )
    .await;
    let times: Vec<(String, i64)> = hours.iter().map(|h| utc_hm(h)).collect();
    assert!(
        times.iter().any(|(d, m)| d == "20251204" && *m == 3 * 60),
        "trades at 03:00 UTC: {times:?}"
    );
    assert!(
        !times.iter().any(|(d, _)| d == "20251206"),
        "no Saturday bars"
    );
    assert!(
        times.iter().any(|(d, m)| d == "20251207" && *m >= 22 * 60),
        "Sunday evening open"
    );
    assert!(
        !times.iter().any(|(d, m)| d == "20251207" && *m < 22 * 60),
        "nothing Sunday before 17:15 NY"
    );
    assert!(
        !times.iter().any(|(d, m)| d == "20251205" && *m >= 22 * 60),
        "closed Friday from 17:00 NY"
    );
    let _ = date!(2025 - 12 - 05);
}

#[tokio::test]
async fn contract_hours_come_from_the_calendar_with_closed_days() {
    let sim = frozen_sim().await;
    let mut s = text_session(&sim).await;
    send_text(
        &mut s,
        &[
            "9", "8", "12", "0", "KRYX", "STK", "", "0.0", "", "", "SMART", "", "USD", "", "", "0",
            "", "",
        ],
    )
    .await;
    let d = until_text(&mut s, "10").await;
    let trading = d
        .iter()
        .find(|f| f.contains(":0400-"))
        .expect("trading hours");
    let liquid = d
        .iter()
        .find(|f| f.contains(":0930-"))
        .expect("liquid hours");
    assert!(
        trading.contains("CLOSED") && liquid.contains("CLOSED"),
        "a week has a weekend: {liquid}"
    );
    assert_eq!(liquid.split(';').count(), 7);
    let valid = d
        .iter()
        .find(|f| f.starts_with("SMART,"))
        .expect("valid exchanges");
    let list: Vec<&str> = valid.split(',').collect();
    let mut unique = list.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), list.len(), "no exchange twice: {valid}");
}
