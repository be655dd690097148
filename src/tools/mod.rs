//! The tool surface: every tool is a plain async function `(ctx, params) -> ToolOutput`.
//! The MCP server, the `tool` CLI, the cockpit's prompt and the REST API all call `call_journaled`
//! — one tool surface, four front doors.
//!
//! OWNER: tools helper. The items in this file are the contract the front doors code against:
//! `ToolContext`, `ToolOutput`, `ToolError`, `ToolSpec`, `catalog()`, `call()`, `call_journaled()`.

use crate::config::Config;
use crate::gateway::Gateways;
use crate::store::Store;
use serde_json::Value;
use std::sync::Arc;

/// Everything a tool may read. Cheap to clone.
#[derive(Clone)]
pub struct ToolContext {
    pub store: Store,
    /// `None` when running without any gateway (answers come from cache only).
    pub gateways: Option<Gateways>,
    pub config: Arc<Config>,
}

/// A tool's answer: markdown for people and LLMs, JSON (`structuredContent`) with the same numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub markdown: String,
    pub json: Value,
}

/// A tool-level error (`isError: true`): says what was wrong and what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    pub message: String,
}

impl ToolError {
    pub fn new(message: impl Into<String>) -> Self {
        ToolError { message: message.into() }
    }
}

/// Static description of one tool, for `tools/list`, `tool --list` and completion.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    /// Group: account, briefing, portfolio, market_data, live_data, risk, intelligence,
    /// monitoring, orders.
    pub group: &'static str,
    /// One line.
    pub description: &'static str,
    /// JSON Schema (object) of the parameters, with enums and defaults.
    pub input_schema: serde_json::Map<String, Value>,
    /// JSON Schema (object) of `ToolOutput::json`.
    pub output_schema: serde_json::Map<String, Value>,
}

/// Every tool, sorted by name.
pub fn catalog() -> &'static [ToolSpec] {
    todo!("tools helper")
}

/// Runs one tool by name with JSON arguments (an object, or null for none).
pub async fn call(ctx: &ToolContext, name: &str, args: Value) -> Result<ToolOutput, ToolError> {
    let _ = (ctx, name, args);
    todo!("tools helper")
}

/// `call`, plus a journal record (time, client, tool, arguments, duration, outcome, size) in the
/// store and SQLite. `client` is the caller: MCP client name, "cockpit", "cli" or "rest".
pub async fn call_journaled(ctx: &ToolContext, client: &str, name: &str, args: Value) -> Result<ToolOutput, ToolError> {
    let _ = (ctx, client, name, args);
    todo!("tools helper")
}
