//! Full-screen views over the panes: the position detail (position facts, the quote, and a
//! price chart of one year of daily bars fetched in the background), and the scrollable
//! markdown answer of a tool call.

use super::app::{AnswerView, App, DetailView, Fetch};
use super::format::{self, MISSING};
use super::markdown;
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph, Wrap};

fn kv<'a>(app: &App, key: &str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:<14}"), app.theme.dim),
        Span::styled(value, app.theme.text),
    ])
}

fn kv_signed<'a>(app: &App, key: &str, value: Option<f64>, text: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{key:<14}"), app.theme.dim),
        Span::styled(text, app.theme.signed(value)),
    ])
}

pub fn render_detail(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    state: &LiveState,
    view: &DetailView,
) {
    frame.render_widget(Clear, area);
    let title = format!(" {} · position detail · Esc closes ", view.symbol);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border_focused)
        .title(Span::styled(title, app.theme.title_focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [facts_area, chart_area] =
        Layout::horizontal([Constraint::Length(42), Constraint::Min(10)]).areas(inner);

    let book = app.book_of(state);
    let row = book
        .rows
        .iter()
        .find(|r| r.account == view.account && r.con_id == view.con_id);
    let quote = state.quotes.get(&view.symbol);
    let mut lines: Vec<Line> = Vec::new();
    lines.push(Line::from(Span::styled(
        view.symbol.clone(),
        app.theme.heading,
    )));
    lines.push(kv(
        app,
        "Account",
        format::mask_account(&view.account, app.settings.mask_accounts),
    ));
    match row {
        Some(r) => {
            let ccy = &r.currency;
            lines.push(kv(app, "Quantity", format::quantity(r.quantity)));
            lines.push(kv(
                app,
                "Avg cost",
                format!("{} {ccy}", format::amount(r.avg_cost, 2)),
            ));
            lines.push(kv(
                app,
                "Price",
                format!("{} {ccy}", format::opt_amount(r.price, 2)),
            ));
            lines.push(kv(
                app,
                "Market value",
                format!("{} {ccy}", format::opt_amount(r.market_value, 2)),
            ));
            let pct = r
                .unrealized_pct
                .map(|p| format!(" ({})", format::signed_pct(p)))
                .unwrap_or_default();
            lines.push(kv_signed(
                app,
                "Unrealized",
                r.unrealized,
                format!("{} {ccy}{pct}", format::opt_signed(r.unrealized, 2)),
            ));
            lines.push(kv_signed(
                app,
                "Daily P&L",
                r.daily,
                format!("{} {ccy}", format::opt_signed(r.daily, 2)),
            ));
            lines.push(kv(
                app,
                "Weight",
                r.weight
                    .map_or_else(|| MISSING.into(), |w| format::frac_pct(w, 1)),
            ));
        }
        None => lines.push(Line::from(Span::styled(
            "Position closed or not in the book any more.",
            app.theme.dim,
        ))),
    }
    if let Some(q) = quote {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!("Quote ({})", q.mode.label()),
            app.theme.subheading,
        )));
        lines.push(kv(
            app,
            "Bid / Ask",
            format!(
                "{} / {}",
                format::opt_amount(q.bid, 2),
                format::opt_amount(q.ask, 2)
            ),
        ));
        lines.push(kv(app, "Last", format::opt_amount(q.last, 2)));
        lines.push(kv(app, "Open", format::opt_amount(q.open, 2)));
        lines.push(kv(
            app,
            "High / Low",
            format!(
                "{} / {}",
                format::opt_amount(q.high, 2),
                format::opt_amount(q.low, 2)
            ),
        ));
        lines.push(kv(app, "Prev close", format::opt_amount(q.close, 2)));
        let change = q.change();
        lines.push(kv_signed(
            app,
            "Change",
            change.map(|c| c.0),
            change.map_or_else(
                || MISSING.into(),
                |(abs, pct)| {
                    format!(
                        "{} ({})",
                        format::signed_amount(abs, 2),
                        format::signed_pct(pct)
                    )
                },
            ),
        ));
        lines.push(kv(app, "Volume", format::opt_amount(q.volume, 0)));
    }
    frame.render_widget(Paragraph::new(lines), facts_area);
    render_chart(frame, chart_area, app, view);
}

fn render_chart(frame: &mut Frame, area: Rect, app: &App, view: &DetailView) {
    let t = &app.theme;
    let bars = match &view.bars {
        Fetch::Loading => {
            frame.render_widget(
                Paragraph::new(Span::styled("loading daily bars…", t.dim)),
                area,
            );
            return;
        }
        Fetch::Failed(e) => {
            frame.render_widget(
                Paragraph::new(Span::styled(format!("price chart unavailable: {e}"), t.dim))
                    .wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        Fetch::Ready(b) if b.is_empty() => {
            frame.render_widget(
                Paragraph::new(Span::styled("no daily bars for this symbol", t.dim)),
                area,
            );
            return;
        }
        Fetch::Ready(b) => b,
    };
    let points: Vec<(f64, f64)> = bars
        .iter()
        .enumerate()
        .map(|(i, b)| (i as f64, b.close))
        .collect();
    let (lo, hi) = bars
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), b| {
            (l.min(b.close), h.max(b.close))
        });
    let pad = ((hi - lo) * 0.05).max(0.01);
    let first = bars
        .first()
        .map(|b| format::date(b.time))
        .unwrap_or_default();
    let last = bars
        .last()
        .map(|b| format::date(b.time))
        .unwrap_or_default();
    let ret = match (bars.first(), bars.last()) {
        (Some(a), Some(b)) if a.close > 0.0 => {
            format!(" {}", format::signed_pct((b.close / a.close - 1.0) * 100.0))
        }
        _ => String::new(),
    };
    let dataset = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(t.chart)
        .data(&points);
    let chart = Chart::new(vec![dataset])
        .block(Block::default().title(Span::styled(
            format!("Daily closes · {} bars{ret}", bars.len()),
            t.subheading,
        )))
        .x_axis(
            Axis::default()
                .bounds([0.0, (points.len().max(2) - 1) as f64])
                .labels([Span::styled(first, t.dim), Span::styled(last, t.dim)])
                .style(t.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([lo - pad, hi + pad])
                .labels([
                    Span::styled(format::amount(lo, 2), t.dim),
                    Span::styled(format::amount(hi, 2), t.dim),
                ])
                .style(t.dim),
        );
    frame.render_widget(chart, area);
}

pub fn render_answer(frame: &mut Frame, area: Rect, app: &App, view: &AnswerView) {
    frame.render_widget(Clear, area);
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focused)
        .title(Span::styled(
            format!(" {} ", format::truncate(&view.title, 80)),
            t.title_focused,
        ))
        .title_bottom(Span::styled(
            format!(" {} · ↑↓ scroll · Esc closes ", view.subtitle),
            t.dim,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines = match &view.body {
        Fetch::Loading => vec![Line::from(Span::styled("running…", t.dim))],
        Fetch::Failed(e) => vec![
            Line::from(Span::styled("The tool returned an error:", t.error)),
            Line::default(),
            Line::from(Span::styled(e.clone(), t.text)),
        ],
        Fetch::Ready(md) => markdown::render(md, t),
    };
    let max_scroll = (lines.len() as u16).saturating_sub(inner.height);
    frame.render_widget(
        Paragraph::new(lines).scroll((view.scroll.min(max_scroll), 0)),
        inner,
    );
}
