//! `ibkr_drawdown_tracker`: drawdown of NLV from the high-water mark of the NLV history sampled
//! into SQLite (plus the live NLV as the latest point).

use crate::analytics::drawdown;
use crate::model::{Millis, ToolGroup};
use crate::tools::format as f;
use crate::tools::support::{Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

const DAY_MS: i64 = 86_400_000;

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
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub current_nlv: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high_water_mark: Option<f64>,
    /// When the high-water mark was set; `null` when it is the `peak_nlv` override.
    pub high_water_mark_time: Option<String>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub peak_override: Option<f64>,
    /// Current drawdown in percent (≤ 0).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub current_drawdown_pct: Option<f64>,
    /// Current NLV − high-water mark (≤ 0).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub current_drawdown_amount: Option<f64>,
    /// The worst drawdown in the window, percent (≤ 0): 0 when NLV never fell below its
    /// high-water mark; `null` only without history.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub max_drawdown_pct: Option<f64>,
    /// The worst episode's peak, trough and recovery; `null` when there was none (see
    /// `max_drawdown_pct`).
    pub max_drawdown: Option<MaxDrawdownOut>,
    /// Gain needed from the current NLV to regain the high-water mark, in percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub recovery_needed_pct: Option<f64>,
    /// Why there is no answer (no history yet), in words; `null` when there is one.
    pub no_history: Option<String>,
    /// NLV samples read from SQLite (without the live one), for the note on a short history.
    #[serde(skip)]
    pub stored_samples: usize,
    /// How: high-water mark, drawdown formula, the NLV samples and window used.
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MaxDrawdownOut {
    /// Percent (≤ 0).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub drawdown_pct: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub peak_nlv: f64,
    /// `null` when the peak is the `peak_nlv` override.
    pub peak_time: Option<String>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub trough_nlv: f64,
    pub trough_time: String,
    /// When NLV regained the peak; `null` while not recovered.
    pub recovery_time: Option<String>,
    pub recovered: bool,
}

pub struct DrawdownTracker;

impl Tool for DrawdownTracker {
    const NAME: &'static str = "ibkr_drawdown_tracker";
    const GROUP: ToolGroup = ToolGroup::Monitoring;
    const DESCRIPTION: &'static str = "Drawdown of NLV from its high-water mark (history sampled into SQLite while connected): current, maximum, dates, recovery.";
    type Params = DrawdownParams;
    type Output = DrawdownOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

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
        let stored_samples = points.len();
        // The live NLV is the freshest point: without it "current" would be up to a minute old.
        let live_nlv = acct.net_liquidation().filter(|v| v.is_finite() && *v > 0.0);
        if let Some(nlv) = live_nlv
            && points.last().is_none_or(|(t, _)| *t < view.now)
        {
            points.push((view.now, nlv));
        }

        let mut out = DrawdownOut {
            method: String::new(),
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: acct.base_currency.clone(),
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
            stored_samples,
        };
        let report = if stored_samples == 0 && p.peak_nlv.is_none() {
            None
        } else {
            drawdown::drawdowns(&points, p.peak_nlv)
        };
        match report {
            Some(report) => fill_report(&mut out, &report),
            None => {
                out.no_history = Some(
                    if ctx.store.db().is_none() {
                        "No NLV history: this process has no database attached (data.db_path), and the history lives in SQLite."
                    } else {
                        "No NLV history yet for this account. The cockpit samples NLV into SQLite when it connects and every minute while connected; the drawdown needs at least a few samples, so run the cockpit (or `ibkr-cockpit serve`) for a while and ask again. To measure against a peak you know, pass peak_nlv."
                    }
                    .to_string(),
                )
            }
        }
        out.method = method_of(&out);
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The drawdown figures of the answer, rounded as the JSON shows them.
fn fill_report(out: &mut DrawdownOut, report: &drawdown::DrawdownReport) {
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
    out.max_drawdown = report.max.as_ref().map(|m| MaxDrawdownOut {
        drawdown_pct: f::round(m.drawdown * 100.0, 4),
        peak_nlv: f::round(m.peak_value, 2),
        peak_time: m.peak_time.map(f::utc),
        trough_nlv: f::round(m.trough_value, 2),
        trough_time: f::utc(m.trough_time),
        recovery_time: m.recovery_time.map(f::utc),
        recovered: m.recovery_time.is_some(),
    });
}

/// The answer's markdown: the current and maximum drawdown, or why there is no history yet.
pub fn render(out: &DrawdownOut) -> String {
    let ccy = &out.base_currency;
    let mut md = out
        .meta
        .header(&format!("Drawdown Tracker: {}", out.account));
    md.push('\n');
    if let Some(why) = &out.no_history {
        let _ = writeln!(md, "{why}");
        if let Some(nlv) = out.current_nlv {
            let _ = writeln!(md, "\n**Current NLV**: {}", f::money(Some(nlv), ccy));
        }
        return md;
    }
    md.push_str(&f::kv_table(&[
        ("Current NLV", f::money(out.current_nlv, ccy)),
        (
            "High-Water Mark",
            format!(
                "{} ({})",
                f::money(out.high_water_mark, ccy),
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
                f::signed_money(out.current_drawdown_amount, ccy)
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
        Some(m) => md.push_str(&max_drawdown_table(m, ccy)),
    }
    md.push_str(&f::method_line(&out.method));
    if out.stored_samples < 2 {
        md.push_str(
            "\n_Only one stored NLV sample so far: the history grows by one sample a minute while the cockpit is connected._\n",
        );
    }
    md
}

fn max_drawdown_table(m: &MaxDrawdownOut, ccy: &str) -> String {
    f::kv_table(&[
        ("Drawdown", f::pct(Some(m.drawdown_pct))),
        (
            "Peak",
            format!(
                "{} ({})",
                f::money(Some(m.peak_nlv), ccy),
                m.peak_time
                    .clone()
                    .unwrap_or_else(|| "peak_nlv override".into())
            ),
        ),
        (
            "Trough",
            format!("{} ({})", f::money(Some(m.trough_nlv), ccy), m.trough_time),
        ),
        (
            "Recovery",
            m.recovery_time
                .clone()
                .unwrap_or_else(|| "not recovered yet".into()),
        ),
    ])
}

/// How the drawdown was measured, from the answer's own window and samples.
fn method_of(out: &DrawdownOut) -> String {
    let window = match out.days {
        Some(d) => format!("last {d} day(s)"),
        None => "all history".to_string(),
    };
    format!(
        "high-water mark = running maximum of NLV{}; drawdown = NLV / HWM − 1. {} NLV samples ({window}, {} → {}), the last one the live NLV",
        if out.peak_override.is_some() {
            " (starting from peak_nlv)"
        } else {
            ""
        },
        out.samples,
        out.first_sample.as_deref().unwrap_or(f::NA),
        out.last_sample.as_deref().unwrap_or(f::NA),
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &DrawdownOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    f::headline(&[
        format!("NLV {} {ccy}", f::number(out.current_nlv, 2)),
        format!(
            "drawdown {} from high {} {ccy}",
            f::pct_plain(out.current_drawdown_pct, 2),
            f::number(out.high_water_mark, 2)
        ),
        format!("max {}", f::pct_plain(out.max_drawdown_pct, 2)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered() -> DrawdownOut {
        let mut out = DrawdownOut {
            method: String::new(),
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            samples: 4,
            first_sample: Some("2026-04-29 14:00:00 UTC".into()),
            last_sample: Some("2026-05-03 17:17:44 UTC".into()),
            days: Some(30),
            current_nlv: Some(24_618.0),
            high_water_mark: Some(26_000.0),
            high_water_mark_time: Some("2026-04-30 15:00:00 UTC".into()),
            peak_override: None,
            current_drawdown_pct: Some(-5.3154),
            current_drawdown_amount: Some(-1_382.0),
            max_drawdown_pct: Some(-8.0),
            max_drawdown: Some(MaxDrawdownOut {
                drawdown_pct: -8.0,
                peak_nlv: 26_000.0,
                peak_time: Some("2026-04-30 15:00:00 UTC".into()),
                trough_nlv: 23_920.0,
                trough_time: "2026-05-01 15:00:00 UTC".into(),
                recovery_time: None,
                recovered: false,
            }),
            recovery_needed_pct: Some(5.6138),
            no_history: None,
            stored_samples: 3,
        };
        out.method = method_of(&out);
        out
    }

    #[test]
    fn renders_current_and_maximum_drawdown() {
        insta::assert_snapshot!("render_drawdown_tracker", render(&answered()));
        insta::assert_snapshot!(
            "headline_drawdown_tracker",
            [headline(&answered())].join("\n")
        );
    }

    #[test]
    fn without_history_it_says_why() {
        let out = DrawdownOut {
            no_history: Some("No NLV history yet for this account.".into()),
            stored_samples: 0,
            ..answered()
        };
        let md = render(&out);
        assert!(
            md.ends_with(
                "No NLV history yet for this account.\n\n**Current NLV**: $24,618.00 CAD\n"
            ),
            "{md}"
        );
    }
}
