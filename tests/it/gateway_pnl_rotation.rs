//! Daily P&L for every holding of a big book: the largest holdings stream it, the others get
//! it from short-lived requests taken in turn, and each position says when its daily P&L
//! arrived. On a 600-position book (500 holdings beyond the streamed 100, the same rotation a
//! 2,000-position book runs, in a third of the time) every holding has one within a bounded
//! time, equal to the simulator's own figure.

use crate::support::gateway::*;
use ibkr_cockpit::sim::SimConfig;
use std::time::Duration;

/// One full pass over ~500 rotated holdings at ~12 requests a second is ~45 s; the bound leaves
/// room for a busy machine.
const FULL_PASS: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_holding_of_a_big_book_gets_a_daily_pnl_in_rotation() {
    let (sim, store, gw) = synced(
        SimConfig {
            positions: Some(600),
            tick_interval: None,
            ..SimConfig::default()
        },
        |_| {},
    )
    .await;
    let account = sim.account_id();
    let world = sim.world();
    let held: Vec<_> = world
        .positions
        .iter()
        .filter(|p| p.account == account)
        .collect();
    assert!(held.len() > 500, "{} holdings", held.len());

    let snap = wait_for(&store, FULL_PASS, "a daily P&L for every holding", |s| {
        held.iter().all(|p| {
            s.positions
                .get(&(p.account.clone(), p.con_id))
                .is_some_and(|got| got.daily_pnl.is_some() && got.daily_pnl_at.is_some())
        })
    })
    .await;
    for p in &held {
        let got = &snap.positions[&(p.account.clone(), p.con_id)];
        let daily = got.daily_pnl.unwrap_or(f64::NAN);
        assert!(
            cents_eq(daily, p.daily_pnl),
            "{}: daily P&L {daily}, simulator {}",
            p.symbol,
            p.daily_pnl
        );
    }
    // The event log says how old a rotated holding's daily P&L gets.
    let snap = wait_for(&store, FULL_PASS, "the rotation pass report", |s| {
        s.events
            .iter()
            .any(|e| e.message.starts_with("daily P&L rotation: all"))
    })
    .await;
    let report = snap
        .events
        .iter()
        .find(|e| e.message.starts_with("daily P&L rotation: all"))
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert!(report.contains("at most about that old"), "{report}");
    // Short-lived requests, not streams: far more requests than streams kept open.
    let c = sim.counters();
    assert!(c.requests("RequestPnLSingle") >= held.len() as u64);
    assert!(
        c.requests("CancelPnLSingle")
            >= (held.len() - ibkr_cockpit::gateway::PNL_SINGLE_STREAMS) as u64
    );
    assert_eq!(c.real_orders, 0);
    gw.shutdown();
}
