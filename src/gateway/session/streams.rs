//! What every streaming loop shares: draining bursts in one batch, routing notices (lag notices
//! in words) and re-requesting a list stream that lost frames.

use super::{Ctx, Msg};
use crate::gateway::{events, lag};
use futures::{FutureExt, StreamExt};

/// How one subscription of a list stream ended.
pub(super) enum Ended {
    /// Frames were lost (ibapi lag notice): the caller requests the stream again.
    Lagged,
    /// The stream ended or failed (already reported): nothing more to do.
    Closed,
}

/// Most frames applied in one store update: a whole burst at 2,000 positions takes a few,
/// while the write lock stays short.
const MAX_BATCH: usize = 512;

/// The item just read plus every item already waiting, so a burst costs one store update (one
/// copy of the positions map while a snapshot holds it) instead of one per frame. That keeps a
/// list stream ahead of its small channel (`connect::DEFAULT_CHANNEL_CAPACITY`).
pub(super) fn with_ready<S: futures::Stream + Unpin>(sub: &mut S, first: S::Item) -> Vec<S::Item> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match sub.next().now_or_never() {
            Some(Some(item)) => batch.push(item),
            _ => break,
        }
    }
    batch
}

/// Logs a notice read on `stream` and says what the loop should do next. A lag notice gets a
/// sentence of its own: on a list stream it means the list is being requested again.
pub(super) fn on_notice(ctx: &Ctx, stream: lag::Stream, code: i32, text: &str) -> lag::OnLag {
    if !lag::is_lag(code) {
        events::notice(ctx.store(), ctx.role(), code, text);
        return lag::OnLag::Continue;
    }
    let decision = lag::after_lag(stream);
    let what = match decision {
        lag::OnLag::Rerequest => "requesting it again so nothing is missing",
        lag::OnLag::Continue => "later updates replace what was missed",
    };
    events::notice(
        ctx.store(),
        ctx.role(),
        code,
        &format!("{} stream fell behind: {text}; {what}", stream.label()),
    );
    decision
}

/// Keeps a list stream (summary, positions, account updates) going: runs one subscription with
/// `once`, and while it ends because frames were lost, pauses and requests the list again, so
/// the store ends up with a complete list however many attempts that takes. `once` gets and
/// returns whether a complete list has arrived yet; if the stream ends without one, `done` is
/// sent anyway so initial sync does not wait for it forever.
pub(super) async fn relist<F, Fut>(ctx: &Ctx, stream: lag::Stream, done: Msg, mut once: F)
where
    F: FnMut(bool) -> Fut,
    Fut: Future<Output = (Ended, bool)>,
{
    let mut complete = false;
    let mut attempt = 0;
    loop {
        let (ended, now_complete) = once(complete).await;
        complete = now_complete;
        if let Ended::Closed = ended {
            break;
        }
        attempt += 1;
        tracing::warn!(
            gateway = ctx.role().as_str(),
            "{} stream lagged; request {} follows",
            stream.label(),
            attempt + 1
        );
        tokio::time::sleep(lag::rerequest_delay(attempt)).await;
    }
    if !complete {
        ctx.send(done);
    }
}
