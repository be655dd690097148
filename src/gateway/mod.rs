//! The adapter over `ibapi` (async): one supervisor per gateway that connects, subscribes,
//! reconnects with backoff and resubscribes everything, writing cleaned data into the store;
//! plus `Requests`, the on-demand handle that caches, coalesces and paces.
//!
//! The public signatures in this file are the contract that `tools/`, the CLI and tests code
//! against; keep them (add, don't rename). This module never imports `crate::sim`.
//!
//! Layout: `connect` opens one API session (port detection, client-id rotation), `supervisor`
//! keeps one alive (backoff, probing a closed port to reconnect as soon as it opens),
//! `session` subscribes everything on a live session, writes the store and detects stalls,
//! `quotes`/`cleaning`/`convert` turn IB's data into ours, `events` writes the event log in
//! words, `requests`/`pacing`/`coalesce` serve on-demand data within a `deadline`, `unknown`
//! remembers contracts IB does not know, `warm` fills the daily-bar cache for every holding after
//! the initial sync, `probe` answers `doctor`.

pub mod cleaning;
mod coalesce;
mod connect;
mod convert;
mod deadline;
mod events;
pub mod intraday;
mod lag;
pub mod lines;
pub mod pacing;
mod probe;
mod quotes;
mod requests;
mod session;
mod shared;
mod supervisor;
mod unknown;
mod warm;

pub use pacing::PacingLimits;

/// Outbound messages per second for connections opened from now on (default 45, under IB's
/// limit of 50). Only for gateways known to allow more, such as the simulator in benchmarks:
/// a real IB Gateway answers a higher rate with error 100 and then disconnects.
pub fn set_message_rate(per_second: u32) {
    connect::set_message_rate(per_second);
}
pub use connect::set_message_rate_for_port;
/// Streaming channel capacity (frames per subscription): the default, a process-wide setter and
/// a per-port override for tests. See `connect::DEFAULT_CHANNEL_CAPACITY` for why it is small.
pub use connect::{
    DEFAULT_CHANNEL_CAPACITY, is_too_old, set_channel_capacity, set_channel_capacity_for_port,
    too_old,
};
pub use probe::{ProbeReport, probe};
pub use requests::research::{
    ResearchSeries, ResearchTicks, ScanHit, ScanRequest, ScannerChoices, parse_ratios,
};
/// Position P&L streams kept for the portfolio account's largest holdings.
pub use session::PNL_SINGLE_STREAMS;

static CACHE_HITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// On-demand requests (bars, contract details) answered from the cache since the process
/// started, for `/metrics`.
pub fn cache_hits() -> u64 {
    CACHE_HITS.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn count_cache_hit() {
    CACHE_HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

use crate::model::*;
use crate::store::Store;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// How to reach one gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub role: GatewayRole,
    pub host: String,
    /// `None`: auto-detect among 4001, 4002, 7496, 7497.
    pub port: Option<u16>,
    pub client_id: i32,
    /// Restrict to this account; `None` = every managed account.
    pub account: Option<String>,
    /// IB market-data type to request: 1 live, 2 frozen, 3 delayed, 4 delayed-frozen.
    pub market_data_type: i32,
    /// A connection with no data at all for this long is considered stalled and recycled.
    pub stall_timeout: Duration,
    /// A streamed symbol with no tick for this long while its market is open is labelled
    /// stale; every one of them silent is a stall. Zero turns the rule off.
    pub symbol_stall: Duration,
    /// The account's market-data lines (IB: 100 by default; a subscription beyond them gets
    /// error 101). Streaming quotes go to the FX pairs and the largest positions within this
    /// budget, minus a small reserve for on-demand requests; the rest are priced from
    /// portfolio updates. `DEFAULT_QUOTE_LINES` unless the account has more.
    pub quote_lines: usize,
    /// After the initial sync, fetch every holding's daily bars in the background (within a
    /// share of IB's open-request cap) so risk tools answer for the whole book at once.
    pub warm_history: bool,
}

/// Market-data lines of an IB account without booster packs.
pub const DEFAULT_QUOTE_LINES: usize = 100;

/// Ports tried in turn when none is configured.
pub const AUTO_DETECT_PORTS: [u16; 4] = [4001, 4002, 7496, 7497];

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// Not connected (and why), so the caller can fall back to cache.
    #[error("gateway not connected: {0}")]
    NotConnected(String),
    #[error("the gateway is connected but did not answer within {0:?}")]
    Timeout(Duration),
    /// IB answered with an error code for this request (e.g. 200 no security definition).
    #[error("IB error {code}: {message}")]
    Rejected { code: i32, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

/// Sessions in the shortest exchange year of the calendar (NYSE/NASDAQ years hold 250–253).
const MIN_SESSIONS_PER_YEAR: usize = 250;

/// Historical bars request: duration in IB's own wording (`"30 D"`), bar size and data type typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BarSpec {
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub currency: String,
    pub duration: String,
    pub bar_size: BarSize,
    pub what_to_show: WhatToShow,
    pub use_rth: bool,
}

impl BarSpec {
    /// Daily TRADES bars of a US stock over `duration` (RTH).
    pub fn daily(symbol: &str, duration: &str) -> Self {
        BarSpec {
            symbol: symbol.to_string(),
            sec_type: "STK".into(),
            exchange: "SMART".into(),
            currency: "USD".into(),
            duration: duration.to_string(),
            bar_size: BarSize::Day1,
            what_to_show: WhatToShow::Trades,
            use_rth: true,
        }
    }
    /// The daily-bar spec for `lookback` returns of `symbol` (priced in `currency`): enough whole
    /// years that `lookback + 1` closes are there whatever the holidays, and never less than
    /// two, so the usual windows (60 and 252 returns) share one request and one cache entry per
    /// symbol — the entry background warming fills.
    pub fn daily_returns(symbol: &str, currency: &str, lookback: usize) -> Self {
        let years = (lookback + 1).div_ceil(MIN_SESSIONS_PER_YEAR).clamp(2, 3);
        BarSpec {
            currency: currency.to_string(),
            ..BarSpec::daily(symbol, &format!("{years} Y"))
        }
    }
    /// Stable key for caches (memory and SQLite), in IB's wording so keys outlive the enums.
    pub fn cache_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            self.symbol,
            self.sec_type,
            self.exchange,
            self.currency,
            self.duration,
            self.bar_size.ib(),
            self.what_to_show.ib(),
            self.use_rth
        )
    }
}

