//! Cockpit state and its reducer. `App::handle(Action, &LiveState)` is the only place state
//! changes; it does no I/O and returns `Effect`s (fetch bars, run a tool) for the event loop to
//! carry out in background tasks, whose results come back as `Action`s. That keeps every key
//! path testable without a terminal or a gateway.

use super::book::{self, BookView, SortColumn};
use super::completion;
use super::invocation::{self, ToolInfo};
use super::theme::Theme;
use crate::analytics::correlation::DisplayMatrix;
use crate::config::{Config, Thresholds};
use crate::model::{Bar, Millis};
use crate::store::LiveState;
use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// Most symbols the heatmap correlates (heaviest by weight); it scrolls when they don't fit.
pub const HEATMAP_MAX_SYMBOLS: usize = 20;
/// Shortest time between two correlation fetches for a changed top-holdings set. In a big book
/// of near-equal weights the top 20 swap members on every tick; correlations come from daily
/// bars, so refetching more often than this would only burn CPU (and flash "computing…").
pub const CORR_REFRESH_MS: Millis = 60_000;
/// How many lines of prompt history are kept.
const HISTORY_MAX: usize = 200;
/// What the input line shows before the trader starts typing (gone once it is focused).
pub const INPUT_PLACEHOLDER: &str =
    "press : to run a tool — e.g. ibkr_what_if symbol=KRYX action=BUY quantity=100";

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Positions,
    Margin,
    Movers,
    Heatmap,
    Prompt,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Positions,
        Pane::Margin,
        Pane::Movers,
        Pane::Heatmap,
        Pane::Prompt,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Positions => "Positions",
            Pane::Margin => "Margin",
            Pane::Movers => "Movers",
            Pane::Heatmap => "Correlation",
            Pane::Prompt => "Prompt",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn next(self) -> Pane {
        Pane::ALL[(self.index() + 1) % Pane::ALL.len()]
    }

    pub fn prev(self) -> Pane {
        Pane::ALL[(self.index() + Pane::ALL.len() - 1) % Pane::ALL.len()]
    }
}

/// Correlation lookback the heatmap shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrWindow {
    D60,
    D252,
}

impl CorrWindow {
    pub fn days(self) -> usize {
        match self {
            CorrWindow::D60 => 60,
            CorrWindow::D252 => 252,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            CorrWindow::D60 => "60D",
            CorrWindow::D252 => "252D",
        }
    }
}

/// Data fetched in the background: not there yet, there, or failed (with the reason shown).
#[derive(Debug, Clone, PartialEq)]
pub enum Fetch<T> {
    Loading,
    Ready(T),
    Failed(String),
}

/// Both correlation windows, computed together from one year of daily bars.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrPair {
    pub d60: DisplayMatrix,
    pub d252: DisplayMatrix,
}

/// The position detail view (Enter on a position).
#[derive(Debug, Clone, PartialEq)]
pub struct DetailView {
    pub account: String,
    pub con_id: i32,
    pub symbol: String,
    pub bars: Fetch<Arc<Vec<Bar>>>,
}

/// The full markdown answer of a tool call, scrollable.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerView {
    /// `tool args` as typed or journaled.
    pub title: String,
    /// Who made the call and when, e.g. `claude-code · 17:17:44 · 412 ms`.
    pub subtitle: String,
    pub body: Fetch<String>,
    pub scroll: u16,
}

/// Full-screen views over the panes. Help is separate: it can sit on top of either.
#[derive(Debug, Clone, PartialEq)]
pub enum View {
    Detail(DetailView),
    Answer(AnswerView),
}

