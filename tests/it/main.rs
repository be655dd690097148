//! The integration tests, in one binary: compiling and linking one test crate instead of one
//! per file is most of a clean `cargo test`'s time. Each module is one area; shared harnesses
//! live in `support`.
// A harness that fails loudly is what a benchmark or test wants; the no-panic rule is for
// the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod reference;
mod support;

// Test areas.
mod alerts;
mod analytics_by_hand;
mod analytics_reference;
mod cli_docs;
mod cockpit_outage;
mod config;
mod daemon_attach;
mod daemon_bridge;
mod gateway_persistence;
mod gateway_pnl_rotation;
mod gateway_quotes;
mod gateway_reconnect;
mod gateway_requests;
mod gateway_stall;
mod gateway_symbol_stall;
mod gateway_sync;
mod gateway_warm;
mod mcp_binary;
mod mcp_cli;
mod mcp_context;
mod mcp_demo;
mod mcp_http;
mod mcp_inprocess;
mod mcp_protocol;
mod mcp_surface;
mod mcp_toolsets;
mod negative_cache;
mod reliability_corruption;
mod reliability_journal;
mod reliability_private;
mod reliability_slowloris;
mod reliability_worlds;
mod research;
mod security_http;
mod security_slow;
mod security_socket;
mod sim_answers;
mod sim_calendar;
mod sim_connect;
mod sim_faults;
mod sim_fidelity;
mod sim_handshake;
mod sim_market;
mod sim_pacing;
mod sim_readonly;
mod sim_requests;
mod sim_scale;
mod store_db;
mod technicals;
mod tools_account;
mod tools_briefing;
mod tools_intelligence;
mod tools_live;
mod tools_margin_alerts;
mod tools_market;
mod tools_monitoring_orders;
mod tools_risk;
mod tools_stale;
mod tools_windows;
mod tui_book_cache;
mod tui_demo_tape;
mod tui_e2e_tmux;
mod tui_keys;
mod tui_snapshots;
mod var;
mod windows;
mod zero_not_null;
