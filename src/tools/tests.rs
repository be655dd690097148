//! Tool-surface tests that need no gateway: the catalogue, argument errors of every tool, and the
//! snapshot tools answering from a store filled by hand (a process with no gateway = cache only).
//! Integration tests against the simulator live in `tests/tools_*.rs`.

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
    let info = args::prop_info(
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

#[test]
fn every_tool_rejects_bad_arguments_with_a_reason() {
    let ctx = filled_context();
    let cases: &[(&str, Value, &str)] = &[
        (
            "ibkr_get_account_summary",
            json!({"acount": "x"}),
            "unknown field `acount`",
        ),
        (
            "ibkr_get_account_summary",
            json!({"account": "U9999999"}),
            "Known accounts: U****4321",
        ),
        (
            "ibkr_margin",
            json!({"detail": "everything"}),
            "`summary`, `efficiency`, `headroom`",
        ),
        (
            "ibkr_margin",
            json!({"detail": "efficiency", "symbol": "ZZZZ"}),
            "not held",
        ),
        (
            "ibkr_list_accounts",
            json!({"verbose": true}),
            "unknown field `verbose`",
        ),
        ("ibkr_list_accounts", json!("all"), "must be an object"),
        (
            "ibkr_get_account_pnl",
            json!({"by_position": "perhaps"}),
            "true or false",
        ),
        (
            "ibkr_get_account_pnl",
            json!({"account": "U0000001"}),
            "Unknown account",
        ),
        (
            "ibkr_consolidated_view",
            json!({"base_currency": "dollars"}),
            "three-letter",
        ),
        (
            "ibkr_consolidated_view",
            json!({"currency": "CAD"}),
            "unknown field `currency`",
        ),
        (
            "ibkr_get_positions",
            json!({"sort": "size"}),
            "`weight`, `pnl`, `daily`, `symbol`",
        ),
        ("ibkr_get_positions", json!({"limit": 0}), "out of range"),
        (
            "ibkr_quote",
            json!({"symbols": "A,B,C,D,E,F,G,H,I"}),
            "too many",
        ),
        (
            "ibkr_quote",
            json!({"symbols": "KRYX,,VLTX"}),
            "malformed list",
        ),
        (
            "ibkr_quote",
            json!({"symbols": ["KR;YX"]}),
            "not a valid symbol",
        ),
        (
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "duration": "10 Q"}),
            "`1 D` to `5 Y`",
        ),
        (
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "bar_size": "7 mins"}),
            "`1 min`",
        ),
        (
            "ibkr_get_historical_bars",
            json!({"duration": "30 D"}),
            "missing field `symbol`",
        ),
        (
            "ibkr_get_historical_bars",
            json!({"symbol": "KRYX", "bar_size": "1 min", "duration": "5 Y"}),
            "bars",
        ),
        (
            "ibkr_get_contract_details",
            json!({}),
            "missing field `symbol`",
        ),
        (
            "ibkr_get_contract_details",
            json!({"symbol": ""}),
            "not a valid symbol",
        ),
        (
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "strikes_around_atm": 11}),
            "1 to 10",
        ),
        (
            "ibkr_get_option_chain",
            json!({"symbol": "KRYX", "expiration": "June"}),
            "YYYYMMDD",
        ),
        (
            "ibkr_dividends",
            json!({"scope": "yearly"}),
            "`single`, `calendar`, `income`",
        ),
        (
            "ibkr_dividends",
            json!({"scope": "single"}),
            "needs `symbol`",
        ),
        ("ibkr_search_contracts", json!({}), "missing field `query`"),
        (
            "ibkr_search_contracts",
            json!({"query": "  "}),
            "1–64 characters",
        ),
        ("ibkr_get_fx_rate", json!({"pair": "USDCA"}), "six letters"),
        ("ibkr_get_fx_rate", json!({}), "missing field `pair`"),
        (
            "ibkr_get_intraday",
            json!({"symbol": "KRYX", "minutes": 500}),
            "1 to 120",
        ),
        (
            "ibkr_get_intraday",
            json!({"symbol": "KRYX", "minutes": "lots"}),
            "whole number",
        ),
        (
            "ibkr_compare_performance",
            json!({"symbols": "KRYX"}),
            "at least 2",
        ),
        (
            "ibkr_compare_performance",
            json!({"symbols": "KRYX,VLTX", "duration": "2 Y"}),
            "`YTD`",
        ),
        (
            "ibkr_technicals",
            json!({"symbol": "KRYX", "sections": "trend,astrology"}),
            "`momentum`",
        ),
        (
            "ibkr_technicals",
            json!({"sections": "all"}),
            "missing field `symbol`",
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (tool, args, want) in cases {
        let e =
            run(call(&ctx, tool, args.clone())).expect_err(&format!("{tool} {args} should fail"));
        assert!(
            e.message.contains(want),
            "{tool} {args}: `{}` lacks `{want}`",
            e.message
        );
        covered.insert(*tool);
    }
    assert_eq!(covered.len(), 16, "every tool has bad-argument cases");
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
    assert!((w - kryx / (kryx + vltx) * 100.0).abs() < 1e-3, "{w}");
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