/// Every input the cockpit reacts to: keys (through the keymap), the clock, the store, and the
/// results of background work.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    Focus(Pane),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    SortNext,
    SortPrev,
    SortReverse,
    /// Enter: open the selected position / journal entry.
    Open,
    /// Esc: close the help, then the open view.
    Close,
    ToggleHelp,
    /// Open the alerts list (firing now, latest firings, rules).
    ShowAlerts,
    ToggleCorrWindow,
    /// The terminal's size (at start and on every resize).
    Resize(u16, u16),
    /// Focus the prompt's input line.
    StartInput,
    /// A key typed into the input line.
    InputKey(KeyEvent),
    Submit,
    Complete,
    HistoryPrev,
    HistoryNext,
    CancelInput,
    /// Once a second, with the store clock's time.
    Tick(Millis),
    /// The store has a new version.
    StateChanged,
    BarsLoaded {
        symbol: String,
        result: Result<Arc<Vec<Bar>>, String>,
    },
    CorrelationLoaded {
        symbols: Vec<String>,
        result: Result<CorrPair, String>,
    },
    ToolFinished {
        line: String,
        result: Result<String, String>,
    },
}

/// Work for the event loop to start in the background.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// One year of daily bars for the detail chart.
    FetchBars { symbol: String, currency: String },
    /// Daily bars for each (symbol, currency), then both correlation windows.
    FetchCorrelation { symbols: Vec<(String, String)> },
    /// Run a tool through `call_journaled` with client "cockpit".
    RunTool {
        line: String,
        name: String,
        args: Value,
    },
    /// Ring the terminal bell (an alert fired).
    Bell,
}

/// The Tab-completion popup: the candidates for the word being completed, and which one the
/// line holds now (`None` right after the first Tab, which completed the common prefix).
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionPopup {
    /// The line up to the word being completed.
    pub head: String,
    pub candidates: Vec<String>,
    pub selected: Option<usize>,
}

/// Display settings the views need from the config, copied once.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mask_accounts: bool,
    pub thresholds: Thresholds,
    pub stale_after_ms: i64,
    /// Shown in the header, e.g. `http://127.0.0.1:8787/mcp`.
    pub mcp_url: Option<String>,
    /// `demo`, `live`, ...: shown next to the title.
    pub mode_label: Option<String>,
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            mask_accounts: config.display.mask_accounts,
            thresholds: config.thresholds.clone(),
            stale_after_ms: (config.data.stale_after_secs as i64).saturating_mul(1000),
            mcp_url: None,
            mode_label: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mask_accounts: true,
            thresholds: Thresholds {
                cushion_watch: 0.15,
                cushion_danger: 0.05,
                margin_util_watch: 0.80,
                margin_util_danger: 0.95,
                leverage_watch: 2.0,
                leverage_danger: 3.0,
                concentration_pct: 0.25,
            },
            stale_after_ms: 30_000,
            mcp_url: None,
            mode_label: None,
        }
    }
}

/// The whole UI state. Views read it; only `handle` writes it.
#[derive(Debug, Clone)]
pub struct App {
    pub theme: Theme,
    pub settings: Settings,
    /// Tools the prompt can run (from `crate::tools::catalog()`).
    pub tools: Vec<ToolInfo>,
    pub now: Millis,
    pub focus: Pane,
    /// The pane shown under the positions on small terminals (the last non-positions focus).
    pub secondary: Pane,
    pub help: bool,
    /// First line of the help overlay on screen (it scrolls when it does not fit).
    pub help_scroll: u16,
    /// The terminal's size, for the scroll limits of views that depend on it.
    pub viewport: ratatui::layout::Rect,
    pub view: Option<View>,
    pub sort: SortColumn,
    pub descending: bool,
    /// Selected row of the positions table (in sorted order).
    pub selected: usize,
    /// Selected journal entry, 0 = newest.
    pub journal_selected: usize,
    /// First line of the margin pane on screen (two accounts scroll in a small card).
    pub margin_scroll: usize,
    pub corr_window: CorrWindow,
    pub corr: Fetch<CorrPair>,
    /// First row/column of the heatmap on screen (big books scroll).
    pub heat_scroll: usize,
    /// Symbols the last correlation fetch was for (sorted), to refetch only when holdings change.
    corr_requested: Vec<String>,
    /// When (store clock) the last correlation fetch was asked for.
    corr_requested_at: Option<Millis>,
    /// Rows, weights and movers of the latest snapshot, kept up to date by `handle`.
    pub book: BookView,
    pub input: TextArea<'static>,
    pub input_active: bool,
    pub history: Vec<String>,
    history_pos: Option<usize>,
    draft: String,
    /// Tab completion's candidates, shown in a popup over the journal while they are open.
    pub completion: Option<CompletionPopup>,
    /// A parse error, shown under the input line.
    pub input_hint: Option<String>,
    pub input_error: bool,
    pub should_quit: bool,
    /// Id of the newest alert firing already seen (newer ones may ring the bell).
    pub alerts_seen: u64,
}

