//! One way to record an HTTP request the front door turned away (wrong token, oversized or slow
//! body, headers that never finished): every refusal is counted (`/metrics`), and the first of
//! each burst from a peer is journaled as a failed entry whose error starts with
//! [`REFUSED_PREFIX`], so the prompt pane shows someone knocking; the rest of a burst become
//! one summary line per peer per minute (see `store::refusals`). Everything the client chose
//! (User-Agent, path, declared sizes) is cut to a few dozen characters before it is stored or
//! logged, so a flood costs a counter, not disk.

use super::metrics::REFUSED_PREFIX;
use crate::model::ToolCallRecord;
use crate::store::Store;
use crate::store::refusals::{Peer, Summary, Verdict};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, header};
use serde_json::Value;
use std::net::SocketAddr;

/// Longest client name stored (from the User-Agent's product part).
pub const MAX_CLIENT_CHARS: usize = 32;
/// Longest request description stored (`METHOD /path`).
pub const MAX_WHAT_CHARS: usize = 96;
/// Longest reason stored.
pub const MAX_REASON_CHARS: usize = 160;

/// Journal name of an HTTP client: the product part of its User-Agent (`curl`, `python-httpx`),
/// else "http"; at most [`MAX_CLIENT_CHARS`] characters.
pub fn client_name(headers: &HeaderMap) -> String {
    let name = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| ua.split(['/', ' ']).next())
        .filter(|s| !s.is_empty())
        .unwrap_or("http");
    truncate(name, MAX_CLIENT_CHARS)
}

/// The peer's address, when the connection layer put it on the request.
pub fn peer_of(req: &Request) -> Peer {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// `s` cut to `max` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// Counts `what` (e.g. `POST /mcp`) from `client` at `peer` as refused because of `reason`;
/// journals it when it starts a burst, and journals any summary now due.
pub fn record_refusal(store: &Store, peer: Peer, client: String, what: String, reason: &str) {
    let client = truncate(&client, MAX_CLIENT_CHARS);
    let what = truncate(&what, MAX_WHAT_CHARS);
    let reason = truncate(reason, MAX_REASON_CHARS);
    let (verdict, summary) = store.sample_refusal(peer, &reason);
    if verdict == Verdict::Journal {
        let from = peer.map_or_else(|| client.clone(), |ip| format!("{client} at {ip}"));
        tracing::warn!("refused {what} from {from}: {reason}");
        journal(store, client, what, format!("{REFUSED_PREFIX} {reason}"));
    }
    if let Some(summary) = summary {
        journal_summary(store, &summary);
    }
}

/// Journals the summaries now due; the HTTP server calls it every few seconds so the tail of
/// a burst is reported once the burst stops.
pub fn flush_summaries(store: &Store) {
    for summary in store.refusal_tick() {
        journal_summary(store, &summary);
    }
}

fn journal_summary(store: &Store, s: &Summary) {
    let peer = s
        .peer
        .map_or_else(|| "unknown peer".to_string(), |ip| ip.to_string());
    let text = format!(
        "{REFUSED_PREFIX} {} more requests from {peer} in the last {} s (last reason: {})",
        s.count,
        s.over.as_secs(),
        s.last_reason
    );
    tracing::warn!("HTTP: {text}");
    journal(
        store,
        "http".into(),
        format!("refused requests from {peer}"),
        text,
    );
}

fn journal(store: &Store, client: String, tool: String, error: String) {
    store.record_tool_call(ToolCallRecord {
        id: 0,
        time: store.now(),
        client,
        tool,
        arguments: Value::Null,
        duration_ms: 0.0,
        ok: false,
        error: Some(error),
        result_bytes: 0,
        markdown: String::new(),
        headline: String::new(),
    });
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("curl", 32), "curl");
        assert_eq!(truncate(&"é".repeat(40), 3), "ééé…");
        assert_eq!(truncate(&"x".repeat(4000), 32).chars().count(), 33);
    }
}
