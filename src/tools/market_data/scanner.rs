//! `ibkr_scanner`: one snapshot of an IB market scanner (top % gainers/losers, most active,
//! hot by volume, high dividend yield, ...) with filters, each hit joined with its quote.
//!
//! The scan code and location are checked against the gateway's own scanner parameters
//! document first, so a typo is answered with the choices this gateway offers.

use crate::gateway::{ContractQuery, ScanHit, ScanRequest};
use crate::model::{Quote, ToolGroup};
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

const CONCURRENCY: usize = 4;
/// Choices listed in an error, at most (IB's real document has hundreds of scan codes).
const CHOICES_SHOWN: usize = 40;

fn default_code() -> String {
    "TOP_PERC_GAIN".into()
}
fn default_location() -> String {
    "STK.US.MAJOR".into()
}
fn default_rows() -> u32 {
    10
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScannerParams {
    /// IB scan code, e.g. TOP_PERC_GAIN (default), TOP_PERC_LOSE, MOST_ACTIVE, HOT_BY_VOLUME,
    /// HIGH_DIVIDEND_YIELD_IB; checked against the gateway's scanner parameters.
    #[serde(default = "default_code")]
    pub scanner_code: String,
    /// IB location code, e.g. STK.US.MAJOR (default), STK.US, STK.NA.CANADA.
    #[serde(default = "default_location")]
    pub location: String,
    /// Rows to return (1–25, default 10).
    #[serde(default = "default_rows")]
    #[schemars(range(min = 1, max = 25))]
    pub rows: u32,
    /// Only prices above this, in the location's currency.
    #[schemars(range(min = 0.0))]
    pub price_above: Option<f64>,
    /// Only prices below this, in the location's currency.
    #[schemars(range(min = 0.0))]
    pub price_below: Option<f64>,
    /// Only volume today above this many shares.
    #[schemars(range(min = 0, max = 2_000_000_000))]
    pub volume_above: Option<i32>,
    /// Only market caps above this, in millions of the location's currency (IB's scanner unit).
    #[schemars(range(min = 0.0))]
    pub market_cap_above_millions: Option<f64>,
    /// Only market caps below this, in millions of the location's currency.
    #[schemars(range(min = 0.0))]
    pub market_cap_below_millions: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ScanRow {
    /// 1 = first (IB's rank + 1).
    pub rank: i32,
    pub symbol: String,
    pub currency: String,
    pub primary_exchange: String,
    /// Last price (quote snapshot), in `currency`.
    pub last: Option<f64>,
    /// Change from the previous close, percent.
    pub change_pct: Option<f64>,
    /// Shares traded today.
    pub volume: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScannerOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub scanner_code: String,
    pub location: String,
    /// The filters sent, in words (empty when none).
    pub filters: Vec<String>,
    pub rows: Vec<ScanRow>,
    pub warnings: Vec<String>,
    pub method: String,
}

pub struct Scanner;

fn check_choice(tool: &str, what: &str, given: &str, choices: &[String]) -> Result<(), ToolError> {
    if choices.iter().any(|c| c == given) {
        return Ok(());
    }
    let shown: Vec<&str> = choices
        .iter()
        .take(CHOICES_SHOWN)
        .map(String::as_str)
        .collect();
    let more = choices.len().saturating_sub(CHOICES_SHOWN);
    Err(ToolError::new(format!(
        "{tool}: unknown {what} `{given}`; this gateway offers: {}{}",
        shown.join(", "),
        if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        }
    )))
}

fn filters_in_words(p: &ScannerParams) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = p.price_above {
        out.push(format!("price above {v}"));
    }
    if let Some(v) = p.price_below {
        out.push(format!("price below {v}"));
    }
    if let Some(v) = p.volume_above {
        out.push(format!("volume above {}", f::volume(Some(f64::from(v)))));
    }
    if let Some(v) = p.market_cap_above_millions {
        out.push(format!("market cap above {v}M"));
    }
    if let Some(v) = p.market_cap_below_millions {
        out.push(format!("market cap below {v}M"));
    }
    out
}

fn row(hit: &ScanHit, quote: Option<&Quote>) -> ScanRow {
    let change = quote.and_then(Quote::change);
    ScanRow {
        rank: hit.rank + 1,
        symbol: hit.symbol.clone(),
        currency: hit.currency.clone(),
        primary_exchange: hit.primary_exchange.clone(),
        last: f::json_num(quote.and_then(Quote::price).map(|p| f::round(p, 2))),
        change_pct: f::json_num(change.map(|c| f::round(c.1, 2))),
        volume: f::json_num(quote.and_then(|q| q.volume)),
    }
}

