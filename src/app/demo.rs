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
        stall_timeout_secs: config.gateway.stall_timeout_secs,
        symbol_stall_secs: config.gateway.symbol_stall_secs,
        warm_history: config.gateway.warm_history,
    });

    let db = Db::in_memory().map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = Store::new(Clock::System, Some(db));
    store.set_world(crate::store::World {
        simulated: true,
        description: format!("simulated demo book (seed {})", opts.seed),
    });
    super::demo_history::seed_margin_history(&store, &primary.world(), store.now());
    crate::alerts::start(store.clone(), &config);
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

/// How long `frame_text` waits for the demo book to sync and the correlations to load.
const FRAME_WAIT: Duration = Duration::from_secs(30);

/// One frame of the demo cockpit, `width`×`height`, as plain text (one line per row, trailing
/// blanks trimmed): the real panes drawn by the real renderer from the simulated book once it
/// has synced, its sparklines and correlations loaded, prices frozen. `demo --print-frame` prints
/// it; the README's picture is its output.
pub async fn frame_text(
    config: Config,
    opts: &DemoOptions,
    width: u16,
    height: u16,
) -> anyhow::Result<String> {
    use crate::tui::{self, app::Action, event_loop, screen, theme::Theme};
    use ratatui::{Terminal, backend::TestBackend};

    let bind = super::http_bind(&config)?;
    let rt = start_demo(
        config,
        &DemoOptions {
            tick_interval: None,
            ..opts.clone()
        },
    )
    .await?;
    let Some(gateways) = rt.ctx.gateways.clone() else {
        anyhow::bail!("the demo started without gateways");
    };
    for g in gateways.all() {
        if !g.wait_synced(FRAME_WAIT).await {
            rt.shutdown();
            anyhow::bail!("the simulated gateways did not sync within {FRAME_WAIT:?}");
        }
    }
    crate::gateway::intraday::backfill(gateways.primary.requests(), &rt.ctx.store, 20).await;

    let theme = Theme::built_in("dark").map_err(|e| anyhow::anyhow!("{e}"))?;
    let opts = tui::TuiOptions {
        mcp_url: Some(format!("http://{bind}/mcp")),
        mode_label: Some("demo".into()),
        ..tui::TuiOptions::default()
    };
    let mut app = tui::build_app(&rt.ctx, &opts, theme, tui::tool_infos());
    let state = rt.ctx.store.snapshot();
    app.now = rt.ctx.store.now();
    // The first background work (daily bars → correlations) runs through the loop's own runner.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut pending = app.handle(Action::StateChanged, &state);
    while !pending.is_empty() {
        let count = pending.len();
        event_loop::start_effects(std::mem::take(&mut pending), &rt.ctx, &tx);
        for _ in 0..count {
            match tokio::time::timeout(FRAME_WAIT, rx.recv()).await {
                Ok(Some(action)) => pending.extend(app.handle(action, &state)),
                _ => break,
            }
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    terminal.draw(|f| screen::draw(f, &app, &state))?;
    rt.shutdown();
    Ok(buffer_text(terminal.backend().buffer()))
}

/// The buffer's symbols row by row, trailing blanks trimmed.
pub fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let width = buffer.area.width as usize;
    let mut out = String::new();
    for row in buffer.content.chunks(width.max(1)) {
        let line: String = row.iter().map(|c| c.symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
