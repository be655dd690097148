//! `ibkr_connection_status`: each gateway's health and its recent events in words. The gateway
//! row is shared with the briefing's connection section.

use crate::model::{GatewayRole, GatewayStatus, Millis, ToolGroup};
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// How many gateway events the connection status lists.
pub const EVENTS_SHOWN: usize = 20;

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
    #[serde(serialize_with = "crate::tools::format::dp1")]
    pub since_age_s: f64,
    /// Seconds since the last data arrived; `null` when none yet.
    #[serde(serialize_with = "crate::tools::format::dp1")]
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
    /// This process has no gateway at all (answers come from the cache only).
    #[serde(skip)]
    pub cache_only: bool,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
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
    const GROUP: ToolGroup = ToolGroup::Monitoring;
    const DESCRIPTION: &'static str = "Gateway connection health: connected or not, server version, since when, last data age, reconnects, market-data mode, and the last 20 events in words.";
    type Params = ConnectionParams;
    type Output = ConnectionOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

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
        let mut out = ConnectionOut {
            warnings: Vec::new(),
            meta: support::meta(now, stale.as_ref()),
            gateways,
            events,
            cache_only: ctx.gateways.is_none(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: one table per gateway, then the recent events.
pub fn render(out: &ConnectionOut) -> String {
    let mut md = out.meta.header("Connection Status");
    md.push('\n');
    if out.gateways.is_empty() {
        md.push_str(if out.cache_only {
            "No gateway in this process: answers come from the cache only.\n"
        } else {
            "No gateway has reported its status yet (still starting).\n"
        });
    }
    for g in &out.gateways {
        md.push_str(&gateway_section(g));
    }
    let _ = writeln!(md, "## Recent Events (newest first, last {EVENTS_SHOWN})");
    if out.events.is_empty() {
        md.push_str("No events recorded yet.\n");
    } else {
        md.push_str(&events_table(&out.events));
    }
    md
}

fn gateway_section(g: &GatewayRow) -> String {
    let mut md = format!(
        "## {} gateway ({}:{})\n",
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
    md
}

fn events_table(events: &[EventRow]) -> String {
    let rows: Vec<Vec<String>> = events
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
    f::table(
        &["Time", "Gateway", "Code", "Event"],
        &[Align::Left, Align::Left, Align::Right, Align::Left],
        &rows,
    )
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &ConnectionOut) -> String {
    use crate::tools::format as f;
    let gateways: Vec<String> = out
        .gateways
        .iter()
        .map(|g| format!("{} {}, {} reconnect(s)", g.role, g.state, g.reconnects))
        .collect();
    f::headline(&[
        gateways.join("; "),
        if out.cache_only {
            "cache only".to_string()
        } else {
            String::new()
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_gateways_and_events() {
        let primary = GatewayRow {
            role: "primary".into(),
            host: "127.0.0.1".into(),
            port: 4002,
            client_id: 7,
            state: "connected".into(),
            connected: true,
            server_version: Some(178),
            since: "2026-05-03 17:00:00 UTC".into(),
            since_age_s: 1_064.0,
            last_data_age_s: Some(2.0),
            reconnects: 1,
            market_data_mode: "live".into(),
            accounts: vec!["U****4321".into()],
            last_error: None,
        };
        let secondary = GatewayRow {
            role: "secondary".into(),
            port: 4012,
            state: "reconnecting".into(),
            connected: false,
            server_version: None,
            last_data_age_s: None,
            reconnects: 3,
            market_data_mode: "delayed".into(),
            accounts: Vec::new(),
            last_error: Some("connection refused".into()),
            ..primary.clone()
        };
        let out = ConnectionOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            gateways: vec![primary, secondary],
            events: vec![
                EventRow {
                    time: "2026-05-03 17:16:00 UTC".into(),
                    gateway: "secondary".into(),
                    code: 0,
                    message: "reconnecting in 8 s (attempt 3)".into(),
                },
                EventRow {
                    time: "2026-05-03 17:00:01 UTC".into(),
                    gateway: "primary".into(),
                    code: 2104,
                    message: "Market data farm connection is OK:usfarm".into(),
                },
            ],
            cache_only: false,
        };
        insta::assert_snapshot!("render_connection_status", render(&out));
        insta::assert_snapshot!("headline_connection_status", [headline(&out)].join("\n"));
    }

    #[test]
    fn without_gateways_it_says_cache_only() {
        let out = ConnectionOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            gateways: Vec::new(),
            events: Vec::new(),
            cache_only: true,
        };
        let md = render(&out);
        assert!(md.contains("answers come from the cache only"), "{md}");
        assert!(md.ends_with("No events recorded yet.\n"), "{md}");
    }
}