impl Tool for Scanner {
    const NAME: &'static str = "ibkr_scanner";
    const GROUP: ToolGroup = ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "IB market scanner snapshot (TOP_PERC_GAIN, TOP_PERC_LOSE, MOST_ACTIVE, HOT_BY_VOLUME, HIGH_DIVIDEND_YIELD_IB, ...) for a location (STK.US.MAJOR) with price/volume/market-cap filters; code and location checked against the gateway's scanner parameters; each hit with last and % change.";
    type Params = ScannerParams;
    type Output = ScannerOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: ScannerParams) -> Result<Answer<ScannerOut>, ToolError> {
        let now = ctx.now();
        let code = p.scanner_code.trim().to_ascii_uppercase();
        let location = p.location.trim().to_ascii_uppercase();
        if let (Some(a), Some(b)) = (p.price_above, p.price_below)
            && a >= b
        {
            return Err(ToolError::new(format!(
                "{}: `price_above` ({a}) must be below `price_below` ({b})",
                Self::NAME
            )));
        }
        let req = ctx.requests()?;
        let choices = req
            .scanner_choices()
            .await
            .map_err(|e| support::gateway_error(Self::NAME, "the scanner parameters", &e))?;
        check_choice(Self::NAME, "scanner_code", &code, &choices.scan_codes)?;
        check_choice(Self::NAME, "location", &location, &choices.locations)?;
        let scan = ScanRequest {
            scan_code: code.clone(),
            location: location.clone(),
            rows: p.rows.clamp(1, 25) as i32,
            above_price: p.price_above,
            below_price: p.price_below,
            above_volume: p.volume_above,
            market_cap_above: p.market_cap_above_millions,
            market_cap_below: p.market_cap_below_millions,
        };
        let hits = req
            .scan(&scan)
            .await
            .map_err(|e| support::gateway_error(Self::NAME, &format!("scanner {code}"), &e))?;
        let queries: Vec<ContractQuery> = hits
            .iter()
            .map(|h| ContractQuery {
                symbol: h.symbol.clone(),
                currency: Some(h.currency.clone()).filter(|c| !c.is_empty()),
                ..Default::default()
            })
            .collect();
        let quotes: Vec<Option<Quote>> = futures::stream::iter(queries)
            .map(|q| async move { req.quote_snapshot(&q).await.ok() })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let rows: Vec<ScanRow> = hits
            .iter()
            .zip(quotes.iter())
            .map(|(h, q)| row(h, q.as_ref()))
            .collect();
        let mut warnings = Vec::new();
        let unquoted: Vec<&str> = rows
            .iter()
            .filter(|r| r.last.is_none())
            .map(|r| r.symbol.as_str())
            .collect();
        if !unquoted.is_empty() {
            warnings.push(format!("No quote for {}.", unquoted.join(", ")));
        }
        let out = ScannerOut {
            meta: support::meta(now, None),
            scanner_code: code,
            location,
            filters: filters_in_words(&p),
            rows,
            warnings,
            method: "IB reqScannerParameters (scan code and location checked against it), then reqScannerSubscription for STK: the first batch of results is taken and the subscription cancelled. Last, % change (last vs previous close) and volume come from one quote snapshot per hit.".into(),
        };
        Ok(Answer {
            markdown: render(&out),
            data: out,
        })
    }
}

pub fn headline(out: &ScannerOut) -> String {
    match out.rows.first() {
        Some(r) => format!(
            "{} {} · {} hits · #1 {} {} ({})",
            out.scanner_code,
            out.location,
            out.rows.len(),
            r.symbol,
            f::number(r.last, 2),
            f::pct(r.change_pct)
        ),
        None => format!("{} {} · no hits", out.scanner_code, out.location),
    }
}

pub fn render(out: &ScannerOut) -> String {
    let mut md = out
        .meta
        .header(&format!("Scanner: {} · {}", out.scanner_code, out.location));
    md.push('\n');
    if !out.filters.is_empty() {
        let _ = writeln!(md, "**Filters**: {}\n", out.filters.join(" · "));
    }
    if out.rows.is_empty() {
        md.push_str("No contracts matched the scan.\n");
    } else {
        let table: Vec<Vec<String>> = out
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.rank.to_string(),
                    r.symbol.clone(),
                    r.primary_exchange.clone(),
                    f::money(r.last, &r.currency),
                    f::pct(r.change_pct),
                    f::volume(r.volume),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["#", "Symbol", "Exchange", "Last", "Change", "Volume"],
            &[
                Align::Right,
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
    }
    f::push_warnings_errors_method(&mut md, &out.warnings, &[], &out.method);
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_choices_name_the_valid_ones() {
        let codes = vec!["TOP_PERC_GAIN".to_string(), "MOST_ACTIVE".to_string()];
        assert!(check_choice("t", "scanner_code", "MOST_ACTIVE", &codes).is_ok());
        let e = check_choice("t", "scanner_code", "NOPE", &codes).unwrap_err();
        assert!(e.message.contains("TOP_PERC_GAIN, MOST_ACTIVE"), "{e}");
    }

    #[test]
    fn render_scanner() {
        let r = |rank: i32, s: &str, last: f64, chg: f64, vol: f64| ScanRow {
            rank,
            symbol: s.into(),
            currency: "USD".into(),
            primary_exchange: "NASDAQ".into(),
            last: Some(last),
            change_pct: Some(chg),
            volume: Some(vol),
        };
        let out = ScannerOut {
            meta: Meta::fresh("2026-12-01 14:30:00 UTC"),
            scanner_code: "TOP_PERC_GAIN".into(),
            location: "STK.US.MAJOR".into(),
            filters: vec!["price above 10".into()],
            rows: vec![
                r(1, "VLTX", 94.32, 3.41, 1_870_000.0),
                r(2, "OMRA", 12.04, 1.2, 640_000.0),
            ],
            warnings: vec![],
            method: "IB reqScannerSubscription.".into(),
        };
        assert_eq!(
            headline(&out),
            "TOP_PERC_GAIN STK.US.MAJOR · 2 hits · #1 VLTX 94.32 (+3.41%)"
        );
        insta::assert_snapshot!("render_scanner", render(&out));
        insta::assert_snapshot!("headline_scanner", headline(&out));
    }
}
