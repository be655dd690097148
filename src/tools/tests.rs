//! Tool-surface tests that need no gateway: the catalogue, argument errors of every tool, and the
//! snapshot tools answering from a store filled by hand (a process with no gateway = cache only).
//! Integration tests against the simulator live in `tests/it/tools_*.rs`.

use super::*;
use crate::config::{Config, DEFAULT_CONFIG_TOML};
use crate::model::*;
use crate::store::Clock;
use serde_json::json;
use std::collections::BTreeMap;

/// 2026-05-03 17:17:44 UTC.
const NOW: Millis = 1_777_828_664_000;

fn config() -> Arc<Config> {
    Arc::new(toml::from_str(DEFAULT_CONFIG_TOML).expect("embedded defaults parse"))
}

fn value(v: f64, ccy: &str) -> AccountValue {
    AccountValue {
        value: v,
        currency: ccy.into(),
    }
}

fn position(symbol: &str, con_id: i32, qty: f64, avg: f64, price: f64, daily: f64) -> Position {
    Position {
        account: "U1234321".into(),
        instrument: Instrument {
            con_id,
            symbol: symbol.into(),
            sec_type: "STK".into(),
            exchange: "SMART".into(),
            currency: "USD".into(),
            ..Default::default()
        },
        quantity: qty,
        avg_cost: avg,
        market_price: Some(price),
        market_value: Some(qty * price),
        unrealized_pnl: Some(qty * (price - avg)),
        realized_pnl: Some(0.0),
        daily_pnl: Some(daily),
        daily_pnl_at: Some(NOW - 5_000),
        updated: NOW - 5_000,
        price_source: Default::default(),
    }
}

/// A CAD account holding two USD stocks, with a USD.CAD quote; data 5 s old.
fn filled_context() -> ToolContext {
    let store = Store::new(Clock::fixed(NOW), None);
    store.update(|st| {
        let mut values = BTreeMap::new();
        for (tag, v) in [
            (tags::NET_LIQUIDATION, 24_618.0),
            (tags::GROSS_POSITION_VALUE, 64_124.0),
            (tags::TOTAL_CASH_VALUE, -39_506.0),
            (tags::BUYING_POWER, 2_777.0),
            (tags::AVAILABLE_FUNDS, 416.66),
            (tags::EXCESS_LIQUIDITY, 2_605.19),
            (tags::INIT_MARGIN_REQ, 24_201.34),
            (tags::MAINT_MARGIN_REQ, 22_012.81),
            (tags::CUSHION, 0.1058),
            (tags::EQUITY_WITH_LOAN, 24_618.0),
        ] {
            values.insert(tag.to_string(), value(v, "CAD"));
        }
        let acct = AccountSnapshot {
            account: "U1234321".into(),
            gateway: Some(GatewayRole::Primary),
            base_currency: "CAD".into(),
            values,
            cash_by_currency: BTreeMap::new(),
            pnl: Some(AccountPnl {
                daily: Some(312.48),
                unrealized: Some(0.0),
                realized: None,
            }),
            updated: NOW - 5_000,
        };
        Arc::make_mut(&mut st.accounts).insert(acct.account.clone(), acct);
        let positions = Arc::make_mut(&mut st.positions);
        for p in [
            position("KRYX", 1, 340.0, 50.0, 54.18, -952.0),
            position("VLTX", 2, 86.0, 100.0, 94.32, 0.0),
        ] {
            positions.insert((p.account.clone(), p.instrument.con_id), p);
        }
        Arc::make_mut(&mut st.quotes).insert(
            "USD.CAD".into(),
            Quote {
                symbol: "USD".into(),
                currency: "CAD".into(),
                bid: Some(1.3699),
                ask: Some(1.3701),
                close: Some(1.36),
                mode: DataMode::Live,
                updated: NOW - 5_000,
                ..Default::default()
            },
        );
    });
    ToolContext {
        store,
        gateways: None,
        config: config(),
        remote: None,
    }
}

fn empty_context() -> ToolContext {
    ToolContext {
        store: Store::new(Clock::fixed(NOW), None),
        gateways: None,
        config: config(),
        remote: None,
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), f)
                .await
                .expect("timed out")
        })
}

