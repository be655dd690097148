//! Shared helpers for the simulator's integration tests: start a simulator, connect the real
//! `ibapi::Client` to it over TCP, and read streams with a time bound.

use futures::StreamExt;
use ibapi::Client;
use ibapi::subscriptions::SubscriptionItem;
use ibkr_cockpit::sim::{SimConfig, SimGateway, SimHandle};

use super::STEP;

/// A simulator with frozen prices (values stay comparable with `world()`).
pub async fn frozen_sim() -> SimHandle {
    SimGateway::start(SimConfig {
        tick_interval: None,
        ..SimConfig::default()
    })
    .await
    .expect("sim starts")
}

pub async fn sim_with(cfg: SimConfig) -> SimHandle {
    SimGateway::start(cfg).await.expect("sim starts")
}

pub async fn connect(sim: &SimHandle, client_id: i32) -> Client {
    tokio::time::timeout(STEP, Client::connect(&sim.addr(), client_id))
        .await
        .expect("connect in time")
        .expect("connect ok")
}

/// Next data item of a subscription (notices skipped), bounded in time.
pub async fn next_data<T, S>(sub: &mut S) -> Option<T>
where
    S: futures::Stream<Item = Result<SubscriptionItem<T>, ibapi::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(STEP, sub.next())
            .await
            .expect("stream item in time")
        {
            Some(Ok(SubscriptionItem::Data(d))) => return Some(d),
            Some(Ok(SubscriptionItem::Notice(_))) => continue,
            Some(Err(e)) => panic!("stream error: {e}"),
            None => return None,
        }
    }
}

/// `a` within the absolute tolerance `tol` of `b`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    super::approx(a, b, tol, 0.0)
}
