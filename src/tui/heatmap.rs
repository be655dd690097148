//! Correlation heatmap: the matrix of the top holdings by weight, colour-scaled from -1 to +1,
//! with labels, the value printed in each cell (so it reads without colour) and a legend.
//! `w` toggles 60D / 252D; big books scroll.

use super::app::{App, CorrWindow, Fetch, Pane};
use super::pane_block;
use crate::analytics::correlation::DisplayMatrix;
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const LABEL_WIDTH: usize = 6;
const CELL_WIDTH: usize = 6;

fn matrix_for(app: &App) -> Result<&DisplayMatrix, String> {
    match &app.corr {
        Fetch::Loading => Err("computing correlations from daily bars…".into()),
        Fetch::Failed(e) => Err(format!("correlations unavailable: {e}")),
        Fetch::Ready(pair) => Ok(match app.corr_window {
            CorrWindow::D60 => &pair.d60,
            CorrWindow::D252 => &pair.d252,
        }),
    }
}

fn legend<'a>(app: &App, m: Option<&DisplayMatrix>) -> Line<'a> {
    let t = &app.theme;
    let mut spans = vec![Span::styled("-1 ", t.dim)];
    for c in &t.heat {
        spans.push(Span::styled("██", Style::default().fg(*c)));
    }
    spans.push(Span::styled(" +1", t.dim));
    let other = match app.corr_window {
        CorrWindow::D60 => CorrWindow::D252,
        CorrWindow::D252 => CorrWindow::D60,
    };
    let obs = m
        .map(|m| format!(" · {} obs", m.observations))
        .unwrap_or_default();
    spans.push(Span::styled(
        format!("  {}{obs} · w: {}", app.corr_window.label(), other.label()),
        t.dim,
    ));
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let title = format!("Correlation {}", app.corr_window.label());
    let block = pane_block(app, &title, app.focus == Pane::Heatmap);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let t = &app.theme;
    let m = match matrix_for(app) {
        Ok(m) => m,
        Err(msg) => {
            let lines = vec![
                Line::from(Span::styled(msg, t.dim)),
                Line::default(),
                legend(app, None),
            ];
            frame.render_widget(Paragraph::new(lines), inner);
            return;
        }
    };
    let n = m.symbols.len();
    // Heaviest holdings first, by today's weights (the matrix keeps the order it was fetched in).
    // One pass down the weights, stopping once every matrix symbol has its rank: the matrix
    // holds the top holdings, so this is a few steps even in a book of thousands.
    let book = app.book_of(state);
    let mut rank = vec![usize::MAX; n];
    let mut found = 0;
    for (r, symbol) in book.by_weight.iter().enumerate() {
        if found == n {
            break;
        }
        for (i, s) in m.symbols.iter().enumerate() {
            if rank[i] == usize::MAX && s == symbol {
                rank[i] = r;
                found += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|i| (rank[*i], *i));
    let fit_cols = (inner.width as usize).saturating_sub(LABEL_WIDTH) / CELL_WIDTH;
    let fit_rows = (inner.height as usize).saturating_sub(2);
    let start = app.heat_scroll.min(n.saturating_sub(1));
    let cols = start..(start + fit_cols).min(n);
    let rows = start..(start + fit_rows).min(n);

    let mut lines: Vec<Line> = Vec::with_capacity(fit_rows + 2);
    let mut head = vec![Span::raw(" ".repeat(LABEL_WIDTH))];
    for j in cols.clone().map(|j| order[j]) {
        head.push(Span::styled(
            format!(
                "{:>w$}",
                short(&m.symbols[j], CELL_WIDTH - 1),
                w = CELL_WIDTH
            ),
            t.table_header,
        ));
    }
    lines.push(Line::from(head));
    for i in rows.clone().map(|i| order[i]) {
        let mut spans = vec![Span::styled(
            format!(
                "{:<w$}",
                short(&m.symbols[i], LABEL_WIDTH - 1),
                w = LABEL_WIDTH
            ),
            t.table_header,
        )];
        for j in cols.clone().map(|j| order[j]) {
            let v = m.get(i, j);
            let text = if v.is_finite() {
                format!("{v:>5.2} ")
            } else {
                "   — ".to_string() + " "
            };
            let style = if t.monochrome {
                t.text
            } else {
                t.heat_text.bg(t.heat_color(v))
            };
            spans.push(Span::styled(text, style));
        }
        lines.push(Line::from(spans));
    }
    let hidden = n
        .saturating_sub(rows.len())
        .max(n.saturating_sub(cols.len()));
    let mut foot = legend(app, Some(m));
    if hidden > 0 {
        foot.spans.push(Span::styled(
            format!(" · top {n} by weight, ←→ scroll"),
            t.dim,
        ));
    }
    lines.push(foot);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn short(symbol: &str, width: usize) -> String {
    symbol.chars().take(width).collect()
}
