//! THE key bindings. Every key the cockpit reacts to is listed here with a description; the help
//! overlay, the footer hints and the demo-tape test are all generated from / checked against
//! this table, so documentation cannot drift from behaviour.

use super::app::{Action, App, Pane, View};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::sync::LazyLock;

/// Where a binding applies. Lookup tries the most specific scope first, then `Global`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Anywhere except while typing in the input line.
    Global,
    Positions,
    Heatmap,
    Prompt,
    /// The position detail view.
    Detail,
    /// A tool answer view.
    Answer,
    Help,
    /// Typing a command in the prompt's input line (other keys edit the line).
    Input,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Positions => "Positions",
            Scope::Heatmap => "Correlation heatmap",
            Scope::Prompt => "Prompt (journal)",
            Scope::Detail => "Position detail",
            Scope::Answer => "Tool answer",
            Scope::Help => "Help",
            Scope::Input => "Prompt input line",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub scope: Scope,
    pub code: KeyCode,
    /// Modifiers besides Shift (Shift is implied by the character: `S`, `G`, `?`).
    pub mods: KeyModifiers,
    pub action: Action,
    pub description: &'static str,
    /// Shown in the footer bar (the few keys a newcomer needs).
    pub hint: bool,
}

fn b(scope: Scope, code: KeyCode, action: Action, description: &'static str) -> Binding {
    Binding {
        scope,
        code,
        mods: KeyModifiers::NONE,
        action,
        description,
        hint: false,
    }
}

fn hinted(mut binding: Binding) -> Binding {
    binding.hint = true;
    binding
}

fn ctrl(mut binding: Binding) -> Binding {
    binding.mods = KeyModifiers::CONTROL;
    binding
}

use KeyCode::{BackTab, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};
use Scope::*;

static BINDINGS: LazyLock<Vec<Binding>> = LazyLock::new(|| {
    vec![
        hinted(b(Global, Tab, Action::FocusNext, "focus the next pane")),
        b(
            Global,
            BackTab,
            Action::FocusPrev,
            "focus the previous pane",
        ),
        b(
            Global,
            Char('1'),
            Action::Focus(Pane::Positions),
            "focus positions",
        ),
        b(
            Global,
            Char('2'),
            Action::Focus(Pane::Margin),
            "focus margin",
        ),
        b(
            Global,
            Char('3'),
            Action::Focus(Pane::Movers),
            "focus movers",
        ),
        b(
            Global,
            Char('4'),
            Action::Focus(Pane::Heatmap),
            "focus correlation heatmap",
        ),
        b(
            Global,
            Char('5'),
            Action::Focus(Pane::Prompt),
            "focus prompt",
        ),
        hinted(b(Global, Up, Action::Up, "move up / scroll up")),
        b(Global, Down, Action::Down, "move down / scroll down"),
        b(Global, Char('k'), Action::Up, "move up"),
        b(Global, Char('j'), Action::Down, "move down"),
        b(Global, PageUp, Action::PageUp, "page up"),
        b(Global, PageDown, Action::PageDown, "page down"),
        b(Global, Home, Action::Top, "first row"),
        b(Global, End, Action::Bottom, "last row"),
        b(Global, Char('g'), Action::Top, "first row"),
        b(Global, Char('G'), Action::Bottom, "last row"),
        hinted(b(
            Global,
            Enter,
            Action::Open,
            "open the selected position or tool call",
        )),
        b(Global, Esc, Action::Close, "close help / detail / answer"),
        hinted(b(
            Global,
            Char(':'),
            Action::StartInput,
            "run a tool from the prompt",
        )),
        hinted(b(
            Global,
            Char('?'),
            Action::ToggleHelp,
            "show / hide this help",
        )),
        b(
            Global,
            Char('a'),
            Action::ShowAlerts,
            "alerts: firing now, latest firings, rules",
        ),
        hinted(b(Global, Char('q'), Action::Quit, "quit")),
        ctrl(b(Global, Char('c'), Action::Quit, "quit")),
        hinted(b(
            Positions,
            Char('s'),
            Action::SortNext,
            "sort by the next column",
        )),
        b(
            Positions,
            Char('S'),
            Action::SortPrev,
            "sort by the previous column",
        ),
        b(
            Positions,
            Char('r'),
            Action::SortReverse,
            "reverse the sort order",
        ),
        hinted(b(
            Heatmap,
            Char('w'),
            Action::ToggleCorrWindow,
            "toggle 60D / 252D lookback",
        )),
        b(Heatmap, Left, Action::Left, "scroll left"),
        b(Heatmap, Right, Action::Right, "scroll right"),
        b(Heatmap, Char('h'), Action::Left, "scroll left"),
        b(Heatmap, Char('l'), Action::Right, "scroll right"),
        b(Prompt, Char('i'), Action::StartInput, "type a tool call"),
        b(Detail, Char('q'), Action::Close, "close the detail view"),
        b(Answer, Char('q'), Action::Close, "close the answer"),
        b(Help, Char('q'), Action::Close, "close the help"),
        b(Help, Char('?'), Action::Close, "close the help"),
        b(Input, Enter, Action::Submit, "run the tool"),
        b(
            Input,
            Tab,
            Action::Complete,
            "complete tool / parameter name",
        ),
        b(Input, Up, Action::HistoryPrev, "previous command"),
        b(Input, Down, Action::HistoryNext, "next command"),
        b(Input, Esc, Action::CancelInput, "leave the input line"),
        ctrl(b(Input, Char('c'), Action::Quit, "quit")),
    ]
});

