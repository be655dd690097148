//! A stalled or restarted gateway against the simulator: a stall (socket open, nothing sent)
//! is labelled stale within 6 s of its start, `/healthz` answers 503 naming it, gateway-bound
//! calls fail at once naming the state, and everything is healthy again once the gateway
//! answers; a gateway killed and restarted on its port is reconnected within 3 s of its return
//! however long the backoff has grown.

use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{ContractQuery, GatewayConfig, GatewayHandle, Gateways};
use ibkr_cockpit::model::{ConnState, GatewayRole};
use ibkr_cockpit::sim::{Fault, SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::{LiveState, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const STEP: Duration = Duration::from_secs(30);

fn gateway_config(port: u16) -> GatewayConfig {
    GatewayConfig {
        role: GatewayRole::Primary,
        host: "127.0.0.1".into(),
        port: Some(port),
        client_id: 17,
        account: None,
        market_data_type: 4,
        // Longer than the 5 s answer deadline, so a stall is reported before it is recycled.
        stall_timeout: Duration::from_secs(20),
        symbol_stall: Duration::ZERO,
        quote_lines: ibkr_cockpit::gateway::DEFAULT_QUOTE_LINES,
        warm_history: false,
    }
}

/// A simulator, an adapter synced to it (system clock) and the HTTP server in front of both.
struct World {
    sim: SimHandle,
    ctx: ToolContext,
    gateway: GatewayHandle,
    http: SocketAddr,
    cancel: CancellationToken,
}

impl World {
    async fn start(sim: SimHandle) -> World {
        let store = Store::in_memory();
        let gateway = GatewayHandle::spawn(gateway_config(sim.port()), store.clone());
        assert!(gateway.wait_synced(STEP).await, "adapter synced");
        let config: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("defaults parse");
        let ctx = ToolContext {
            store,
            gateways: Some(Gateways {
                primary: gateway.clone(),
                secondary: None,
            }),
            config: Arc::new(config),
            remote: None,
        };
        let cancel = CancellationToken::new();
        let bind: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
        let (http, _task) = ibkr_cockpit::mcp::serve_http(ctx.clone(), bind, cancel.clone())
            .await
            .expect("HTTP server starts");
        World {
            sim,
            ctx,
            gateway,
            http,
            cancel,
        }
    }

    async fn healthz(&self, query: &str) -> (u16, Value) {
        let url = format!("http://{}/healthz{query}", self.http);
        let response = tokio::time::timeout(STEP, reqwest::get(url))
            .await
            .expect("healthz answers in time")
            .expect("healthz over HTTP");
        let status = response.status().as_u16();
        (status, response.json().await.expect("healthz JSON"))
    }

    fn state(&self) -> Option<ConnState> {
        state(&self.ctx.store.snapshot())
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.gateway.shutdown();
        self.sim.shutdown().await;
    }
}

fn state(snap: &LiveState) -> Option<ConnState> {
    snap.gateways.get(&GatewayRole::Primary).map(|g| g.state)
}

/// Polls `check` every 100 ms until it gives a value; panics naming `what` after `within`.
async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_labelled_stale_within_six_seconds_and_healthz_says_so() {
    let sim = SimGateway::start(SimConfig::default()).await.expect("sim");
    let w = World::start(sim).await;
    let (code, health) = w.healthz("").await;
    assert_eq!(code, 200, "{health}");
    assert_eq!(health["status"], "ok");
    let fresh = tools::call(&w.ctx, "ibkr_quote", json!({"symbols": "KRYX"}))
        .await
        .expect("quote while healthy");
    assert_eq!(fresh.json["stale"], Value::Null, "{}", fresh.markdown);

    w.sim.inject(Fault::Stall(Duration::from_secs(12)));
    let stall_start = Instant::now();
    let stale = eventually(
        Duration::from_secs(10),
        "the quote to be labelled stale",
        || {
            let ctx = w.ctx.clone();
            async move {
                let out = tools::call(&ctx, "ibkr_quote", json!({"symbols": "KRYX"}))
                    .await
                    .ok()?;
                out.json["stale"].is_object().then_some(out)
            }
        },
    )
    .await;
    let noticed = stall_start.elapsed();
    assert!(
        noticed <= Duration::from_secs(6),
        "stale after {noticed:?}: {}",
        stale.markdown
    );
    let reason = stale.json["stale"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("stalled"), "{reason}");
    assert!(
        stale.json["stale"]["age_s"]
            .as_f64()
            .is_some_and(|a| a >= 5.0)
    );
    assert!(stale.markdown.contains("Stale data"), "{}", stale.markdown);
    assert!(stale.markdown.contains("stalled"), "{}", stale.markdown);

    let (code, health) = w.healthz("").await;
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["status"], "unhealthy");
    assert!(
        health["reason"]
            .as_str()
            .is_some_and(|r| r.contains("stalled")),
        "{health}"
    );
    assert_eq!(health["gateways"]["primary"]["state"], "stalled");
    let (code, lenient) = w.healthz("?lenient").await;
    assert_eq!(code, 200, "{lenient}");
    assert_eq!(lenient["status"], "unhealthy");

    // A gateway-bound call fails at once, naming the state, instead of hanging.
    let asked = Instant::now();
    let err = w
        .gateway
        .requests()
        .contract_details(&ContractQuery {
            symbol: "ZZZQ".into(),
            ..ContractQuery::default()
        })
        .await
        .expect_err("no answer from a stalled gateway");
    assert!(asked.elapsed() < Duration::from_secs(8), "{err}");
    assert!(err.to_string().contains("stalled"), "{err}");

    // The stall ends (before the reconnect limit): healthy again on the same session.
    eventually(STEP, "healthy after the stall", || async {
        let (code, _) = w.healthz("").await;
        (code == 200).then_some(())
    })
    .await;
    assert_eq!(w.state(), Some(ConnState::Connected));
    let snap = w.ctx.store.snapshot();
    assert_eq!(snap.gateways[&GatewayRole::Primary].reconnects, 0);
    assert!(
        snap.events
            .iter()
            .any(|e| e.message.starts_with("the gateway answers again")),
        "{:#?}",
        snap.events
    );
    assert_eq!(w.sim.counters().real_orders, 0);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_gateway_is_reconnected_within_three_seconds() {
    let sim = SimGateway::start(SimConfig::default()).await.expect("sim");
    let port = sim.port();
    let w = World::start(sim).await;

    // Kill the gateway and keep it down until the backoff has grown to 8 s or more.
    w.sim.shutdown().await;
    eventually(STEP, "the backoff to reach 8 s", || {
        let snap = w.ctx.store.snapshot();
        async move {
            snap.events
                .iter()
                .any(|e| e.message.starts_with("reconnect attempt") && e.message.ends_with("in 8s"))
                .then_some(())
        }
    })
    .await;
    let (code, health) = w.healthz("").await;
    assert_eq!(code, 503, "{health}");
    assert!(
        health["reason"]
            .as_str()
            .is_some_and(|r| r.contains("reconnecting")),
        "{health}"
    );

    let back = SimGateway::start_on(SimConfig::default(), port)
        .await
        .expect("the gateway restarts on its port");
    let restarted = Instant::now();
    eventually(Duration::from_secs(10), "reconnected", || {
        let snap = w.ctx.store.snapshot();
        async move { (state(&snap) == Some(ConnState::Connected)).then_some(()) }
    })
    .await;
    let took = restarted.elapsed();
    assert!(took <= Duration::from_secs(3), "reconnected after {took:?}");
    eventually(STEP, "healthz 200 after the reconnect", || async {
        let (code, _) = w.healthz("").await;
        (code == 200).then_some(())
    })
    .await;
    assert_eq!(back.counters().connections, 1);
    back.shutdown().await;
    w.stop().await;
}
