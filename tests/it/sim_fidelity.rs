//! Details a TWS client sees exactly as at IB: the account-summary tag set (Leverage, the
//! look-ahead and Full margins, ledgers), FX `TRADES` history refused with error 162 in both
//! encodings, and the trading class / valid exchanges of contract details.

use crate::sim_handshake::{handshake_version, open, send_text, until_text};
use crate::support::STEP;
use crate::support::sim::{connect, frozen_sim, next_data};
use ibapi::accounts::AccountSummaryResult;
use ibapi::accounts::types::AccountGroup;
use ibapi::contracts::Contract;
use ibapi::market_data::historical::{BarSize, ToDuration, WhatToShow};
use ibkr_cockpit::calendar::{self, Venue};
use std::collections::HashMap;
use tokio::time::timeout;

/// IB's documented `reqAccountSummary` tags (AccountSummaryTags), with `RegT…` spelt as IB
/// answers them.
const IB_SUMMARY_TAGS: &[&str] = &[
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "PreviousDayEquityWithLoanValue",
    "GrossPositionValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "HighestSeverity",
    "DayTradesRemaining",
    "Leverage",
];

fn money(v: f64) -> String {
    format!("{v:.2}")
}

#[tokio::test]
async fn account_summary_answers_every_documented_tag_from_the_book() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 40).await;
    let mut tags: Vec<&str> = IB_SUMMARY_TAGS.to_vec();
    // Misspelt in IB's own documentation; IB sends nothing for them, and neither do we.
    tags.extend(["ReqTEquity", "PreviousEquityWithLoanValue", "$LEDGER:USD"]);
    let mut sub = timeout(
        STEP,
        client.account_summary(&AccountGroup("All".into()), &tags),
    )
    .await
    .unwrap()
    .unwrap();
    let mut rows: HashMap<(String, String), String> = HashMap::new();
    while let Some(item) = next_data(&mut sub).await {
        match item {
            AccountSummaryResult::Summary(s) => {
                rows.insert((s.tag.clone(), s.currency.clone()), s.value.clone());
            }
            AccountSummaryResult::End => break,
        }
    }
    let w = sim.world();
    let a = &w.accounts[0];
    let base = a.base_currency.as_str();
    let get = |tag: &str, ccy: &str| {
        rows.get(&(tag.to_string(), ccy.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("no {tag} ({ccy}) in {rows:?}"))
    };
    for tag in IB_SUMMARY_TAGS {
        assert!(
            rows.keys().any(|(t, _)| t == tag),
            "{tag} answered: {rows:?}"
        );
    }
    for tag in ["ReqTEquity", "PreviousEquityWithLoanValue"] {
        assert!(!rows.keys().any(|(t, _)| t == tag), "{tag} is no IB tag");
    }
    assert_eq!(get("NetLiquidation", base), money(a.net_liquidation));
    assert_eq!(get("Leverage", ""), format!("{:.2}", a.leverage));
    for (tags, want) in [
        (
            [
                "InitMarginReq",
                "FullInitMarginReq",
                "LookAheadInitMarginReq",
            ],
            a.init_margin,
        ),
        (
            [
                "MaintMarginReq",
                "FullMaintMarginReq",
                "LookAheadMaintMarginReq",
            ],
            a.maint_margin,
        ),
        (
            [
                "AvailableFunds",
                "FullAvailableFunds",
                "LookAheadAvailableFunds",
            ],
            a.available_funds,
        ),
        (
            [
                "ExcessLiquidity",
                "FullExcessLiquidity",
                "LookAheadExcessLiquidity",
            ],
            a.excess_liquidity,
        ),
    ] {
        for tag in tags {
            assert_eq!(get(tag, base), money(want), "{tag}");
        }
    }
    assert_eq!(
        get("PreviousDayEquityWithLoanValue", base),
        money(a.equity_with_loan - a.daily_pnl)
    );
    // The next margin re-evaluation: the close of the NYSE session in progress or the next one.
    let next: i64 = get("LookAheadNextChange", "")
        .parse()
        .expect("epoch seconds");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let session = calendar::session_at(Venue::UsEquity, next - 1, true).expect("a session");
    assert_eq!(session.close, next);
    assert!(next > now && next - now < 5 * 86_400, "{next} vs {now}");
    assert_eq!(
        get("CashBalance", "USD"),
        money(a.cash_by_currency["USD"]),
        "$LEDGER:USD"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn fx_trades_history_is_refused_with_ibs_162_in_protobuf() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 41).await;
    let eur = Contract::forex("EUR", "USD").build();
    let answer = timeout(
        STEP,
        client
            .historical_data(&eur, BarSize::Day)
            .duration(5.days())
            .what_to_show(WhatToShow::Trades)
            .fetch(),
    )
    .await
    .unwrap();
    match answer {
        Err(ibapi::Error::Notice(n)) => {
            assert_eq!(n.code, 162);
            assert_eq!(
                n.message,
                "Historical Market Data Service error message:No historical market data for EUR/CASH@FXSUBPIP Last 1d"
            );
        }
        other => panic!("expected error 162, got {other:?}"),
    }
    // The same pair's midpoints are served.
    let mid = timeout(
        STEP,
        client
            .historical_data(&eur, BarSize::Day)
            .duration(5.days())
            .what_to_show(WhatToShow::MidPoint)
            .fetch(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(mid.bars.len(), 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn fx_trades_history_is_refused_with_ibs_162_in_text() {
    let sim = frozen_sim().await;
    let mut s = open(&sim, "v157..178").await;
    handshake_version(&mut s).await;
    send_text(&mut s, &["71", "2", "42", ""]).await;
    until_text(&mut s, "9").await;
    let mut req = vec!["20", "7"];
    req.extend([
        "0", "EUR", "CASH", "", "0.0", "", "", "IDEALPRO", "", "USD", "", "",
    ]);
    req.extend(["0", "", "5 mins", "1 D", "0", "TRADES", "2", "0", ""]);
    send_text(&mut s, &req).await;
    let e = loop {
        let e = until_text(&mut s, "4").await;
        if e[2] == "7" {
            break e;
        }
    };
    assert_eq!(e[3], "162");
    assert_eq!(
        e[4],
        "Historical Market Data Service error message:No historical market data for EUR/CASH@FXSUBPIP Last 300"
    );
}

#[tokio::test]
async fn trading_class_and_valid_exchanges_as_ib_fills_them() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 43).await;
    for (symbol, class) in [("KRYX", "NMS"), ("OMRA", "OMRA"), ("SPY", "SPY")] {
        let details = timeout(
            STEP,
            client.contract_details(&Contract::stock(symbol).build()),
        )
        .await
        .unwrap()
        .unwrap();
        let d = &details[0];
        assert_eq!(d.contract.trading_class, class, "{symbol}");
        assert_eq!(d.valid_exchanges.first().map(String::as_str), Some("SMART"));
        let mut seen = std::collections::HashSet::new();
        assert!(
            d.valid_exchanges.iter().all(|x| seen.insert(x.clone())),
            "each venue once: {:?}",
            d.valid_exchanges
        );
        assert!(
            d.valid_exchanges
                .contains(&d.contract.primary_exchange.to_string()),
            "{symbol}: the primary listing {} among {:?}",
            d.contract.primary_exchange,
            d.valid_exchanges
        );
    }
    sim.shutdown().await;
}
