//! `ibkr_margin_history`: cushion, excess liquidity, leverage and margin use over time, from
//! the samples taken into SQLite while connected (`store::margin_history`), with each figure's
//! low and high and when they happened, plus today's live figures as the latest point.

use crate::model::{Millis, ToolGroup};
use crate::store::margin_history::{self, MarginSample};
use crate::tools::format::{self as f, Align};
use crate::tools::support::{Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const DAY_MS: i64 = 86_400_000;
/// Daily rows shown in the markdown (all of them are in the JSON).
const TABLE_DAYS: usize = 15;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarginHistoryParams {
    /// Days of history (1–365, default 30).
    #[schemars(range(min = 1, max = 365))]
    pub days: Option<u32>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Extreme {
    pub value: f64,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub time: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeriesStats {
    /// `cushion_pct`, `excess_liquidity`, `leverage` or `margin_use_pct`.
    pub metric: String,
    pub current: Option<f64>,
    pub min: Option<Extreme>,
    pub max: Option<Extreme>,
    pub average: Option<f64>,
}

/// The last sample of one UTC day.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub nlv: f64,
    pub cushion_pct: Option<f64>,
    pub excess_liquidity: Option<f64>,
    pub leverage: Option<f64>,
    pub margin_use_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MarginHistoryOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub days: u32,
    /// Samples used (SQLite plus the live figures).
    pub samples: usize,
    pub first_sample: Option<String>,
    pub last_sample: Option<String>,
    pub stats: Vec<SeriesStats>,
    /// One row per UTC day (its last sample), oldest first.
    pub daily: Vec<DayRow>,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct MarginHistory;

impl Tool for MarginHistory {
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    const NAME: &'static str = "ibkr_margin_history";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "Margin history from samples taken into SQLite while connected: cushion, excess liquidity, leverage and margin use over the last `days` (1–365, default 30), each with its low and high and when they happened, plus one row per day.";
    type Params = MarginHistoryParams;
    type Output = MarginHistoryOut;

    async fn run(
        ctx: &ToolContext,
        p: MarginHistoryParams,
    ) -> Result<Answer<MarginHistoryOut>, ToolError> {
        let days = p.days.unwrap_or(30);
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let since = view.now - i64::from(days) * DAY_MS;
        let mut samples = match ctx.store.db() {
            Some(db) => margin_history::since(db, &acct.account, since).map_err(|e| {
                ToolError::new(format!(
                    "{}: could not read the margin history: {e}",
                    Self::NAME
                ))
            })?,
            None => Vec::new(),
        };
        let stored = samples.len();
        if let Some(live) = MarginSample::of(acct, view.now)
            && samples.last().is_none_or(|s| s.time < view.now)
        {
            samples.push(live);
        }
        let mut out = summarize(&samples, view.meta(), days);
        out.account = ctx.mask(&acct.account);
        out.base_currency = acct.base_currency.clone();
        if stored == 0 {
            out.warnings.push(format!(
                "No margin history is stored for this account in the last {days} days: samples are taken every minute while connected, so only the live figures are shown."
            ));
        }
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

/// The statistics and daily rows of `samples` (oldest first); pure.
pub fn summarize(samples: &[MarginSample], meta: Meta, days: u32) -> MarginHistoryOut {
    type Pick = fn(&MarginSample) -> Option<f64>;
    let metrics: [(&str, Pick, i32); 4] = [
        ("cushion_pct", |s| s.cushion.map(|c| c * 100.0), 2),
        ("excess_liquidity", |s| s.excess_liquidity, 2),
        ("leverage", |s| s.leverage, 2),
        ("margin_use_pct", |s| s.margin_use.map(|u| u * 100.0), 2),
    ];
    let stats = metrics
        .iter()
        .map(|(name, pick, dp)| {
            let points: Vec<(Millis, f64)> = samples
                .iter()
                .filter_map(|s| pick(s).filter(|v| v.is_finite()).map(|v| (s.time, v)))
                .collect();
            let extreme = |better: fn(f64, f64) -> bool| {
                points
                    .iter()
                    .copied()
                    .reduce(|a, b| if better(b.1, a.1) { b } else { a })
                    .map(|(t, v)| Extreme {
                        value: f::round(v, *dp),
                        time: f::utc(t),
                    })
            };
            SeriesStats {
                metric: name.to_string(),
                current: samples.last().and_then(pick).map(|v| f::round(v, *dp)),
                min: extreme(|b, a| b < a),
                max: extreme(|b, a| b > a),
                average: (!points.is_empty()).then(|| {
                    f::round(
                        points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64,
                        *dp,
                    )
                }),
            }
        })
        .collect();
    let mut by_day: BTreeMap<i64, &MarginSample> = BTreeMap::new();
    for s in samples {
        by_day.insert(s.time.div_euclid(DAY_MS), s);
    }
    let daily = by_day
        .iter()
        .map(|(day, s)| DayRow {
            date: f::date(day * 86_400),
            nlv: f::round(s.nlv, 2),
            cushion_pct: s.cushion.map(|c| f::round(c * 100.0, 2)),
            excess_liquidity: s.excess_liquidity.map(|v| f::round(v, 2)),
            leverage: s.leverage.map(|v| f::round(v, 2)),
            margin_use_pct: s.margin_use.map(|v| f::round(v * 100.0, 2)),
        })
        .collect();
    MarginHistoryOut {
        meta,
        account: String::new(),
        base_currency: samples
            .last()
            .map(|s| s.currency.clone())
            .unwrap_or_default(),
        days,
        samples: samples.len(),
        first_sample: samples.first().map(|s| f::utc(s.time)),
        last_sample: samples.last().map(|s| f::utc(s.time)),
        stats,
        daily,
        warnings: Vec::new(),
        method: format!(
            "Samples of IB's account values taken every minute while connected (SQLite, kept {} days) plus the live figures as the latest point; cushion = excess liquidity / NLV, leverage = gross position value / NLV, margin use = maintenance requirement / equity with loan. Low and high over every sample in the last {days} days; daily rows are each UTC day's last sample.",
            margin_history::KEEP_DAYS
        ),
    }
}

fn stat<'a>(out: &'a MarginHistoryOut, metric: &str) -> Option<&'a SeriesStats> {
    out.stats.iter().find(|s| s.metric == metric)
}

/// One line for the cockpit's prompt pane.
pub fn headline(out: &MarginHistoryOut) -> String {
    let c = stat(out, "cushion_pct");
    let fmt = |v: Option<f64>| f::pct_plain(v, 2);
    format!(
        "cushion {} now · low {} · high {} over {} d",
        fmt(c.and_then(|s| s.current)),
        fmt(c.and_then(|s| s.min.as_ref().map(|m| m.value))),
        fmt(c.and_then(|s| s.max.as_ref().map(|m| m.value))),
        out.days
    )
}

/// The answer's markdown.
pub fn render(out: &MarginHistoryOut) -> String {
    let ccy = out.base_currency.as_str();
    let mut md = out.meta.header(&format!("Margin History: {}", out.account));
    let _ = writeln!(
        md,
        "\n{} samples over the last {} days ({} to {}).\n",
        out.samples,
        out.days,
        out.first_sample.as_deref().unwrap_or(f::NA),
        out.last_sample.as_deref().unwrap_or(f::NA)
    );
    let show = |metric: &str, v: Option<f64>| match metric {
        "excess_liquidity" => f::money(v, ccy),
        "leverage" => f::times(v),
        _ => f::pct_plain(v, 2),
    };
    let label = |metric: &str| match metric {
        "cushion_pct" => "Cushion",
        "excess_liquidity" => "Excess Liquidity",
        "leverage" => "Leverage",
        _ => "Margin Use",
    };
    let rows: Vec<Vec<String>> = out
        .stats
        .iter()
        .map(|s| {
            let at = |e: &Option<Extreme>| {
                e.as_ref().map_or_else(
                    || f::NA.to_string(),
                    |e| format!("{} ({})", show(&s.metric, Some(e.value)), e.time),
                )
            };
            vec![
                label(&s.metric).to_string(),
                show(&s.metric, s.current),
                at(&s.min),
                at(&s.max),
                show(&s.metric, s.average),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &["Metric", "Now", "Low (when)", "High (when)", "Average"],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &rows,
    ));
    if !out.daily.is_empty() {
        let shown = &out.daily[out.daily.len().saturating_sub(TABLE_DAYS)..];
        let _ = writeln!(
            md,
            "\n## By Day (last {} of {})",
            shown.len(),
            out.daily.len()
        );
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|d| {
                vec![
                    d.date.clone(),
                    f::money(Some(d.nlv), ccy),
                    f::pct_plain(d.cushion_pct, 2),
                    f::money(d.excess_liquidity, ccy),
                    f::times(d.leverage),
                    f::pct_plain(d.margin_use_pct, 2),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Date",
                "NLV",
                "Cushion",
                "Excess Liquidity",
                "Leverage",
                "Margin Use",
            ],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &rows,
        ));
    }
    for w in &out.warnings {
        let _ = write!(md, "\n⚠️ {w}\n");
    }
    md.push_str(&f::method_line(&out.method));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time: Millis, cushion: f64, leverage: f64) -> MarginSample {
        MarginSample {
            time,
            currency: "CAD".into(),
            nlv: 24_618.0,
            equity_with_loan: Some(24_618.0),
            gross_position_value: Some(64_124.0),
            init_margin: Some(24_201.34),
            maint_margin: Some(22_012.81),
            excess_liquidity: Some(cushion * 24_618.0),
            available_funds: Some(416.66),
            cushion: Some(cushion),
            leverage: Some(leverage),
            margin_use: Some(1.0 - cushion),
        }
    }

    #[test]
    fn render_margin_history() {
        let day = DAY_MS;
        let t0 = 1_777_766_400_000; // 2026-05-03 00:00 UTC
        let samples = vec![
            sample(t0 - 2 * day + 3_600_000, 0.121, 2.41),
            sample(t0 - day + 3_600_000, 0.0958, 2.71),
            sample(t0 - day + 7_200_000, 0.1012, 2.66),
            sample(t0 + 62_264_000, 0.1058, 2.6047),
        ];
        let mut out = summarize(&samples, Meta::fresh("2026-05-03 17:17:44 UTC"), 30);
        out.account = "U****4321".into();
        let cushion = &out.stats[0];
        assert_eq!(cushion.min.as_ref().unwrap().value, 9.58);
        assert_eq!(
            cushion.min.as_ref().unwrap().time,
            "2026-05-02 01:00:00 UTC"
        );
        assert_eq!(cushion.max.as_ref().unwrap().value, 12.1);
        assert_eq!(out.daily.len(), 3, "one row per day, the day's last sample");
        assert_eq!(out.daily[1].cushion_pct, Some(10.12));
        assert_eq!(
            headline(&out),
            "cushion 10.58% now · low 9.58% · high 12.10% over 30 d"
        );
        insta::assert_snapshot!("render_margin_history", render(&out));
        insta::assert_snapshot!("headline_margin_history", headline(&out));
    }
}
