//! One frame: layout, then each pane, then overlays. Reads `App` and the snapshot, nothing else.

use super::app::{App, Pane, View};
use super::layout::{self, MIN_HEIGHT, MIN_WIDTH, Screen};
use super::{detail, header, heatmap, help, margin, movers, positions, prompt};
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// Draws the whole cockpit into `frame`.
pub fn draw(frame: &mut Frame, app: &App, state: &LiveState) {
    let area = frame.area();
    let areas = match layout::compute(area, app.secondary) {
        Screen::TooSmall { width, height } => {
            let text = vec![
                Line::from(Span::styled("Terminal too small", app.theme.heading)),
                Line::from(format!(
                    "{width}×{height} — the cockpit needs at least {MIN_WIDTH}×{MIN_HEIGHT}."
                )),
                Line::from(Span::styled(
                    "Enlarge the window, or press q to quit.",
                    app.theme.dim,
                )),
            ];
            let y = area.height.saturating_sub(3) / 2;
            let r = Rect {
                y,
                height: area.height.saturating_sub(y),
                ..area
            };
            frame.render_widget(
                Paragraph::new(text)
                    .alignment(Alignment::Center)
                    .wrap(Wrap { trim: true }),
                r,
            );
            return;
        }
        Screen::Panes(areas) => areas,
    };
    header::render(frame, areas.header, app, state);
    for (pane, rect) in &areas.panes {
        draw_pane(frame, *pane, *rect, app, state);
    }
    if let Some((strip, tabs)) = &areas.tabs {
        let mut spans = Vec::new();
        let card = areas.panes.get(1).map(|(p, _)| *p);
        for (i, (pane, _)) in tabs.iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled("│", app.theme.dim));
            }
            let style = if Some(*pane) == card {
                app.theme.title(app.focus == *pane)
            } else {
                app.theme.dim
            };
            spans.push(Span::styled(format!(" {} ", pane.title()), style));
        }
        spans.push(Span::styled("  Tab/click switches", app.theme.dim));
        frame.render_widget(Paragraph::new(Line::from(spans)), *strip);
    }
    match &app.view {
        Some(View::Detail(d)) => detail::render_detail(frame, areas.body, app, state, d),
        Some(View::Answer(a)) => detail::render_answer(frame, areas.body, app, a),
        None => {}
    }
    if app.help {
        help::render(frame, areas.body, app);
    }
    help::render_footer(frame, areas.footer, app);
}

fn draw_pane(frame: &mut Frame, pane: Pane, area: Rect, app: &App, state: &LiveState) {
    match pane {
        Pane::Positions => positions::render(frame, area, app, state),
        Pane::Margin => margin::render(frame, area, app, state),
        Pane::Movers => movers::render(frame, area, app, state),
        Pane::Heatmap => heatmap::render(frame, area, app, state),
        Pane::Prompt => prompt::render(frame, area, app, state),
    }
}
