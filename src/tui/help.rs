//! Help overlay (`?`), generated from the keymap so it always says what the keys really do;
//! and the footer bar of key hints for the current context, from the same table. The overlay
//! wraps its text to the width it has (two columns when the terminal is wide) and scrolls when
//! it is taller than the screen.

use super::app::App;
use super::format;
use super::keymap::{self, Scope};
use super::layout::centered;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Indent of an entry plus the keys column.
const KEYS_WIDTH: usize = 18;
/// Width of one column of the overlay (inside its border): at most this…
const COLUMN_WIDTH: u16 = 64;
/// …and at least this for two columns side by side (longer descriptions wrap).
const MIN_TWO_COLUMN_WIDTH: u16 = 52;
/// Space between the two columns.
const GAP: u16 = 2;

const MOUSE: &str = "Mouse: click a pane (or a card tab) to focus it; wheel scrolls.";

/// The key entries, one section per scope, keys sharing an action joined (`↑ / k`).
fn sections() -> Vec<(Scope, Vec<(String, &'static str)>)> {
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
        let mut entries: Vec<(String, &'static str)> = Vec::new();
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
        if !entries.is_empty() {
            out.push((scope, entries));
        }
    }
    out
}

/// One section's lines at `width`: its title, each entry with the description wrapped under
/// itself, a blank line.
fn section_lines(
    app: &App,
    scope: Scope,
    entries: &[(String, &str)],
    width: usize,
) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = vec![Line::from(Span::styled(
        scope.title().to_string(),
        t.subheading,
    ))];
    for (keys, desc) in entries {
        let keys_text = format!("  {keys}");
        let keys_len = keys_text.chars().count();
        // Keys longer than their column get a line of their own.
        let desc_width = width.saturating_sub(KEYS_WIDTH).max(8);
        let wrapped = format::wrap(desc, desc_width);
        let pad = |s: String, n: usize| format!("{s:<n$}");
        if keys_len + 1 > KEYS_WIDTH {
            out.push(Line::from(Span::styled(keys_text, t.key)));
            for part in wrapped {
                out.push(Line::from(vec![
                    Span::raw(" ".repeat(KEYS_WIDTH)),
                    Span::styled(part, t.text),
                ]));
            }
            continue;
        }
        for (i, part) in wrapped.into_iter().enumerate() {
            let keys = if i == 0 {
                keys_text.clone()
            } else {
                String::new()
            };
            out.push(Line::from(vec![
                Span::styled(pad(keys, KEYS_WIDTH), t.key),
                Span::styled(part, t.text),
            ]));
        }
    }
    out.push(Line::default());
    out
}

fn mouse_lines(app: &App, width: usize) -> Vec<Line<'static>> {
    format::wrap(MOUSE, width)
        .into_iter()
        .map(|l| Line::from(Span::styled(l, app.theme.dim)))
        .collect()
}

/// Every help line in one column `width` characters wide.
pub fn lines_at(app: &App, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (scope, entries) in sections() {
        out.extend(section_lines(app, scope, &entries, width));
    }
    out.extend(mouse_lines(app, width));
    out
}

/// Every help line at the overlay's full width.
pub fn lines(app: &App) -> Vec<Line<'static>> {
    lines_at(app, COLUMN_WIDTH as usize)
}

/// The overlay's geometry on `body`: its box and its columns (lines each), never wider than the
/// screen; two columns, split between sections, when the screen is wide enough.
struct Overlay {
    area: Rect,
    columns: Vec<Vec<Line<'static>>>,
    column_width: u16,
}

fn overlay(app: &App, body: Rect) -> Overlay {
    let two = body.width >= 2 * MIN_TWO_COLUMN_WIDTH + GAP + 2;
    let column_width = if two {
        COLUMN_WIDTH.min((body.width - GAP - 2) / 2)
    } else {
        COLUMN_WIDTH.min(body.width.saturating_sub(2)).max(1)
    };
    let width = column_width as usize;
    let columns = if two {
        let sections: Vec<Vec<Line<'static>>> = sections()
            .into_iter()
            .map(|(scope, entries)| section_lines(app, scope, &entries, width))
            .collect();
        let total: usize = sections.iter().map(Vec::len).sum::<usize>() + 2;
        // Sections fill the left column up to about half; the rest go right, mouse line last.
        let half = total.div_ceil(2);
        let mut left = Vec::new();
        let mut right = Vec::new();
        for section in sections {
            if right.is_empty() && (left.is_empty() || left.len() + section.len() <= half) {
                left.extend(section);
            } else {
                right.extend(section);
            }
        }
        right.extend(mouse_lines(app, width));
        vec![left, right]
    } else {
        vec![lines_at(app, width)]
    };
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0) as u16;
    let n = columns.len() as u16;
    let area = centered(
        body,
        column_width * n + GAP * (n - 1) + 2,
        rows.saturating_add(2),
    );
    Overlay {
        area,
        columns,
        column_width,
    }
}

/// How far the overlay can scroll on `body` (0 when it fits).
pub fn max_scroll(app: &App, body: Rect) -> u16 {
    let o = overlay(app, body);
    let rows = o.columns.iter().map(Vec::len).max().unwrap_or(0);
    let shown = o.area.height.saturating_sub(2) as usize;
    rows.saturating_sub(shown) as u16
}

pub fn render(frame: &mut Frame, body: Rect, app: &App) {
    let o = overlay(app, body);
    let rows = o.columns.iter().map(Vec::len).max().unwrap_or(0);
    let shown = o.area.height.saturating_sub(2) as usize;
    let scroll = (app.help_scroll as usize).min(rows.saturating_sub(shown));
    let below = rows.saturating_sub(scroll + shown);
    frame.render_widget(Clear, o.area);
    let block = super::with_marks(
        Block::default()
            .borders(Borders::ALL)
            .border_style(app.theme.border_focused)
            .title(Span::styled(
                if rows > shown {
                    " Keys · ↑↓ scroll · ? or Esc closes "
                } else {
                    " Keys · ? or Esc closes "
                },
                app.theme.title_focused,
            )),
        app,
        format::more_marks(scroll, below),
    );
    let inner = block.inner(o.area);
    frame.render_widget(block, o.area);
    for (i, column) in o.columns.into_iter().enumerate() {
        let x = inner.x + (o.column_width + GAP) * i as u16;
        let col = Rect {
            x,
            width: o.column_width.min(inner.right().saturating_sub(x)),
            ..inner
        };
        let visible: Vec<Line> = column.into_iter().skip(scroll).take(shown).collect();
        frame.render_widget(Paragraph::new(visible), col);
    }
}

/// The footer: key hints for what is on screen now, as many as fit, whole.
pub fn render_footer(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1usize;
    for (key, desc) in keymap::hints(app) {
        let width = key.chars().count() + desc.chars().count() + 3;
        if used + width > area.width as usize + 2 {
            break;
        }
        used += width;
        spans.push(Span::styled(key, t.key));
        spans.push(Span::styled(format!(" {desc}  "), t.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
