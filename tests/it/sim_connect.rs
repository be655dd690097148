//! The real `ibapi::Client` against the simulator over TCP: handshake, accounts, positions,
//! account summary, account updates and P&L agree with the simulator's book.

use crate::support::STEP;
use crate::support::sim;

use ibapi::accounts::types::{AccountGroup, AccountId, ContractId};
use ibapi::accounts::{AccountSummaryResult, AccountUpdate, PositionUpdate};
use ibkr_cockpit::model::tags;
use ibkr_cockpit::sim::{PRIMARY_ACCOUNT, SECONDARY_ACCOUNT, SimBookKind, SimConfig};
use sim::*;
use std::collections::BTreeMap;
use tokio::time::timeout;

#[tokio::test]
async fn handshake_reports_version_and_managed_accounts() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 100).await;
    assert_eq!(client.server_version(), 226);
    assert_eq!(
        client.handshake_managed_accounts(),
        [PRIMARY_ACCOUNT.to_string()]
    );
    assert!(client.connection_time().is_some(), "connection time parses");
    let accounts = timeout(STEP, client.managed_accounts())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accounts, vec![PRIMARY_ACCOUNT.to_string()]);
    let t = timeout(STEP, client.server_time()).await.unwrap().unwrap();
    assert!((t.unix_timestamp() - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 60);
    assert_eq!(sim.counters().connections, 1);
    assert_eq!(sim.counters().requests("StartApi"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn positions_equal_the_seed_book() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 101).await;
    let mut sub = timeout(STEP, client.positions()).await.unwrap().unwrap();
    let mut got = BTreeMap::new();
    while let Some(item) = next_data(&mut sub).await {
        match item {
            PositionUpdate::Position(p) => {
                assert_eq!(p.account, PRIMARY_ACCOUNT);
                got.insert(
                    p.contract.symbol.to_string(),
                    (p.position, p.average_cost, p.contract.contract_id),
                );
            }
            PositionUpdate::PositionEnd => break,
        }
    }
    let world = sim.world();
    assert_eq!(got.len(), 5);
    for p in &world.positions {
        let (qty, cost, con_id) = got[&p.symbol];
        assert_eq!(qty, p.quantity, "{}", p.symbol);
        assert_eq!(cost, p.avg_cost, "{}", p.symbol);
        assert_eq!(con_id, p.con_id, "{}", p.symbol);
    }
    assert_eq!(got["KRYX"].0, 340.0);
    assert_eq!(got["HDRX"].0, 162.0);
    sim.shutdown().await;
}

#[tokio::test]
async fn account_summary_matches_the_margin_model() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 102).await;
    let mut wanted: Vec<&str> = tags::SUMMARY.to_vec();
    wanted.push("$LEDGER:ALL");
    let mut sub = timeout(
        STEP,
        client.account_summary(&AccountGroup("All".into()), &wanted),
    )
    .await
    .unwrap()
    .unwrap();
    let mut rows: BTreeMap<(String, String), f64> = BTreeMap::new();
    while let Some(item) = next_data(&mut sub).await {
        match item {
            AccountSummaryResult::Summary(s) => {
                assert_eq!(s.account, PRIMARY_ACCOUNT);
                if let Ok(v) = s.value.parse::<f64>() {
                    rows.insert((s.tag.clone(), s.currency.clone()), v);
                }
            }
            AccountSummaryResult::End => break,
        }
    }
    let world = sim.world();
    let w = &world.accounts[0];
    let get = |t: &str, c: &str| {
        rows.get(&(t.to_string(), c.to_string()))
            .copied()
            .unwrap_or_else(|| panic!("missing {t} {c}"))
    };
    for tag in tags::SUMMARY {
        let cur = if *tag == tags::CUSHION { "" } else { "CAD" };
        get(tag, cur);
    }
    assert!(close(get("NetLiquidation", "CAD"), w.net_liquidation, 0.01));
    assert!(
        close(get("NetLiquidation", "CAD"), 24_618.0, 250.0),
        "NLV near the seed's"
    );
    let gpv = get("GrossPositionValue", "CAD");
    assert!(close(gpv, 64_500.0, 1_500.0), "GPV {gpv}");
    let lev = gpv / get("NetLiquidation", "CAD");
    assert!(close(lev, 2.6, 0.1), "leverage {lev}");
    let cushion = get("Cushion", "");
    assert!(close(cushion, 0.105, 0.01), "cushion {cushion}");
    // Internally consistent margin model.
    let ewl = get("EquityWithLoanValue", "CAD");
    assert!(close(
        get("ExcessLiquidity", "CAD"),
        ewl - get("MaintMarginReq", "CAD"),
        0.02
    ));
    assert!(close(
        get("AvailableFunds", "CAD"),
        ewl - get("InitMarginReq", "CAD"),
        0.02
    ));
    assert!(close(
        cushion,
        get("ExcessLiquidity", "CAD") / get("NetLiquidation", "CAD"),
        1e-5
    ));
    // Per-currency ledger: a USD margin loan and some CAD cash.
    assert!(get("TotalCashBalance", "USD") < -25_000.0);
    assert!(get("TotalCashBalance", "CAD") > 0.0);
    assert!(close(get("ExchangeRate", "USD"), world.fx["USD.CAD"], 1e-4));
    assert!(close(get("TotalCashBalance", "BASE"), w.total_cash, 0.01));
    sim.shutdown().await;
}

