//! Attach: a daemon (`ibkr-cockpit serve`, the built binary) and two UIs attached over its
//! socket. Both UIs render the same cockpit from the daemon's state; a prompt call from one
//! runs in the daemon and shows in the other's journal; dropping one UI leaves the other and
//! the daemon running; the simulator only ever sees the daemon's connection.

use crate::support::daemon;
use crate::support::world;

use crate::support::{STEP, eventually};
use daemon::{Daemon, Dirs, start_sim};
use ibkr_cockpit::mcp::{self, Attached};
use ibkr_cockpit::model::ConnState;
use ibkr_cockpit::store::LiveState;
use ibkr_cockpit::tools;
use ibkr_cockpit::tui::{
    self,
    app::{Action, App, Settings},
    theme::Theme,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use std::sync::Arc;
use tokio::time::timeout;

async fn attach_ui(daemon: &Daemon) -> Attached {
    let config = Arc::new(world::default_config());
    timeout(STEP, mcp::attach(config, &daemon.socket))
        .await
        .expect("attach in time")
        .expect("attach")
}

/// The cockpit screen for `state`, as text: the app as it starts, rendered on a TestBackend
/// (both UIs at the same instant, so the clock in the header agrees).
fn screen(state: &LiveState, now: i64) -> String {
    let theme = Theme::built_in("dark").expect("dark theme");
    let mut app = App::new(theme, Settings::default(), tui::tool_infos(), now);
    app.handle(Action::StateChanged, state);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test terminal");
    terminal
        .draw(|f| tui::screen::draw(f, &app, state))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn same_book(a: &LiveState, b: &LiveState) -> bool {
    a.accounts == b.accounts
        && a.positions == b.positions
        && a.quotes == b.quotes
        && a.gateways == b.gateways
        && a.journal == b.journal
}

#[tokio::test]
async fn two_attached_uis_render_the_daemons_book() {
    let sim = start_sim().await;
    let dirs = Dirs::new();
    let mut daemon = Daemon::start(&dirs, sim.port()).await;
    let ui1 = attach_ui(&daemon).await;
    let ui2 = attach_ui(&daemon).await;

    // Both mirrors converge on the daemon's synced book, and then draw the same screen.
    let (s1, s2) = eventually("both UIs to hold the synced book", || {
        let (s1, s2) = (ui1.ctx.store.snapshot(), ui2.ctx.store.snapshot());
        async move {
            let synced = !s1.positions.is_empty()
                && s1.accounts.values().any(|a| a.net_liquidation().is_some());
            (synced && same_book(&s1, &s2)).then_some((s1, s2))
        }
    })
    .await;
    let account = sim.account_id();
    let sim_view = sim.world();
    let held: Vec<_> = sim_view
        .positions
        .iter()
        .filter(|p| p.account == account)
        .collect();
    assert_eq!(s1.positions_of(&account).count(), held.len());
    let nlv = s1
        .accounts
        .get(&account)
        .and_then(|a| a.net_liquidation())
        .expect("NLV mirrored");
    let sim_nlv = sim_view
        .accounts
        .iter()
        .find(|a| a.account == account)
        .expect("sim account")
        .net_liquidation;
    assert!((nlv - sim_nlv).abs() < 0.01, "NLV {nlv} vs sim {sim_nlv}");
    let now = ui1.ctx.store.now();
    let (screen1, screen2) = (screen(&s1, now), screen(&s2, now));
    assert_eq!(screen1, screen2, "both UIs draw the same cockpit");
    for p in &held {
        assert!(screen1.contains(&p.symbol), "{} on screen", p.symbol);
    }

    // A prompt call in UI 2 runs in the daemon and shows in UI 1's journal.
    let answer = timeout(
        STEP,
        tools::call_journaled(
            &ui2.ctx,
            "cockpit",
            "ibkr_quote",
            json!({"symbols": "KRYX"}),
        ),
    )
    .await
    .expect("call in time")
    .expect("quote answered by the daemon");
    assert!(answer.markdown.contains("KRYX"));
    let seen = eventually("the call in UI 1's journal", || {
        let journal = ui1.ctx.store.snapshot().journal;
        async move {
            journal
                .iter()
                .find(|r| r.client == "cockpit" && r.tool == "ibkr_quote")
                .cloned()
        }
    })
    .await;
    assert_eq!(seen.markdown, answer.markdown);

    // Chart bars come through the daemon's gateway handle too.
    let bars = timeout(
        STEP,
        ui1.ctx
            .historical_bars(&ibkr_cockpit::gateway::BarSpec::daily(
                &held[0].symbol,
                "1 Y",
            )),
    )
    .await
    .expect("bars in time")
    .expect("bars from the daemon");
    assert!(bars.len() > 200, "a year of daily bars: {}", bars.len());

    // UI 1 goes away; UI 2 and the daemon carry on, and a new UI can still attach.
    drop(ui1);
    let again = timeout(
        STEP,
        tools::call_journaled(&ui2.ctx, "cockpit", "ibkr_get_positions", json!({})),
    )
    .await
    .expect("call in time")
    .expect("UI 2 still served");
    assert!(again.markdown.contains(&held[0].symbol));
    assert!(daemon.running(), "detaching leaves the daemon running");
    let ui3 = attach_ui(&daemon).await;
    eventually("UI 3 to mirror the book", || {
        let st = ui3.ctx.store.snapshot();
        async move { (!st.positions.is_empty()).then_some(()) }
    })
    .await;
    assert_eq!(
        sim.counters().connections,
        1,
        "UIs add no gateway connection"
    );

    // The daemon stopping shows as disconnected in the attached UI, not as a frozen live book.
    daemon.stop().await;
    eventually("UI 2 to show the daemon gone", || {
        let st = ui2.ctx.store.snapshot();
        async move {
            st.gateways
                .values()
                .all(|g| g.state == ConnState::Disconnected)
                .then_some(())
        }
    })
    .await;
    sim.shutdown().await;
}
