//! Help overlay (`?`), generated from the keymap so it always says what the keys really do;
//! and the footer bar of key hints for the current context, from the same table.

use super::app::App;
use super::keymap::{self, Scope};
use super::layout::centered;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Help lines, one section per scope, keys sharing an action joined (`↑ / k  move up`).
pub fn lines(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let scopes = [
        Scope::Global,
        Scope::Positions,
        Scope::Heatmap,
        Scope::Prompt,
        Scope::Input,
        Scope::Detail,
        Scope::Answer,
        Scope::Help,
    ];
    let mut out = Vec::new();
    for scope in scopes {
        let mut entries: Vec<(String, &str)> = Vec::new();
        for bd in keymap::bindings().iter().filter(|b| b.scope == scope) {
            let label = keymap::key_label(bd);
            match entries.iter_mut().find(|(_, d)| *d == bd.description) {
                Some((keys, _)) => {
                    keys.push_str(" / ");
                    keys.push_str(&label);
                }
                None => entries.push((label, bd.description)),
            }
        }
        if entries.is_empty() {
            continue;
        }
        out.push(Line::from(Span::styled(
            scope.title().to_string(),
            t.subheading,
        )));
        for (keys, desc) in entries {
            out.push(Line::from(vec![
                Span::styled(format!("  {keys:<16}"), t.key),
                Span::styled(desc.to_string(), t.text),
            ]));
        }
        out.push(Line::default());
    }
    out.push(Line::from(Span::styled(
        "Mouse: click a pane (or a card tab) to focus it; wheel scrolls.",
        t.dim,
    )));
    out
}

pub fn render(frame: &mut Frame, body: Rect, app: &App) {
    let lines = lines(app);
    // Two columns when one would not fit the height (it never scrolls: all keys at a glance).
    let columns: u16 = if lines.len() as u16 + 2 > body.height {
        2
    } else {
        1
    };
    let per_column = lines.len().div_ceil(columns as usize);
    let height = (per_column as u16 + 2).min(body.height);
    let area = centered(body, 64 * columns + 2, height);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border_focused)
        .title(Span::styled(
            " Keys · ? or Esc closes ",
            app.theme.title_focused,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width / columns;
    for (i, chunk) in lines.chunks(per_column.max(1)).enumerate() {
        let col = Rect {
            x: inner.x + width * i as u16,
            width,
            ..inner
        };
        frame.render_widget(Paragraph::new(chunk.to_vec()), col);
    }
}

/// The footer: key hints for what is on screen now.
pub fn render_footer(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    for (key, desc) in keymap::hints(app) {
        spans.push(Span::styled(key, t.key));
        spans.push(Span::styled(format!(" {desc}  "), t.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
