//! What one MCP session (stdio, or a sidecar over the socket) is told without asking: gateway
//! events and alert firings (logger `alerts`, level warning) as `notifications/message` at or
//! above the level the client set with
//! `logging/setLevel` (warnings until it does), and `notifications/resources/updated` for the
//! resources it subscribed to when the book changes. Stateless HTTP has no channel for either,
//! so its sessions do not advertise them.
#![allow(deprecated)] // rmcp marks MCP logging deprecated (SEP-2577); 2025 clients still use it.

use super::resources::BookMark;
use crate::model::GatewayEvent;
use crate::tools::ToolContext;
use parking_lot::Mutex;
use rmcp::model::{
    LoggingLevel, LoggingMessageNotificationParam, ResourceUpdatedNotificationParam,
};
use rmcp::{Peer, RoleServer};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Shortest gap between two rounds of notifications: quotes tick several times a second, a
/// client needs to hear about a changed book once.
const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// How often a quiet session checks whether its client has gone.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// Level sent before the client sets one.
const DEFAULT_LEVEL: LoggingLevel = LoggingLevel::Warning;

/// Subscriptions and log level of one session.
#[derive(Default)]
pub struct SessionState {
    subscriptions: Mutex<BTreeSet<String>>,
    level: Mutex<Option<LoggingLevel>>,
    watching: AtomicBool,
}

impl SessionState {
    pub fn subscribe(&self, uri: &str) {
        self.subscriptions.lock().insert(uri.to_string());
    }

    pub fn unsubscribe(&self, uri: &str) {
        self.subscriptions.lock().remove(uri);
    }

    pub fn set_level(&self, level: LoggingLevel) {
        *self.level.lock() = Some(level);
    }

    fn sends(&self, level: LoggingLevel) -> bool {
        rank(level) >= rank(self.level.lock().unwrap_or(DEFAULT_LEVEL))
    }

    /// Starts the session's watcher once (on `notifications/initialized`).
    pub fn start_watching(self: &Arc<Self>, ctx: ToolContext, peer: Peer<RoleServer>) {
        if self.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(watch(ctx, self.clone(), peer));
    }
}

fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// How much a gateway event matters: a lost connection is a warning, delayed data a notice, a
/// restored connection or farm news information.
pub fn event_level(event: &GatewayEvent) -> LoggingLevel {
    match event.code {
        1100 | 1300 | 2103 | 2105 | 2110 | 502 | 504 | 507 => LoggingLevel::Warning,
        10167 | 10089 | 10090 | 10186 | 354 => LoggingLevel::Notice,
        1101 | 1102 | 2104 | 2106 | 2107 | 2108 | 2158 => LoggingLevel::Info,
        // Supervisor events (0) and the transport's own reconnect notice (-8) are in words.
        0 | -8 => {
            let m = event.message.to_ascii_lowercase();
            if [
                "lost",
                "disconnect",
                "failed",
                "refused",
                "stalled",
                "closed",
            ]
            .iter()
            .any(|w| m.contains(w))
            {
                LoggingLevel::Warning
            } else if m.contains("delayed") || m.contains("reconnect") {
                LoggingLevel::Notice
            } else {
                LoggingLevel::Info
            }
        }
        _ => LoggingLevel::Warning,
    }
}

/// Events added to the ring after `last` (all of them when `last` has been evicted).
fn events_after<'a>(
    events: &'a std::collections::VecDeque<GatewayEvent>,
    last: Option<&GatewayEvent>,
) -> Vec<&'a GatewayEvent> {
    let start = match last {
        None => 0,
        Some(l) => events.iter().rposition(|e| e == l).map_or(0, |i| i + 1),
    };
    events.iter().skip(start).collect()
}

/// Id of the newest alert firing in the state (0 for none): later firings are new.
fn newest_alert(snap: &crate::store::LiveState) -> u64 {
    snap.alerts.recent.back().map_or(0, |f| f.id)
}

async fn watch(ctx: ToolContext, state: Arc<SessionState>, peer: Peer<RoleServer>) {
    let mut changes = ctx.store.subscribe();
    let snap = ctx.store.snapshot();
    let mut mark = BookMark::of(&snap);
    let mut last_event = snap.events.back().cloned();
    let mut last_alert = newest_alert(&snap);
    drop(snap);
    loop {
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(IDLE_CHECK) => {}
        }
        if peer.is_transport_closed() {
            return;
        }
        let snap = ctx.store.snapshot();
        for event in events_after(&snap.events, last_event.as_ref()) {
            let level = event_level(event);
            if !state.sends(level) {
                continue;
            }
            let data = json!({
                "gateway": event.role.as_str(),
                "code": event.code,
                "message": event.message,
                "time": crate::tools::format::utc(event.time),
            });
            let mut param = LoggingMessageNotificationParam::new(level, data);
            param.logger = Some("gateway".into());
            if peer.notify_logging_message(param).await.is_err() {
                return;
            }
        }
        last_event = snap.events.back().cloned();
        if state.sends(LoggingLevel::Warning) {
            for f in snap.alerts.recent.iter().filter(|f| f.id > last_alert) {
                let data = json!({
                    "rule": f.rule,
                    "kind": f.kind,
                    "symbol": f.subject,
                    "value": crate::tools::format::round(f.value, 4),
                    "level": crate::tools::format::round(f.level, 4),
                    "message": f.message,
                    "time": crate::tools::format::utc(f.time),
                });
                let mut param = LoggingMessageNotificationParam::new(LoggingLevel::Warning, data);
                param.logger = Some("alerts".into());
                if peer.notify_logging_message(param).await.is_err() {
                    return;
                }
            }
        }
        last_alert = newest_alert(&snap);
        let now = BookMark::of(&snap);
        drop(snap);
        let subscribed = state.subscriptions.lock().clone();
        for uri in mark.changed(&now) {
            if subscribed.contains(uri)
                && peer
                    .notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                    .await
                    .is_err()
            {
                return;
            }
        }
        mark = now;
        tokio::time::sleep(MIN_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GatewayRole;

    fn event(code: i32, message: &str) -> GatewayEvent {
        GatewayEvent {
            time: 0,
            role: GatewayRole::Primary,
            code,
            message: message.into(),
        }
    }

    #[test]
    fn levels_and_filtering() {
        assert_eq!(
            rank(event_level(&event(0, "connection lost: reset by peer"))),
            rank(LoggingLevel::Warning)
        );
        assert_eq!(
            rank(event_level(&event(1102, "restored"))),
            rank(LoggingLevel::Info)
        );
        let s = SessionState::default();
        assert!(s.sends(LoggingLevel::Warning) && !s.sends(LoggingLevel::Info));
        s.set_level(LoggingLevel::Debug);
        assert!(s.sends(LoggingLevel::Info));
    }

    #[test]
    fn only_new_events_are_sent() {
        let mut ring: std::collections::VecDeque<GatewayEvent> =
            [event(1, "a"), event(2, "b")].into_iter().collect();
        let last = ring.back().cloned();
        ring.push_back(event(3, "c"));
        let new = events_after(&ring, last.as_ref());
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].code, 3);
    }
}
