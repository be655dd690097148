//! `ibkr_what_if`: the margin effect of a hypothetical order, from IB's own margin engine via a
//! what-if order (`whatIf = true`: IB computes margin and never works the order). This is the
//! only order-shaped request the program sends.

use crate::gateway::{GatewayError, WhatIfOrder};
use crate::model::{OrderType, Side, tags};
use crate::store::LiveState;
use crate::tools::format as f;
use crate::tools::support::{self, Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfParams {
    /// Stock symbol, e.g. KRYX.
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub action: Side,
    /// Shares (positive).
    pub quantity: f64,
    /// `MKT` (default) or `LMT`.
    #[serde(default)]
    pub order_type: OrderType,
    /// Limit price (required for `LMT`, not accepted for `MKT`).
    pub limit_price: Option<f64>,
    /// Account id (or masked form). Default: the primary account.
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MarginState {
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin: Option<f64>,
    /// Equity − maintenance requirement.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub excess_liquidity: Option<f64>,
    /// Equity − initial requirement.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub available_funds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WhatIfOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub symbol: String,
    pub action: Side,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    pub order_type: OrderType,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub limit_price: Option<f64>,
    /// Currency of the margin figures (the account's base currency).
    pub currency: String,
    pub current: MarginState,
    pub post_trade: MarginState,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub init_margin_change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub maint_margin_change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub equity_change: Option<f64>,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub commission: Option<f64>,
    pub commission_currency: String,
    /// Price × quantity in the instrument's currency, from the live quote (or the limit).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub estimated_notional: Option<f64>,
    pub notional_currency: String,
    /// IB's warning text, if any.
    pub warning: Option<String>,
    /// The post-trade equity would be below the initial requirement.
    pub would_restrict_buying_power: bool,
    /// The post-trade equity would be below the maintenance requirement.
    pub would_breach_maintenance: bool,
    /// Always true: a what-if order, never a real one.
    pub what_if_only: bool,
    /// The symbol's live quote is delayed (footnote).
    #[serde(skip)]
    pub quote_delayed: bool,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

fn state(equity: Option<f64>, init: Option<f64>, maint: Option<f64>) -> MarginState {
    let r = |v: Option<f64>| f::json_num(v).map(|x| f::round(x, 2));
    MarginState {
        equity: r(equity),
        init_margin: r(init),
        maint_margin: r(maint),
        excess_liquidity: r(equity.zip(maint).map(|(e, m)| e - m)),
        available_funds: r(equity.zip(init).map(|(e, i)| e - i)),
    }
}

pub struct WhatIf;

/// The price the order would trade at (the limit, else the quote's side, else the position's
/// mark) and its currency.
fn order_price(
    snap: &LiveState,
    account: &str,
    symbol: &str,
    action: Side,
    limit_price: Option<f64>,
) -> (Option<f64>, String) {
    let quote = snap.quotes.get(symbol);
    let quote_px = quote.and_then(|q| match action {
        Side::Buy => q.ask.or(q.price()),
        Side::Sell => q.bid.or(q.price()),
    });
    let held = snap
        .positions_of(account)
        .find(|pos| pos.instrument.symbol == symbol);
    let px = limit_price
        .or(quote_px)
        .or_else(|| held.and_then(|h| h.market_price));
    let currency = held.map_or_else(
        || quote.map_or("USD".to_string(), |q| q.currency.clone()),
        |h| h.instrument.currency.clone(),
    );
    (px, currency)
}

/// Checks the quantity and the limit price against the order type; returns the limit price.
fn checked_order(tool: &str, p: &WhatIfParams) -> Result<Option<f64>, ToolError> {
    if !(p.quantity.is_finite() && p.quantity > 0.0) {
        return Err(ToolError::new(format!(
            "{tool}: `quantity` must be a positive number of shares; got {}. Use `action` SELL to reduce a position.",
            p.quantity
        )));
    }
    match (p.order_type, p.limit_price) {
        (OrderType::Lmt, None) => Err(ToolError::new(format!(
            "{tool}: a LMT order needs `limit_price` (a positive price); or use `order_type` MKT."
        ))),
        (OrderType::Lmt, Some(px)) if !(px.is_finite() && px > 0.0) => Err(ToolError::new(
            format!("{tool}: `limit_price` must be a positive price; got {px}."),
        )),
        (OrderType::Mkt, Some(_)) => Err(ToolError::new(format!(
            "{tool}: `limit_price` only applies to `order_type` LMT; drop it or set `order_type` to LMT."
        ))),
        (_, px) => Ok(px),
    }
}

impl Tool for WhatIf {
    const NAME: &'static str = "ibkr_what_if";
    const GROUP: crate::model::ToolGroup = crate::model::ToolGroup::Risk;
    const DESCRIPTION: &'static str = "Margin impact of a hypothetical order (current state, post-trade estimate, change) from IB's what-if engine; never places an order.";
    type Params = WhatIfParams;
    type Output = WhatIfOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: WhatIfParams) -> Result<Answer<WhatIfOut>, ToolError> {
        let tool = Self::NAME;
        let symbol = support::symbol(tool, &p.symbol)?;
        let limit_price = checked_order(tool, &p)?;
        let view = ctx.live()?;
        let snap = &view.snap;
        let acct = resolve_account(ctx, snap, p.account.as_deref())?;
        let base = acct.base_currency.clone();
        let req = ctx.requests()?;
        let order = WhatIfOrder {
            account: acct.account.clone(),
            symbol: symbol.clone(),
            action: p.action,
            quantity: p.quantity,
            order_type: p.order_type,
            limit_price,
        };
        let w = match req.what_if(&order).await {
            Ok(w) => w,
            Err(e @ (GatewayError::NotFound(_) | GatewayError::Rejected { code: 200, .. })) => {
                return Err(ToolError::new(format!(
                    "{tool}: `{symbol}` does not resolve to a contract IB knows ({e}). Try ibkr_search_contracts to find the right symbol."
                )));
            }
            Err(e) => {
                return Err(support::gateway_error(
                    tool,
                    &format!("a what-if for {} {} {symbol}", p.action.ib(), p.quantity),
                    &e,
                ));
            }
        };
        let elv = acct
            .get(tags::EQUITY_WITH_LOAN)
            .or_else(|| acct.get(tags::NET_LIQUIDATION));
        // IB's own before/after figures keep the three sections consistent; the account's live
        // values fill in whatever the what-if leaves out.
        let eq0 = w.equity_with_loan_before.or(elv);
        let init0 = w.init_margin_before.or(acct.get(tags::INIT_MARGIN_REQ));
        let maint0 = w.maint_margin_before.or(acct.get(tags::MAINT_MARGIN_REQ));
        let after = |a: Option<f64>, before: Option<f64>, change: Option<f64>| {
            a.or_else(|| Some(before? + change?))
        };
        let eq1 = after(w.equity_with_loan_after, eq0, w.equity_with_loan_change);
        let init1 = after(w.init_margin_after, init0, w.init_margin_change);
        let maint1 = after(w.maint_margin_after, maint0, w.maint_margin_change);
        let change = |c: Option<f64>, a: Option<f64>, b: Option<f64>| {
            f::json_num(c.or_else(|| Some(a? - b?))).map(|x| f::round(x, 2))
        };
        let (px, notional_ccy) = order_price(snap, &acct.account, &symbol, p.action, limit_price);
        let currency = if w.margin_currency.is_empty() {
            base.clone()
        } else {
            w.margin_currency.clone()
        };
        let post = state(eq1, init1, maint1);
        let mut out = WhatIfOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            symbol: symbol.clone(),
            action: p.action,
            quantity: p.quantity,
            order_type: p.order_type,
            limit_price,
            currency: currency.clone(),
            current: state(eq0, init0, maint0),
            would_restrict_buying_power: post.available_funds.is_some_and(|a| a < 0.0),
            would_breach_maintenance: post.excess_liquidity.is_some_and(|e| e < 0.0),
            post_trade: post,
            init_margin_change: change(w.init_margin_change, init1, init0),
            maint_margin_change: change(w.maint_margin_change, maint1, maint0),
            equity_change: change(w.equity_with_loan_change, eq1, eq0),
            commission: f::json_num(w.commission),
            commission_currency: w.commission_currency.clone(),
            estimated_notional: px.map(|x| f::round(x * p.quantity, 2)),
            notional_currency: notional_ccy,
            warning: Some(w.warning.trim().to_string()).filter(|s| !s.is_empty()),
            what_if_only: true,
            quote_delayed: snap
                .quotes
                .get(&symbol)
                .is_some_and(|q| q.mode.is_delayed()),
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

pub fn render(out: &WhatIfOut) -> String {
    let currency = out.currency.as_str();
    let money = |v: Option<f64>| f::money(v, currency);
    let mut md = out.meta.header(&format!(
        "What-If: {} {} {}{}",
        out.action.ib(),
        f::volume(Some(out.quantity)),
        out.symbol,
        out.limit_price
            .map_or(String::new(), |l| format!(" LMT {}", f::number(Some(l), 2)))
    ));
    let _ = writeln!(md, "Account: {}", out.account);
    for (title, s) in [
        ("Current State", &out.current),
        ("Post-Trade Estimate", &out.post_trade),
    ] {
        let _ = writeln!(md, "\n## {title}");
        let _ = writeln!(md, "**Equity**: {}", money(s.equity));
        let _ = writeln!(md, "**Initial Margin**: {}", money(s.init_margin));
        let _ = writeln!(md, "**Maint Margin**: {}", money(s.maint_margin));
        let _ = writeln!(md, "**Available Funds**: {}", money(s.available_funds));
        let _ = writeln!(md, "**Excess Liquidity**: {}", money(s.excess_liquidity));
    }
    md.push_str("\n## Margin Impact\n");
    let _ = writeln!(
        md,
        "**Init Margin Additional**: {}",
        f::signed_money(out.init_margin_change, currency)
    );
    let _ = writeln!(
        md,
        "**Maint Margin Additional**: {}",
        f::signed_money(out.maint_margin_change, currency)
    );
    let _ = writeln!(
        md,
        "**Equity Change**: {}",
        f::signed_money(out.equity_change, currency)
    );
    let _ = writeln!(
        md,
        "**Estimated Notional**: {}",
        f::money(out.estimated_notional, &out.notional_currency)
    );
    let _ = writeln!(
        md,
        "**Commission (est.)**: {}",
        f::money(out.commission, &out.commission_currency)
    );
    if out.would_breach_maintenance {
        let _ = writeln!(
            md,
            "\n🚨 After this trade equity would be below the maintenance requirement: expect a margin call / liquidation."
        );
    } else if out.would_restrict_buying_power {
        let _ = writeln!(
            md,
            "\n⚠️ After this trade equity would be below the initial requirement: IB would reject the order for insufficient margin."
        );
    }
    if let Some(wn) = &out.warning {
        let _ = writeln!(md, "\n**IB warning**: {wn}");
    }
    let delayed: Vec<String> = if out.quote_delayed {
        vec![out.symbol.clone()]
    } else {
        vec![]
    };
    if let Some(note) = f::delayed_note(&delayed) {
        md.push('\n');
        md.push_str(&note);
    }
    md.push_str("\n_From IB's what-if margin engine (whatIf = true): no order was placed._\n");
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &WhatIfOut) -> String {
    use crate::tools::format as f;
    let verdict = if out.would_breach_maintenance {
        "would breach maintenance"
    } else if out.would_restrict_buying_power {
        "would restrict buying power"
    } else {
        ""
    };
    f::headline(&[
        format!(
            "{} {} {}",
            out.action.ib(),
            f::volume(Some(out.quantity)),
            out.symbol
        ),
        format!(
            "initial margin {} {}",
            f::signed(out.init_margin_change, 2),
            out.currency
        ),
        format!(
            "excess liquidity after {} {}",
            f::number(out.post_trade.excess_liquidity, 2),
            out.currency
        ),
        verdict.to_string(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_what_if() {
        let buy = WhatIfOut {
            warnings: Vec::new(),
            meta: support::meta(1_777_828_664_000, None),
            account: "DU****4321".into(),
            symbol: "KRYX".into(),
            action: Side::Buy,
            quantity: 100.0,
            order_type: OrderType::Mkt,
            limit_price: None,
            currency: "USD".into(),
            current: state(Some(120_675.0), Some(63_514.8), Some(52_929.0)),
            post_trade: state(Some(120_673.0), Some(65_140.3), Some(54_283.6)),
            init_margin_change: Some(1_625.5),
            maint_margin_change: Some(1_354.6),
            equity_change: Some(-2.0),
            commission: Some(1.0),
            commission_currency: "USD".into(),
            estimated_notional: Some(5_422.0),
            notional_currency: "USD".into(),
            warning: None,
            would_restrict_buying_power: false,
            would_breach_maintenance: false,
            what_if_only: true,
            quote_delayed: true,
        };
        let limit_sell = WhatIfOut {
            action: Side::Sell,
            quantity: 5_000.0,
            order_type: OrderType::Lmt,
            limit_price: Some(21.5),
            post_trade: state(Some(20_100.0), Some(66_000.0), Some(55_000.0)),
            would_restrict_buying_power: true,
            would_breach_maintenance: true,
            warning: Some("Order size exceeds the position; the excess opens a short.".into()),
            quote_delayed: false,
            ..buy.clone()
        };
        insta::assert_snapshot!(
            "render_what_if",
            format!("{}\n---\n\n{}", render(&buy), render(&limit_sell))
        );
        insta::assert_snapshot!(
            "headline_what_if",
            [headline(&buy), headline(&limit_sell)].join("\n")
        );
    }
}