/// Every binding, in help order.
pub fn bindings() -> &'static [Binding] {
    &BINDINGS
}

/// The scopes active for the app's current state, most specific first.
pub fn active_scopes(app: &App) -> Vec<Scope> {
    if app.input_active {
        return vec![Scope::Input];
    }
    if app.help {
        return vec![Scope::Help, Scope::Global];
    }
    match &app.view {
        Some(View::Detail(_)) => return vec![Scope::Detail, Scope::Global],
        Some(View::Answer(_)) => return vec![Scope::Answer, Scope::Global],
        None => {}
    }
    let pane = match app.focus {
        Pane::Positions => Some(Scope::Positions),
        Pane::Heatmap => Some(Scope::Heatmap),
        Pane::Prompt => Some(Scope::Prompt),
        Pane::Margin | Pane::Movers => None,
    };
    pane.into_iter().chain([Scope::Global]).collect()
}

/// Shift is part of the character for letters and symbols, so it is ignored when matching.
fn normalize(key: KeyEvent) -> (KeyCode, KeyModifiers) {
    let mods = key.modifiers - KeyModifiers::SHIFT;
    (key.code, mods)
}

/// Whether `binding` matches `key`.
pub fn matches(binding: &Binding, key: KeyEvent) -> bool {
    let (code, mods) = normalize(key);
    binding.code == code && binding.mods == mods
}

/// The action for a key in the app's current state. While typing, unbound keys edit the line.
pub fn lookup(app: &App, key: KeyEvent) -> Option<Action> {
    let scopes = active_scopes(app);
    for scope in &scopes {
        if let Some(binding) = bindings()
            .iter()
            .find(|bd| bd.scope == *scope && matches(bd, key))
        {
            return Some(binding.action.clone());
        }
    }
    if app.input_active {
        return Some(Action::InputKey(key));
    }
    None
}

/// How a key is written in the help (`Ctrl-C`, `Enter`, `S`).
pub fn key_label(binding: &Binding) -> String {
    let code = match binding.code {
        Char(' ') => "Space".to_string(),
        Char(c) => c.to_string(),
        Tab => "Tab".into(),
        BackTab => "Shift-Tab".into(),
        Enter => "Enter".into(),
        Esc => "Esc".into(),
        Up => "↑".into(),
        Down => "↓".into(),
        Left => "←".into(),
        Right => "→".into(),
        PageUp => "PgUp".into(),
        PageDown => "PgDn".into(),
        Home => "Home".into(),
        End => "End".into(),
        other => format!("{other:?}"),
    };
    if binding.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{}", code.to_uppercase())
    } else {
        code
    }
}

/// Footer hints for the current state: `(key, description)` for hinted bindings in scope.
pub fn hints(app: &App) -> Vec<(String, &'static str)> {
    let scopes = active_scopes(app);
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for scope in &scopes {
        for bd in bindings().iter().filter(|bd| bd.scope == *scope) {
            let show = bd.hint
                || matches!(
                    scope,
                    Scope::Input | Scope::Detail | Scope::Answer | Scope::Help
                );
            let label = key_label(bd);
            if !show
                || out
                    .iter()
                    .any(|(k, _)| k.split('/').any(|part| part == label))
            {
                continue;
            }
            let desc = short(bd.description);
            // Keys doing the same thing share one hint: `↑/↓ history`, `q/? close`.
            match out.last_mut() {
                Some((keys, last)) if *last == desc => {
                    keys.push('/');
                    keys.push_str(&label);
                }
                _ => out.push((label, desc)),
            }
        }
    }
    out
}

/// The first words of a description, for the footer.
fn short(description: &'static str) -> &'static str {
    match description {
        "focus the next pane" => "focus",
        "move up / scroll up" => "move",
        "open the selected position or tool call" => "open",
        "run a tool from the prompt" => "run tool",
        "show / hide this help" => "help",
        "sort by the next column" => "sort",
        "toggle 60D / 252D lookback" => "60D/252D",
        "run the tool" => "run",
        "complete tool / parameter name" => "complete",
        "previous command" => "history",
        "next command" => "history",
        "leave the input line" => "leave",
        "close the detail view" | "close the answer" | "close the help" => "close",
        "close help / detail / answer" => "close",
        other => other,
    }
}
