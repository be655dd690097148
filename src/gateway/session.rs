//! One live API session: subscribes everything (account summary, account updates, positions,
//! P&L, P&L per position, quotes for the FX pairs to each base currency and for the largest held
//! instruments within the account's market-data lines, open orders, today's executions), writes
//! the cleaned data into the store, and watches the session for death or a stall. Every
//! (re)connect runs this from scratch: ibapi never resubscribes.
//!
//! Initial sync = account summary, positions, portfolio values, account P&L, plus the first
//! quotes and position P&L of the largest positions (`lines::SYNC_QUOTES` each). Everything else
//! (the other streamed quotes, the other position P&L) trails within the message budget.

use super::lines::{self, LineBudget};
use super::shared::Shared;
use super::{cleaning, connect, convert, events, lag, quotes};
use crate::model::*;
use crate::store::Store;
use futures::{FutureExt, StreamExt};
use ibapi::Client;
use ibapi::accounts::types::{AccountGroup, AccountId, ContractId};
use ibapi::accounts::{AccountSummaryResult, AccountUpdate, PositionUpdate};
use ibapi::contracts::Contract;
use ibapi::market_data::MarketDataType;
use ibapi::orders::{ExecutionFilter, Executions, Orders};
use ibapi::subscriptions::{NoticeStream, SubscriptionItem};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How a session ended.
pub enum SessionEnd {
    Shutdown,
    /// The connection died or stalled; the words say which.
    Lost(String),
}

/// How often open orders and today's executions are re-read.
const ORDERS_REFRESH: Duration = Duration::from_secs(30);
/// How often NLV is sampled into SQLite.
const NLV_EVERY: Duration = Duration::from_secs(60);
/// P&L-single subscriptions opened immediately (enough for a typical book to sync complete).
const PNL_SINGLE_AT_ONCE: usize = lines::SYNC_QUOTES;
/// Position P&L streams kept for the holdings of the account whose portfolio streams (the
/// largest first). Each streaming subscription costs ibapi a preallocated channel of
/// `connect::DEFAULT_CHANNEL_CAPACITY` frames (~120 KB): one per holding took `serve` to ~265 MB
/// at 2,000 positions. Those holdings' value, price and unrealized P&L already come from the
/// portfolio updates; only their daily P&L needs this stream, so the smallest holdings of a
/// huge book go without it. Other accounts' holdings always get one (it is their only source of
/// value and P&L).
pub const PNL_SINGLE_STREAMS: usize = 100;
/// Trailing subscriptions (quotes first, then position P&L) opened per session tick (4 ticks a
/// second → ~20 messages/s, leaving the rest of IB's budget to on-demand requests).
const TRAILING_PER_TICK: usize = 5;
/// Bound on one-shot reads done by the session (orders, executions).
const ONE_SHOT_TIMEOUT: Duration = Duration::from_secs(15);
/// Initial sync waits for every first quote and position P&L; when none of them has arrived for
/// this long, the sync is declared complete anyway (naming what is missing) so that one silent
/// subscription cannot hold the whole cockpit in "syncing".
const SYNC_NO_PROGRESS: Duration = Duration::from_secs(10);

/// IB's "Max number of tickers has been reached": every market-data line is in use.
const MAX_TICKERS: i32 = 101;

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
    last_data: AtomicI64,
    /// Accounts this gateway serves (the configured one, or all managed accounts).
    accounts: Vec<String>,
    /// Opens when open orders and fills may be read: at once for a book whose every position
    /// is part of the initial sync, after the sync for a larger one (its requests go first
    /// within the message budget).
    orders_gate: tokio::sync::watch::Sender<bool>,
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

