//! Live state: the single source of truth. Gateway tasks write, everyone else reads snapshots.
//!
//! `LiveState` is a struct of `Arc`s: a snapshot is a handful of reference-count bumps, and a
//! writer only copies the part it changes (`Arc::make_mut`) when a reader still holds the old one.
//! No lock is ever held across an `.await`: `update` takes a closure.

pub mod alerts;
pub mod db;
pub mod journal;
pub mod margin_history;
pub mod refusals;
pub mod wire;

use crate::model::*;
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use tokio::sync::watch;

/// How many tool calls the in-memory journal keeps (SQLite keeps them for `[journal]
/// keep_days`, within `max_mb`).
pub const JOURNAL_CAPACITY: usize = 1000;
/// How many gateway events the in-memory event log keeps.
pub const EVENT_CAPACITY: usize = 200;

/// Key of a position: (account, con_id).
pub type PositionKey = (String, i32);

#[derive(Debug, Clone, Default)]
pub struct LiveState {
    /// Bumped on every update; the UI redraws when it changes.
    pub version: u64,
    pub accounts: Arc<BTreeMap<String, AccountSnapshot>>,
    pub positions: Arc<BTreeMap<PositionKey, Position>>,
    /// Keyed by symbol for stocks (`KRYX`) and by pair for FX (`USD.CAD`).
    pub quotes: Arc<HashMap<String, Quote>>,
    /// Today's 1-minute closes per held symbol (movers sparklines), oldest first.
    pub intraday: Arc<HashMap<String, Vec<f64>>>,
    pub open_orders: Arc<Vec<OrderView>>,
    pub fills: Arc<Vec<Fill>>,
    pub gateways: Arc<BTreeMap<GatewayRole, GatewayStatus>>,
    pub events: Arc<VecDeque<GatewayEvent>>,
    pub journal: Arc<VecDeque<ToolCallRecord>>,
    /// Alert rules, which are firing, the latest firings (written by `crate::alerts`).
    pub alerts: Arc<alerts::AlertBoard>,
}

/// Why and how long data has been stale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staleness {
    pub age_ms: i64,
    pub reason: String,
}

impl LiveState {
    /// Primary gateway's first account, the default for every `account?` parameter.
    pub fn primary_account(&self) -> Option<&AccountSnapshot> {
        self.accounts
            .values()
            .find(|a| a.gateway == Some(GatewayRole::Primary))
            .or_else(|| self.accounts.values().next())
    }

    pub fn positions_of<'a>(&'a self, account: &'a str) -> impl Iterator<Item = &'a Position> + 'a {
        self.positions
            .values()
            .filter(move |p| p.account == account)
    }

    /// Quote for an FX pair such as ("USD", "CAD"): direct, or inverted from the reverse pair.
    /// Returns the mid (or last) rate converting one unit of `from` into `to`.
    pub fn fx_rate(&self, from: &str, to: &str) -> Option<f64> {
        if from.eq_ignore_ascii_case(to) {
            return Some(1.0);
        }
        if let Some(q) = self.quotes.get(&format!("{from}.{to}")) {
            return q.price().filter(|p| *p > 0.0);
        }
        if let Some(q) = self.quotes.get(&format!("{to}.{from}")) {
            return q.price().filter(|p| *p > 0.0).map(|p| 1.0 / p);
        }
        None
    }

    /// Staleness of the live data as of `now`: `None` when the primary gateway is connected and
    /// data arrived within `fresh_ms`.
    pub fn staleness(&self, now: Millis, fresh_ms: i64) -> Option<Staleness> {
        let status = self.gateways.get(&GatewayRole::Primary)?;
        let last = status.last_data.unwrap_or(status.since);
        let age_ms = (now - last).max(0);
        match status.state {
            ConnState::Connected if age_ms <= fresh_ms => self.silent_symbols_staleness(now),
            ConnState::Connected => Some(Staleness {
                age_ms,
                reason: "no data from the gateway recently".into(),
            }),
            other => Some(Staleness {
                age_ms,
                reason: match &status.last_error {
                    Some(e) => format!("gateway {}: {e}", other.label()),
                    None => format!("gateway {}", other.label()),
                },
            }),
        }
    }
}