fn new_input(theme: &Theme) -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_cursor_line_style(ratatui::style::Style::default());
    input.set_style(theme.input);
    // No placeholder inside the editor: the hint is shown only while the line is not focused
    // (see `prompt::render_input`), so it never sits next to the cursor.
    input.set_placeholder_style(theme.placeholder);
    input
}

impl App {
    pub fn new(theme: Theme, settings: Settings, tools: Vec<ToolInfo>, now: Millis) -> App {
        let input = new_input(&theme);
        App {
            theme,
            settings,
            tools,
            now,
            focus: Pane::Positions,
            secondary: Pane::Margin,
            help: false,
            help_scroll: 0,
            viewport: ratatui::layout::Rect::default(),
            view: None,
            sort: SortColumn::Weight,
            descending: true,
            selected: 0,
            journal_selected: 0,
            margin_scroll: 0,
            corr_window: CorrWindow::D60,
            corr: Fetch::Loading,
            heat_scroll: 0,
            corr_requested: Vec::new(),
            corr_requested_at: None,
            book: BookView::default(),
            input,
            input_active: false,
            history: Vec::new(),
            history_pos: None,
            draft: String::new(),
            completion: None,
            input_hint: None,
            input_error: false,
            should_quit: false,
            alerts_seen: 0,
        }
    }

    /// The text currently in the input line.
    pub fn input_text(&self) -> String {
        self.input.lines().join(" ")
    }

    fn set_input_text(&mut self, text: &str) {
        let mut input = new_input(&self.theme);
        input.insert_str(text);
        self.input = input;
    }

    fn focus_on(&mut self, pane: Pane) {
        self.focus = pane;
        if pane != Pane::Positions {
            self.secondary = pane;
        }
    }

    /// Applies one action. Returns the background work it asks for.
    pub fn handle(&mut self, action: Action, state: &LiveState) -> Vec<Effect> {
        let mut effects = Vec::new();
        // Derived rows follow the snapshot before any action reads them, and the sort after.
        self.book.refresh(state, self.sort, self.descending);
        self.apply(action, state, &mut effects);
        self.book.refresh(state, self.sort, self.descending);
        effects
    }

