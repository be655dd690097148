//! Unknown symbols are remembered: asking again for a contract IB said it does not know gives
//! the same error without another request to the gateway (the simulator counts requests).

use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::gateway::{
    BarSpec, ContractQuery, GatewayConfig, GatewayError, GatewayHandle, Gateways,
};
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimConfig, SimGateway};
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_symbol_is_answered_from_memory_on_repeat() {
    let sim = SimGateway::start(SimConfig::default()).await.expect("sim");
    let store = Store::in_memory();
    let gateway = GatewayHandle::spawn(
        GatewayConfig {
            role: GatewayRole::Primary,
            host: "127.0.0.1".into(),
            port: Some(sim.port()),
            client_id: 17,
            account: None,
            market_data_type: 4,
            stall_timeout: Duration::from_secs(60),
            symbol_stall: Duration::ZERO,
            quote_lines: ibkr_cockpit::gateway::DEFAULT_QUOTE_LINES,
            warm_history: false,
        },
        store.clone(),
    );
    assert!(gateway.wait_synced(STEP).await, "adapter synced");
    let requests = gateway.requests();
    let sent = |name: &str| sim.counters().requests(name);

    // Historical bars: error 200 the first time, the same error from memory the second.
    let spec = BarSpec::daily("BRK.B", "30 D");
    let first = requests.historical_bars(&spec).await.expect_err("unknown");
    assert!(matches!(first, GatewayError::NotFound(_)), "{first}");
    let asked = sent("RequestHistoricalData");
    assert_eq!(asked, 1);
    let second = requests
        .historical_bars(&spec)
        .await
        .expect_err("still unknown");
    assert_eq!(second.to_string(), first.to_string());
    assert_eq!(
        sent("RequestHistoricalData"),
        asked,
        "second call stays local"
    );

    // Contract details, and a snapshot of the same contract, after one miss.
    let query = ContractQuery {
        symbol: "zzzq".into(),
        ..ContractQuery::default()
    };
    let first = requests
        .contract_details(&query)
        .await
        .expect_err("unknown");
    let asked = sent("RequestContractData");
    assert!(asked >= 1);
    let second = requests
        .contract_details(&query)
        .await
        .expect_err("unknown");
    assert_eq!(second.to_string(), first.to_string());
    let snapshot = requests.quote_snapshot(&query).await.expect_err("unknown");
    assert_eq!(snapshot.to_string(), first.to_string());
    assert_eq!(sent("RequestContractData"), asked);

    // Through a tool: the second identical call says the same and asks the gateway nothing.
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
    let args = json!({"symbol": "QQZX"});
    // Requests a lookup of the symbol could send (heartbeats and order refreshes go on apace).
    let lookups = || {
        [
            "RequestHistoricalData",
            "RequestContractData",
            "RequestMarketData",
        ]
        .map(&sent)
    };
    let untouched = lookups();
    let first = tools::call(&ctx, "ibkr_technicals", args.clone())
        .await
        .expect_err("unknown symbol");
    assert!(first.message.contains("QQZX"), "{}", first.message);
    assert_ne!(lookups(), untouched, "the first call asks the gateway");
    let before = lookups();
    let second = tools::call(&ctx, "ibkr_technicals", args)
        .await
        .expect_err("unknown symbol");
    assert_eq!(second.message, first.message);
    assert_eq!(lookups(), before, "nothing sent for the repeat");

    gateway.shutdown();
    assert_eq!(sim.counters().real_orders, 0);
    sim.shutdown().await;
}
