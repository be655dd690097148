//! Pure evaluation: the value each rule watches, read from a snapshot of the live state, and
//! the hysteresis step that decides whether it fires or re-arms.

use super::rules::{Kind, Rule};
use crate::model::{ConnState, GatewayRole, Millis};
use crate::store::LiveState;

/// The value one rule sees now (per symbol for per-position rules, per gateway for
/// disconnection).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Index of the rule.
    pub rule: usize,
    pub subject: Option<String>,
    pub value: f64,
}

/// What a value does to a rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fire,
    Rearm,
    Stay,
}

/// The hysteresis step: an armed rule fires when the value reaches the line; a firing rule
/// re-arms only once the value is back past the line by its hysteresis.
pub fn step(rule: &Rule, firing: bool, value: f64) -> Step {
    // A daily move fires either way: its value is the size of the move.
    let v = if rule.kind == Kind::DailyMove {
        value.abs()
    } else {
        value
    };
    let (beyond, back) = if rule.kind.fires_above() {
        (v >= rule.level, v < rule.level - rule.hysteresis)
    } else {
        (v <= rule.level, v > rule.level + rule.hysteresis)
    };
    match (firing, beyond, back) {
        (false, true, _) => Step::Fire,
        (true, _, true) => Step::Rearm,
        _ => Step::Stay,
    }
}

/// A gateway down since `since` (disconnected or reconnecting; never connected yet does not
/// count), in seconds at `now`.
fn seconds_down(state: ConnState, since: Millis, now: Millis) -> Option<f64> {
    matches!(state, ConnState::Disconnected | ConnState::Reconnecting)
        .then(|| ((now - since).max(0) as f64) / 1000.0)
}

/// Every rule's current value(s). `high_water` is the NLV high-water mark (for drawdown).
/// Rules whose value is unknown (no account yet, no quote) are left out: an unknown value
/// neither fires nor re-arms.
pub fn observe(
    rules: &[Rule],
    st: &LiveState,
    now: Millis,
    high_water: Option<f64>,
) -> Vec<Observation> {
    let acct = st.primary_account();
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let mut push = |subject: Option<String>, value: Option<f64>| {
            if let Some(value) = value.filter(|v| v.is_finite()) {
                out.push(Observation {
                    rule: i,
                    subject,
                    value,
                });
            }
        };
        match r.kind {
            Kind::CushionBelow => push(
                None,
                acct.and_then(|a| a.get(crate::model::tags::CUSHION))
                    .map(|c| c * 100.0),
            ),
            Kind::MarginUseAbove => push(
                None,
                acct.and_then(|a| a.margin_utilization()).map(|u| u * 100.0),
            ),
            Kind::LeverageAbove => push(None, acct.and_then(|a| a.leverage())),
            Kind::DrawdownBelow => {
                let nlv = acct.and_then(|a| a.net_liquidation());
                let dd = match (nlv, high_water) {
                    (Some(n), Some(h)) if h > 0.0 => Some(((n - h) / h * 100.0).min(0.0)),
                    _ => None,
                };
                push(None, dd);
            }
            Kind::PriceAbove | Kind::PriceBelow => {
                let sym = r.symbol.clone();
                let price = sym.as_deref().and_then(|s| price_of(st, s));
                push(sym, price);
            }
            Kind::DailyMove => match &r.symbol {
                Some(s) => push(Some(s.clone()), daily_move_of(st, s)),
                None => {
                    if let Some(a) = acct {
                        for p in st.positions_of(&a.account).filter(|p| p.quantity != 0.0) {
                            let s = &p.instrument.symbol;
                            push(Some(s.clone()), daily_move_of(st, s));
                        }
                    }
                }
            },
            Kind::DataStale => {
                if let Some(g) = st.gateways.get(&GatewayRole::Primary) {
                    let last = g.last_data.unwrap_or(g.since);
                    push(None, Some(((now - last).max(0) as f64) / 1000.0));
                }
            }
            Kind::GatewayDisconnected => {
                for (role, g) in st.gateways.iter() {
                    // Up (or not yet connected): −1, below any line, so a firing rule re-arms.
                    let down = seconds_down(g.state, g.since, now).unwrap_or(-1.0);
                    push(Some(role.as_str().to_string()), Some(down));
                }
            }
        }
    }
    out
}

/// A symbol's price: its quote, else the held position's mark.
fn price_of(st: &LiveState, symbol: &str) -> Option<f64> {
    let quote = st.quotes.get(symbol);
    let held = st
        .positions
        .values()
        .find(|p| p.instrument.symbol == symbol && p.quantity != 0.0);
    match held {
        Some(p) => p.current_price(quote),
        None => quote.and_then(|q| q.price()),
    }
    .filter(|p| *p > 0.0)
}

/// A symbol's move since the previous close, percent.
fn daily_move_of(st: &LiveState, symbol: &str) -> Option<f64> {
    st.quotes.get(symbol).and_then(|q| q.change()).map(|c| c.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::{AlertConfig, compile};

    fn rule(kind: &str, level: f64, hysteresis: Option<f64>) -> Rule {
        compile(&[AlertConfig {
            kind: kind.into(),
            name: None,
            level: Some(level),
            symbol: Some("KRYX".into()).filter(|_| kind.starts_with("price")),
            hysteresis,
            on_fire: Vec::new(),
            bell: None,
        }])
        .unwrap()
        .remove(0)
    }

    /// Runs a value sequence through the step and returns the firings' positions.
    fn fires(r: &Rule, values: &[f64]) -> Vec<usize> {
        let mut firing = false;
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            match step(r, firing, *v) {
                Step::Fire => {
                    firing = true;
                    out.push(i);
                }
                Step::Rearm => firing = false,
                Step::Stay => {}
            }
        }
        out
    }

    #[test]
    fn hovering_at_the_line_fires_once_and_moving_back_re_arms() {
        let r = rule("price_above", 55.0, Some(0.5));
        assert_eq!(fires(&r, &[54.0, 55.0, 54.8, 55.1, 54.6, 55.3]), vec![1]);
        assert_eq!(fires(&r, &[54.0, 55.0, 54.4, 55.0]), vec![1, 3]);
        let c = rule("cushion_below", 10.0, None);
        assert_eq!(fires(&c, &[11.0, 10.0, 10.4, 9.9, 10.6, 9.5]), vec![1, 5]);
        let d = rule("daily_move", 5.0, None);
        assert_eq!(fires(&d, &[1.0, -5.2, -4.9, 4.6, 5.1]), vec![1, 4]);
    }
}