    fn apply(&mut self, action: Action, state: &LiveState, effects: &mut Vec<Effect>) {
        match action {
            Action::Quit => self.should_quit = true,
            Action::FocusNext => self.focus_on(self.focus.next()),
            Action::FocusPrev => self.focus_on(self.focus.prev()),
            Action::Focus(p) => self.focus_on(p),
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::ShowAlerts => self.show_alerts(state),
            Action::Resize(width, height) => {
                self.viewport = ratatui::layout::Rect::new(0, 0, width, height);
                self.help_scroll = self.help_scroll.min(self.help_max_scroll());
            }
            Action::Close => {
                if self.help {
                    self.help = false;
                } else if self.input_active {
                    self.input_active = false;
                } else {
                    self.view = None;
                }
            }
            Action::Up => self.move_selection(state, -1),
            Action::Down => self.move_selection(state, 1),
            Action::PageUp => self.move_selection(state, -10),
            Action::PageDown => self.move_selection(state, 10),
            Action::Top => self.move_selection(state, i64::MIN / 2),
            Action::Bottom => self.move_selection(state, i64::MAX / 2),
            Action::Left | Action::Right if self.focus == Pane::Heatmap && self.view.is_none() => {
                let delta = if action == Action::Left { -1 } else { 1 };
                self.scroll_heatmap(delta);
            }
            Action::Left | Action::Right => {}
            Action::SortNext => self.set_sort(self.sort.next()),
            Action::SortPrev => self.set_sort(self.sort.prev()),
            Action::SortReverse => self.descending = !self.descending,
            Action::Open => self.open(state, effects),
            Action::ToggleCorrWindow => {
                self.corr_window = match self.corr_window {
                    CorrWindow::D60 => CorrWindow::D252,
                    CorrWindow::D252 => CorrWindow::D60,
                }
            }
            Action::StartInput => {
                self.input_active = true;
                self.focus_on(Pane::Prompt);
            }
            Action::CancelInput => {
                self.input_active = false;
                self.input_hint = None;
                self.completion = None;
            }
            Action::InputKey(key) => {
                self.input.input(key);
                self.input_hint = None;
                self.completion = None;
                self.history_pos = None;
            }
            Action::Complete => self.complete(),
            Action::HistoryPrev if self.completion.is_some() => self.cycle_completion(-1),
            Action::HistoryNext if self.completion.is_some() => self.cycle_completion(1),
            Action::HistoryPrev => self.history_step(-1),
            Action::HistoryNext => self.history_step(1),
            Action::Submit => self.submit(effects),
            Action::Tick(now) => self.now = now,
            Action::StateChanged => self.on_state_changed(state, effects),
            Action::BarsLoaded { symbol, result } => {
                if let Some(View::Detail(d)) = &mut self.view
                    && d.symbol == symbol
                {
                    d.bars = match result {
                        Ok(b) => Fetch::Ready(b),
                        Err(e) => Fetch::Failed(e),
                    };
                }
            }
            Action::CorrelationLoaded { symbols, result } => {
                let mut sorted = symbols;
                sorted.sort();
                if sorted == self.corr_requested {
                    self.corr = match (result, &self.corr) {
                        (Ok(pair), _) => Fetch::Ready(pair),
                        // A failed refresh keeps the matrix already shown (same daily bars).
                        (Err(_), Fetch::Ready(_)) => return,
                        (Err(e), _) => Fetch::Failed(e),
                    };
                }
            }
            Action::ToolFinished { line, result } => {
                if let Some(View::Answer(a)) = &mut self.view
                    && a.title == line
                    && a.body == Fetch::Loading
                {
                    a.body = match result {
                        Ok(md) => Fetch::Ready(md),
                        Err(e) => Fetch::Failed(e),
                    };
                }
            }
        }
    }

    /// Tab: the first press completes the common prefix and opens the popup of candidates; the
    /// next ones put each candidate in the line in turn, round and round.
    fn complete(&mut self) {
        self.input_error = false;
        self.input_hint = None;
        if self.completion.is_some() {
            self.cycle_completion(1);
            return;
        }
        let c = completion::complete(&self.input_text(), &self.tools);
        self.set_input_text(&c.line);
        if c.candidates.len() > 1 {
            let head = match c.line.rfind(' ') {
                Some(i) => c.line[..=i].to_string(),
                None => String::new(),
            };
            self.completion = Some(CompletionPopup {
                head,
                candidates: c.candidates,
                selected: None,
            });
        }
    }

    fn cycle_completion(&mut self, delta: i64) {
        let Some(popup) = &mut self.completion else {
            return;
        };
        let n = popup.candidates.len() as i64;
        if n == 0 {
            return;
        }
        let next = match popup.selected {
            None if delta < 0 => n - 1,
            None => 0,
            Some(i) => (i as i64 + delta).rem_euclid(n),
        } as usize;
        popup.selected = Some(next);
        let line = format!("{}{}", popup.head, popup.candidates[next]);
        self.set_input_text(&line);
    }

    /// How far the help overlay can scroll on the current terminal.
    pub fn help_max_scroll(&self) -> u16 {
        match super::layout::compute(self.viewport, self.secondary) {
            super::layout::Screen::Panes(areas) => super::help::max_scroll(self, areas.body),
            super::layout::Screen::TooSmall { .. } => 0,
        }
    }

    fn set_sort(&mut self, column: SortColumn) {
        self.sort = column;
        self.descending = column.default_descending();
        self.selected = 0;
    }

