//! Every request IB answers gets an answer: head timestamp, market rules, family codes, scanner
//! parameters, depth exchanges and 5-second bars are served; unserved requests get IB's error.
//! Open orders and executions are scoped per client as at IB.

use crate::sim_handshake::{handshake_version, open, send_text, until_text};
use crate::support::STEP;
use crate::support::sim::{connect, frozen_sim, next_data};
use ibapi::orders::{ExecutionFilter, Executions};
use ibkr_cockpit::calendar::{self, Venue};
use ibkr_cockpit::sim::{PRIMARY_ACCOUNT, SimHandle};
use tokio::net::TcpStream;
use tokio::time::timeout;

async fn text_client(sim: &SimHandle, client_id: &str) -> TcpStream {
    let mut s = open(sim, "v157..178").await;
    handshake_version(&mut s).await;
    send_text(&mut s, &["71", "2", client_id, ""]).await;
    until_text(&mut s, "9").await;
    s
}

const KRYX: [&str; 12] = [
    "0", "KRYX", "STK", "", "0.0", "", "", "SMART", "", "USD", "", "",
];

#[tokio::test]
async fn cheap_reference_requests_are_served() {
    let sim = frozen_sim().await;
    let mut s = text_client(&sim, "21").await;

    let mut req = vec!["87", "1"];
    req.extend(KRYX);
    req.extend(["0", "1", "TRADES", "2"]);
    send_text(&mut s, &req).await;
    let head = until_text(&mut s, "88").await;
    let t: i64 = head[2].parse().expect("epoch seconds");
    let session = calendar::session_at(Venue::UsEquity, t, true).expect("a session opens then");
    assert_eq!(session.open, t, "the head timestamp is a session open");

    send_text(&mut s, &["91", "26"]).await;
    assert_eq!(
        until_text(&mut s, "93").await,
        vec!["93", "26", "1", "0", "0.01"]
    );

    send_text(&mut s, &["80"]).await;
    let codes = until_text(&mut s, "78").await;
    assert_eq!(codes[..3], ["78", "1", &sim.account_id()]);

    send_text(&mut s, &["24", "1"]).await;
    let xml = until_text(&mut s, "19").await;
    assert!(xml[2].starts_with("<?xml") && xml[2].contains("ScanParameterResponse"));

    send_text(&mut s, &["82"]).await;
    let depth = until_text(&mut s, "80").await;
    assert!(depth[1].parse::<usize>().expect("count") > 0);

    let mut rt = vec!["50", "3", "5"];
    rt.extend(KRYX);
    rt.extend(["5", "TRADES", "1", ""]);
    send_text(&mut s, &rt).await;
    let bar = until_text(&mut s, "50").await;
    let start: i64 = bar[3].parse().expect("bar time");
    assert_eq!(start % 5, 0);
    let close: f64 = bar[7].parse().expect("close");
    assert_eq!(close, sim.world().quotes["KRYX"].last);
}

/// The next error message for `req_id` (farm notices skipped).
async fn error_for(s: &mut TcpStream, req_id: &str) -> Vec<String> {
    loop {
        let e = until_text(s, "4").await;
        if e[2] == req_id {
            return e;
        }
    }
}

#[tokio::test]
async fn unserved_requests_get_ibs_error_not_silence() {
    let sim = frozen_sim().await;
    let mut s = text_client(&sim, "22").await;
    let mut tbt = vec!["97", "31"];
    tbt.extend(KRYX);
    tbt.extend(["Last", "0", "0"]);
    send_text(&mut s, &tbt).await;
    let e = error_for(&mut s, "31").await;
    assert_eq!(e[3], "10189");

    let mut depth = vec!["10", "5", "32"];
    depth.extend(KRYX);
    depth.extend(["5", "0", ""]);
    send_text(&mut s, &depth).await;
    let e = error_for(&mut s, "32").await;
    assert_eq!(e[3], "10092");

    let mut ticks = vec!["96", "33"];
    ticks.extend(KRYX);
    ticks.extend([
        "0",
        "20251201 14:30:00 UTC",
        "",
        "100",
        "TRADES",
        "1",
        "0",
        "",
    ]);
    send_text(&mut s, &ticks).await;
    let e = error_for(&mut s, "33").await;
    assert_eq!(e[3], "162");
}

/// Order ids of the open orders a text client sees for one request (`5` = reqOpenOrders,
/// `16` = reqAllOpenOrders).
async fn open_order_ids(s: &mut TcpStream, request: &str) -> Vec<String> {
    send_text(s, &[request, "1"]).await;
    let mut ids = Vec::new();
    loop {
        let f = crate::sim_handshake::fields(
            &crate::sim_handshake::read_frame(s).await.expect("frame"),
        );
        match f[0].as_str() {
            "5" => ids.push(f[1].clone()),
            "53" => return ids,
            _ => {}
        }
    }
}

