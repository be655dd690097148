//! The cockpit fed from the SIMULATOR, for snapshot, key and tape tests and the render bench:
//! the shared harness (`tests/common`: sim seed 7, frozen prices, the real adapter over loopback
//! TCP, a fixed clock), the app built the way `tui::run` builds it, and its first background work
//! (daily bars → correlations) run through the real effect runner and fed back as actions.
//!
//! Test crates that use it declare `mod common; mod tui_support;`.

use super::world::{self, Harness};
use super::{STEP, gateway_config};
use ibkr_cockpit::config::Config;
use ibkr_cockpit::gateway::GatewayHandle;
use ibkr_cockpit::model::GatewayRole;
use ibkr_cockpit::sim::{SimBookKind, SimConfig, SimGateway, SimHandle};
use ibkr_cockpit::store::LiveState;
use ibkr_cockpit::tools;
use ibkr_cockpit::tui::app::{Action, App, Effect};
use ibkr_cockpit::tui::theme::Theme;
use ibkr_cockpit::tui::{TuiOptions, build_app, event_loop, tool_infos};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

pub use world::NOW;

/// A running cockpit model over the simulator: the app, the snapshot it renders, and the
/// harness (sim + adapter + tool context) behind them.
pub struct Cockpit {
    pub h: Harness,
    pub app: App,
    pub state: LiveState,
    /// The secondary simulator and its adapter, when started with two accounts.
    pub secondary: Option<(SimHandle, GatewayHandle)>,
}

/// Seed book (CAD account, KRYX VLTX OMRA FELN HDRX in USD), correlations loaded.
pub async fn start() -> Cockpit {
    start_with(frozen_sim(None), world::default_config()).await
}

/// A generated book of `n` positions on top of the seed's account.
pub async fn start_big(n: usize) -> Cockpit {
    start_with(frozen_sim(Some(n)), world::default_config()).await
}

/// Seed 7, frozen prices; `positions` as `--positions`.
pub fn frozen_sim(positions: Option<usize>) -> SimConfig {
    SimConfig {
        seed: 7,
        positions,
        tick_interval: None,
        ..SimConfig::default()
    }
}

pub async fn start_with(sim: SimConfig, config: Config) -> Cockpit {
    let h = world::start_with(sim, config).await;
    let state = h.ctx.store.snapshot();
    let app = app_for(&h);
    let mut cockpit = Cockpit {
        h,
        app,
        state,
        secondary: None,
    };
    cockpit.settle().await;
    cockpit
}

/// Both demo accounts in one store, as `demo` runs: the primary CAD book and the secondary USD
/// account (which also holds KRYX), each through its own adapter over TCP.
pub async fn start_two_accounts(config: Config) -> Cockpit {
    let h = world::start_with(frozen_sim(None), config).await;
    let sim2 = tokio::time::timeout(
        STEP,
        SimGateway::start(SimConfig {
            book: SimBookKind::Secondary,
            ..frozen_sim(None)
        }),
    )
    .await
    .expect("secondary simulator starts in time")
    .expect("secondary simulator starts");
    let gw2 = GatewayHandle::spawn(
        gateway_config(GatewayRole::Secondary, sim2.port(), 18),
        h.ctx.store.clone(),
    );
    assert!(gw2.wait_synced(STEP).await, "secondary adapter synced");
    let state = h.ctx.store.snapshot();
    let app = app_for(&h);
    let mut cockpit = Cockpit {
        h,
        app,
        state,
        secondary: Some((sim2, gw2)),
    };
    cockpit.settle().await;
    cockpit
}

/// The app exactly as `tui::run` builds it (dark theme, the real tool catalog), with the header
/// showing a fixed MCP URL and the `demo` label.
fn app_for(h: &Harness) -> App {
    let opts = TuiOptions {
        mcp_url: Some("http://127.0.0.1:8787/mcp".into()),
        mode_label: Some("demo".into()),
        ..TuiOptions::default()
    };
    let theme = Theme::built_in("dark").expect("dark theme");
    build_app(&h.ctx, &opts, theme, tool_infos())
}

impl Cockpit {
    /// Feeds the current store snapshot to the app and runs the background work it asks for
    /// (through `event_loop::start_effects`, the loop's own runner), feeding the results back as
    /// actions until nothing is pending: correlations come from the simulator's daily bars.
    pub async fn settle(&mut self) {
        self.state = self.h.ctx.store.snapshot();
        let effects = self.app.handle(Action::StateChanged, &self.state);
        self.run_effects(effects).await;
    }

    /// Runs `effects` for real and applies every action they report, and the effects those
    /// ask for in turn (each wait bounded by `STEP`).
    pub async fn run_effects(&mut self, effects: Vec<Effect>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut pending = effects.len();
        event_loop::start_effects(effects, &self.h.ctx, &tx);
        while pending > 0 {
            let action = tokio::time::timeout(STEP, rx.recv())
                .await
                .expect("background work reported within STEP")
                .expect("effect runner alive");
            pending -= 1;
            let more = self.app.handle(action, &self.state);
            pending += more.len();
            event_loop::start_effects(more, &self.h.ctx, &tx);
        }
    }

    /// Applies `action` and runs whatever background work it asks for.
    pub async fn act(&mut self, action: Action) {
        let effects = self.app.handle(action, &self.state);
        self.run_effects(effects).await;
    }

    /// Renders the whole cockpit into a `width`×`height` test terminal.
    pub fn render(&self, width: u16, height: u16) -> Terminal<TestBackend> {
        render(&self.app, &self.state, width, height)
    }

    /// The app and its snapshot, with the simulator(s) shut down (for pure reducer tests).
    pub async fn into_parts(self) -> (App, LiveState) {
        let Cockpit {
            h,
            app,
            state,
            secondary,
        } = self;
        if let Some((sim, gw)) = secondary {
            gw.shutdown();
            let _ = tokio::time::timeout(STEP, sim.shutdown()).await;
        }
        h.shutdown().await;
        (app, state)
    }

    pub async fn shutdown(self) {
        if let Some((sim, gw)) = self.secondary {
            gw.shutdown();
            let _ = tokio::time::timeout(STEP, sim.shutdown()).await;
        }
        self.h.shutdown().await;
    }
}

/// Renders the whole cockpit into a `width`×`height` test terminal.
pub fn render(app: &App, state: &LiveState, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| ibkr_cockpit::tui::screen::draw(f, app, state))
        .expect("draw");
    terminal
}

/// Three real tool calls journaled as an LLM and the trader would make them (one failing), so
/// the prompt pane has something to show. Durations are wall-clock, so they are pinned to fixed
/// values afterwards: the only thing the snapshots must not depend on.
pub async fn journal_some_calls(c: &mut Cockpit) {
    let calls = [
        ("claude-code", "ibkr_briefing", json!({})),
        (
            "claude-code",
            "ibkr_what_if",
            json!({"symbol": "KRYX", "action": "BUY", "quantity": 100}),
        ),
        ("cockpit", "ibkr_quote", json!({"symbols": ["ZZZZ"]})),
    ];
    for (client, tool, args) in calls {
        let _ = tokio::time::timeout(STEP, tools::call_journaled(&c.h.ctx, client, tool, args))
            .await
            .unwrap_or_else(|_| panic!("{tool} answered within {STEP:?}"));
    }
    c.h.ctx.store.update(|st| {
        let journal = std::sync::Arc::make_mut(&mut st.journal);
        for (i, r) in journal.iter_mut().enumerate() {
            r.duration_ms = 40.0 + 100.0 * i as f64;
            r.time = NOW - 60_000 + i as i64 * 15_000;
        }
    });
    c.settle().await;
}
