//! The positions stream: every holding of the accounts served, closed positions removed at the
//! end of each list.

use super::streams::{Ended, on_notice, relist, with_ready};
use super::{Ctx, Msg};
use crate::gateway::{cleaning, convert, lag};
use crate::model::*;
use futures::StreamExt;
use ibapi::accounts::PositionUpdate;
use ibapi::subscriptions::SubscriptionItem;
use std::collections::HashSet;
use std::sync::Arc;

/// One change read from the positions stream, applied in order within a batch.
enum PositionOp {
    Upsert {
        key: (String, i32),
        // Boxed: an instrument is large and most ops in a burst are upserts anyway.
        inst: Box<Instrument>,
        qty: f64,
        avg_cost: f64,
    },
    Remove((String, i32)),
    /// The end of the list: positions not in it are gone.
    End,
}

pub(super) async fn positions_loop(ctx: Arc<Ctx>) {
    relist(
        &ctx,
        lag::Stream::Positions,
        Msg::PositionsDone,
        |mut listed| {
            let ctx = ctx.clone();
            async move { (positions_stream(&ctx, &mut listed).await, listed) }
        },
    )
    .await;
}

/// One positions subscription. `listed` becomes true at the end of the first complete list.
async fn positions_stream(ctx: &Arc<Ctx>, listed: &mut bool) -> Ended {
    let mut sub = match ctx.client.positions().await {
        Ok(s) => s,
        Err(e) => {
            ctx.report("positions", &e);
            return Ended::Closed;
        }
    };
    // Keys of this subscription's list: a re-request starts a fresh one.
    let mut seen: HashSet<(String, i32)> = HashSet::new();
    while let Some(first) = sub.next().await {
        ctx.touch();
        let mut ops = Vec::new();
        let mut held = Vec::new();
        let mut ended = None;
        for item in with_ready(&mut sub, first) {
            match item {
                Ok(SubscriptionItem::Data(PositionUpdate::Position(p))) => {
                    if !ctx.wants(&p.account) {
                        continue;
                    }
                    let inst = convert::instrument(&p.contract);
                    let key = (p.account.clone(), inst.con_id);
                    let qty = cleaning::quantity(p.position).unwrap_or(0.0);
                    if qty == 0.0 {
                        ops.push(PositionOp::Remove(key));
                        continue;
                    }
                    let per_unit = if inst.multiplier > 1.0 {
                        inst.multiplier
                    } else {
                        1.0
                    };
                    let avg_cost = cleaning::amount(p.average_cost)
                        .map(|c| c / per_unit)
                        .unwrap_or(0.0);
                    seen.insert(key.clone());
                    ops.push(PositionOp::Upsert {
                        key,
                        inst: Box::new(inst.clone()),
                        qty,
                        avg_cost,
                    });
                    held.push(Msg::Held {
                        account: p.account,
                        inst,
                    });
                }
                Ok(SubscriptionItem::Data(PositionUpdate::PositionEnd)) => {
                    ops.push(PositionOp::End)
                }
                Ok(SubscriptionItem::Notice(n)) => {
                    if on_notice(ctx, lag::Stream::Positions, n.code, &n.message)
                        == lag::OnLag::Rerequest
                    {
                        ended = Some(Ended::Lagged);
                        break;
                    }
                }
                Err(e) => {
                    ctx.report("positions", &e);
                    ended = Some(Ended::Closed);
                    break;
                }
            }
        }
        // What arrived before a gap or an error is still true: apply it.
        let list_ended = apply_position_ops(ctx, ops, &seen);
        for msg in held {
            ctx.send(msg);
        }
        if list_ended && !*listed {
            *listed = true;
            ctx.send(Msg::PositionsDone);
        }
        match ended {
            Some(Ended::Lagged) => {
                sub.cancel().await;
                return Ended::Lagged;
            }
            Some(Ended::Closed) => return Ended::Closed,
            None => {}
        }
    }
    Ended::Closed
}

/// Applies a batch of position changes in one store update; true when it held the list's end.
fn apply_position_ops(ctx: &Ctx, ops: Vec<PositionOp>, seen: &HashSet<(String, i32)>) -> bool {
    if ops.is_empty() {
        return false;
    }
    let now = ctx.store().now();
    ctx.store().update(|st| {
        let positions = Arc::make_mut(&mut st.positions);
        let mut list_ended = false;
        for op in ops {
            match op {
                PositionOp::Upsert {
                    key,
                    inst,
                    qty,
                    avg_cost,
                } => {
                    let account = key.0.clone();
                    let pos = positions.entry(key).or_default();
                    pos.account = account;
                    pos.instrument = *inst;
                    pos.quantity = qty;
                    pos.avg_cost = avg_cost;
                    pos.updated = now;
                }
                PositionOp::Remove(key) => {
                    positions.remove(&key);
                }
                PositionOp::End => {
                    // Positions closed while we were away (or while frames were lost) must not
                    // linger.
                    positions.retain(|k, _| !ctx.wants(&k.0) || seen.contains(k));
                    list_ended = true;
                }
            }
        }
        list_ended
    })
}
