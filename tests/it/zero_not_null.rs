//! JSON written for a reader: every tool's JSON, on the simulator's full book, is walked for
//! nulls, for float noise and for its warnings and method. A null is allowed only at a field
//! listed here with the reason it is truly unknown in this world; a real zero (a drawdown that
//! never happened, a currency part of a book in its base currency) must be 0. Every float has
//! at most the decimals its kind is shown with; `warnings` are the markdown's warning
//! sentences; a tool that computes states its `method`.

use crate::support::world::start;
use ibkr_cockpit::tools::{self, format};
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
    ("checks[].fix", "a passing check has nothing to fix"),
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

/// Tools that compute something and so must say how (`method`, non-empty).
const COMPUTING: &[&str] = &[
    "ibkr_briefing",
    "ibkr_compare_performance",
    "ibkr_consolidated_view",
    "ibkr_correlation_matrix",
    "ibkr_currency",
    "ibkr_dividends",
    "ibkr_drawdown_tracker",
    "ibkr_geopolitical_risk",
    "ibkr_get_historical_bars",
    "ibkr_margin",
    "ibkr_margin_history",
    "ibkr_margin_ladder",
    "ibkr_portfolio_beta",
    "ibkr_position_detail",
    "ibkr_rebalance_planner",
    "ibkr_sector_exposure",
    "ibkr_stress_test",
    "ibkr_technicals",
    "ibkr_thesis_check",
    "ibkr_var_estimate",
    "ibkr_volatility",
    "ibkr_alerts",
    "ibkr_selftest",
];

/// The most decimals a float at `key` of `tool` may carry: percentages and money as shown (2),
/// FX quotes as the FX-rate answer shows them (5), anything else (ratios, betas, correlations,
/// FX rates used, fractional shares) 4.
fn max_decimals(tool: &str, key: &str) -> usize {
    const MONEY: [&str; 12] = [
        "pnl",
        "value",
        "liquidation",
        "cash",
        "funds",
        "income",
        "amount",
        "equity",
        "loss",
        "expected_shortfall",
        "_var",
        "init_margin",
    ];
    if key.contains("pct") || (MONEY.iter().any(|m| key.ends_with(m)) && key != "marginal_var") {
        2
    } else if tool == "ibkr_get_fx_rate" || key == "min_tick" {
        5
    } else {
        4
    }
}

/// Every float in `v` with more decimals than its key allows, as `path = value`.
fn noisy(tool: &str, v: &Value, path: &str, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let text = n.to_string();
            let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
            if text.contains('e') || decimals > max_decimals(tool, key) {
                out.push(format!("{tool}{path} = {text}"));
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|x| noisy(tool, x, &format!("{path}[]"), key, out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| noisy(tool, x, &format!("{path}.{k}"), k, out)),
        _ => {}
    }
}

/// What a JSON reader is owed besides the numbers: the markdown's warnings, word for word (the
/// demo notice first), and the method of a tool that computes.
fn missing_words(tool: &str, out: &tools::ToolOutput) -> Vec<String> {
    let mut bad = Vec::new();
    match out.json.get("warnings").and_then(Value::as_array) {
        None => bad.push(format!("{tool}: no `warnings` array")),
        Some(list) => {
            let expected: Vec<Value> = format::warnings_in(&out.markdown)
                .into_iter()
                .map(Value::String)
                .collect();
            if *list != expected {
                bad.push(format!(
                    "{tool}: warnings {list:?} are not the markdown's {expected:?}"
                ));
            }
        }
    }
    if COMPUTING.contains(&tool) {
        let method = out.json.get("method").and_then(Value::as_str).unwrap_or("");
        if method.trim().is_empty() || !out.markdown.contains("_Method: ") {
            bad.push(format!("{tool}: no method in the JSON or the markdown"));
        }
    }
    if out.headline.trim().is_empty() || out.headline.contains('\n') {
        bad.push(format!(
            "{tool}: headline {:?} is not one line",
            out.headline
        ));
    }
    bad
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
    let mut unrounded = Vec::new();
    let mut unwritten = Vec::new();
    for spec in tools::catalog() {
        // These two read a user's config file (risk factors, theses) that this world does not
        // write; they are walked in their own tests' worlds.
        if NEED_USER_FILES.contains(&spec.name) {
            continue;
        }
        let out = h.ok(spec.name, args(spec.name)).await;
        walked += 1;
        noisy(spec.name, &out.json, "", "", &mut unrounded);
        unwritten.extend(missing_words(spec.name, &out));
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

    assert!(
        unrounded.is_empty(),
        "floats with more decimals than shown:\n{}",
        unrounded.join("\n")
    );
    assert!(unwritten.is_empty(), "{}", unwritten.join("\n"));

    // The drawdown of a book that never fell below its high-water mark is 0, not null.
    let dd = h.ok("ibkr_drawdown_tracker", json!({})).await;
    assert!(dd.json["max_drawdown_pct"].is_number(), "{}", dd.json);
    h.shutdown().await;
}
