//! `ibkr_shortable`: how easily held or named stocks can be sold short: IB's shortable level
//! (generic tick 236 → tick 46) in IB's words, shares available (tick 89), and the borrow fee
//! rate from IB's `FEE_RATE` daily bars (the TWS API has no documented fee-rate tick).

use super::held::{self, Target};
use crate::gateway::{ContractQuery, GatewayError, ResearchSeries, ResearchTicks};
use crate::model::ToolGroup;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const MAX_SYMBOLS: usize = 8;
const CONCURRENCY: usize = 4;

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShortableParams {
    /// Up to 8 stock symbols (JSON array or "KRYX,VLTX"). Default: short positions first, then
    /// the largest holdings (up to 8).
    #[schemars(length(max = 8))]
    pub symbols: Option<Vec<String>>,
    /// Also read the borrow fee rate (one paced historical request per symbol; default true).
    #[serde(default = "default_true")]
    pub fee_rate: bool,
}

/// IB's shortable levels (tick 46).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// Above 2.5: at least 1,000 shares available.
    EasyToBorrow,
    /// Above 1.5: available if shares can be located.
    HardToBorrow,
    /// 1.5 or less: not available for short sale.
    NotAvailable,
    /// IB sent no shortable tick.
    Unknown,
}

impl Difficulty {
    pub fn from_level(level: Option<f64>) -> Difficulty {
        match level {
            Some(l) if l > 2.5 => Difficulty::EasyToBorrow,
            Some(l) if l > 1.5 => Difficulty::HardToBorrow,
            Some(_) => Difficulty::NotAvailable,
            None => Difficulty::Unknown,
        }
    }
    /// IB's wording.
    pub fn words(self) -> &'static str {
        match self {
            Difficulty::EasyToBorrow => "Easy to borrow: at least 1,000 shares available",
            Difficulty::HardToBorrow => "Hard to borrow: available if shares can be located",
            Difficulty::NotAvailable => "Not available for short sale",
            Difficulty::Unknown => "No shortable data from IB",
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ShortableRow {
    pub symbol: String,
    /// Shares held (negative = short), 0 when not held.
    pub quantity: f64,
    /// IB's shortable level, tick 46.
    pub level: Option<f64>,
    pub difficulty: Difficulty,
    /// Shares available to borrow, tick 89.
    pub shortable_shares: Option<f64>,
    /// Annual borrow fee, percent, from the last `FEE_RATE` daily bar.
    pub fee_rate_pct: Option<f64>,
    /// Date of that bar, `YYYY-MM-DD`.
    pub fee_rate_date: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ShortableOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub rows: Vec<ShortableRow>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct Shortable;

fn ticks_done(t: &ResearchTicks) -> bool {
    t.shortable.is_some() && t.shortable_shares.is_some()
}

async fn read_one(
    ctx: &ToolContext,
    target: Target,
    fee_rate: bool,
) -> (Target, Result<ShortableRow, GatewayError>, Option<String>) {
    let Ok(req) = ctx.requests() else {
        let e = GatewayError::NotConnected("no gateway in this process".into());
        return (target, Err(e), None);
    };
    let query = ContractQuery {
        symbol: target.symbol.clone(),
        ..Default::default()
    };
    let ticks = match req.research_ticks(&query, &["236"], ticks_done).await {
        Ok(t) => t,
        Err(e) => return (target, Err(e), None),
    };
    let mut row = ShortableRow {
        symbol: target.symbol.clone(),
        quantity: target.quantity,
        level: ticks.shortable.map(|l| f::round(l, 2)),
        difficulty: Difficulty::from_level(ticks.shortable),
        shortable_shares: ticks.shortable_shares.map(|s| f::round(s, 0)),
        fee_rate_pct: None,
        fee_rate_date: None,
    };
    let mut fee_error = None;
    if fee_rate {
        match req
            .research_bars(&target.symbol, ResearchSeries::FeeRate, "5 D")
            .await
        {
            Ok(bars) => {
                if let Some(b) = bars.last() {
                    row.fee_rate_pct = Some(f::round(b.close, 2));
                    row.fee_rate_date = Some(f::date(b.time));
                }
            }
            Err(e) => fee_error = Some(format!("{}: fee rate: {e}", target.symbol)),
        }
    }
    (target, Ok(row), fee_error)
}

impl Tool for Shortable {
    const NAME: &'static str = "ibkr_shortable";
    const GROUP: ToolGroup = ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Short availability of held (default: shorts, then largest holdings) or named stocks: IB's shortable level in IB's words (easy/hard to borrow, not available), shares available, and the borrow fee rate (% per year) from IB's FEE_RATE bars.";
    type Params = ShortableParams;
    type Output = ShortableOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: ShortableParams) -> Result<Answer<ShortableOut>, ToolError> {
        let now = ctx.now();
        let mut targets = held::targets(ctx, Self::NAME, p.symbols.as_deref(), usize::MAX)?;
        if p.symbols.as_ref().is_none_or(|s| s.is_empty()) {
            // Shorts first: they are what a borrow recall or fee rise hurts.
            targets.sort_by_key(|t| t.quantity >= 0.0);
            targets.truncate(MAX_SYMBOLS);
        } else if targets.len() > MAX_SYMBOLS {
            targets.truncate(MAX_SYMBOLS);
        }
        ctx.requests()?;
        let named_one = p.symbols.as_ref().is_some_and(|s| s.len() == 1);
        let results: Vec<_> = futures::stream::iter(targets.clone())
            .map(|t| read_one(ctx, t, p.fee_rate))
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut out = ShortableOut {
            meta: support::meta(now, None),
            rows: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            method: format!(
                "Generic tick 236 per stock (one market-data subscription, read until ticks 46 and 89 arrived or 6 s, then cancelled). Tick 46 levels as IB defines them: above 2.5 easy to borrow (at least 1,000 shares), above 1.5 hard to borrow (available if shares can be located), else not available. {}",
                if p.fee_rate {
                    "Fee rate: the last of 5 daily FEE_RATE bars (IB's historical borrow fee, percent per year; the TWS API has no documented fee-rate tick), one paced historical request per stock."
                } else {
                    "Fee rate not requested (fee_rate=false)."
                }
            ),
        };
        for (t, r, fee_error) in results {
            match r {
                Ok(row) => out.rows.push(row),
                Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. }))
                    if named_one =>
                {
                    return Err(ToolError::new(format!(
                        "{}: unknown symbol `{}` ({e}).",
                        Self::NAME,
                        t.symbol
                    )));
                }
                Err(e) => out.errors.push(format!("{}: {e}", t.symbol)),
            }
            if let Some(fe) = fee_error {
                out.errors.push(fe);
            }
        }
        let hard: Vec<String> = out
            .rows
            .iter()
            .filter(|r| r.quantity < 0.0 && r.difficulty != Difficulty::EasyToBorrow)
            .map(|r| r.symbol.clone())
            .collect();
        if !hard.is_empty() {
            out.warnings.push(format!(
                "Short position(s) in {} are no longer easy to borrow: the borrow may be recalled or repriced.",
                hard.join(", ")
            ));
        }
        if !out.errors.is_empty() {
            out.warnings.push(format!(
                "{} request(s) failed; see errors.",
                out.errors.len()
            ));
        }
        if targets.is_empty() {
            out.warnings
                .push("No held stocks and no `symbols` named: nothing to read.".into());
        }
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

pub fn headline(out: &ShortableOut) -> String {
    let count = |d: Difficulty| out.rows.iter().filter(|r| r.difficulty == d).count();
    match out.rows.as_slice() {
        [r] => format!(
            "{} {} · {} shares · fee {}",
            r.symbol,
            match r.difficulty {
                Difficulty::EasyToBorrow => "easy to borrow",
                Difficulty::HardToBorrow => "hard to borrow",
                Difficulty::NotAvailable => "not shortable",
                Difficulty::Unknown => "no data",
            },
            f::volume(r.shortable_shares),
            f::pct_plain(r.fee_rate_pct, 2)
        ),
        _ => format!(
            "{} easy · {} hard to borrow · {} not available",
            count(Difficulty::EasyToBorrow),
            count(Difficulty::HardToBorrow),
            count(Difficulty::NotAvailable)
        ),
    }
}

pub fn render(out: &ShortableOut) -> String {
    let mut md = out.meta.header("Short Availability");
    md.push('\n');
    if out.rows.is_empty() {
        md.push_str("No stocks to report.\n");
    } else {
        let table: Vec<Vec<String>> = out
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::volume(Some(r.quantity)),
                    r.difficulty.words().to_string(),
                    f::number(r.level, 2),
                    f::volume(r.shortable_shares),
                    match (&r.fee_rate_pct, &r.fee_rate_date) {
                        (Some(p), Some(d)) => format!("{} ({d})", f::pct_plain(Some(*p), 2)),
                        (Some(p), None) => f::pct_plain(Some(*p), 2),
                        _ => f::NA.into(),
                    },
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Symbol",
                "Held",
                "Availability",
                "Level",
                "Shares",
                "Fee Rate / yr",
            ],
            &[
                Align::Left,
                Align::Right,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
    }
    f::push_warnings_errors_method(&mut md, &out.warnings, &out.errors, &out.method);
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_ibs_thresholds() {
        assert_eq!(Difficulty::from_level(Some(3.0)), Difficulty::EasyToBorrow);
        assert_eq!(Difficulty::from_level(Some(2.5)), Difficulty::HardToBorrow);
        assert_eq!(Difficulty::from_level(Some(1.5)), Difficulty::NotAvailable);
        assert_eq!(Difficulty::from_level(None), Difficulty::Unknown);
    }

    #[test]
    fn render_shortable() {
        let row = |s: &str, q: f64, l: f64, shares: f64, fee: f64| ShortableRow {
            symbol: s.into(),
            quantity: q,
            level: Some(l),
            difficulty: Difficulty::from_level(Some(l)),
            shortable_shares: Some(shares),
            fee_rate_pct: Some(fee),
            fee_rate_date: Some("2026-11-30".into()),
        };
        let out = ShortableOut {
            meta: Meta::fresh("2026-12-01 14:30:00 UTC"),
            rows: vec![
                row("OMRA", -76.0, 2.0, 400.0, 23.5),
                row("KRYX", 340.0, 3.0, 13_600_000.0, 0.31),
                row("FELN", 51.0, 1.0, 0.0, 96.2),
            ],
            errors: vec![],
            warnings: vec!["Short position(s) in OMRA are no longer easy to borrow: the borrow may be recalled or repriced.".into()],
            method: "Generic tick 236.".into(),
        };
        assert_eq!(
            headline(&out),
            "1 easy · 1 hard to borrow · 1 not available"
        );
        insta::assert_snapshot!("render_shortable", render(&out));
        insta::assert_snapshot!("headline_shortable", headline(&out));
    }
}
