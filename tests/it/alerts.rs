//! Alerts against the simulated gateway: a price the test moves (`SimHandle::set_price`) fires
//! a rule once, stays quiet while it hovers within the hysteresis, re-arms and fires again;
//! every firing runs the `on_fire` command exactly once, is stored in SQLite and survives a
//! restart, reaches an MCP client as a `notifications/message`, and a dropped gateway fires
//! `gateway_disconnected`. Bad `[[alerts]]` tables are refused with what is accepted.

use crate::mcp_protocol::RawClient;
use crate::support::world::{Harness, default_config};
use crate::support::{STEP, eventually, gateway_config};
use ibkr_cockpit::alerts::AlertConfig;
use ibkr_cockpit::config::Config;
use ibkr_cockpit::gateway::{GatewayHandle, Gateways};
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimConfig, SimGateway};
use ibkr_cockpit::store::db::Db;
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Longer than one evaluation round (coalescing gap + the once-a-second clock check).
const SETTLE: Duration = Duration::from_millis(1_500);

fn rule(kind: &str) -> AlertConfig {
    AlertConfig {
        kind: kind.into(),
        name: None,
        level: None,
        symbol: None,
        hysteresis: None,
        on_fire: Vec::new(),
        bell: None,
    }
}

/// Simulator (frozen prices) + adapter + a store on the real clock with a SQLite file in `dir`,
/// the alert engine running on `config`'s rules.
async fn start(config: Config, dir: &Path) -> Harness {
    let sim = SimGateway::start(SimConfig {
        seed: 7,
        tick_interval: None,
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    let (db, _) = Db::open(&dir.join("cockpit.db")).expect("database");
    let store = Store::new(Clock::System, Some(db));
    ibkr_cockpit::alerts::start(store.clone(), &config);
    let gateway = GatewayHandle::spawn(
        gateway_config(GatewayRole::Primary, sim.port(), 23),
        store.clone(),
    );
    assert!(gateway.wait_synced(STEP).await, "synced");
    let ctx = ToolContext {
        store,
        gateways: Some(Gateways {
            primary: gateway.clone(),
            secondary: None,
        }),
        config: Arc::new(config),
        remote: None,
    };
    Harness { ctx, sim, gateway }
}

/// Moves KRYX in the simulator and waits until the store has the new price.
async fn move_kryx(h: &Harness, price: f64) {
    assert!(h.sim.set_price("KRYX", price));
    eventually(&format!("KRYX at {price} in the store"), || async {
        let snap = h.ctx.store.snapshot();
        let q = snap.quotes.get("KRYX")?;
        (q.last.is_some_and(|l| (l - price).abs() < 0.006)).then_some(())
    })
    .await;
}

fn firings(h: &Harness) -> usize {
    h.ctx.store.snapshot().alerts.recent.len()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A script that appends its arguments as one line to `log`: the user's command, run as argv.
fn appender(dir: &Path, log: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("append.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    script.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_crossing_fires_once_stays_quiet_in_the_band_re_arms_and_persists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("fired.log");
    let script = appender(dir.path(), &log);
    let sim_price = {
        let probe = SimGateway::start(SimConfig {
            seed: 7,
            tick_interval: None,
            ..SimConfig::default()
        })
        .await
        .expect("probe");
        let p = probe.world().quotes["KRYX"].last;
        probe.shutdown().await;
        p
    };
    let level = (sim_price * 1.05 * 100.0).round() / 100.0;
    let mut config = default_config();
    config.alerts = vec![AlertConfig {
        name: Some("KRYX breakout".into()),
        level: Some(level),
        symbol: Some("KRYX".into()),
        hysteresis: Some(1.0),
        on_fire: vec![script, "{name}".into(), "{symbol}".into(), "{value}".into()],
        bell: Some(false),
        ..rule("price_above")
    }];
    let h = start(config.clone(), dir.path()).await;
    assert_eq!(h.ctx.store.snapshot().alerts.rules.len(), 1);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(firings(&h), 0, "below the line: nothing fires");

    // Cross: one firing, with the simulator's price as its value.
    move_kryx(&h, level + 0.5).await;
    eventually("the first firing", || async {
        (firings(&h) == 1).then_some(())
    })
    .await;
    let first = h.ctx.store.snapshot().alerts.firing[0].clone();
    assert_eq!(first.rule, "KRYX breakout");
    assert_eq!(first.subject.as_deref(), Some("KRYX"));
    assert!((first.value - (level + 0.5)).abs() < 0.006, "{first:?}");

    // Hover within the hysteresis band, both sides of the line: quiet.
    for p in [level - 0.4, level + 0.2, level - 0.9, level + 0.1] {
        move_kryx(&h, p).await;
        tokio::time::sleep(SETTLE).await;
    }
    assert_eq!(
        firings(&h),
        1,
        "hovering within the hysteresis fires nothing more"
    );
    assert_eq!(
        h.ctx.store.snapshot().alerts.firing.len(),
        1,
        "still firing"
    );

    // Back past the band: re-armed; across again: the second firing.
    move_kryx(&h, level - 1.5).await;
    eventually("re-armed", || async {
        h.ctx
            .store
            .snapshot()
            .alerts
            .firing
            .is_empty()
            .then_some(())
    })
    .await;
    move_kryx(&h, level + 0.3).await;
    eventually("the second firing", || async {
        (firings(&h) == 2).then_some(())
    })
    .await;

    // The command ran exactly once per firing, with the placeholders filled in.
    eventually("two command runs", || async {
        (lines(&log).len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    let ran = lines(&log);
    assert_eq!(ran.len(), 2, "{ran:?}");
    assert!(ran[0].starts_with("KRYX breakout KRYX "), "{ran:?}");

    // The tool: the rule, firing now, and both firings from SQLite.
    let out = h.ok("ibkr_alerts", json!({})).await;
    assert_eq!(out.json["rules"][0]["firing"], true, "{}", out.json);
    assert_eq!(out.json["firing"].as_array().unwrap().len(), 1);
    let history = out.json["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{}", out.json);
    assert!(history[0]["cleared"].is_null());
    assert!(history[1]["cleared"].is_string());
    assert!(
        out.markdown.contains("| KRYX breakout |"),
        "{}",
        out.markdown
    );
    h.shutdown().await;

    // A restart: a new process on the same database still lists both firings, and the one left
    // open is closed (the old process stopped watching it).
    let (db, _) = Db::open(&dir.path().join("cockpit.db")).expect("database reopens");
    let store = Store::new(Clock::System, Some(db));
    ibkr_cockpit::alerts::start(store.clone(), &config);
    let ctx = ToolContext {
        store,
        gateways: None,
        config: Arc::new(config),
        remote: None,
    };
    let out = tools::call(&ctx, "ibkr_alerts", json!({"days": 1}))
        .await
        .expect("answers from SQLite");
    let history = out.json["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{}", out.json);
    assert!(
        history.iter().all(|f| f["cleared"].is_string()),
        "{}",
        out.json
    );
    assert_eq!(history[0]["rule"], "KRYX breakout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firing_reaches_an_mcp_client_as_a_warning_log_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = default_config();
    config.alerts = vec![AlertConfig {
        level: Some(1.0),
        symbol: Some("KRYX".into()),
        ..rule("price_below")
    }];
    let h = start(config, dir.path()).await;
    let mut client = RawClient::connect(h.ctx.clone());
    client.initialize("2025-06-18").await;
    move_kryx(&h, 0.5).await;
    let message = tokio::time::timeout(STEP, async {
        loop {
            let msg = client.receive().await;
            if msg["method"] == "notifications/message" && msg["params"]["logger"] == "alerts" {
                return msg;
            }
        }
    })
    .await
    .expect("the firing is notified");
    assert_eq!(message["params"]["level"], "warning", "{message}");
    let data = &message["params"]["data"];
    assert_eq!(data["kind"], "price_below");
    assert_eq!(data["symbol"], "KRYX");
    assert_eq!(data["value"], 0.5);
    assert_eq!(data["message"], "KRYX price 0.50 ≤ 1.00", "{message}");
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_gateway_fires_gateway_disconnected_and_re_arms_on_reconnect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = default_config();
    config.alerts = vec![rule("gateway_disconnected")];
    let h = start(config, dir.path()).await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(firings(&h), 0, "connected: quiet");
    h.sim.stop_accepting();
    eventually("the disconnection alert", || async {
        let snap = h.ctx.store.snapshot();
        snap.alerts.firing.first().cloned()
    })
    .await;
    let f = h.ctx.store.snapshot().alerts.firing[0].clone();
    assert_eq!(f.kind, "gateway_disconnected");
    assert_eq!(f.subject.as_deref(), Some("primary"));
    assert!(
        f.message.starts_with("primary gateway disconnected"),
        "{f:?}"
    );
    h.sim.resume_accepting();
    eventually("re-armed after the reconnect", || async {
        h.ctx
            .store
            .snapshot()
            .alerts
            .firing
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(firings(&h), 1, "one outage, one firing");
    h.shutdown().await;
}

#[test]
fn bad_alert_tables_name_the_rule_and_what_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let load = |text: &str| {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).expect("write");
        ibkr_cockpit::config::load(Some(&path), &|_| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e =
        load("[[alerts]]\nkind = \"cushion_below\"\nlevel = 10\n\n[[alerts]]\nkind = \"cushon\"\n");
    assert!(e.contains("alerts[1].kind"), "{e}");
    assert!(
        e.contains("cushion_below, margin_use_above, drawdown_below"),
        "{e}"
    );
    assert!(e.contains("\"cushon\""), "{e}");
    let e = load("[[alerts]]\nkind = \"margin_use_above\"\n");
    assert!(e.contains("alerts[0].level"), "{e}");
    assert!(e.contains("level = 90"), "{e}");
    let e = load("[[alerts]]\nkind = \"price_above\"\nlevel = 50\nsymbol = \"KR;YX\"\n");
    assert!(
        e.contains("alerts[0].symbol") && e.contains("\"KR;YX\""),
        "{e}"
    );
    let e = load("[[alerts]]\nkind = \"daily_move\"\nlevel = 5\non_fire = \"notify-send hi\"\n");
    assert!(e.contains("line 4"), "{e}");
    let e = load("[[alerts]]\nkind = \"daily_move\"\nlevle = 5\n");
    assert!(
        e.contains("line 3") && e.contains("unknown key") && e.contains("kind, name, level"),
        "{e}"
    );
    // A good table loads.
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[[alerts]]\nkind = \"price_above\"\nsymbol = \"kryx\"\nlevel = 60\non_fire = [\"notify-send\", \"{name}\", \"{message}\"]\n",
    )
    .expect("write");
    let cfg = ibkr_cockpit::config::load(Some(&path), &|_| None).expect("loads");
    assert_eq!(cfg.alerts.len(), 1);
}
