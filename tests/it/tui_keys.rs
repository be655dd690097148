//! Key handling through the action layer: real key events → keymap → `App::handle`, asserting
//! what a user would see change (focus, sort order, selected row, the detail view, the prompt
//! line, completion, history).

use crate::support::tui;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibkr_cockpit::store::LiveState;
use ibkr_cockpit::tui::app::{Action, App, Effect, Fetch, Pane, View};
use ibkr_cockpit::tui::book::SortColumn;
use ibkr_cockpit::tui::keymap;

fn press(app: &mut App, state: &LiveState, code: KeyCode) -> Vec<Effect> {
    press_mod(app, state, code, KeyModifiers::NONE)
}

fn press_mod(app: &mut App, state: &LiveState, code: KeyCode, mods: KeyModifiers) -> Vec<Effect> {
    let key = KeyEvent::new(code, mods);
    match keymap::lookup(app, key) {
        Some(action) => app.handle(action, state),
        None => Vec::new(),
    }
}

fn type_text(app: &mut App, state: &LiveState, text: &str) {
    for c in text.chars() {
        press(app, state, KeyCode::Char(c));
    }
}

fn symbols_in_order(app: &App, state: &LiveState) -> Vec<String> {
    app.rows(state).into_iter().map(|r| r.symbol).collect()
}

/// The cockpit on the simulator's seed book with three journaled tool calls; the reducer needs
/// nothing from the network after that, so the simulator is shut down before the keys are sent.
async fn setup() -> (App, LiveState) {
    let mut c = tui::start().await;
    tui::journal_some_calls(&mut c).await;
    c.into_parts().await
}

/// A what-if answer as the tool would send it back to the prompt.
const WHAT_IF_MD: &str =
    "# What-If: BUY 100 KRYX\n\n## Margin Impact\n**Init Margin Additional**: $0.00 CAD\n";

#[tokio::test]
async fn tab_and_digits_move_focus_and_shift_tab_goes_back() {
    let (mut app, state) = setup().await;
    assert_eq!(app.focus, Pane::Positions);
    press(&mut app, &state, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Margin);
    press(&mut app, &state, KeyCode::Tab);
    press(&mut app, &state, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Heatmap);
    press_mod(&mut app, &state, KeyCode::BackTab, KeyModifiers::SHIFT);
    assert_eq!(app.focus, Pane::Movers);
    press(&mut app, &state, KeyCode::Char('5'));
    assert_eq!(app.focus, Pane::Prompt);
    press(&mut app, &state, KeyCode::Char('1'));
    assert_eq!(app.focus, Pane::Positions);
    // The small-screen card remembers the last non-positions pane.
    assert_eq!(app.secondary, Pane::Prompt);
}

#[tokio::test]
async fn sorting_cycles_columns_and_reverses() {
    let (mut app, state) = setup().await;
    assert_eq!(
        symbols_in_order(&app, &state),
        ["KRYX", "OMRA", "VLTX", "FELN", "HDRX"]
    );
    press(&mut app, &state, KeyCode::Char('s'));
    assert_eq!(app.sort, SortColumn::Currency);
    press(&mut app, &state, KeyCode::Char('s'));
    assert_eq!(app.sort, SortColumn::Symbol);
    assert_eq!(
        symbols_in_order(&app, &state),
        ["FELN", "HDRX", "KRYX", "OMRA", "VLTX"]
    );
    press(&mut app, &state, KeyCode::Char('r'));
    assert_eq!(
        symbols_in_order(&app, &state),
        ["VLTX", "OMRA", "KRYX", "HDRX", "FELN"]
    );
    // Shift-S goes back one column (crossterm reports the shift modifier with 'S').
    press_mod(&mut app, &state, KeyCode::Char('S'), KeyModifiers::SHIFT);
    assert_eq!(app.sort, SortColumn::Currency);
    while app.sort != SortColumn::Daily {
        press(&mut app, &state, KeyCode::Char('s'));
    }
    assert_eq!(
        symbols_in_order(&app, &state),
        ["FELN", "HDRX", "OMRA", "VLTX", "KRYX"]
    );
}

