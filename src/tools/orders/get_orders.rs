//! `ibkr_get_orders`: the open orders of one account from every API client and TWS, read-only.

use super::order_rows::{OrderRow, UNSET, open_orders_of, open_orders_table};
use crate::model::ToolGroup;
use crate::tools::support::{Meta, resolve_account};
use crate::tools::{Answer, Tool, ToolContext, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOrdersParams {
    /// Account id (or its masked form as shown in answers). Default: the primary gateway's first account.
    pub account: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GetOrdersOut {
    #[serde(flatten)]
    pub meta: Meta,
    pub account: String,
    pub orders: Vec<OrderRow>,
    pub count: usize,
    /// What the markdown warns about, in its words (stale data, delayed quotes, missing FX,
    /// partial coverage, ...); empty when it warns about nothing.
    pub warnings: Vec<String>,
}

pub struct GetOrders;

impl Tool for GetOrders {
    const NAME: &'static str = "ibkr_get_orders";
    const GROUP: ToolGroup = ToolGroup::Orders;
    const DESCRIPTION: &'static str = "Open orders from all clients (read-only): symbol, side, quantity and filled, type, limit, stop, time in force, status.";
    type Params = GetOrdersParams;
    type Output = GetOrdersOut;
    fn headline(out: &Self::Output) -> String {
        headline(out)
    }

    async fn run(ctx: &ToolContext, p: GetOrdersParams) -> Result<Answer<GetOrdersOut>, ToolError> {
        let view = ctx.live()?;
        let acct = resolve_account(ctx, &view.snap, p.account.as_deref())?;
        let orders = open_orders_of(ctx, &view.snap.open_orders, &acct.account);
        let mut out = GetOrdersOut {
            warnings: Vec::new(),
            meta: view.meta(),
            account: ctx.mask(&acct.account),
            count: orders.len(),
            orders,
        };
        let markdown = render(&out);
        out.warnings = crate::tools::format::warnings_in(&markdown);
        Ok(Answer {
            markdown,
            data: out,
        })
    }
}

/// The answer's markdown: the open-orders table, or a line saying there are none.
pub fn render(out: &GetOrdersOut) -> String {
    let mut md = out.meta.header(&format!("Open Orders: {}", out.account));
    md.push('\n');
    if out.orders.is_empty() {
        md.push_str("No open orders.\n");
    } else {
        md.push_str(&open_orders_table(&out.orders));
        let _ = writeln!(
            md,
            "\n{} open order{}. {UNSET} = no price set.",
            out.count,
            if out.count == 1 { "" } else { "s" }
        );
    }
    md.push_str(
        "\n_Orders from every API client and TWS (IB's all-open-orders snapshot, refreshed every 30 s). Read-only: this server never places, modifies or cancels orders._\n",
    );
    md
}

/// One line with the answer's key figures, for the cockpit's prompt pane and the journal.
pub fn headline(out: &GetOrdersOut) -> String {
    use crate::tools::format as f;
    let first: Vec<String> = out
        .orders
        .iter()
        .take(3)
        .map(|o| {
            format!(
                "{} {} {} {}",
                o.side,
                f::volume(Some(o.quantity)),
                o.symbol,
                o.order_type
            )
        })
        .collect();
    f::headline(&[format!("{} open order(s)", out.count), first.join(", ")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::support::StaleInfo;

    fn order(order_id: i32, side: &str, order_type: &str, limit: Option<f64>) -> OrderRow {
        OrderRow {
            order_id,
            perm_id: 9_000 + i64::from(order_id),
            client_id: 0,
            account: "U****4321".into(),
            symbol: "KRYX".into(),
            sec_type: "STK".into(),
            currency: "USD".into(),
            side: side.into(),
            quantity: 100.0,
            filled: 20.0,
            remaining: 80.0,
            order_type: order_type.into(),
            limit_price: limit,
            stop_price: None,
            tif: "GTC".into(),
            status: "Submitted".into(),
            avg_fill_price: None,
            completed_time: None,
        }
    }

    #[test]
    fn renders_open_orders_and_the_stale_banner() {
        let out = GetOrdersOut {
            warnings: Vec::new(),
            meta: Meta {
                as_of: "2026-05-03 17:17:44 UTC".into(),
                stale: Some(StaleInfo {
                    age_s: 95.0,
                    reason: "gateway disconnected: connection refused".into(),
                }),
            },
            account: "U****4321".into(),
            orders: vec![
                order(11, "BUY", "LMT", Some(48.5)),
                order(12, "SELL", "MKT", None),
            ],
            count: 2,
        };
        insta::assert_snapshot!("render_get_orders", render(&out));
        insta::assert_snapshot!("headline_get_orders", [headline(&out)].join("\n"));
        let none = GetOrdersOut {
            orders: Vec::new(),
            count: 0,
            ..out
        };
        assert!(render(&none).contains("\nNo open orders.\n"));
    }
}
