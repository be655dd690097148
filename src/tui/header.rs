//! Header: accounts (masked per config), NLV, daily P&L, leverage on the first line; connection
//! state, stale/delayed badges, reconnection attempts, MCP address and the clock on the second.

use super::app::App;
use super::book;
use super::format::{self, MISSING};
use crate::model::{ConnState, GatewayRole};
use crate::store::LiveState;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Consolidated figures over every account, in the primary account's base currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub base: String,
    pub nlv: Option<f64>,
    pub daily: Option<f64>,
    pub leverage: Option<f64>,
}

pub fn totals(state: &LiveState) -> Totals {
    let base = book::base_currency(state);
    let (mut nlv, mut gpv, mut daily) = (None::<f64>, None::<f64>, None::<f64>);
    for acct in state.accounts.values() {
        let Some(fx) = state.fx_rate(&acct.base_currency, &base) else {
            continue;
        };
        if let Some(v) = acct.net_liquidation() {
            nlv = Some(nlv.unwrap_or(0.0) + v * fx);
        }
        if let Some(v) = acct.gross_position_value() {
            gpv = Some(gpv.unwrap_or(0.0) + v * fx);
        }
        if let Some(v) = acct.pnl.and_then(|p| p.daily) {
            daily = Some(daily.unwrap_or(0.0) + v * fx);
        }
    }
    let leverage = match (gpv, nlv) {
        (Some(g), Some(n)) if n != 0.0 => Some(g / n),
        _ => None,
    };
    Totals {
        base,
        nlv,
        daily,
        leverage,
    }
}

