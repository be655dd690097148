//! Market-data tools against the simulated gateway over real TCP: quotes equal the simulator's
//! quotes, on-demand requests (bars, contract details, option chains, dividends, search) answer
//! with the simulator's data, and bad arguments are tool errors that say what is accepted.
//! Anything derived from the real date (the simulator's history ends today) is redacted in
//! snapshots.

use crate::support::world;

use crate::support::assert_close;
use serde_json::json;
use world::{redact_dates, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_portfolio_single_and_comparison() {
    let h = start().await;
    let world = h.sim.world();

    let out = h.ok("ibkr_quote", json!({})).await;
    assert_eq!(out.json["view"], json!("portfolio"));
    let rows = out.json["quotes"].as_array().expect("rows");
    assert_eq!(rows.len(), h.sim_positions().len());
    for r in rows {
        let sym = r["symbol"].as_str().expect("symbol");
        let q = world
            .quotes
            .get(sym)
            .unwrap_or_else(|| panic!("sim quotes {sym}"));
        assert_close(&r["last"], q.last, &format!("{sym} last"));
        assert_close(&r["close"], q.close, &format!("{sym} previous close"));
    }
    insta::assert_snapshot!("quote_portfolio", out.markdown);

    let out = h.ok("ibkr_quote", json!({"symbols": "kryx"})).await;
    assert_eq!(out.json["view"], json!("single"));
    let q = &world.quotes["KRYX"];
    let r = &out.json["quotes"][0];
    assert_close(&r["bid"], q.bid, "bid");
    assert_close(&r["ask"], q.ask, "ask");
    assert_close(&r["spread"], q.ask - q.bid, "spread");
    assert_close(&r["volume"], q.volume, "volume");
    insta::assert_snapshot!("quote_single", out.markdown);

    let out = h
        .ok("ibkr_quote", json!({"symbols": ["KRYX", "VLTX", "SPY"]}))
        .await;
    assert_eq!(out.json["view"], json!("comparison"));
    let spy = out.json["quotes"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["symbol"] == json!("SPY")))
        .cloned()
        .expect("SPY row");
    assert_close(
        &spy["last"],
        world.quotes["SPY"].last,
        "SPY last (not held: snapshot request)",
    );
    insta::assert_snapshot!("quote_comparison", out.markdown);

    let e = h
        .err("ibkr_quote", json!({"symbols": "A,B,C,D,E,F,G,H,I"}))
        .await;
    assert!(
        e.message.contains("too many") && e.message.contains("at most 8"),
        "{e}"
    );
    let e = h.err("ibkr_quote", json!({"symbols": "KRYX,,VLTX"})).await;
    assert!(e.message.contains("malformed list"), "{e}");
    let e = h.err("ibkr_quote", json!({"symbols": "ZZZZQ"})).await;
    assert!(
        e.message.contains("unknown symbol") && e.message.contains("ZZZZQ"),
        "{e}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn historical_bars_summary_and_errors() {
    let h = start().await;
    let out = h
        .ok(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "duration": "30 D"}),
        )
        .await;
    let bars = out.json["bars"].as_array().expect("bars");
    assert!(!bars.is_empty());
    assert_eq!(out.json["bar_count"], json!(bars.len()));
    let high = bars
        .iter()
        .filter_map(|b| b["high"].as_f64())
        .fold(f64::MIN, f64::max);
    assert_close(
        &out.json["period_high"],
        high,
        "period high is the max of the bars",
    );
    assert!(out.markdown.contains("## Recent Bars"), "{}", out.markdown);

    let e = h
        .err(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "bar_size": "7 mins"}),
        )
        .await;
    assert!(
        e.message.contains("`1 min`") && e.message.contains("`1 month`"),
        "{e}"
    );
    let e = h
        .err(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "duration": "9 Y"}),
        )
        .await;
    assert!(e.message.contains("`1 D` to `5 Y`"), "{e}");
    let e = h
        .err(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "what_to_show": "VOLUME"}),
        )
        .await;
    assert!(e.message.contains("`TRADES`"), "{e}");
    let e = h
        .err(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "bar_size": "1 month", "duration": "5 D"}),
        )
        .await;
    assert!(e.message.contains("longer than"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_details_and_search() {
    let h = start().await;
    let out = h
        .ok("ibkr_get_contract_details", json!({"symbol": "KRYX"}))
        .await;
    let c = &out.json["contracts"][0];
    assert_eq!(c["symbol"], json!("KRYX"));
    let con_id = h
        .sim_positions()
        .into_iter()
        .find(|p| p.symbol == "KRYX")
        .map(|p| p.con_id)
        .expect("KRYX held");
    assert_eq!(c["con_id"], json!(con_id));
    // Trading and liquid hours come from the exchange calendar for the coming days, so which of
    // them are CLOSED depends on today's date: checked here, then left out of the snapshot.
    let md = redact_dates(&out.markdown);
    let mut stable = Vec::new();
    for line in md.lines() {
        if let Some(days) = line
            .strip_prefix("| Trading Hours | ")
            .or_else(|| line.strip_prefix("| Liquid Hours | "))
        {
            let days: Vec<&str> = days.trim_end_matches(" |").split(';').collect();
            assert!(days.len() >= 5, "a week of sessions: {line}");
            let open = days.iter().filter(|d| !d.ends_with("CLOSED")).count();
            assert!(open >= 3, "most days trade: {line}");
            assert!(
                days.iter()
                    .all(|d| d.ends_with("CLOSED") || d.contains("-[yyyymmdd]:")),
                "each day is hours or CLOSED: {line}"
            );
            let label = line.split(" | ").next().unwrap_or_default();
            stable.push(format!("{label} | [calendar] |"));
        } else {
            stable.push(line.to_string());
        }
    }
    insta::assert_snapshot!("contract_details", stable.join("\n"));

    let e = h
        .err("ibkr_get_contract_details", json!({"symbol": "ZZZZQ"}))
        .await;
    assert!(e.message.contains("ZZZZQ"), "{e}");
    let e = h
        .err("ibkr_get_contract_details", json!({"symbol": "KR YX;"}))
        .await;
    assert!(e.message.contains("not a valid symbol"), "{e}");

    let out = h.ok("ibkr_search_contracts", json!({"query": "KRY"})).await;
    let matches = out.json["matches"].as_array().expect("matches");
    assert!(
        matches.iter().any(|m| m["symbol"] == json!("KRYX")),
        "{}",
        out.markdown
    );
    insta::assert_snapshot!("search_contracts", out.markdown);
    let e = h.err("ibkr_search_contracts", json!({"query": ""})).await;
    assert!(e.message.contains("1–64"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option_chain_expirations_then_greeks() {
    let h = start().await;
    let out = h
        .ok("ibkr_get_option_chain", json!({"symbol": "KRYX"}))
        .await;
    let exps: Vec<String> = out.json["expirations"]
        .as_array()
        .expect("expirations")
        .iter()
        .filter_map(|e| e.as_str().map(String::from))
        .collect();
    assert!(!exps.is_empty());
    let price = h.sim.world().quotes["KRYX"].last;
    assert_close(&out.json["underlying_price"], price, "underlying");
    let atm = out.json["atm_strike"].as_f64().expect("atm");
    assert!((atm - price).abs() <= price * 0.1, "ATM {atm} near {price}");
    insta::assert_snapshot!("option_chain_expirations", redact_dates(&out.markdown));

    let out = h
        .ok(
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "expiration": exps[0], "strikes_around_atm": 2}),
        )
        .await;
    let calls = out.json["calls"].as_array().expect("calls");
    let puts = out.json["puts"].as_array().expect("puts");
    assert_eq!(calls.len(), 5, "2 each side of ATM plus ATM");
    assert_eq!(puts.len(), 5);
    assert!(calls.iter().any(|c| c["atm"] == json!(true)));
    assert!(
        calls.iter().all(|c| c["delta"]
            .as_f64()
            .is_some_and(|d| (0.0..=1.0).contains(&d))),
        "{}",
        out.markdown
    );
    assert!(
        puts.iter().all(|c| c["delta"]
            .as_f64()
            .is_some_and(|d| (-1.0..=0.0).contains(&d))),
        "{}",
        out.markdown
    );
    // Greeks move with the time to expiry (real clock): snapshot the layout, not the numbers.
    insta::assert_snapshot!(
        "option_chain_greeks",
        strikes_only(&redact_dates(&out.markdown))
    );

    let e = h
        .err(
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "expiration": "20991231"}),
        )
        .await;
    assert!(
        e.message.contains("Nearest:")
            && e.message
                .contains(exps.last().map(String::as_str).unwrap_or("")),
        "{e}"
    );
    let e = h
        .err(
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "strikes_around_atm": 0}),
        )
        .await;
    assert!(e.message.contains("1 to 10"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dividends_single_calendar_income() {
    let h = start().await;
    let out = h
        .ok(
            "ibkr_dividends",
            json!({"scope": "single", "symbol": "KRYX"}),
        )
        .await;
    assert_eq!(out.json["rows"][0]["symbol"], json!("KRYX"));
    insta::assert_snapshot!("dividends_single", redact_dates(&out.markdown));

    let out = h.ok("ibkr_dividends", json!({})).await;
    assert_eq!(out.json["scope"], json!("calendar"));
    assert_eq!(
        out.json["rows"].as_array().map(Vec::len),
        Some(h.sim_positions().len())
    );
    insta::assert_snapshot!("dividends_calendar", redact_dates(&out.markdown));

    let out = h.ok("ibkr_dividends", json!({"scope": "income"})).await;
    let rows = out.json["rows"].as_array().expect("rows");
    let usd: f64 = rows
        .iter()
        .filter_map(|r| r["annual_income"].as_f64())
        .sum();
    let fx = h.sim.world().fx["USD.CAD"];
    assert_close(
        &out.json["total_annual_income"],
        (usd * fx * 100.0).round() / 100.0,
        "income in CAD",
    );
    insta::assert_snapshot!("dividends_income", redact_dates(&out.markdown));

    let e = h.err("ibkr_dividends", json!({"scope": "single"})).await;
    assert!(e.message.contains("needs `symbol`"), "{e}");
    let e = h.err("ibkr_dividends", json!({"scope": "monthly"})).await;
    assert!(e.message.contains("`single`, `calendar`, `income`"), "{e}");
    h.shutdown().await;
}

/// Keeps the first cell (strike) of every option table row and blanks the rest.
fn strikes_only(md: &str) -> String {
    md.lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            if l.starts_with("| ") && cells.len() == 9 && !l.starts_with("| Strike") {
                format!("{} |{}", cells[0], " · |".repeat(8))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
