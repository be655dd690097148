//! Orders tools — read-only views, never an order: `ibkr_get_orders` (open orders from every
//! client) and `ibkr_trades` (fills, the fills journal, realized P&L, completed orders).
//! `order_rows` is the order row and table they share with the briefing.

pub mod get_orders;
pub mod order_rows;
pub mod trades;
