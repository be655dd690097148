//! `ibkr_margin_ladder`, `ibkr_margin_history` and `ibkr_selftest` against the simulated book:
//! the numbers a user sees equal the simulator's own account figures.

use crate::support::assert_close;
use crate::support::world::{self, default_config};
use ibkr_cockpit::store::margin_history::{self, MarginSample};
use serde_json::json;

const DAY_MS: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn margin_ladder_rungs_equal_the_simulated_book_under_the_stated_model() {
    let h = world::start().await;
    let sim = h.sim_account();
    let out = h.ok("ibkr_margin_ladder", json!({})).await;
    let j = &out.json;
    assert_close(&j["equity"], sim.equity_with_loan, "equity");
    assert_close(&j["maint_margin"], sim.maint_margin, "maintenance");
    assert_close(
        &j["excess_liquidity"],
        sim.excess_liquidity,
        "excess liquidity",
    );
    let rungs = j["rungs"].as_array().unwrap();
    assert_eq!(rungs.len(), 9);
    let mut first_restricted = None;
    let mut first_liquidating = None;
    for r in rungs {
        let d = r["drawdown_pct"].as_f64().unwrap() / 100.0;
        let loss = sim.gross_position_value * d;
        let equity = sim.equity_with_loan - loss;
        let excess_init = equity - sim.init_margin * (1.0 - d);
        let excess_maint = equity - sim.maint_margin * (1.0 - d);
        assert_close(
            &r["stressed_nlv"],
            sim.net_liquidation - loss,
            "stressed NLV",
        );
        assert_close(&r["excess_init"], excess_init, "excess over initial");
        assert_close(&r["excess_maint"], excess_maint, "excess liquidity");
        if excess_init < 0.0 && first_restricted.is_none() {
            first_restricted = Some(d * 100.0);
        }
        if excess_maint < 0.0 && first_liquidating.is_none() {
            first_liquidating = Some(d * 100.0);
        }
    }
    assert_eq!(j["first_restricting_rung_pct"].as_f64(), first_restricted);
    assert_eq!(j["first_liquidating_rung_pct"].as_f64(), first_liquidating);
    // No NLV history in a fresh database: the runway comes from the book's returns.
    let runway = &j["runway"];
    assert_eq!(runway["source"], "book_returns", "{j}");
    assert!(runway["daily_sigma"].as_f64().unwrap() > 0.0);
    let liq = &runway["lines"][1];
    let be =
        (sim.equity_with_loan - sim.maint_margin) / (sim.gross_position_value - sim.maint_margin);
    assert_close(
        &liq["drawdown_to_line_pct"],
        (be * 10_000.0).round() / 100.0,
        "liquidation line",
    );
    let days = liq["loss_to_line"].as_f64().unwrap() / runway["daily_sigma"].as_f64().unwrap();
    assert!((liq["days_at_1_sigma"].as_f64().unwrap() - days).abs() < 0.06);
    assert!(
        out.markdown.contains("## Cushion Runway"),
        "{}",
        out.markdown
    );
    assert!(out.markdown.contains("from the book's returns"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn margin_history_reads_the_samples_and_ends_with_the_simulated_book() {
    let h = world::start().await;
    let sim = h.sim_account();
    let db = h.ctx.store.db().expect("database");
    let account = sim.account.clone();
    // Two older samples (the sync also sampled the book at NOW).
    let older = |days: i64, cushion: f64| MarginSample {
        time: world::NOW - days * DAY_MS,
        currency: sim.base_currency.clone(),
        nlv: sim.net_liquidation,
        equity_with_loan: Some(sim.equity_with_loan),
        gross_position_value: Some(sim.gross_position_value),
        init_margin: Some(sim.init_margin),
        maint_margin: Some(sim.maint_margin),
        excess_liquidity: Some(cushion * sim.net_liquidation),
        available_funds: Some(sim.available_funds),
        cushion: Some(cushion),
        leverage: Some(sim.leverage),
        margin_use: Some(sim.maint_margin / sim.equity_with_loan),
    };
    margin_history::record(db, &account, &older(3, 0.02)).unwrap();
    margin_history::record(db, &account, &older(2, 0.9)).unwrap();
    margin_history::record(db, &account, &older(60, 0.0)).unwrap();
    let out = h.ok("ibkr_margin_history", json!({"days": 30})).await;
    let cushion = &out.json["stats"][0];
    assert_eq!(cushion["metric"], "cushion_pct");
    assert_close(
        &cushion["current"],
        (sim.cushion * 10_000.0).round() / 100.0,
        "cushion now",
    );
    assert_eq!(cushion["min"]["value"], 2.0, "{}", out.json);
    assert_eq!(cushion["min"]["time"], "2026-04-30 17:17:44 UTC");
    assert_eq!(cushion["max"]["value"], 90.0);
    let lev = &out.json["stats"][2];
    assert_close(
        &lev["current"],
        (sim.leverage * 1e4).round() / 1e4,
        "leverage",
    );
    assert_eq!(
        out.json["daily"].as_array().unwrap().len(),
        3,
        "{}",
        out.json
    );
    assert!(out.markdown.contains("| Cushion |"), "{}", out.markdown);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selftest_passes_against_the_simulator_and_names_what_it_checked() {
    let h = world::start_live_clock_with(default_config()).await;
    let out = h.ok("ibkr_selftest", json!({})).await;
    let checks = out.json["checks"].as_array().unwrap();
    let verdict = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} checked: {}", out.json))["verdict"]
            .clone()
    };
    assert_eq!(verdict("primary gateway"), "PASS", "{}", out.markdown);
    assert_eq!(verdict("API / server version"), "PASS");
    assert_eq!(verdict("accounts"), "PASS");
    assert_eq!(verdict("market data"), "PASS");
    assert_eq!(verdict("pacing headroom"), "PASS");
    assert_eq!(verdict("clock skew"), "PASS", "{}", out.markdown);
    assert_eq!(verdict("data flow"), "PASS");
    // This world has no database: said, with what to do.
    assert_eq!(verdict("database"), "WARN");
    assert_eq!(out.json["overall"], "WARN");
    let version = checks
        .iter()
        .find(|c| c["name"] == "API / server version")
        .unwrap();
    assert!(
        version["detail"].as_str().unwrap().contains("226"),
        "{version}"
    );
    h.shutdown().await;
}
