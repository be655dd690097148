//! `ibkr_currency`: exposure by currency (positions plus cash) converted to base with live FX,
//! and what a 1% move of each currency against base does.

use super::AccountParams;
use crate::tools::format::fx_lines;
use crate::tools::format::{self as f, Align};
use crate::tools::risk_data;
use crate::tools::support::{FxUsed, Meta};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrencyRow {
    pub currency: String,
    /// Signed position value in this currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub positions: f64,
    /// Cash balance in this currency (negative = loan).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub cash: f64,
    /// positions + cash, in this currency.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net: f64,
    /// Units of base per unit of this currency (1 for base); null without a rate.
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub rate_to_base: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_base: Option<f64>,
    /// Percent of NLV.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub share_pct: Option<f64>,
    /// Base-currency P&L if this currency strengthens 1% against base (0 for base).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub one_pct_move: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CurrencyOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    pub currencies: Vec<CurrencyRow>,
    /// Σ net in base.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub total_base: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub net_liquidation: Option<f64>,
    /// Base P&L if every foreign currency strengthens 1% together.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub all_foreign_one_pct: Option<f64>,
    pub fx_rates: Vec<FxUsed>,
    pub unconverted: Vec<String>,
    /// How the figures are computed (also the markdown's method note).
    pub method: String,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct Currency;

impl Tool for Currency {
    const NAME: &'static str = "ibkr_currency";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Intelligence;
    const DESCRIPTION: &'static str = "Exposure by currency (positions plus cash), converted to base with live FX, and what a 1% move in each pair does.";
    type Params = AccountParams;
    type Output = CurrencyOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: AccountParams) -> Result<Answer<CurrencyOut>, ToolError> {
        let view = ctx.live()?;
        let book = risk_data::book(ctx, &view.snap, p.account.as_deref()).await?;
        let base = book.base.clone();
        let mut acc: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for h in &book.holdings {
            if let Some(v) = h.market_value {
                acc.entry(h.currency.clone()).or_default().0 += v;
            }
        }
        for (ccy, cash) in &book.account.cash_by_currency {
            acc.entry(ccy.clone()).or_default().1 += cash;
        }
        let nlv = book.nlv();
        let mut rows: Vec<CurrencyRow> = acc
            .into_iter()
            .map(|(ccy, (pos, cash))| {
                let rate = book.rate(&ccy);
                let net = pos + cash;
                let net_base = rate.map(|r| net * r);
                CurrencyRow {
                    share_pct: net_base
                        .zip(nlv.filter(|n| *n != 0.0))
                        .map(|(v, n)| f::round(v / n * 100.0, 4)),
                    one_pct_move: if ccy == base {
                        Some(0.0)
                    } else {
                        net_base.map(|v| f::round(v * 0.01, 2))
                    },
                    currency: ccy,
                    positions: f::round(pos, 2),
                    cash: f::round(cash, 2),
                    net: f::round(net, 2),
                    rate_to_base: rate,
                    net_base: net_base.map(|v| f::round(v, 2)),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            let key = |r: &CurrencyRow| r.net_base.map_or(f64::NEG_INFINITY, f64::abs);
            key(b).total_cmp(&key(a)).then(a.currency.cmp(&b.currency))
        });
        let total_base: Option<f64> = rows
            .iter()
            .filter(|r| r.net_base.is_some())
            .map(|r| r.net_base)
            .sum::<Option<f64>>()
            .map(|t| f::round(t, 2));
        let all_foreign: f64 = rows
            .iter()
            .filter(|r| r.currency != base)
            .filter_map(|r| r.one_pct_move)
            .sum();
        let mut out = CurrencyOut {
            method: method_words(&base),
            warnings: Vec::new(),
            meta: view.meta(),
            account: book.account_label.clone(),
            base_currency: base.clone(),
            all_foreign_one_pct: Some(f::round(all_foreign, 2)),
            currencies: rows,
            total_base,
            net_liquidation: nlv,
            fx_rates: book.fx.clone(),
            unconverted: book.unconverted.clone(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &CurrencyOut) -> String {
    let base = out.base_currency.as_str();
    let mut md = out.meta.header("Currency Exposure");
    let _ = writeln!(md, "Account: {} (base {base})\n", out.account);
    let table: Vec<Vec<String>> = out
        .currencies
        .iter()
        .map(|r| {
            vec![
                r.currency.clone(),
                f::money(Some(r.positions), &r.currency),
                f::money(Some(r.cash), &r.currency),
                f::money(Some(r.net), &r.currency),
                match r.rate_to_base {
                    Some(x) if r.currency != base => format!("{x:.4}"),
                    Some(_) => "1 (base)".into(),
                    None => f::NA.into(),
                },
                f::money(r.net_base, base),
                f::pct_plain(r.share_pct, 1),
                if r.currency == base {
                    "—".into()
                } else {
                    f::signed_money(r.one_pct_move, base)
                },
            ]
        })
        .collect();
    md.push_str(&f::table(
        &[
            "Currency",
            "Positions",
            "Cash",
            "Net",
            &format!("Rate → {base}"),
            &format!("Net ({base})"),
            "Share of NLV",
            &format!("+1% vs {base}"),
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
    ));
    let _ = writeln!(
        md,
        "\n**Total (converted)**: {}",
        f::money(out.total_base, base)
    );
    let _ = writeln!(md, "**NLV**: {}", f::money(out.net_liquidation, base));
    let _ = writeln!(
        md,
        "**All foreign currencies +1% vs {base}**: {}",
        f::signed_money(out.all_foreign_one_pct, base)
    );
    md.push_str(&f::method_line(&out.method));
    md.push_str(&fx_lines(&out.fx_rates, &out.unconverted));
    md
}

/// How the exposure is measured, in the base currency `base`.
fn method_words(base: &str) -> String {
    format!(
        "positions at market value plus cash balances per currency, converted at the live rates below; a 1% move of a currency against {base} changes its net exposure's {base} value by 1% (a −1% move is the mirror image)"
    )
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &CurrencyOut) -> String {
    use crate::tools::format as f;
    let foreign: Vec<String> = out
        .currencies
        .iter()
        .filter(|c| c.currency != out.base_currency)
        .map(|c| format!("{} {}", c.currency, f::pct_plain(c.share_pct, 1)))
        .collect();
    f::headline(&[
        format!("{} currencies", out.currencies.len()),
        foreign.join(", "),
        format!(
            "1% move of all foreign {} {}",
            f::number(out.all_foreign_one_pct, 2),
            out.base_currency
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::support;

    #[test]
    fn render_currency() {
        let row = |ccy: &str, pos: f64, cash: f64, rate: Option<f64>, nlv: f64| {
            let net = pos + cash;
            let net_base = rate.map(|r| net * r);
            CurrencyRow {
                currency: ccy.into(),
                positions: pos,
                cash,
                net,
                rate_to_base: rate,
                net_base,
                share_pct: net_base.map(|v| f::round(v / nlv * 100.0, 4)),
                one_pct_move: if ccy == "USD" {
                    Some(0.0)
                } else {
                    net_base.map(|v| f::round(v * 0.01, 2))
                },
            }
        };
        let out = CurrencyOut {
            method: method_words("USD"),
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            base_currency: "USD".into(),
            currencies: vec![
                row("USD", 197_116.0, -91_041.0, Some(1.0), 120_675.0),
                row("CAD", 19_929.0, 0.0, Some(0.7326), 120_675.0),
                row("HKD", 12_000.0, 500.0, None, 120_675.0),
            ],
            total_base: Some(120_675.0),
            net_liquidation: Some(120_675.0),
            all_foreign_one_pct: Some(146.0),
            fx_rates: vec![FxUsed {
                pair: "CAD.USD".into(),
                rate: 0.7326,
            }],
            unconverted: vec!["HKD".into()],
        };
        insta::assert_snapshot!("render_currency", render(&out));
        insta::assert_snapshot!("headline_currency", [headline(&out)].join("\n"));
    }
}
