//! One way to record an HTTP request the front door turned away (wrong token, oversized or slow
//! body, headers that never finished, too many connections): a failed journal entry whose error
//! starts with [`REFUSED_PREFIX`], so the prompt pane shows someone knocking and `/metrics`
//! counts it, plus a log line for daemons whose journal nobody watches.

use super::metrics::REFUSED_PREFIX;
use crate::model::ToolCallRecord;
use crate::store::Store;
use axum::http::{HeaderMap, header};
use serde_json::Value;

/// Journal name of an HTTP client: the product part of its User-Agent (`curl`, `python-httpx`),
/// else "http".
pub fn client_name(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split(['/', ' ']).next())
        .filter(|s| !s.is_empty())
        .unwrap_or("http")
        .to_string()
}

/// Journals `what` (e.g. `POST /mcp`) from `client` as refused because of `reason`.
pub fn record_refusal(store: &Store, client: String, what: String, reason: &str) {
    tracing::warn!("HTTP: refused {what} from {client}: {reason}");
    store.record_tool_call(ToolCallRecord {
        id: 0,
        time: store.now(),
        client,
        tool: what,
        arguments: Value::Null,
        duration_ms: 0.0,
        ok: false,
        error: Some(format!("{REFUSED_PREFIX} {reason}")),
        result_bytes: 0,
        markdown: String::new(),
    });
}
