//! Prompt pane: the live journal of tool calls from every front door (newest first: time,
//! client, tool, arguments, duration, and the answer's headline or the error), and the input
//! line where the trader runs a tool the same way (`ibkr_what_if symbol=KRYX action=BUY
//! quantity=100`, Tab completes).

use super::app::{App, CompletionPopup, INPUT_PLACEHOLDER, Pane};
use super::format;
use super::invocation;
use super::pane_block;
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, List, ListItem, ListState, Paragraph, Row, Table, TableState,
};

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let focused = app.focus == Pane::Prompt;
    let title = format!(
        "Prompt · {}",
        format::count(state.journal.len(), "tool call")
    );
    let block = pane_block(app, &title, focused);
    let inner = block.inner(area);
    let [journal_area, input_area, hint_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let (above, below) = journal_window(app, state, journal_area);
    frame.render_widget(
        super::with_marks(block, app, format::more_marks(above, below)),
        area,
    );
    render_journal(frame, journal_area, app, state, focused);
    render_input(frame, input_area, hint_area, app);
    if let Some(popup) = &app.completion {
        render_completion(frame, journal_area, input_area, app, popup);
    }
}

/// Journal rows that fit under the table header.
fn journal_rows(area: Rect) -> usize {
    (area.height as usize).saturating_sub(1).max(1)
}

/// How many journal entries are above and below the ones on screen.
fn journal_window(app: &App, state: &LiveState, area: Rect) -> (usize, usize) {
    let n = state.journal.len();
    if n == 0 {
        return (0, 0);
    }
    let visible = journal_rows(area);
    let offset = format::scroll_offset(app.journal_selected.min(n - 1), visible);
    (offset, n.saturating_sub(offset + visible))
}

fn render_journal(frame: &mut Frame, area: Rect, app: &App, state: &LiveState, focused: bool) {
    let t = &app.theme;
    if state.journal.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No tool calls yet. Calls from Claude (MCP) and from the line below appear here live.",
                t.dim,
            ))
            .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    // Fixed columns; arguments and result share what is left (the result, which carries the
    // answer's headline, gets 60%).
    let fixed = 8 + 1 + 11 + 1 + 22 + 1 + 7 + 1 + 1;
    let shared = (area.width as usize).saturating_sub(fixed);
    let args_width = (shared * 2 / 5).max(8);
    let result_width = shared.saturating_sub(args_width).max(8);
    let header =
        Row::new(["Time", "Client", "Tool", "Arguments", "     ms", "Result"].map(Cell::from))
            .style(t.table_header);
    let n = state.journal.len();
    let selected = app.journal_selected.min(n - 1);
    let visible = journal_rows(area);
    let offset = format::scroll_offset(selected, visible);
    let rows = state
        .journal
        .iter()
        .rev()
        .skip(offset)
        .take(visible)
        .map(|r| {
            let (result, style) = if r.ok {
                (format::truncate(&ok_line(&r.headline), result_width), t.ok)
            } else {
                (
                    format!("✗ {}", r.error.as_deref().unwrap_or("error")),
                    t.error,
                )
            };
            Row::new(vec![
                Cell::from(Span::styled(format::clock(r.time), t.dim)),
                Cell::from(Span::styled(format::truncate(&r.client, 11), t.text)),
                Cell::from(Span::styled(format::truncate(&r.tool, 22), t.key)),
                Cell::from(Span::styled(
                    format::truncate(&invocation::format_args(&r.arguments), args_width),
                    t.text,
                )),
                Cell::from(Span::styled(format!("{:>7.0}", r.duration_ms), t.dim)),
                Cell::from(Span::styled(result, style)),
            ])
        });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(22),
        Constraint::Length(args_width as u16),
        Constraint::Length(7),
        Constraint::Min(8),
    ];
    let selected_style = if focused {
        t.selected
    } else {
        ratatui::style::Style::default()
    };
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .row_highlight_style(selected_style);
    let mut ts = TableState::default().with_selected(focused.then_some(selected - offset));
    frame.render_stateful_widget(table, area, &mut ts);
}

/// A successful call's result cell: its headline on one line, or `✓ ok` when the record has
/// none (written by an older build).
fn ok_line(headline: &str) -> String {
    let line = headline.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "✓ ok".to_string()
    } else {
        format!("✓ {line}")
    }
}

fn render_input(frame: &mut Frame, input_area: Rect, hint_area: Rect, app: &App) {
    let t = &app.theme;
    let prompt_style = if app.input_active { t.key } else { t.dim };
    let [marker, field] =
        Layout::horizontal([Constraint::Length(2), Constraint::Min(1)]).areas(input_area);
    frame.render_widget(Paragraph::new(Span::styled("› ", prompt_style)), marker);
    if app.input_active {
        frame.render_widget(&app.input, field);
    } else {
        let text = app.input_text();
        let line = if text.is_empty() {
            Span::styled(INPUT_PLACEHOLDER, t.placeholder)
        } else {
            Span::styled(text, t.input)
        };
        frame.render_widget(Paragraph::new(line), field);
    }
    let hint = match &app.input_hint {
        Some(h) if app.input_error => Line::from(Span::styled(format!("  {h}"), t.error)),
        Some(h) => Line::from(Span::styled(format!("  {h}"), t.dim)),
        None if app.completion.is_some() => Line::from(Span::styled(
            "  Tab / ↑↓ choose · type to go on · Enter runs · Esc leaves",
            t.dim,
        )),
        None if app.input_active => Line::from(Span::styled(
            "  Tab completes · ↑↓ history · Enter runs · Esc leaves",
            t.dim,
        )),
        None => Line::default(),
    };
    frame.render_widget(Paragraph::new(hint), hint_area);
}

/// The Tab-completion popup: a bordered list just above the input line, under the word being
/// completed, the chosen candidate highlighted; long lists scroll with the choice and say how
/// many are hidden.
fn render_completion(
    frame: &mut Frame,
    above: Rect,
    input_area: Rect,
    app: &App,
    popup: &CompletionPopup,
) {
    let t = &app.theme;
    let n = popup.candidates.len();
    let widest = popup
        .candidates
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let marks_width = format::more_marks(n, n).map_or(0, |m| m.chars().count());
    let width = ((widest.max(marks_width) + 4) as u16).min(input_area.width);
    let height = (n as u16 + 2).min(above.height);
    if height < 3 || width < 5 {
        return;
    }
    // Under the word being completed (after the `› ` marker), kept inside the pane.
    let word_x = input_area.x + 2 + popup.head.chars().count() as u16;
    let x = word_x.min(input_area.right().saturating_sub(width));
    let area = Rect {
        x,
        y: above.bottom() - height,
        width,
        height,
    };
    let visible = (height - 2) as usize;
    let offset = format::scroll_offset(popup.selected.unwrap_or(0), visible);
    let below = n.saturating_sub(offset + visible);
    let block = super::with_marks(
        Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focused)
            .title(Span::styled(
                if n == 1 {
                    " 1 match ".to_string()
                } else {
                    format!(" {n} matches ")
                },
                t.title_focused,
            )),
        app,
        format::more_marks(offset, below),
    );
    let items: Vec<ListItem> = popup
        .candidates
        .iter()
        .skip(offset)
        .take(visible)
        .map(|c| ListItem::new(Span::styled(format!(" {c}"), t.text)))
        .collect();
    let mut state =
        ListState::default().with_selected(popup.selected.map(|s| s.saturating_sub(offset)));
    frame.render_widget(Clear, area);
    frame.render_stateful_widget(
        List::new(items).block(block).highlight_style(t.selected),
        area,
        &mut state,
    );
}
