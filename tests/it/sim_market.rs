//! Market data from the simulator through the real client: live streams that tick, snapshots,
//! delayed switching (10167) and the no-subscription error (354), FX, dividends, option greeks.

use crate::support::STEP;
use crate::support::sim;

use futures::StreamExt;
use ibapi::contracts::tick_types::TickType;
use ibapi::contracts::{Contract, OptionRight};
use ibapi::market_data::MarketDataType;
use ibapi::market_data::realtime::TickTypes;
use ibapi::subscriptions::SubscriptionItem;
use ibkr_cockpit::sim::{Fault, SimConfig};
use sim::*;
use std::time::Duration;
use tokio::time::timeout;

/// Reads items (data and notices) until `n` data items arrived or the stream ends.
async fn collect(
    sub: &mut (impl futures::Stream<Item = Result<SubscriptionItem<TickTypes>, ibapi::Error>> + Unpin),
    n: usize,
) -> (Vec<TickTypes>, Vec<i32>) {
    let mut data = Vec::new();
    let mut notices = Vec::new();
    while data.len() < n {
        match timeout(STEP, sub.next()).await.expect("tick in time") {
            Some(Ok(SubscriptionItem::Data(t))) => {
                let end = matches!(t, TickTypes::SnapshotEnd);
                data.push(t);
                if end {
                    break;
                }
            }
            Some(Ok(SubscriptionItem::Notice(n))) => notices.push(n.code),
            Some(Err(e)) => panic!("stream error {e}"),
            None => break,
        }
    }
    (data, notices)
}

fn price_of(ticks: &[TickTypes], want: TickType) -> Option<f64> {
    ticks.iter().rev().find_map(|t| match t {
        TickTypes::Price(p) if p.tick_type == want => Some(p.price),
        TickTypes::PriceSize(p) if p.price_tick_type == want => Some(p.price),
        _ => None,
    })
}

#[tokio::test]
async fn live_stream_ticks_and_matches_the_world() {
    let sim = sim_with(SimConfig {
        tick_interval: Some(Duration::from_millis(20)),
        ..SimConfig::default()
    })
    .await;
    let client = connect(&sim, 200).await;
    let contract = Contract::stock("KRYX").build();
    let mut sub = timeout(STEP, client.market_data(&contract).subscribe())
        .await
        .unwrap()
        .unwrap();
    let (ticks, _) = collect(&mut sub, 120).await;
    assert!(
        matches!(
            ticks[0],
            TickTypes::MarketDataType(MarketDataType::Realtime)
        ),
        "{:?}",
        ticks[0]
    );
    let lasts: Vec<f64> = ticks
        .iter()
        .filter_map(|t| match t {
            TickTypes::PriceSize(p) if p.price_tick_type == TickType::Last => Some(p.price),
            _ => None,
        })
        .collect();
    assert!(lasts.len() > 3, "several last trades streamed");
    let bid = price_of(&ticks, TickType::Bid).expect("bid");
    let ask = price_of(&ticks, TickType::Ask).expect("ask");
    assert!(bid < ask);
    let close = price_of(&ticks, TickType::Close).expect("previous close");
    assert!((close - 54.18 / 0.951).abs() < 0.02, "close {close}");
    let volumes: Vec<f64> = ticks
        .iter()
        .filter_map(|t| match t {
            TickTypes::Size(s) if s.tick_type == TickType::Volume => Some(s.size),
            _ => None,
        })
        .collect();
    assert!(
        volumes.windows(2).any(|w| w[1] > w[0]),
        "volume grows while the stream ticks"
    );
    drop(sub);
    sim.shutdown().await;
}

#[tokio::test]
async fn snapshot_ends_and_fx_quotes_on_idealpro() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 201).await;
    let usdcad = Contract::forex("USD", "CAD").build();
    let mut sub = timeout(STEP, client.market_data(&usdcad).snapshot().subscribe())
        .await
        .unwrap()
        .unwrap();
    let (ticks, _) = collect(&mut sub, 100).await;
    assert!(matches!(ticks.last(), Some(TickTypes::SnapshotEnd)));
    let bid = price_of(&ticks, TickType::Bid).unwrap();
    let ask = price_of(&ticks, TickType::Ask).unwrap();
    let mid = sim.world().fx["USD.CAD"];
    assert!((((bid + ask) / 2.0) - mid).abs() < 1e-9);
    assert!((mid - 1.36).abs() < 0.01);
    sim.shutdown().await;
}

