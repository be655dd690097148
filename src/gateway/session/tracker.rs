//! Initial-sync bookkeeping and the subscriptions already handed out, owned by the session loop.

use super::housekeeping::record_nlv;
use super::{Ctx, SYNC_NO_PROGRESS};
use crate::gateway::events;
use crate::gateway::lines::LineBudget;
use crate::model::Instrument;
use std::collections::{HashSet, VecDeque};

/// Subscriptions already open and initial-sync bookkeeping, owned by the session loop.
#[derive(Default)]
pub(super) struct Tracker {
    /// Quote keys with a streaming subscription (open or queued).
    pub(super) quotes: HashSet<String>,
    /// Market-data lines: who holds one, how many are left.
    pub(super) lines: Option<LineBudget>,
    /// Positions seen before the book could be ranked (held until account data is in).
    pub(super) unranked: Vec<(String, Instrument)>,
    /// True once the initial book has been ranked and its subscriptions handed out.
    pub(super) ranked: bool,
    /// Streamed quotes waiting their turn after the initial sync's, largest first.
    pub(super) quote_queue: VecDeque<(String, Instrument)>,
    /// Quote keys without a line: priced from portfolio updates.
    pub(super) unstreamed: HashSet<String>,
    pub(super) pnl_single: HashSet<(String, i32)>,
    /// P&L-single subscriptions waiting their turn: they are opened after the quotes, a few at
    /// a time, so a large book neither delays the first prices nor starves on-demand requests
    /// of IB's 50-messages-per-second budget.
    pub(super) pnl_queue: VecDeque<(String, i32)>,
    /// Position P&L subscriptions opened at once (part of the initial sync), at most
    /// `PNL_SINGLE_AT_ONCE`; their first updates are awaited like the first quotes.
    pub(super) pnl_single_pending: HashSet<(String, i32)>,
    pub(super) pnl_single_opened: usize,
    /// Position P&L streams opened for the portfolio account (bounded by `PNL_SINGLE_STREAMS`).
    pub(super) pnl_single_streams: usize,
    /// Portfolio-account holdings beyond `PNL_SINGLE_STREAMS`: their daily P&L comes from
    /// short-lived requests taken in turn (`allocation::rotate_pnl`), each holding rejoining the
    /// back of the queue when its request is over.
    pub(super) pnl_rotation: VecDeque<(String, i32)>,
    /// Rotated requests open right now.
    pub(super) pnl_rotating: usize,
    /// Holdings in the rotation (queued or in flight).
    pub(super) pnl_rotated_holdings: usize,
    /// Rotated requests finished in the current pass, and when the pass started.
    pub(super) pnl_pass_done: usize,
    pub(super) pnl_pass_started: Option<tokio::time::Instant>,
    pub(super) pnl_rotation_announced: bool,
    pub(super) pnl_rotation_reported: bool,
    pub(super) fell_back: HashSet<String>,
    pub(super) switched_to_delayed: bool,
    pub(super) summary_done: bool,
    pub(super) positions_done: bool,
    pub(super) updates_done: bool,
    pub(super) pnl_pending: HashSet<String>,
    pub(super) quotes_pending: HashSet<String>,
    pub(super) synced: bool,
    /// When the initial sync last moved forward (a first quote, P&L or account answer).
    pub(super) last_progress: Option<tokio::time::Instant>,
}

impl Tracker {
    pub(super) fn new(quote_lines: usize) -> Self {
        Tracker {
            lines: Some(LineBudget::new(quote_lines)),
            ..Tracker::default()
        }
    }

    pub(super) fn lines(&mut self) -> &mut LineBudget {
        self.lines.get_or_insert_with(|| LineBudget::new(0))
    }

    /// The account data needed to rank the book by size has arrived.
    pub(super) fn ready_to_rank(&self) -> bool {
        !self.ranked && self.summary_done && self.positions_done && self.updates_done
    }

    pub(super) fn progressed(&mut self) {
        self.last_progress = Some(tokio::time::Instant::now());
    }

    /// True when the account data is in and only first quotes or position P&L are missing,
    /// and none of those has arrived for `SYNC_NO_PROGRESS`.
    pub(super) fn stuck(&self) -> bool {
        self.summary_done
            && self.positions_done
            && self.updates_done
            && self
                .last_progress
                .is_some_and(|t| t.elapsed() >= SYNC_NO_PROGRESS)
    }

    pub(super) fn complete(&self) -> bool {
        self.summary_done
            && self.positions_done
            && self.updates_done
            && self.pnl_pending.is_empty()
            && self.quotes_pending.is_empty()
            && self.pnl_single_pending.is_empty()
    }
}

pub(super) fn check_synced(ctx: &Ctx, tracker: &mut Tracker) {
    if tracker.synced {
        return;
    }
    if !tracker.complete() {
        if !tracker.stuck() {
            return;
        }
        events::supervisor(
            ctx.store(),
            ctx.role(),
            format!(
                "initial sync: no answer for {}s from {} quote(s) and {} position P&L subscription(s); continuing without them",
                SYNC_NO_PROGRESS.as_secs(),
                tracker.quotes_pending.len(),
                tracker.pnl_single_pending.len() + tracker.pnl_pending.len()
            ),
        );
    }
    tracker.synced = true;
    ctx.orders_gate.send_replace(true);
    let snap = ctx.store().snapshot();
    let positions = snap
        .positions
        .values()
        .filter(|p| ctx.wants(&p.account))
        .count();
    let was_synced = ctx.shared.synced.send_replace(true);
    let mut what = format!(
        "{} account(s), {positions} position(s), {} quote(s)",
        ctx.accounts.len(),
        tracker.quotes.len()
    );
    if !tracker.quote_queue.is_empty() || !tracker.unstreamed.is_empty() {
        what.push_str(&format!(
            " ({} more trailing, {} priced from portfolio updates)",
            tracker.quote_queue.len(),
            tracker.unstreamed.len()
        ));
    }
    let message = if was_synced {
        format!("resubscribed after reconnect: {what}")
    } else {
        format!("initial sync complete: {what}")
    };
    events::supervisor(ctx.store(), ctx.role(), message);
    record_nlv(ctx);
}
