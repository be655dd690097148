//! Large generated books (500 and 2,000 positions) and deterministic market moves.

mod sim_support;

use ibapi::accounts::types::{AccountGroup, AccountId};
use ibapi::accounts::{AccountSummaryResult, PositionUpdate};
use ibkr_cockpit::sim::{SimConfig, SimGateway};
use sim_support::*;
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