/// A contract to look up: symbol plus optional qualifiers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ContractQuery {
    pub symbol: String,
    /// Default `STK`.
    pub sec_type: Option<String>,
    /// Default `SMART`.
    pub exchange: Option<String>,
    /// Default `USD` for stocks.
    pub currency: Option<String>,
}

/// A what-if order (the only order-shaped request this program ever sends).
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfOrder {
    pub account: String,
    pub symbol: String,
    pub action: Side,
    pub quantity: f64,
    pub order_type: OrderType,
    pub limit_price: Option<f64>,
}

/// Both configured gateways.
#[derive(Clone)]
pub struct Gateways {
    pub primary: GatewayHandle,
    pub secondary: Option<GatewayHandle>,
}

impl Gateways {
    pub fn all(&self) -> impl Iterator<Item = &GatewayHandle> {
        std::iter::once(&self.primary).chain(self.secondary.iter())
    }
    /// The gateway that serves `account` (falls back to primary when unknown).
    pub fn for_account(&self, store: &Store, account: &str) -> &GatewayHandle {
        let snap = store.snapshot();
        match snap.accounts.get(account).and_then(|a| a.gateway) {
            Some(GatewayRole::Secondary) => self.secondary.as_ref().unwrap_or(&self.primary),
            _ => &self.primary,
        }
    }
}

/// Handle to one supervised gateway connection. Cheap to clone.
#[derive(Clone)]
pub struct GatewayHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    role: GatewayRole,
    requests: Requests,
    shared: Arc<shared::Shared>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for HandleInner {
    /// The last handle gone means nobody can use or stop the connection any more: stop it.
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl GatewayHandle {
    /// Starts the supervisor task (connect, subscribe, reconnect forever) and returns at once.
    /// Must be called inside a tokio runtime.
    pub fn spawn(cfg: GatewayConfig, store: Store) -> GatewayHandle {
        Self::spawn_with_pacing(cfg, store, PacingLimits::default())
    }

    /// As `spawn`, with explicit historical-data pacing limits (tests, a gateway with other
    /// limits).
    pub fn spawn_with_pacing(
        cfg: GatewayConfig,
        store: Store,
        pacing: PacingLimits,
    ) -> GatewayHandle {
        let role = cfg.role;
        let shared = shared::Shared::new(cfg, store);
        let requests = Requests {
            inner: Arc::new(requests::RequestsInner::new(shared.clone(), pacing)),
        };
        let task = tokio::spawn(supervisor::run(shared.clone()));
        if shared.cfg.warm_history {
            tokio::spawn(warm::run(shared.clone(), requests.inner.clone()));
        }
        GatewayHandle {
            inner: Arc::new(HandleInner {
                role,
                requests,
                shared,
                task: Mutex::new(Some(task)),
            }),
        }
    }
    pub fn role(&self) -> GatewayRole {
        self.inner.role
    }
    /// Waits until the initial sync (accounts, summary, positions, P&L, first quotes) is in the
    /// store. Returns false on timeout.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.shared.synced.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|synced| *synced))
            .await
            .is_ok_and(|r| r.is_ok())
    }
    /// True once the initial sync has completed (it stays true across reconnects: the store
    /// keeps its values).
    pub fn is_synced(&self) -> bool {
        *self.inner.shared.synced.borrow()
    }
    /// True while an API session is up.
    pub fn is_connected(&self) -> bool {
        self.inner.shared.client().is_ok()
    }
    pub fn requests(&self) -> &Requests {
        &self.inner.requests
    }
    /// Stops the supervisor and drops the connection.
    pub fn shutdown(&self) {
        self.inner.shared.cancel.cancel();
        // The supervisor disconnects cleanly on cancel; the handle is kept so `Drop` of the
        // runtime does not need it. Nothing to join synchronously here.
        drop(self.inner.task.lock().take());
    }
}

