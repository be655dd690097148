//! `ibkr_dividends`: the last and next dividend of one symbol, the ex-date calendar of held
//! symbols, or the book's estimated annual dividend income.

use crate::gateway::{ContractQuery, GatewayError};
use crate::store::{LiveState, Staleness};
use crate::tools::format::fx_lines;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{self, Meta, gateway_error, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DividendScope {
    /// Last and next dividend of one `symbol`.
    Single,
    /// Upcoming ex-dates of every held symbol (default).
    #[default]
    Calendar,
    /// Estimated annual dividend income of the book.
    Income,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DividendParams {
    /// `single`, `calendar` (default) or `income`.
    #[serde(default)]
    pub scope: DividendScope,
    /// Required for `single`.
    pub symbol: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DividendRow {
    pub symbol: String,
    pub currency: String,
    /// Dividends per share over the past 12 months.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub past_12m: Option<f64>,
    /// Expected dividends per share over the next 12 months.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub next_12m: Option<f64>,
    /// Next ex-date `YYYY-MM-DD`.
    pub next_date: Option<String>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub next_amount: Option<f64>,
    /// Shares held (0 for a symbol not held).
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    /// quantity × next_12m, in the symbol's currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub annual_income: Option<f64>,
    /// Yield on the current price, percent.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub yield_pct: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DividendsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub scope: DividendScope,
    pub rows: Vec<DividendRow>,
    /// Income scope: total in the base currency (FX-converted).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_annual_income: Option<f64>,
    pub base_currency: Option<String>,
    pub fx_rates: Vec<support::FxUsed>,
    /// The symbol asked for in scope `single` (the title).
    #[serde(skip)]
    pub symbol: String,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct Dividends;

/// The state to read, its staleness, (symbol, shares held) to look up, and the base currency.
type DividendTargets = (
    LiveState,
    Option<Staleness>,
    Vec<(String, f64)>,
    Option<String>,
);

/// What the scope covers: one symbol (held or not), or every held stock of the primary account.
fn targets(
    ctx: &ToolContext,
    tool: &str,
    p: &DividendParams,
) -> Result<DividendTargets, ToolError> {
    match p.scope {
        DividendScope::Single => {
            let raw = p.symbol.as_deref().ok_or_else(|| {
                ToolError::new(format!(
                    "{tool}: scope `single` needs `symbol` (e.g. symbol=KRYX)"
                ))
            })?;
            let s = support::symbol(tool, raw)?;
            let snap = ctx.store.snapshot();
            let held: f64 = snap
                .positions
                .values()
                .filter(|x| x.instrument.symbol == s)
                .map(|x| x.quantity)
                .sum();
            Ok((snap, None, vec![(s, held)], None))
        }
        DividendScope::Calendar | DividendScope::Income => {
            if p.symbol.is_some() {
                return Err(ToolError::new(format!(
                    "{tool}: `symbol` is only used with scope `single`; calendar and income cover every held symbol"
                )));
            }
            let live = ctx.live()?;
            let acct = resolve_account(ctx, &live.snap, None)?;
            let base = acct.base_currency.clone();
            let mut held: BTreeMap<String, f64> = BTreeMap::new();
            for pos in live
                .snap
                .positions_of(&acct.account)
                .filter(|x| x.quantity != 0.0 && x.instrument.sec_type == "STK")
            {
                *held.entry(pos.instrument.symbol.clone()).or_default() += pos.quantity;
            }
            Ok((
                live.snap.clone(),
                live.stale.clone(),
                held.into_iter().collect(),
                Some(base),
            ))
        }
    }
}

/// One row per target, from IB's dividend ticks.
async fn dividend_rows(
    ctx: &ToolContext,
    tool: &str,
    scope: DividendScope,
    snap: &LiveState,
    targets: &[(String, f64)],
) -> Result<Vec<DividendRow>, ToolError> {
    let req = ctx.requests()?;
    let mut rows = Vec::new();
    for (sym, qty) in targets {
        let info = match req
            .dividends(&ContractQuery {
                symbol: sym.clone(),
                ..Default::default()
            })
            .await
        {
            Ok(i) => i,
            Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. }))
                if scope == DividendScope::Single =>
            {
                return Err(ToolError::new(format!(
                    "{tool}: unknown symbol `{sym}` ({e})."
                )));
            }
            Err(e) => {
                return Err(gateway_error(tool, &format!("dividends of {sym}"), &e));
            }
        };
        let price = snap.quotes.get(sym).and_then(|q| q.price());
        let currency = if info.currency.is_empty() {
            "USD".to_string()
        } else {
            info.currency.clone()
        };
        rows.push(DividendRow {
            symbol: sym.clone(),
            currency,
            past_12m: f::json_num(info.past_12m),
            next_12m: f::json_num(info.next_12m),
            next_date: info.next_date.as_deref().map(f::ib_date),
            next_amount: f::json_num(info.next_amount),
            quantity: *qty,
            annual_income: f::json_num(info.next_12m.map(|d| f::round(d * qty, 2))),
            yield_pct: match (info.next_12m.or(info.past_12m), price) {
                (Some(d), Some(px)) if px > 0.0 => Some(f::round(d / px * 100.0, 4)),
                _ => None,
            },
        });
    }
    Ok(rows)
}

/// The book's annual income in `base` (rounded to cents) and the FX rates used; `None` when a
/// currency has no rate.
async fn income_total(
    ctx: &ToolContext,
    snap: &LiveState,
    rows: &[DividendRow],
    base: &str,
) -> (Option<f64>, Vec<support::FxUsed>) {
    let mut sum = Some(0.0);
    let mut seen: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for r in rows {
        if !seen.contains_key(&r.currency) {
            let rate = support::fx_rate(ctx, snap, &r.currency, base).await;
            seen.insert(r.currency.clone(), rate);
        }
        let rate = seen.get(&r.currency).copied().flatten();
        // A symbol paying nothing contributes a real zero, not a missing value.
        let income = r.annual_income.or(Some(0.0));
        sum = sum
            .zip(income.zip(rate).map(|(i, x)| i * x))
            .map(|(a, b)| a + b);
    }
    let fx_rates = seen
        .into_iter()
        .filter(|(c, _)| c != base)
        .filter_map(|(c, r)| {
            r.map(|rate| support::FxUsed {
                pair: format!("{c}.{base}"),
                rate,
            })
        })
        .collect();
    (sum.map(|t| f::round(t, 2)), fx_rates)
}

impl Tool for Dividends {
    const NAME: &'static str = "ibkr_dividends";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::MarketData;
    const DESCRIPTION: &'static str = "Dividends: last/next dividend of one symbol, the ex-date calendar of held symbols, or the book's estimated annual income.";
    type Params = DividendParams;
    type Output = DividendsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: DividendParams) -> Result<Answer<DividendsOut>, ToolError> {
        let now = ctx.now();
        let (snap, stale, targets, base) = targets(ctx, Self::NAME, &p)?;
        let mut rows = dividend_rows(ctx, Self::NAME, p.scope, &snap, &targets).await?;
        let mut fx_rates = Vec::new();
        let mut total = None;
        if p.scope == DividendScope::Income {
            let base = base.clone().unwrap_or_else(|| "USD".into());
            (total, fx_rates) = income_total(ctx, &snap, &rows, &base).await;
        }
        if p.scope == DividendScope::Calendar {
            rows.sort_by(|a, b| match (&a.next_date, &b.next_date) {
                (Some(x), Some(y)) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => a.symbol.cmp(&b.symbol),
            });
        }
        let mut out = DividendsOut {
            method: method_words(),
            warnings: Vec::new(),
            meta: support::meta(now, stale.as_ref()),
            scope: p.scope,
            rows,
            total_annual_income: total,
            base_currency: base,
            fx_rates,
            symbol: targets.first().map(|t| t.0.clone()).unwrap_or_default(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &DividendsOut) -> String {
    let title = match out.scope {
        DividendScope::Single => format!("Dividends: {}", out.symbol),
        DividendScope::Calendar => "Dividend Calendar".into(),
        DividendScope::Income => "Dividend Income".into(),
    };
    let mut md = out.meta.header(&title);
    md.push('\n');
    match out.scope {
        DividendScope::Single => {
            if let Some(r) = out.rows.first() {
                render_single(&mut md, r);
            }
        }
        DividendScope::Calendar => render_calendar(&mut md, &out.rows),
        DividendScope::Income => {
            let base = out.base_currency.clone().unwrap_or_default();
            let table: Vec<Vec<String>> = out
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.symbol.clone(),
                        f::volume(Some(r.quantity)),
                        f::money(r.next_12m, &r.currency),
                        f::money(r.annual_income.or(Some(0.0)), &r.currency),
                    ]
                })
                .collect();
            md.push_str(&f::table(
                &["Symbol", "Shares", "Next 12M / Share", "Annual Income"],
                &[Align::Left, Align::Right, Align::Right, Align::Right],
                &table,
            ));
            let _ = writeln!(
                md,
                "\n**Estimated annual income**: {}",
                f::money(out.total_annual_income, &base)
            );
            md.push_str(&fx_lines(&out.fx_rates, &[]));
        }
    }
    md.push_str(&f::method_line(&out.method));
    md
}

