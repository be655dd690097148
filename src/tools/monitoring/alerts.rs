//! `ibkr_alerts`: the alert rules of the config, which are firing now (since when, at what
//! value), and the recent firings kept in SQLite.

use crate::model::ToolGroup;
use crate::store::alerts::{self as record, AlertBoard};
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertsParams {
    /// History window in days (1–90, default 7).
    #[schemars(range(min = 1, max = 90))]
    pub days: Option<u32>,
    /// Most history rows to list (1–200, default 20).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleOut {
    pub name: String,
    pub kind: String,
    /// The condition in words, with where it re-arms.
    pub condition: String,
    pub bell: bool,
    /// The command run on each firing (argv, no shell); empty for none.
    pub on_fire: Vec<String>,
    /// Firing now (any subject).
    pub firing: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FiringOut {
    pub rule: String,
    pub kind: String,
    /// The symbol or gateway, for per-symbol and per-gateway rules.
    pub subject: Option<String>,
    /// The value when it fired (4 dp), in the rule's unit.
    pub value: f64,
    pub level: f64,
    pub message: String,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub since: String,
    /// When it re-armed; `null` while firing (history) .
    pub cleared: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AlertsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub rules: Vec<RuleOut>,
    pub firing: Vec<FiringOut>,
    /// Firings in the window, newest first (from SQLite; this process's firings when there is no database).
    pub history: Vec<FiringOut>,
    pub days: u32,
    pub limit: u32,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct Alerts;

impl Tool for Alerts {
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    const NAME: &'static str = "ibkr_alerts";
    const GROUP: ToolGroup = ToolGroup::Monitoring;
    const DESCRIPTION: &'static str = "Alert rules from the config ([[alerts]]: cushion, margin use, drawdown, leverage, price levels, daily moves, stale data, disconnection), which are firing now (since when, value) and recent firings from SQLite (days 1–90, limit 1–200).";
    type Params = AlertsParams;
    type Output = AlertsOut;

    async fn run(ctx: &ToolContext, p: AlertsParams) -> Result<Answer<AlertsOut>, ToolError> {
        let days = p.days.unwrap_or(7);
        let limit = p.limit.unwrap_or(20);
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let board: &AlertBoard = &snap.alerts;
        let mut warnings = Vec::new();
        let since = now - i64::from(days) * DAY_MS;
        let (history, source) = match ctx.store.db() {
            Some(db) => match record::recent(db, since, limit as usize) {
                Ok(rows) => (
                    rows.into_iter()
                        .map(|r| FiringOut {
                            rule: r.rule,
                            kind: r.kind,
                            subject: r.subject,
                            value: f::round(r.value, 4),
                            level: f::round(r.level, 4),
                            message: r.message,
                            since: f::utc(r.time),
                            cleared: r.cleared.map(f::utc),
                        })
                        .collect(),
                    "SQLite alert history",
                ),
                Err(e) => {
                    warnings.push(format!("The alert history could not be read: {e}."));
                    (Vec::new(), "nothing (history unreadable)")
                }
            },
            None => (
                board
                    .recent
                    .iter()
                    .rev()
                    .filter(|f| f.time >= since)
                    .take(limit as usize)
                    .map(firing_out)
                    .collect(),
                "this process's memory (no database)",
            ),
        };
        if board.rules.is_empty() {
            warnings.push(
                "No alert rules are configured: add [[alerts]] tables to the config (see examples/config.toml)."
                    .into(),
            );
        }
        let out = AlertsOut {
            meta: support::meta(now, None),
            rules: board
                .rules
                .iter()
                .map(|r| RuleOut {
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    condition: r.condition.clone(),
                    bell: r.bell,
                    on_fire: r.on_fire.clone(),
                    firing: board.firing.iter().any(|f| f.rule == r.name),
                })
                .collect(),
            firing: board.firing.iter().map(firing_out).collect(),
            history,
            days,
            limit,
            warnings,
            method: format!(
                "Rules are evaluated on every change of the live state (at most every {} ms) and at least once a second; a rule fires when its value reaches the line and re-arms once the value is back past the line by its hysteresis. History: {source}, the last {days} day(s), at most {limit} rows.",
                crate::alerts::engine::MIN_GAP.as_millis()
            ),
        };
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

fn firing_out(f: &record::Firing) -> FiringOut {
    FiringOut {
        rule: f.rule.clone(),
        kind: f.kind.clone(),
        subject: f.subject.clone(),
        value: f::round(f.value, 4),
        level: f::round(f.level, 4),
        message: f.message.clone(),
        since: f::utc(f.time),
        cleared: f.cleared.map(f::utc),
    }
}

/// One line for the cockpit's prompt pane.
pub fn headline(out: &AlertsOut) -> String {
    let firing: Vec<&str> = out.firing.iter().map(|f| f.rule.as_str()).collect();
    let now = if firing.is_empty() {
        "none firing".to_string()
    } else {
        format!("{} firing: {}", firing.len(), firing.join(", "))
    };
    format!(
        "{} rule(s) · {now} · {} firing(s) in {} d",
        out.rules.len(),
        out.history.len(),
        out.days
    )
}

/// The answer's markdown.
pub fn render(out: &AlertsOut) -> String {
    let mut md = out.meta.header("Alerts");
    md.push('\n');
    md.push_str("## Firing Now\n");
    if out.firing.is_empty() {
        md.push_str("Nothing is firing.\n");
    } else {
        md.push_str(&firing_table(&out.firing, false));
    }
    md.push_str("\n## Rules\n");
    if out.rules.is_empty() {
        md.push_str("No rules configured.\n");
    } else {
        let rows: Vec<Vec<String>> = out
            .rules
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.kind.clone(),
                    r.condition.clone(),
                    if r.firing { "🚨 firing" } else { "armed" }.to_string(),
                    if r.bell { "yes" } else { "no" }.to_string(),
                    if r.on_fire.is_empty() {
                        "—".to_string()
                    } else {
                        format!("`{}`", r.on_fire.join(" "))
                    },
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Rule", "Kind", "Condition", "State", "Bell", "On fire"],
            &[Align::Left; 6],
            &rows,
        ));
    }
    let _ = writeln!(md, "\n## History (last {} days)", out.days);
    if out.history.is_empty() {
        md.push_str("No firings in the window.\n");
    } else {
        md.push_str(&firing_table(&out.history, true));
    }
    for w in &out.warnings {
        let _ = write!(md, "\n⚠️ {w}\n");
    }
    md.push_str(&f::method_line(&out.method));
    md
}

fn firing_table(rows: &[FiringOut], with_cleared: bool) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.since.clone(),
                r.rule.clone(),
                r.subject.clone().unwrap_or_else(|| "—".into()),
                r.message.clone(),
            ];
            if with_cleared {
                row.push(r.cleared.clone().unwrap_or_else(|| "firing".into()));
            }
            row
        })
        .collect();
    let mut headers = vec!["Since", "Rule", "Subject", "Value"];
    if with_cleared {
        headers.push("Re-armed");
    }
    f::table(&headers, &vec![Align::Left; headers.len()], &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_alerts() {
        let firing = FiringOut {
            rule: "KRYX over 55".into(),
            kind: "price_above".into(),
            subject: Some("KRYX".into()),
            value: 55.21,
            level: 55.0,
            message: "KRYX price 55.21 ≥ 55.00".into(),
            since: "2026-05-03 17:15:02 UTC".into(),
            cleared: None,
        };
        let out = AlertsOut {
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            rules: vec![
                RuleOut {
                    name: "KRYX over 55".into(),
                    kind: "price_above".into(),
                    condition: "KRYX price ≥ 55.00 (re-arms below 54.89)".into(),
                    bell: true,
                    on_fire: vec!["notify-send".into(), "{name}".into(), "{message}".into()],
                    firing: true,
                },
                RuleOut {
                    name: "cushion".into(),
                    kind: "cushion_below".into(),
                    condition: "cushion ≤ 10.00% (re-arms above 10.50%)".into(),
                    bell: false,
                    on_fire: Vec::new(),
                    firing: false,
                },
            ],
            firing: vec![firing.clone()],
            history: vec![
                firing,
                FiringOut {
                    rule: "cushion".into(),
                    kind: "cushion_below".into(),
                    subject: None,
                    value: 9.8,
                    level: 10.0,
                    message: "cushion 9.80% ≤ 10.00%".into(),
                    since: "2026-05-02 15:00:00 UTC".into(),
                    cleared: Some("2026-05-02 16:30:00 UTC".into()),
                },
            ],
            days: 7,
            limit: 20,
            warnings: Vec::new(),
            method: "Rules are evaluated on every change of the live state.".into(),
        };
        assert_eq!(
            headline(&out),
            "2 rule(s) · 1 firing: KRYX over 55 · 2 firing(s) in 7 d"
        );
        insta::assert_snapshot!("render_alerts", render(&out));
        insta::assert_snapshot!("headline_alerts", headline(&out));
    }
}