#[tokio::test]
async fn account_updates_and_pnl_agree_with_the_world() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 103).await;
    let acct = AccountId(PRIMARY_ACCOUNT.into());
    let mut sub = timeout(STEP, client.account_updates(&acct))
        .await
        .unwrap()
        .unwrap();
    let mut portfolio = BTreeMap::new();
    let mut nlv = None;
    while let Some(item) = next_data(&mut sub).await {
        match item {
            AccountUpdate::AccountValue(v) if v.key == "NetLiquidation" => {
                nlv = v.value.parse::<f64>().ok()
            }
            AccountUpdate::PortfolioValue(p) => {
                portfolio.insert(
                    p.contract.symbol.to_string(),
                    (p.position, p.market_price, p.market_value),
                );
            }
            AccountUpdate::End => break,
            _ => {}
        }
    }
    let world = sim.world();
    assert!(close(
        nlv.expect("NLV row"),
        world.accounts[0].net_liquidation,
        0.01
    ));
    assert_eq!(portfolio.len(), 5);
    for p in &world.positions {
        let (qty, price, value) = portfolio[&p.symbol];
        assert_eq!(qty, p.quantity);
        assert_eq!(price, p.price);
        assert!(close(value, p.market_value, 0.01));
    }

    let mut pnl = timeout(STEP, client.pnl(&acct, None))
        .await
        .unwrap()
        .unwrap();
    let first = next_data(&mut pnl).await.expect("a PnL update");
    let a = &world.accounts[0];
    assert!(close(first.daily_pnl, a.daily_pnl, 0.01));
    assert!(close(
        first.unrealized_pnl.unwrap_or(f64::NAN),
        a.unrealized_pnl,
        0.01
    ));
    assert!(a.realized_pnl > 0.0, "today's FELN sale realized a gain");

    let kryx = world.positions.iter().find(|p| p.symbol == "KRYX").unwrap();
    let mut single = timeout(
        STEP,
        client.pnl_single(&acct, ContractId(kryx.con_id), None),
    )
    .await
    .unwrap()
    .unwrap();
    let s = next_data(&mut single).await.expect("a PnL single update");
    assert_eq!(s.position, 340.0);
    let usdcad = world.fx["USD.CAD"];
    assert!(close(s.value, kryx.market_value * usdcad, 0.05));
    sim.shutdown().await;
}

#[tokio::test]
async fn secondary_book_is_a_usd_account() {
    let sim = sim_with(SimConfig {
        book: SimBookKind::Secondary,
        tick_interval: None,
        ..SimConfig::default()
    })
    .await;
    let client = connect(&sim, 104).await;
    assert_eq!(
        client.handshake_managed_accounts(),
        [SECONDARY_ACCOUNT.to_string()]
    );
    let w = sim.world();
    assert_eq!(w.accounts[0].base_currency, "USD");
    let syms: Vec<&str> = w.positions.iter().map(|p| p.symbol.as_str()).collect();
    assert_eq!(syms, ["KRYX", "SPY"]);
    sim.shutdown().await;
}
