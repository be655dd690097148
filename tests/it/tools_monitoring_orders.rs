//! Monitoring and orders tools against the simulated gateway over real TCP: open orders (the
//! unset-price sentinel shown as —), trades in all four views (values equal the simulator's fills,
//! the SQLite journal, realized P&L), completed orders, the drawdown tracker over a stored NLV
//! history, and the connection status. The simulator never receives a real order.

use crate::support::world;

use crate::support::assert_close;
use ibkr_cockpit::model::{Fill, Instrument};
use serde_json::{Value, json};
use world::{NOW, redact_dates, start};

const DAY_MS: i64 = 86_400_000;

fn num(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_orders_show_the_resting_order_with_unset_prices_as_dashes() {
    let h = start().await;
    let out = h.ok("ibkr_get_orders", json!({})).await;
    let orders = out.json["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1);
    let o = &orders[0];
    assert_eq!(o["order_id"], json!(101));
    assert_eq!(o["client_id"], json!(0), "placed by another client (TWS)");
    assert_eq!(o["symbol"], json!("HDRX"));
    assert_eq!(o["side"], json!("BUY"));
    assert_eq!(o["quantity"], json!(20.0));
    assert_eq!(o["filled"], json!(0.0));
    assert_eq!(o["order_type"], json!("LMT"));
    assert_eq!(o["limit_price"], json!(31.5));
    assert_eq!(
        o["stop_price"],
        json!(null),
        "no stop: IB's sentinel is not a price"
    );
    assert_eq!(o["tif"], json!("GTC"));
    assert!(
        out.markdown
            .contains("| 101 | 0 | HDRX | BUY | 20 (0 filled) | LMT | $31.50 USD | — | GTC |"),
        "{}",
        out.markdown
    );
    insta::assert_snapshot!("get_orders", redact_dates(&out.markdown));
    let e = h
        .err("ibkr_get_orders", json!({"account": "U0000000"}))
        .await;
    assert!(e.message.contains("Unknown account"), "{e}");
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trades_in_every_view_match_the_simulated_fills() {
    let h = start().await;
    let out = h.ok("ibkr_trades", json!({})).await;
    let j = &out.json;
    assert_eq!(j["view"], json!("fills"));
    let fills = j["fills"].as_array().expect("fills");
    let symbols: Vec<&str> = fills
        .iter()
        .map(|f| f["symbol"].as_str().expect("symbol"))
        .collect();
    assert_eq!(symbols, vec!["OMRA", "KRYX", "FELN"], "oldest first");
    let by = |sym: &str| {
        fills
            .iter()
            .find(|f| f["symbol"] == json!(sym))
            .unwrap_or_else(|| panic!("{sym} fill"))
    };
    let omra = by("OMRA");
    assert_eq!(omra["side"], json!("BOT"));
    assert_eq!(omra["shares"], json!(20.0));
    assert_close(&omra["price"], 117.85, "OMRA fill price");
    assert_close(&omra["value"], 20.0 * 117.85, "OMRA value");
    // 0.005 per share, minimum 1.
    assert_close(&omra["commission"], 1.0, "commission");
    assert_eq!(omra["realized_pnl"], json!(null), "opening fill");
    let feln = by("FELN");
    assert_eq!(feln["side"], json!("SLD"));
    let sim_feln = h
        .sim_positions()
        .into_iter()
        .find(|p| p.symbol == "FELN")
        .expect("FELN held");
    assert_close(
        &feln["realized_pnl"],
        sim_feln.realized_pnl,
        "FELN realized",
    );
    assert_eq!(
        j["commissions"],
        json!([{"currency": "USD", "amount": 3.0}])
    );
    assert!(out.markdown.contains("**3 fill(s)**"), "{}", out.markdown);
    insta::assert_snapshot!("trades_fills", redact_dates(&out.markdown));

    let kryx = h.ok("ibkr_trades", json!({"symbol_filter": "kr"})).await;
    assert_eq!(kryx.json["count"], json!(1));

    // Realized: per symbol, from the commission reports.
    let realized = h.ok("ibkr_trades", json!({"view": "realized"})).await;
    let rows = realized.json["realized"].as_array().expect("realized");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["symbol"], json!("FELN"));
    assert_close(&rows[0]["realized_pnl"], sim_feln.realized_pnl, "realized");
    assert_close(
        &realized.json["realized_total"][0]["amount"],
        sim_feln.realized_pnl,
        "total",
    );

    // Journal: today's fills were persisted in SQLite; a sale from an earlier session (ten days
    // before the harness clock) is there too, and `days` decides whether it shows.
    let db = h.ctx.store.db().expect("harness database");
    let earlier = Fill {
        exec_id: "0000e0d5.00000001.01.01".into(),
        order_id: 7,
        account: h.sim.account_id(),
        instrument: Instrument {
            con_id: 1,
            symbol: "KRYX".into(),
            sec_type: "STK".into(),
            currency: "USD".into(),
            ..Instrument::default()
        },
        side: "SLD".into(),
        shares: 10.0,
        price: 60.0,
        time: NOW - 10 * DAY_MS,
        exchange: "NASDAQ".into(),
        commission: Some(1.0),
        commission_currency: "USD".into(),
        realized_pnl: Some(50.0),
    };
    db.upsert_fills(&[earlier]).expect("store an earlier fill");
    let journal = h.ok("ibkr_trades", json!({"view": "journal"})).await;
    assert_eq!(journal.json["days"], json!(30));
    assert_eq!(journal.json["count"], json!(4), "{}", journal.markdown);
    let narrow = h
        .ok("ibkr_trades", json!({"view": "journal", "days": 5}))
        .await;
    assert_eq!(narrow.json["count"], json!(3));
    let today = h.ok("ibkr_trades", json!({})).await;
    assert_eq!(
        today.json["count"],
        json!(3),
        "the gateway reports today's only"
    );
    let realized = h.ok("ibkr_trades", json!({"view": "realized"})).await;
    assert_eq!(realized.json["count"], json!(2), "journal sales count too");
    assert_close(
        &realized.json["realized_total"][0]["amount"],
        sim_feln.realized_pnl + 50.0,
        "total with the journal",
    );

    // Completed orders: the three filled orders.
    let completed = h
        .ok("ibkr_trades", json!({"view": "completed", "days": 3650}))
        .await;
    let orders = completed.json["completed"].as_array().expect("completed");
    assert!(!orders.is_empty(), "{}", completed.markdown);
    for o in orders {
        assert!(o["status"].as_str().is_some_and(|s| !s.is_empty()), "{o}");
        assert!(o["completed_time"].is_string(), "{o}");
    }

    let e = h.err("ibkr_trades", json!({"view": "orders"})).await;
    assert!(
        e.message.contains("fills")
            && e.message.contains("journal")
            && e.message.contains("completed"),
        "{e}"
    );
    let e = h.err("ibkr_trades", json!({"days": 0})).await;
    assert!(e.message.contains("days"), "{e}");
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drawdown_tracker_reads_the_nlv_history() {
    let h = start().await;
    let db = h.ctx.store.db().expect("harness database");
    let account = h.sim.account_id();
    // The adapter samples NLV right after the initial sync; wait for that first sample.
    let sampled = tokio::time::timeout(crate::support::STEP, async {
        while db.nlv_history(&account, 0).map_or(true, |v| v.is_empty()) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(sampled.is_ok(), "first NLV sample stored");
    let first = h.ok("ibkr_drawdown_tracker", json!({})).await;
    let live = num(&first.json["current_nlv"], "current NLV");
    assert_close(
        &first.json["current_nlv"],
        h.sim_account().net_liquidation,
        "NLV",
    );
    assert_eq!(first.json["max_drawdown"], json!(null), "no fall yet");
    assert_eq!(first.json["current_drawdown_pct"], json!(0.0));

    assert!(
        first.markdown.contains("Only one stored NLV sample"),
        "{}",
        first.markdown
    );
    // A history with a peak three days ago and a trough two days ago.
    for (days_ago, factor) in [(4, 1.10), (3, 1.20), (2, 0.90), (1, 1.00)] {
        db.record_nlv(&account, NOW - days_ago * DAY_MS, live * factor, "CAD")
            .expect("record NLV");
    }
    let out = h.ok("ibkr_drawdown_tracker", json!({})).await;
    let j = &out.json;
    assert_close(&j["high_water_mark"], live * 1.20, "HWM");
    let current = num(&j["current_drawdown_pct"], "current");
    assert!(
        (current - (1.0 / 1.2 - 1.0) * 100.0).abs() <= 0.005 + 1e-9,
        "{current}"
    );
    assert_close(&j["current_drawdown_amount"], live - live * 1.2, "amount");
    let max = &j["max_drawdown"];
    assert!((num(&max["drawdown_pct"], "max") - (0.9 / 1.2 - 1.0) * 100.0).abs() < 1e-3);
    assert_eq!(max["recovered"], json!(false));
    assert_eq!(max["recovery_time"], json!(null));
    assert_close(&max["trough_nlv"], live * 0.9, "trough");
    assert!(num(&j["recovery_needed_pct"], "recovery") > 19.9);
    assert!(
        out.markdown.contains("not recovered yet"),
        "{}",
        out.markdown
    );
    insta::assert_snapshot!("drawdown_tracker", redact_dates(&out.markdown));

    // A peak the history never saw.
    let over = h
        .ok("ibkr_drawdown_tracker", json!({"peak_nlv": live * 2.0}))
        .await;
    assert!((num(&over.json["current_drawdown_pct"], "dd") + 50.0).abs() < 1e-3);
    assert_eq!(over.json["high_water_mark_time"], json!(null));
    // Only the last two days: the trough starts the window, so no drawdown from a peak.
    let recent = h.ok("ibkr_drawdown_tracker", json!({"days": 2})).await;
    assert_eq!(recent.json["max_drawdown"], json!(null));

    let e = h
        .err("ibkr_drawdown_tracker", json!({"peak_nlv": -5}))
        .await;
    assert!(e.message.contains("peak_nlv"), "{e}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_status_reports_the_gateway_and_its_events_in_words() {
    let h = start().await;
    let out = h.ok("ibkr_connection_status", json!(null)).await;
    let g = &out.json["gateways"][0];
    assert_eq!(g["role"], json!("primary"));
    assert_eq!(g["state"], json!("connected"));
    assert_eq!(g["connected"], json!(true));
    assert_eq!(g["server_version"], json!(226));
    assert_eq!(g["port"], json!(h.sim.port()));
    assert_eq!(g["reconnects"], json!(0));
    assert_eq!(g["accounts"], json!(["U****4321"]));
    let events = out.json["events"].as_array().expect("events");
    assert!(!events.is_empty() && events.len() <= 20);
    assert!(
        events.iter().any(|e| e["code"] == json!(2104)
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("market data farm"))),
        "{events:?}"
    );
    assert!(out.markdown.contains("## Primary gateway (127.0.0.1:"));
    assert!(out.markdown.contains("## Recent Events"));

    // After a drop and reconnect, the count and the events say so.
    h.sim.inject(ibkr_cockpit::sim::Fault::Drop);
    let back = tokio::time::timeout(crate::support::STEP, async {
        loop {
            let snap = h.ctx.store.snapshot();
            let s = snap.gateways.values().next().cloned();
            if s.is_some_and(|s| {
                s.reconnects >= 1 && s.state == ibkr_cockpit::model::ConnState::Connected
            }) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "reconnected after the drop");
    let out = h.ok("ibkr_connection_status", json!({})).await;
    assert!(num(&out.json["gateways"][0]["reconnects"], "reconnects") >= 1.0);
    let e = h
        .err("ibkr_connection_status", json!({"verbose": true}))
        .await;
    assert!(e.message.contains("verbose"), "{e}");
    assert_eq!(h.sim.counters().real_orders, 0);
    h.shutdown().await;
}
