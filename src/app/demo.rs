//! Demo mode: start the simulated gateways (primary CAD book + secondary USD account) on
//! ephemeral loopback ports and point the real adapter at them. The production adapter cannot
//! tell the difference, so the demo exercises exactly the code a real user runs.

use super::Runtime;
use crate::config::{Config, GatewaySection};
use crate::gateway::{GatewayHandle, Gateways};
use crate::sim::{FaultPlan, SimBookKind, SimConfig, SimGateway};
use crate::store::{Clock, Store, db::Db};
use crate::tools::ToolContext;
use std::sync::Arc;
use std::time::Duration;

/// What the demo world looks like.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    pub positions: Option<usize>,
    pub faults: Option<String>,
    /// `None` freezes prices (reproducible output).
    pub tick_interval: Option<Duration>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 7,
            positions: None,
            faults: None,
            tick_interval: Some(Duration::from_millis(250)),
        }
    }
}

/// Starts two simulated gateways and the adapter against them. The database is in memory:
/// the demo never touches the user's history.
pub async fn start_demo(mut config: Config, opts: &DemoOptions) -> anyhow::Result<Runtime> {
    let faults = match &opts.faults {
        Some(plan) => FaultPlan::parse(plan).map_err(|e| anyhow::anyhow!("--faults: {e}"))?,
        None => FaultPlan::default(),
    };
    let primary = SimGateway::start(SimConfig {
        seed: opts.seed,
        positions: opts.positions,
        faults,
        book: SimBookKind::Primary,
        tick_interval: opts.tick_interval,
        ..SimConfig::default()
    })
    .await?;
    let secondary = SimGateway::start(SimConfig {
        seed: opts.seed,
        positions: None,
        faults: FaultPlan::default(),
        book: SimBookKind::Secondary,
        tick_interval: opts.tick_interval,
        ..SimConfig::default()
    })
    .await?;

    // Every tool answers in the demo: a missing thesis or risk-factor file is replaced by the
    // labelled example (a failure to write it only costs those two tools).
    match super::demo_files::use_examples_where_missing(&mut config) {
        Ok(examples) if !examples.is_empty() => {
            tracing::info!("demo: using the example {}", examples.join(" and "));
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("demo: could not provide the example files: {e}"),
    }
    config.gateway.host = "127.0.0.1".into();
    config.gateway.port = Some(primary.port());
    config.gateway.account = None;
    config.secondary = Some(GatewaySection {
        host: "127.0.0.1".into(),
        port: Some(secondary.port()),
        client_id: config.gateway.client_id + 1,
        account: None,
        market_data_type: config.gateway.market_data_type,
        quote_lines: config.gateway.quote_lines,
    });

    let db = Db::in_memory().map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::new(Clock::System, Some(db));
    let (primary_cfg, secondary_cfg) = config.gateway_configs();
    let gateways = Gateways {
        primary: GatewayHandle::spawn(primary_cfg, store.clone()),
        secondary: secondary_cfg.map(|c| GatewayHandle::spawn(c, store.clone())),
    };
    Ok(Runtime {
        ctx: ToolContext {
            store,
            gateways: Some(gateways),
            config: Arc::new(config),
            remote: None,
        },
        sims: vec![primary, secondary],
        warnings: Vec::new(),
    })
}
