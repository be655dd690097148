//! Session housekeeping: gateway notices (1100/1101/1102, delayed data), the heartbeat that
//! tells a quiet market from a stalled connection, and NLV and margin sampling into SQLite.

use super::stall::{ANSWER_DEADLINE, HEARTBEAT_EVERY};
use super::{Ctx, Msg, is_connection_gone};
use crate::gateway::events;
use crate::model::*;
use ibapi::subscriptions::NoticeStream;
use std::sync::Arc;
use std::time::Duration;

/// How often NLV is sampled into SQLite.
const NLV_EVERY: Duration = Duration::from_secs(60);

pub(super) async fn notice_loop(ctx: Arc<Ctx>, mut notices: NoticeStream) {
    while let Some(n) = notices.next().await {
        ctx.touch();
        events::notice(ctx.store(), ctx.role(), n.code, &n.message);
        match n.code {
            1100 => ctx.shared.set_state(
                ConnState::Reconnecting,
                Some("the gateway lost its connection to IB's servers (1100); prices are frozen until it returns".into()),
            ),
            1101 => {
                ctx.shared.set_state(ConnState::Connected, None);
                ctx.send(Msg::Resubscribe("IB restored connectivity but dropped our subscriptions (1101)".into()));
            }
            1102 => ctx.shared.set_state(ConnState::Connected, None),
            code if events::is_delayed_notice(code) => ctx.mark_gateway_delayed(),
            _ => {}
        }
    }
}

pub(super) async fn heartbeat_loop(ctx: Arc<Ctx>) {
    // A quiet market sends nothing for minutes; a cheap request proves the gateway still
    // answers, so "no data" really means a stalled connection (`stall`).
    let every =
        (ctx.shared.cfg.stall_timeout / 3).clamp(Duration::from_millis(200), HEARTBEAT_EVERY);
    loop {
        tokio::time::sleep(every).await;
        match tokio::time::timeout(ANSWER_DEADLINE, ctx.client.server_time()).await {
            Ok(Ok(_)) => ctx.touch(),
            Ok(Err(e)) if is_connection_gone(&e) => {
                ctx.report("heartbeat", &e);
                return;
            }
            _ => {}
        }
    }
}

pub(super) async fn nlv_loop(ctx: Arc<Ctx>) {
    loop {
        tokio::time::sleep(NLV_EVERY).await;
        record_nlv(&ctx);
    }
}

/// Samples each account's NLV and margin figures into SQLite (when a database is attached).
pub(super) fn record_nlv(ctx: &Ctx) {
    let Some(db) = ctx.store().db() else {
        return;
    };
    let snap = ctx.store().snapshot();
    let now = ctx.store().now();
    for a in snap
        .accounts
        .values()
        .filter(|a| a.gateway == Some(ctx.role()) && ctx.wants(&a.account))
    {
        if let Some(nlv) = a.net_liquidation()
            && let Err(e) = db.record_nlv(&a.account, now, nlv, &a.base_currency)
        {
            tracing::warn!("could not record NLV for {}: {e}", a.account);
        }
        if let Some(sample) = crate::store::margin_history::MarginSample::of(a, now)
            && let Err(e) = crate::store::margin_history::record(db, &a.account, &sample)
        {
            tracing::warn!("could not record margin figures for {}: {e}", a.account);
        }
    }
}
