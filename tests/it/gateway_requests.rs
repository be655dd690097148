//! On-demand requests through `Requests` against the simulated gateway: a burst of historical
//! requests stays inside IB's pacing (zero violations) with repeats served from cache, and
//! every other request kind answers with the simulator's data. No real order is ever sent.

use crate::support::STEP;
use crate::support::gateway;

use futures::future::join_all;
use gateway::*;
use ibkr_cockpit::gateway::{BarSpec, ContractQuery, GatewayError, WhatIfOrder};
use ibkr_cockpit::sim::SimConfig;

fn query(symbol: &str) -> ContractQuery {
    ContractQuery {
        symbol: symbol.into(),
        ..ContractQuery::default()
    }
}

#[tokio::test]
async fn burst_of_historical_requests_is_paced_and_cached() {
    let (sim, _store, gw) = synced(SimConfig::default(), |_| {}).await;
    let req = gw.requests().clone();
    let symbols = [
        "KRYX", "VLTX", "OMRA", "FELN", "HDRX", "SPY", "QQQ", "XLK", "XLF", "XLE",
    ];
    let mut specs = Vec::new();
    for s in symbols {
        specs.push(BarSpec::daily(s, "1 Y"));
        let mut intraday = BarSpec::daily(s, "1 D");
        intraday.bar_size = "5 mins".into();
        specs.push(intraday);
    }
    // 100 calls: each of the 20 distinct requests five times, all at once.
    let calls = (0..100).map(|i| {
        let req = req.clone();
        let spec = specs[i % specs.len()].clone();
        async move { (spec.symbol.clone(), req.historical_bars(&spec).await) }
    });
    let results = tokio::time::timeout(STEP, join_all(calls))
        .await
        .unwrap_or_default();
    assert_eq!(results.len(), 100);
    for (symbol, r) in &results {
        let bars = r.as_ref().unwrap_or_else(|e| panic!("{symbol}: {e}"));
        assert!(!bars.is_empty(), "{symbol}: no bars");
        assert!(bars.iter().all(|b| b.close > 0.0 && b.high >= b.low));
    }
    let counters = sim.counters();
    assert_eq!(counters.pacing_violations, 0);
    assert_eq!(
        counters.requests("RequestHistoricalData"),
        20,
        "identical in-flight requests are coalesced"
    );

    // Repeats are served from cache: no new wire request, same answer.
    let again = tokio::time::timeout(STEP, req.historical_bars(&specs[0])).await;
    let first = results[0].1.as_ref().ok().cloned();
    assert!(matches!(again, Ok(Ok(ref b)) if Some(b) == first.as_ref()));
    assert_eq!(sim.counters().requests("RequestHistoricalData"), 20);
    assert!(req.cached_bars(&specs[0]).is_some());
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn what_if_is_never_a_real_order() {
    let (sim, store, gw) = synced(SimConfig::default(), |_| {}).await;
    let account = sim.account_id();
    let before = store.snapshot().accounts[&account]
        .get("MaintMarginReq")
        .unwrap_or(0.0);
    let order = WhatIfOrder {
        account: account.clone(),
        symbol: "KRYX".into(),
        action: "BUY".into(),
        quantity: 50.0,
        order_type: "MKT".into(),
        limit_price: None,
    };
    let r = tokio::time::timeout(STEP, gw.requests().what_if(&order)).await;
    let Ok(Ok(result)) = r else {
        panic!("what-if failed: {r:?}");
    };
    let change = result.maint_margin_change.unwrap_or(0.0);
    assert!(change > 0.0, "buying adds margin: {result:?}");
    if let Some(after) = result.maint_margin_after {
        assert!(after > before * 0.99, "after {after} vs before {before}");
    }
    // Bad input is refused before anything is sent.
    let bad = WhatIfOrder {
        quantity: -5.0,
        ..order.clone()
    };
    assert!(
        matches!(gw.requests().what_if(&bad).await, Err(GatewayError::Other(m)) if m.contains("quantity"))
    );
    let counters = sim.counters();
    assert_eq!(counters.what_if_orders, 1);
    assert_eq!(counters.real_orders, 0);
    gw.shutdown();
}

#[tokio::test]
async fn contracts_options_news_and_snapshots() {
    let (sim, store, gw) = synced(SimConfig::default(), |_| {}).await;
    let req = gw.requests();
    let world = sim.world();
    let kryx = world
        .positions
        .iter()
        .find(|p| p.symbol == "KRYX")
        .map(|p| p.con_id);

    let details = tokio::time::timeout(STEP, req.contract_details(&query("KRYX"))).await;
    let Ok(Ok(details)) = details else {
        panic!("contract details failed: {details:?}");
    };
    assert_eq!(details.first().map(|d| d.instrument.con_id), kryx);
    let missing = tokio::time::timeout(STEP, req.contract_details(&query("NOSUCHSYM"))).await;
    assert!(
        matches!(missing, Ok(Err(GatewayError::NotFound(_)))),
        "{missing:?}"
    );

    let found = tokio::time::timeout(STEP, req.search_contracts("KRY")).await;
    assert!(
        matches!(found, Ok(Ok(ref m)) if m.iter().any(|c| c.symbol == "KRYX")),
        "{found:?}"
    );

    let chain = tokio::time::timeout(STEP, req.option_chain("KRYX")).await;
    let Ok(Ok(chain)) = chain else {
        panic!("option chain failed: {chain:?}");
    };
    let def = &chain[0];
    assert!(!def.expirations.is_empty() && !def.strikes.is_empty());
    let spot = store.snapshot().quotes["KRYX"].price().unwrap_or(0.0);
    let mut strikes = def.strikes.clone();
    strikes.sort_by(|a, b| (a - spot).abs().total_cmp(&(b - spot).abs()));
    let near: Vec<f64> = strikes.into_iter().take(2).collect();
    let quotes =
        tokio::time::timeout(STEP, req.option_quotes("KRYX", &def.expirations[0], &near)).await;
    let Ok(Ok(quotes)) = quotes else {
        panic!("option quotes failed: {quotes:?}");
    };
    assert_eq!(quotes.len(), 4);
    for q in &quotes {
        let d = q.delta.unwrap_or(f64::NAN);
        if q.right == "C" {
            assert!((0.0..=1.0).contains(&d), "call delta {d}");
        } else {
            assert!((-1.0..=0.0).contains(&d), "put delta {d}");
        }
        assert!(q.implied_vol.is_some_and(|v| v > 0.0));
    }

    let news = tokio::time::timeout(STEP, req.news("KRYX", 7)).await;
    assert!(
        matches!(news, Ok(Ok(ref h)) if !h.is_empty() && h.iter().all(|x| x.symbol == "KRYX" && !x.headline.is_empty())),
        "{news:?}"
    );

    let spy = tokio::time::timeout(STEP, req.quote_snapshot(&query("SPY"))).await;
    assert!(
        matches!(spy, Ok(Ok(ref q)) if q.price().is_some_and(|p| p > 0.0)),
        "{spy:?}"
    );
    let fx = tokio::time::timeout(STEP, req.quote_snapshot(&query("EUR.USD"))).await;
    assert!(
        matches!(fx, Ok(Ok(ref q)) if q.symbol == "EUR.USD" && q.price().is_some_and(|p| p > 0.5 && p < 2.0)),
        "{fx:?}"
    );

    let divs = tokio::time::timeout(STEP, req.dividends(&query("SPY"))).await;
    assert!(
        matches!(divs, Ok(Ok(ref d)) if d.past_12m.is_some_and(|v| v >= 0.0)),
        "{divs:?}"
    );

    let fills = tokio::time::timeout(STEP, req.executions()).await;
    assert!(
        matches!(fills, Ok(Ok(ref f)) if !f.is_empty() && f.iter().all(|x| x.commission.is_some())),
        "{fills:?}"
    );
    let completed = tokio::time::timeout(STEP, req.completed_orders()).await;
    assert!(matches!(completed, Ok(Ok(_))), "{completed:?}");

    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn requests_while_down_say_so() {
    let (sim, _store, gw) = synced(SimConfig::default(), |_| {}).await;
    let spec = BarSpec::daily("KRYX", "1 Y");
    assert!(
        tokio::time::timeout(STEP, gw.requests().historical_bars(&spec))
            .await
            .is_ok_and(|r| r.is_ok())
    );
    sim.stop_accepting();
    let store = _store.clone();
    wait_for(&store, STEP, "disconnect noticed", |s| {
        state(s).is_some_and(|st| st != ibkr_cockpit::model::ConnState::Connected)
    })
    .await;
    // Cached bars are still served; anything new says the gateway is not connected.
    assert!(
        tokio::time::timeout(STEP, gw.requests().historical_bars(&spec))
            .await
            .is_ok_and(|r| r.is_ok())
    );
    let other = BarSpec::daily("VLTX", "1 Y");
    let r = tokio::time::timeout(STEP, gw.requests().historical_bars(&other)).await;
    assert!(matches!(r, Ok(Err(GatewayError::NotConnected(_)))), "{r:?}");
    gw.shutdown();
}
