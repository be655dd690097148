//! Large generated books (500 and 2,000 positions) and deterministic market moves.

use crate::support::STEP;
use crate::support::sim;

use ibapi::accounts::types::{AccountGroup, AccountId};
use ibapi::accounts::{AccountSummaryResult, PositionUpdate};
use ibkr_cockpit::sim::{SimConfig, SimGateway};
use sim::*;
use tokio::time::timeout;

async fn book_of(n: usize) {
    let sim = sim_with(SimConfig {
        positions: Some(n),
        tick_interval: None,
        ..SimConfig::default()
    })
    .await;
    let client = connect(&sim, 500).await;
    let mut sub = timeout(STEP, client.positions()).await.unwrap().unwrap();
    let mut count = 0;
    let mut symbols = std::collections::BTreeSet::new();
    while let Some(item) = next_data(&mut sub).await {
        match item {
            PositionUpdate::Position(p) => {
                count += 1;
                assert!(p.position > 0.0);
                symbols.insert(p.contract.symbol.to_string());
            }
            PositionUpdate::PositionEnd => break,
        }
    }
    assert_eq!(count, n);
    assert_eq!(symbols.len(), n, "generated symbols are unique");
    let mut summary = timeout(
        STEP,
        client.account_summary(
            &AccountGroup("All".into()),
            &["NetLiquidation", "GrossPositionValue"],
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let mut nlv = None;
    while let Some(item) = next_data(&mut summary).await {
        match item {
            AccountSummaryResult::Summary(s) if s.tag == "NetLiquidation" => {
                nlv = s.value.parse::<f64>().ok()
            }
            AccountSummaryResult::End => break,
            _ => {}
        }
    }
    let w = sim.world();
    assert!(close(nlv.unwrap(), w.accounts[0].net_liquidation, 0.01));
    assert!(w.accounts[0].leverage > 1.5 && w.accounts[0].leverage < 2.2);
    sim.shutdown().await;
}

#[tokio::test]
async fn book_of_500_positions() {
    book_of(500).await;
}

#[tokio::test]
async fn book_of_2000_positions() {
    book_of(2_000).await;
}

#[tokio::test]
async fn advance_moves_prices_and_pnl_deterministically() {
    let a = sim_with(SimConfig {
        tick_interval: None,
        seed: 11,
        ..SimConfig::default()
    })
    .await;
    let b = SimGateway::start(SimConfig {
        tick_interval: None,
        seed: 11,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let before = a.world();
    a.advance(30);
    b.advance(30);
    let (wa, wb) = (a.world(), b.world());
    assert_eq!(wa, wb, "same seed, same moves");
    assert_ne!(wa.quotes["KRYX"].last, before.quotes["KRYX"].last);

    // Subscribers see the new values pushed.
    let client = connect(&a, 501).await;
    let mut pnl = timeout(STEP, client.pnl(&AccountId(a.account_id()), None))
        .await
        .unwrap()
        .unwrap();
    let first = next_data(&mut pnl).await.unwrap();
    assert!(close(first.daily_pnl, wa.accounts[0].daily_pnl, 0.01));
    a.advance(5);
    let second = next_data(&mut pnl).await.unwrap();
    assert!(close(
        second.daily_pnl,
        a.world().accounts[0].daily_pnl,
        0.01
    ));
    assert_ne!(first.daily_pnl, second.daily_pnl);
    a.shutdown().await;
    b.shutdown().await;
}

/// IB's market-data lines: streaming subscriptions beyond the limit get error 101 with IB's
/// text, a cancel frees a line, and snapshots hold none.
#[tokio::test]
async fn market_data_lines_are_limited_like_ib() {
    use futures::StreamExt;
    use ibapi::contracts::Contract;
    use ibapi::subscriptions::SubscriptionItem;

    let sim = sim_with(SimConfig {
        tick_interval: None,
        market_data_lines: Some(2),
        ..SimConfig::default()
    })
    .await;
    let client = connect(&sim, 502).await;
    let stream = |sym: &str| {
        let c = Contract::stock(sym).build();
        let client = &client;
        async move {
            timeout(STEP, client.market_data(&c).subscribe())
                .await
                .expect("subscribe in time")
                .expect("subscribe sent")
        }
    };
    let mut kryx = stream("KRYX").await;
    let mut vltx = stream("VLTX").await;
    assert!(next_data(&mut kryx).await.is_some());
    assert!(next_data(&mut vltx).await.is_some());
    assert_eq!(sim.market_data_lines_in_use(), 2);

    // The third streaming subscription is refused with 101 for its request.
    let mut omra = stream("OMRA").await;
    let refused = loop {
        match timeout(STEP, omra.next()).await.expect("an answer in time") {
            Some(Ok(SubscriptionItem::Notice(_))) => continue,
            Some(Ok(SubscriptionItem::Data(_))) => panic!("OMRA streamed beyond the lines"),
            Some(Err(e)) => break e,
            None => panic!("OMRA ended without an error"),
        }
    };
    match &refused {
        ibapi::Error::Notice(n) => {
            assert_eq!(n.code, 101);
            assert_eq!(n.message, "Max number of tickers has been reached.");
        }
        other => panic!("expected error 101, got {other}"),
    }

    // A snapshot holds no line: it is answered while every line is in use.
    let snapshot = timeout(
        STEP,
        client
            .market_data(&Contract::stock("FELN").build())
            .snapshot_once(STEP),
    )
    .await
    .expect("snapshot in time")
    .expect("snapshot answered");
    assert!(!snapshot.is_empty());

    // A cancel frees its line for the next subscription.
    kryx.cancel().await;
    let freed = tokio::time::timeout(STEP, async {
        while sim.market_data_lines_in_use() > 1 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(freed.is_ok(), "cancel frees the line");
    let mut hdrx = stream("HDRX").await;
    assert!(next_data(&mut hdrx).await.is_some());

    let c = sim.counters();
    assert_eq!(c.market_data_lines_refused, 1);
    assert_eq!(c.market_data_lines_peak, 2);
    drop((vltx, hdrx, omra));
    sim.shutdown().await;
}
