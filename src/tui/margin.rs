//! Margin gauges per account: cushion, margin utilisation (`AccountSnapshot::margin_utilization`,
//! the model's one definition, so the cockpit cannot drift from it), leverage (GPV / NLV) and
//! excess liquidity, coloured OK / watch / danger by `config.thresholds`. Each
//! gauge also says its level in words, so it reads without colour (NO_COLOR).

use super::app::{App, Pane};
use super::format;
use super::pane_block;
use crate::config::Thresholds;
use crate::model::{AccountSnapshot, tags};
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Watch,
    Danger,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Watch => "WATCH",
            Level::Danger => "DANGER",
        }
    }
}

/// Low is bad (cushion): below `danger` is danger, below `watch` is watch.
pub fn level_low_is_bad(value: f64, watch: f64, danger: f64) -> Level {
    if value < danger {
        Level::Danger
    } else if value < watch {
        Level::Watch
    } else {
        Level::Ok
    }
}

/// High is bad (utilisation, leverage).
pub fn level_high_is_bad(value: f64, watch: f64, danger: f64) -> Level {
    if value > danger {
        Level::Danger
    } else if value > watch {
        Level::Watch
    } else {
        Level::Ok
    }
}

/// One gauge: label, fill (0..1), value text, level.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    pub label: &'static str,
    pub fill: f64,
    pub text: String,
    pub level: Option<Level>,
}

/// The four gauges of one account; values the gateway has not sent yet show as unknown.
pub fn gauges(acct: &AccountSnapshot, th: &Thresholds) -> Vec<Gauge> {
    let ccy = &acct.base_currency;
    let unknown = |label| Gauge {
        label,
        fill: 0.0,
        text: format::MISSING.into(),
        level: None,
    };
    let mut out = Vec::with_capacity(4);
    out.push(match acct.get(tags::CUSHION) {
        Some(c) => Gauge {
            label: "Cushion",
            fill: c,
            text: format::frac_pct(c, 1),
            level: Some(level_low_is_bad(c, th.cushion_watch, th.cushion_danger)),
        },
        None => unknown("Cushion"),
    });
    out.push(match acct.margin_utilization().filter(|u| u.is_finite()) {
        // Requirement over a negative equity: past any threshold, whatever the ratio says.
        Some(u) if u < 0.0 => Gauge {
            label: "Margin used",
            fill: 1.0,
            text: "equity < 0".into(),
            level: Some(Level::Danger),
        },
        Some(u) => Gauge {
            label: "Margin used",
            fill: u,
            text: format::frac_pct(u, 1),
            level: Some(level_high_is_bad(
                u,
                th.margin_util_watch,
                th.margin_util_danger,
            )),
        },
        _ => unknown("Margin used"),
    });
    out.push(match acct.leverage() {
        Some(l) => Gauge {
            label: "Leverage",
            // Full bar at 1.5× the danger line, so the danger zone is visibly not the end.
            fill: l / (th.leverage_danger * 1.5),
            text: format!("{l:.2}x"),
            level: Some(level_high_is_bad(l, th.leverage_watch, th.leverage_danger)),
        },
        None => unknown("Leverage"),
    });
    out.push(
        match (acct.get(tags::EXCESS_LIQUIDITY), acct.net_liquidation()) {
            (Some(x), Some(n)) if n > 0.0 => Gauge {
                label: "Excess liq",
                fill: x / n,
                text: format!("{} {ccy}", format::amount(x, 0)),
                level: Some(level_low_is_bad(x / n, th.cushion_watch, th.cushion_danger)),
            },
            (Some(x), _) => Gauge {
                label: "Excess liq",
                fill: 0.0,
                text: format!("{} {ccy}", format::amount(x, 0)),
                level: None,
            },
            _ => unknown("Excess liq"),
        },
    );
    out
}

fn level_style(app: &App, level: Option<Level>) -> Style {
    match level {
        Some(Level::Ok) => app.theme.ok,
        Some(Level::Watch) => app.theme.watch,
        Some(Level::Danger) => app.theme.danger,
        None => app.theme.dim,
    }
}

fn gauge_line<'a>(app: &App, g: &Gauge, width: u16) -> Line<'a> {
    // label 11 | bar | value 13 | level 7
    let bar_width = (width as usize).saturating_sub(11 + 1 + 13 + 1 + 7).max(4);
    let filled = ((g.fill.clamp(0.0, 1.0)) * bar_width as f64).round() as usize;
    let style = level_style(app, g.level);
    Line::from(vec![
        Span::styled(format!("{:<11}", g.label), app.theme.text),
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(bar_width - filled), app.theme.dim),
        Span::styled(
            format!(" {:>13}", format::truncate(&g.text, 13)),
            app.theme.text,
        ),
        Span::styled(format!(" {:<6}", g.level.map_or("", Level::label)), style),
    ])
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let focused = app.focus == Pane::Margin;
    let block = pane_block(app, "Margin", focused);
    let inner = block.inner(area);
    let mut lines: Vec<Line> = Vec::new();
    for acct in state.accounts.values() {
        lines.push(Line::from(vec![
            Span::styled(
                format::mask_account(&acct.account, app.settings.mask_accounts),
                app.theme.subheading,
            ),
            Span::styled(
                format!(
                    " · {} · NLV {}",
                    acct.base_currency,
                    format::opt_amount(acct.net_liquidation(), 0)
                ),
                app.theme.dim,
            ),
        ]));
        for g in gauges(acct, &app.settings.thresholds) {
            lines.push(gauge_line(app, &g, inner.width));
        }
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "No account values yet.",
            app.theme.dim,
        )));
    }
    // Two accounts do not fit a small card: it scrolls (↑↓ when focused) and says what is hidden.
    let shown = inner.height as usize;
    let scroll = app.margin_scroll.min(lines.len().saturating_sub(shown));
    let below = lines.len().saturating_sub(scroll + shown);
    frame.render_widget(
        super::with_marks(block, app, format::more_marks(scroll, below)),
        area,
    );
    let visible: Vec<Line> = lines.into_iter().skip(scroll).take(shown).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

/// Lines the margin pane has for `state`: per account a title and its gauges.
pub fn line_count(state: &LiveState, thresholds: &Thresholds) -> usize {
    state
        .accounts
        .values()
        .map(|a| 1 + gauges(a, thresholds).len())
        .sum()
}
