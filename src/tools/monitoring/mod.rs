//! Monitoring tools: `ibkr_drawdown_tracker` (drawdown from the NLV high-water mark),
//! `ibkr_connection_status` (each gateway's health and its recent events), `ibkr_selftest`
//! (the whole path checked, with `checks` shared with `doctor`) and `ibkr_alerts` (rules,
//! firing now, history).

pub mod alerts;
pub mod checks;
pub mod connection_status;
pub mod drawdown_tracker;
pub mod selftest;