impl LiveState {
    /// When `symbol` (a quote key: `KRYX`, `USD.CAD`) last ticked, if its stream has gone
    /// silent while its market is open (`gateway.symbol_stall_secs`).
    pub fn silent_since(&self, symbol: &str) -> Option<Millis> {
        self.gateways
            .values()
            .find_map(|g| g.silent_symbols.get(symbol).copied())
    }

    /// Staleness of a connected gateway whose streams are partly silent: the age is the
    /// oldest silent symbol's, the reason names them (most silent first) with their ages.
    fn silent_symbols_staleness(&self, now: Millis) -> Option<Staleness> {
        /// Symbols named in the reason; the rest are counted.
        const NAMED: usize = 5;
        let mut silent: Vec<(&String, Millis)> = self
            .gateways
            .values()
            .flat_map(|g| g.silent_symbols.iter().map(|(k, t)| (k, *t)))
            .collect();
        silent.sort_by_key(|(k, t)| (*t, (*k).clone()));
        let oldest = silent.first()?.1;
        let mut named: Vec<String> = silent
            .iter()
            .take(NAMED)
            .map(|(k, t)| format!("{k} for {} s", (now - t).max(0) / 1000))
            .collect();
        if silent.len() > NAMED {
            named.push(format!("{} more", silent.len() - NAMED));
        }
        Some(Staleness {
            age_ms: (now - oldest).max(0),
            reason: format!(
                "no tick for {} although the market is open",
                named.join(", ")
            ),
        })
    }
}

/// Where "now" comes from: the system clock, or a settable clock for reproducible tests.
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Fixed(Arc<AtomicI64>),
}

impl Clock {
    pub fn fixed(at: Millis) -> Self {
        Clock::Fixed(Arc::new(AtomicI64::new(at)))
    }
    pub fn now(&self) -> Millis {
        match self {
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            Clock::Fixed(t) => t.load(Ordering::Relaxed),
        }
    }
    /// Moves a fixed clock; no effect on the system clock.
    pub fn set(&self, at: Millis) {
        if let Clock::Fixed(t) = self {
            t.store(at, Ordering::Relaxed);
        }
    }
}

/// Which world the data comes from: a real account through IB, or the simulated demo book.
/// Stated on the socket handshake (a live sidecar never bridges to a demo daemon) and on the
/// first line of every answer made from simulated data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct World {
    pub simulated: bool,
    /// What the data is: "simulated demo book (seed 7)", or the gateway's address.
    pub description: String,
}

impl World {
    /// `demo` or `live`.
    pub fn mode(&self) -> &'static str {
        if self.simulated { "demo" } else { "live" }
    }
}

/// How every database-damage event's message begins (see `db::Db::open`).
pub const DB_DAMAGE_PREFIX: &str = "the database at ";

/// Whether `event` reports a damaged database that was moved aside and replaced.
pub fn is_db_damage(event: &GatewayEvent) -> bool {
    event.code == 0 && event.message.starts_with(DB_DAMAGE_PREFIX)
}

/// The first line of an answer made from simulated data.
pub const SIMULATED_NOTICE: &str =
    "⚠️ Simulated data (demo book, not a real account): nothing here is your portfolio.";

struct Inner {
    world: RwLock<World>,
    state: RwLock<LiveState>,
    changed: watch::Sender<u64>,
    clock: Clock,
    db: Option<db::Db>,
    /// Present when `db` is: the SQLite side of the journal, off the call path.
    journal: Option<journal::JournalWriter>,
    refusals: parking_lot::Mutex<refusals::RefusalSampler>,
    next_call_id: AtomicU64,
}

