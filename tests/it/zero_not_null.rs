//! Zero is a number: every tool's JSON, on the simulator's full book, is walked for nulls. A
//! null is allowed only at a field listed here with the reason it is truly unknown in this
//! world; a real zero (a drawdown that never happened, a currency part of a book in its base
//! currency) must be 0.

use crate::support::world::start;
use ibkr_cockpit::tools;
use serde_json::{Value, json};

/// Arguments that make each tool answer (tools not listed take none).
fn args(tool: &str) -> Value {
    match tool {
        "ibkr_quote" => json!({"symbols": "KRYX,SPY"}),
        "ibkr_get_historical_bars"
        | "ibkr_get_contract_details"
        | "ibkr_get_option_chain"
        | "ibkr_get_intraday"
        | "ibkr_technicals"
        | "ibkr_position_detail" => json!({"symbol": "KRYX"}),
        "ibkr_search_contracts" => json!({"query": "KRYX"}),
        "ibkr_get_fx_rate" => json!({"pair": "USDCAD"}),
        "ibkr_compare_performance" => json!({"symbols": "KRYX,SPY"}),
        "ibkr_what_if" => json!({"symbol": "KRYX", "action": "BUY", "quantity": 10}),
        "ibkr_rebalance_planner" => json!({"targets": "KRYX:30,VLTX:20"}),
        _ => json!({}),
    }
}

const NEED_USER_FILES: [&str; 2] = ["ibkr_geopolitical_risk", "ibkr_thesis_check"];

/// Fields that may be null, with why: the value does not exist here (not a zero).
const MAY_BE_NULL: &[(&str, &str)] = &[
    (".stale", "the answer is fresh"),
    (".last_error", "the gateway has had no error"),
    (".since_last", "no earlier briefing to compare with"),
    (
        "open_orders[].avg_fill_price",
        "a resting order has no fill",
    ),
    ("orders[].avg_fill_price", "a resting order has no fill"),
    ("orders[].completed_time", "the order is not completed"),
    ("open_orders[].completed_time", "the order is not completed"),
    (
        "orders[].stop_price",
        "a limit order has no stop (IB's unset sentinel)",
    ),
    (
        "open_orders[].stop_price",
        "a limit order has no stop (IB's unset sentinel)",
    ),
    ("rows[].next_date", "no ex-date announced within the window"),
    (
        "ibkr_dividends.total_annual_income",
        "no holding pays a dividend this view can price",
    ),
    (
        "ibkr_drawdown_tracker.days",
        "the parameter was not given: all history",
    ),
    ("ibkr_drawdown_tracker.no_history", "there is history"),
    (
        "ibkr_drawdown_tracker.peak_override",
        "the parameter was not given",
    ),
    (
        "ibkr_drawdown_tracker.max_drawdown",
        "no episode to describe; max_drawdown_pct carries the 0",
    ),
    (
        "ibkr_get_account_pnl.positions",
        "per-position P&L not asked for",
    ),
    (
        "ibkr_get_option_chain.expiration",
        "no expiration asked for: the list of expirations",
    ),
    (
        "ibkr_margin.efficiency",
        "the efficiency view was not asked for",
    ),
    (
        "ibkr_margin.headroom",
        "the headroom view was not asked for",
    ),
    ("ibkr_position_detail.margin_note", "nothing to note"),
    ("rows[].note", "nothing to note"),
    ("ibkr_stress_test.shocks", "no custom shocks given"),
    (
        "ibkr_stress_test.sigma_multiplier",
        "a percentage scenario, not a σ one",
    ),
    ("ibkr_trades.days", "the parameter was not given"),
    ("ibkr_trades.note", "nothing to note"),
    ("ibkr_trades.symbol_filter", "the parameter was not given"),
    (
        "fills[].realized_pnl",
        "an opening fill: IB reports no realized P&L (its unset sentinel)",
    ),
    ("levels[].scenario_date", "parametric VaR has no scenario"),
    ("levels[].z", "historical VaR has no normal quantile"),
    ("ibkr_what_if.limit_price", "a market order has no limit"),
    ("ibkr_what_if.warning", "nothing to warn about"),
    (
        "ibkr_news.article",
        "headlines were asked for, not an article",
    ),
];

fn allowed(tool: &str, path: &str) -> bool {
    let full = format!("{tool}{path}");
    MAY_BE_NULL.iter().any(|(field, _)| {
        if field.starts_with("ibkr_") {
            full == *field
        } else {
            path.ends_with(field)
        }
    })
}

/// Every `path` in `v` whose value is null (array indices as `[]`).
fn nulls(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(path.to_string()),
        Value::Array(a) => a.iter().for_each(|x| nulls(x, &format!("{path}[]"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| nulls(x, &format!("{path}.{k}"), out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_answers_zero_as_a_number() {
    let h = start().await;
    let mut walked = 0;
    let mut bad = Vec::new();
    for spec in tools::catalog() {
        // These two read a user's config file (risk factors, theses) that this world does not
        // write; they are walked in their own tests' worlds.
        if NEED_USER_FILES.contains(&spec.name) {
            continue;
        }
        let out = h.ok(spec.name, args(spec.name)).await;
        walked += 1;
        let mut found = Vec::new();
        nulls(&out.json, "", &mut found);
        bad.extend(
            found
                .into_iter()
                .filter(|p| !allowed(spec.name, p))
                .map(|p| format!("{}{p}", spec.name)),
        );
    }
    assert_eq!(walked, tools::catalog().len() - NEED_USER_FILES.len());
    bad.sort();
    bad.dedup();
    assert!(
        bad.is_empty(),
        "null where a number belongs:\n{}",
        bad.join("\n")
    );

    // The drawdown of a book that never fell below its high-water mark is 0, not null.
    let dd = h.ok("ibkr_drawdown_tracker", json!({})).await;
    assert!(dd.json["max_drawdown_pct"].is_number(), "{}", dd.json);
    h.shutdown().await;
}