#[test]
fn catalogue_lists_the_tools_with_object_schemas() {
    let cat = catalog();
    let names: Vec<&str> = cat.iter().map(|s| s.name).collect();
    for name in [
        "ibkr_get_account_summary",
        "ibkr_margin",
        "ibkr_list_accounts",
        "ibkr_get_account_pnl",
        "ibkr_consolidated_view",
        "ibkr_get_positions",
        "ibkr_quote",
        "ibkr_get_historical_bars",
        "ibkr_get_contract_details",
        "ibkr_get_option_chain",
        "ibkr_dividends",
        "ibkr_search_contracts",
        "ibkr_get_fx_rate",
        "ibkr_get_intraday",
        "ibkr_compare_performance",
        "ibkr_technicals",
        "ibkr_news",
        "ibkr_fundamentals",
        "ibkr_scanner",
        "ibkr_shortable",
        "ibkr_volatility",
    ] {
        assert!(names.contains(&name), "{name} registered");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "catalogue is sorted by name");
    for s in cat {
        assert!(s.name.starts_with("ibkr_"), "{}", s.name);
        assert!(!s.description.contains('\n') && !s.description.is_empty());
        assert_eq!(
            s.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            s.name
        );
        assert_eq!(
            s.output_schema.get("type"),
            Some(&json!("object")),
            "{}",
            s.name
        );
        let out_props = s
            .output_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .expect("output properties");
        assert!(
            out_props.contains_key("as_of") && out_props.contains_key("stale"),
            "{} carries meta",
            s.name
        );
    }
    let quote = cat.iter().find(|s| s.name == "ibkr_quote").expect("quote");
    let symbols = &quote.input_schema["properties"]["symbols"];
    assert_eq!(symbols["maxItems"], json!(8), "{symbols}");
    let margin = cat
        .iter()
        .find(|s| s.name == "ibkr_margin")
        .expect("margin");
    let info = params::prop_info(
        &margin.input_schema,
        &margin.input_schema["properties"]["detail"],
    );
    assert_eq!(info.enum_values, vec!["summary", "efficiency", "headroom"]);
}

#[test]
fn unknown_tool_lists_the_available_ones() {
    let e = run(call(&empty_context(), "ibkr_nope", Value::Null)).unwrap_err();
    assert!(
        e.message.contains("Unknown tool `ibkr_nope`") && e.message.contains("ibkr_quote"),
        "{e}"
    );
}

/// One bad-argument case: a call that must fail, a piece of its error saying what was wrong, and
/// a piece saying what is accepted.
struct BadArgs {
    tool: &'static str,
    args: Value,
    wrong: &'static str,
    accepted: &'static str,
}

fn bad(tool: &'static str, args: Value, wrong: &'static str, accepted: &'static str) -> BadArgs {
    BadArgs {
        tool,
        args,
        wrong,
        accepted,
    }
}