#[tokio::test]
async fn selection_scrolls_within_the_book_and_enter_opens_the_selected_position() {
    let (mut app, state) = setup().await;
    press(&mut app, &state, KeyCode::Down);
    press(&mut app, &state, KeyCode::Char('j'));
    assert_eq!(app.selected, 2);
    press(&mut app, &state, KeyCode::End);
    assert_eq!(app.selected, 4);
    press(&mut app, &state, KeyCode::PageDown);
    assert_eq!(app.selected, 4, "selection stays on the last row");
    press(&mut app, &state, KeyCode::Char('g'));
    assert_eq!(app.selected, 0);
    press(&mut app, &state, KeyCode::Down);
    let effects = press(&mut app, &state, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::FetchBars {
            symbol: "OMRA".into(),
            currency: "USD".into()
        }]
    );
    let Some(View::Detail(d)) = &app.view else {
        panic!("detail view open")
    };
    assert_eq!(d.symbol, "OMRA");
    assert_eq!(d.bars, Fetch::Loading);
    // Keys that only make sense on the panes do nothing under the detail view; Esc closes it.
    press(&mut app, &state, KeyCode::Char('s'));
    assert_eq!(app.sort, SortColumn::Weight);
    press(&mut app, &state, KeyCode::Esc);
    assert!(app.view.is_none());
}

#[tokio::test]
async fn bars_for_another_symbol_do_not_land_in_the_open_detail() {
    let (mut app, state) = setup().await;
    press(&mut app, &state, KeyCode::Enter);
    app.handle(
        Action::BarsLoaded {
            symbol: "VLTX".into(),
            result: Err("late answer".into()),
        },
        &state,
    );
    let Some(View::Detail(d)) = &app.view else {
        panic!()
    };
    assert_eq!(d.bars, Fetch::Loading);
    app.handle(
        Action::BarsLoaded {
            symbol: "KRYX".into(),
            result: Err("no gateway connection".into()),
        },
        &state,
    );
    let Some(View::Detail(d)) = &app.view else {
        panic!()
    };
    assert_eq!(d.bars, Fetch::Failed("no gateway connection".into()));
}

#[tokio::test]
async fn prompt_input_completion_submit_and_history() {
    let (mut app, state) = setup().await;
    press(&mut app, &state, KeyCode::Char(':'));
    assert!(app.input_active);
    assert_eq!(app.focus, Pane::Prompt);
    // 'q' types a q while in the input line; it does not quit.
    type_text(&mut app, &state, "ibkr_w");
    press(&mut app, &state, KeyCode::Tab);
    assert_eq!(app.input_text(), "ibkr_what_if ");
    type_text(&mut app, &state, "sym");
    press(&mut app, &state, KeyCode::Tab);
    assert_eq!(app.input_text(), "ibkr_what_if symbol=");
    type_text(&mut app, &state, "KRYX ");
    press(&mut app, &state, KeyCode::Tab);
    assert_eq!(
        app.input_hint.as_deref(),
        Some("account=  action=  limit_price=  order_type=  quantity=")
    );
    type_text(&mut app, &state, "action=BUY quantity=100");
    let effects = press(&mut app, &state, KeyCode::Enter);
    let [Effect::RunTool { name, args, line }] = effects.as_slice() else {
        panic!("one tool run: {effects:?}")
    };
    assert_eq!(name, "ibkr_what_if");
    assert_eq!(line, "ibkr_what_if symbol=KRYX action=BUY quantity=100");
    assert_eq!(args["symbol"], "KRYX");
    assert_eq!(args["quantity"].as_f64(), Some(100.0));
    assert!(!app.input_active);
    let Some(View::Answer(a)) = &app.view else {
        panic!("answer view")
    };
    assert_eq!(a.body, Fetch::Loading);
    // The answer arrives and shows in the same view.
    app.handle(
        Action::ToolFinished {
            line: line.clone(),
            result: Ok(WHAT_IF_MD.into()),
        },
        &state,
    );
    let Some(View::Answer(a)) = &app.view else {
        panic!()
    };
    assert_eq!(a.body, Fetch::Ready(WHAT_IF_MD.into()));
    press(&mut app, &state, KeyCode::Esc);

    // History: ↑ recalls the last command, ↓ returns to the draft.
    press(&mut app, &state, KeyCode::Char(':'));
    type_text(&mut app, &state, "ibkr_q");
    press(&mut app, &state, KeyCode::Up);
    assert_eq!(
        app.input_text(),
        "ibkr_what_if symbol=KRYX action=BUY quantity=100"
    );
    press(&mut app, &state, KeyCode::Down);
    assert_eq!(app.input_text(), "ibkr_q");
    press(&mut app, &state, KeyCode::Esc);
    assert!(!app.input_active);
    assert!(!app.should_quit);
}