    fn scroll_heatmap(&mut self, delta: i64) {
        let n = match &self.corr {
            Fetch::Ready(pair) => pair.d60.symbols.len(),
            _ => 0,
        };
        self.heat_scroll = clamp_step(self.heat_scroll, delta, n);
    }

    fn move_selection(&mut self, state: &LiveState, delta: i64) {
        if self.help {
            let max = if self.viewport.area() == 0 {
                u16::MAX
            } else {
                self.help_max_scroll()
            };
            self.help_scroll = (self.help_scroll as i64 + delta).clamp(0, max as i64) as u16;
            return;
        }
        match &mut self.view {
            Some(View::Answer(a)) => {
                let next = (a.scroll as i64 + delta).clamp(0, u16::MAX as i64);
                a.scroll = next as u16;
                return;
            }
            Some(View::Detail(_)) => return,
            None => {}
        }
        match self.focus {
            Pane::Positions => {
                let n = self.book.rows.len();
                self.selected = clamp_step(self.selected, delta, n);
            }
            Pane::Prompt => {
                self.journal_selected =
                    clamp_step(self.journal_selected, delta, state.journal.len());
            }
            Pane::Heatmap => self.scroll_heatmap(delta),
            Pane::Margin => {
                let lines = super::margin::line_count(state, &self.settings.thresholds);
                let shown = match super::layout::compute(self.viewport, self.secondary) {
                    super::layout::Screen::Panes(areas) => areas
                        .pane(Pane::Margin)
                        .map_or(1, |r| r.height.saturating_sub(2) as usize),
                    super::layout::Screen::TooSmall { .. } => 1,
                };
                let positions = lines.saturating_sub(shown) + 1;
                self.margin_scroll = clamp_step(self.margin_scroll, delta, positions);
            }
            Pane::Movers => {}
        }
    }

    fn open(&mut self, state: &LiveState, effects: &mut Vec<Effect>) {
        match self.focus {
            Pane::Positions => {
                let Some(row) = self.book.rows.get(self.selected) else {
                    return;
                };
                self.view = Some(View::Detail(DetailView {
                    account: row.account.clone(),
                    con_id: row.con_id,
                    symbol: row.symbol.clone(),
                    bars: Fetch::Loading,
                }));
                effects.push(Effect::FetchBars {
                    symbol: row.symbol.clone(),
                    currency: row.currency.clone(),
                });
            }
            Pane::Prompt => {
                let Some(record) = state.journal.iter().rev().nth(self.journal_selected) else {
                    return;
                };
                let args = invocation::format_args(&record.arguments);
                self.view = Some(View::Answer(AnswerView {
                    title: format!("{} {args}", record.tool).trim_end().to_string(),
                    subtitle: format!(
                        "{} · {} UTC · {:.0} ms",
                        record.client,
                        super::format::clock(record.time),
                        record.duration_ms
                    ),
                    body: match (&record.error, record.ok) {
                        (Some(e), false) => Fetch::Failed(e.clone()),
                        (None, false) => Fetch::Failed("the call failed".into()),
                        _ => Fetch::Ready(record.markdown.clone()),
                    },
                    scroll: 0,
                }));
            }
            Pane::Margin | Pane::Movers | Pane::Heatmap => {}
        }
    }

    fn submit(&mut self, effects: &mut Vec<Effect>) {
        let line = self.input_text().trim().to_string();
        if line.is_empty() {
            return;
        }
        match invocation::parse(&line, &self.tools) {
            Err(e) => {
                self.input_hint = Some(e);
                self.input_error = true;
            }
            Ok((name, args)) => {
                if self.history.last() != Some(&line) {
                    self.history.push(line.clone());
                    if self.history.len() > HISTORY_MAX {
                        self.history.remove(0);
                    }
                }
                self.history_pos = None;
                self.set_input_text("");
                self.input_hint = None;
                self.completion = None;
                self.input_error = false;
                self.input_active = false;
                self.view = Some(View::Answer(AnswerView {
                    title: line.clone(),
                    subtitle: format!("cockpit · {} UTC", super::format::clock(self.now)),
                    body: Fetch::Loading,
                    scroll: 0,
                }));
                effects.push(Effect::RunTool { line, name, args });
            }
        }
    }