/// At least one case per catalogue tool (`every_tool_is_covered` holds the table to that).
/// Every case fails on its arguments alone, so the cache-only context answers them all.
fn bad_argument_cases() -> Vec<BadArgs> {
    vec![
        // account
        bad(
            "ibkr_get_account_summary",
            json!({"acount": "x"}),
            "unknown field `acount`",
            "Accepted parameters: `account`",
        ),
        bad(
            "ibkr_get_account_summary",
            json!({"account": "U9999999"}),
            "Unknown account `U****9999`",
            "Known accounts: U****4321",
        ),
        bad(
            "ibkr_margin",
            json!({"detail": "everything"}),
            "got \"everything\"",
            "`summary`, `efficiency`, `headroom`",
        ),
        bad(
            "ibkr_margin",
            json!({"detail": "efficiency", "symbol": "ZZZZ"}),
            "not held",
            "KRYX",
        ),
        bad(
            "ibkr_list_accounts",
            json!({"verbose": true}),
            "unknown field `verbose`",
            "Accepted parameters: none",
        ),
        bad(
            "ibkr_list_accounts",
            json!("all"),
            "must be an object",
            "accepted: none",
        ),
        bad(
            "ibkr_get_account_pnl",
            json!({"by_position": "perhaps"}),
            "got \"perhaps\"",
            "true or false",
        ),
        bad(
            "ibkr_get_account_pnl",
            json!({"account": "U0000001"}),
            "Unknown account",
            "Known accounts: U****4321",
        ),
        bad(
            "ibkr_consolidated_view",
            json!({"base_currency": "dollars"}),
            "got \"dollars\"",
            "three-letter currency code",
        ),
        bad(
            "ibkr_consolidated_view",
            json!({"currency": "CAD"}),
            "unknown field `currency`",
            "`base_currency`",
        ),
        bad(
            "ibkr_margin_ladder",
            json!({"lookback_days": 5}),
            "out of range: 5",
            "from 20 to 252",
        ),
        bad(
            "ibkr_margin_history",
            json!({"days": 1000}),
            "out of range: 1000",
            "from 1 to 365",
        ),
        // portfolio
        bad(
            "ibkr_get_positions",
            json!({"sort": "size"}),
            "got \"size\"",
            "`weight`, `pnl`, `daily`, `symbol`",
        ),
        bad(
            "ibkr_get_positions",
            json!({"limit": 0}),
            "out of range: 0",
            "a value from 1",
        ),
        // market data
        bad(
            "ibkr_quote",
            json!({"symbols": "A,B,C,D,E,F,G,H,I"}),
            "too many values in `symbols`: 9 given",
            "at most 8 accepted",
        ),
        bad(
            "ibkr_quote",
            json!({"symbols": "KRYX,,VLTX"}),
            "malformed list",
            "comma-separated values",
        ),
        bad(
            "ibkr_quote",
            json!({"symbols": ["KR;YX"]}),
            "`KR;YX` is not a valid symbol",
            "letters, digits",
        ),
        bad(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "duration": "10 Q"}),
            "\"10 Q\" is not valid",
            "`1 D` to `5 Y`",
        ),
        bad(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "bar_size": "7 mins"}),
            "got \"7 mins\"",
            "`1 min`",
        ),
        bad(
            "ibkr_get_historical_bars",
            json!({"duration": "30 D"}),
            "missing field `symbol`",
            "Accepted parameters: ",
        ),
        bad(
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "bar_size": "1 min", "duration": "5 Y"}),
            "bars",
            "bar",
        ),
        bad(
            "ibkr_get_contract_details",
            json!({}),
            "missing field `symbol`",
            "Accepted parameters: ",
        ),
        bad(
            "ibkr_get_contract_details",
            json!({"symbol": ""}),
            "not a valid symbol",
            "1–16 characters",
        ),
        bad(
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "strikes_around_atm": 11}),
            "out of range: 11",
            "from 1 to 10",
        ),
        bad(
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "expiration": "June"}),
            "\"June\" is not a date",
            "YYYYMMDD",
        ),
        bad(
            "ibkr_dividends",
            json!({"scope": "yearly"}),
            "got \"yearly\"",
            "`single`, `calendar`, `income`",
        ),
        bad(
            "ibkr_dividends",
            json!({"scope": "single"}),
            "needs `symbol`",
            "symbol",
        ),
        bad(
            "ibkr_search_contracts",
            json!({}),
            "missing field `query`",
            "Accepted parameters: ",
        ),
        bad(
            "ibkr_search_contracts",
            json!({"query": "  "}),
            "query",
            "1–64 characters",
        ),
        // live data
        bad(
            "ibkr_get_fx_rate",
            json!({"pair": "USDCA"}),
            "\"USDCA\" is not a currency pair",
            "six letters",
        ),
        bad(
            "ibkr_get_fx_rate",
            json!({}),
            "missing field `pair`",
            "Accepted parameters: `pair`",
        ),
        bad(
            "ibkr_get_intraday",
            json!({"symbol": "KRYX", "minutes": 500}),
            "out of range: 500",
            "1 to 120",
        ),
        bad(
            "ibkr_get_intraday",
            json!({"symbol": "KRYX", "minutes": "lots"}),
            "got \"lots\"",
            "whole number",
        ),
        bad(
            "ibkr_compare_performance",
            json!({"symbols": "KRYX"}),
            "1 given",
            "at least 2",
        ),
        bad(
            "ibkr_compare_performance",
            json!({"symbols": "KRYX,VLTX", "duration": "2 Y"}),
            "got \"2 Y\"",
            "`YTD`",
        ),
        bad(
            "ibkr_technicals",
            json!({"symbol": "KRYX", "sections": "trend,astrology"}),
            "got \"astrology\"",
            "`momentum`",
        ),
        bad(
            "ibkr_technicals",
            json!({"sections": "all"}),
            "missing field `symbol`",
            "Accepted parameters: ",
        ),
        // briefing
        bad(
            "ibkr_briefing",
            json!({"format": "pdf"}),
            "got \"pdf\"",
            "`full`, `terse`",
        ),
        bad(
            "ibkr_briefing",
            json!({"since_last": "sometimes"}),
            "got \"sometimes\"",
            "true or false",
        ),
        // research
        bad(
            "ibkr_news",
            json!({"days": 90}),
            "out of range: 90",
            "from 1 to 30",
        ),
        bad(
            "ibkr_news",
            json!({"article_id": "BRFG$ has spaces"}),
            "`article_id` must be",
            "printable characters without spaces",
        ),
        bad(
            "ibkr_news",
            json!({"provider": "BRFG"}),
            "only used with `article_id`",
            "article_id",
        ),
        bad(
            "ibkr_fundamentals",
            json!({"symbols": ["KR;YX"]}),
            "`KR;YX` is not a valid symbol",
            "letters, digits",
        ),
        bad(
            "ibkr_scanner",
            json!({"rows": 100}),
            "out of range: 100",
            "from 1 to 25",
        ),
        bad(
            "ibkr_scanner",
            json!({"price_above": 50, "price_below": 10}),
            "must be below `price_below`",
            "price_below",
        ),
        bad(
            "ibkr_shortable",
            json!({"fee_rate": "maybe"}),
            "got \"maybe\"",
            "true or false",
        ),
        bad(
            "ibkr_volatility",
            json!({"window": 20}),
            "unknown field `window`",
            "Accepted parameters: ",
        ),
        bad(
            "ibkr_geopolitical_risk",
            json!({"days": 45}),
            "out of range: 45",
            "from 1 to 30",
        ),
        bad(
            "ibkr_geopolitical_risk",
            json!({"min_severity": 0}),
            "out of range: 0",
            "from 1 to 10",
        ),
        bad(
            "ibkr_thesis_check",
            json!({}),
            "missing field `news_item`",
            "Accepted parameters: `news_item`",
        ),
        bad(
            "ibkr_thesis_check",
            json!({"news_item": "   "}),
            "news_item",
            "news",
        ),
        // monitoring
        bad(
            "ibkr_drawdown_tracker",
            json!({"peak_nlv": -5}),
            "got -5",
            "positive amount",
        ),
        bad(
            "ibkr_drawdown_tracker",
            json!({"days": 0}),
            "out of range: 0",
            "from 1 to 3650",
        ),
        bad(
            "ibkr_connection_status",
            json!({"gateway": "primary"}),
            "unknown field `gateway`",
            "Accepted parameters: none",
        ),
        bad(
            "ibkr_selftest",
            json!({"verbose": true}),
            "unknown field `verbose`",
            "Accepted parameters: none",
        ),
        bad(
            "ibkr_alerts",
            json!({"days": 400}),
            "out of range: 400",
            "from 1 to 90",
        ),
        bad(
            "ibkr_alerts",
            json!({"limit": 0}),
            "out of range: 0",
            "from 1 to 200",
        ),
        // orders
        bad(
            "ibkr_trades",
            json!({"view": "everything"}),
            "got \"everything\"",
            "`fills`, `journal`, `realized`, `completed`",
        ),
        bad(
            "ibkr_trades",
            json!({"days": 4000}),
            "out of range: 4000",
            "from 1 to 3650",
        ),
        bad(
            "ibkr_get_orders",
            json!({"account": "U0000001"}),
            "Unknown account",
            "Known accounts: U****4321",
        ),
        // risk
        bad(
            "ibkr_correlation_matrix",
            json!({"lookback_days": 5}),
            "out of range: 5",
            "from 20 to 756",
        ),
        bad(
            "ibkr_portfolio_beta",
            json!({"lookback_days": "long"}),
            "got \"long\"",
            "whole number from 20 to 756",
        ),
        bad(
            "ibkr_var_estimate",
            json!({"confidence": "50%"}),
            "got \"50%\"",
            "`95`",
        ),
        bad(
            "ibkr_var_estimate",
            json!({"horizon_days": 300}),
            "out of range: 300",
            "from 1 to 250",
        ),
        bad(
            "ibkr_stress_test",
            json!({"sigma_multiplier": 20}),
            "out of range: 20",
            "from 0.1 to 10",
        ),
        bad(
            "ibkr_stress_test",
            json!({"scenario": "meteor"}),
            "got \"meteor\"",
            "`preflight`, `drawdown`, `gap`",
        ),
        bad(
            "ibkr_what_if",
            json!({"symbol": "KRYX", "action": "HOLD", "quantity": 100}),
            "got \"HOLD\"",
            "`BUY`, `SELL`",
        ),
        bad(
            "ibkr_what_if",
            json!({"symbol": "KRYX", "action": "BUY"}),
            "missing field `quantity`",
            "Accepted parameters: ",
        ),
        // intelligence
        bad(
            "ibkr_sector_exposure",
            json!({"account": "U0000001"}),
            "Unknown account",
            "Known accounts: U****4321",
        ),
        bad(
            "ibkr_currency",
            json!({"acount": "U1234321"}),
            "unknown field `acount`",
            "Accepted parameters: `account`",
        ),
        bad(
            "ibkr_position_detail",
            json!({"symbol": "KR;YX"}),
            "`KR;YX` is not a valid symbol",
            "1–16 characters",
        ),
        bad(
            "ibkr_rebalance_planner",
            json!({"targets": "KRYX=abc"}),
            "abc",
            "KRYX",
        ),
    ]
}