#[tokio::test]
async fn a_bad_command_is_explained_and_nothing_runs() {
    let (mut app, state) = setup().await;
    press(&mut app, &state, KeyCode::Char(':'));
    type_text(&mut app, &state, "ibkr_what_if colour=red");
    let effects = press(&mut app, &state, KeyCode::Enter);
    assert!(effects.is_empty());
    assert!(app.input_error);
    let hint = app.input_hint.clone().unwrap_or_default();
    assert!(
        hint.contains("no parameter 'colour'") && hint.contains("accepted: account, action"),
        "{hint}"
    );
    assert!(app.input_active, "the line stays open to fix");
}

#[tokio::test]
async fn enter_on_a_journal_entry_opens_its_answer() {
    let (mut app, state) = setup().await;
    press(&mut app, &state, KeyCode::Char('5'));
    press(&mut app, &state, KeyCode::Down);
    press(&mut app, &state, KeyCode::Enter);
    let Some(View::Answer(a)) = &app.view else {
        panic!("answer view")
    };
    assert_eq!(a.title, "ibkr_what_if action=BUY quantity=100 symbol=KRYX");
    assert!(a.subtitle.starts_with("claude-code"));
    press(&mut app, &state, KeyCode::Down);
    let Some(View::Answer(a)) = &app.view else {
        panic!()
    };
    assert_eq!(a.scroll, 1);
    press(&mut app, &state, KeyCode::Esc);
    press(&mut app, &state, KeyCode::Char('k'));
    press(&mut app, &state, KeyCode::Enter);
    let Some(View::Answer(a)) = &app.view else {
        panic!()
    };
    let Fetch::Failed(why) = &a.body else {
        panic!("the failed call shows its error: {:?}", a.body)
    };
    assert!(why.contains("ZZZZ"), "{why}");
}

#[tokio::test]
async fn heatmap_toggles_window_and_help_and_quit_work_everywhere() {
    let (mut app, state) = setup().await;
    press(&mut app, &state, KeyCode::Char('4'));
    press(&mut app, &state, KeyCode::Char('w'));
    assert_eq!(app.corr_window.label(), "252D");
    press(&mut app, &state, KeyCode::Right);
    assert_eq!(app.heat_scroll, 1);
    press(&mut app, &state, KeyCode::Char('?'));
    assert!(app.help);
    press(&mut app, &state, KeyCode::Char('?'));
    assert!(!app.help);
    press(&mut app, &state, KeyCode::Char('?'));
    press(&mut app, &state, KeyCode::Esc);
    assert!(!app.help);
    press_mod(&mut app, &state, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.should_quit);
}

#[tokio::test]
async fn the_help_lists_every_binding_of_the_keymap() {
    let (app, _) = setup().await;
    let text: String = ibkr_cockpit::tui::help::lines(&app)
        .iter()
        .map(|l| {
            l.spans
                .iter()
                .map(|s| s.content.as_ref())
                .collect::<String>()
                + "\n"
        })
        .collect();
    for b in keymap::bindings() {
        assert!(
            text.contains(b.description),
            "help is missing '{}'",
            b.description
        );
    }
    // No key is bound twice in one scope.
    let all = keymap::bindings();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert!(
                !(a.scope == b.scope && a.code == b.code && a.mods == b.mods),
                "{:?} bound twice in {:?}",
                a.code,
                a.scope
            );
        }
    }
}
