//! `ibkr_technicals`: indicators on one year of daily bars (computed by `analytics::technicals`):
//! SMA 20/50/200, EMA 12/26, RSI 14, MACD 12/26/9, Bollinger 20/2, ATR 14, the 52-week range by
//! date (`analytics::windows`), signals.

use crate::analytics::{technicals, windows};
use crate::gateway::BarSpec;
use crate::model::Bar;
use crate::tools::format as f;
use crate::tools::market_data::lookup::bars_with_cache;
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Indicator groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// SMA 20/50/200, EMA 12/26.
    Trend,
    /// RSI 14, MACD 12/26/9.
    Momentum,
    /// Bollinger 20/2, ATR 14.
    Volatility,
    /// 52-week high/low.
    Levels,
    /// Everything (default).
    All,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechnicalsParams {
    /// Symbol, e.g. KRYX.
    pub symbol: String,
    /// Sections to compute: any of `trend`, `momentum`, `volatility`, `levels`, `all` (default `all`);
    /// JSON array or comma-separated string.
    pub sections: Option<Vec<Section>>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Trend {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sma20: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sma50: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub sma200: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub ema12: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub ema26: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Momentum {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub rsi14: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub macd: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub macd_signal: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub macd_histogram: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Volatility {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bollinger_upper: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bollinger_middle: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bollinger_lower: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub atr14: Option<f64>,
    /// ATR as a percent of the price.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub atr_pct: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Levels {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high_52w: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub low_52w: Option<f64>,
    /// Percent below the 52-week high (≤ 0).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub from_high_pct: Option<f64>,
    /// Percent above the 52-week low (≥ 0).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub from_low_pct: Option<f64>,
    /// First and last date of the 52-week window (bars dated within 365 calendar days up to
    /// the last bar), and how many bars it holds.
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    pub window_bars: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TechnicalsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub symbol: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    pub bars_used: usize,
    /// Indicator conventions, windows and the bars used.
    pub method: String,
    pub trend: Option<Trend>,
    pub momentum: Option<Momentum>,
    pub volatility: Option<Volatility>,
    pub levels: Option<Levels>,
    /// Plain-words reading of the indicators.
    pub signals: Vec<String>,
    /// Every indicator unrounded (the markdown formats these; the JSON carries rounded ones).
    #[serde(skip)]
    pub raw: Indicators,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

/// Every indicator group, as computed.
#[derive(Debug, Clone, Default)]
pub struct Indicators {
    pub trend: Trend,
    pub momentum: Momentum,
    pub volatility: Volatility,
    pub levels: Levels,
}

/// Computes every indicator over daily bars (oldest first) with `analytics::technicals`; the
/// 52-week range covers the bars dated within 365 calendar days up to the last bar.
pub fn compute_technicals(bars: &[Bar]) -> Indicators {
    let ind = technicals::indicators(bars);
    let price = bars.last().map(|b| b.close);
    let trend = Trend {
        sma20: ind.sma20,
        sma50: ind.sma50,
        sma200: ind.sma200,
        ema12: ind.ema12,
        ema26: ind.ema26,
    };
    let momentum = Momentum {
        rsi14: ind.rsi14,
        macd: ind.macd.map(|m| m.macd),
        macd_signal: ind.macd.map(|m| m.signal),
        macd_histogram: ind.macd.map(|m| m.histogram),
    };
    let vol = Volatility {
        bollinger_upper: ind.bollinger.map(|b| b.upper),
        bollinger_middle: ind.bollinger.map(|b| b.middle),
        bollinger_lower: ind.bollinger.map(|b| b.lower),
        atr14: ind.atr14,
        atr_pct: ind.atr_pct,
    };
    let range = bars
        .last()
        .and_then(windows::bar_date)
        .and_then(|as_of| windows::fifty_two_week_range(bars, as_of));
    let high = range.map(|r| r.high);
    let low = range.map(|r| r.low);
    let levels = Levels {
        high_52w: high,
        low_52w: low,
        from_high_pct: high
            .zip(price)
            .filter(|(h, _)| *h > 0.0)
            .map(|(h, p)| (p / h - 1.0) * 100.0),
        from_low_pct: low
            .zip(price)
            .filter(|(l, _)| *l > 0.0)
            .map(|(l, p)| (p / l - 1.0) * 100.0),
        window_start: range.map(|r| r.first_date.to_string()),
        window_end: range.map(|r| r.last_date.to_string()),
        window_bars: range.map_or(0, |r| r.bars),
    };
    Indicators {
        trend,
        momentum,
        volatility: vol,
        levels,
    }
}

/// Plain-words signals from the indicators.
pub fn signals(price: Option<f64>, t: &Trend, m: &Momentum, v: &Volatility) -> Vec<String> {
    let mut s = Vec::new();
    if let Some(p) = price {
        for (name, ma) in [("50-day", t.sma50), ("200-day", t.sma200)] {
            if let Some(ma) = ma {
                s.push(format!(
                    "Price is {} its {name} average ({:+.1}%).",
                    if p >= ma { "above" } else { "below" },
                    (p / ma - 1.0) * 100.0
                ));
            }
        }
        if let (Some(u), Some(l)) = (v.bollinger_upper, v.bollinger_lower) {
            if p > u {
                s.push("Price is above the upper Bollinger band (stretched).".into());
            } else if p < l {
                s.push("Price is below the lower Bollinger band (stretched).".into());
            }
        }
    }
    if let (Some(a), Some(b)) = (t.sma50, t.sma200) {
        s.push(if a >= b {
            "50-day average above the 200-day (golden-cross regime: uptrend).".into()
        } else {
            "50-day average below the 200-day (death-cross regime: downtrend).".into()
        });
    }
    if let Some(r) = m.rsi14 {
        s.push(if r >= 70.0 {
            format!("RSI {r:.1}: overbought.")
        } else if r <= 30.0 {
            format!("RSI {r:.1}: oversold.")
        } else {
            format!("RSI {r:.1}: neutral.")
        });
    }
    if let Some(h) = m.macd_histogram {
        s.push(if h >= 0.0 {
            "MACD above its signal line: momentum positive.".into()
        } else {
            "MACD below its signal line: momentum negative.".into()
        });
    }
    s
}

pub struct Technicals;

impl Tool for Technicals {
    const NAME: &'static str = "ibkr_technicals";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::LiveData;
    const DESCRIPTION: &'static str = "Technical indicators on one year of daily bars: SMA 20/50/200, EMA 12/26, RSI 14, MACD 12/26/9, Bollinger 20/2, ATR 14, 52-week range, signals.";
    type Params = TechnicalsParams;
    type Output = TechnicalsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: TechnicalsParams,
    ) -> Result<Answer<TechnicalsOut>, ToolError> {
        let symbol = support::symbol(Self::NAME, &p.symbol)?;
        let sections = p.sections.unwrap_or_default();
        let (bars, stale) =
            bars_with_cache(ctx, Self::NAME, &BarSpec::daily(&symbol, "1 Y")).await?;
        if bars.is_empty() {
            return Err(ToolError::new(format!(
                "{}: no daily bars for {symbol}, so nothing to compute.",
                Self::NAME
            )));
        }
        let meta = support::meta(ctx.now(), stale.as_ref());
        let mut out = technicals_out(meta, symbol, &bars, &sections);
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The method sentence: conventions, the 52-week window, and the bars' dates.
fn method_words(bars: &[Bar]) -> String {
    let date = |b: Option<&Bar>| {
        b.and_then(windows::bar_date)
            .map_or_else(|| f::NA.to_string(), |d| d.to_string())
    };
    format!(
        "{}; 52-week high/low = highest high and lowest low of the bars dated within 365 calendar days up to the last bar; {} daily bars from {} to {}",
        technicals::METHOD,
        bars.len(),
        date(bars.first()),
        date(bars.last())
    )
}

/// The answer for the wanted `sections` (none, or `all`, means every one).
fn technicals_out(meta: Meta, symbol: String, bars: &[Bar], sections: &[Section]) -> TechnicalsOut {
    let want = |s: Section| {
        sections.is_empty() || sections.contains(&Section::All) || sections.contains(&s)
    };
    let raw = compute_technicals(bars);
    let price = bars.last().map(|b| b.close);
    let (trend, momentum, vol, levels) = (&raw.trend, &raw.momentum, &raw.volatility, &raw.levels);
    let r = |v: Option<f64>| v.map(|x| f::round(x, 4));
    TechnicalsOut {
        warnings: Vec::new(),
        meta,
        symbol,
        price,
        bars_used: bars.len(),
        method: method_words(bars),
        trend: want(Section::Trend).then(|| Trend {
            sma20: r(trend.sma20),
            sma50: r(trend.sma50),
            sma200: r(trend.sma200),
            ema12: r(trend.ema12),
            ema26: r(trend.ema26),
        }),
        momentum: want(Section::Momentum).then(|| Momentum {
            rsi14: r(momentum.rsi14),
            macd: r(momentum.macd),
            macd_signal: r(momentum.macd_signal),
            macd_histogram: r(momentum.macd_histogram),
        }),
        volatility: want(Section::Volatility).then(|| Volatility {
            bollinger_upper: r(vol.bollinger_upper),
            bollinger_middle: r(vol.bollinger_middle),
            bollinger_lower: r(vol.bollinger_lower),
            atr14: r(vol.atr14),
            atr_pct: r(vol.atr_pct),
        }),
        levels: want(Section::Levels).then(|| Levels {
            high_52w: levels.high_52w,
            low_52w: levels.low_52w,
            from_high_pct: r(levels.from_high_pct),
            from_low_pct: r(levels.from_low_pct),
            window_start: levels.window_start.clone(),
            window_end: levels.window_end.clone(),
            window_bars: levels.window_bars,
        }),
        signals: signals(price, trend, momentum, vol),
        raw,
    }
}

pub fn render(out: &TechnicalsOut) -> String {
    let Indicators {
        trend,
        momentum,
        volatility: vol,
        levels,
    } = &out.raw;
    let mut md = out.meta.header(&format!("Technicals: {}", out.symbol));
    md.push('\n');
    let _ = writeln!(
        md,
        "**Price**: {} (last daily close; {} bars)",
        f::money(out.price, "USD"),
        out.bars_used
    );
    let m2 = |v: Option<f64>| f::money(v, "USD");
    if out.trend.is_some() {
        md.push_str("\n## Trend\n");
        md.push_str(&f::kv_table(&[
            ("SMA 20", m2(trend.sma20)),
            ("SMA 50", m2(trend.sma50)),
            ("SMA 200", m2(trend.sma200)),
            ("EMA 12", m2(trend.ema12)),
            ("EMA 26", m2(trend.ema26)),
        ]));
    }
    if out.momentum.is_some() {
        md.push_str("\n## Momentum\n");
        md.push_str(&f::kv_table(&[
            ("RSI 14", f::number(momentum.rsi14, 1)),
            ("MACD", f::number(momentum.macd, 3)),
            ("Signal", f::number(momentum.macd_signal, 3)),
            ("Histogram", f::number(momentum.macd_histogram, 3)),
        ]));
    }
    if out.volatility.is_some() {
        md.push_str("\n## Volatility\n");
        md.push_str(&f::kv_table(&[
            ("Bollinger Upper", m2(vol.bollinger_upper)),
            ("Bollinger Middle", m2(vol.bollinger_middle)),
            ("Bollinger Lower", m2(vol.bollinger_lower)),
            (
                "ATR 14",
                format!("{} ({})", m2(vol.atr14), f::pct_plain(vol.atr_pct, 2)),
            ),
        ]));
    }
    if out.levels.is_some() {
        md.push_str("\n## Levels\n");
        md.push_str(&f::kv_table(&[
            ("52-Week High", m2(levels.high_52w)),
            ("52-Week Low", m2(levels.low_52w)),
            ("From High", f::pct(levels.from_high_pct)),
            ("From Low", f::pct(levels.from_low_pct)),
            (
                "Window",
                match (&levels.window_start, &levels.window_end) {
                    (Some(a), Some(b)) => format!("{a} to {b} ({} bars)", levels.window_bars),
                    _ => f::NA.to_string(),
                },
            ),
        ]));
    }
    if !out.signals.is_empty() {
        md.push_str("\n## Signals\n");
        for s in &out.signals {
            let _ = writeln!(md, "- {s}");
        }
    }
    md.push_str(&f::method_line(&out.method));
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &TechnicalsOut) -> String {
    use crate::tools::format as f;
    let rsi = out
        .momentum
        .as_ref()
        .map(|m| format!("RSI {}", f::number(m.rsi14, 1)))
        .unwrap_or_default();
    let sma = out
        .trend
        .as_ref()
        .map(|t| {
            format!(
                "SMA50 {} · SMA200 {}",
                f::number(t.sma50, 2),
                f::number(t.sma200, 2)
            )
        })
        .unwrap_or_default();
    f::headline(&[
        format!("{} {}", out.symbol, f::number(out.price, 2)),
        rsi,
        sma,
        format!("{} signal(s)", out.signals.len()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rising(n: usize) -> Vec<Bar> {
        (0..n)
            .map(|i| {
                let c = 100.0 + i as f64 * 0.5;
                Bar {
                    time: i as i64 * 86_400,
                    open: c - 0.2,
                    high: c + 1.0,
                    low: c - 1.0,
                    close: c,
                    volume: 1000.0,
                    wap: c,
                    count: 1,
                }
            })
            .collect()
    }

    #[test]
    fn technicals_on_a_rising_series() {
        let bars = rising(260);
        let Indicators {
            trend: t,
            momentum: m,
            volatility: v,
            levels: l,
        } = compute_technicals(&bars);
        // SMA 20 of the last 20 closes: mean of 219.5..229.5 step 0.5 = 224.75.
        assert!((t.sma20.unwrap() - 224.75).abs() < 1e-9);
        assert!(t.sma50.unwrap() > t.sma200.unwrap());
        assert!(m.rsi14.unwrap() > 70.0);
        assert!(m.macd_histogram.is_some());
        assert!(v.atr14.unwrap() > 0.0);
        assert_eq!(l.high_52w, Some(230.5));
        let s = signals(Some(229.5), &t, &m, &v);
        assert!(s.iter().any(|x| x.contains("golden-cross")));
        assert!(s.iter().any(|x| x.contains("overbought")));
    }

    #[test]
    fn render_technicals() {
        let meta = support::meta(1_777_828_664_000, None);
        let all = technicals_out(meta.clone(), "KRYX".into(), &rising(260), &[]);
        // 30 bars: no 50/200-day averages yet, and only two sections asked for.
        let short = technicals_out(
            meta,
            "VLTX".into(),
            &rising(30),
            &[Section::Trend, Section::Levels],
        );
        insta::assert_snapshot!(
            "render_technicals",
            format!("{}\n---\n\n{}", render(&all), render(&short))
        );
        insta::assert_snapshot!(
            "headline_technicals",
            [headline(&all), headline(&short)].join("\n")
        );
    }
}
