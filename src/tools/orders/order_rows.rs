//! The order row both orders tools and the briefing's "Open Orders" section show, and the
//! open-orders table.

use crate::gateway::cleaning;
use crate::model::OrderView;
use crate::tools::ToolContext;
use crate::tools::format::{self as f, Align};
use schemars::JsonSchema;
use serde::Serialize;

/// Shown where IB left a price unset (its `f64::MAX` sentinel, or no price for the order type).
pub const UNSET: &str = "—";

/// A price IB actually set: finite, positive and not one of its "unset" encodings.
fn set_price(v: Option<f64>) -> Option<f64> {
    v.and_then(cleaning::price)
}

pub fn price_cell(v: Option<f64>, ccy: &str) -> String {
    match set_price(v) {
        Some(p) => f::money(Some(p), ccy),
        None => UNSET.to_string(),
    }
}

/// One order, as the answers show it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct OrderRow {
    pub order_id: i32,
    pub perm_id: i64,
    /// API client that placed it (0 = TWS / the primary client).
    pub client_id: i32,
    /// Masked unless `display.mask_accounts` is false; empty when IB did not say.
    pub account: String,
    pub symbol: String,
    pub sec_type: String,
    pub currency: String,
    /// BUY / SELL
    pub side: String,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub quantity: f64,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub filled: f64,
    #[serde(serialize_with = "crate::tools::format::dp4")]
    pub remaining: f64,
    pub order_type: String,
    /// `null` when unset (IB's unset-price sentinel, or none for this order type).
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub limit_price: Option<f64>,
    /// `null` when unset.
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub stop_price: Option<f64>,
    pub tif: String,
    pub status: String,
    #[serde(serialize_with = "crate::tools::format::dp2")]
    pub avg_fill_price: Option<f64>,
    /// Completed orders only: when IB says it completed.
    pub completed_time: Option<String>,
}

impl OrderRow {
    pub fn from_view(ctx: &ToolContext, o: &OrderView) -> Self {
        OrderRow {
            order_id: o.order_id,
            perm_id: o.perm_id,
            client_id: o.client_id,
            account: if o.account.is_empty() {
                String::new()
            } else {
                ctx.mask(&o.account)
            },
            symbol: o.instrument.symbol.clone(),
            sec_type: o.instrument.sec_type.clone(),
            currency: o.instrument.currency.clone(),
            side: o.action.clone(),
            quantity: o.quantity,
            filled: o.filled,
            remaining: o.remaining,
            order_type: o.order_type.clone(),
            limit_price: set_price(o.limit_price),
            stop_price: set_price(o.stop_price),
            tif: o.tif.clone(),
            status: o.status.clone(),
            avg_fill_price: set_price(o.avg_fill_price),
            completed_time: Some(o.completed_time.trim().to_string()).filter(|s| !s.is_empty()),
        }
    }

    /// `20 (0 filled)`.
    pub fn quantity_cell(&self) -> String {
        format!(
            "{} ({} filled)",
            f::volume(Some(self.quantity)),
            f::volume(Some(self.filled))
        )
    }
}

/// The open-orders table (also used by the briefing).
pub fn open_orders_table(rows: &[OrderRow]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.order_id.to_string(),
                r.client_id.to_string(),
                r.symbol.clone(),
                r.side.clone(),
                r.quantity_cell(),
                r.order_type.clone(),
                price_cell(r.limit_price, &r.currency),
                price_cell(r.stop_price, &r.currency),
                r.tif.clone(),
                r.status.clone(),
            ]
        })
        .collect();
    f::table(
        &[
            "Order", "Client", "Symbol", "Side", "Quantity", "Type", "Limit", "Stop", "TIF",
            "Status",
        ],
        &[
            Align::Right,
            Align::Right,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Left,
            Align::Left,
        ],
        &cells,
    )
}

/// Open orders of `account` from the live snapshot (orders IB sent without an account are kept:
/// they can only be ours), oldest order id first.
pub fn open_orders_of(ctx: &ToolContext, orders: &[OrderView], account: &str) -> Vec<OrderRow> {
    let mut rows: Vec<OrderRow> = orders
        .iter()
        .filter(|o| o.account.is_empty() || o.account == account)
        .map(|o| OrderRow::from_view(ctx, o))
        .collect();
    rows.sort_by_key(|r| (r.order_id, r.perm_id));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_prices_are_dashes() {
        assert_eq!(price_cell(Some(f64::MAX), "USD"), UNSET);
        assert_eq!(price_cell(None, "USD"), UNSET);
        assert_eq!(price_cell(Some(0.0), "USD"), UNSET);
        assert_eq!(price_cell(Some(31.5), "USD"), "$31.50 USD");
    }
}
