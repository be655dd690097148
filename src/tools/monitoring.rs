//! Monitoring tools: `ibkr_drawdown_tracker` (drawdown from the high-water mark of the NLV
//! history sampled into SQLite) and `ibkr_connection_status` (each gateway's health and its
//! recent events in words).

use super::format::{self as f, Align};
use super::support::{Meta, resolve_account};
use super::{Answer, Tool, ToolContext, ToolError};
use crate::analytics::drawdown;
use crate::model::{GatewayRole, GatewayStatus, Millis};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

const DAY_MS: i64 = 86_400_000;

/// How many gateway events the connection status lists.
pub const EVENTS_SHOWN: usize = 20;

// ---------------------------------------------------------------------------------------------
// ibkr_drawdown_tracker

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawdownParams {
    /// Only the last N days of history (1–3650). Default: all of it.
    #[schemars(range(min = 1, max = 3650))]
    pub days: Option<u32>,
    /// Override the high-water mark (in the account's base currency), e.g. a peak reached before
    /// the history began. Must be positive.
    pub peak_nlv: Option<f64>,
    /// Account id (or its masked form as shown in answers). Default: the primary gateway's first account.
    pub account: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DrawdownOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    /// NLV samples used (including the live NLV as the latest point when it is newer).
    pub samples: usize,
    /// `YYYY-MM-DD HH:MM:SS UTC` of the first and last sample.
    pub first_sample: Option<String>,
    pub last_sample: Option<String>,
    pub days: Option<u32>,
    pub current_nlv: Option<f64>,
    pub high_water_mark: Option<f64>,
    /// When the high-water mark was set; `null` when it is the `peak_nlv` override.
    pub high_water_mark_time: Option<String>,
    pub peak_override: Option<f64>,
    /// Current drawdown in percent (≤ 0).
    pub current_drawdown_pct: Option<f64>,
    /// Current NLV − high-water mark (≤ 0).
    pub current_drawdown_amount: Option<f64>,
    /// The worst drawdown in the window, percent (≤ 0): 0 when NLV never fell below its
    /// high-water mark; `null` only without history.
    pub max_drawdown_pct: Option<f64>,
    /// The worst episode's peak, trough and recovery; `null` when there was none (see
    /// `max_drawdown_pct`).
    pub max_drawdown: Option<MaxDrawdownOut>,
    /// Gain needed from the current NLV to regain the high-water mark, in percent.
    pub recovery_needed_pct: Option<f64>,
    /// Why there is no answer (no history yet), in words; `null` when there is one.
    pub no_history: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MaxDrawdownOut {
    /// Percent (≤ 0).
    pub drawdown_pct: f64,
    pub peak_nlv: f64,
    /// `null` when the peak is the `peak_nlv` override.
    pub peak_time: Option<String>,
    pub trough_nlv: f64,
    pub trough_time: String,
    /// When NLV regained the peak; `null` while not recovered.
    pub recovery_time: Option<String>,
    pub recovered: bool,
}

pub struct DrawdownTracker;

impl Tool for DrawdownTracker {
    const NAME: &'static str = "ibkr_drawdown_tracker";
    const GROUP: &'static str = "monitoring";
    const DESCRIPTION: &'static str = "Drawdown of NLV from its high-water mark (history sampled into SQLite while connected): current, maximum, dates, recovery.";
    type Params = DrawdownParams;
    type Output = DrawdownOut;

    async fn run(ctx: &ToolContext, p: DrawdownParams) -> Result<Answer<DrawdownOut>, ToolError> {
        if let Some(peak) = p.peak_nlv
            && !(peak.is_finite() && peak > 0.0)
        {
            return Err(ToolError::new(format!(
                "{}: peak_nlv must be a positive amount in the account's base currency (got {peak}).",
                Self::NAME
            )));
        }
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let ccy = acct.base_currency.clone();
        let since = p.days.map_or(0, |d| view.now - i64::from(d) * DAY_MS);
        let mut points: Vec<(Millis, f64)> = match ctx.store.db() {
            Some(db) => db.nlv_history(&acct.account, since).map_err(|e| {
                ToolError::new(format!(
                    "{}: could not read the NLV history: {e}",
                    Self::NAME
                ))
            })?,
            None => Vec::new(),
        };
        let history_len = points.len();
        // The live NLV is the freshest point: without it "current" would be up to a minute old.
        let live_nlv = acct.net_liquidation().filter(|v| v.is_finite() && *v > 0.0);
        if let Some(nlv) = live_nlv
            && points.last().is_none_or(|(t, _)| *t < view.now)
        {
            points.push((view.now, nlv));
        }

        let mut out = DrawdownOut {
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: ccy.clone(),
            samples: points.len(),
            first_sample: points.first().map(|(t, _)| f::utc(*t)),
            last_sample: points.last().map(|(t, _)| f::utc(*t)),
            days: p.days,
            current_nlv: f::json_num(live_nlv.or(points.last().map(|(_, v)| *v))),
            high_water_mark: None,
            high_water_mark_time: None,
            peak_override: p.peak_nlv,
            current_drawdown_pct: None,
            current_drawdown_amount: None,
            max_drawdown_pct: None,
            max_drawdown: None,
            recovery_needed_pct: None,
            no_history: None,
        };
        let mut md = view.header(&format!("Drawdown Tracker: {}", out.account));
        md.push('\n');

        let report = if history_len == 0 && p.peak_nlv.is_none() {
            None
        } else {
            drawdown::drawdowns(&points, p.peak_nlv)
        };
        let Some(report) = report else {
            let why = if ctx.store.db().is_none() {
                "No NLV history: this process has no database attached (data.db_path), and the history lives in SQLite."
            } else {
                "No NLV history yet for this account. The cockpit samples NLV into SQLite when it connects and every minute while connected; the drawdown needs at least a few samples, so run the cockpit (or `ibkr-cockpit serve`) for a while and ask again. To measure against a peak you know, pass peak_nlv."
            };
            out.no_history = Some(why.to_string());
            let _ = writeln!(md, "{why}");
            if let Some(nlv) = out.current_nlv {
                let _ = writeln!(md, "\n**Current NLV**: {}", f::money(Some(nlv), &ccy));
            }
            return Ok(Answer {
                markdown: md,
                data: out,
            });
        };

        let hwm_time = report
            .series
            .iter()
            .rev()
            .find(|pt| pt.value == report.high_water_mark)
            .map(|pt| f::utc(pt.time));
        let last_value = report.series.last().map(|pt| pt.value);
        out.high_water_mark = Some(f::round(report.high_water_mark, 2));
        out.high_water_mark_time = hwm_time;
        out.current_drawdown_pct = Some(f::round(report.current * 100.0, 4));
        out.current_drawdown_amount = last_value.map(|v| f::round(v - report.high_water_mark, 2));
        out.recovery_needed_pct = last_value
            .filter(|v| *v > 0.0)
            .map(|v| f::round((report.high_water_mark / v - 1.0) * 100.0, 4));
        out.max_drawdown_pct = Some(f::round(report.max_drawdown() * 100.0, 4));
        out.max_drawdown = report.max.map(|m| MaxDrawdownOut {
            drawdown_pct: f::round(m.drawdown * 100.0, 4),
            peak_nlv: f::round(m.peak_value, 2),
            peak_time: m.peak_time.map(f::utc),
            trough_nlv: f::round(m.trough_value, 2),
            trough_time: f::utc(m.trough_time),
            recovery_time: m.recovery_time.map(f::utc),
            recovered: m.recovery_time.is_some(),
        });

        let window = match p.days {
            Some(d) => format!("last {d} day(s)"),
            None => "all history".to_string(),
        };
        md.push_str(&f::kv_table(&[
            ("Current NLV", f::money(out.current_nlv, &ccy)),
            (
                "High-Water Mark",
                format!(
                    "{} ({})",
                    f::money(out.high_water_mark, &ccy),
                    out.high_water_mark_time
                        .clone()
                        .unwrap_or_else(|| "peak_nlv override".into())
                ),
            ),
            (
                "Current Drawdown",
                format!(
                    "{} ({})",
                    f::pct(out.current_drawdown_pct),
                    f::signed_money(out.current_drawdown_amount, &ccy)
                ),
            ),
            (
                "Gain Needed to Recover",
                f::pct_plain(out.recovery_needed_pct, 2),
            ),
        ]));
        md.push_str("\n## Maximum Drawdown\n");
        match &out.max_drawdown {
            None => md.push_str("NLV never fell below its high-water mark in this window.\n"),
            Some(m) => {
                md.push_str(&f::kv_table(&[
                    ("Drawdown", f::pct(Some(m.drawdown_pct))),
                    (
                        "Peak",
                        format!(
                            "{} ({})",
                            f::money(Some(m.peak_nlv), &ccy),
                            m.peak_time
                                .clone()
                                .unwrap_or_else(|| "peak_nlv override".into())
                        ),
                    ),
                    (
                        "Trough",
                        format!("{} ({})", f::money(Some(m.trough_nlv), &ccy), m.trough_time),
                    ),
                    (
                        "Recovery",
                        m.recovery_time
                            .clone()
                            .unwrap_or_else(|| "not recovered yet".into()),
                    ),
                ]));
            }
        }
        let _ = writeln!(
            md,
            "\n_Method: high-water mark = running maximum of NLV{}; drawdown = NLV / HWM − 1. {} NLV samples ({window}, {} → {}), the last one the live NLV._",
            if p.peak_nlv.is_some() {
                " (starting from peak_nlv)"
            } else {
                ""
            },
            out.samples,
            out.first_sample.as_deref().unwrap_or(f::NA),
            out.last_sample.as_deref().unwrap_or(f::NA),
        );
        if history_len < 2 {
            md.push_str(
                "\n_Only one stored NLV sample so far: the history grows by one sample a minute while the cockpit is connected._\n",
            );
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// ibkr_connection_status

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionParams {}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GatewayRow {
    /// primary | secondary
    pub role: String,
    pub host: String,
    pub port: u16,
    pub client_id: i32,
    /// connecting | connected | reconnecting | disconnected
    pub state: String,
    pub connected: bool,
    pub server_version: Option<i32>,
    /// When the current state began.
    pub since: String,
    pub since_age_s: f64,
    /// Seconds since the last data arrived; `null` when none yet.
    pub last_data_age_s: Option<f64>,
    pub reconnects: u32,
    /// live | frozen | delayed | delayed-frozen
    pub market_data_mode: String,
    /// Masked account ids served by this gateway.
    pub accounts: Vec<String>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventRow {
    pub time: String,
    pub gateway: String,
    /// IB code, 0 for the cockpit's own supervisor events.
    pub code: i32,
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub gateways: Vec<GatewayRow>,
    /// Newest first, at most 20.
    pub events: Vec<EventRow>,
}

/// One gateway's status as a row (also used by the briefing's connection section).
pub fn gateway_row(
    ctx: &ToolContext,
    s: &GatewayStatus,
    role: GatewayRole,
    now: Millis,
) -> GatewayRow {
    GatewayRow {
        role: role.as_str().to_string(),
        host: s.host.clone(),
        port: s.port,
        client_id: s.client_id,
        state: s.state.label().to_string(),
        connected: s.state == crate::model::ConnState::Connected,
        server_version: s.server_version,
        since: f::utc(s.since),
        since_age_s: (now - s.since).max(0) as f64 / 1000.0,
        last_data_age_s: s.last_data.map(|t| (now - t).max(0) as f64 / 1000.0),
        reconnects: s.reconnects,
        market_data_mode: s.market_data_mode.label().to_string(),
        accounts: s.accounts.iter().map(|a| ctx.mask(a)).collect(),
        last_error: s.last_error.clone(),
    }
}

/// `2s ago`, or `never`.
pub fn age_words(age_s: Option<f64>) -> String {
    match age_s {
        Some(s) => format!("{} ago", f::age((s * 1000.0) as i64)),
        None => "never".to_string(),
    }
}

pub struct ConnectionStatus;

impl Tool for ConnectionStatus {
    const NAME: &'static str = "ibkr_connection_status";
    const GROUP: &'static str = "monitoring";
    const DESCRIPTION: &'static str = "Gateway connection health: connected or not, server version, since when, last data age, reconnects, market-data mode, and the last 20 events in words.";
    type Params = ConnectionParams;
    type Output = ConnectionOut;

    async fn run(
        ctx: &ToolContext,
        _p: ConnectionParams,
    ) -> Result<Answer<ConnectionOut>, ToolError> {
        // Works with no account data at all: that is exactly when people ask for it.
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let stale = ctx.staleness(&snap, now);
        let gateways: Vec<GatewayRow> = snap
            .gateways
            .iter()
            .map(|(role, s)| gateway_row(ctx, s, *role, now))
            .collect();
        let events: Vec<EventRow> = snap
            .events
            .iter()
            .rev()
            .take(EVENTS_SHOWN)
            .map(|e| EventRow {
                time: f::utc(e.time),
                gateway: e.role.as_str().to_string(),
                code: e.code,
                message: e.message.clone(),
            })
            .collect();
        let out = ConnectionOut {
            meta: super::support::meta(now, stale.as_ref()),
            gateways,
            events,
        };

        let mut md = super::support::header("Connection Status", now, stale.as_ref());
        md.push('\n');
        if out.gateways.is_empty() {
            md.push_str(if ctx.gateways.is_none() {
                "No gateway in this process: answers come from the cache only.\n"
            } else {
                "No gateway has reported its status yet (still starting).\n"
            });
        }
        for g in &out.gateways {
            let _ = writeln!(
                md,
                "## {} gateway ({}:{})",
                capitalise(&g.role),
                g.host,
                g.port
            );
            let mut rows: Vec<(&str, String)> = vec![
                (
                    "Status",
                    format!("{}{}", g.state, if g.connected { " ✅" } else { " ⚠️" }),
                ),
                (
                    "Since",
                    format!("{} ({})", g.since, age_words(Some(g.since_age_s))),
                ),
                ("Last Data", age_words(g.last_data_age_s)),
                (
                    "Server Version",
                    g.server_version
                        .map_or_else(|| f::NA.into(), |v| v.to_string()),
                ),
                ("Client ID", g.client_id.to_string()),
                ("Reconnects", g.reconnects.to_string()),
                ("Market Data", g.market_data_mode.clone()),
                (
                    "Accounts",
                    if g.accounts.is_empty() {
                        f::NA.into()
                    } else {
                        g.accounts.join(", ")
                    },
                ),
            ];
            if let Some(e) = &g.last_error {
                rows.push(("Last Error", e.clone()));
            }
            md.push_str(&f::kv_table(&rows));
            md.push('\n');
        }
        let _ = writeln!(md, "## Recent Events (newest first, last {EVENTS_SHOWN})");
        if out.events.is_empty() {
            md.push_str("No events recorded yet.\n");
        } else {
            let rows: Vec<Vec<String>> = out
                .events
                .iter()
                .map(|e| {
                    vec![
                        e.time.clone(),
                        e.gateway.clone(),
                        if e.code == 0 {
                            "—".into()
                        } else {
                            e.code.to_string()
                        },
                        e.message.clone(),
                    ]
                })
                .collect();
            md.push_str(&f::table(
                &["Time", "Gateway", "Code", "Event"],
                &[Align::Left, Align::Left, Align::Right, Align::Left],
                &rows,
            ));
        }
        Ok(Answer {
            markdown: md,
            data: out,
        })
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
