//! Prompt pane: the live journal of tool calls from every front door (newest first: time,
//! client, tool, arguments, duration, ok/error), and the input line where the trader runs a tool
//! the same way (`ibkr_what_if symbol=KRYX action=BUY quantity=100`, Tab completes).

use super::app::{App, Pane};
use super::format;
use super::invocation;
use super::pane_block;
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let focused = app.focus == Pane::Prompt;
    let title = format!("Prompt · {} calls", state.journal.len());
    let block = pane_block(app, &title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [journal_area, input_area, hint_area] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    render_journal(frame, journal_area, app, state, focused);
    render_input(frame, input_area, hint_area, app);
}

fn render_journal(frame: &mut Frame, area: Rect, app: &App, state: &LiveState, focused: bool) {
    let t = &app.theme;
    if state.journal.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No tool calls yet. Calls from Claude (MCP) and from the line below appear here live.",
                t.dim,
            )),
            area,
        );
        return;
    }
    // Fixed columns; arguments and result share what is left (arguments 60%).
    let fixed = 8 + 1 + 11 + 1 + 22 + 1 + 7 + 1 + 1;
    let args_width = ((area.width as usize).saturating_sub(fixed) * 3 / 5).max(8);
    let header =
        Row::new(["Time", "Client", "Tool", "Arguments", "     ms", "Result"].map(Cell::from))
            .style(t.table_header);
    let rows = state.journal.iter().rev().map(|r| {
        let (result, style) = if r.ok {
            ("✓ ok".to_string(), t.ok)
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
    let mut ts = TableState::default().with_selected(focused.then_some(app.journal_selected));
    frame.render_stateful_widget(table, area, &mut ts);
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
            Span::styled(app.input.placeholder_text().to_string(), t.placeholder)
        } else {
            Span::styled(text, t.input)
        };
        frame.render_widget(Paragraph::new(line), field);
    }
    let hint = match &app.input_hint {
        Some(h) if app.input_error => Line::from(Span::styled(format!("  {h}"), t.error)),
        Some(h) => Line::from(Span::styled(format!("  {h}"), t.dim)),
        None if app.input_active => Line::from(Span::styled(
            "  Tab completes · ↑↓ history · Enter runs · Esc leaves",
            t.dim,
        )),
        None => Line::default(),
    };
    frame.render_widget(Paragraph::new(hint), hint_area);
}
