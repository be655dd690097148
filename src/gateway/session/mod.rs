//! One live API session: subscribes everything (account summary, account updates, positions,
//! P&L, P&L per position, quotes for the FX pairs to each base currency and for the largest held
//! instruments within the account's market-data lines, open orders, today's executions), writes
//! the cleaned data into the store, and watches the session for death or a stall. Every
//! (re)connect runs this from scratch: ibapi never resubscribes.
//!
//! Initial sync = account summary, positions, portfolio values, account P&L, plus the first
//! quotes and position P&L of the largest positions (`lines::SYNC_QUOTES` each). Everything else
//! (the other streamed quotes, the other position P&L) trails within the message budget.

//!
//! Layout: this file runs the session loop and routes messages; `tracker` holds the initial-sync
//! bookkeeping, `allocation` hands out market-data lines and position P&L streams, `account`,
//! `positions`, `pnl`, `market_data` and `orders` each fold one kind of stream into the store,
//! `streams` holds what every list stream shares (batching, lag notices, re-requesting), and
//! `housekeeping` the notices, heartbeat and NLV sampling.

mod account;
mod allocation;
mod housekeeping;
mod market_data;
mod orders;
mod pnl;
mod positions;
mod stall;
mod streams;
mod tracker;

pub use allocation::PNL_SINGLE_STREAMS;
pub use orders::read_executions;

use super::shared::Shared;
use super::{connect, convert, events};
use crate::model::*;
use crate::store::Store;
use account::{pnl_loop, summary_loop, updates_loop};
use allocation::{
    PNL_SINGLE_AT_ONCE, ensure_fx_quotes, open_trailing, quote_key_of, rank_and_subscribe, rotated,
    set_price_source, spawn_pnl_single,
};
use housekeeping::{heartbeat_loop, nlv_loop, notice_loop};
use ibapi::Client;
use ibapi::contracts::Contract;
use ibapi::market_data::MarketDataType;
use market_data::quote_loop;
use orders::orders_loop;
use positions::positions_loop;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracker::{Tracker, check_synced};

/// How a session ended.
pub enum SessionEnd {
    Shutdown,
    /// The connection died or stalled; the words say which.
    Lost(String),
}

/// Initial sync waits for every first quote and position P&L; when none of them has arrived for
/// this long, the sync is declared complete anyway (naming what is missing) so that one silent
/// subscription cannot hold the whole cockpit in "syncing".
const SYNC_NO_PROGRESS: Duration = Duration::from_secs(10);

/// Messages from subscription tasks to the session loop.
enum Msg {
    /// A position exists: it needs a quote and a P&L-single subscription.
    Held {
        account: String,
        inst: Instrument,
    },
    PositionsDone,
    SummaryDone,
    UpdatesDone,
    PnlSeen(String),
    /// A position's P&L arrived (or its subscription gave up).
    PositionPnlSettled((String, i32)),
    /// A rotated holding's short-lived P&L request is over.
    PnlRotated((String, i32)),
    /// A quote got its first price, or gave up; either way initial sync need not wait for it.
    QuoteSettled(String),
    /// The gateway refused a quote: no market-data line free (error 101).
    LineRefused(String),
    /// No market-data subscription (354): switch to delayed data and retry this symbol.
    Fallback {
        key: String,
        contract: Box<Contract>,
    },
    /// Currencies may have changed: recompute the FX pairs needed.
    FxDirty,
    /// IB lost our data (1101): resubscribe everything on this session.
    Resubscribe(String),
    Lost(String),
}

/// What every task of the session shares.
struct Ctx {
    shared: Arc<Shared>,
    client: Arc<Client>,
    tx: mpsc::UnboundedSender<Msg>,
    /// When the gateway last sent anything, on the store's clock (shown as the data's age).
    last_data: AtomicI64,
    /// The same moment on the monotonic clock, in ms since `started`: stall detection measures
    /// real silence even when the store runs on a fixed clock.
    last_heard_ms: AtomicU64,
    started: tokio::time::Instant,
    /// Accounts this gateway serves (the configured one, or all managed accounts).
    accounts: Vec<String>,
    /// Opens when open orders and fills may be read: at once for a book whose every position
    /// is part of the initial sync, after the sync for a larger one (its requests go first
    /// within the message budget).
    orders_gate: tokio::sync::watch::Sender<bool>,
    /// When each streamed quote last ticked (the per-symbol stall rule).
    ticks: stall::TickLog,
}

