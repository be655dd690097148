//! `ibkr_quote`: every held symbol, one symbol in detail, or a 2–8 symbol comparison table.

use super::lookup::{QuoteSource, quote_for};
use crate::model::{DataMode, PriceSource, Quote};
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteParams {
    /// 0–8 symbols, as a JSON array or comma-separated string ("KRYX,VLTX"). None: every held symbol.
    /// One: the detail view. Two to eight: the comparison table.
    #[schemars(length(max = 8))]
    pub symbols: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QuoteRow {
    pub symbol: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub bid: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub ask: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub spread: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub last: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub open: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub high: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub low: Option<f64>,
    /// Previous session's close.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub close: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub change_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp0")]
    pub volume: Option<f64>,
    /// `live`, `frozen`, `delayed` or `delayed-frozen`.
    #[serde(serialize_with = "DataMode::serialize_label")]
    #[schemars(with = "String")]
    pub data_mode: DataMode,
    pub delayed: bool,
    pub source: QuoteSource,
}

impl QuoteRow {
    fn from_quote(q: &Quote, source: QuoteSource) -> Self {
        let change = q.change();
        QuoteRow {
            symbol: q.symbol.clone(),
            currency: q.currency.clone(),
            bid: f::json_num(q.bid),
            ask: f::json_num(q.ask),
            spread: f::json_num(q.bid.zip(q.ask).map(|(b, a)| f::round(a - b, 6))),
            last: f::json_num(q.price()),
            open: f::json_num(q.open),
            high: f::json_num(q.high),
            low: f::json_num(q.low),
            close: f::json_num(q.close),
            change: f::json_num(change.map(|c| f::round(c.0, 6))),
            change_pct: f::json_num(change.map(|c| f::round(c.1, 4))),
            volume: f::json_num(q.volume),
            data_mode: q.mode,
            delayed: q.mode.is_delayed(),
            source,
        }
    }
}

/// ` (delayed)` after a delayed price, ` (portfolio)` after a portfolio mark.
fn mode_marker(r: &QuoteRow) -> &'static str {
    if r.source == QuoteSource::Portfolio {
        return " (portfolio)";
    }
    match r.data_mode {
        DataMode::Live => "",
        DataMode::Frozen => " (frozen)",
        DataMode::Delayed | DataMode::DelayedFrozen => " (delayed)",
    }
}

/// Which of the three views the answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuoteView {
    Portfolio,
    Single,
    Comparison,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct QuoteOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub view: QuoteView,
    pub quotes: Vec<QuoteRow>,
    /// The symbol the single view was asked for (its title).
    #[serde(skip)]
    pub requested: Option<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct QuoteTool;

/// Held stock symbols of the primary account, plus a portfolio-mark quote for each holding
/// priced from portfolio updates (no market-data line), so a 2,000-position book does not turn
/// into 2,000 snapshot requests.
fn held_symbols(
    snap: &crate::store::LiveState,
    account: &str,
) -> (Vec<String>, BTreeMap<String, Quote>) {
    let mut held: Vec<String> = snap
        .positions_of(account)
        .filter(|p| p.quantity != 0.0 && p.instrument.sec_type == "STK")
        .map(|p| p.instrument.symbol.clone())
        .collect();
    held.dedup();
    let mut marks = BTreeMap::new();
    for p in snap.positions_of(account).filter(|p| {
        p.price_source == PriceSource::Portfolio && !snap.quotes.contains_key(&p.instrument.symbol)
    }) {
        marks.insert(
            p.instrument.symbol.clone(),
            Quote {
                symbol: p.instrument.symbol.clone(),
                con_id: p.instrument.con_id,
                currency: p.instrument.currency.clone(),
                last: p.market_price,
                updated: p.updated,
                ..Quote::default()
            },
        );
    }
    (held, marks)
}

