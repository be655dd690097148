//! The line budget: which holdings get a streaming quote (FX pairs first, then the largest
//! positions within the account's market-data lines) and which get a position P&L stream, what
//! is opened at once and what trails a few per tick, and each position's price source.

use super::Ctx;
use super::market_data::quote_loop;
use super::pnl::{pnl_single_loop, pnl_single_once};
use super::tracker::Tracker;
use crate::gateway::{convert, events, lines, quotes};
use crate::model::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::task::JoinSet;

/// P&L-single subscriptions opened immediately (enough for a typical book to sync complete).
pub(super) const PNL_SINGLE_AT_ONCE: usize = lines::SYNC_QUOTES;
/// Position P&L streams kept for the holdings of the account whose portfolio streams (the
/// largest first). Each streaming subscription costs ibapi a preallocated channel of
/// `connect::DEFAULT_CHANNEL_CAPACITY` frames (~120 KB): one per holding took `serve` to ~265 MB
/// at 2,000 positions. Those holdings' value, price and unrealized P&L already come from the
/// portfolio updates; only their daily P&L needs this stream, so the smallest holdings of a
/// huge book go without it. Other accounts' holdings always get one (it is their only source of
/// value and P&L).
pub const PNL_SINGLE_STREAMS: usize = 100;
/// Rotated position P&L requests started per session tick, and open at once.
const ROTATED_PER_TICK: usize = 3;
/// The same while the daily history of every holding is being fetched (see `warm`): a few
/// minutes' older daily P&L for the smallest holdings buys the history twice the messages.
const ROTATED_PER_TICK_WHILE_WARMING: usize = 1;
const ROTATED_IN_FLIGHT: usize = 12;
/// Trailing subscriptions (quotes first, then position P&L) opened per session tick (4 ticks a
/// second → ~20 messages/s, leaving the rest of IB's budget to on-demand requests).
const TRAILING_PER_TICK: usize = 5;