#[test]
fn every_tool_rejects_bad_arguments_with_a_reason() {
    let ctx = filled_context();
    let mut failures = Vec::new();
    for case in bad_argument_cases() {
        let BadArgs {
            tool,
            args,
            wrong,
            accepted,
        } = &case;
        match run(call(&ctx, tool, args.clone())) {
            Ok(_) => failures.push(format!("{tool} {args}: answered instead of failing")),
            Err(e) if !(e.message.contains(wrong) && e.message.contains(accepted)) => failures
                .push(format!(
                    "{tool} {args}: `{}` lacks what was wrong (`{wrong}`) or what is accepted (`{accepted}`)",
                    e.message
                )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every catalogue tool has a bad-argument case, a `render_<name>` snapshot of its pure
/// renderer and a `headline_<name>` snapshot of its headline (from the same hand-built outputs,
/// one line each, none empty) under `src/tools/<group>/snapshots/`: adding a tool without them
/// fails here.
#[test]
fn every_tool_is_covered() {
    let cases = bad_argument_cases();
    let tools_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tools");
    let mut missing = Vec::new();
    for spec in catalog() {
        if !cases.iter().any(|c| c.tool == spec.name) {
            missing.push(format!("{}: no case in bad_argument_cases()", spec.name));
        }
        let short = spec.name.trim_start_matches("ibkr_");
        let suffix = format!("__render_{short}.snap");
        let snapshots = tools_dir.join(spec.group.as_str()).join("snapshots");
        let found = std::fs::read_dir(&snapshots).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(&suffix))
        });
        if !found {
            missing.push(format!(
                "{}: no render_{short} snapshot in {}",
                spec.name,
                snapshots.display()
            ));
        }
        let headline_file = std::fs::read_dir(&snapshots).ok().and_then(|entries| {
            entries
                .flatten()
                .find(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .ends_with(&format!("__headline_{short}.snap"))
                })
                .map(|e| e.path())
        });
        match headline_file.and_then(|p| std::fs::read_to_string(p).ok()) {
            None => missing.push(format!(
                "{}: no headline_{short} snapshot in {}",
                spec.name,
                snapshots.display()
            )),
            Some(text) => {
                // The body follows the second `---` line of insta's header.
                let body: Vec<&str> = text
                    .lines()
                    .skip(1)
                    .skip_while(|l| *l != "---")
                    .skip(1)
                    .collect();
                if body.is_empty() || body.iter().any(|l| l.trim().is_empty()) {
                    missing.push(format!("{}: an empty headline in {body:?}", spec.name));
                }
            }
        }
    }
    let unknown: Vec<&str> = cases
        .iter()
        .map(|c| c.tool)
        .filter(|t| !catalog().iter().any(|s| s.name == *t))
        .collect();
    assert!(unknown.is_empty(), "cases name unknown tools: {unknown:?}");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn snapshot_tools_answer_from_cache_with_a_banner() {
    let ctx = filled_context();
    let out = run(call(&ctx, "ibkr_get_account_summary", Value::Null)).expect("summary");
    assert_eq!(out.json["net_liquidation"], json!(24_618.0));
    assert_eq!(out.json["account"], json!("U****4321"));
    assert_eq!(out.json["cushion_pct"], json!(10.58));
    assert_eq!(
        out.json["stale"]["reason"],
        json!("no gateway connection in this process (cache only)")
    );
    assert_eq!(out.json["stale"]["age_s"], json!(5.0));
    assert!(
        out.markdown
            .starts_with("# Account Summary: U****4321\n_2026-05-03 17:17:44 UTC_\n"),
        "{}",
        out.markdown
    );
    assert!(
        out.markdown.contains("Stale data**: last update 5s ago"),
        "{}",
        out.markdown
    );
    assert!(
        out.markdown.contains("| NLV | $24,618.00 CAD |"),
        "{}",
        out.markdown
    );
    assert!(
        out.markdown.contains("| Leverage | 2.60x |"),
        "{}",
        out.markdown
    );

    // The masked form is accepted back as the account parameter.
    let out = run(call(
        &ctx,
        "ibkr_get_account_pnl",
        json!({"account": "U****4321", "by_position": "true"}),
    ))
    .expect("pnl");
    assert_eq!(out.json["daily"], json!(312.48));
    assert_eq!(out.json["unrealized"], json!(0.0));
    assert!(
        out.markdown.contains("**Unrealized**: $0.00 CAD"),
        "a real zero is shown: {}",
        out.markdown
    );
    assert!(
        out.markdown.contains("**Realized**: N/A"),
        "{}",
        out.markdown
    );
    assert_eq!(out.json["positions"][1]["daily"], json!(0.0));
}

#[test]
fn positions_convert_to_base_currency_and_weigh_by_gross_value() {
    let ctx = filled_context();
    let out = run(call(&ctx, "ibkr_get_positions", json!({"sort": "symbol"}))).expect("positions");
    let rows = out.json["positions"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["symbol"], json!("KRYX"));
    assert_eq!(rows[0]["quantity"], json!(340.0));
    let rate = 1.37; // mid of 1.3699 / 1.3701
    let kryx = 340.0 * 54.18 * rate;
    let vltx = 86.0 * 94.32 * rate;
    let w = rows[0]["weight_pct"].as_f64().expect("weight");
    assert_eq!(
        w,
        format::round(kryx / (kryx + vltx) * 100.0, 2),
        "to the 2 dp shown"
    );
    let total = out.json["total_market_value"].as_f64().expect("total");
    assert!((total - (kryx + vltx)).abs() < 0.01, "{total}");
    assert_eq!(out.json["fx_rates"][0]["pair"], json!("USD.CAD"));
    assert!(out.markdown.contains("USD.CAD 1.3700"), "{}", out.markdown);
    assert!(
        out.markdown
            .contains("| VLTX | 86 | $100.00 USD | $94.32 USD |"),
        "{}",
        out.markdown
    );

    let out = run(call(
        &ctx,
        "ibkr_get_positions",
        json!({"symbol_filter": "kry", "limit": "1"}),
    ))
    .expect("filtered");
    assert_eq!(out.json["count"], json!(1));
}

#[test]
fn margin_summary_reports_drawdown_distances() {
    let ctx = filled_context();
    let out = run(call(&ctx, "ibkr_margin", Value::Null)).expect("margin");
    assert_eq!(out.json["summary"]["drawdown_to_restriction_pct"], json!(2));
    assert_eq!(out.json["summary"]["drawdown_to_liquidation_pct"], json!(7));
    assert!(
        out.markdown.contains("forced liquidation**: ~7.0%"),
        "{}",
        out.markdown
    );
}

#[test]
fn list_accounts_and_consolidated_view() {
    let ctx = filled_context();
    let out = run(call(&ctx, "ibkr_list_accounts", json!({}))).expect("list");
    assert_eq!(out.json["accounts"][0]["account"], json!("U****4321"));
    assert_eq!(out.json["accounts"][0]["gateway"], json!("primary"));
    let out = run(call(
        &ctx,
        "ibkr_consolidated_view",
        json!({"base_currency": "usd"}),
    ))
    .expect("consolidated");
    assert_eq!(out.json["currency"], json!("USD"));
    let nlv = out.json["total_net_liquidation"].as_f64().expect("nlv");
    assert!((nlv - 24_618.0 / 1.37).abs() < 0.01, "{nlv}");
    assert_eq!(out.json["fx_rates"][0]["pair"], json!("CAD.USD"));
}

#[test]
fn nothing_cached_is_a_clear_error() {
    let e = run(call(&empty_context(), "ibkr_get_positions", Value::Null)).unwrap_err();
    assert!(e.message.contains("No account data is cached yet"), "{e}");
    let e = run(call(
        &empty_context(),
        "ibkr_get_option_chain",
        json!({"symbol": "KRYX"}),
    ))
    .unwrap_err();
    assert!(e.message.contains("no gateway connection"), "{e}");
}

#[test]
fn cache_older_than_the_allowed_age_is_refused() {
    let ctx = filled_context();
    ctx.store.clock().set(NOW + 2 * 3_600_000);
    let e = run(call(&ctx, "ibkr_get_account_summary", Value::Null)).unwrap_err();
    assert!(e.message.contains("older than the 3600 s allowed"), "{e}");
}

#[test]
fn calls_are_journaled() {
    let ctx = filled_context();
    run(call_journaled(
        &ctx,
        "cli",
        "ibkr_list_accounts",
        Value::Null,
    ))
    .expect("ok");
    let _ = run(call_journaled(
        &ctx,
        "cockpit",
        "ibkr_quote",
        json!({"symbols": "A,,B"}),
    ));
    let journal = ctx.store.snapshot().journal;
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].client, "cli");
    assert!(
        journal[0].ok
            && journal[0].result_bytes > 0
            && journal[0].markdown.starts_with("# Accounts")
    );
    assert_eq!(journal[0].time, NOW);
    assert!(!journal[1].ok);
    assert!(
        journal[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("malformed list"))
    );
    assert_eq!(journal[1].arguments, json!({"symbols": "A,,B"}));
}

