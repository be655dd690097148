//! Date-true windows through the tools, on the simulator's fixed-seed bars: YTD in
//! `ibkr_compare_performance` starts at the last close of the previous year, and `ibkr_technicals`'
//! 52-week range covers the bars dated within 365 calendar days. References are worked out here
//! from the same bars' dates, without `analytics`.

use crate::support::STEP;
use crate::support::world::start;
use ibkr_cockpit::gateway::BarSpec;
use ibkr_cockpit::model::Bar;
use serde_json::json;
use time::{Date, Duration, OffsetDateTime};

fn date(b: &Bar) -> Date {
    OffsetDateTime::from_unix_timestamp(b.time)
        .expect("bar time")
        .date()
}

async fn daily_bars(h: &crate::support::world::Harness, symbol: &str, duration: &str) -> Vec<Bar> {
    tokio::time::timeout(
        STEP,
        h.gateway
            .requests()
            .historical_bars(&BarSpec::daily(symbol, duration)),
    )
    .await
    .expect("bars in time")
    .expect("bars")
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ytd_and_52_weeks_follow_the_calendar() {
    let h = start().await;
    let out = h
        .ok(
            "ibkr_compare_performance",
            json!({"symbols": "KRYX,SPY", "duration": "YTD"}),
        )
        .await;
    assert!(
        out.json["method"]
            .as_str()
            .is_some_and(|m| m.contains("last close of the previous year")),
        "{}",
        out.json["method"]
    );
    for row in out.json["ranking"].as_array().expect("ranking") {
        let symbol = row["symbol"].as_str().expect("symbol");
        // The tool asked for one or two years; the same request is cached.
        // As of the tool's clock (the harness's fixed date, inside the simulator's history).
        let today = OffsetDateTime::from_unix_timestamp(h.ctx.now() / 1000)
            .expect("clock")
            .date();
        let year = today.year();
        let bars: Vec<Bar> = daily_bars(&h, symbol, "1 Y")
            .await
            .into_iter()
            .filter(|b| date(b) <= today)
            .collect();
        let last = bars.last().expect("bars");
        let anchor = bars
            .iter()
            .rev()
            .find(|b| date(b).year() < year)
            .expect("a close from the previous year");
        let want = (last.close / anchor.close - 1.0) * 100.0;
        let got = row["return_pct"].as_f64().expect("return");
        assert!(
            (got - want).abs() <= 0.005 + 1e-9,
            "{symbol}: YTD {got} vs {want} (2 dp shown)"
        );
        assert_eq!(
            row["start_date"],
            json!(date(anchor).to_string()),
            "{symbol}"
        );
        let sessions = bars.iter().filter(|b| date(b).year() == year).count();
        assert_eq!(
            row["days"],
            json!(sessions),
            "{symbol}: one return per session this year"
        );
    }

    let out = h.ok("ibkr_technicals", json!({"symbol": "KRYX"})).await;
    let bars = daily_bars(&h, "KRYX", "1 Y").await;
    let last = date(bars.last().expect("bars"));
    let inside: Vec<&Bar> = bars
        .iter()
        .filter(|b| date(b) > last - Duration::days(365))
        .collect();
    let high = inside.iter().map(|b| b.high).fold(f64::MIN, f64::max);
    let low = inside.iter().map(|b| b.low).fold(f64::MAX, f64::min);
    let levels = &out.json["levels"];
    assert!((levels["high_52w"].as_f64().expect("high") - high).abs() < 1e-9);
    assert!((levels["low_52w"].as_f64().expect("low") - low).abs() < 1e-9);
    assert_eq!(levels["window_bars"], json!(inside.len()));
    assert!(
        out.json["method"]
            .as_str()
            .is_some_and(|m| m.contains("365 calendar days"))
    );
    assert!(out.markdown.contains("_Method: "), "{}", out.markdown);
    h.shutdown().await;
}
