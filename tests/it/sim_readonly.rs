//! The read-only guarantee is only as good as the counter that checks it: a simulator that
//! receives a real (non-what-if) order must refuse it and count it. Every other test asserts
//! `real_orders == 0`; this one proves that number would move if anything ever sent one.

use crate::support::sim;

use crate::support::STEP;
use ibapi::contracts::Contract;
use sim::{connect, frozen_sim};
use std::time::Duration;

#[tokio::test]
async fn a_real_order_is_refused_and_counted() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 301).await;
    assert_eq!(sim.counters().real_orders, 0);

    let contract = Contract::stock("KRYX").build();
    // `submit` only sends; the refusal arrives later as error 201 on the order's stream.
    let sent = tokio::time::timeout(STEP, client.order(&contract).buy(10).limit(50.0).submit())
        .await
        .expect("submit in time");
    assert!(sent.is_ok(), "the client sends the order: {sent:?}");

    let deadline = tokio::time::Instant::now() + STEP;
    while sim.counters().real_orders == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let counters = sim.counters();
    assert_eq!(
        counters.real_orders, 1,
        "the simulator counted the real order"
    );
    assert_eq!(counters.what_if_orders, 0);
    // The book did not change: the order was refused, not filled or rested.
    let world = sim.world();
    let kryx = world
        .positions
        .iter()
        .find(|p| p.symbol == "KRYX")
        .expect("KRYX held");
    assert_eq!(kryx.quantity, 340.0);
    sim.shutdown().await;
}