impl Tool for QuoteTool {
    const NAME: &'static str = "ibkr_quote";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Quotes: every held symbol (no symbols), one symbol in detail, or a 2–8 symbol comparison table; delayed data labelled.";
    type Params = QuoteParams;
    type Output = QuoteOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: QuoteParams) -> Result<Answer<QuoteOut>, ToolError> {
        let requested = support::symbols(Self::NAME, p.symbols.as_deref().unwrap_or(&[]))?;
        if requested.len() > 8 {
            return Err(ToolError::new(format!(
                "{}: too many symbols: {} given, at most 8 accepted (nothing was dropped; split the request)",
                Self::NAME,
                requested.len()
            )));
        }
        let mut portfolio_marks: BTreeMap<String, Quote> = BTreeMap::new();
        let (snap, now, stale, view, symbols) = if requested.is_empty() {
            let live = ctx.live()?;
            let acct = resolve_account(ctx, &live.snap, None)?;
            let (held, marks) = held_symbols(&live.snap, &acct.account);
            portfolio_marks = marks;
            (
                live.snap.clone(),
                live.now,
                live.stale,
                QuoteView::Portfolio,
                held,
            )
        } else {
            let snap = ctx.store.snapshot();
            let now = ctx.now();
            let stale = ctx.staleness(&snap, now);
            let view = if requested.len() == 1 {
                QuoteView::Single
            } else {
                QuoteView::Comparison
            };
            (snap, now, stale, view, requested)
        };
        let mut rows = Vec::with_capacity(symbols.len());
        let mut unknown = Vec::new();
        for s in &symbols {
            if let Some(q) = portfolio_marks.get(s) {
                rows.push(QuoteRow::from_quote(q, QuoteSource::Portfolio));
                continue;
            }
            match quote_for(ctx, &snap, Self::NAME, s).await {
                Ok((q, src)) => {
                    let mut row = QuoteRow::from_quote(&q, src);
                    if row.symbol.is_empty() {
                        row.symbol = s.clone();
                    }
                    rows.push(row);
                }
                Err(e) if e.message.contains("unknown symbol") => unknown.push(s.clone()),
                Err(e) => return Err(e),
            }
        }
        if !unknown.is_empty() {
            return Err(ToolError::new(format!(
                "{}: unknown symbol{} {} (no such contract at IB). Try ibkr_search_contracts to find the right symbol.",
                Self::NAME,
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", ")
            )));
        }
        let mut out = QuoteOut {
            warnings: Vec::new(),
            meta: support::meta(now, stale.as_ref()),
            view,
            quotes: rows,
            requested: (view == QuoteView::Single).then(|| symbols[0].clone()),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &QuoteOut) -> String {
    let rows = &out.quotes;
    let title = match out.view {
        QuoteView::Portfolio => "Portfolio Quotes".to_string(),
        QuoteView::Single => format!("Quote: {}", out.requested.as_deref().unwrap_or_default()),
        QuoteView::Comparison => "Symbol Comparison".to_string(),
    };
    let mut md = out.meta.header(&title);
    md.push('\n');
    if let (QuoteView::Single, Some(r)) = (out.view, rows.first()) {
        let c = r.currency.as_str();
        md.push_str(&f::kv_table(&[
            ("Last", format!("{}{}", f::money(r.last, c), mode_marker(r))),
            ("Bid", f::money(r.bid, c)),
            ("Ask", f::money(r.ask, c)),
            ("Spread", f::money(r.spread, c)),
            ("Open", f::money(r.open, c)),
            ("High", f::money(r.high, c)),
            ("Low", f::money(r.low, c)),
            ("Previous Close", f::money(r.close, c)),
            (
                "Change",
                format!(
                    "{} ({})",
                    f::signed_money(r.change, c),
                    f::pct(r.change_pct)
                ),
            ),
            ("Volume", f::volume(r.volume)),
            ("Data", r.data_mode.label().to_string()),
        ]));
    } else if rows.is_empty() {
        md.push_str("No held stock positions to quote.\n");
    } else {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    format!("{}{}", f::money(r.last, &r.currency), mode_marker(r)),
                    f::signed_money(r.change, &r.currency),
                    f::pct(r.change_pct),
                    f::volume(r.volume),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Last", "Change", "Change %", "Volume"],
            &[
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            &table,
        ));
    }
    render_footnotes(&mut md, rows);
    md
}

/// Notes on portfolio marks, extended-hours prices and delayed data.
fn render_footnotes(md: &mut String, rows: &[QuoteRow]) {
    let marks = rows
        .iter()
        .filter(|r| r.source == QuoteSource::Portfolio)
        .count();
    if marks > 0 {
        let _ = writeln!(
            md,
            "\n_{marks} holding(s) marked (portfolio) have no market-data line (the account's lines go to the largest holdings): price from IB's portfolio updates, no bid/ask or change._"
        );
    }
    let ext: Vec<&str> = rows
        .iter()
        .filter(|r| r.source == QuoteSource::ExtendedHoursBars)
        .map(|r| r.symbol.as_str())
        .collect();
    if !ext.is_empty() {
        let _ = writeln!(
            md,
            "\n_No live snapshot for {} (market closed or no subscription): last price from extended-hours 1-minute bars, change against the previous daily close._",
            ext.join(", ")
        );
    }
    let delayed: Vec<String> = rows
        .iter()
        .filter(|r| r.delayed)
        .map(|r| r.symbol.clone())
        .collect();
    if let Some(note) = f::delayed_note(&delayed) {
        md.push('\n');
        md.push_str(&note);
    }
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &QuoteOut) -> String {
    use crate::tools::format as f;
    let mut parts: Vec<String> = out
        .quotes
        .iter()
        .take(3)
        .map(|q| {
            format!(
                "{} {} ({}){}",
                q.symbol,
                f::number(q.last.or(q.close), 2),
                f::pct(q.change_pct),
                if q.delayed { " delayed" } else { "" }
            )
        })
        .collect();
    if out.quotes.len() > 3 {
        parts.push(format!("+{} more", out.quotes.len() - 3));
    }
    f::headline(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(symbol: &str, last: f64, close: f64, mode: DataMode, source: QuoteSource) -> QuoteRow {
        QuoteRow::from_quote(
            &Quote {
                symbol: symbol.into(),
                currency: "USD".into(),
                bid: Some(last - 0.04),
                ask: Some(last + 0.04),
                last: Some(last),
                open: Some(last + 1.67),
                high: Some(last + 1.92),
                low: Some(last - 0.24),
                close: Some(close),
                volume: Some(1_870_000.0),
                mode,
                ..Quote::default()
            },
            source,
        )
    }

    #[test]
    fn render_quote() {
        let single = QuoteOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            view: QuoteView::Single,
            quotes: vec![row(
                "KRYX",
                54.18,
                56.97,
                DataMode::Live,
                QuoteSource::Stream,
            )],
            requested: Some("KRYX".into()),
        };
        let comparison = QuoteOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            view: QuoteView::Comparison,
            quotes: vec![
                row("KRYX", 54.18, 56.97, DataMode::Live, QuoteSource::Stream),
                row("VLTX", 21.4, 20.9, DataMode::Delayed, QuoteSource::Snapshot),
                row(
                    "OMRA",
                    8.12,
                    8.30,
                    DataMode::Live,
                    QuoteSource::ExtendedHoursBars,
                ),
            ],
            requested: None,
        };
        insta::assert_snapshot!(
            "render_quote",
            format!("{}\n---\n\n{}", render(&single), render(&comparison))
        );
        insta::assert_snapshot!(
            "headline_quote",
            [headline(&single), headline(&comparison)].join("\n")
        );
    }
}