impl Ctx {
    fn store(&self) -> &Store {
        &self.shared.store
    }
    fn role(&self) -> GatewayRole {
        self.shared.role
    }
    /// Notes that the gateway sent something (stall detection, `last_data`).
    fn touch(&self) {
        self.last_data.store(self.store().now(), Ordering::Relaxed);
        self.last_heard_ms
            .store(self.elapsed_ms(), Ordering::Relaxed);
    }
    /// Milliseconds since the session started, on the monotonic clock.
    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
    fn wants(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }
    fn send(&self, msg: Msg) {
        // The receiver only goes away when the session is over; nothing to do then.
        let _ = self.tx.send(msg);
    }
    /// Routes a subscription error: a dead connection ends the session, anything else is logged.
    fn report(&self, what: &str, e: &ibapi::Error) {
        if is_connection_gone(e) {
            self.send(Msg::Lost(format!(
                "connection to the gateway lost ({what}: {e})"
            )));
        } else if let ibapi::Error::Notice(n) = e {
            events::notice(
                self.store(),
                self.role(),
                n.code,
                &format!("{what}: {}", n.message),
            );
        } else {
            events::supervisor(self.store(), self.role(), format!("{what} stopped: {e}"));
        }
    }
    fn mark_gateway_delayed(&self) {
        self.shared.status(|s| {
            if !s.market_data_mode.is_delayed() {
                s.market_data_mode = DataMode::Delayed;
            }
        });
    }
}

fn is_connection_gone(e: &ibapi::Error) -> bool {
    e.is_connection_lost() || matches!(e, ibapi::Error::ConnectionFailed | ibapi::Error::Shutdown)
}

/// IB's market-data type for a configured code (1 live, 2 frozen, 3 delayed, 4 delayed-frozen).
pub fn market_data_type(code: i32) -> MarketDataType {
    match code {
        1 => MarketDataType::Realtime,
        2 => MarketDataType::Frozen,
        3 => MarketDataType::Delayed,
        _ => MarketDataType::DelayedFrozen,
    }
}

