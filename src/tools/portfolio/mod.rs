//! Portfolio tools: `ibkr_get_positions` (the position table with weights and totals).

pub mod get_positions;
