//! `ibkr_get_intraday`: current price, session range, volume and move, with one-minute bars for
//! the last N minutes (extended hours included).

use crate::gateway::{BarSpec, intraday};
use crate::model::{Bar, BarSize, Quote};
use crate::tools::format as f;
use crate::tools::market_data::lookup::{bars_with_cache, quote_for};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

fn default_minutes() -> u32 {
    30
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntradayParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// Minutes of one-minute bars to show (1–120, default 30).
    #[serde(default = "default_minutes")]
    #[schemars(range(min = 1, max = 120))]
    pub minutes: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct MinuteBar {
    /// `YYYY-MM-DD HH:MM` UTC.
    pub time: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub open: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub low: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub close: f64,
    #[serde(serialize_with = "crate::tools::format::dp0")]
    pub volume: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct IntradayOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub current: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub session_high: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub session_low: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp0")]
    pub session_volume: Option<f64>,
    /// Move over the last `minutes`: last close − first open of the window.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub window_move: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub window_move_pct: Option<f64>,
    /// Move against the previous close.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub day_change_pct: Option<f64>,
    pub minutes: u32,
    pub bars: Vec<MinuteBar>,
    pub delayed: bool,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct Intraday;

impl Tool for Intraday {
    const NAME: &'static str = "ibkr_get_intraday";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Intraday view: current price, session high/low, volume and move, with one-minute bars for the last N minutes (extended hours included).";
    type Params = IntradayParams;
    type Output = IntradayOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: IntradayParams) -> Result<Answer<IntradayOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let spec = BarSpec {
            bar_size: BarSize::Min1,
            use_rth: false,
            ..BarSpec::daily(&symbol, "1 D")
        };
        let (bars, bar_stale) = bars_with_cache(ctx, Self::NAME, &spec).await?;
        let snap = ctx.store.snapshot();
        let now = ctx.now();
        let quote = quote_for(ctx, &snap, Self::NAME, &symbol)
            .await
            .ok()
            .map(|(q, _)| q);
        let stale = bar_stale.or_else(|| ctx.staleness(&snap, now));
        let meta = support::meta(now, stale.as_ref());
        let mut out = summarise(meta, symbol, p.minutes, &bars, quote.as_ref());
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The session's numbers from the latest session's minute bars and the latest quote. The
/// session comes from the exchange calendar: the extended session (04:00–20:00 New York, 17:00
/// on early-close days) of the last bar, so bars of an earlier day never count; its high, low
/// and volume are the regular session's (09:30 to 16:00 or the early close), as IB's day
/// high/low, or the pre-market's before the open.
fn summarise(
    meta: Meta,
    symbol: String,
    minutes: u32,
    bars: &[Bar],
    quote: Option<&Quote>,
) -> IntradayOut {
    let session = bars.last().and_then(|b| intraday::latest_session(b.time));
    let day: Vec<Bar> = match &session {
        Some(s) => intraday::bars_in(bars, s),
        None => bars.to_vec(),
    };
    let regular = session
        .map(|s| intraday::regular_hours(&day, s.date))
        .unwrap_or_default();
    let ranged: &[Bar] = if regular.is_empty() { &day } else { &regular };
    let bars = day.as_slice();
    let window = &bars[bars.len().saturating_sub(minutes as usize)..];
    let current = quote
        .and_then(|q| q.last.or_else(|| q.price()))
        .or(bars.last().map(|b| b.close));
    let currency = quote
        .map(|q| q.currency.clone())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "USD".into());
    let (wm, wmp) = match (window.first(), window.last()) {
        (Some(a), Some(b)) if a.open != 0.0 => (
            Some(b.close - a.open),
            Some(f::round((b.close / a.open - 1.0) * 100.0, 4)),
        ),
        _ => (None, None),
    };
    IntradayOut {
        warnings: Vec::new(),
        meta,
        symbol,
        currency,
        current: f::json_num(current),
        session_high: ranged.iter().map(|b| b.high).reduce(f64::max),
        session_low: ranged.iter().map(|b| b.low).reduce(f64::min),
        session_volume: if ranged.is_empty() {
            None
        } else {
            Some(ranged.iter().map(|b| b.volume).sum())
        },
        window_move: f::json_num(wm.map(|m| f::round(m, 6))),
        window_move_pct: wmp,
        day_change_pct: quote.and_then(|q| q.change()).map(|c| f::round(c.1, 4)),
        minutes,
        bars: window
            .iter()
            .map(|b| MinuteBar {
                time: f::date_time(b.time),
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            })
            .collect(),
        delayed: quote.is_some_and(|q| q.mode.is_delayed()),
    }
}

pub fn render(out: &IntradayOut) -> String {
    let c = out.currency.as_str();
    let mut md = out.meta.header(&format!(
        "Intraday: {} (last {} min)",
        out.symbol, out.minutes
    ));
    md.push('\n');
    md.push_str(&f::kv_table(&[
        (
            "Current",
            format!(
                "{}{}",
                f::money(out.current, c),
                if out.delayed { " (delayed)" } else { "" }
            ),
        ),
        ("Session High", f::money(out.session_high, c)),
        ("Session Low", f::money(out.session_low, c)),
        ("Session Volume", f::volume(out.session_volume)),
        (
            &format!("Move ({} min)", out.minutes),
            format!(
                "{} ({})",
                f::signed_money(out.window_move, c),
                f::pct(out.window_move_pct)
            ),
        ),
        ("Day Change", f::pct(out.day_change_pct)),
    ]));
    if out.bars.is_empty() {
        md.push_str("\nNo one-minute bars today yet.\n");
    } else {
        let _ = writeln!(md, "\n## One-Minute Bars ({} shown)", out.bars.len());
        md.push_str(&f::ohlcv_table(
            "Time (UTC)",
            out.bars
                .iter()
                .rev()
                .map(|b| (b.time.as_str(), b.open, b.high, b.low, b.close, b.volume)),
        ));
    }
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &IntradayOut) -> String {
    use crate::tools::format as f;
    f::headline(&[
        format!(
            "{} {} {}{}",
            out.symbol,
            f::number(out.current, 2),
            out.currency,
            if out.delayed { " (delayed)" } else { "" }
        ),
        format!("last {} min {}", out.minutes, f::pct(out.window_move_pct)),
        format!("day {}", f::pct(out.day_change_pct)),
        format!(
            "session {}–{}",
            f::number(out.session_low, 2),
            f::number(out.session_high, 2)
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DataMode;

    fn bar(time: i64, high: f64, low: f64) -> Bar {
        Bar {
            time,
            open: low,
            high,
            low,
            close: high,
            volume: 100.0,
            wap: low,
            count: 1,
        }
    }

    #[test]
    fn session_range_is_the_regular_session_of_the_last_bars_day() {
        // 2026-11-27 closes at 13:00 New York (18:00 UTC); extended hours run to 17:00 (22:00 UTC).
        let pre = 1_795_770_000; // 2026-11-27 09:00 UTC, 04:00 New York
        let open = 1_795_789_800; // 14:30 UTC, 09:30 New York
        let bars = vec![
            bar(1_795_636_800, 99.0, 1.0), // Wednesday 15:00 New York: another day
            bar(pre, 80.0, 40.0),          // pre-market
            bar(open, 52.0, 50.0),
            bar(open + 60, 53.0, 51.0),
            bar(1_795_806_000, 70.0, 45.0), // 14:00 New York: after the early close
        ];
        let out = summarise(support::meta(0, None), "KRYX".into(), 120, &bars, None);
        assert_eq!(
            (out.session_high, out.session_low, out.session_volume),
            (Some(53.0), Some(50.0), Some(200.0))
        );
        assert_eq!(out.bars.len(), 4, "the Wednesday bar is not today's");
        // Before the open the pre-market is all the session there is.
        let out = summarise(support::meta(0, None), "KRYX".into(), 120, &bars[..2], None);
        assert_eq!(
            (out.session_high, out.session_low),
            (Some(80.0), Some(40.0))
        );
    }

    #[test]
    fn render_get_intraday() {
        let t0 = 1_777_901_400; // 2026-05-04 13:30 UTC, 09:30 New York (a Monday)
        let bars: Vec<Bar> = (0..8)
            .map(|i| {
                let c = 54.0 + i as f64 * 0.03;
                Bar {
                    time: t0 + i * 60,
                    open: c - 0.02,
                    high: c + 0.05,
                    low: c - 0.04,
                    close: c,
                    volume: 12_000.0 + i as f64 * 500.0,
                    wap: c,
                    count: 40,
                }
            })
            .collect();
        let quote = Quote {
            symbol: "KRYX".into(),
            currency: "USD".into(),
            last: Some(54.21),
            close: Some(56.97),
            mode: DataMode::Delayed,
            ..Quote::default()
        };
        let meta = support::meta(1_777_828_664_000, None);
        let out = summarise(meta.clone(), "KRYX".into(), 5, &bars, Some(&quote));
        let empty = summarise(meta, "VLTX".into(), 30, &[], None);
        insta::assert_snapshot!(
            "render_get_intraday",
            format!("{}\n---\n\n{}", render(&out), render(&empty))
        );
        insta::assert_snapshot!(
            "headline_get_intraday",
            [headline(&out), headline(&empty)].join("\n")
        );
    }
}