/// On-demand requests: cached, coalesced (identical in-flight requests share one answer) and
/// paced within IB's limits. Cheap to clone.
#[derive(Clone)]
pub struct Requests {
    inner: Arc<requests::RequestsInner>,
}

impl Requests {
    /// Bars for `spec`: from memory or SQLite when fresh (daily bars: fetched today; intraday:
    /// within a minute), otherwise one paced request shared by every concurrent caller.
    /// A contract IB said it does not know is answered from memory for a few minutes
    /// (`unknown::UNKNOWN_TTL`).
    pub async fn historical_bars(&self, spec: &BarSpec) -> Result<Arc<Vec<Bar>>, GatewayError> {
        let key = unknown::UnknownContracts::key(&spec.symbol, &spec.sec_type, &spec.currency);
        if let Some(e) = self.inner.unknown.get(&key) {
            return Err(e);
        }
        let bars = self.inner.historical_bars(spec).await;
        self.inner.unknown.note(&key, bars)
    }
    /// Whatever bars are cached for `spec`, however old, with when they were fetched — for
    /// answering from cache while the gateway is down.
    pub fn cached_bars(&self, spec: &BarSpec) -> Option<(Millis, Arc<Vec<Bar>>)> {
        self.inner.cached_bars(spec)
    }
    /// Contract details; several results mean the query is ambiguous.
    pub async fn contract_details(
        &self,
        query: &ContractQuery,
    ) -> Result<Vec<ContractInfo>, GatewayError> {
        self.inner.contract_details(query).await
    }
    pub async fn search_contracts(
        &self,
        pattern: &str,
    ) -> Result<Vec<ContractMatch>, GatewayError> {
        self.inner.search_contracts(pattern).await
    }
    /// Chain definitions for a stock (one per exchange/trading class).
    pub async fn option_chain(&self, symbol: &str) -> Result<Vec<OptionChainDef>, GatewayError> {
        self.inner.option_chain(symbol).await
    }
    /// Quotes with greeks for calls and puts at `strikes` of `expiry` (`YYYYMMDD`).
    pub async fn option_quotes(
        &self,
        symbol: &str,
        expiry: &str,
        strikes: &[f64],
    ) -> Result<Vec<OptionQuote>, GatewayError> {
        self.inner.option_quotes(symbol, expiry, strikes).await
    }
    /// A one-off quote snapshot (for symbols without a live subscription; FX with `CASH`).
    pub async fn quote_snapshot(&self, query: &ContractQuery) -> Result<Quote, GatewayError> {
        self.inner.quote_snapshot(query).await
    }
    pub async fn dividends(&self, query: &ContractQuery) -> Result<DividendInfo, GatewayError> {
        self.inner.dividends(query).await
    }
    /// Sends a what-if order (whatIf = true) and returns IB's margin estimate. Never a real order.
    pub async fn what_if(&self, order: &WhatIfOrder) -> Result<WhatIfResult, GatewayError> {
        self.inner.what_if(order).await
    }
    /// Headlines for a symbol over the last `days` from every news provider.
    pub async fn news(&self, symbol: &str, days: u32) -> Result<Vec<NewsHeadline>, GatewayError> {
        self.inner.news(symbol, days).await
    }
    pub async fn executions(&self) -> Result<Vec<Fill>, GatewayError> {
        self.inner.executions().await
    }
    pub async fn completed_orders(&self) -> Result<Vec<OrderView>, GatewayError> {
        self.inner.completed_orders().await
    }
    /// The gateway's clock (reqCurrentTime), epoch ms.
    pub async fn server_time(&self) -> Result<Millis, GatewayError> {
        self.inner.server_time().await
    }
    /// Historical-data requests in the pacing window and open now, against IB's limits.
    pub fn pacing_usage(&self) -> pacing::PacingUsage {
        self.inner.pacing_usage()
    }
}