/// Subscriptions already open and initial-sync bookkeeping, owned by the session loop.
#[derive(Default)]
struct Tracker {
    /// Quote keys with a streaming subscription (open or queued).
    quotes: HashSet<String>,
    /// Market-data lines: who holds one, how many are left.
    lines: Option<LineBudget>,
    /// Positions seen before the book could be ranked (held until account data is in).
    unranked: Vec<(String, Instrument)>,
    /// True once the initial book has been ranked and its subscriptions handed out.
    ranked: bool,
    /// Streamed quotes waiting their turn after the initial sync's, largest first.
    quote_queue: VecDeque<(String, Instrument)>,
    /// Quote keys without a line: priced from portfolio updates.
    unstreamed: HashSet<String>,
    pnl_single: HashSet<(String, i32)>,
    /// P&L-single subscriptions waiting their turn: they are opened after the quotes, a few at
    /// a time, so a large book neither delays the first prices nor starves on-demand requests
    /// of IB's 50-messages-per-second budget.
    pnl_queue: VecDeque<(String, i32)>,
    /// Position P&L subscriptions opened at once (part of the initial sync), at most
    /// `PNL_SINGLE_AT_ONCE`; their first updates are awaited like the first quotes.
    pnl_single_pending: HashSet<(String, i32)>,
    pnl_single_opened: usize,
    /// Position P&L streams opened for the portfolio account (bounded by `PNL_SINGLE_STREAMS`).
    pnl_single_streams: usize,
    /// Portfolio-account holdings left without a position P&L stream, once reported.
    pnl_single_skipped: usize,
    pnl_single_skip_reported: bool,
    fell_back: HashSet<String>,
    switched_to_delayed: bool,
    summary_done: bool,
    positions_done: bool,
    updates_done: bool,
    pnl_pending: HashSet<String>,
    quotes_pending: HashSet<String>,
    synced: bool,
    /// When the initial sync last moved forward (a first quote, P&L or account answer).
    last_progress: Option<tokio::time::Instant>,
}

impl Tracker {
    fn new(quote_lines: usize) -> Self {
        Tracker {
            lines: Some(LineBudget::new(quote_lines)),
            ..Tracker::default()
        }
    }

    fn lines(&mut self) -> &mut LineBudget {
        self.lines.get_or_insert_with(|| LineBudget::new(0))
    }

    /// The account data needed to rank the book by size has arrived.
    fn ready_to_rank(&self) -> bool {
        !self.ranked && self.summary_done && self.positions_done && self.updates_done
    }

    fn progressed(&mut self) {
        self.last_progress = Some(tokio::time::Instant::now());
    }

    /// True when the account data is in and only first quotes or position P&L are missing,
    /// and none of those has arrived for `SYNC_NO_PROGRESS`.
    fn stuck(&self) -> bool {
        self.summary_done
            && self.positions_done
            && self.updates_done
            && self
                .last_progress
                .is_some_and(|t| t.elapsed() >= SYNC_NO_PROGRESS)
    }

    fn complete(&self) -> bool {
        self.summary_done
            && self.positions_done
            && self.updates_done
            && self.pnl_pending.is_empty()
            && self.quotes_pending.is_empty()
            && self.pnl_single_pending.is_empty()
    }
}

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
        orders_gate: tokio::sync::watch::Sender::new(false),
        accounts,
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
                let now = shared.store.now();
                let last = ctx.last_data.load(Ordering::Relaxed);
                let silent_ms = now - last;
                if silent_ms > stall.as_millis() as i64 {
                    break SessionEnd::Lost(format!(
                        "no data from the gateway for {:.0}s although the socket is open (stalled)",
                        silent_ms as f64 / 1000.0
                    ));
                }
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