/// Runs the session until the connection dies, stalls, or the gateway is shut down.
pub async fn run(shared: &Arc<Shared>, session: connect::Session) -> SessionEnd {
    let connect::Session {
        client, notices, ..
    } = session;
    let accounts: Vec<String> = match &shared.cfg.account {
        Some(a) => vec![a.clone()],
        None => client.handshake_managed_accounts().to_vec(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = Arc::new(Ctx {
        shared: shared.clone(),
        client: client.clone(),
        tx,
        last_data: AtomicI64::new(shared.store.now()),
        last_heard_ms: AtomicU64::new(0),
        started: tokio::time::Instant::now(),
        orders_gate: tokio::sync::watch::Sender::new(false),
        accounts,
        ticks: stall::TickLog::default(),
    });
    shared.set_client(client.clone());

    if let Err(e) = client
        .switch_market_data_type(market_data_type(shared.cfg.market_data_type))
        .await
    {
        ctx.report("market data type", &e);
    }

    let mut tasks = JoinSet::new();
    let mut tracker = Tracker::new(shared.cfg.quote_lines);
    spawn_all(&ctx, &mut tasks, &mut tracker);
    let notice_task = tokio::spawn(notice_loop(ctx.clone(), notices));

    let stall = shared.cfg.stall_timeout.max(Duration::from_millis(500));
    let mut tick = tokio::time::interval(Duration::from_millis(250).min(stall / 2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_reported_data = 0;
    let mut stall_watch = stall::StallWatch::default();
    let end = 'session: loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => break SessionEnd::Shutdown,
            Some(msg) = rx.recv() => {
                let mut batch = vec![msg];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let mut fx_dirty = false;
                for msg in batch {
                    match msg {
                        Msg::Lost(reason) => break 'session SessionEnd::Lost(reason),
                        Msg::Resubscribe(reason) => {
                            events::supervisor(&shared.store, shared.role, format!("resubscribing everything: {reason}"));
                            tasks.abort_all();
                            tracker = Tracker::new(shared.cfg.quote_lines);
                            spawn_all(&ctx, &mut tasks, &mut tracker);
                        }
                        other => fx_dirty |= handle(&ctx, &mut tasks, &mut tracker, other).await,
                    }
                }
                if fx_dirty {
                    ensure_fx_quotes(&ctx, &mut tasks, &mut tracker);
                }
                if tracker.ready_to_rank() {
                    ensure_fx_quotes(&ctx, &mut tasks, &mut tracker);
                    rank_and_subscribe(&ctx, &mut tasks, &mut tracker);
                }
                check_synced(&ctx, &mut tracker);
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = tick.tick() => {
                // The other quotes, then the other position P&L, trail the ones that gate the
                // initial sync.
                if tracker.ranked && tracker.quotes_pending.is_empty() {
                    open_trailing(&ctx, &mut tasks, &mut tracker);
                }
                check_synced(&ctx, &mut tracker);
                if !client.is_connected() {
                    break SessionEnd::Lost("the gateway closed the connection".into());
                }
                if let Some(end) = stall_watch.check(&ctx) {
                    break end;
                }
                let last = ctx.last_data.load(Ordering::Relaxed);
                if last != last_reported_data {
                    last_reported_data = last;
                    shared.status(|s| s.last_data = Some(last));
                }
            }
        }
    };

    let reason = match &end {
        SessionEnd::Shutdown => "shut down".to_string(),
        SessionEnd::Lost(r) => r.clone(),
    };
    shared.clear_client(&reason);
    // A new session watches its own streams; the state says why the old values are stale.
    shared.status(|s| s.silent_symbols.clear());
    tasks.abort_all();
    notice_task.abort();
    drop(ctx);
    // A stalled socket may never answer; don't let the disconnect hold up reconnecting.
    let _ = tokio::time::timeout(Duration::from_secs(2), client.disconnect()).await;
    end
}

/// Opens the subscriptions that do not depend on what the account holds.
fn spawn_all(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
    tasks.spawn(summary_loop(ctx.clone()));
    tasks.spawn(positions_loop(ctx.clone()));
    match ctx.accounts.first() {
        // IB streams account updates (portfolio values) for one account at a time; the others
        // get market value and P&L from the per-position P&L subscriptions.
        Some(first) => {
            tasks.spawn(updates_loop(ctx.clone(), first.clone()));
        }
        None => tracker.updates_done = true,
    }
    for account in &ctx.accounts {
        tracker.pnl_pending.insert(account.clone());
        tasks.spawn(pnl_loop(ctx.clone(), account.clone()));
    }
    tasks.spawn(orders_loop(ctx.clone()));
    tasks.spawn(heartbeat_loop(ctx.clone()));
    tasks.spawn(nlv_loop(ctx.clone()));
}

/// Handles one message; returns true when FX needs may have changed.
async fn handle(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker, msg: Msg) -> bool {
    match msg {
        Msg::Held { account, inst } => {
            if !tracker.ranked {
                // Quotes and position P&L go to the largest positions first: wait until the
                // whole book (and its values) is in.
                tracker.unranked.push((account, inst));
                return true;
            }
            // A position that appeared after the initial sync: a line if one is free.
            let key = quote_key_of(&inst);
            if !tracker.quotes.contains(&key) {
                if tracker.lines().take(&key) {
                    tracker.quotes.insert(key.clone());
                    tracker.unstreamed.remove(&key);
                    set_price_source(ctx, &key, PriceSource::Quote);
                    let contract = convert::contract_for(&inst);
                    tasks.spawn(quote_loop(ctx.clone(), key, contract, inst.clone()));
                } else {
                    tracker.unstreamed.insert(key.clone());
                    set_price_source(ctx, &key, PriceSource::Portfolio);
                }
            }
            let pnl_key = (account.clone(), inst.con_id);
            if inst.con_id != 0 && tracker.pnl_single.insert(pnl_key.clone()) {
                if tracker.pnl_single_opened < PNL_SINGLE_AT_ONCE {
                    tracker.pnl_single_opened += 1;
                    if !tracker.synced {
                        tracker.pnl_single_pending.insert(pnl_key);
                    }
                    spawn_pnl_single(ctx, tasks, tracker, account, inst.con_id);
                } else {
                    tracker.pnl_queue.push_back(pnl_key);
                }
            }
            true
        }
        Msg::PositionsDone => {
            tracker.positions_done = true;
            tracker.progressed();
            true
        }
        Msg::SummaryDone => {
            tracker.summary_done = true;
            tracker.progressed();
            true
        }
        Msg::UpdatesDone => {
            tracker.updates_done = true;
            tracker.progressed();
            false
        }
        Msg::PnlSeen(account) => {
            tracker.pnl_pending.remove(&account);
            tracker.progressed();
            false
        }
        Msg::PnlRotated(key) => {
            rotated(ctx, tracker, key);
            false
        }
        Msg::PositionPnlSettled(key) => {
            tracker.pnl_single_pending.remove(&key);
            tracker.progressed();
            false
        }
        Msg::QuoteSettled(key) => {
            tracker.quotes_pending.remove(&key);
            tracker.progressed();
            false
        }
        Msg::LineRefused(key) => {
            tracker.quotes_pending.remove(&key);
            tracker.quotes.remove(&key);
            tracker.unstreamed.insert(key.clone());
            let first = tracker.lines().refused(&key);
            let held = tracker.lines().in_use();
            if first {
                events::supervisor(
                    ctx.store(),
                    ctx.role(),
                    format!(
                        "market-data lines exhausted (101) — raise gateway.quote_lines only if your IB account has more lines (configured {}, the gateway took {held}); {key} and the holdings beyond are priced from portfolio updates",
                        tracker.lines().configured()
                    ),
                );
            }
            set_price_source(ctx, &key, PriceSource::Portfolio);
            tracker.progressed();
            false
        }
        Msg::Fallback { key, contract } => {
            let wanted = ctx.shared.cfg.market_data_type;
            if !tracker.switched_to_delayed && wanted < 3 {
                tracker.switched_to_delayed = true;
                let fallback = if wanted == 2 {
                    MarketDataType::DelayedFrozen
                } else {
                    MarketDataType::Delayed
                };
                if let Err(e) = ctx.client.switch_market_data_type(fallback).await {
                    ctx.report("switch to delayed data", &e);
                }
                events::supervisor(
                    ctx.store(),
                    ctx.role(),
                    "switched to delayed market data for symbols without a live subscription",
                );
            }
            if tracker.fell_back.insert(key.clone()) {
                let inst = convert::instrument(&contract);
                tasks.spawn(quote_loop(ctx.clone(), key, *contract, inst));
            } else {
                tracker.quotes_pending.remove(&key);
            }
            false
        }
        Msg::FxDirty => true,
        // Handled by the loop itself.
        Msg::Resubscribe(_) | Msg::Lost(_) => false,
    }
}