    fn history_step(&mut self, delta: i64) {
        if self.history.is_empty() {
            return;
        }
        let last = self.history.len() - 1;
        let next = match (self.history_pos, delta < 0) {
            (None, true) => {
                self.draft = self.input_text();
                Some(last)
            }
            (None, false) => None,
            (Some(0), true) => Some(0),
            (Some(i), true) => Some(i - 1),
            (Some(i), false) if i >= last => None,
            (Some(i), false) => Some(i + 1),
        };
        self.history_pos = next;
        let text = match next {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.set_input_text(&text);
    }

    /// Opens (or refreshes) the alerts list in the answer view.
    fn show_alerts(&mut self, state: &LiveState) {
        let firing = state.alerts.firing.len();
        let scroll = match &self.view {
            Some(View::Answer(a)) if a.title == super::alerts::TITLE => a.scroll,
            _ => 0,
        };
        self.view = Some(View::Answer(AnswerView {
            title: super::alerts::TITLE.to_string(),
            subtitle: format!("{firing} firing · {} rule(s)", state.alerts.rules.len()),
            body: Fetch::Ready(super::alerts::list_markdown(&state.alerts)),
            scroll,
        }));
    }

    fn on_state_changed(&mut self, state: &LiveState, effects: &mut Vec<Effect>) {
        let (bell, newest) = super::alerts::new_firings(&state.alerts, self.alerts_seen);
        if bell {
            effects.push(Effect::Bell);
        }
        self.alerts_seen = newest;
        if matches!(&self.view, Some(View::Answer(a)) if a.title == super::alerts::TITLE) {
            self.show_alerts(state);
        }
        let rows = &self.book.rows;
        self.selected = self.selected.min(rows.len().saturating_sub(1));
        self.journal_selected = self
            .journal_selected
            .min(state.journal.len().saturating_sub(1));
        // Refetch correlations only when the set of top holdings changes, not when prices move,
        // and (once a matrix is shown) at most every CORR_REFRESH_MS, keeping the old one
        // on screen meanwhile.
        let top: Vec<String> = self
            .book
            .by_weight
            .iter()
            .take(HEATMAP_MAX_SYMBOLS)
            .cloned()
            .collect();
        let mut key = top.clone();
        key.sort();
        if key.is_empty() || key == self.corr_requested {
            return;
        }
        let showing = matches!(self.corr, Fetch::Ready(_));
        let recent = self
            .corr_requested_at
            .is_some_and(|at| self.now.saturating_sub(at) < CORR_REFRESH_MS);
        if showing && recent {
            return;
        }
        let symbols = top
            .into_iter()
            .map(|s| {
                let ccy = rows
                    .iter()
                    .find(|r| r.symbol == s)
                    .map(|r| r.currency.clone())
                    .unwrap_or_else(|| "USD".into());
                (s, ccy)
            })
            .collect();
        self.corr_requested = key;
        self.corr_requested_at = Some(self.now);
        if !showing {
            self.corr = Fetch::Loading;
        }
        effects.push(Effect::FetchCorrelation { symbols });
    }

    /// Positions in the order the table shows them.
    pub fn rows(&self, state: &LiveState) -> Vec<book::PositionRow> {
        self.book_of(state).rows.clone()
    }

    /// The derived book for `state`: the cached one when it is of this snapshot and sort (always,
    /// in the running cockpit), else built on the spot so a view never shows stale rows.
    pub fn book_of(&self, state: &LiveState) -> Cow<'_, BookView> {
        if self.book.matches(state, self.sort, self.descending) {
            Cow::Borrowed(&self.book)
        } else {
            Cow::Owned(BookView::build(state, self.sort, self.descending))
        }
    }
}

/// `current + delta`, clamped to `0..len`.
fn clamp_step(current: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (current as i64)
        .saturating_add(delta)
        .clamp(0, len as i64 - 1) as usize
}
