//! `ibkr_rebalance_planner`: the trades that move the book to target weights of NLV (held
//! symbols or quoted ones, plus optional CASH): current vs target weight, action, whole shares,
//! amount. A plan only; nothing is ordered.

use super::TABLE_ROWS;
use crate::analytics::rebalance;
use crate::model::tags;
use crate::store::LiveState;
use crate::tools::format::fx_lines;
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data::{self, Book};
use crate::tools::support::{FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebalanceParams {
    /// Target weights of NLV as "SYM:PCT,…", e.g. "KRYX:30,VLTX:20,CASH:10". Held symbols left out go to 0%; CASH (optional) is what is left over.
    pub targets: String,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RebalanceRow {
    pub symbol: String,
    /// Percent of NLV.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub current_weight_pct: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub target_weight_pct: f64,
    /// Base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub current_value: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub target_value: f64,
    /// BUY, SELL or HOLD.
    pub action: String,
    /// Whole shares (rounded toward zero).
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub shares: f64,
    /// Trade amount, base currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub amount: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub price: Option<f64>,
    pub currency: String,
    /// Why a row has no trade despite a different target (no price, no FX rate).
    pub note: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RebalanceOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    /// NLV, the basis of every weight.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub basis: f64,
    pub rows: Vec<RebalanceRow>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash_current_pct: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash_target_pct: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash_after_pct: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_buys: f64,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_sells: f64,
    pub fx_rates: Vec<FxUsed>,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct RebalancePlanner;

/// Targets must name held symbols, symbols with a live stock quote (a buy of something new),
/// or CASH.
fn check_targets(
    tool: &str,
    book: &Book,
    snap: &LiveState,
    targets: &[rebalance::Target],
) -> Result<(), ToolError> {
    let quoted: Vec<&str> = snap
        .quotes
        .keys()
        .filter(|k| !k.contains('.'))
        .map(String::as_str)
        .collect();
    let mut known: Vec<&str> = book.symbols();
    known.extend(quoted.iter().copied().filter(|q| book.find(q).is_none()));
    rebalance::check_symbols(targets, &known).map_err(|e| {
        ToolError::new(match e {
            rebalance::TargetError::UnknownSymbols { unknown, .. } => format!(
                "{tool}: unknown symbol(s) {unknown}: targets must be held symbols ({}) or CASH",
                book.held_list()
            ),
            other => format!("{tool}: {other}"),
        })
    })
}

/// The plan's rows with prices, currencies and a note where a trade cannot be sized.
fn plan_rows(
    plan: &rebalance::Plan,
    holdings: &[rebalance::Holding],
    book: &Book,
    snap: &LiveState,
) -> Vec<RebalanceRow> {
    let base = &book.base;
    plan.rows
        .iter()
        .map(|r| {
            let hold = holdings.iter().find(|h| h.symbol == r.symbol);
            let price = hold.map(|h| h.price).filter(|x| x.is_finite());
            let currency = book
                .find(&r.symbol)
                .map(|h| h.currency.clone())
                .or_else(|| snap.quotes.get(&r.symbol).map(|q| q.currency.clone()))
                .unwrap_or_default();
            let unpriced = hold.is_none_or(|h| {
                !(h.price.is_finite() && h.price > 0.0 && h.fx_to_base.is_finite())
            });
            RebalanceRow {
                symbol: r.symbol.clone(),
                current_weight_pct: f::json_num(Some(r.current_weight * 100.0))
                    .map(|x| f::round(x, 4)),
                target_weight_pct: f::round(r.target_weight * 100.0, 4),
                current_value: f::round(r.current_value, 2),
                target_value: f::round(r.target_value, 2),
                action: r.action.label().into(),
                shares: r.shares,
                amount: f::round(r.amount, 2),
                price,
                note: unpriced.then(|| format!("no usable price or {currency}→{base} rate")),
                currency,
            }
        })
        .collect()
}

impl Tool for RebalancePlanner {
    const NAME: &'static str = "ibkr_rebalance_planner";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "Trades to move the book to target weights (SYM:PCT,… with optional CASH): current vs target weight, action, whole shares, amount.";
    type Params = RebalanceParams;
    type Output = RebalanceOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: RebalanceParams) -> Result<Answer<RebalanceOut>, ToolError> {
        let tool = Self::NAME;
        let targets = rebalance::parse_targets(&p.targets)
            .map_err(|e| ToolError::new(format!("{tool}: {e}")))?;
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        check_targets(tool, &book, &view.snap, &targets)?;
        let base = book.base.clone();
        let Some(basis) = book.nlv().filter(|n| *n > 0.0) else {
            return Err(ToolError::new(format!(
                "{tool}: the account's NLV is not known (or not positive), so weights cannot be computed."
            )));
        };
        let cash = book.get(tags::TOTAL_CASH_VALUE).unwrap_or(0.0);
        let mut holdings: Vec<rebalance::Holding> = book
            .holdings
            .iter()
            .map(|h| rebalance::Holding {
                symbol: h.symbol.clone(),
                quantity: h.position.quantity,
                price: h.price.unwrap_or(f64::NAN),
                fx_to_base: h.fx_to_base.unwrap_or(f64::NAN),
                multiplier: h.multiplier(),
            })
            .collect();
        for t in targets.iter().filter(|t| t.symbol != "CASH") {
            if book.find(&t.symbol).is_none()
                && let Some(q) = view.snap.quotes.get(&t.symbol)
            {
                holdings.push(rebalance::Holding {
                    symbol: t.symbol.clone(),
                    quantity: 0.0,
                    price: q.price().unwrap_or(f64::NAN),
                    fx_to_base: book.rate(&q.currency).unwrap_or(f64::NAN),
                    multiplier: 1.0,
                });
            }
        }
        let plan = rebalance::plan(&holdings, cash, basis, &targets);
        let rows = plan_rows(&plan, &holdings, &book, &view.snap);
        let total = |a: &str| -> f64 {
            f::round(
                rows.iter()
                    .filter(|r| r.action == a)
                    .map(|r| r.amount)
                    .sum(),
                2,
            )
        };
        let mut out = RebalanceOut {
            method: method_words(&base),
            warnings: Vec::new(),
            meta: view.meta(),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            basis: f::round(basis, 2),
            cash: f::round(cash, 2),
            cash_current_pct: f::round(cash / basis * 100.0, 4),
            cash_target_pct: f::round(plan.cash_target_weight * 100.0, 4),
            cash_after_pct: f::round(plan.cash_after_weight * 100.0, 4),
            total_buys: total("BUY"),
            total_sells: total("SELL"),
            rows,
            fx_rates: book.fx.clone(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &RebalanceOut) -> String {
    let base = out.base_currency.as_str();
    let mut md = out.meta.header("Rebalance Plan");
    let _ = writeln!(
        md,
        "Account: {}\n**Basis (NLV)**: {}\n",
        out.account,
        f::money(Some(out.basis), base)
    );
    let mut shown: Vec<&RebalanceRow> = out.rows.iter().collect();
    // Trades first (largest amount), then the holds.
    shown.sort_by(|a, b| b.amount.total_cmp(&a.amount).then(a.symbol.cmp(&b.symbol)));
    let table: Vec<Vec<String>> = shown
        .iter()
        .take(TABLE_ROWS * 2)
        .map(|r| {
            vec![
                r.symbol.clone(),
                f::pct_plain(r.current_weight_pct, 1),
                f::pct_plain(Some(r.target_weight_pct), 1),
                r.action.clone(),
                f::volume(Some(r.shares)),
                f::money(Some(r.amount), base),
                f::money(r.price, &r.currency),
            ]
        })
        .collect();
    md.push_str(&f::table(
        &[
            "Symbol", "Current", "Target", "Action", "Shares", "Amount", "Price",
        ],
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        &table,
    ));
    if shown.len() > TABLE_ROWS * 2 {
        let _ = writeln!(
            md,
            "\n_{} of {} rows shown (largest trades first); all are in the JSON answer._",
            TABLE_ROWS * 2,
            shown.len()
        );
    }
    let _ = writeln!(
        md,
        "\n**Cash**: {} now ({}), target {}, after trades {}",
        f::money(Some(out.cash), base),
        f::pct_plain(Some(out.cash_current_pct), 1),
        f::pct_plain(Some(out.cash_target_pct), 1),
        f::pct_plain(Some(out.cash_after_pct), 1)
    );
    let _ = writeln!(
        md,
        "**Buys**: {} · **Sells**: {}",
        f::money(Some(out.total_buys), base),
        f::money(Some(out.total_sells), base)
    );
    for r in out.rows.iter().filter(|r| r.note.is_some()) {
        let _ = writeln!(
            md,
            "\n- {}: {}",
            r.symbol,
            r.note.as_deref().unwrap_or_default()
        );
    }
    md.push_str(&f::method_line(&out.method));
    md.push_str(&fx_lines(&out.fx_rates, &[]));
    md
}

/// How the plan is built, in the base currency `base`.
fn method_words(base: &str) -> String {
    format!(
        "weights are shares of NLV in {base}; held symbols not in the targets go to 0%; share counts round toward zero; prices are current marks, so fills will differ. A plan only — nothing is ordered"
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &RebalanceOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    let trades = out.rows.iter().filter(|r| r.shares != 0.0).count();
    f::headline(&[
        format!("{trades} trade(s)"),
        format!("buys {} {ccy}", f::number(Some(out.total_buys), 2)),
        format!("sells {} {ccy}", f::number(Some(out.total_sells), 2)),
        format!("cash after {}", f::pct_plain(Some(out.cash_after_pct), 1)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::support;

    #[test]
    fn render_rebalance_planner() {
        let row = |symbol: &str,
                   cur: Option<f64>,
                   tgt: f64,
                   action: &str,
                   shares: f64,
                   amount: f64,
                   price: Option<f64>,
                   note: Option<&str>| RebalanceRow {
            symbol: symbol.into(),
            current_weight_pct: cur,
            target_weight_pct: tgt,
            current_value: cur.unwrap_or(0.0) * 1_206.75,
            target_value: tgt * 1_206.75,
            action: action.into(),
            shares,
            amount,
            price,
            currency: "USD".into(),
            note: note.map(str::to_string),
        };
        let out = RebalanceOut {
            method: method_words("USD"),
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            basis: 120_675.0,
            rows: vec![
                row(
                    "KRYX",
                    Some(53.88),
                    30.0,
                    "SELL",
                    531.0,
                    28_769.58,
                    Some(54.18),
                    None,
                ),
                row(
                    "VLTX",
                    Some(26.6),
                    40.0,
                    "BUY",
                    755.0,
                    16_157.0,
                    Some(21.4),
                    None,
                ),
                row(
                    "OMRA",
                    Some(0.0),
                    0.0,
                    "HOLD",
                    0.0,
                    0.0,
                    None,
                    Some("no usable price or HKD→USD rate"),
                ),
            ],
            cash: -91_041.0,
            cash_current_pct: -75.4431,
            cash_target_pct: 30.0,
            cash_after_pct: -64.3,
            total_buys: 16_157.0,
            total_sells: 28_769.58,
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
        };
        insta::assert_snapshot!("render_rebalance_planner", render(&out));
        insta::assert_snapshot!("headline_rebalance_planner", [headline(&out)].join("\n"));
    }
}
