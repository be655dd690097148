//! `ibkr_get_positions`: the position table with cost basis, P&L, weights (of gross value in the
//! base currency, FX-converted) and totals.

use crate::model::{AccountSnapshot, Millis, Position, ToolGroup};
use crate::store::LiveState;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{FxRates, FxUsed, Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Sort order of the position table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PositionSort {
    /// Largest weight first (default).
    #[default]
    Weight,
    /// Largest unrealized P&L first.
    Pnl,
    /// Largest daily P&L first.
    Daily,
    /// Alphabetical.
    Symbol,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionsParams {
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
    /// Only symbols containing this text (case-insensitive).
    pub symbol_filter: Option<String>,
    /// `weight` (default), `pnl`, `daily` or `symbol`.
    #[serde(default)]
    pub sort: PositionSort,
    /// At most this many rows (1–1000; default all). Totals always cover every position.
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PositionRow {
    pub symbol: String,
    pub sec_type: String,
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub avg_cost: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value: Option<f64>,
    /// Market value in the account's base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub market_value_base: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized_pnl: Option<f64>,
    /// Unrealized P&L as a percent of cost.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized_pnl_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_pnl: Option<f64>,
    /// Seconds since `daily_pnl` arrived. Streamed holdings' daily P&L is seconds old; on big
    /// books the smaller holdings get theirs from rotated short requests, minutes apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_pnl_age_s: Option<i64>,
    /// Percent of gross position value (base currency).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub weight_pct: Option<f64>,
    /// Price is from delayed market data.
    pub delayed: bool,
    /// No market-data line for it (the account's lines go to the largest holdings): the price
    /// is IB's portfolio mark, refreshed every few minutes. Omitted when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub portfolio_priced: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionsOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub positions: Vec<PositionRow>,
    /// Positions matching the filter (rows may be fewer when `limit` is set).
    pub count: usize,
    /// Totals in the base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_market_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_gross_value: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_unrealized_pnl: Option<f64>,
    /// Sum of the positions' daily P&L; when some position has none (big books stream daily
    /// P&L for the largest holdings only) and no filter is set: the account's daily P&L from
    /// IB, which covers every position.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_daily_pnl: Option<f64>,
    /// The oldest daily P&L among the rows, in seconds (see `PositionRow::daily_pnl_age_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_daily_pnl_age_s: Option<i64>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
    /// The symbol filter as applied (upper-cased), for the "no position matches" line.
    #[serde(skip)]
    pub symbol_filter: Option<String>,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct Positions;

impl Tool for Positions {
    const NAME: &'static str = "ibkr_get_positions";
    const GROUP: ToolGroup = ToolGroup::Portfolio;
    const DESCRIPTION: &'static str = "Positions with quantity, average cost, price, market value, unrealized and daily P&L, weight and totals in the base currency.";
    type Params = PositionsParams;
    type Output = PositionsOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: PositionsParams) -> Result<Answer<PositionsOut>, ToolError> {
        let view = ctx.live()?;
        let snap = &view.snap;
        let acct = resolve_account(ctx, snap, p.account.as_deref())?;
        let base = acct.base_currency.clone();
        let all: Vec<&Position> = snap
            .positions_of(&acct.account)
            .filter(|p| p.quantity != 0.0)
            .collect();
        let currencies = all.iter().map(|p| p.instrument.currency.clone());
        let rates = FxRates::fetch(ctx, snap, currencies, &base).await;
        let filter = p
            .symbol_filter
            .as_deref()
            .map(|s| s.trim().to_ascii_uppercase());
        let mut rows = position_rows(snap, &all, &rates, filter.as_deref(), view.now);
        let count = rows.len();
        let totals = Totals::of(&rows, &rates, acct, filter.is_none());
        sort_rows(&mut rows, p.sort);
        if let Some(limit) = p.limit {
            rows.truncate(limit as usize);
        }
        let oldest_daily_pnl_age_s = rows.iter().filter_map(|r| r.daily_pnl_age_s).max();
        let (fx_rates, unconverted) = rates.used(&base);
        let mut out = PositionsOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: base,
            positions: rows,
            count,
            total_market_value: totals.market_value,
            total_gross_value: totals.gross,
            total_unrealized_pnl: totals.unrealized,
            total_daily_pnl: totals.daily,
            oldest_daily_pnl_age_s,
            fx_rates,
            unconverted,
            symbol_filter: filter,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// One row per position matching the filter, weighed against the whole account's gross value
/// (whatever the filter shows).
fn position_rows(
    snap: &LiveState,
    all: &[&Position],
    rates: &FxRates,
    filter: Option<&str>,
    now: Millis,
) -> Vec<PositionRow> {
    let gross: Option<f64> = all
        .iter()
        .map(|pos| {
            let quote = snap.quotes.get(&pos.instrument.symbol);
            rates
                .conv(pos.current_market_value(quote), &pos.instrument.currency)
                .map(f64::abs)
        })
        .sum();
    all.iter()
        .filter(|pos| {
            filter.is_none_or(|flt| pos.instrument.symbol.to_ascii_uppercase().contains(flt))
        })
        .map(|pos| {
            let ccy = pos.instrument.currency.as_str();
            let quote = snap.quotes.get(&pos.instrument.symbol);
            let market_value = pos.current_market_value(quote);
            let mv_base = rates.conv(market_value, ccy);
            let cost = pos.avg_cost * pos.quantity * mult(pos);
            PositionRow {
                symbol: pos.instrument.symbol.clone(),
                sec_type: pos.instrument.sec_type.clone(),
                currency: ccy.to_string(),
                quantity: pos.quantity,
                avg_cost: f::json_num(Some(pos.avg_cost)),
                price: f::json_num(pos.current_price(quote)),
                market_value: f::json_num(market_value),
                market_value_base: f::json_num(mv_base),
                unrealized_pnl: f::json_num(pos.unrealized_pnl),
                unrealized_pnl_pct: match pos.unrealized_pnl {
                    Some(u) if cost != 0.0 => Some(f::round(u / cost.abs() * 100.0, 4)),
                    _ => None,
                },
                daily_pnl: f::json_num(pos.daily_pnl),
                daily_pnl_age_s: pos
                    .daily_pnl
                    .and(pos.daily_pnl_at)
                    .map(|at| (now - at).max(0) / 1000),
                weight_pct: match (mv_base, gross) {
                    (Some(v), Some(g)) if g != 0.0 => Some(f::round(v.abs() / g * 100.0, 4)),
                    _ => None,
                },
                delayed: quote.is_some_and(|q| q.mode.is_delayed()),
                portfolio_priced: !pos.price_source.is_quote(),
            }
        })
        .collect()
}

/// Totals in the base currency over every matching row (before `limit`).
struct Totals {
    market_value: Option<f64>,
    gross: Option<f64>,
    unrealized: Option<f64>,
    daily: Option<f64>,
}

impl Totals {
    fn of(
        rows: &[PositionRow],
        rates: &FxRates,
        acct: &AccountSnapshot,
        unfiltered: bool,
    ) -> Totals {
        let total = |pick: fn(&PositionRow) -> Option<f64>| -> Option<f64> {
            rows.iter()
                .map(|r| rates.conv(pick(r), &r.currency))
                .sum::<Option<f64>>()
                .map(|t| f::round(t, 2))
        };
        Totals {
            market_value: total(|r| r.market_value),
            unrealized: total(|r| r.unrealized_pnl),
            // Big books stream daily P&L for the largest holdings only; the account's own daily
            // P&L covers every position, so it stands in when nothing is filtered out.
            daily: total(|r| r.daily_pnl).or_else(|| {
                unfiltered
                    .then(|| acct.pnl.as_ref().and_then(|pnl| pnl.daily))
                    .flatten()
                    .map(|t| f::round(t, 2))
            }),
            gross: rows
                .iter()
                .map(|r| r.market_value_base.map(f64::abs))
                .sum::<Option<f64>>()
                .map(|t| f::round(t, 2)),
        }
    }
}

fn sort_rows(rows: &mut [PositionRow], sort: PositionSort) {
    match sort {
        PositionSort::Weight => rows
            .sort_by(|a, b| desc(b.weight_pct, a.weight_pct).then_with(|| a.symbol.cmp(&b.symbol))),
        PositionSort::Pnl => rows.sort_by(|a, b| {
            desc(b.unrealized_pnl, a.unrealized_pnl).then_with(|| a.symbol.cmp(&b.symbol))
        }),
        PositionSort::Daily => rows
            .sort_by(|a, b| desc(b.daily_pnl, a.daily_pnl).then_with(|| a.symbol.cmp(&b.symbol))),
        PositionSort::Symbol => rows.sort_by(|a, b| a.symbol.cmp(&b.symbol)),
    }
}

/// The answer's markdown: the position table, totals, FX used and the delayed-data note.
pub fn render(out: &PositionsOut) -> String {
    let base = &out.base_currency;
    let mut md = out.meta.header(&format!("Positions: {}", out.account));
    md.push('\n');
    if out.positions.is_empty() {
        match &out.symbol_filter {
            Some(flt) => {
                let _ = writeln!(md, "No position matches \"{flt}\".");
            }
            None => md.push_str("No open positions.\n"),
        }
    } else {
        md.push_str(&positions_table(&out.positions));
        let marks = out.positions.iter().filter(|r| r.portfolio_priced).count();
        if marks > 0 {
            let _ = writeln!(
                md,
                "\n_{marks} holding(s) marked (portfolio) have no market-data line (the account's lines go to the largest holdings): price from IB's portfolio updates, refreshed every few minutes._"
            );
        }
        if out.positions.len() < out.count {
            let _ = writeln!(
                md,
                "\n_Showing {} of {} positions; totals cover all {}._",
                out.positions.len(),
                out.count,
                out.count
            );
        }
    }
    if let Some(note) = daily_pnl_age_note(out) {
        md.push_str(&note);
    }
    let _ = write!(
        md,
        "\n## Totals ({base})\n{}",
        f::kv_table(&[
            ("Market Value", f::money(out.total_market_value, base)),
            ("Gross Value", f::money(out.total_gross_value, base)),
            (
                "Unrealized P&L",
                f::signed_money(out.total_unrealized_pnl, base)
            ),
            ("Daily P&L", f::signed_money(out.total_daily_pnl, base)),
            ("Positions", out.count.to_string()),
        ])
    );
    md.push_str(&f::fx_lines(&out.fx_rates, &out.unconverted));
    let delayed: Vec<String> = out
        .positions
        .iter()
        .filter(|r| r.delayed)
        .map(|r| r.symbol.clone())
        .collect();
    if let Some(note) = f::delayed_note(&delayed) {
        md.push('\n');
        md.push_str(&note);
    }
    md
}

/// Daily P&L older than this is not streamed (a streamed holding's updates are seconds apart):
/// the table shows its age and the note the book's oldest.
pub const DAILY_PNL_AGED_S: i64 = 60;

/// The daily-P&L cell: the amount, and its age once it is no longer live.
fn daily_pnl_cell(r: &PositionRow) -> String {
    let amount = f::signed_money(r.daily_pnl, &r.currency);
    match r.daily_pnl_age_s {
        Some(age) if age >= DAILY_PNL_AGED_S => {
            format!("{amount} ({} ago)", f::age(age * 1000))
        }
        _ => amount,
    }
}

fn daily_pnl_age_note(out: &PositionsOut) -> Option<String> {
    let oldest = out
        .oldest_daily_pnl_age_s
        .filter(|a| *a >= DAILY_PNL_AGED_S)?;
    let aged = out
        .positions
        .iter()
        .filter(|r| r.daily_pnl_age_s.is_some_and(|a| a >= DAILY_PNL_AGED_S))
        .count();
    Some(format!(
        "\n_Daily P&L of {aged} holding(s) is not streamed (the largest holdings are; the others get theirs in rotation): each shows its age, the oldest is {} old._\n",
        f::age(oldest * 1000)
    ))
}

fn positions_table(positions: &[PositionRow]) -> String {
    let table: Vec<Vec<String>> = positions
        .iter()
        .map(|r| {
            vec![
                r.symbol.clone(),
                f::volume(Some(r.quantity)),
                f::money(r.avg_cost, &r.currency),
                format!(
                    "{}{}",
                    f::money(r.price, &r.currency),
                    if r.delayed {
                        " (delayed)"
                    } else if r.portfolio_priced {
                        " (portfolio)"
                    } else {
                        ""
                    }
                ),
                f::money(r.market_value, &r.currency),
                format!(
                    "{} ({})",
                    f::signed_money(r.unrealized_pnl, &r.currency),
                    f::pct(r.unrealized_pnl_pct)
                ),
                daily_pnl_cell(r),
                f::pct_plain(r.weight_pct, 1),
            ]
        })
        .collect();
    f::table(
        &[
            "Symbol",
            "Shares",
            "Avg Cost",
            "Price",
            "Market Value",
            "Unrealized P&L",
            "Daily P&L",
            "Weight",
        ],
        &[
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
    )
}

/// Options and futures carry a multiplier; stocks report 0 or 1.
fn mult(p: &Position) -> f64 {
    if p.instrument.multiplier > 0.0 {
        p.instrument.multiplier
    } else {
        1.0
    }
}

/// Descending comparison with missing values last.
fn desc(b: Option<f64>, a: Option<f64>) -> std::cmp::Ordering {
    b.unwrap_or(f64::NEG_INFINITY)
        .total_cmp(&a.unwrap_or(f64::NEG_INFINITY))
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &PositionsOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    f::headline(&[
        format!("{} positions", out.count),
        format!("value {} {ccy}", f::number(out.total_market_value, 2)),
        format!(
            "unrealized {} {ccy}",
            f::signed(out.total_unrealized_pnl, 2)
        ),
        format!("day {} {ccy}", f::signed(out.total_daily_pnl, 2)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn row(
        symbol: &str,
        quantity: f64,
        avg_cost: f64,
        price: f64,
        daily: Option<f64>,
        weight: f64,
        delayed: bool,
        portfolio_priced: bool,
    ) -> PositionRow {
        let market_value = quantity * price;
        let unrealized = quantity * (price - avg_cost);
        PositionRow {
            symbol: symbol.into(),
            sec_type: "STK".into(),
            currency: "USD".into(),
            quantity,
            avg_cost: Some(avg_cost),
            price: Some(price),
            market_value: Some(market_value),
            market_value_base: Some(f::round(market_value * 1.37, 2)),
            unrealized_pnl: Some(f::round(unrealized, 2)),
            unrealized_pnl_pct: Some(f::round(unrealized / (quantity * avg_cost) * 100.0, 4)),
            daily_pnl: daily,
            daily_pnl_age_s: daily.map(|_| 4),
            weight_pct: Some(weight),
            delayed,
            portfolio_priced,
        }
    }

    #[test]
    fn renders_rows_totals_fx_and_notes() {
        let out = PositionsOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            positions: vec![
                row("KRYX", 340.0, 50.0, 54.18, Some(-952.0), 69.4, false, false),
                row("VLTX", 86.0, 100.0, 94.32, None, 30.6, true, false),
            ],
            count: 3,
            total_market_value: Some(38_437.84),
            total_gross_value: Some(38_437.84),
            total_unrealized_pnl: Some(1_234.5),
            total_daily_pnl: Some(-1_304.24),
            oldest_daily_pnl_age_s: Some(4),
            fx_rates: vec![FxUsed {
                pair: "USD.CAD".into(),
                rate: 1.37,
            }],
            unconverted: vec!["EUR".into()],
            symbol_filter: None,
        };
        insta::assert_snapshot!("render_get_positions", render(&out));
        insta::assert_snapshot!("headline_get_positions", [headline(&out)].join("\n"));
    }

    #[test]
    fn daily_pnl_from_rotation_shows_its_age_and_the_oldest() {
        let mut streamed = row("KRYX", 340.0, 50.0, 54.18, Some(-952.0), 69.4, false, false);
        streamed.daily_pnl_age_s = Some(2);
        let mut rotated = row("VLTX", 86.0, 100.0, 94.32, Some(12.5), 30.6, false, true);
        rotated.daily_pnl_age_s = Some(185);
        let out = PositionsOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            base_currency: "USD".into(),
            positions: vec![streamed, rotated],
            count: 2,
            total_market_value: Some(26_533.72),
            total_gross_value: Some(26_533.72),
            total_unrealized_pnl: Some(1_234.5),
            total_daily_pnl: Some(-939.5),
            oldest_daily_pnl_age_s: Some(185),
            fx_rates: Vec::new(),
            unconverted: Vec::new(),
            symbol_filter: None,
        };
        insta::assert_snapshot!("render_get_positions_daily_pnl_age", render(&out));
    }

    #[test]
    fn an_empty_filter_result_names_the_filter() {
        let out = PositionsOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            positions: Vec::new(),
            count: 0,
            total_market_value: Some(0.0),
            total_gross_value: Some(0.0),
            total_unrealized_pnl: Some(0.0),
            total_daily_pnl: None,
            oldest_daily_pnl_age_s: None,
            fx_rates: Vec::new(),
            unconverted: Vec::new(),
            symbol_filter: Some("ZZ".into()),
        };
        assert!(render(&out).contains("No position matches \"ZZ\"."));
    }
}
