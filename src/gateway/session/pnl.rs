//! Position P&L: daily P&L per holding (and value and P&L for holdings outside the portfolio
//! account), converted from the account's base currency into the instrument's. The largest
//! holdings stream it; the others get one short-lived request each in rotation.

use super::streams::on_notice;
use super::{Ctx, Msg};
use crate::gateway::{cleaning, lag};
use futures::StreamExt;
use ibapi::accounts::types::{AccountId, ContractId};
use ibapi::subscriptions::SubscriptionItem;
use std::sync::Arc;
use std::time::Duration;

/// How long a rotated holding's request waits for a P&L update it can apply.
const ROTATED_ANSWER: Duration = Duration::from_secs(5);

/// One short-lived position P&L request: subscribe, apply the first update that converts,
/// cancel. Tells the session when done (whatever happened) so the holding rejoins the rotation.
pub(super) async fn pnl_single_once(ctx: Arc<Ctx>, account: String, con_id: i32) {
    let key = (account, con_id);
    let read = async {
        let mut sub = match ctx
            .client
            .pnl_single(&AccountId::from(key.0.as_str()), ContractId(key.1), None)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                ctx.report("position P&L", &e);
                return;
            }
        };
        while let Some(item) = sub.next().await {
            ctx.touch();
            match item {
                Ok(SubscriptionItem::Data(p)) => {
                    if apply_pnl_single(&ctx, &key, &p) {
                        break;
                    }
                }
                Ok(SubscriptionItem::Notice(n)) => {
                    on_notice(&ctx, lag::Stream::PositionPnl, n.code, &n.message);
                }
                Err(e) => {
                    ctx.report("position P&L", &e);
                    break;
                }
            }
        }
        sub.cancel().await;
    };
    // A request that gets no answer in time is dropped, which cancels it at the gateway.
    let _ = tokio::time::timeout(ROTATED_ANSWER, read).await;
    ctx.send(Msg::PnlRotated(key));
}

pub(super) async fn pnl_single_loop(ctx: Arc<Ctx>, account: String, con_id: i32) {
    let key = (account, con_id);
    pnl_single_stream(&ctx, &key).await;
    // Whatever happened, initial sync must not wait on this position any longer (a duplicate
    // settle after the first update is harmless).
    ctx.send(Msg::PositionPnlSettled(key));
}

async fn pnl_single_stream(ctx: &Arc<Ctx>, key: &(String, i32)) {
    let mut sub = match ctx
        .client
        .pnl_single(&AccountId::from(key.0.as_str()), ContractId(key.1), None)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            ctx.report("position P&L", &e);
            return;
        }
    };
    // IB reports P&L per position in the account's base currency; the position's other figures
    // are in the instrument's currency. An update that cannot be converted yet (no FX rate) is
    // kept and retried until it can.
    let mut pending: Option<ibapi::accounts::PnLSingle> = None;
    let mut settled = false;
    let mut retry = tokio::time::interval(Duration::from_millis(500));
    loop {
        let item = tokio::select! {
            item = sub.next() => match item {
                Some(item) => item,
                None => break,
            },
            _ = retry.tick(), if pending.is_some() => {
                if let Some(p) = pending.take()
                    && !apply_pnl_single(ctx, key, &p)
                {
                    pending = Some(p);
                }
                if pending.is_none() && !settled {
                    settled = true;
                    ctx.send(Msg::PositionPnlSettled(key.clone()));
                }
                continue;
            }
        };
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(p)) => {
                pending = if apply_pnl_single(ctx, key, &p) {
                    None
                } else {
                    Some(p)
                };
                if pending.is_none() && !settled {
                    settled = true;
                    ctx.send(Msg::PositionPnlSettled(key.clone()));
                }
            }
            Ok(SubscriptionItem::Notice(n)) => {
                // A lag here loses only superseded figures: the next update replaces them.
                on_notice(ctx, lag::Stream::PositionPnl, n.code, &n.message);
            }
            Err(e) => {
                ctx.report("position P&L", &e);
                break;
            }
        }
    }
}

/// Writes a P&L-single update converted into the instrument's currency. False when the
/// conversion rate is not known yet.
fn apply_pnl_single(ctx: &Ctx, key: &(String, i32), p: &ibapi::accounts::PnLSingle) -> bool {
    let now = ctx.store().now();
    let covered_by_portfolio = ctx.accounts.first() == Some(&key.0);
    ctx.store().update(|st| {
        let Some(pos) = st.positions.get(key) else {
            // A late update for a closed position: nothing to enrich.
            return true;
        };
        let ccy = pos.instrument.currency.clone();
        let base = st
            .accounts
            .get(&key.0)
            .map(|a| a.base_currency.clone())
            .unwrap_or_default();
        let value_base = cleaning::amount(p.value).filter(|v| *v != 0.0);
        // Base → instrument currency: the live FX quote, else the ratio of the two market values.
        // Until the account's base currency is known the amounts cannot be converted: keep the
        // update pending (the caller retries) rather than store base-currency figures as USD.
        if base.is_empty() {
            return false;
        }
        let rate = if ccy.is_empty() || base.eq_ignore_ascii_case(&ccy) {
            Some(1.0)
        } else {
            st.fx_rate(&base, &ccy)
                .or_else(|| match (pos.market_value, value_base) {
                    (Some(mv), Some(vb)) if mv != 0.0 => Some(mv / vb),
                    _ => None,
                })
        };
        let Some(rate) = rate.filter(|r| r.is_finite() && *r > 0.0) else {
            return false;
        };
        let conv = |v: f64| cleaning::amount(v).map(|x| x * rate);
        let Some(pos) = Arc::make_mut(&mut st.positions).get_mut(key) else {
            return true;
        };
        if let Some(daily) = conv(p.daily_pnl) {
            pos.daily_pnl = Some(daily);
            pos.daily_pnl_at = Some(now);
        }
        pos.updated = now;
        if covered_by_portfolio {
            // Account updates give value and P&L in the instrument's currency directly.
            return true;
        }
        pos.unrealized_pnl = conv(p.unrealized_pnl).or(pos.unrealized_pnl);
        pos.realized_pnl = conv(p.realized_pnl).or(pos.realized_pnl);
        if let Some(value) = value_base.map(|v| v * rate) {
            pos.market_value = Some(value);
            let units = pos.quantity * pos.instrument.multiplier.max(1.0);
            if pos.market_price.is_none() && units != 0.0 {
                pos.market_price = cleaning::price(value / units);
            }
        }
        pos.updated = now;
        true
    })
}
