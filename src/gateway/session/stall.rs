//! Stall detection. The heartbeat (a current-time request every `HEARTBEAT_EVERY`) makes sure
//! a healthy gateway sends something every few seconds even in a quiet market; so when nothing
//! at all has arrived for `ANSWER_DEADLINE` the gateway is stalled: the state says so (values
//! are labelled stale with their age) and calls fail at once instead of waiting. The gateway
//! answering again clears it; silence beyond the configured `stall_timeout` ends the session
//! so the supervisor reconnects.

use super::{Ctx, SessionEnd};
use crate::gateway::events;
use crate::model::ConnState;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the heartbeat asks the gateway for its time.
pub(super) const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// No answer (to the heartbeat or anything else) for this long: stalled.
pub(super) const ANSWER_DEADLINE: Duration = Duration::from_secs(5);

/// Watches the session's silence; owned by the session loop.
#[derive(Default)]
pub(super) struct StallWatch {
    /// When the current stall was noticed, if one is under way.
    stalled_at: Option<u64>,
}

impl StallWatch {
    /// Updates the stall state for `now`; `Some` ends the session (reconnect).
    pub(super) fn check(&mut self, ctx: &Ctx) -> Option<SessionEnd> {
        let now = ctx.started.elapsed().as_millis() as u64;
        let silent_ms = now.saturating_sub(ctx.last_heard_ms.load(Ordering::Relaxed)) as i64;
        let limit = ctx.shared.cfg.stall_timeout.max(Duration::from_millis(500));
        if silent_ms > limit.as_millis() as i64 {
            return Some(SessionEnd::Lost(format!(
                "no data from the gateway for {:.0}s although the socket is open (stalled)",
                silent_ms as f64 / 1000.0
            )));
        }
        let stalled = silent_ms > ANSWER_DEADLINE.as_millis() as i64;
        match (stalled, self.stalled_at) {
            (true, None) => {
                self.stalled_at = Some(now);
                let why = format!(
                    "no answer from the gateway for {:.0}s although the socket is open (reconnecting if it lasts {}s)",
                    silent_ms as f64 / 1000.0,
                    limit.as_secs()
                );
                ctx.shared
                    .set_stalled(Some(format!("the gateway is stalled: {why}")));
                ctx.shared.set_state(ConnState::Stalled, Some(why.clone()));
                events::supervisor(ctx.store(), ctx.role(), format!("gateway stalled: {why}"));
            }
            (false, Some(since)) => {
                self.stalled_at = None;
                ctx.shared.set_stalled(None);
                ctx.shared.set_state(ConnState::Connected, None);
                events::supervisor(
                    ctx.store(),
                    ctx.role(),
                    format!(
                        "the gateway answers again after a stall of {:.0}s",
                        (now - since) as f64 / 1000.0 + ANSWER_DEADLINE.as_secs_f64()
                    ),
                );
            }
            _ => {}
        }
        None
    }
}
