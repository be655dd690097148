//! On-demand requests through the real client: historical bars (daily, 1-min) and IB's pacing
//! rule, contract details, symbol search, what-if margins (real_orders stays 0),
//! open/completed orders, executions with commissions, news.

use crate::support::STEP;
use crate::support::sim;

use ibapi::contracts::Contract;
use ibapi::market_data::TradingHours;
use ibapi::market_data::historical::{BarSize, BarTimestamp, ToDuration, WhatToShow};
use ibapi::orders::{ExecutionFilter, Executions, Orders};
use ibkr_cockpit::sim::{Fault, PRIMARY_ACCOUNT};
use sim::*;
use tokio::time::timeout;

#[tokio::test]
async fn daily_and_minute_bars_end_at_the_live_price() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 300).await;
    let kryx = Contract::stock("KRYX").build();
    let daily = timeout(
        STEP,
        client
            .historical_data(&kryx, BarSize::Day)
            .duration(3.years())
            .what_to_show(WhatToShow::Trades)
            .trading_hours(TradingHours::Regular)
            .fetch(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        daily.bars.len() >= 3 * 250,
        "3 years of daily bars: {}",
        daily.bars.len()
    );
    assert!(matches!(daily.bars[0].date, BarTimestamp::Date(_)));
    let last = daily.bars.last().unwrap();
    assert_eq!(last.close, sim.world().quotes["KRYX"].last);
    assert!(daily.bars.iter().all(|b| b.low <= b.high && b.volume > 0.0));

    let minutes = timeout(
        STEP,
        client
            .historical_data(&kryx, BarSize::Min)
            .duration(1.days())
            .what_to_show(WhatToShow::Trades)
            .fetch(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!minutes.bars.is_empty() && minutes.bars.len() <= 390);
    assert!(matches!(minutes.bars[0].date, BarTimestamp::DateTime(_)));
    assert_eq!(minutes.bars.last().unwrap().close, 54.18);
    assert!(minutes.start < minutes.end);

    let fx = Contract::forex("EUR", "USD").build();
    let mid = timeout(
        STEP,
        client
            .historical_data(&fx, BarSize::Hour)
            .duration(5.days())
            .what_to_show(WhatToShow::MidPoint)
            .fetch(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(mid.bars.len() >= 5 * 6);
    assert_eq!(sim.counters().requests("RequestHistoricalData"), 3);
    assert_eq!(sim.counters().pacing_violations, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn identical_historical_request_within_15s_is_a_pacing_violation() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 301).await;
    let vltx = Contract::stock("VLTX").build();
    // IB applies the identical-request rule to small bars (30 seconds or less).
    let fetch = || {
        client
            .historical_data(&vltx, BarSize::Sec30)
            .duration(1.days())
            .what_to_show(WhatToShow::Trades)
            .fetch()
    };
    timeout(STEP, fetch())
        .await
        .unwrap()
        .expect("first request served");
    match timeout(STEP, fetch()).await.unwrap() {
        Err(ibapi::Error::Notice(n)) => assert_eq!(n.code, 162, "{n:?}"),
        other => panic!("expected a pacing violation (162), got {other:?}"),
    }
    assert_eq!(sim.counters().pacing_violations, 1);
    // A different request is fine; an injected violation is counted too.
    timeout(
        STEP,
        client
            .historical_data(&vltx, BarSize::Day)
            .duration(2.years())
            .fetch(),
    )
    .await
    .unwrap()
    .expect("different request served");
    sim.inject(Fault::PacingViolationNext);
    assert!(
        timeout(
            STEP,
            client
                .historical_data(&vltx, BarSize::Week)
                .duration(2.years())
                .fetch()
        )
        .await
        .unwrap()
        .is_err()
    );
    assert_eq!(sim.counters().pacing_violations, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn contract_details_and_symbol_search() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 302).await;
    let details = timeout(
        STEP,
        client.contract_details(&Contract::stock("KRYX").build()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(details.len(), 1);
    let d = &details[0];
    assert_eq!(d.long_name, "Kryx Semiconductor Corp");
    assert_eq!(d.industry, "Technology");
    assert_eq!(d.category, "Semiconductors");
    assert_eq!(d.min_tick, 0.01);
    assert!(!d.trading_hours.is_empty());
    assert_eq!(d.contract.contract_id, sim.world().quotes["KRYX"].con_id);

    match timeout(
        STEP,
        client.contract_details(&Contract::stock("NOPE").build()),
    )
    .await
    .unwrap()
    {
        Err(ibapi::Error::Notice(n)) => assert_eq!(n.code, 200),
        other => panic!("expected error 200, got {other:?}"),
    }

    let hits = timeout(STEP, client.matching_symbols("semicon"))
        .await
        .unwrap()
        .unwrap();
    let syms: Vec<String> = hits.iter().map(|h| h.contract.symbol.to_string()).collect();
    assert!(syms.contains(&"KRYX".to_string()), "{syms:?}");
    let hits = timeout(STEP, client.matching_symbols("XL"))
        .await
        .unwrap()
        .unwrap();
    assert!(hits.len() >= 5);
    sim.shutdown().await;
}

#[tokio::test]
async fn what_if_returns_margins_from_the_model_and_no_real_order_is_taken() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 303).await;
    let kryx = Contract::stock("KRYX").build();
    let state = timeout(STEP, client.order(&kryx).buy(100).limit(54.18).analyze())
        .await
        .unwrap()
        .unwrap();
    let world = sim.world();
    let a = &world.accounts[0];
    let before = state.maintenance_margin_before.unwrap();
    let change = state.maintenance_margin_change.unwrap();
    assert!(close(before, a.maint_margin, 0.01));
    // 100 KRYX at 54.18 USD with a 37.5% maintenance rate, in CAD.
    let expected = 100.0 * 54.18 * world.fx["USD.CAD"] * 0.375;
    assert!(close(change, expected, 0.05), "{change} vs {expected}");
    assert!(close(
        state.initial_margin_after.unwrap(),
        state.initial_margin_before.unwrap() + state.initial_margin_change.unwrap(),
        0.02
    ));
    assert!(
        state.equity_with_loan_change.unwrap() < 0.0,
        "commission reduces equity"
    );
    assert_eq!(state.commission, Some(1.0));
    assert_eq!(state.margin_currency, "CAD");
    assert!(
        !state.warning_text.is_empty(),
        "a 100-share buy breaches available funds of a 10% cushion book"
    );

    // Only what-if orders ever reach the simulator; the book is unchanged.
    let c = sim.counters();
    assert_eq!(c.real_orders, 0);
    assert_eq!(c.what_if_orders, 1);
    assert_eq!(sim.world().positions, world.positions);
    sim.shutdown().await;
}

#[tokio::test]
async fn open_orders_executions_and_completed_orders() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 304).await;
    let mut open = timeout(STEP, client.all_open_orders())
        .await
        .unwrap()
        .unwrap();
    let mut saw_order = false;
    let mut saw_status = false;
    while let Some(item) = next_data(&mut open).await {
        match item {
            Orders::OrderData(o) => {
                assert_eq!(o.order_id, 101);
                assert_eq!(o.contract.symbol.to_string(), "HDRX");
                assert_eq!(o.order.limit_price, Some(31.5));
                saw_order = true;
            }
            Orders::OrderStatus(s) => {
                assert_eq!(s.remaining, 20.0);
                saw_status = true;
            }
        }
    }
    assert!(saw_order && saw_status);

    let week = ExecutionFilter {
        last_n_days: 7,
        ..Default::default()
    };
    let mut execs = timeout(STEP, client.executions(week))
        .await
        .unwrap()
        .unwrap();
    let mut fills = Vec::new();
    let mut commissions = Vec::new();
    while let Some(item) = next_data(&mut execs).await {
        match item {
            Executions::ExecutionData(e) => fills.push((
                e.contract.symbol.to_string(),
                e.execution.shares,
                e.execution.price,
            )),
            Executions::CommissionReport(c) => commissions.push((c.commission, c.realized_pnl)),
        }
    }
    assert_eq!(fills.len(), 3);
    assert_eq!(commissions.len(), 3);
    assert!(fills.contains(&("FELN".to_string(), 10.0, 128.9)));
    assert_eq!(
        commissions.iter().filter(|c| c.1.is_some()).count(),
        1,
        "only the sale realized P&L"
    );

    let mut done = timeout(STEP, client.completed_orders(false))
        .await
        .unwrap()
        .unwrap();
    let mut completed = 0;
    while let Some(item) = next_data(&mut done).await {
        if let Orders::OrderData(o) = item {
            assert_eq!(o.order.account, PRIMARY_ACCOUNT);
            completed += 1;
        }
    }
    assert_eq!(completed, 3);
    assert_eq!(sim.counters().real_orders, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn news_providers_headlines_and_articles() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 305).await;
    let providers = timeout(STEP, client.news_providers())
        .await
        .unwrap()
        .unwrap();
    let codes: Vec<String> = providers.iter().map(|p| p.code.clone()).collect();
    assert!(codes.contains(&"BRFG".to_string()), "{codes:?}");
    let con_id = sim.world().quotes["KRYX"].con_id;
    let now = time::OffsetDateTime::now_utc();
    let mut sub = timeout(
        STEP,
        client.historical_news(
            con_id,
            &["BRFG", "DJ-N"],
            now - time::Duration::days(30),
            now,
            50,
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let mut headlines = Vec::new();
    while let Some(item) = next_data(&mut sub).await {
        headlines.push(item);
    }
    assert!(
        headlines.len() >= 5,
        "a month of headlines: {}",
        headlines.len()
    );
    assert!(
        headlines
            .iter()
            .all(|h| h.headline.contains("KRYX") && h.time > now - time::Duration::days(31))
    );
    let first = &headlines[0];
    let body = timeout(
        STEP,
        client.news_article(&first.provider_code, &first.article_id),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(body.article_text.contains("KRYX"));
    sim.shutdown().await;
}
