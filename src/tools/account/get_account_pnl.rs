//! `ibkr_get_account_pnl`: daily, unrealized and realized P&L of an account (IB's PnL
//! subscription), optionally per position.

use crate::model::ToolGroup;
use crate::tools::format::{self as f, Align};
use crate::tools::support::{Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

pub struct AccountPnl;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PnlParams {
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
    /// Also list P&L per position (default false).
    #[serde(default)]
    pub by_position: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PositionPnl {
    pub symbol: String,
    /// Currency of the position's figures.
    pub currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub realized: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PnlOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub base_currency: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily: Option<f64>,
    /// Daily P&L as a percent of NLV.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub daily_pct_of_nlv: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub unrealized: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub realized: Option<f64>,
    /// Present when `by_position` is true.
    pub positions: Option<Vec<PositionPnl>>,
    /// Whether the PnL subscription has reported (figures are N/A, not zero, until it has).
    #[serde(skip)]
    pub pnl_reported: bool,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

impl Tool for AccountPnl {
    const NAME: &'static str = "ibkr_get_account_pnl";
    const GROUP: ToolGroup = ToolGroup::Account;
    const DESCRIPTION: &'static str = "Daily, unrealized and realized P&L of an account (PnL subscription), optionally per position.";
    type Params = PnlParams;
    type Output = PnlOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: PnlParams) -> Result<Answer<PnlOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let pnl = acct.pnl.unwrap_or_default();
        let nlv = acct.net_liquidation();
        let daily_pct = match (pnl.daily, nlv) {
            (Some(d), Some(n)) if n != 0.0 => Some(f::round(d / n * 100.0, 4)),
            _ => None,
        };
        let positions = p.by_position.then(|| {
            view.snap
                .positions_of(&acct.account)
                .map(|pos| PositionPnl {
                    symbol: pos.instrument.symbol.clone(),
                    currency: pos.instrument.currency.clone(),
                    daily: f::json_num(pos.daily_pnl),
                    unrealized: f::json_num(pos.unrealized_pnl),
                    realized: f::json_num(pos.realized_pnl),
                })
                .collect::<Vec<_>>()
        });
        let mut out = PnlOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            base_currency: acct.base_currency.clone(),
            daily: f::json_num(pnl.daily),
            daily_pct_of_nlv: daily_pct,
            unrealized: f::json_num(pnl.unrealized),
            realized: f::json_num(pnl.realized),
            positions,
            pnl_reported: acct.pnl.is_some(),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: the account's P&L lines, then the per-position table when asked for.
pub fn render(out: &PnlOut) -> String {
    let ccy = out.base_currency.as_str();
    let mut md = out.meta.header(&format!("P&L: {}", out.account));
    md.push('\n');
    let _ = writeln!(
        md,
        "**Daily**: {} ({} of NLV)",
        f::signed_money(out.daily, ccy),
        f::pct(out.daily_pct_of_nlv)
    );
    let _ = writeln!(
        md,
        "**Unrealized**: {}",
        f::signed_money(out.unrealized, ccy)
    );
    let _ = writeln!(md, "**Realized**: {}", f::signed_money(out.realized, ccy));
    if !out.pnl_reported {
        md.push_str("\n_The PnL subscription has not reported yet: figures are N/A, not zero._\n");
    }
    if let Some(rows) = &out.positions {
        md.push_str("\n## By Position\n");
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.symbol.clone(),
                    f::signed_money(r.daily, &r.currency),
                    f::signed_money(r.unrealized, &r.currency),
                    f::signed_money(r.realized, &r.currency),
                ]
            })
            .collect();
        md.push_str(&f::table(
            &["Symbol", "Daily P&L", "Unrealized P&L", "Realized P&L"],
            &[Align::Left, Align::Right, Align::Right, Align::Right],
            &table,
        ));
    }
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &PnlOut) -> String {
    use crate::tools::format as f;
    let ccy = &out.base_currency;
    f::headline(&[
        format!(
            "day {} {ccy} ({})",
            f::signed(out.daily, 2),
            f::pct(out.daily_pct_of_nlv)
        ),
        format!("unrealized {} {ccy}", f::signed(out.unrealized, 2)),
        format!("realized {} {ccy}", f::signed(out.realized, 2)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(positions: Option<Vec<PositionPnl>>, pnl_reported: bool) -> PnlOut {
        PnlOut {
            warnings: Vec::new(),
            meta: Meta::fresh("2026-05-03 17:17:44 UTC"),
            account: "U****4321".into(),
            base_currency: "CAD".into(),
            daily: pnl_reported.then_some(312.48),
            daily_pct_of_nlv: pnl_reported.then_some(1.2693),
            unrealized: pnl_reported.then_some(0.0),
            realized: None,
            positions,
            pnl_reported,
        }
    }

    #[test]
    fn renders_pnl_by_position() {
        let rows = vec![
            PositionPnl {
                symbol: "KRYX".into(),
                currency: "USD".into(),
                daily: Some(-952.0),
                unrealized: Some(1_421.2),
                realized: Some(0.0),
            },
            PositionPnl {
                symbol: "VLTX".into(),
                currency: "USD".into(),
                daily: None,
                unrealized: Some(-488.48),
                realized: None,
            },
        ];
        let answer = out(Some(rows), true);
        insta::assert_snapshot!("render_get_account_pnl", render(&answer));
        insta::assert_snapshot!("headline_get_account_pnl", headline(&answer));
    }

    #[test]
    fn before_the_subscription_reports_figures_are_not_zero() {
        let md = render(&out(None, false));
        assert!(md.contains("**Daily**: N/A (N/A of NLV)"), "{md}");
        assert!(md.ends_with("figures are N/A, not zero._\n"), "{md}");
    }
}