/// Cheap to clone; every clone is the same store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    pub fn new(clock: Clock, db: Option<db::Db>) -> Self {
        let (changed, _) = watch::channel(0);
        let journal = db
            .clone()
            .and_then(|db| match journal::JournalWriter::start(db) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!("no journal writer thread ({e}); tool calls stay in memory");
                    None
                }
            });
        let store = Store {
            inner: Arc::new(Inner {
                world: RwLock::new(World::default()),
                state: RwLock::new(LiveState::default()),
                changed,
                clock,
                db,
                journal,
                refusals: parking_lot::Mutex::new(refusals::RefusalSampler::default()),
                next_call_id: AtomicU64::new(1),
            }),
        };
        if let Some(db) = store.db() {
            for message in db.damage_events() {
                store.push_db_event(&message);
            }
            // Weak: the database lives inside the store and must not keep it alive.
            let weak = Arc::downgrade(&store.inner);
            db.on_damage(move |message| {
                if let Some(inner) = weak.upgrade() {
                    Store { inner }.push_db_event(message);
                }
            });
        }
        store
    }

    /// Where the data comes from (live unless the demo said otherwise).
    pub fn world(&self) -> World {
        self.inner.world.read().clone()
    }

    pub fn is_simulated(&self) -> bool {
        self.inner.world.read().simulated
    }

    pub fn set_world(&self, world: World) {
        *self.inner.world.write() = world;
    }

    /// Database damage as an event, where the cockpit and `ibkr_connection_status` show it.
    /// (Every such message starts with [`DB_DAMAGE_PREFIX`].)
    fn push_db_event(&self, message: &str) {
        self.push_event(GatewayEvent {
            time: self.now(),
            role: GatewayRole::Primary,
            code: 0,
            message: message.to_string(),
        });
    }

    /// Waits (at most `timeout`) until every tool call journaled so far is committed to SQLite.
    /// True when there is no database.
    pub fn flush_journal(&self, timeout: std::time::Duration) -> bool {
        self.inner.journal.as_ref().is_none_or(|j| j.flush(timeout))
    }

    /// Tool calls kept in memory but not saved to SQLite because the writer was behind.
    pub fn journal_dropped(&self) -> u64 {
        self.inner.journal.as_ref().map_or(0, |j| j.dropped())
    }

    /// Counts a refused request from `peer`; says whether to journal it in full, and returns a
    /// summary of suppressed ones when one is due.
    pub fn sample_refusal(
        &self,
        peer: refusals::Peer,
        reason: &str,
    ) -> (refusals::Verdict, Option<refusals::Summary>) {
        self.inner
            .refusals
            .lock()
            .record(peer, reason, std::time::Instant::now())
    }

    /// Summaries of suppressed refusals now due (call every few seconds).
    pub fn refusal_tick(&self) -> Vec<refusals::Summary> {
        self.inner.refusals.lock().tick(std::time::Instant::now())
    }

    /// Refused requests since start, journaled or not.
    pub fn refused_total(&self) -> u64 {
        self.inner.refusals.lock().total()
    }

    /// A store with no database and the system clock (tests, `tool` one-shots).
    pub fn in_memory() -> Self {
        Self::new(Clock::System, None)
    }

    pub fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn db(&self) -> Option<&db::Db> {
        self.inner.db.as_ref()
    }

    /// A consistent copy of the live state; costs a few `Arc` clones.
    pub fn snapshot(&self) -> LiveState {
        self.inner.state.read().clone()
    }

    /// Applies `f` to the state under the write lock, bumps the version and wakes subscribers.
    /// Keep `f` short: it must not block or await.
    pub fn update<R>(&self, f: impl FnOnce(&mut LiveState) -> R) -> R {
        let (r, version) = {
            let mut st = self.inner.state.write();
            let r = f(&mut st);
            st.version += 1;
            (r, st.version)
        };
        self.inner.changed.send_replace(version);
        r
    }

    /// Change notifications: the value is the state's version.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Records a gateway event in the in-memory ring.
    pub fn push_event(&self, event: GatewayEvent) {
        self.update(|st| {
            let events = Arc::make_mut(&mut st.events);
            if events.len() >= EVENT_CAPACITY {
                events.pop_front();
            }
            events.push_back(event);
        });
    }

    /// Journals a tool call in memory and (when a database is attached) queues it for SQLite,
    /// where the writer commits it within [`journal::BATCH_WINDOW`]. Never waits on the disk.
    /// Assigns and returns the call id.
    pub fn record_tool_call(&self, mut record: ToolCallRecord) -> u64 {
        record.id = self.inner.next_call_id.fetch_add(1, Ordering::Relaxed);
        if let Some(journal) = &self.inner.journal {
            journal.submit(record.clone());
        }
        let id = record.id;
        self.update(|st| {
            let journal = Arc::make_mut(&mut st.journal);
            if journal.len() >= JOURNAL_CAPACITY {
                journal.pop_front();
            }
            journal.push_back(record);
        });
        id
    }
}
