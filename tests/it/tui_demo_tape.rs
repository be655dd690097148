//! `demo.tape` (the VHS recording script) cannot rot: every key it sends after the cockpit starts
//! must be bound in the keymap in the state the cockpit is in at that point, every command typed
//! at the prompt must parse and name a tool in the catalog, and the script must end by quitting.

use crate::support::tui;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ibkr_cockpit::tui::app::{Action, Effect};
use ibkr_cockpit::tui::keymap;

/// The tape's key events after the line that starts the cockpit, with their line numbers.
fn tape_keys(tape: &str) -> Vec<(usize, KeyEvent)> {
    let mut started = false;
    let mut launching = false;
    let mut keys = Vec::new();
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    for (i, raw) in tape.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (command, rest) = line.split_once(' ').unwrap_or((line, ""));
        let command = command.split('@').next().unwrap_or(command);
        // The shell command that starts the cockpit, and the Enter that runs it, are not
        // cockpit keys.
        if !started {
            if command == "Type" && rest.contains(" demo") {
                launching = true;
            } else if launching && command == "Enter" {
                started = true;
            }
            continue;
        }
        let repeat: usize = rest.trim().parse().unwrap_or(1);
        let code = match command {
            "Type" => {
                let text = rest.trim().trim_matches('"');
                keys.extend(text.chars().map(|c| (i + 1, key(KeyCode::Char(c)))));
                continue;
            }
            "Enter" => KeyCode::Enter,
            "Tab" => KeyCode::Tab,
            "Escape" => KeyCode::Esc,
            "Backspace" => KeyCode::Backspace,
            "Up" => KeyCode::Up,
            "Down" => KeyCode::Down,
            "Left" => KeyCode::Left,
            "Right" => KeyCode::Right,
            "PageUp" => KeyCode::PageUp,
            "PageDown" => KeyCode::PageDown,
            "Space" => KeyCode::Char(' '),
            "Ctrl+C" => {
                keys.push((
                    i + 1,
                    KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
                ));
                continue;
            }
            "Sleep" | "Hide" | "Show" | "Set" | "Output" | "Require" | "Screenshot" => continue,
            other => panic!("demo.tape line {}: unknown VHS command '{other}'", i + 1),
        };
        keys.extend(std::iter::repeat_n((i + 1, key(code)), repeat));
    }
    assert!(started, "demo.tape never starts the demo");
    keys
}

#[tokio::test]
async fn every_key_in_demo_tape_is_bound_and_every_command_exists() {
    let tape = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/demo.tape"))
        .expect("demo.tape at the repository root");
    let catalog = ibkr_cockpit::tui::tool_infos();
    assert!(!catalog.is_empty(), "the tool catalog is empty");

    // The demo's book, from the simulator; the reducer runs without it afterwards.
    let (mut app, state) = tui::start().await.into_parts().await;

    let mut ran: Vec<String> = Vec::new();
    let mut seen: Vec<Action> = Vec::new();
    for (line, key) in tape_keys(&tape) {
        assert!(
            !app.should_quit,
            "demo.tape line {line}: keys sent after the cockpit quit"
        );
        let Some(action) = keymap::lookup(&app, key) else {
            panic!(
                "demo.tape line {line}: {key:?} is not bound in this state (focus {:?})",
                app.focus
            );
        };
        seen.push(action.clone());
        for effect in app.handle(action, &state) {
            if let Effect::RunTool { name, .. } = effect {
                assert!(
                    catalog.iter().any(|t| t.name == name),
                    "demo.tape line {line}: '{name}' is not a tool"
                );
                ran.push(name);
            }
        }
        assert!(
            !app.input_error,
            "demo.tape line {line}: the prompt rejected the command: {:?}",
            app.input_hint
        );
    }
    assert!(
        app.should_quit,
        "demo.tape must end by quitting the cockpit"
    );
    assert_eq!(
        ran,
        vec!["ibkr_what_if"],
        "the tape runs one tool from the prompt"
    );
    for wanted in [
        Action::FocusNext,
        Action::SortNext,
        Action::Open,
        Action::Complete,
        Action::ToggleCorrWindow,
    ] {
        assert!(seen.contains(&wanted), "demo.tape should show {wanted:?}");
    }
}
