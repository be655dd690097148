//! Snapshots of every pane and of the whole cockpit at 80×24 and 200×50, rendered with
//! ratatui's TestBackend from a deterministic store (fixed clock, the seed book).

mod tui_fixture;

use ibkr_cockpit::model::{Bar, ConnState, GatewayRole};
use ibkr_cockpit::store::LiveState;
use ibkr_cockpit::tui::app::{Action, App, Pane};
use ibkr_cockpit::tui::{header, heatmap, margin, movers, positions, prompt};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use std::sync::Arc;
use tui_fixture::*;

type PaneFn = fn(&mut ratatui::Frame, Rect, &App, &LiveState);

fn pane(
    render: PaneFn,
    app: &App,
    state: &LiveState,
    width: u16,
    height: u16,
) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| render(f, f.area(), app, state)).unwrap();
    terminal
}

fn seed() -> (App, LiveState) {
    let state = seed_store().snapshot();
    (seed_app(&state), state)
}

#[test]
fn whole_screen_200x50() {
    let (app, state) = seed();
    assert_snapshot!("screen_200x50", render(&app, &state, 200, 50).backend());
}

#[test]
fn whole_screen_80x24() {
    let (app, state) = seed();
    assert_snapshot!("screen_80x24", render(&app, &state, 80, 24).backend());
}

#[test]
fn whole_screen_80x24_prompt_card() {
    let (mut app, state) = seed();
    app.handle(Action::Focus(Pane::Prompt), &state);
    assert_snapshot!(
        "screen_80x24_prompt",
        render(&app, &state, 80, 24).backend()
    );
}

#[test]
fn too_small_says_so() {
    let (app, state) = seed();
    let t = render(&app, &state, 60, 20);
    assert_snapshot!("screen_too_small", t.backend());
}

#[test]
fn header_pane() {
    let (app, state) = seed();
    assert_snapshot!(
        "pane_header",
        pane(header::render, &app, &state, 160, 2).backend()
    );
}

#[test]
fn header_during_outage_keeps_values_and_says_why() {
    let store = seed_store();
    store.update(|st| {
        let gw = Arc::make_mut(&mut st.gateways);
        if let Some(p) = gw.get_mut(&GatewayRole::Primary) {
            p.state = ConnState::Reconnecting;
            p.reconnects = 3;
            p.since = NOW - 45_000;
            p.last_data = Some(NOW - 47_000);
            p.last_error = Some("connection refused".into());
        }
    });
    let state = store.snapshot();
    let app = seed_app(&state);
    assert_snapshot!(
        "pane_header_outage",
        pane(header::render, &app, &state, 160, 2).backend()
    );
}

#[test]
fn positions_pane_sorted_by_weight_and_by_daily() {
    let (mut app, state) = seed();
    assert_snapshot!(
        "pane_positions_weight",
        pane(positions::render, &app, &state, 110, 9).backend()
    );
    while app.sort != ibkr_cockpit::tui::book::SortColumn::Daily {
        app.handle(Action::SortNext, &state);
    }
    app.handle(Action::Down, &state);
    assert_snapshot!(
        "pane_positions_daily",
        pane(positions::render, &app, &state, 110, 9).backend()
    );
    assert_snapshot!(
        "pane_positions_narrow",
        pane(positions::render, &app, &state, 60, 9).backend()
    );
}

#[test]
fn margin_pane() {
    let (app, state) = seed();
    assert_snapshot!(
        "pane_margin",
        pane(margin::render, &app, &state, 72, 7).backend()
    );
}

#[test]
fn movers_pane() {
    let (app, state) = seed();
    assert_snapshot!(
        "pane_movers",
        pane(movers::render, &app, &state, 60, 10).backend()
    );
}

#[test]
fn heatmap_pane_both_windows() {
    let (mut app, state) = seed();
    assert_snapshot!(
        "pane_heatmap_60d",
        pane(heatmap::render, &app, &state, 60, 9).backend()
    );
    app.handle(Action::Focus(Pane::Heatmap), &state);
    app.handle(Action::ToggleCorrWindow, &state);
    assert_snapshot!(
        "pane_heatmap_252d",
        pane(heatmap::render, &app, &state, 60, 9).backend()
    );
}

#[test]
fn prompt_pane_with_input_and_completion() {
    let (mut app, state) = seed();
    app.handle(Action::Focus(Pane::Prompt), &state);
    assert_snapshot!(
        "pane_prompt",
        pane(prompt::render, &app, &state, 110, 9).backend()
    );
    app.handle(Action::StartInput, &state);
    for c in "ibkr_what_if s".chars() {
        app.handle(key_action(c), &state);
    }
    app.handle(Action::Complete, &state);
    assert_snapshot!(
        "pane_prompt_input",
        pane(prompt::render, &app, &state, 110, 9).backend()
    );
}

fn key_action(c: char) -> Action {
    Action::InputKey(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char(c),
        crossterm::event::KeyModifiers::NONE,
    ))
}

#[test]
fn detail_view_with_chart() {
    let (mut app, state) = seed();
    let effects = app.handle(Action::Open, &state);
    assert_eq!(effects.len(), 1);
    let bars: Vec<Bar> = (0..60)
        .map(|i| Bar {
            time: 1_772_000_000 + i * 86_400,
            close: 50.0 + (i as f64 / 6.0).sin() * 4.0 + i as f64 * 0.05,
            ..Bar::default()
        })
        .collect();
    app.handle(
        Action::BarsLoaded {
            symbol: "KRYX".into(),
            result: Ok(Arc::new(bars)),
        },
        &state,
    );
    assert_snapshot!("view_detail", render(&app, &state, 120, 30).backend());
}

#[test]
fn answer_view_renders_markdown() {
    let (mut app, state) = seed();
    app.handle(Action::Focus(Pane::Prompt), &state);
    app.handle(Action::Down, &state);
    app.handle(Action::Open, &state);
    assert_snapshot!("view_answer", render(&app, &state, 100, 30).backend());
}

#[test]
fn help_overlay() {
    let (mut app, state) = seed();
    app.handle(Action::ToggleHelp, &state);
    assert_snapshot!("view_help", render(&app, &state, 200, 50).backend());
}

#[test]
fn big_book_renders_and_heatmap_scrolls() {
    let state = big_store(500).snapshot();
    let app = seed_app_any(&state);
    let t = render(&app, &state, 200, 50);
    let text = t.backend().to_string();
    assert!(text.contains("Positions (505)"), "{text}");
}

/// Like `seed_app`, for books whose correlation symbols are not the seed's.
fn seed_app_any(state: &LiveState) -> App {
    let mut app = App::new(
        ibkr_cockpit::tui::theme::Theme::default(),
        ibkr_cockpit::tui::app::Settings::default(),
        tools(),
        NOW,
    );
    app.handle(Action::StateChanged, state);
    app
}
