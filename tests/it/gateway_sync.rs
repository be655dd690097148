//! Connect and initial sync against the simulated gateway over real TCP: what lands in the store
//! equals the simulator's book.

use crate::support::gateway;

use gateway::*;
use ibkr_cockpit::gateway::GatewayHandle;
use ibkr_cockpit::model::{ConnState, GatewayRole, Position, PriceSource, tags};
use ibkr_cockpit::sim::SimConfig;
use ibkr_cockpit::store::{LiveState, Store};
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
        assert_cents(&p.symbol, "market value", got.market_value, p.market_value);
        assert_cents(&p.symbol, "daily P&L", got.daily_pnl, p.daily_pnl);
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

/// The price a user sees for a position: its streaming quote (until its first tick, the
/// portfolio mark), or for a position without a line the portfolio update's mark.
fn shown_price(snap: &LiveState, p: &Position) -> Option<f64> {
    match p.price_source {
        PriceSource::Quote => snap
            .quotes
            .get(&p.instrument.symbol)
            .and_then(|q| q.price())
            .or(p.market_price),
        PriceSource::Portfolio => p.market_price,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_positions_sync_within_the_market_data_lines() {
    let sim_cfg = SimConfig {
        positions: Some(2_000),
        ..frozen()
    };
    let (sim, store, gw) = synced(sim_cfg, |_| {}).await;
    let world = sim.world();
    let snap = store.snapshot();
    assert_eq!(snap.positions.len(), 2_000);

    // Every position has a price; the ones without a line are marked and priced from the
    // portfolio updates, at the simulator's mark.
    let mut from_portfolio = 0;
    for p in &world.positions {
        let got = &snap.positions[&(p.account.clone(), p.con_id)];
        let price = shown_price(&snap, got);
        assert!(
            price.is_some_and(|px| px > 0.0),
            "{} ({:?}) has no price",
            p.symbol,
            got.price_source
        );
        if got.price_source == PriceSource::Portfolio {
            from_portfolio += 1;
            assert!(
                !snap.quotes.contains_key(&p.symbol),
                "{} is streamed",
                p.symbol
            );
            assert!(
                cents_eq(price.unwrap_or(f64::NAN), p.price),
                "{} price",
                p.symbol
            );
        }
    }
    let quoted = snap.quotes.len();
    assert!(quoted <= 95, "{quoted} quotes streamed, 95 lines available");
    assert!(
        from_portfolio >= 2_000 - 95,
        "{from_portfolio} priced from the portfolio"
    );

    // The largest positions are the streamed ones, with their first quote and P&L at sync.
    let mut by_size: Vec<_> = world.positions.iter().collect();
    by_size.sort_by(|a, b| b.market_value.abs().total_cmp(&a.market_value.abs()));
    for p in by_size.iter().take(40) {
        let got = &snap.positions[&(p.account.clone(), p.con_id)];
        assert_eq!(
            got.price_source,
            PriceSource::Quote,
            "{} is among the largest; events {:#?}",
            p.symbol,
            snap.events
        );
        assert!(
            snap.quotes.get(&p.symbol).and_then(|q| q.price()).is_some(),
            "{}: first quote part of the sync",
            p.symbol
        );
        assert!(
            got.daily_pnl.is_some(),
            "{}: first P&L part of the sync",
            p.symbol
        );
    }
    // The FX pair that converts USD into the CAD base holds a line too.
    assert!(snap.fx_rate("USD", "CAD").is_some_and(|r| r > 0.0));

    // The whole book came through ibapi's small streaming channels (the adapter's default
    // capacity, far below 2,000 frames): every position with the simulator's quantity and cost,
    // and every portfolio value (market value, unrealized P&L) of the account whose portfolio
    // streams, to the cent.
    let portfolio_account = snap.gateways[&GatewayRole::Primary]
        .accounts
        .first()
        .cloned()
        .unwrap_or_default();
    let mut valued = 0;
    for p in &world.positions {
        let got = &snap.positions[&(p.account.clone(), p.con_id)];
        assert_eq!(got.quantity, p.quantity, "{} quantity", p.symbol);
        assert!(
            relative_eq(got.avg_cost, p.avg_cost, 1e-9),
            "{} avg cost {} vs {}",
            p.symbol,
            got.avg_cost,
            p.avg_cost
        );
        if p.account != portfolio_account {
            continue;
        }
        valued += 1;
        assert_cents(&p.symbol, "market value", got.market_value, p.market_value);
        assert_cents(
            &p.symbol,
            "unrealized P&L",
            got.unrealized_pnl,
            p.unrealized_pnl,
        );
    }
    assert!(valued > 1_000, "{valued} positions in {portfolio_account}");

    // The trailing quotes fill the lines, never past them, and nothing is refused.
    let snap = wait_for(&store, Duration::from_secs(20), "trailing quotes", |s| {
        s.quotes.values().filter(|q| q.price().is_some()).count() >= 90
    })
    .await;
    assert!(snap.quotes.len() <= 95);
    let c = sim.counters();
    assert!(
        c.market_data_lines_peak <= 100,
        "peak {}",
        c.market_data_lines_peak
    );
    assert_eq!(c.market_data_lines_refused, 0, "no error 101");
    assert!(
        !snap.events.iter().any(|e| e.message.contains("(101)")),
        "{:#?}",
        snap.events
    );

    // Daily P&L streams for the largest holdings only (each stream costs ibapi a preallocated
    // channel); the rest keep their value and unrealized P&L from the portfolio updates, as
    // checked above, and get their daily P&L in rotation, which the event log says.
    let snap = wait_for(
        &store,
        Duration::from_secs(30),
        "the P&L budget event",
        |s| {
            s.events
                .iter()
                .any(|e| e.message.starts_with("daily P&L streamed for the"))
        },
    )
    .await;
    let budget = ibkr_cockpit::gateway::PNL_SINGLE_STREAMS;
    let event = snap
        .events
        .iter()
        .find(|e| e.message.starts_with("daily P&L streamed for the"))
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert!(
        event.contains(&format!(
            "{} smaller holding(s) get theirs in rotation",
            2_000 - budget
        )),
        "{event}"
    );
    // The budgeted streams are all opened (a few per tick) before the rotation starts.
    let pnl_requests = || sim.counters().requests("RequestPnLSingle");
    let all_opened = tokio::time::timeout(Duration::from_secs(30), async {
        while pnl_requests() < budget as u64 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(all_opened.is_ok(), "{} P&L requests", pnl_requests());
    gw.shutdown();
    assert_eq!(c.real_orders, 0);
}

/// A consumer that falls behind the positions stream loses frames (ibapi drops the oldest and
/// says so with a lag notice); the adapter must then ask for the whole list again rather than
/// keep a book with holes. A one-frame channel makes the lag certain in practice: 2,000
/// positions arrive in one burst and the reader cannot take each frame before the next lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_positions_stream_is_requested_again() {
    let sim = sim(SimConfig {
        positions: Some(2_000),
        ..frozen()
    })
    .await;
    ibkr_cockpit::gateway::set_channel_capacity_for_port(sim.port(), 1);
    let store = Store::in_memory();
    let gw = GatewayHandle::spawn(config(sim.port()), store.clone());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sim.counters().requests("RequestPositions") < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "positions were requested {} time(s); events {:#?}",
            sim.counters().requests("RequestPositions"),
            store.snapshot().events
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let snap = wait_for(&store, Duration::from_secs(10), "the lag event", |s| {
        s.events.iter().any(|e| {
            e.message.starts_with("positions stream fell behind")
                && e.message.contains("requesting it again")
        })
    })
    .await;
    assert!(
        snap.events
            .iter()
            .any(|e| e.code == ibapi::SUBSCRIPTION_LAG_CODE),
        "{:#?}",
        snap.events
    );
    gw.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
}

/// An account with fewer lines than configured: the gateway refuses with 101, the adapter says
/// so once, prices those positions from the portfolio updates and does not ask again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fewer_lines_than_configured_is_handled_without_a_retry_loop() {
    let sim_cfg = SimConfig {
        positions: Some(200),
        market_data_lines: Some(20),
        ..frozen()
    };
    let (sim, store, gw) = synced(sim_cfg, |c| c.quote_lines = 100).await;
    let snap = wait_for(&store, Duration::from_secs(20), "the 101 event", |s| {
        s.events
            .iter()
            .any(|e| e.message.starts_with("market-data lines exhausted (101)"))
    })
    .await;
    let exhausted = snap
        .events
        .iter()
        .filter(|e| e.message.starts_with("market-data lines exhausted (101)"))
        .count();
    assert_eq!(
        exhausted, 1,
        "said once, not per symbol: {:#?}",
        snap.events
    );
    assert!(snap.events.iter().any(|e| {
        e.message
            .contains("raise gateway.quote_lines only if your IB account has more lines")
    }));

    // Let the trailing queue run out, then check that the adapter stopped asking.
    let settled = wait_for(&store, Duration::from_secs(20), "20 streamed quotes", |s| {
        s.quotes.values().filter(|q| q.price().is_some()).count() >= 20
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let first = sim.counters();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = sim.counters();
    assert_eq!(
        first.requests("RequestMarketData"),
        second.requests("RequestMarketData"),
        "no more market-data requests once the lines are known"
    );
    assert!(second.market_data_lines_peak <= 20);
    assert!(
        second.market_data_lines_refused > 0 && second.market_data_lines_refused <= 40,
        "refused {} times",
        second.market_data_lines_refused
    );
    assert!(second.requests("RequestMarketData") <= 100);
    assert!(settled.quotes.len() <= 20);

    let snap = store.snapshot();
    for p in snap.positions.values() {
        assert!(
            shown_price(&snap, p).is_some_and(|px| px > 0.0),
            "{} ({:?}) has no price",
            p.instrument.symbol,
            p.price_source
        );
    }
    let portfolio = snap
        .positions
        .values()
        .filter(|p| p.price_source == PriceSource::Portfolio)
        .count();
    assert!(
        portfolio >= 180,
        "{portfolio} priced from portfolio updates"
    );
    gw.shutdown();
}

#[test]
fn quote_lines_come_from_the_config_and_are_validated() {
    use ibkr_cockpit::config::{self, Config};
    let cfg = Config::default();
    assert_eq!(cfg.gateway.quote_lines, 100, "IB's default lines");
    assert_eq!(cfg.gateway_configs().0.quote_lines, 100);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let no_env = |_: &str| None;
    std::fs::write(&path, "[gateway]\nquote_lines = 300\n").expect("write");
    let cfg = config::load(Some(&path), &no_env).expect("300 lines is valid");
    assert_eq!(cfg.gateway_configs().0.quote_lines, 300);

    std::fs::write(&path, "[gateway]\nhost = \"127.0.0.1\"\nquote_lines = 0\n").expect("write");
    let err = config::load(Some(&path), &no_env)
        .expect_err("0 lines is refused")
        .to_string();
    assert!(
        err.contains("line 3") && err.contains("gateway.quote_lines"),
        "{err}"
    );
}

/// `got` equals the simulator's `want` to the cent; `None` fails, naming the symbol and figure.
fn assert_cents(symbol: &str, what: &str, got: Option<f64>, want: f64) {
    let got = got.unwrap_or(f64::NAN);
    assert!(cents_eq(got, want), "{symbol} {what} {got} vs {want}");
}