/// The journal's size is the markdown plus the compact JSON, byte for byte as sent.
#[test]
fn journaled_size_is_markdown_plus_compact_json() {
    let ctx = filled_context();
    let out = run(call_journaled(
        &ctx,
        "cli",
        "ibkr_get_positions",
        Value::Null,
    ))
    .expect("positions");
    let journal = ctx.store.snapshot().journal;
    assert_eq!(
        journal[0].result_bytes,
        out.markdown.len() + out.json.to_string().len()
    );
    let awkward = json!({"é": "line\nbreak \"quoted\" €", "n": [1.5, -0.0, 1e300, null]});
    assert_eq!(json_len(&awkward), awkward.to_string().len());
}

/// The simulated-data notice reaches a JSON reader too: `simulated: true` and the notice first
/// among the warnings, the same sentence the markdown starts with.
#[test]
fn a_simulated_answer_says_so_in_its_json() {
    let ctx = filled_context();
    ctx.store.set_world(crate::store::World {
        simulated: true,
        description: "simulated demo book".into(),
    });
    let out = run(call_journaled(
        &ctx,
        "cli",
        "ibkr_get_account_summary",
        Value::Null,
    ))
    .expect("summary");
    assert!(out.markdown.starts_with(crate::store::SIMULATED_NOTICE));
    assert_eq!(out.json["simulated"], json!(true));
    assert_eq!(
        out.json["warnings"][0],
        json!(format::warning_text(crate::store::SIMULATED_NOTICE))
    );
    assert!(!out.headline.is_empty());
    assert_eq!(ctx.store.snapshot().journal[0].headline, out.headline);
}