/// Subscribes the FX pairs that convert every position and cash currency into each account's
/// base currency (store keys such as `USD.CAD`).
fn ensure_fx_quotes(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
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
fn quote_key_of(inst: &Instrument) -> String {
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
fn rank_and_subscribe(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
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
fn open_trailing(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>, tracker: &mut Tracker) {
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
            tracker.pnl_single_skipped += 1;
            continue;
        }
        budget -= 1;
        spawn_pnl_single(ctx, tasks, tracker, account, con_id);
    }
    if tracker.pnl_queue.is_empty()
        && tracker.pnl_single_skipped > 0
        && !tracker.pnl_single_skip_reported
    {
        tracker.pnl_single_skip_reported = true;
        events::supervisor(
            ctx.store(),
            ctx.role(),
            format!(
                "daily P&L streamed for the {PNL_SINGLE_STREAMS} largest holding(s); {} smaller holding(s) show value and unrealized P&L from portfolio updates, without daily P&L",
                tracker.pnl_single_skipped
            ),
        );
    }
}

/// Opens one position P&L stream, counting it against `PNL_SINGLE_STREAMS` when it belongs to
/// the portfolio account.
fn spawn_pnl_single(
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
fn set_price_source(ctx: &Ctx, key: &str, source: PriceSource) {
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

fn check_synced(ctx: &Ctx, tracker: &mut Tracker) {
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

// ---------------------------------------------------------------------------------------------
// Subscription loops. Each one: open, fold items into the store, report how it ended.

async fn notice_loop(ctx: Arc<Ctx>, mut notices: NoticeStream) {
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

async fn heartbeat_loop(ctx: Arc<Ctx>) {
    // A quiet market sends nothing for minutes; a cheap request proves the gateway still
    // answers, so "no data" really means a stalled connection.
    let stall = ctx.shared.cfg.stall_timeout;
    let every = (stall / 3).clamp(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        tokio::time::sleep(every).await;
        match tokio::time::timeout(stall, ctx.client.server_time()).await {
            Ok(Ok(_)) => ctx.touch(),
            Ok(Err(e)) if is_connection_gone(&e) => {
                ctx.report("heartbeat", &e);
                return;
            }
            _ => {}
        }
    }
}

async fn summary_loop(ctx: Arc<Ctx>) {
    // Initial sync waits for one complete summary, however many attempts that takes.
    let mut summarized = false;
    let mut attempt = 0;
    while let Ended::Lagged = summary_stream(&ctx, &mut summarized).await {
        attempt += 1;
        before_rerequest(&ctx, lag::Stream::AccountSummary, attempt).await;
    }
    if !summarized {
        ctx.send(Msg::SummaryDone);
    }
}

/// One account-summary subscription. `summarized` becomes true at the first complete summary.
async fn summary_stream(ctx: &Arc<Ctx>, summarized: &mut bool) -> Ended {
    let mut tags: Vec<&str> = tags::SUMMARY.to_vec();
    // Per-currency cash balances come as TotalCashBalance/CashBalance rows per currency.
    tags.push("$LEDGER:ALL");
    let mut sub = match ctx
        .client
        .account_summary(&AccountGroup::from("All"), &tags)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            ctx.report("account summary", &e);
            return Ended::Closed;
        }
    };
    while let Some(item) = sub.next().await {
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(AccountSummaryResult::Summary(row))) => {
                if ctx.wants(&row.account)
                    && apply_account_row(ctx, &row.account, &row.tag, &row.value, &row.currency)
                {
                    ctx.send(Msg::FxDirty);
                }
            }
            Ok(SubscriptionItem::Data(AccountSummaryResult::End)) => {
                if !*summarized {
                    *summarized = true;
                    ctx.send(Msg::SummaryDone);
                }
            }
            Ok(SubscriptionItem::Notice(n)) => {
                if on_notice(ctx, lag::Stream::AccountSummary, n.code, &n.message)
                    == lag::OnLag::Rerequest
                {
                    sub.cancel().await;
                    return Ended::Lagged;
                }
            }
            Err(e) => {
                ctx.report("account summary", &e);
                return Ended::Closed;
            }
        }
    }
    Ended::Closed
}

/// Writes one account value; returns true when it was a cash-per-currency row (FX needs).
fn apply_account_row(ctx: &Ctx, account: &str, tag: &str, value: &str, currency: &str) -> bool {
    let Some(v) = cleaning::parse_amount(value) else {
        return false;
    };
    let is_summary_tag = tags::SUMMARY.contains(&tag);
    let is_cash_row = matches!(tag, "TotalCashBalance" | "CashBalance")
        && !currency.is_empty()
        && currency != "BASE";
    if !is_summary_tag && !is_cash_row {
        return false;
    }
    let now = ctx.store().now();
    let role = ctx.role();
    ctx.store().update(|st| {
        let accounts = Arc::make_mut(&mut st.accounts);
        let a = accounts
            .entry(account.to_string())
            .or_insert_with(|| AccountSnapshot {
                account: account.to_string(),
                ..AccountSnapshot::default()
            });
        a.gateway = Some(role);
        a.updated = now;
        if is_summary_tag {
            if tag == tags::NET_LIQUIDATION && !currency.is_empty() && currency != "BASE" {
                a.base_currency = currency.to_string();
            }
            a.values.insert(
                tag.to_string(),
                AccountValue {
                    value: v,
                    currency: currency.to_string(),
                },
            );
        } else {
            a.cash_by_currency.insert(currency.to_string(), v);
        }
    });
    is_cash_row
}

/// How one subscription of a list stream ended.
enum Ended {
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
fn with_ready<S: futures::Stream + Unpin>(sub: &mut S, first: S::Item) -> Vec<S::Item> {
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
fn on_notice(ctx: &Ctx, stream: lag::Stream, code: i32, text: &str) -> lag::OnLag {
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

/// The pause before requesting a lagged list stream again (`attempt` counts from 1).
async fn before_rerequest(ctx: &Ctx, stream: lag::Stream, attempt: u32) {
    tracing::warn!(
        gateway = ctx.role().as_str(),
        "{} stream lagged; request {} follows",
        stream.label(),
        attempt + 1
    );
    tokio::time::sleep(lag::rerequest_delay(attempt)).await;
}

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

async fn positions_loop(ctx: Arc<Ctx>) {
    // Initial sync waits for one complete list, however many attempts that takes.
    let mut listed = false;
    let mut attempt = 0;
    while let Ended::Lagged = positions_stream(&ctx, &mut listed).await {
        attempt += 1;
        before_rerequest(&ctx, lag::Stream::Positions, attempt).await;
    }
    if !listed {
        ctx.send(Msg::PositionsDone);
    }
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

async fn updates_loop(ctx: Arc<Ctx>, account: String) {
    // Initial sync waits for one complete download, however many attempts that takes.
    let mut downloaded = false;
    let mut attempt = 0;
    while let Ended::Lagged = updates_stream(&ctx, &account, &mut downloaded).await {
        attempt += 1;
        before_rerequest(&ctx, lag::Stream::AccountUpdates, attempt).await;
    }
    if !downloaded {
        ctx.send(Msg::UpdatesDone);
    }
}

/// One portfolio row (value and P&L of a position, in the instrument's currency).
struct PortfolioRow {
    key: (String, i32),
    inst: Instrument,
    qty: f64,
    avg_cost: Option<f64>,
    market_price: Option<f64>,
    market_value: Option<f64>,
    unrealized_pnl: Option<f64>,
    realized_pnl: Option<f64>,
}

/// One account-updates subscription. `downloaded` becomes true at the first complete download.
async fn updates_stream(ctx: &Arc<Ctx>, account: &str, downloaded: &mut bool) -> Ended {
    let mut sub = match ctx.client.account_updates(&AccountId::from(account)).await {
        Ok(s) => s,
        Err(e) => {
            ctx.report("account updates", &e);
            return Ended::Closed;
        }
    };
    while let Some(first) = sub.next().await {
        ctx.touch();
        let mut rows = Vec::new();
        let mut fx_dirty = false;
        let mut download_ended = false;
        let mut ended = None;
        for item in with_ready(&mut sub, first) {
            match item {
                Ok(SubscriptionItem::Data(AccountUpdate::AccountValue(v))) => {
                    let acct = v.account.clone().unwrap_or_else(|| account.to_string());
                    // Only cash per currency: the summary subscription owns the summary tags.
                    if matches!(v.key.as_str(), "TotalCashBalance" | "CashBalance")
                        && ctx.wants(&acct)
                    {
                        fx_dirty |= apply_account_row(ctx, &acct, &v.key, &v.value, &v.currency);
                    }
                }
                Ok(SubscriptionItem::Data(AccountUpdate::PortfolioValue(p))) => {
                    let acct = p.account.clone().unwrap_or_else(|| account.to_string());
                    let qty = cleaning::quantity(p.position).unwrap_or(0.0);
                    if !ctx.wants(&acct) || qty == 0.0 {
                        continue;
                    }
                    let inst = convert::instrument(&p.contract);
                    let per_unit = if inst.multiplier > 1.0 {
                        inst.multiplier
                    } else {
                        1.0
                    };
                    rows.push(PortfolioRow {
                        key: (acct, inst.con_id),
                        inst,
                        qty,
                        avg_cost: cleaning::amount(p.average_cost).map(|c| c / per_unit),
                        market_price: cleaning::price(p.market_price),
                        market_value: cleaning::amount(p.market_value),
                        unrealized_pnl: cleaning::amount(p.unrealized_pnl),
                        realized_pnl: cleaning::amount(p.realized_pnl),
                    });
                }
                Ok(SubscriptionItem::Data(AccountUpdate::End)) => download_ended = true,
                Ok(SubscriptionItem::Data(AccountUpdate::UpdateTime(_))) => {}
                Ok(SubscriptionItem::Notice(n)) => {
                    if on_notice(ctx, lag::Stream::AccountUpdates, n.code, &n.message)
                        == lag::OnLag::Rerequest
                    {
                        ended = Some(Ended::Lagged);
                        break;
                    }
                }
                Err(e) => {
                    ctx.report("account updates", &e);
                    ended = Some(Ended::Closed);
                    break;
                }
            }
        }
        apply_portfolio_rows(ctx, rows);
        if fx_dirty {
            ctx.send(Msg::FxDirty);
        }
        if download_ended && !*downloaded {
            *downloaded = true;
            ctx.send(Msg::UpdatesDone);
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

/// Applies a batch of portfolio rows in one store update.
fn apply_portfolio_rows(ctx: &Ctx, rows: Vec<PortfolioRow>) {
    if rows.is_empty() {
        return;
    }
    let now = ctx.store().now();
    ctx.store().update(|st| {
        let positions = Arc::make_mut(&mut st.positions);
        for row in rows {
            let account = row.key.0.clone();
            let pos = positions.entry(row.key).or_insert_with(|| Position {
                account,
                instrument: row.inst,
                quantity: row.qty,
                avg_cost: row.avg_cost.unwrap_or(0.0),
                ..Position::default()
            });
            pos.market_price = row.market_price.or(pos.market_price);
            pos.market_value = row.market_value.or(pos.market_value);
            pos.unrealized_pnl = row.unrealized_pnl.or(pos.unrealized_pnl);
            pos.realized_pnl = row.realized_pnl.or(pos.realized_pnl);
            pos.updated = now;
        }
    });
}

async fn pnl_loop(ctx: Arc<Ctx>, account: String) {
    let mut sub = match ctx
        .client
        .pnl(&AccountId::from(account.as_str()), None)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            ctx.report("account P&L", &e);
            ctx.send(Msg::PnlSeen(account));
            return;
        }
    };
    let mut seen = false;
    while let Some(item) = sub.next().await {
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(p)) => {
                let pnl = AccountPnl {
                    daily: cleaning::amount(p.daily_pnl),
                    unrealized: cleaning::amount_opt(p.unrealized_pnl),
                    realized: cleaning::amount_opt(p.realized_pnl),
                };
                let now = ctx.store().now();
                let role = ctx.role();
                ctx.store().update(|st| {
                    let a = Arc::make_mut(&mut st.accounts)
                        .entry(account.clone())
                        .or_insert_with(|| AccountSnapshot {
                            account: account.clone(),
                            ..AccountSnapshot::default()
                        });
                    a.gateway = Some(role);
                    a.pnl = Some(pnl);
                    a.updated = now;
                });
                if !seen {
                    seen = true;
                    ctx.send(Msg::PnlSeen(account.clone()));
                }
            }
            Ok(SubscriptionItem::Notice(n)) => {
                on_notice(&ctx, lag::Stream::AccountPnl, n.code, &n.message);
            }
            Err(e) => {
                ctx.report("account P&L", &e);
                break;
            }
        }
    }
    if !seen {
        ctx.send(Msg::PnlSeen(account));
    }
}

async fn pnl_single_loop(ctx: Arc<Ctx>, account: String, con_id: i32) {
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
        pos.daily_pnl = conv(p.daily_pnl).or(pos.daily_pnl);
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

async fn quote_loop(ctx: Arc<Ctx>, key: String, contract: Contract, inst: Instrument) {
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
    let mut settled = false;
    // Minute of the last intraday sample: the movers' sparklines get one point per minute.
    let mut sampled_minute = i64::MIN;
    let samples_intraday = inst.sec_type != "CASH";
    while let Some(item) = sub.next().await {
        ctx.touch();
        match item {
            Ok(SubscriptionItem::Data(tick)) => {
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
                    {
                        sampled_minute = minute;
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

async fn orders_loop(ctx: Arc<Ctx>) {
    // Orders and fills are not part of the initial sync; on a big book its requests go first.
    let mut gate = ctx.orders_gate.subscribe();
    let _ = tokio::time::timeout(SYNC_NO_PROGRESS, gate.wait_for(|open| *open)).await;
    loop {
        refresh_open_orders(&ctx).await;
        refresh_fills(&ctx).await;
        tokio::time::sleep(ORDERS_REFRESH).await;
    }
}

async fn refresh_open_orders(ctx: &Ctx) {
    let read = async {
        let mut sub = ctx.client.all_open_orders().await?;
        let mut views: Vec<OrderView> = Vec::new();
        let mut statuses: HashMap<i32, ibapi::orders::OrderStatus> = HashMap::new();
        while let Some(item) = sub.next().await {
            match item {
                Ok(SubscriptionItem::Data(Orders::OrderData(d))) => {
                    views.push(convert::order_view(&d))
                }
                Ok(SubscriptionItem::Data(Orders::OrderStatus(s))) => {
                    statuses.insert(s.order_id, s);
                }
                Ok(SubscriptionItem::Notice(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for v in &mut views {
            if let Some(s) = statuses.get(&v.order_id) {
                v.status = s.status.as_str().to_string();
                v.filled = cleaning::quantity(s.filled).unwrap_or(v.filled);
                v.remaining = cleaning::quantity(s.remaining).unwrap_or(v.remaining);
                v.avg_fill_price = s.average_fill_price.and_then(cleaning::price);
            }
        }
        Ok::<_, ibapi::Error>(views)
    };
    match tokio::time::timeout(ONE_SHOT_TIMEOUT, read).await {
        Ok(Ok(views)) => {
            ctx.touch();
            let ours: Vec<OrderView> = views
                .into_iter()
                .filter(|v| v.account.is_empty() || ctx.wants(&v.account))
                .collect();
            ctx.store().update(|st| {
                let orders = Arc::make_mut(&mut st.open_orders);
                orders.retain(|o| !(o.account.is_empty() || ctx.wants(&o.account)));
                orders.extend(ours);
            });
        }
        Ok(Err(e)) => ctx.report("open orders", &e),
        Err(_) => events::supervisor(
            ctx.store(),
            ctx.role(),
            "open orders: the gateway did not answer in time",
        ),
    }
}

async fn refresh_fills(ctx: &Ctx) {
    match tokio::time::timeout(ONE_SHOT_TIMEOUT, read_executions(&ctx.client)).await {
        Ok(Ok(fills)) => {
            ctx.touch();
            let ours: Vec<Fill> = fills
                .into_iter()
                .filter(|f| ctx.wants(&f.account))
                .collect();
            if let Some(db) = ctx.store().db()
                && let Err(e) = db.upsert_fills(&ours)
            {
                tracing::warn!("could not save fills in SQLite: {e}");
            }
            ctx.store().update(|st| {
                let all = Arc::make_mut(&mut st.fills);
                for f in ours {
                    match all.iter_mut().find(|x| x.exec_id == f.exec_id) {
                        Some(existing) => *existing = f,
                        None => all.push(f),
                    }
                }
                all.sort_by_key(|f| f.time);
            });
        }
        Ok(Err(e)) => ctx.report("executions", &e),
        Err(_) => events::supervisor(
            ctx.store(),
            ctx.role(),
            "executions: the gateway did not answer in time",
        ),
    }
}

/// Today's executions with their commission reports merged in.
pub async fn read_executions(client: &Client) -> Result<Vec<Fill>, ibapi::Error> {
    let mut sub = client.executions(ExecutionFilter::default()).await?;
    let mut fills: Vec<Fill> = Vec::new();
    let mut commissions: HashMap<String, ibapi::orders::CommissionReport> = HashMap::new();
    while let Some(item) = sub.next().await {
        match item {
            Ok(SubscriptionItem::Data(Executions::ExecutionData(d))) => {
                fills.push(convert::fill(&d))
            }
            Ok(SubscriptionItem::Data(Executions::CommissionReport(c))) => {
                commissions.insert(c.execution_id.clone(), c);
            }
            Ok(SubscriptionItem::Notice(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for f in &mut fills {
        if let Some(c) = commissions.get(&f.exec_id) {
            f.commission = cleaning::amount(c.commission);
            f.commission_currency = c.currency.clone();
            f.realized_pnl = cleaning::amount_opt(c.realized_pnl);
        }
    }
    Ok(fills)
}

async fn nlv_loop(ctx: Arc<Ctx>) {
    loop {
        tokio::time::sleep(NLV_EVERY).await;
        record_nlv(&ctx);
    }
}

/// Samples each account's NLV into SQLite (when a database is attached).
fn record_nlv(ctx: &Ctx) {
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
    }
}
