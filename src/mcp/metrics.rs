//! `/metrics` in the Prometheus text format: per-tool calls, errors and latency histograms,
//! refused HTTP requests, gateway reconnects and cache hits.
//!
//! Tool figures are read from the store's journal — every front door already records each
//! call there — so no call path pays for metrics. The journal is a ring of the latest
//! `JOURNAL_CAPACITY` calls; the counters remember which ids they have counted, so scraping
//! more or less often changes nothing as long as the ring does not overflow between scrapes
//! (the HTTP server also counts on every store change to keep it that way).

use crate::store::{LiveState, Store};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::sync::Arc;

/// Latency histogram bucket bounds, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Journal records with an error starting with this were refused before reaching a tool.
pub const REFUSED_PREFIX: &str = "refused:";

#[derive(Debug, Default, Clone)]
struct ToolFigures {
    calls: u64,
    errors: u64,
    /// Count per bucket of `BUCKETS` (not cumulative), plus one for +Inf.
    buckets: [u64; BUCKETS.len() + 1],
    seconds: f64,
}

#[derive(Debug, Default)]
struct Counted {
    tools: BTreeMap<String, ToolFigures>,
    refused: u64,
    /// Ids already counted that are still in the journal window.
    seen: BTreeSet<u64>,
}

/// Shared counters; cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Counted>>,
}

impl Metrics {
    /// Counts the journal records not counted yet.
    pub fn catch_up(&self, state: &LiveState) {
        let mut c = self.inner.lock();
        for record in state.journal.iter() {
            if !c.seen.insert(record.id) {
                continue;
            }
            let refused = record
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with(REFUSED_PREFIX));
            // Refusals are sampled in the journal; their count comes from the store.
            if refused {
                continue;
            }
            let f = c.tools.entry(record.tool.clone()).or_default();
            f.calls += 1;
            if !record.ok {
                f.errors += 1;
            }
            let secs = record.duration_ms / 1000.0;
            f.seconds += secs;
            let slot = BUCKETS
                .iter()
                .position(|b| secs <= *b)
                .unwrap_or(BUCKETS.len());
            f.buckets[slot] += 1;
        }
        // Forget ids that have left the window (they can never be seen again).
        if let Some(oldest) = state.journal.front().map(|r| r.id) {
            c.seen = c.seen.split_off(&oldest);
        }
    }

    /// Sets the refused-request count (the store counts every refusal; the journal holds only
    /// a sample of them).
    pub fn set_refused_total(&self, total: u64) {
        self.inner.lock().refused = total;
    }

    /// Counts on every store change until the store is gone (spawn it once per server).
    pub async fn follow(self, store: Store) {
        let mut changes = store.subscribe();
        while changes.changed().await.is_ok() {
            self.catch_up(&store.snapshot());
        }
    }

    /// The exposition text. `cache_hits` comes from the gateway's request handle.
    pub fn render(&self, state: &LiveState, cache_hits: u64) -> String {
        self.catch_up(state);
        let c = self.inner.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_tool_calls_total Tool calls, from every front door."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_tool_calls_total counter");
        for (tool, f) in &c.tools {
            let _ = writeln!(
                out,
                "ibkr_cockpit_tool_calls_total{{tool=\"{}\"}} {}",
                escape(tool),
                f.calls
            );
        }
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_tool_errors_total Tool calls that ended in a tool error."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_tool_errors_total counter");
        for (tool, f) in &c.tools {
            let _ = writeln!(
                out,
                "ibkr_cockpit_tool_errors_total{{tool=\"{}\"}} {}",
                escape(tool),
                f.errors
            );
        }
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_tool_duration_seconds Time to answer a tool call."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_tool_duration_seconds histogram");
        for (tool, f) in &c.tools {
            let tool = escape(tool);
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += f.buckets[i];
                let _ = writeln!(
                    out,
                    "ibkr_cockpit_tool_duration_seconds_bucket{{tool=\"{tool}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += f.buckets[BUCKETS.len()];
            let _ = writeln!(
                out,
                "ibkr_cockpit_tool_duration_seconds_bucket{{tool=\"{tool}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "ibkr_cockpit_tool_duration_seconds_sum{{tool=\"{tool}\"}} {}",
                f.seconds
            );
            let _ = writeln!(
                out,
                "ibkr_cockpit_tool_duration_seconds_count{{tool=\"{tool}\"}} {}",
                f.calls
            );
        }
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_http_refused_total HTTP requests refused (missing or wrong token, oversized or stalled request)."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_http_refused_total counter");
        let _ = writeln!(out, "ibkr_cockpit_http_refused_total {}", c.refused);
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_gateway_reconnects_total Reconnections per gateway since start."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_gateway_reconnects_total counter");
        for (role, status) in state.gateways.iter() {
            let _ = writeln!(
                out,
                "ibkr_cockpit_gateway_reconnects_total{{gateway=\"{}\"}} {}",
                role.as_str(),
                status.reconnects
            );
        }
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_gateway_connected 1 when the gateway is connected."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_gateway_connected gauge");
        for (role, status) in state.gateways.iter() {
            let up = u8::from(status.state == crate::model::ConnState::Connected);
            let _ = writeln!(
                out,
                "ibkr_cockpit_gateway_connected{{gateway=\"{}\"}} {up}",
                role.as_str()
            );
        }
        let _ = writeln!(
            out,
            "# HELP ibkr_cockpit_cache_hits_total On-demand requests answered from the cache."
        );
        let _ = writeln!(out, "# TYPE ibkr_cockpit_cache_hits_total counter");
        let _ = writeln!(out, "ibkr_cockpit_cache_hits_total {cache_hits}");
        out
    }
}

/// Label values escape backslash, quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