fn render_single(md: &mut String, r: &DividendRow) {
    let c = r.currency.as_str();
    md.push_str(&f::kv_table(&[
        ("Past 12 Months (per share)", f::money(r.past_12m, c)),
        ("Next 12 Months (per share)", f::money(r.next_12m, c)),
        (
            "Next Ex-Date",
            r.next_date.clone().unwrap_or_else(|| f::NA.into()),
        ),
        ("Next Amount", f::money(r.next_amount, c)),
        ("Yield", f::pct_plain(r.yield_pct, 2)),
    ]));
}

fn render_calendar(md: &mut String, rows: &[DividendRow]) {
    if rows.is_empty() {
        md.push_str("No held stock positions.\n");
        return;
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                r.next_date
                    .clone()
                    .unwrap_or_else(|| "none announced".into()),
                f::money(r.next_amount, &r.currency),
                f::money(r.next_12m, &r.currency),
                f::pct_plain(r.yield_pct, 2),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &[
            "Symbol",
            "Next Ex-Date",
            "Next Amount",
            "Next 12M / Share",
            "Yield",
        ],
        &[
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &table,
    ));
}

/// How the dividend figures are computed.
fn method_words() -> String {
    "per share: past and next 12 months as IB's dividend tick (generic tick 456) reports them; annual income = next 12 months × shares held, in the symbol's currency, the total converted to the base currency at the FX rates listed; yield = next 12 months (else past 12 months) / current price".to_string()
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &DividendsOut) -> String {
    use crate::tools::format as f;
    if out.scope == DividendScope::Single {
        let row = out.rows.first();
        return f::headline(&[
            out.symbol.clone(),
            row.map(|r| format!("past 12m {} {}", f::number(r.past_12m, 2), r.currency))
                .unwrap_or_default(),
            row.map(|r| format!("yield {}", f::pct_plain(r.yield_pct, 2)))
                .unwrap_or_default(),
            row.and_then(|r| r.next_date.as_ref())
                .map(|d| format!("next ex-date {d}"))
                .unwrap_or_default(),
        ]);
    }
    let paying = out
        .rows
        .iter()
        .filter(|r| r.annual_income.is_some_and(|v| v > 0.0))
        .count();
    f::headline(&[
        format!("{} holding(s), {paying} paying", out.rows.len()),
        format!(
            "annual income {} {}",
            f::number(out.total_annual_income, 2),
            out.base_currency.as_deref().unwrap_or("")
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        symbol: &str,
        ccy: &str,
        qty: f64,
        next_12m: Option<f64>,
        date: Option<&str>,
    ) -> DividendRow {
        DividendRow {
            symbol: symbol.into(),
            currency: ccy.into(),
            past_12m: next_12m.map(|d| d * 0.95),
            next_12m,
            next_date: date.map(str::to_string),
            next_amount: next_12m.map(|d| d / 4.0),
            quantity: qty,
            annual_income: next_12m.map(|d| f::round(d * qty, 2)),
            yield_pct: next_12m.map(|d| f::round(d / 54.18 * 100.0, 4)),
        }
    }

    #[test]
    fn render_dividends() {
        let meta = support::meta(1_777_828_664_000, None);
        let single = DividendsOut {
            method: method_words(),
            warnings: Vec::new(),
            meta: meta.clone(),
            scope: DividendScope::Single,
            rows: vec![row("KRYX", "USD", 0.0, Some(1.04), Some("2026-06-12"))],
            total_annual_income: None,
            base_currency: None,
            fx_rates: vec![],
            symbol: "KRYX".into(),
        };
        let calendar = DividendsOut {
            method: method_words(),
            warnings: Vec::new(),
            meta: meta.clone(),
            scope: DividendScope::Calendar,
            rows: vec![
                row("KRYX", "USD", 1200.0, Some(1.04), Some("2026-06-12")),
                row("OMRA", "USD", 300.0, None, None),
            ],
            total_annual_income: None,
            base_currency: Some("USD".into()),
            fx_rates: vec![],
            symbol: String::new(),
        };
        let income = DividendsOut {
            method: method_words(),
            warnings: Vec::new(),
            meta,
            scope: DividendScope::Income,
            rows: vec![
                row("KRYX", "USD", 1200.0, Some(1.04), Some("2026-06-12")),
                row("HDRX", "CAD", 500.0, Some(2.2), Some("2026-07-01")),
                row("OMRA", "USD", 300.0, None, None),
            ],
            total_annual_income: Some(1248.0 + 1100.0 * 0.7326),
            base_currency: Some("USD".into()),
            fx_rates: vec![support::FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            symbol: String::new(),
        };
        insta::assert_snapshot!(
            "render_dividends",
            format!(
                "{}\n---\n\n{}\n---\n\n{}",
                render(&single),
                render(&calendar),
                render(&income)
            )
        );
        insta::assert_snapshot!(
            "headline_dividends",
            [headline(&single), headline(&calendar), headline(&income)].join("\n")
        );
    }
}
