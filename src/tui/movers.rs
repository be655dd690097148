//! Movers: top gainers and losers among held symbols by daily %, each with a sparkline of the
//! day's 1-minute prices from `LiveState::intraday`.

use super::app::{App, Pane};
use super::book::{self, Mover};
use super::format;
use super::pane_block;
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A text sparkline `width` characters wide: the series resampled to the width (last value kept
/// on the right), scaled between its own min and max.
pub fn sparkline(values: &[f64], width: usize) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    // One point is no line: a lone mid-height tick would read as "flat all day".
    if values.len() < 2 || width == 0 {
        return String::new();
    }
    let points: Vec<f64> = if values.len() <= width {
        values.clone()
    } else {
        (0..width)
            .map(|i| values[((i + 1) * values.len()) / width - 1])
            .collect()
    };
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    points
        .iter()
        .map(|v| {
            if hi - lo <= f64::EPSILON {
                TICKS[3]
            } else {
                TICKS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

fn mover_line<'a>(app: &App, state: &LiveState, m: &Mover, width: u16) -> Line<'a> {
    let t = &app.theme;
    let style = t.signed(Some(m.change_pct));
    let spark_width = (width as usize).saturating_sub(7 + 11 + 9 + 2);
    let spark = state
        .intraday
        .get(&m.symbol)
        .map(|v| sparkline(v, spark_width))
        .unwrap_or_default();
    let spark_style = if m.change_pct >= 0.0 {
        t.sparkline_up
    } else {
        t.sparkline_down
    };
    Line::from(vec![
        Span::styled(
            format!("{:<7}", m.symbol),
            t.text.add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::styled(format!("{:>11}", format::amount(m.price, 2)), t.text),
        Span::styled(format!("{:>9}", format::signed_pct(m.change_pct)), style),
        Span::raw("  "),
        Span::styled(spark, spark_style),
    ])
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let block = pane_block(app, "Movers · daily %", app.focus == Pane::Movers);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The rows under the two section titles: half each, and what one side does not need goes
    // to the other.
    let budget = (inner.height.saturating_sub(2) as usize).max(2);
    let book = app.book_of(state);
    let all_gainers = book.movers.iter().filter(|m| m.change_pct > 0.0).count();
    let all_losers = book.movers.iter().filter(|m| m.change_pct < 0.0).count();
    let gainer_rows = all_gainers.min((budget / 2).max(budget.saturating_sub(all_losers)));
    let loser_rows = all_losers.min(budget.saturating_sub(gainer_rows)).max(1);
    let (mut gainers, mut losers) = book::split_movers(&book.movers, budget);
    gainers.truncate(gainer_rows.max(1));
    losers.truncate(loser_rows);
    // Only the strongest fit: the titles say how many of how many are shown.
    let title = |name: &str, shown: usize, all: usize| {
        if shown < all {
            format!("{name} · top {shown} of {all}")
        } else {
            name.to_string()
        }
    };
    let mut lines = vec![Line::from(Span::styled(
        title("▲ Gainers", gainers.len(), all_gainers),
        app.theme.subheading,
    ))];
    if gainers.is_empty() {
        lines.push(Line::from(Span::styled("  none", app.theme.dim)));
    }
    lines.extend(
        gainers
            .iter()
            .map(|m| mover_line(app, state, m, inner.width)),
    );
    lines.push(Line::from(Span::styled(
        title("▼ Losers", losers.len(), all_losers),
        app.theme.subheading,
    )));
    if losers.is_empty() {
        lines.push(Line::from(Span::styled("  none", app.theme.dim)));
    }
    lines.extend(
        losers
            .iter()
            .map(|m| mover_line(app, state, m, inner.width)),
    );
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spans_min_to_max() {
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0; 4], 4), "▄▄▄▄");
        assert_eq!(
            sparkline(&(0..100).map(f64::from).collect::<Vec<_>>(), 10)
                .chars()
                .count(),
            10
        );
        assert_eq!(sparkline(&[], 10), "");
    }
}
