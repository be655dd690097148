//! `ibkr_selftest`: the whole path checked from inside the running process — each gateway's
//! connection, server version, accounts, live or delayed quotes per held symbol, historical
//! pacing headroom, a real database write (rolled back), clock skew against the gateway, and
//! stalled data — each PASS / WARN / FAIL with what to fix (the words `doctor` uses).

use super::checks::{self, Check, Verdict};
use crate::model::{GatewayRole, Millis, ToolGroup};
use crate::store::LiveState;
use crate::tools::format as f;
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Clock skew within this is a pass (IB's current time has whole-second resolution).
const SKEW_OK_MS: i64 = 2_000;
/// Beyond this it fails: daily bars and session windows start being judged on the wrong day edge.
const SKEW_FAIL_MS: i64 = 30_000;
/// Pacing use above this share of the window is a warning.
const PACING_WARN: f64 = 0.8;
/// Delayed symbols named in the detail.
const NAMED: usize = 10;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelftestParams {}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SelftestOut {
    #[serde(flatten)]
    pub meta: Meta,
    /// The worst verdict of all checks.
    pub overall: Verdict,
    pub checks: Vec<Check>,
    pub passed: usize,
    pub warned: usize,
    pub failed: usize,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct Selftest;

impl Tool for Selftest {
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    const NAME: &'static str = "ibkr_selftest";
    const GROUP: ToolGroup = ToolGroup::Monitoring;
    const DESCRIPTION: &'static str = "Self-test of the whole path: gateway connection, server version, accounts, live vs delayed quotes per held symbol, historical pacing headroom, database write (rolled back), clock skew against the gateway, stalled data — each PASS/WARN/FAIL with what to fix.";
    type Params = SelftestParams;
    type Output = SelftestOut;

    async fn run(ctx: &ToolContext, _p: SelftestParams) -> Result<Answer<SelftestOut>, ToolError> {
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let mut list = Vec::new();
        if ctx.gateways.is_none() {
            list.push(Check::fail(
                "gateway",
                "this process has no gateway connection (cache only)",
                "Run the cockpit, `serve` or `mcp` with a gateway configured (or `--demo`).",
            ));
        }
        for (role, status) in snap.gateways.iter() {
            list.push(checks::connection(role.as_str(), status, now));
        }
        list.extend(session_checks(&snap));
        list.push(quotes_check(&snap));
        if let Some(g) = &ctx.gateways {
            list.push(pacing_check(g.primary.requests().pacing_usage()));
            list.push(clock_check(ctx).await);
        }
        list.push(database_check(ctx));
        list.push(stall_check(&snap, now, ctx.config.data.stale_after_secs));
        let out = summarize(list, support::meta(now, None));
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

/// Server version and accounts of the primary gateway.
fn session_checks(snap: &LiveState) -> Vec<Check> {
    let Some(s) = snap.gateways.get(&GatewayRole::Primary) else {
        return Vec::new();
    };
    let version = match s.server_version {
        Some(v) => Check::pass(
            "API / server version",
            format!("server version {v} (protobuf from 201; this build speaks up to 226)"),
        ),
        None => Check::fail(
            "API / server version",
            "no API handshake yet",
            checks::api_session_fix("primary", "no handshake", s.client_id),
        ),
    };
    let with_nlv = snap
        .accounts
        .values()
        .filter(|a| a.net_liquidation().is_some())
        .count();
    let accounts = if s.accounts.is_empty() {
        Check::fail(
            "accounts",
            "the gateway reports no managed accounts",
            checks::no_accounts_fix("primary"),
        )
    } else if with_nlv == 0 {
        Check::warn(
            "accounts",
            format!("{} account(s), no account values yet", s.accounts.len()),
            "Wait for the first sync (a few seconds); if it never comes, check the account is logged in to IB Gateway.",
        )
    } else {
        Check::pass(
            "accounts",
            format!(
                "{} account(s), {with_nlv} with account values",
                s.accounts.len().max(with_nlv)
            ),
        )
    };
    vec![version, accounts]
}

/// Live, delayed or unpriced, per held symbol of the primary account.
fn quotes_check(snap: &LiveState) -> Check {
    let Some(acct) = snap.primary_account() else {
        return Check::warn(
            "market data",
            "no account yet, so no held symbols",
            "Wait for the first sync.",
        );
    };
    let (mut live, mut delayed, mut portfolio) = (0usize, Vec::new(), 0usize);
    for p in snap
        .positions_of(&acct.account)
        .filter(|p| p.quantity != 0.0)
    {
        match snap.quotes.get(&p.instrument.symbol) {
            Some(q) if q.mode.is_delayed() => delayed.push(p.instrument.symbol.clone()),
            Some(_) => live += 1,
            None => portfolio += 1,
        }
    }
    let detail = format!(
        "{live} live, {} delayed, {portfolio} priced from portfolio updates (no quote line)",
        delayed.len()
    );
    if delayed.is_empty() {
        return Check::pass("market data", detail);
    }
    let named: Vec<&str> = delayed.iter().take(NAMED).map(String::as_str).collect();
    let more = delayed.len().saturating_sub(NAMED);
    Check::warn(
        "market data",
        format!(
            "{detail}; delayed: {}{}",
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
        checks::delayed_fix("primary"),
    )
}

fn pacing_check(u: crate::gateway::pacing::PacingUsage) -> Check {
    let detail = format!(
        "{} of {} small-bar (30 s or less) historical requests used in the last {} s; {} of {} open",
        u.sent_in_window,
        u.max_per_window,
        u.window.as_secs(),
        u.open,
        u.max_open
    );
    let near = |used: usize, max: usize| used as f64 >= max as f64 * PACING_WARN;
    if !near(u.sent_in_window, u.max_per_window) && !near(u.open, u.max_open) {
        Check::pass("pacing headroom", detail)
    } else {
        Check::warn(
            "pacing headroom",
            detail,
            "Historical requests are near IB's limits: further ones wait their turn. Ask for fewer symbols or wait a few minutes.",
        )
    }
}

/// Gateway time vs ours, measured at the midpoint of the request.
async fn clock_check(ctx: &ToolContext) -> Check {
    let Ok(req) = ctx.requests() else {
        return Check::warn("clock skew", "no gateway", "Connect a gateway.");
    };
    let before = ctx.now();
    match req.server_time().await {
        Ok(theirs) => {
            let after = ctx.now();
            let ours: Millis = before + (after - before) / 2;
            let skew = ours - theirs;
            let detail = format!(
                "our clock is {:+.1} s from the gateway's ({} round trip)",
                skew as f64 / 1000.0,
                f::age(after - before)
            );
            let fix = "Synchronise the system clock (e.g. `timedatectl set-ntp true`); the gateway machine's clock too.";
            match skew.abs() {
                s if s <= SKEW_OK_MS => Check::pass("clock skew", detail),
                s if s <= SKEW_FAIL_MS => Check::warn("clock skew", detail, fix),
                _ => Check::fail("clock skew", detail, fix),
            }
        }
        Err(e) => Check::warn(
            "clock skew",
            format!("the gateway did not give its time: {e}"),
            "Check the gateway connection (see the gateway check).",
        ),
    }
}

fn database_check(ctx: &ToolContext) -> Check {
    let Some(db) = ctx.store.db() else {
        return Check::warn(
            "database",
            "no database: history, journal and alert firings are kept in memory only",
            "Set data.db_path (or IBKR_DB_PATH) to a writable file.",
        );
    };
    let place = db
        .path()
        .map_or_else(|| "in memory".to_string(), |p| p.display().to_string());
    match db.probe_write() {
        Ok(()) => Check::pass(
            "database",
            format!("{place}: a write succeeded (and was rolled back)"),
        ),
        Err(e) => Check::fail(
            "database",
            format!("{place}: a write failed: {e}"),
            "Check the disk has space and the file and its directory are writable by this user (`ibkr-cockpit doctor` inspects the file).",
        ),
    }
}

fn stall_check(snap: &LiveState, now: Millis, stale_after_secs: u64) -> Check {
    let Some(s) = snap.gateways.get(&GatewayRole::Primary) else {
        return Check::warn(
            "data flow",
            "no primary gateway yet",
            "Wait for the connection.",
        );
    };
    let last = s.last_data.unwrap_or(s.since);
    let age_ms = (now - last).max(0);
    let detail = format!("last data from the gateway {} ago", f::age(age_ms));
    if s.state == crate::model::ConnState::Stalled {
        Check::fail(
            "data flow",
            format!("{detail}; the connection is stalled"),
            "The gateway stopped answering; it is recycled automatically. If it persists, restart IB Gateway/TWS.",
        )
    } else if age_ms > (stale_after_secs as i64).saturating_mul(1000) {
        Check::warn(
            "data flow",
            format!("{detail} (stale after {stale_after_secs} s)"),
            "A quiet market sends little; if prices should be moving, check the gateway's market-data farm status.",
        )
    } else {
        Check::pass("data flow", detail)
    }
}

/// Counts and overall verdict; pure.
pub fn summarize(checks: Vec<Check>, meta: Meta) -> SelftestOut {
    let count = |v: Verdict| checks.iter().filter(|c| c.verdict == v).count();
    let (passed, warned, failed) = (
        count(Verdict::Pass),
        count(Verdict::Warn),
        count(Verdict::Fail),
    );
    let overall = if failed > 0 {
        Verdict::Fail
    } else if warned > 0 {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    let warnings = checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .filter_map(|c| c.fix.clone())
        .collect();
    SelftestOut {
        meta,
        overall,
        checks,
        passed,
        warned,
        failed,
        warnings,
        method: format!(
            "Read from the live state of this process, plus two requests: the gateway's current time (skew = our clock at the request's midpoint − the gateway's; pass within {} s, fail beyond {} s) and a database write of one row inside a savepoint, rolled back. Pacing: historical requests in IB's 10-minute window (warn from {:.0}% of the limit).",
            SKEW_OK_MS / 1000,
            SKEW_FAIL_MS / 1000,
            PACING_WARN * 100.0
        ),
    }
}

/// One line for the cockpit's prompt pane.
pub fn headline(out: &SelftestOut) -> String {
    let mut s = format!(
        "{} · {} pass, {} warn, {} fail",
        out.overall.label(),
        out.passed,
        out.warned,
        out.failed
    );
    if let Some(c) = out.checks.iter().find(|c| c.verdict == Verdict::Fail) {
        let _ = write!(s, " · {}: {}", c.name, c.detail);
    }
    s
}

/// The answer's markdown.
pub fn render(out: &SelftestOut) -> String {
    let mut md = out.meta.header("Self-Test");
    let icon = |v: Verdict| match v {
        Verdict::Pass => "✅ PASS",
        Verdict::Warn => "⚠️ WARN",
        Verdict::Fail => "❌ FAIL",
    };
    let _ = writeln!(
        md,
        "\n**Overall**: {} ({} pass, {} warn, {} fail)\n",
        icon(out.overall),
        out.passed,
        out.warned,
        out.failed
    );
    let rows: Vec<Vec<String>> = out
        .checks
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                icon(c.verdict).to_string(),
                c.detail.clone(),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &["Check", "Result", "Detail"],
        &[f::Align::Left; 3],
        &rows,
    ));
    if !out.warnings.is_empty() {
        md.push_str("\n## To Fix\n");
        for w in &out.warnings {
            let _ = writeln!(md, "\n⚠️ {w}");
        }
    }
    md.push_str(&f::method_line(&out.method));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_selftest() {
        let out = summarize(
            vec![
                Check::pass(
                    "primary gateway",
                    "connected to 127.0.0.1:4002 for 2 h 5 min (client id 17)",
                ),
                Check::pass(
                    "API / server version",
                    "server version 226 (protobuf from 201; this build speaks up to 226)",
                ),
                Check::warn(
                    "market data",
                    "4 live, 1 delayed, 0 priced from portfolio updates (no quote line); delayed: HDRX",
                    checks::delayed_fix("primary"),
                ),
                Check::fail(
                    "clock skew",
                    "our clock is +41.0 s from the gateway's (12 ms round trip)",
                    "Synchronise the system clock (e.g. `timedatectl set-ntp true`); the gateway machine's clock too.",
                ),
            ],
            Meta::fresh("2026-05-03 17:17:44 UTC"),
        );
        assert_eq!(out.overall, Verdict::Fail);
        assert_eq!(out.warnings.len(), 2);
        assert_eq!(
            headline(&out),
            "FAIL · 2 pass, 1 warn, 1 fail · clock skew: our clock is +41.0 s from the gateway's (12 ms round trip)"
        );
        insta::assert_snapshot!("render_selftest", render(&out));
        insta::assert_snapshot!("headline_selftest", headline(&out));
    }
}
