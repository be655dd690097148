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

/// What the user can do about an outage, and the cause when the gateway's message has one. The
/// connection layer words its failures as `cause; fix` (e.g. "nothing is listening on
/// 127.0.0.1 at port 4002; start IB Gateway or TWS and enable API connections …"); a message
/// without a fix gets the doctor's.
pub fn fix_and_cause(error: Option<&str>) -> (String, Option<String>) {
    const DOCTOR: &str = "run `ibkr-cockpit doctor` to see why";
    match error {
        Some(e) => match e.rsplit_once("; ") {
            Some((cause, fix)) => (fix.trim().to_string(), Some(cause.trim().to_string())),
            None => (DOCTOR.to_string(), Some(e.trim().to_string())),
        },
        None => (DOCTOR.to_string(), None),
    }
}

/// `text` in at most `width` characters: whole when it fits, else without its parenthetical
/// remarks, else cut at a word with `…`.
pub fn abbreviate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let plain = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if plain.chars().count() <= width {
        return plain;
    }
    let mut out = String::new();
    for word in plain.split_whitespace() {
        if out.chars().count() + word.chars().count() + 2 > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        return format::truncate(&plain, width);
    }
    out.push('…');
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

    // Line 2: health. Connection, stale and delayed badges always show; for a gateway that is
    // down, what to do about it comes right after its badge, then how long and how many
    // attempts, then the cause; the rest if it fits.
    let clock = format!(" {} UTC ", format::clock(app.now));
    let clock_width = clock.chars().count() as u16;
    let line_width = area.width.saturating_sub(clock_width) as usize;
    let mut outage: Vec<(u8, Vec<Span>)> = Vec::new();
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
        health.push(Span::styled(" ", t.header));
        if status.state != ConnState::Connected {
            let (fix, cause) = fix_and_cause(status.last_error.as_deref());
            let mut facts = vec![format!("down {}", format::age(app.now - status.since))];
            if status.failed_attempts > 0 {
                facts.push(format::count(
                    status.failed_attempts as usize,
                    "failed attempt",
                ));
            }
            outage.push((0, vec![Span::styled(fix, t.header_value)]));
            outage.push((1, vec![label(&facts.join(", "))]));
            if let Some(cause) = cause {
                outage.push((2, vec![label(&cause)]));
            }
        }
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
    let firing = state.alerts.firing.len();
    if firing > 0 {
        // Press `a` for the list; the count is what is firing now, not what has fired.
        health.push(Span::styled(
            format!(" ⚠ {firing} ALERT{} ", if firing == 1 { "" } else { "S" }),
            t.badge_down,
        ));
        health.push(Span::styled(" ", t.header));
    }
    if state.events.iter().any(crate::store::is_db_damage) {
        // The damaged file was moved aside and a fresh one made; ibkr_connection_status says where.
        health.push(Span::styled(" DB REPAIRED ", t.badge_stale));
        health.push(Span::styled(" ", t.header));
    }
    // The fix is shortened (never cut mid-word without a mark) to what is left after the badges.
    let badges_width: usize = health.iter().map(Span::width).sum();
    for (priority, spans) in &mut outage {
        if *priority == 0 {
            for span in spans.iter_mut() {
                let room = line_width.saturating_sub(badges_width + sep.width());
                span.content = abbreviate(&span.content, room).into();
            }
        }
    }
    let mut segments = vec![(0, health)];
    segments.extend(outage);
    if let Some(url) = &app.settings.mcp_url {
        segments.push((3, vec![label("MCP "), value(url.clone())]));
    }
    let calls = state.journal.len();
    if calls > 0 {
        segments.push((4, vec![label(&format::count(calls, "tool call"))]));
    }
    let bottom = fit(segments, sep, line_width as u16);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_comes_out_of_the_message() {
        let (fix, cause) = fix_and_cause(Some(
            "nothing is listening on 127.0.0.1 at port 4002; start IB Gateway or TWS and enable API connections (Configure → Settings → API)",
        ));
        assert!(fix.starts_with("start IB Gateway"), "{fix}");
        assert_eq!(
            cause.as_deref(),
            Some("nothing is listening on 127.0.0.1 at port 4002")
        );
        let (fix, cause) = fix_and_cause(Some("connection lost: reset by peer"));
        assert!(fix.contains("ibkr-cockpit doctor"), "{fix}");
        assert_eq!(cause.as_deref(), Some("connection lost: reset by peer"));
    }

    #[test]
    fn abbreviation_drops_remarks_then_words() {
        let fix = "start IB Gateway or TWS and enable API connections (Configure → Settings → API)";
        assert_eq!(abbreviate(fix, 200), fix);
        assert_eq!(
            abbreviate(fix, 60),
            "start IB Gateway or TWS and enable API connections"
        );
        assert_eq!(abbreviate(fix, 30), "start IB Gateway or TWS and…");
    }
}
