//! Intelligence tools against the simulated gateway over real TCP: sector weights and HHI,
//! currency exposure with live FX, one position in depth, rebalance plans; values checked
//! against the simulator's book, markdown snapshots (seed 7, frozen prices, fixed clock), and
//! every risk/intelligence tool answering on a 2,000-position book.

use crate::support::world;

use crate::support::assert_close;
use ibkr_cockpit::sim::SimConfig;
use serde_json::{Value, json};
use world::{
    Harness, default_config, fx_requests_allowed, redact_dates, start, start_big, start_with,
};

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

fn assert_read_only(h: &Harness) {
    let c = h.sim.counters();
    assert_eq!(c.real_orders, 0, "no real order ever reaches the gateway");
    assert_eq!(c.pacing_violations, 0, "no pacing violation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sector_exposure_weights_and_hhi() {
    let h = start().await;
    let out = h.ok("ibkr_sector_exposure", json!({})).await;
    let j = &out.json;
    let sectors = j["sectors"].as_array().expect("sectors");
    // The seed book: KRYX and VLTX are Technology; OMRA Industrial; FELN and HDRX their own.
    let tech = sectors
        .iter()
        .find(|s| s["sector"] == "Technology")
        .expect("Technology sector");
    assert_eq!(tech["positions"], json!(2));
    let positions: u64 = sectors
        .iter()
        .map(|s| s["positions"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(positions, 5);
    let total: f64 = sectors.iter().map(|s| num(&s["weight_pct"], "w")).sum();
    // Each weight is rounded to the 2 dp shown.
    assert!(
        (total - 100.0).abs() <= 0.03,
        "weights add to 100%: {total}"
    );
    let hhi: f64 = sectors
        .iter()
        .map(|s| num(&s["weight_pct"], "w").powi(2))
        .sum();
    // From weights rounded to 2 dp, Σ w² is within about 2 × 100 × 0.005 of the exact HHI.
    assert!((num(&j["hhi"], "hhi") - hhi).abs() < 1.0, "HHI = Σ w²");
    assert_eq!(j["pending"], json!([]));
    insta::assert_snapshot!("sector_exposure", out.markdown);

    // ETFs go through the configured table, not contract details.
    let mut config = default_config();
    config
        .sectors
        .insert("KRYX".into(), "Semis (mapped)".into());
    let h2 = start_with(
        SimConfig {
            seed: 7,
            tick_interval: None,
            ..SimConfig::default()
        },
        config,
    )
    .await;
    let mapped = h2.ok("ibkr_sector_exposure", json!({})).await;
    assert!(
        mapped.json["sectors"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r["sector"] == "Semis (mapped)")),
        "{}",
        mapped.json
    );
    assert_eq!(mapped.json["mapped_by_config"], json!(["KRYX"]));
    let e = h
        .err("ibkr_sector_exposure", json!({"account": "U0000000"}))
        .await;
    assert!(e.message.contains("Unknown account"), "{e}");
    assert_read_only(&h);
    h2.shutdown().await;
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn currency_exposure_converts_with_live_fx() {
    let h = start().await;
    let sim = h.sim_account();
    let world = h.sim.world();
    let usdcad = world.fx["USD.CAD"];
    let out = h.ok("ibkr_currency", json!({})).await;
    let j = &out.json;
    assert_eq!(j["base_currency"], json!("CAD"));
    let rows = j["currencies"].as_array().expect("rows");
    let usd = rows
        .iter()
        .find(|r| r["currency"] == "USD")
        .expect("USD row");
    let cad = rows
        .iter()
        .find(|r| r["currency"] == "CAD")
        .expect("CAD row");
    let usd_positions: f64 = h.sim_positions().iter().map(|p| p.market_value).sum();
    assert_close(&usd["positions"], usd_positions, "USD positions");
    assert_close(
        &usd["cash"],
        sim.cash_by_currency["USD"],
        "USD cash (margin loan)",
    );
    assert_close(&cad["cash"], sim.cash_by_currency["CAD"], "CAD cash");
    assert!((num(&usd["rate_to_base"], "rate") - usdcad).abs() < 1e-3);
    assert_close(
        &usd["one_pct_move"],
        num(&usd["net_base"], "net") * 0.01,
        "1% USD move",
    );
    assert_eq!(cad["one_pct_move"], json!(0.0));
    // Positions plus cash, converted, is the account's NLV.
    assert!(
        (num(&j["total_base"], "total") - sim.net_liquidation).abs() < 1.0,
        "{} vs {}",
        j["total_base"],
        sim.net_liquidation
    );
    insta::assert_snapshot!("currency", out.markdown);
    assert_read_only(&h);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_detail_of_a_held_symbol() {
    let h = start().await;
    let kryx = h
        .sim_positions()
        .into_iter()
        .find(|p| p.symbol == "KRYX")
        .expect("KRYX held");
    let before = h.sim.counters().what_if_orders;
    let out = h
        .ok("ibkr_position_detail", json!({"symbol": "kryx"}))
        .await;
    let j = &out.json;
    assert_eq!(j["quantity"], json!(kryx.quantity));
    assert_close(&j["avg_cost"], kryx.avg_cost, "average cost");
    assert_close(
        &j["cost_basis"],
        kryx.avg_cost * kryx.quantity,
        "cost basis",
    );
    assert_close(&j["market_value"], kryx.market_value, "market value");
    assert!(num(&j["init_margin"], "margin") > 0.0, "{j}");
    assert!(
        h.sim.counters().what_if_orders > before,
        "margin from a what-if"
    );
    let t = &j["technicals"];
    assert!(num(&t["bars_used"], "bars") >= 250.0);
    assert!((0.0..=100.0).contains(&num(&t["rsi14"], "rsi")));
    assert_eq!(j["recent_bars"].as_array().map(Vec::len), Some(10));
    // SMA 20 redone on the cached bars (the tools' one-year spec: no new request).
    let bars = h
        .gateway
        .requests()
        .historical_bars(&ibkr_cockpit::tools::risk_data::daily_spec(
            "KRYX", "USD", 252,
        ))
        .await
        .expect("cached bars");
    let last20: f64 = bars[bars.len() - 20..].iter().map(|b| b.close).sum::<f64>() / 20.0;
    assert!(
        (num(&t["sma20"], "sma20") - last20).abs() <= 0.005 + 1e-9,
        "2 dp shown"
    );
    assert_eq!(t["bars_used"], json!(bars.len()));
    // The simulator's history ends on the real "today", so indicator values move with the
    // calendar: the snapshot covers the position block, values above cover the technicals.
    let top = out
        .markdown
        .split("## Technicals")
        .next()
        .unwrap_or_default()
        .to_string();
    insta::assert_snapshot!("position_detail", redact_dates(&top));

    let e = h
        .err("ibkr_position_detail", json!({"symbol": "AAPL"}))
        .await;
    assert!(
        e.message.contains("not held") && e.message.contains("KRYX") && e.message.contains("HDRX"),
        "{e}"
    );
    assert_read_only(&h);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_plans_whole_share_trades() {
    let h = start().await;
    let sim = h.sim_account();
    let out = h
        .ok(
            "ibkr_rebalance_planner",
            json!({"targets": "KRYX:30, VLTX:20%, omra:20, FELN:10, HDRX:0, CASH:20"}),
        )
        .await;
    let j = &out.json;
    assert_close(&j["basis"], sim.net_liquidation, "basis = NLV");
    assert_eq!(j["cash_target_pct"], json!(20.0));
    let rows = j["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 5);
    let hdrx = rows.iter().find(|r| r["symbol"] == "HDRX").expect("HDRX");
    let held_hdrx = h
        .sim_positions()
        .into_iter()
        .find(|p| p.symbol == "HDRX")
        .expect("HDRX held");
    assert_eq!(hdrx["action"], json!("SELL"));
    assert_eq!(
        hdrx["shares"],
        json!(held_hdrx.quantity),
        "0% sells everything"
    );
    for r in rows {
        // Shares × price × FX is the amount, and never overshoots the target.
        let shares = num(&r["shares"], "shares");
        assert_eq!(shares.fract(), 0.0, "whole shares");
        let gap = (num(&r["target_value"], "t") - num(&r["current_value"], "c")).abs();
        assert!(num(&r["amount"], "amount") <= gap + 1e-6, "{r}");
    }
    insta::assert_snapshot!("rebalance", out.markdown);

    for (args, needle) in [
        (json!({"targets": "KRYX:60,VLTX:50"}), "more than 100%"),
        (json!({"targets": "KRYX:30,NOPE:10"}), "unknown symbol"),
        (json!({"targets": "KRYX=30"}), "SYMBOL:PERCENT"),
        (json!({"targets": ""}), "no targets"),
        (json!({"targets": "KRYX:30,KRYX:10"}), "twice"),
    ] {
        let e = h.err("ibkr_rebalance_planner", args.clone()).await;
        assert!(e.message.contains(needle), "{args}: {e}");
    }
    assert_read_only(&h);
    h.shutdown().await;
}

/// Every risk and intelligence tool answers on a 2,000-position book, within pacing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_nine_tools_work_at_two_thousand_positions() {
    let h = start_big(2000, default_config()).await;
    let held = h.sim_positions();
    assert_eq!(held.len(), 2000);
    let first = held[0].symbol.clone();
    let out = h.ok("ibkr_stress_test", json!({})).await;
    assert!(
        out.json["drawdown_to_liquidation_pct"].is_number(),
        "{}",
        out.json
    );
    let out = h
        .ok(
            "ibkr_stress_test",
            json!({"scenario": "drawdown", "drawdown_pct": 10}),
        )
        .await;
    assert_close(
        &out.json["stressed"]["loss"],
        -0.1 * h.sim_account().gross_position_value,
        "10% of GPV",
    );
    let out = h.ok("ibkr_currency", json!({})).await;
    assert!(
        out.json["currencies"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    let out = h.ok("ibkr_sector_exposure", json!({})).await;
    let classified: u64 = out.json["sectors"]
        .as_array()
        .map(|s| s.iter().map(|r| r["positions"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert_eq!(
        classified, 2000,
        "every position is in a sector row (or Pending)"
    );
    let out = h.ok("ibkr_position_detail", json!({"symbol": first})).await;
    assert_eq!(out.json["symbol"], json!(first));
    h.ok(
        "ibkr_what_if",
        json!({"symbol": first, "action": "SELL", "quantity": 1}),
    )
    .await;
    let out = h
        .ok(
            "ibkr_rebalance_planner",
            json!({"targets": format!("{first}:1")}),
        )
        .await;
    assert_eq!(out.json["rows"].as_array().map(Vec::len), Some(2000));
    // Beta first: its benchmark is one more daily history beside the book's.
    let out = h.ok("ibkr_portfolio_beta", json!({})).await;
    assert_eq!(out.json["positions"].as_array().map(Vec::len), Some(2000));
    let out = h
        .ok("ibkr_correlation_matrix", json!({"lookback_days": 60}))
        .await;
    assert!(out.json["symbols"].as_array().is_some_and(|s| s.len() >= 2));
    // The first VaR covers every holding: daily bars meet only IB's open-request cap.
    let var = h.ok("ibkr_var_estimate", json!({})).await;
    assert_eq!(var.json["missing"], json!([]), "{}", var.markdown);
    assert_eq!(var.json["components"].as_array().map(Vec::len), Some(2000));
    // One history per holding and the benchmark, plus the FX pairs of foreign holdings (two
    // requests when IB quotes the pair the other way round).
    let (allowed, currencies) = fx_requests_allowed(&var.json, &held);
    let asked = h.sim.counters().requests("RequestHistoricalData");
    assert!(
        asked <= 2001 + allowed,
        "{asked} historical requests ({currencies})"
    );
    assert_eq!(h.sim.counters().pacing_violations, 0);
    assert_read_only(&h);
    h.shutdown().await;
}
