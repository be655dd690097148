//! `ibkr_fundamentals`: market cap, P/E, EPS, dividend yield, 52-week range and beta of held or
//! named stocks, each figure with the IB request and field it came from.
//!
//! Sources, in order of preference: IB's fundamental-ratios tick (generic tick 258 → tick 47,
//! `KEY=VALUE;` pairs), the 52-week statistics tick (165 → ticks 19/20/21), the dividend tick
//! (456 → tick 59), and contract details (currency, name, industry). A figure no source gave is
//! `null` with the reason in `warnings`; none is invented.

use super::held::{self, Target};
use crate::gateway::{ContractQuery, GatewayError, ResearchTicks, parse_ratios};
use crate::model::ToolGroup;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

const MAX_SYMBOLS: usize = 8;
const CONCURRENCY: usize = 4;
const GENERIC_TICKS: [&str; 3] = ["165", "258", "456"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundamentalsParams {
    /// Up to 8 stock symbols (JSON array or "KRYX,VLTX"). Default: the largest held stocks (up to 8).
    #[schemars(length(max = 8))]
    pub symbols: Option<Vec<String>>,
}

/// One figure and where it came from.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Figure {
    pub value: Option<f64>,
    /// The IB request and field, e.g. `tick 258 MKTCAP` or `computed: last ÷ TTMEPSXCLX`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct FundamentalsRow {
    pub symbol: String,
    /// Trading currency; every money figure of the row is in it.
    pub currency: String,
    pub long_name: String,
    pub industry: String,
    /// Last price (or previous close) the ratios were read with, in `currency`.
    pub price: Option<f64>,
    /// Market capitalisation, millions of `currency`.
    pub market_cap_millions: Figure,
    /// Price / trailing-twelve-month EPS excluding extraordinary items.
    pub pe: Figure,
    /// Trailing-twelve-month EPS excluding extraordinary items, per share in `currency`.
    pub eps_ttm: Figure,
    /// Dividend yield, percent.
    pub dividend_yield_pct: Figure,
    /// 52-week low and high, in `currency`.
    pub low_52w: Figure,
    pub high_52w: Figure,
    pub beta: Figure,
    /// Average daily volume, shares.
    pub avg_volume: Figure,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FundamentalsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub rows: Vec<FundamentalsRow>,
    /// Symbols that could not be read, with why.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct Fundamentals;

fn figure(value: Option<f64>, dp: i32, source: &str) -> Figure {
    match value.filter(|v| v.is_finite()) {
        Some(v) => Figure {
            value: Some(f::round(v, dp)),
            source: source.to_string(),
        },
        None => Figure {
            value: None,
            source: "not sent by IB".into(),
        },
    }
}

/// First of the candidates that has a value, with its source.
fn first_of(dp: i32, candidates: &[(Option<f64>, &str)]) -> Figure {
    candidates
        .iter()
        .find(|(v, _)| v.is_some_and(f64::is_finite))
        .map_or_else(|| figure(None, dp, ""), |(v, s)| figure(*v, dp, s))
}

/// The row from what IB sent: ratios first, the other ticks where the ratios are silent.
pub fn build_row(
    symbol: &str,
    details: Option<&crate::model::ContractInfo>,
    t: &ResearchTicks,
) -> FundamentalsRow {
    let ratios = t.ratios.as_deref().map(parse_ratios).unwrap_or_default();
    let num = |k: &str| {
        ratios
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let text = |k: &str| {
        ratios
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let next_12m = t.dividends.as_deref().and_then(|d| {
        d.split(',')
            .nth(1)
            .and_then(|x| x.trim().parse::<f64>().ok())
    });
    let price = t.price;
    let eps = num("TTMEPSXCLX");
    let computed_pe = price.zip(eps).filter(|(_, e)| *e > 0.0).map(|(p, e)| p / e);
    let computed_yield = price
        .zip(next_12m)
        .filter(|(p, _)| *p > 0.0)
        .map(|(p, d)| d / p * 100.0);
    let currency = text("CURRENCY")
        .or_else(|| details.map(|d| d.instrument.currency.clone()))
        .unwrap_or_default();
    FundamentalsRow {
        symbol: symbol.to_string(),
        currency,
        long_name: details.map(|d| d.long_name.clone()).unwrap_or_default(),
        industry: details.map(|d| d.industry.clone()).unwrap_or_default(),
        price: price.map(|p| f::round(p, 2)),
        market_cap_millions: first_of(2, &[(num("MKTCAP"), "tick 258 MKTCAP")]),
        pe: first_of(
            2,
            &[
                (num("PEEXCLXOR"), "tick 258 PEEXCLXOR"),
                (computed_pe, "computed: last ÷ tick 258 TTMEPSXCLX"),
            ],
        ),
        eps_ttm: first_of(2, &[(eps, "tick 258 TTMEPSXCLX")]),
        dividend_yield_pct: first_of(
            2,
            &[
                (num("YIELD"), "tick 258 YIELD"),
                (
                    computed_yield,
                    "computed: tick 456 next-12-month dividends ÷ last",
                ),
            ],
        ),
        low_52w: first_of(
            2,
            &[
                (t.low_52w, "tick 165 (tick 19)"),
                (num("NLOW"), "tick 258 NLOW"),
            ],
        ),
        high_52w: first_of(
            2,
            &[
                (t.high_52w, "tick 165 (tick 20)"),
                (num("NHIG"), "tick 258 NHIG"),
            ],
        ),
        beta: first_of(2, &[(num("BETA"), "tick 258 BETA")]),
        avg_volume: first_of(
            0,
            &[
                (t.avg_volume, "tick 165 (tick 21)"),
                (
                    num("VOL10DAVG").map(|m| m * 1e6),
                    "tick 258 VOL10DAVG × 1e6",
                ),
            ],
        ),
    }
}

fn ticks_done(t: &ResearchTicks) -> bool {
    t.ratios.is_some() && t.dividends.is_some() && t.low_52w.is_some() && t.high_52w.is_some()
}

async fn read_one(
    ctx: &ToolContext,
    symbol: String,
) -> (String, Result<FundamentalsRow, GatewayError>) {
    let Ok(req) = ctx.requests() else {
        return (
            symbol,
            Err(GatewayError::NotConnected(
                "no gateway in this process".into(),
            )),
        );
    };
    let query = ContractQuery {
        symbol: symbol.clone(),
        ..Default::default()
    };
    let details = match req.contract_details(&query).await {
        Ok(d) => d,
        Err(e) => return (symbol, Err(e)),
    };
    let ticks = req.research_ticks(&query, &GENERIC_TICKS, ticks_done).await;
    let row = ticks.map(|t| build_row(&symbol, details.first(), &t));
    (symbol, row)
}

impl Tool for Fundamentals {
    const NAME: &'static str = "ibkr_fundamentals";
    const GROUP: ToolGroup = ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Fundamentals of held (default) or named stocks from IB: market cap, P/E, EPS, dividend yield, 52-week range, beta, average volume and currency, each with its source (tick 258 field, tick 165/456, contract details).";
    type Params = FundamentalsParams;
    type Output = FundamentalsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(
        ctx: &ToolContext,
        p: FundamentalsParams,
    ) -> Result<Answer<FundamentalsOut>, ToolError> {
        let now = ctx.now();
        let targets: Vec<Target> =
            held::targets(ctx, Self::NAME, p.symbols.as_deref(), MAX_SYMBOLS)?;
        ctx.requests()?;
        let named_one = p.symbols.as_ref().is_some_and(|s| s.len() == 1);
        let symbols: Vec<String> = targets.iter().map(|t| t.symbol.clone()).collect();
        let results: Vec<(String, Result<FundamentalsRow, GatewayError>)> =
            futures::stream::iter(symbols)
                .map(|s| read_one(ctx, s))
                .buffered(CONCURRENCY)
                .collect()
                .await;
        let mut out = FundamentalsOut {
            meta: support::meta(now, None),
            rows: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            method: format!(
                "One market-data subscription per stock with generic ticks {} (read until every tick arrived or 6 s, then cancelled) plus contract details. Ratios use IB's tick 258 field names (MKTCAP in millions, PEEXCLXOR, TTMEPSXCLX, YIELD in percent, NHIG/NLOW, BETA, VOL10DAVG in millions); where tick 258 is silent, P/E = last ÷ TTMEPSXCLX and yield = tick 456 next-12-month dividends ÷ last. 52-week range and average volume prefer tick 165.",
                GENERIC_TICKS.join(",")
            ),
        };
        for (sym, r) in results {
            match r {
                Ok(row) => out.rows.push(row),
                Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. }))
                    if named_one =>
                {
                    return Err(ToolError::new(format!(
                        "{}: unknown symbol `{sym}` ({e}).",
                        Self::NAME
                    )));
                }
                Err(e) if named_one => {
                    return Err(support::gateway_error(
                        Self::NAME,
                        &format!("fundamentals of {sym}"),
                        &e,
                    ));
                }
                Err(e) => out.errors.push(format!("{sym}: {e}")),
            }
        }
        if out
            .rows
            .iter()
            .any(|r| r.market_cap_millions.value.is_none())
        {
            let missing: Vec<&str> = out
                .rows
                .iter()
                .filter(|r| r.market_cap_millions.value.is_none())
                .map(|r| r.symbol.as_str())
                .collect();
            out.warnings.push(format!(
                "IB sent no fundamental ratios (tick 258) for {}: market cap, EPS and beta are unavailable (IB retired this tick in TWS 10.47 for some logins).",
                missing.join(", ")
            ));
        }
        if !out.errors.is_empty() {
            out.warnings.push(format!(
                "{} symbol(s) could not be read; see errors.",
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

/// `1,234.5M USD` / `12.3B USD` for a market cap in millions.
fn cap(v: Option<f64>, ccy: &str) -> String {
    match v {
        Some(m) if m.abs() >= 1000.0 => format!("{}B {ccy}", f::number(Some(m / 1000.0), 2)),
        Some(m) => format!("{}M {ccy}", f::number(Some(m), 1)),
        None => f::NA.into(),
    }
}

pub fn headline(out: &FundamentalsOut) -> String {
    match out.rows.as_slice() {
        [] => "No fundamentals read".into(),
        [r] => format!(
            "{} cap {} · P/E {} · EPS {} · yield {} · β {}",
            r.symbol,
            cap(r.market_cap_millions.value, &r.currency),
            f::number(r.pe.value, 2),
            f::number(r.eps_ttm.value, 2),
            f::pct_plain(r.dividend_yield_pct.value, 2),
            f::number(r.beta.value, 2)
        ),
        rows => {
            let top = rows.iter().filter(|r| r.pe.value.is_some()).max_by(|a, b| {
                a.pe.value
                    .unwrap_or(0.0)
                    .total_cmp(&b.pe.value.unwrap_or(0.0))
            });
            match top {
                Some(r) => format!(
                    "{} stocks · highest P/E {} {}",
                    rows.len(),
                    r.symbol,
                    f::number(r.pe.value, 2)
                ),
                None => format!("{} stocks · no P/E available", rows.len()),
            }
        }
    }
}

pub fn render(out: &FundamentalsOut) -> String {
    let mut md = out.meta.header("Fundamentals");
    md.push('\n');
    if out.rows.is_empty() {
        md.push_str("No fundamentals could be read.\n");
    } else {
        let table: Vec<Vec<String>> = out
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    r.currency.clone(),
                    f::number(r.price, 2),
                    cap(r.market_cap_millions.value, &r.currency),
                    f::number(r.pe.value, 2),
                    f::number(r.eps_ttm.value, 2),
                    f::pct_plain(r.dividend_yield_pct.value, 2),
                    format!(
                        "{} – {}",
                        f::number(r.low_52w.value, 2),
                        f::number(r.high_52w.value, 2)
                    ),
                    f::number(r.beta.value, 2),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &[
                "Symbol",
                "Ccy",
                "Last",
                "Market Cap",
                "P/E",
                "EPS (TTM)",
                "Yield",
                "52-Week Range",
                "Beta",
            ],
            &[
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
        md.push_str("\n**Sources**\n");
        for r in &out.rows {
            let _ = writeln!(
                md,
                "- {}: market cap {}; P/E {}; EPS {}; yield {}; 52-week {}/{}; beta {}",
                r.symbol,
                r.market_cap_millions.source,
                r.pe.source,
                r.eps_ttm.source,
                r.dividend_yield_pct.source,
                r.low_52w.source,
                r.high_52w.source,
                r.beta.source
            );
        }
    }
    f::push_warnings_errors_method(&mut md, &out.warnings, &out.errors, &out.method);
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_then_fallbacks_with_sources() {
        let t = ResearchTicks {
            ratios: Some("CURRENCY=USD;MKTCAP=2345.67;TTMEPSXCLX=2.50;BETA=1.45;".into()),
            dividends: Some("1.04,1.08,20261215,0.27".into()),
            low_52w: Some(40.1),
            high_52w: Some(70.2),
            price: Some(54.0),
            ..Default::default()
        };
        let r = build_row("KRYX", None, &t);
        assert_eq!(r.currency, "USD");
        assert_eq!(r.market_cap_millions.value, Some(2345.67));
        assert_eq!(r.pe.value, Some(21.6));
        assert!(r.pe.source.starts_with("computed"));
        assert_eq!(r.dividend_yield_pct.value, Some(2.0));
        assert_eq!(r.low_52w.source, "tick 165 (tick 19)");
        let none = build_row("X", None, &ResearchTicks::default());
        assert_eq!(none.beta.value, None);
        assert_eq!(none.beta.source, "not sent by IB");
    }

    #[test]
    fn render_fundamentals() {
        let t = ResearchTicks {
            ratios: Some("CURRENCY=USD;MKTCAP=2345.67;TTMEPSXCLX=2.50;PEEXCLXOR=21.67;YIELD=0;NHIG=70.2;NLOW=40.1;BETA=1.45;".into()),
            dividends: Some("0,0,,0".into()),
            low_52w: Some(40.1),
            high_52w: Some(70.2),
            avg_volume: Some(3_400_000.0),
            price: Some(54.18),
            ..Default::default()
        };
        let out = FundamentalsOut {
            meta: Meta::fresh("2026-12-01 14:30:00 UTC"),
            rows: vec![
                build_row("KRYX", None, &t),
                build_row("OMRA", None, &ResearchTicks { price: Some(12.0), ..Default::default() }),
            ],
            errors: vec![],
            warnings: vec!["IB sent no fundamental ratios (tick 258) for OMRA: market cap, EPS and beta are unavailable (IB retired this tick in TWS 10.47 for some logins).".into()],
            method: "Generic ticks 165,258,456.".into(),
        };
        assert_eq!(headline(&out), "2 stocks · highest P/E KRYX 21.67");
        insta::assert_snapshot!("render_fundamentals", render(&out));
        insta::assert_snapshot!("headline_fundamentals", headline(&out));
    }
}
