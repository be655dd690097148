//! Account and portfolio tools against the simulated gateway over real TCP: values equal the
//! simulator's book, markdown snapshots (seed 7, frozen prices, fixed clock), and what-if margin
//! requests never turn into real orders.

use crate::support::world;

use crate::support::assert_close;
use serde_json::json;
use world::{redact_dates, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_summary_equals_the_simulated_book() {
    let h = start().await;
    let sim = h.sim_account();
    let out = h.ok("ibkr_get_account_summary", json!({})).await;
    let j = &out.json;
    assert_close(&j["net_liquidation"], sim.net_liquidation, "NLV");
    assert_close(&j["gross_position_value"], sim.gross_position_value, "GPV");
    assert_close(&j["total_cash"], sim.total_cash, "cash");
    assert_close(&j["init_margin"], sim.init_margin, "initial margin");
    assert_close(&j["maint_margin"], sim.maint_margin, "maintenance margin");
    assert_close(
        &j["excess_liquidity"],
        sim.excess_liquidity,
        "excess liquidity",
    );
    assert_close(
        &j["available_funds"],
        sim.available_funds,
        "available funds",
    );
    assert_close(&j["cushion_pct"], sim.cushion * 100.0, "cushion");
    assert_close(
        &j["leverage"],
        sim.gross_position_value / sim.net_liquidation,
        "leverage",
    );
    assert_eq!(j["base_currency"], json!(sim.base_currency));
    assert_eq!(j["stale"], json!(null), "fresh data carries no staleness");
    let masked = j["account"].as_str().expect("account");
    assert!(
        masked.contains("****") && !masked.contains(&sim.account),
        "masked: {masked}"
    );
    insta::assert_snapshot!("account_summary", out.markdown);

    // The account can be named by its real id or by the masked form the answers show.
    let by_id = h
        .ok(
            "ibkr_get_account_summary",
            json!({ "account": sim.account }),
        )
        .await;
    assert_eq!(by_id.json["net_liquidation"], j["net_liquidation"]);
    let e = h
        .err("ibkr_get_account_summary", json!({"account": "U0000000"}))
        .await;
    assert!(
        e.message.contains("Unknown account") && e.message.contains(masked),
        "{e}"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_accounts_pnl_and_consolidated_view() {
    let h = start().await;
    let sim = h.sim_account();

    let out = h.ok("ibkr_list_accounts", json!(null)).await;
    let accounts = out.json["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["gateway"], json!("primary"));
    assert_eq!(accounts[0]["default"], json!(true));
    assert_close(&accounts[0]["net_liquidation"], sim.net_liquidation, "NLV");
    insta::assert_snapshot!("list_accounts", out.markdown);

    let out = h
        .ok("ibkr_get_account_pnl", json!({"by_position": true}))
        .await;
    assert_close(&out.json["daily"], sim.daily_pnl, "daily P&L");
    assert_close(
        &out.json["unrealized"],
        sim.unrealized_pnl,
        "unrealized P&L",
    );
    let rows = out.json["positions"].as_array().expect("per position");
    assert_eq!(rows.len(), h.sim_positions().len());
    insta::assert_snapshot!("account_pnl", out.markdown);

    // Consolidated into USD: NLV converted with the simulator's USD.CAD rate.
    let out = h
        .ok("ibkr_consolidated_view", json!({"base_currency": "USD"}))
        .await;
    let fx = h
        .sim
        .world()
        .fx
        .get("USD.CAD")
        .copied()
        .expect("USD.CAD in the sim");
    let nlv_usd = out.json["total_net_liquidation"].as_f64().expect("total");
    let expected = if sim.base_currency == "USD" {
        sim.net_liquidation
    } else {
        sim.net_liquidation / fx
    };
    assert!(
        (nlv_usd - expected).abs() / expected < 1e-3,
        "consolidated {nlv_usd} vs {expected}"
    );
    let positions = out.json["positions"].as_array().expect("merged positions");
    assert_eq!(positions.len(), h.sim_positions().len());
    insta::assert_snapshot!("consolidated_view", out.markdown);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_equal_the_simulated_book() {
    let h = start().await;
    let sim = h.sim_positions();
    let out = h.ok("ibkr_get_positions", json!({"sort": "symbol"})).await;
    let rows = out.json["positions"].as_array().expect("rows");
    assert_eq!(rows.len(), sim.len());
    for p in &sim {
        let row = rows
            .iter()
            .find(|r| r["symbol"] == json!(p.symbol))
            .unwrap_or_else(|| panic!("{} listed", p.symbol));
        assert_close(
            &row["quantity"],
            p.quantity,
            &format!("{} quantity", p.symbol),
        );
        assert_close(
            &row["avg_cost"],
            p.avg_cost,
            &format!("{} avg cost", p.symbol),
        );
        assert_close(
            &row["market_value"],
            p.market_value,
            &format!("{} market value", p.symbol),
        );
        assert_close(
            &row["unrealized_pnl"],
            p.unrealized_pnl,
            &format!("{} unrealized", p.symbol),
        );
    }
    let weights: f64 = rows.iter().filter_map(|r| r["weight_pct"].as_f64()).sum();
    assert!(
        (weights - 100.0).abs() < 0.01,
        "weights sum to 100%: {weights}"
    );
    insta::assert_snapshot!("positions", out.markdown);

    let out = h
        .ok(
            "ibkr_get_positions",
            json!({"sort": "weight", "limit": "2"}),
        )
        .await;
    assert_eq!(out.json["positions"].as_array().map(Vec::len), Some(2));
    assert_eq!(out.json["count"], json!(sim.len()));
    let e = h.err("ibkr_get_positions", json!({"sort": "size"})).await;
    assert!(e.message.contains("`weight`"), "{e}");
    let e = h.err("ibkr_get_positions", json!({"limit": 5000})).await;
    assert!(e.message.contains("out of range"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn margin_modes_use_what_if_and_never_place_orders() {
    let h = start().await;
    let sim = h.sim_account();
    let out = h.ok("ibkr_margin", json!({})).await;
    let s = &out.json["summary"];
    assert_close(
        &s["excess_liquidity"],
        sim.excess_liquidity,
        "excess liquidity",
    );
    // The same arithmetic the stress test uses, on the simulator's own numbers.
    let m = ibkr_cockpit::tools::margin_math::MarginInputs {
        equity: sim.equity_with_loan,
        gross_position_value: sim.gross_position_value,
        init_margin: sim.init_margin,
        maint_margin: sim.maint_margin,
    };
    use ibkr_cockpit::tools::margin_math::{Threshold, first_breach_pct};
    assert_eq!(
        s["drawdown_to_restriction_pct"],
        json!(first_breach_pct(&m, Threshold::BuyingPowerRestricted))
    );
    assert_eq!(
        s["drawdown_to_liquidation_pct"],
        json!(first_breach_pct(&m, Threshold::ForcedLiquidation))
    );
    insta::assert_snapshot!("margin_summary", out.markdown);

    let out = h.ok("ibkr_margin", json!({"detail": "efficiency"})).await;
    let rows = out.json["efficiency"].as_array().expect("rows");
    assert_eq!(rows.len(), h.sim_positions().len());
    assert!(
        rows.iter()
            .all(|r| r["init_margin_freed"].as_f64().is_some_and(|m| m > 0.0)),
        "{rows:?}"
    );
    insta::assert_snapshot!("margin_efficiency", out.markdown);

    let out = h
        .ok(
            "ibkr_margin",
            json!({"detail": "HEADROOM", "symbol": "kryx"}),
        )
        .await;
    let rows = out.json["headroom"].as_array().expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["symbol"], json!("KRYX"));
    assert!(
        rows[0]["additional_shares"].as_i64().is_some(),
        "{}",
        out.markdown
    );

    let e = h.err("ibkr_margin", json!({"detail": "maximal"})).await;
    assert!(
        e.message.contains("`summary`, `efficiency`, `headroom`"),
        "{e}"
    );
    let e = h
        .err(
            "ibkr_margin",
            json!({"detail": "headroom", "symbol": "NOPE"}),
        )
        .await;
    assert!(e.message.contains("not held"), "{e}");

    let counters = h.sim.counters();
    assert!(counters.what_if_orders > 0, "what-if orders were used");
    assert_eq!(
        counters.real_orders, 0,
        "no real order ever reaches the gateway"
    );
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmasked_accounts_when_configured() {
    let mut cfg = world::default_config();
    cfg.display.mask_accounts = false;
    let h = world::start_with(
        ibkr_cockpit::sim::SimConfig {
            tick_interval: None,
            ..Default::default()
        },
        cfg,
    )
    .await;
    let out = h.ok("ibkr_list_accounts", json!({})).await;
    assert_eq!(
        out.json["accounts"][0]["account"],
        json!(h.sim.account_id())
    );
    let _ = redact_dates("");
    h.shutdown().await;
}