#[tokio::test]
async fn unsubscribed_symbol_goes_delayed_with_10167_or_fails_with_354() {
    let sim = frozen_sim().await;
    sim.inject(Fault::NoSubscription(vec!["HDRX".into()]));
    let client = connect(&sim, 202).await;
    let hdrx = Contract::stock("HDRX").build();

    // Live data requested: IB answers 354 and the stream ends with an error.
    let mut live = timeout(STEP, client.market_data(&hdrx).subscribe())
        .await
        .unwrap()
        .unwrap();
    let first = timeout(STEP, live.next()).await.unwrap();
    match first {
        Some(Err(ibapi::Error::Notice(n))) => assert_eq!(n.code, 354),
        other => panic!("expected error 354, got {other:?}"),
    }

    // Delayed allowed: 10167 advisory, then delayed tick types.
    timeout(
        STEP,
        client.switch_market_data_type(MarketDataType::DelayedFrozen),
    )
    .await
    .unwrap()
    .unwrap();
    let mut delayed = timeout(STEP, client.market_data(&hdrx).snapshot().subscribe())
        .await
        .unwrap()
        .unwrap();
    let (ticks, notices) = collect(&mut delayed, 100).await;
    assert!(notices.contains(&10167), "{notices:?}");
    assert!(matches!(
        ticks[0],
        TickTypes::MarketDataType(MarketDataType::DelayedFrozen)
    ));
    let last = price_of(&ticks, TickType::DelayedLast).expect("delayed last");
    assert_eq!(last, 33.04);
    assert!(
        price_of(&ticks, TickType::Last).is_none(),
        "no live ticks when delayed"
    );

    // A subscribed symbol stays live even in delayed-frozen mode.
    let mut kryx = timeout(
        STEP,
        client
            .market_data(&Contract::stock("KRYX").build())
            .snapshot()
            .subscribe(),
    )
    .await
    .unwrap()
    .unwrap();
    let (ticks, _) = collect(&mut kryx, 100).await;
    assert_eq!(price_of(&ticks, TickType::Last), Some(54.18));
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_symbol_is_error_200() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 203).await;
    let mut sub = timeout(
        STEP,
        client
            .market_data(&Contract::stock("NOPE").build())
            .subscribe(),
    )
    .await
    .unwrap()
    .unwrap();
    match timeout(STEP, sub.next()).await.unwrap() {
        Some(Err(ibapi::Error::Notice(n))) => assert_eq!(n.code, 200),
        other => panic!("expected error 200, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn dividends_tick_456_and_option_greeks() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 204).await;
    let omra = Contract::stock("OMRA").build();
    let mut sub = timeout(
        STEP,
        client
            .market_data(&omra)
            .generic_ticks(&["456"])
            .snapshot()
            .subscribe(),
    )
    .await
    .unwrap()
    .unwrap();
    let (ticks, _) = collect(&mut sub, 100).await;
    let div = ticks
        .iter()
        .find_map(|t| match t {
            TickTypes::String(s) if s.tick_type == TickType::IbDividends => Some(s.value.clone()),
            _ => None,
        })
        .expect("IB dividends string");
    let parts: Vec<&str> = div.split(',').collect();
    assert_eq!(parts.len(), 4, "{div}");
    let past: f64 = parts[0].parse().unwrap();
    assert!(past > 0.0 && parts[2].len() == 8, "{div}");

    // Option greeks for the nearest listed expiry, at-the-money call.
    let world = sim.world();
    let spot = world.quotes["OMRA"].last;
    let expiry = {
        let mut chain = timeout(
            STEP,
            client
                .option_chain(
                    "OMRA",
                    ibapi::contracts::SecurityType::Stock,
                    world.quotes["OMRA"].con_id,
                )
                .subscribe(),
        )
        .await
        .unwrap()
        .unwrap();
        let first = next_data(&mut chain).await.expect("a chain");
        assert_eq!(first.multiplier, "100");
        assert!(first.strikes.iter().any(|k| (k - 120.0).abs() < 1e-9));
        first.expirations[4].clone()
    };
    let call = Contract::option("OMRA", &expiry, 120.0, OptionRight::Call);
    let mut opt = timeout(STEP, client.market_data(&call).snapshot().subscribe())
        .await
        .unwrap()
        .unwrap();
    let (ticks, _) = collect(&mut opt, 100).await;
    let model = ticks
        .iter()
        .find_map(|t| match t {
            TickTypes::OptionComputation(c) if c.field == TickType::ModelOption => Some(c.clone()),
            _ => None,
        })
        .expect("model greeks");
    let delta = model.delta.unwrap();
    assert!(delta > 0.3 && delta < 0.8, "ATM call delta {delta}");
    assert!(model.gamma.unwrap() > 0.0 && model.vega.unwrap() > 0.0 && model.theta.unwrap() < 0.0);
    assert!((model.underlying_price.unwrap() - spot).abs() < 1e-9);
    sim.shutdown().await;
}

#[tokio::test]
async fn sentinel_fault_sprinkles_ib_sentinels() {
    let sim = sim_with(SimConfig {
        tick_interval: Some(Duration::from_millis(20)),
        ..SimConfig::default()
    })
    .await;
    sim.inject(Fault::Sentinels(true));
    let client = connect(&sim, 205).await;
    let mut sub = timeout(
        STEP,
        client
            .market_data(&Contract::stock("VLTX").build())
            .subscribe(),
    )
    .await
    .unwrap()
    .unwrap();
    let (ticks, _) = collect(&mut sub, 200).await;
    let bad = ticks
        .iter()
        .filter(|t| match t {
            TickTypes::Price(p) => p.price <= 0.0 || p.price.is_nan() || p.price >= f64::MAX,
            TickTypes::PriceSize(p) => p.price <= 0.0 || p.price.is_nan() || p.price >= f64::MAX,
            _ => false,
        })
        .count();
    assert!(bad >= 2, "sentinel prices seen: {bad}");
    sim.shutdown().await;
}