/// Subscribes the FX pairs that convert every position and cash currency into each account's
/// base currency (store keys such as `USD.CAD`).
pub(super) fn ensure_fx_quotes(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
    let snap = ctx.store().snapshot();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for account in snap
        .accounts
        .values()
        .filter(|a| a.gateway == Some(ctx.role()) && ctx.wants(&a.account))
    {
        let base = account.base_currency.as_str();
        if base.is_empty() {
            continue;
        }
        let position_ccys = snap
            .positions_of(&account.account)
            .map(|p| p.instrument.currency.as_str());
        let cash_ccys = account.cash_by_currency.keys().map(String::as_str);
        for ccy in position_ccys.chain(cash_ccys) {
            if ccy.is_empty() || ccy == "BASE" || ccy.eq_ignore_ascii_case(base) {
                continue;
            }
            let pair = quotes::fx_pair(ccy, base);
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    for (b, q) in pairs {
        let key = format!("{b}.{q}");
        // FX pairs convert every amount into the base currency: they take lines first.
        if !tracker.quotes.contains(&key) && tracker.lines().take(&key) {
            tracker.quotes.insert(key.clone());
            if !tracker.synced {
                tracker.quotes_pending.insert(key.clone());
            }
            let contract = convert::fx_contract(&b, &q);
            let inst = convert::instrument(&contract);
            tasks.spawn(quote_loop(ctx.clone(), key, contract, inst));
        }
    }
}

/// The quote store key of an instrument (`KRYX`, `USD.CAD`, `KRYX 20250620 30C`).
pub(super) fn quote_key_of(inst: &Instrument) -> String {
    quotes::quote_key(
        &inst.symbol,
        &inst.sec_type,
        &inst.currency,
        &inst.expiry,
        inst.strike,
        &inst.right,
    )
}

/// Hands out the initial book's subscriptions, largest positions first: quote lines (within
/// the budget left after the FX pairs) and position P&L. The largest `SYNC_QUOTES` of each are
/// opened now and gate the initial sync; the other streamed quotes and P&L are queued; the
/// positions beyond the lines are marked as priced from portfolio updates.
pub(super) fn rank_and_subscribe(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
    tracker.ranked = true;
    let unranked = std::mem::take(&mut tracker.unranked);
    if unranked.len() <= lines::SYNC_QUOTES {
        ctx.orders_gate.send_replace(true);
    }
    let snap = ctx.store().snapshot();
    // Weights in each account's base currency, so a EUR and a USD position compare fairly.
    let weight = |account: &str, inst: &Instrument| -> f64 {
        let Some(p) = snap.positions.get(&(account.to_string(), inst.con_id)) else {
            return 0.0;
        };
        let w = lines::position_weight(
            p.market_value,
            p.quantity,
            p.avg_cost,
            p.instrument.multiplier,
        );
        let base = snap
            .accounts
            .get(account)
            .map(|a| a.base_currency.as_str())
            .unwrap_or("");
        let rate = if base.is_empty() {
            None
        } else {
            snap.fx_rate(&p.instrument.currency, base)
        };
        w * rate.unwrap_or(1.0)
    };
    let mut instruments: HashMap<String, Instrument> = HashMap::new();
    let mut quote_weights: Vec<(String, f64)> = Vec::with_capacity(unranked.len());
    let mut pnl_weights: Vec<((String, i32), f64)> = Vec::with_capacity(unranked.len());
    let mut seen_pnl: HashSet<(String, i32)> = HashSet::new();
    for (account, inst) in &unranked {
        let key = quote_key_of(inst);
        let w = weight(account, inst);
        quote_weights.push((key.clone(), w));
        instruments.entry(key).or_insert_with(|| inst.clone());
        let pnl_key = (account.clone(), inst.con_id);
        if inst.con_id != 0 && seen_pnl.insert(pnl_key.clone()) {
            pnl_weights.push((pnl_key, w));
        }
    }

    // Lines left after the FX pairs. Queued quotes take theirs when they are opened, so a
    // gateway that refuses lines (101) shrinks the budget before the queue asks.
    let mut planned = tracker
        .lines()
        .capacity()
        .saturating_sub(tracker.lines().in_use());
    let mut streamed_now = 0;
    for key in lines::rank(quote_weights) {
        let Some(inst) = instruments.remove(&key) else {
            continue;
        };
        if tracker.quotes.contains(&key) {
            continue;
        }
        if planned == 0 {
            tracker.unstreamed.insert(key);
            continue;
        }
        planned -= 1;
        tracker.quotes.insert(key.clone());
        if streamed_now < lines::SYNC_QUOTES && tracker.lines().take(&key) {
            streamed_now += 1;
            if !tracker.synced {
                tracker.quotes_pending.insert(key.clone());
            }
            let contract = convert::contract_for(&inst);
            tasks.spawn(quote_loop(ctx.clone(), key, contract, inst));
        } else {
            tracker.quote_queue.push_back((key, inst));
        }
    }

    pnl_weights.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (pnl_key, _) in pnl_weights {
        if !tracker.pnl_single.insert(pnl_key.clone()) {
            continue;
        }
        if tracker.pnl_single_opened < PNL_SINGLE_AT_ONCE {
            tracker.pnl_single_opened += 1;
            if !tracker.synced {
                tracker.pnl_single_pending.insert(pnl_key.clone());
            }
            spawn_pnl_single(ctx, tasks, tracker, pnl_key.0, pnl_key.1);
        } else {
            tracker.pnl_queue.push_back(pnl_key);
        }
    }
    mark_price_sources(ctx, &tracker.unstreamed);
    if !tracker.unstreamed.is_empty() {
        events::supervisor(
            ctx.store(),
            ctx.role(),
            format!(
                "streaming quotes for the {} largest holding(s) and FX pair(s) within {} market-data lines ({} kept free for on-demand quotes); {} smaller holding(s) priced from portfolio updates",
                tracker.quotes.len(),
                tracker.lines().configured(),
                tracker.lines().configured() - tracker.lines().capacity(),
                tracker.unstreamed.len()
            ),
        );
    }
}

/// Opens a few trailing subscriptions: queued quotes first (a line each, while the gateway
/// has them), then queued position P&L.
pub(super) fn open_trailing(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
    let mut budget = TRAILING_PER_TICK;
    while budget > 0 {
        let Some((key, inst)) = tracker.quote_queue.pop_front() else {
            break;
        };
        if !tracker.lines().take(&key) {
            // The gateway turned out to have fewer lines (101): price it from the portfolio.
            tracker.quotes.remove(&key);
            tracker.unstreamed.insert(key.clone());
            set_price_source(ctx, &key, PriceSource::Portfolio);
            continue;
        }
        budget -= 1;
        let contract = convert::contract_for(&inst);
        tasks.spawn(quote_loop(ctx.clone(), key, contract, inst));
    }
    while budget > 0 {
        let Some((account, con_id)) = tracker.pnl_queue.pop_front() else {
            break;
        };
        if ctx.accounts.first() == Some(&account)
            && tracker.pnl_single_streams >= PNL_SINGLE_STREAMS
        {
            tracker.pnl_rotation.push_back((account, con_id));
            tracker.pnl_rotated_holdings += 1;
            continue;
        }
        budget -= 1;
        spawn_pnl_single(ctx, tasks, tracker, account, con_id);
    }
    // The rotation takes what the trailing subscriptions leave of the message budget.
    if tracker.quote_queue.is_empty() && tracker.pnl_queue.is_empty() {
        if tracker.pnl_rotated_holdings > 0 && !tracker.pnl_rotation_announced {
            tracker.pnl_rotation_announced = true;
            events::supervisor(
                ctx.store(),
                ctx.role(),
                format!(
                    "daily P&L streamed for the {PNL_SINGLE_STREAMS} largest holding(s); {} smaller holding(s) get theirs in rotation, one short request each, every few minutes (each position says when its daily P&L arrived)",
                    tracker.pnl_rotated_holdings
                ),
            );
        }
        rotate_pnl(ctx, tasks, tracker);
    }
}

/// Starts the next rotated P&L requests, a few per tick with a few in flight: 3 per tick at 4
/// ticks a second is ~24 messages a second with the cancels, so a 2,000-position book's 1,900
/// rotated holdings each get a fresh daily P&L every ~2.7 minutes.
fn rotate_pnl(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
    let per_tick = if ctx
        .shared
        .warming
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        ROTATED_PER_TICK_WHILE_WARMING
    } else {
        ROTATED_PER_TICK
    };
    let mut started = 0;
    while started < per_tick && tracker.pnl_rotating < ROTATED_IN_FLIGHT {
        let Some((account, con_id)) = tracker.pnl_rotation.pop_front() else {
            break;
        };
        tracker
            .pnl_pass_started
            .get_or_insert_with(tokio::time::Instant::now);
        started += 1;
        tracker.pnl_rotating += 1;
        tasks.spawn(pnl_single_once(ctx.clone(), account, con_id));
    }
}

/// A rotated request is over: the holding goes to the back of the queue while it is still
/// held, and a completed pass over every rotated holding is reported once in words.
pub(super) fn rotated(ctx: &Ctx, tracker: &mut Tracker, key: (String, i32)) {
    tracker.pnl_rotating = tracker.pnl_rotating.saturating_sub(1);
    if ctx.store().snapshot().positions.contains_key(&key) {
        tracker.pnl_rotation.push_back(key);
    } else {
        tracker.pnl_rotated_holdings = tracker.pnl_rotated_holdings.saturating_sub(1);
    }
    tracker.pnl_pass_done += 1;
    if tracker.pnl_pass_done < tracker.pnl_rotated_holdings {
        return;
    }
    let took = tracker
        .pnl_pass_started
        .map(|t| t.elapsed())
        .unwrap_or_default();
    tracker.pnl_pass_done = 0;
    tracker.pnl_pass_started = None;
    if !tracker.pnl_rotation_reported {
        tracker.pnl_rotation_reported = true;
        events::supervisor(
            ctx.store(),
            ctx.role(),
            format!(
                "daily P&L rotation: all {} rotated holding(s) refreshed in one pass of {:.0}s; each holding's daily P&L is at most about that old",
                tracker.pnl_rotated_holdings,
                took.as_secs_f64()
            ),
        );
    }
}

/// Opens one position P&L stream, counting it against `PNL_SINGLE_STREAMS` when it belongs to
/// the portfolio account.
pub(super) fn spawn_pnl_single(
    ctx: &Arc<Ctx>,
    tasks: &mut JoinSet<()>,
    tracker: &mut Tracker,
    account: String,
    con_id: i32,
) {
    if ctx.accounts.first() == Some(&account) {
        tracker.pnl_single_streams += 1;
    }
    tasks.spawn(pnl_single_loop(ctx.clone(), account, con_id));
}

/// Marks every position of this gateway: portfolio-priced when its quote key has no line,
/// quote-priced otherwise.
fn mark_price_sources(ctx: &Ctx, unstreamed: &HashSet<String>) {
    ctx.store().update(|st| {
        let wrong: Vec<(String, i32)> = st
            .positions
            .iter()
            .filter(|(k, p)| {
                ctx.wants(&k.0)
                    && (p.price_source == PriceSource::Portfolio)
                        != unstreamed.contains(&quote_key_of(&p.instrument))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if wrong.is_empty() {
            return;
        }
        let positions = Arc::make_mut(&mut st.positions);
        for k in wrong {
            if let Some(p) = positions.get_mut(&k) {
                p.price_source = if unstreamed.contains(&quote_key_of(&p.instrument)) {
                    PriceSource::Portfolio
                } else {
                    PriceSource::Quote
                };
            }
        }
    });
}

/// Sets the price source of every position of this gateway whose quote key is `key`.
pub(super) fn set_price_source(ctx: &Ctx, key: &str, source: PriceSource) {
    ctx.store().update(|st| {
        let wrong: Vec<(String, i32)> = st
            .positions
            .iter()
            .filter(|(k, p)| {
                ctx.wants(&k.0) && p.price_source != source && quote_key_of(&p.instrument) == key
            })
            .map(|(k, _)| k.clone())
            .collect();
        if wrong.is_empty() {
            return;
        }
        let positions = Arc::make_mut(&mut st.positions);
        for k in wrong {
            if let Some(p) = positions.get_mut(&k) {
                p.price_source = source;
            }
        }
    });
}
