//! ibkr-cockpit: a terminal cockpit for an Interactive Brokers portfolio with a read-only MCP
//! server built in. See `docs/` and design notes in the README.
//!
//! Dependency direction: front doors (`tui`, `mcp`, CLI) → `tools` → `store`, `analytics`,
//! `gateway` → `model`. `analytics` is pure. `gateway` never imports `sim`.

pub mod alerts;
pub mod analytics;
pub mod app;
pub mod calendar;
pub mod config;
pub mod gateway;
pub mod mcp;
pub mod model;
pub mod sim;
pub mod store;
pub mod tools;
pub mod tui;