#[tokio::test]
async fn open_orders_are_per_client_and_all_open_orders_are_everyones() {
    let sim = frozen_sim().await;
    let mut other = text_client(&sim, "23").await;
    assert!(
        open_order_ids(&mut other, "5").await.is_empty(),
        "client 23 placed nothing"
    );
    assert_eq!(open_order_ids(&mut other, "16").await, vec!["101"]);
    let mut master = text_client(&sim, "0").await;
    assert_eq!(
        open_order_ids(&mut master, "5").await,
        vec!["101"],
        "client 0 sees TWS's orders"
    );
}

#[tokio::test]
async fn executions_carry_the_placing_client_and_honour_the_filter() {
    let sim = frozen_sim().await;
    let client = connect(&sim, 24).await;
    let fetch = |filter: ExecutionFilter| {
        let client = &client;
        async move {
            let mut sub = timeout(STEP, client.executions(filter))
                .await
                .expect("in time")
                .expect("executions");
            let mut out = Vec::new();
            while let Some(item) = next_data(&mut sub).await {
                if let Executions::ExecutionData(e) = item {
                    out.push((e.execution.execution_id.clone(), e.execution.client_id));
                }
            }
            out
        }
    };
    let week = |f: ExecutionFilter| ExecutionFilter {
        last_n_days: 7,
        ..f
    };
    let ids = |rows: Vec<(String, i32)>| rows.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    let all = fetch(week(ExecutionFilter::default())).await;
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|(_, c)| *c == 0),
        "placed from TWS, not by client 24: {all:?}"
    );

    let truth = sim.truth();
    let fills = truth["fills"].as_array().expect("fills");
    let day_of = |f: &serde_json::Value| {
        let t = f["time"].as_i64().expect("time");
        calendar::ymd(
            time::OffsetDateTime::from_unix_timestamp(t)
                .expect("t")
                .date(),
        )
    };
    let today = calendar::ymd(time::OffsetDateTime::now_utc().date());
    let exec_ids = |keep: &dyn Fn(&serde_json::Value) -> bool| {
        fills
            .iter()
            .filter(|f| keep(f))
            .map(|f| f["exec_id"].as_str().expect("id").to_string())
            .collect::<Vec<_>>()
    };
    let todays = exec_ids(&|f| day_of(f) == today);
    assert_eq!(todays.len(), 1, "the seed book sold FELN today: {truth}");
    // As at IB: no time, lastNDays or specificDates → today's fills only.
    assert_eq!(ids(fetch(ExecutionFilter::default()).await), todays);
    let last_day = fetch(ExecutionFilter {
        last_n_days: 1,
        ..Default::default()
    })
    .await;
    assert_eq!(ids(last_day), todays);
    let two_days = fetch(ExecutionFilter {
        last_n_days: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(
        ids(two_days),
        exec_ids(&|f| day_of(f)
            >= calendar::ymd((time::OffsetDateTime::now_utc() - time::Duration::days(1)).date()))
    );
    let omra = fills
        .iter()
        .find(|f| f["symbol"] == "OMRA")
        .expect("OMRA fill");
    let on_omra_day = fetch(ExecutionFilter {
        specific_dates: vec![day_of(omra)],
        ..Default::default()
    })
    .await;
    assert_eq!(ids(on_omra_day), exec_ids(&|f| day_of(f) == day_of(omra)));
    let kryx = fetch(week(ExecutionFilter {
        symbol: "KRYX".into(),
        security_type: "STK".into(),
        account_code: PRIMARY_ACCOUNT.into(),
        ..Default::default()
    }))
    .await;
    assert_eq!(ids(kryx), exec_ids(&|f| f["symbol"] == "KRYX"));
    let sells = fetch(week(ExecutionFilter {
        side: Some(ibapi::orders::ExecutionFilterSide::Sell),
        ..Default::default()
    }))
    .await;
    assert_eq!(ids(sells), exec_ids(&|f| f["side"] == "SLD"));
    assert!(
        fetch(week(ExecutionFilter {
            security_type: "CASH".into(),
            ..Default::default()
        }))
        .await
        .is_empty(),
        "no FX fills in the book"
    );
    assert!(
        fetch(week(ExecutionFilter {
            exchange: "TSE".into(),
            ..Default::default()
        }))
        .await
        .is_empty()
    );
    assert!(
        fetch(week(ExecutionFilter {
            account_code: "U0000000".into(),
            ..Default::default()
        }))
        .await
        .is_empty()
    );
    let by_other_client = fetch(week(ExecutionFilter {
        client_id: Some(24),
        ..Default::default()
    }))
    .await;
    assert!(by_other_client.is_empty());
}