/// Joins segments with separators, dropping the optional ones (lowest priority first) until the
/// line fits `width`: on 80 columns the essentials stay, on wide terminals everything shows.
fn fit<'a>(mut segments: Vec<(u8, Vec<Span<'a>>)>, sep: Span<'a>, width: u16) -> Vec<Span<'a>> {
    let total = |segs: &Vec<(u8, Vec<Span<'a>>)>| -> usize {
        segs.iter()
            .map(|(_, s)| s.iter().map(Span::width).sum::<usize>())
            .sum::<usize>()
            + sep.width() * segs.len().saturating_sub(1)
    };
    while total(&segments) > width as usize {
        let Some(lowest) = segments.iter().map(|(p, _)| *p).filter(|p| *p > 0).max() else {
            break;
        };
        let Some(i) = segments.iter().rposition(|(p, _)| *p == lowest) else {
            break;
        };
        segments.remove(i);
    }
    let mut out = Vec::new();
    for (i, (_, spans)) in segments.into_iter().enumerate() {
        if i > 0 {
            out.push(sep.clone());
        }
        out.extend(spans);
    }
    out
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, state: &LiveState) {
    let t = &app.theme;
    let totals = totals(state);
    let label = |s: &str| Span::styled(s.to_string(), t.header_label);
    let value = |s: String| Span::styled(s, t.header_value);
    let sep = Span::styled(" │ ", t.header_label);

    // Line 1: the book. Priority 0 always shows; higher numbers go last when space is short.
    let mut title = vec![Span::styled("ibkr-cockpit", t.header_value)];
    if let Some(mode) = &app.settings.mode_label {
        title.push(Span::styled(format!(" {mode}"), t.header_label));
    }
    let accounts: Vec<String> = state
        .accounts
        .values()
        .map(|a| format::mask_account(&a.account, app.settings.mask_accounts))
        .collect();
    let accounts = if accounts.is_empty() {
        "no account yet".into()
    } else {
        accounts.join(", ")
    };
    let nlv = match totals.nlv {
        Some(v) => format!("{} {}", format::amount(v, 2), totals.base),
        None => MISSING.into(),
    };
    let daily_style = t.header_value.patch(t.signed(totals.daily));
    let daily_text = match (totals.daily, totals.nlv) {
        (Some(d), Some(n)) if n - d != 0.0 => {
            format!(
                "{} ({})",
                format::signed_amount(d, 2),
                format::signed_pct(d / (n - d) * 100.0)
            )
        }
        (Some(d), _) => format::signed_amount(d, 2),
        _ => MISSING.into(),
    };
    let mut top = vec![Span::styled(" ", t.header)];
    top.extend(fit(
        vec![
            (3, title),
            (2, vec![value(accounts)]),
            (0, vec![label("NLV "), value(nlv)]),
            (
                0,
                vec![label("Day "), Span::styled(daily_text, daily_style)],
            ),
            (
                1,
                vec![
                    label("Lev "),
                    value(
                        totals
                            .leverage
                            .map_or_else(|| MISSING.into(), |l| format!("{l:.2}x")),
                    ),
                ],
            ),
        ],
        sep.clone(),
        area.width.saturating_sub(1),
    ));

    // Line 2: health. Connection, stale and delayed badges always show; the rest if it fits.
    let mut health: Vec<Span> = vec![Span::styled(" ", t.header)];
    if state.gateways.is_empty() {
        health.push(Span::styled(" NO GATEWAY ", t.badge_down));
    }
    for (role, status) in state.gateways.iter() {
        let (badge, style) = match status.state {
            ConnState::Connected => ("● connected", t.badge_ok),
            ConnState::Connecting => ("◌ connecting", t.badge_stale),
            ConnState::Reconnecting => ("◌ reconnecting", t.badge_down),
            ConnState::Disconnected => ("○ disconnected", t.badge_down),
            ConnState::Stalled => ("◌ stalled", t.badge_down),
        };
        let who = if *role == GatewayRole::Primary {
            ""
        } else {
            " (2nd)"
        };
        health.push(Span::styled(format!(" {badge}{who} "), style));
        if status.state != ConnState::Connected {
            let mut why = format!(" {} attempts", status.reconnects);
            if let Some(e) = &status.last_error {
                why.push_str(&format!(": {}", format::truncate(e, 40)));
            }
            health.push(Span::styled(why, t.header_label));
        }
        health.push(Span::styled(" ", t.header));
    }
    if let Some(stale) = state.staleness(app.now, app.settings.stale_after_ms) {
        health.push(Span::styled(
            format!(" STALE {} ", format::age(stale.age_ms)),
            t.badge_stale,
        ));
        health.push(Span::styled(" ", t.header));
    }
    let delayed = state
        .gateways
        .values()
        .any(|g| g.market_data_mode.is_delayed())
        || state
            .positions
            .values()
            .filter_map(|p| state.quotes.get(&p.instrument.symbol))
            .any(|q| q.mode.is_delayed());
    if delayed {
        health.push(Span::styled(" DELAYED ", t.badge_delayed));
    }
    let mut segments = vec![(0, health)];
    if let Some(url) = &app.settings.mcp_url {
        segments.push((1, vec![label("MCP "), value(url.clone())]));
    }
    let calls = state.journal.len();
    if calls > 0 {
        segments.push((2, vec![label(&format!("{calls} tool calls"))]));
    }
    let clock = format!(" {} UTC ", format::clock(app.now));
    let clock_width = clock.chars().count() as u16;
    let bottom = fit(segments, sep, area.width.saturating_sub(clock_width));

    let rows = Rect { height: 1, ..area };
    frame.render_widget(Paragraph::new(Line::from(top)).style(t.header), rows);
    if area.height > 1 {
        let second = Rect {
            y: area.y + 1,
            height: 1,
            ..area
        };
        frame.render_widget(Paragraph::new("").style(t.header), second);
        let left = Rect {
            width: second.width.saturating_sub(clock_width),
            ..second
        };
        frame.render_widget(Paragraph::new(Line::from(bottom)).style(t.header), left);
        frame.render_widget(
            Paragraph::new(Span::styled(clock, t.header_value)).alignment(Alignment::Right),
            second,
        );
    }
}
