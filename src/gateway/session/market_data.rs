//! Streaming quotes: one subscription per quote key, ticks folded into the store, the movers'
//! one-per-minute samples, delayed-data fallback and refused lines reported to the session.

use super::streams::on_notice;
use super::{Ctx, Msg};
use crate::calendar::Venue;
use crate::gateway::{events, intraday, lag, quotes};
use crate::model::*;
use futures::StreamExt;
use ibapi::contracts::Contract;
use ibapi::subscriptions::SubscriptionItem;
use std::sync::Arc;

/// IB's "Max number of tickers has been reached": every market-data line is in use.
const MAX_TICKERS: i32 = 101;

pub(super) async fn quote_loop(ctx: Arc<Ctx>, key: String, contract: Contract, inst: Instrument) {
    let mut sub = match ctx.client.market_data(&contract).subscribe().await {
        Ok(s) => s,
        Err(ibapi::Error::Notice(n)) if n.code == MAX_TICKERS => {
            ctx.send(Msg::LineRefused(key));
            return;
        }
        Err(e) => {
            ctx.report(&format!("quotes for {key}"), &e);
            ctx.send(Msg::QuoteSettled(key));
            return;
        }
    };
    let watched = super::stall::Watched::new(&ctx, &key, Venue::for_sec_type(&inst.sec_type));
    let mut settled = false;
    // Minute of the last intraday sample: the movers' sparklines get one point per minute of
    // the exchange's extended session, and a new session starts a new series.
    let mut sampled_minute = i64::MIN;
    let mut sampled_session = None;
    let samples_intraday = inst.sec_type != "CASH";
    while let Some(item) = sub.next().await {
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(tick)) => {
                watched.ticked();
                let now = ctx.store().now();
                let minute = now.div_euclid(60_000);
                let (became_delayed, has_price) = ctx.store().update(|st| {
                    let q = quote_entry(st, &key, &inst);
                    let was_delayed = q.mode.is_delayed();
                    if quotes::apply_tick(q, &tick) {
                        q.updated = now;
                    }
                    let price = q.price();
                    let became_delayed = !was_delayed && q.mode.is_delayed();
                    if samples_intraday
                        && minute != sampled_minute
                        && let Some(p) = price
                        && let Some(session) = intraday::sampling_session(now)
                    {
                        if sampled_session.is_some_and(|s| s != session) {
                            quotes::clear_intraday(st, &key);
                        }
                        sampled_minute = minute;
                        sampled_session = Some(session);
                        quotes::push_intraday(st, &key, p);
                    }
                    (became_delayed, price.is_some())
                });
                if became_delayed {
                    ctx.mark_gateway_delayed();
                }
                if has_price && !settled {
                    settled = true;
                    ctx.send(Msg::QuoteSettled(key.clone()));
                }
            }
            Ok(SubscriptionItem::Notice(n)) => {
                on_notice(
                    &ctx,
                    lag::Stream::Quote,
                    n.code,
                    &format!("{key}: {}", n.message),
                );
                if events::is_delayed_notice(n.code) {
                    mark_quote_delayed(&ctx, &key, &inst);
                }
            }
            Err(ibapi::Error::Notice(n)) if n.code == MAX_TICKERS => {
                // No line free at the gateway: not worth retrying, price it from the portfolio.
                ctx.send(Msg::LineRefused(key));
                return;
            }
            Err(ibapi::Error::Notice(n)) if events::is_delayed_notice(n.code) => {
                events::notice(
                    ctx.store(),
                    ctx.role(),
                    n.code,
                    &format!("{key}: {}", n.message),
                );
                mark_quote_delayed(&ctx, &key, &inst);
                drop(watched);
                ctx.send(Msg::Fallback {
                    key,
                    contract: Box::new(contract),
                });
                return;
            }
            Err(e) => {
                ctx.report(&format!("quotes for {key}"), &e);
                break;
            }
        }
    }
    if !settled {
        ctx.send(Msg::QuoteSettled(key));
    }
}

fn quote_entry<'a>(
    st: &'a mut crate::store::LiveState,
    key: &str,
    inst: &Instrument,
) -> &'a mut Quote {
    Arc::make_mut(&mut st.quotes)
        .entry(key.to_string())
        .or_insert_with(|| Quote {
            symbol: key.to_string(),
            con_id: inst.con_id,
            currency: inst.currency.clone(),
            ..Quote::default()
        })
}

fn mark_quote_delayed(ctx: &Ctx, key: &str, inst: &Instrument) {
    let now = ctx.store().now();
    ctx.store().update(|st| {
        let q = quote_entry(st, key, inst);
        if !q.mode.is_delayed() {
            q.mode = DataMode::Delayed;
            q.updated = now;
        }
    });
    ctx.mark_gateway_delayed();
}
