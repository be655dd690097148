//! Connect and initial sync against the simulated gateway over real TCP: what lands in the store
//! equals the simulator's book.

mod gateway_support;

use gateway_support::*;
use ibkr_cockpit::model::{ConnState, GatewayRole, tags};
use ibkr_cockpit::sim::SimConfig;
use std::time::Duration;

/// Frozen prices so the store can be compared to the book exactly.
fn frozen() -> SimConfig {
    SimConfig {
        tick_interval: None,
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn initial_sync_equals_the_simulators_book() {
    let (sim, store, gw) = synced(frozen(), |_| {}).await;
    let world = sim.world();
    let snap = store.snapshot();

    let status = &snap.gateways[&GatewayRole::Primary];
    assert_eq!(status.state, ConnState::Connected);
    assert_eq!(status.server_version, Some(226));
    assert_eq!(status.accounts, vec![sim.account_id()]);

    for acct in &world.accounts {
        let a = snap
            .accounts
            .get(&acct.account)
            .unwrap_or_else(|| panic!("account {} missing", acct.account));
        assert_eq!(a.base_currency, acct.base_currency);
        assert_eq!(a.gateway, Some(GatewayRole::Primary));
        let nlv = a.net_liquidation().unwrap_or(f64::NAN);
        assert!(
            cents_eq(nlv, acct.net_liquidation),
            "NLV {nlv} vs {}",
            acct.net_liquidation
        );
        let gpv = a.get(tags::GROSS_POSITION_VALUE).unwrap_or(f64::NAN);
        assert!(
            cents_eq(gpv, acct.gross_position_value),
            "GPV {gpv} vs {}",
            acct.gross_position_value
        );
        let cushion = a.get(tags::CUSHION).unwrap_or(f64::NAN);
        assert!(
            relative_eq(cushion, acct.cushion, 1e-3),
            "cushion {cushion} vs {}",
            acct.cushion
        );
        let maint = a.get(tags::MAINT_MARGIN_REQ).unwrap_or(f64::NAN);
        assert!(
            cents_eq(maint, acct.maint_margin),
            "maint {maint} vs {}",
            acct.maint_margin
        );
        for (ccy, cash) in &acct.cash_by_currency {
            let got = a.cash_by_currency.get(ccy).copied().unwrap_or(f64::NAN);
            assert!(cents_eq(got, *cash), "cash {ccy}: {got} vs {cash}");
        }
        let pnl = a.pnl.unwrap_or_default();
        assert!(
            cents_eq(pnl.daily.unwrap_or(f64::NAN), acct.daily_pnl),
            "daily P&L {:?} vs {}",
            pnl.daily,
            acct.daily_pnl
        );
        assert!(cents_eq(
            pnl.unrealized.unwrap_or(f64::NAN),
            acct.unrealized_pnl
        ));
    }

    assert_eq!(snap.positions.len(), world.positions.len());
    for p in &world.positions {
        let got = snap
            .positions
            .get(&(p.account.clone(), p.con_id))
            .unwrap_or_else(|| panic!("position {} missing", p.symbol));
        assert_eq!(got.instrument.symbol, p.symbol);
        assert_eq!(got.instrument.currency, p.currency);
        assert_eq!(got.quantity, p.quantity);
        assert!(
            relative_eq(got.avg_cost, p.avg_cost, 1e-9),
            "{} avg cost {} vs {}",
            p.symbol,
            got.avg_cost,
            p.avg_cost
        );
        let mv = got.market_value.unwrap_or(f64::NAN);
        assert!(
            cents_eq(mv, p.market_value),
            "{} market value {mv} vs {}",
            p.symbol,
            p.market_value
        );
        let daily = got.daily_pnl.unwrap_or(f64::NAN);
        assert!(
            cents_eq(daily, p.daily_pnl),
            "{} daily P&L {daily} vs {}",
            p.symbol,
            p.daily_pnl
        );
        // Every held symbol has a quote with a price.
        let q = snap
            .quotes
            .get(&p.symbol)
            .unwrap_or_else(|| panic!("no quote for {}", p.symbol));
        assert!(
            q.price().is_some_and(|px| px > 0.0),
            "{} has no price",
            p.symbol
        );
    }

    // FX pairs to convert every position currency into the base currency are quoted.
    for acct in &world.accounts {
        for p in world
            .positions
            .iter()
            .filter(|p| p.account == acct.account && p.currency != acct.base_currency)
        {
            let rate = snap.fx_rate(&p.currency, &acct.base_currency);
            assert!(
                rate.is_some_and(|r| r > 0.0),
                "no FX rate {}→{}",
                p.currency,
                acct.base_currency
            );
        }
    }

    // Open orders and today's fills reach the store.
    let snap = wait_for(
        &store,
        Duration::from_secs(10),
        "open orders and fills",
        |s| !s.open_orders.is_empty() && !s.fills.is_empty(),
    )
    .await;
    assert!(
        snap.fills
            .iter()
            .all(|f| !f.exec_id.is_empty() && f.price > 0.0)
    );

    assert!(
        snap.events
            .iter()
            .any(|e| e.message.starts_with("initial sync complete"))
    );
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

#[tokio::test]
async fn finds_the_gateway_by_port_auto_detection() {
    // 7497 is the last of the standard ports; nothing else should answer before it.
    let Ok(sim) = ibkr_cockpit::sim::SimGateway::start_on(SimConfig::default(), 7497).await else {
        eprintln!("port 7497 is busy on this machine; auto-detection not exercised");
        return;
    };
    let store = ibkr_cockpit::store::Store::in_memory();
    let mut cfg = config(sim.port());
    cfg.port = None;
    let gw = ibkr_cockpit::gateway::GatewayHandle::spawn(cfg, store.clone());
    assert!(
        gw.wait_synced(Duration::from_secs(30)).await,
        "{:#?}",
        store.snapshot().events
    );
    let snap = store.snapshot();
    assert_eq!(snap.gateways[&GatewayRole::Primary].port, 7497);
    gw.shutdown();
    let snap = wait_for(&store, Duration::from_secs(10), "shut down", |s| {
        state(s) == Some(ConnState::Disconnected)
    })
    .await;
    assert_eq!(
        snap.gateways[&GatewayRole::Primary].last_error.as_deref(),
        Some("shut down")
    );
    // Cached values survive the shutdown.
    assert!(!snap.positions.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_large_book_syncs() {
    let sim_cfg = SimConfig {
        positions: Some(200),
        ..SimConfig::default()
    };
    let (sim, store, gw) = synced(sim_cfg, |_| {}).await;
    let snap = store.snapshot();
    assert_eq!(snap.positions.len(), sim.world().positions.len());
    let unpriced: Vec<&String> = snap
        .positions
        .values()
        .map(|p| &p.instrument.symbol)
        .filter(|s| snap.quotes.get(*s).is_none_or(|q| q.price().is_none()))
        .collect();
    assert!(unpriced.is_empty(), "no price for {unpriced:?}");
    gw.shutdown();
}
