//! Monitoring tools: `ibkr_drawdown_tracker` (drawdown from the NLV high-water mark) and
//! `ibkr_connection_status` (each gateway's health and its recent events).

pub mod connection_status;
pub mod drawdown_tracker;
