//! Faults: dropped connections and the daily restart (the client reconnects), stalls, client id
//! in use (326), and downtime with the same port re-bound.

use crate::support::STEP;
use crate::support::sim;

use futures::StreamExt;
use ibapi::Client;
use ibapi::contracts::Contract;
use ibapi::market_data::realtime::TickTypes;
use ibkr_cockpit::sim::{Fault, SimConfig};
use sim::*;
use std::time::Duration;
use tokio::time::timeout;

async fn reconnecting_client(
    addr: &str,
    client_id: i32,
) -> (Client, ibapi::subscriptions::NoticeStream) {
    timeout(
        STEP,
        Client::builder()
            .address(addr)
            .client_id(client_id)
            .max_reconnect_attempts(3)
            .connect_with_notice_stream(),
    )
    .await
    .expect("connect in time")
    .expect("connect ok")
}

async fn wait_for_connections(sim: &ibkr_cockpit::sim::SimHandle, n: u64) {
    timeout(Duration::from_secs(20), async {
        while sim.counters().connections < n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("client reconnected");
}

#[tokio::test]
async fn dropped_connection_is_reconnected_by_the_client() {
    let sim = frozen_sim().await;
    let (client, _notices) = reconnecting_client(&sim.addr(), 400).await;
    sim.inject(Fault::Drop);
    wait_for_connections(&sim, 2).await;
    timeout(STEP, client.wait_connected())
        .await
        .unwrap()
        .unwrap();
    let accounts = timeout(STEP, client.managed_accounts())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accounts, vec![sim.account_id()]);
    sim.shutdown().await;
}

#[tokio::test]
async fn daily_restart_sends_1100_then_1102_after_reconnect() {
    let sim = frozen_sim().await;
    let (client, mut notices) = reconnecting_client(&sim.addr(), 401).await;
    sim.inject(Fault::DailyRestart);
    let mut codes = Vec::new();
    timeout(Duration::from_secs(20), async {
        while let Some(n) = notices.next().await {
            codes.push(n.code);
            if n.code == 1102 {
                break;
            }
        }
    })
    .await
    .expect("1102 after the restart");
    let lost = codes.iter().position(|c| *c == 1100).expect("1100 first");
    let restored = codes.iter().position(|c| *c == 1102).expect("1102");
    assert!(lost < restored, "{codes:?}");
    timeout(STEP, client.wait_connected())
        .await
        .unwrap()
        .unwrap();
    assert!(sim.counters().connections >= 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn stall_keeps_the_socket_open_but_silent() {
    let sim = sim_with(SimConfig {
        tick_interval: Some(Duration::from_millis(20)),
        ..SimConfig::default()
    })
    .await;
    let client = connect(&sim, 402).await;
    let mut sub = timeout(
        STEP,
        client
            .market_data(&Contract::stock("OMRA").build())
            .subscribe(),
    )
    .await
    .unwrap()
    .unwrap();
    // Data flows first.
    assert!(matches!(
        timeout(STEP, sub.next()).await.unwrap(),
        Some(Ok(_))
    ));
    sim.inject(Fault::Stall(Duration::from_secs(3)));
    // Drain what was already in flight, then expect silence.
    while let Ok(Some(_)) = timeout(Duration::from_millis(300), sub.next()).await {}
    assert!(
        timeout(Duration::from_millis(800), sub.next())
            .await
            .is_err(),
        "nothing arrives during the stall"
    );
    assert!(client.is_connected(), "the socket stays open");
    // After the stall ends, ticks flow again on the same connection.
    let after = timeout(STEP, sub.next()).await.unwrap();
    assert!(
        matches!(
            after,
            Some(Ok(ibapi::subscriptions::SubscriptionItem::Data(
                TickTypes::PriceSize(_)
                    | TickTypes::Price(_)
                    | TickTypes::Size(_)
                    | TickTypes::String(_)
            )))
        ),
        "{after:?}"
    );
    assert_eq!(sim.counters().connections, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn client_id_in_use_is_326_then_a_retry_works() {
    let sim = frozen_sim().await;
    sim.inject(Fault::ClientIdInUse { times: 1 });
    let first = timeout(STEP, Client::connect(&sim.addr(), 403))
        .await
        .unwrap();
    assert!(
        matches!(first, Err(ibapi::Error::ClientIdInUse { .. })),
        "{:?}",
        first.err()
    );
    let second = connect(&sim, 404).await;
    assert_eq!(second.client_id(), 404);
    assert_eq!(sim.counters().connections, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn downtime_refuses_connections_until_resumed_on_the_same_port() {
    let sim = frozen_sim().await;
    let port = sim.port();
    sim.stop_accepting();
    // The listener closes asynchronously; poll until connecting fails.
    timeout(STEP, async {
        loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Err(_) => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .expect("listener closed");
    sim.resume_accepting();
    let client = timeout(STEP, async {
        loop {
            if let Ok(c) = Client::connect(&sim.addr(), 405).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("accepting again");
    assert_eq!(sim.port(), port);
    assert_eq!(client.server_version(), 226);
    sim.shutdown().await;
}
