//! The simulated IB Gateway: a deterministic market and book served over the real TWS wire
//! protocol (handshake, length-prefixed protobuf frames, server version 226), so the unmodified
//! `ibapi::Client` cannot tell it from IB Gateway. It is the demo, the test bed and the benchmark
//! target. See `src/sim/README.md` for what it serves.
//!
//! Only the CLI and tests use this module; `gateway/` never imports it.

mod book;
mod clock;
mod faults;
mod history;
mod market;
mod news;
mod options;
mod pacing;
mod proto;
mod research;
mod session;
mod text;
mod truth;
mod universe;
mod wire;

pub use wire::{PROTOBUF_VERSION, SERVER_VERSION};

pub use book::{PRIMARY_ACCOUNT, SECONDARY_ACCOUNT, SimBookKind};
pub use faults::{Fault, FaultPlan};
pub use universe::{BENCHMARKS, FX_PAIRS, SEED_SYMBOLS};

use book::Account;
use faults::FaultState;
use market::Market;
use pacing::Pacing;
use parking_lot::Mutex;
pub use research::ResearchTruth;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Market-data lines of an IB account without booster packs.
pub const DEFAULT_MARKET_DATA_LINES: usize = 100;

/// How to build a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Market seed: same seed, same prices.
    pub seed: u64,
    /// `None`: the seed book; `Some(n)`: a book of `n` generated symbols.
    pub positions: Option<usize>,
    pub faults: FaultPlan,
    pub book: SimBookKind,
    /// How often prices tick; `None` freezes prices (snapshot tests).
    pub tick_interval: Option<Duration>,
    /// Market-data lines, as IB counts them for an account: streaming subscriptions open at
    /// once, across every connection. One more is refused with error 101 ("Max number of
    /// tickers has been reached"); a cancel (or a closed connection) frees its lines, and
    /// snapshots hold none. `None`: unlimited. Default 100, IB's default.
    pub market_data_lines: Option<usize>,
    /// The newest API version this gateway speaks (`--server-version`). Clients get
    /// `min(their max, this)`; below 213 the session speaks IB's classic text protocol.
    pub server_version: i32,
    /// How long the simulated HMDS takes to answer a historical request (default none); the
    /// request counts as open meanwhile.
    pub historical_latency: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 7,
            positions: None,
            faults: FaultPlan::none(),
            book: SimBookKind::Primary,
            tick_interval: Some(Duration::from_millis(250)),
            market_data_lines: Some(DEFAULT_MARKET_DATA_LINES),
            server_version: wire::SERVER_VERSION,
            historical_latency: Duration::ZERO,
        }
    }
}

/// What the simulator has seen, for tests to assert on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimCounters {
    /// Requests received, by `ibapi::OutgoingMessages` name (e.g. `"RequestHistoricalData"`).
    pub requests_by_type: BTreeMap<String, u64>,
    /// Sessions that completed the handshake (326 rejections not included).
    pub connections: u64,
    /// Error 162 answers sent for historical requests.
    pub pacing_violations: u64,
    /// Bars sent in answers to historical requests (a top-up sends days, a full request years).
    pub historical_bars_sent: u64,
    /// Non-what-if orders received (always rejected with 201). Must stay 0.
    pub real_orders: u64,
    pub what_if_orders: u64,
    /// Streaming market-data subscriptions refused with error 101 (no line free).
    pub market_data_lines_refused: u64,
    /// Most market-data lines (streaming subscriptions) held at once.
    pub market_data_lines_peak: u64,
}

impl SimCounters {
    pub fn requests(&self, name: &str) -> u64 {
        self.requests_by_type.get(name).copied().unwrap_or(0)
    }
}

/// The simulator's truth, for tests to compare against what a client shows.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SimWorldView {
    pub accounts: Vec<SimAccountView>,
    pub positions: Vec<SimPositionView>,
    /// `USD.CAD` → mid rate.
    pub fx: BTreeMap<String, f64>,
    /// Symbol (or FX pair) → quote.
    pub quotes: BTreeMap<String, SimQuoteView>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SimAccountView {
    pub account: String,
    pub base_currency: String,
    pub net_liquidation: f64,
    pub gross_position_value: f64,
    pub total_cash: f64,
    pub cash_by_currency: BTreeMap<String, f64>,
    pub equity_with_loan: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
    pub excess_liquidity: f64,
    pub available_funds: f64,
    pub buying_power: f64,
    /// Fraction (0.105 = 10.5%).
    pub cushion: f64,
    pub leverage: f64,
    pub daily_pnl: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SimPositionView {
    pub account: String,
    pub symbol: String,
    pub con_id: i32,
    pub currency: String,
    pub quantity: f64,
    pub avg_cost: f64,
    /// Mark price (last, rounded to the tick).
    pub price: f64,
    pub market_value: f64,
    pub unrealized_pnl: f64,
    pub daily_pnl: f64,
    pub realized_pnl: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SimQuoteView {
    pub symbol: String,
    pub con_id: i32,
    pub currency: String,
    pub bid: f64,
    pub ask: f64,
    pub last: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    /// Previous session's close.
    pub close: f64,
    pub volume: f64,
}

/// Market and book, behind one lock (held only for short computations, never across awaits).
pub(crate) struct World {
    pub market: Market,
    pub account: Account,
}

/// What every session listens to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SessionEvent {
    /// Prices moved; `force` pushes account values at once (after `advance`).
    Tick { force: bool },
    /// Close the socket now.
    Drop,
    /// Send 1100, then close.
    Restart,
}

enum ListenerCmd {
    Stop,
    Resume,
}

pub(crate) struct Shared {
    pub port: u16,
    pub world: Mutex<World>,
    pub counters: Mutex<SimCounters>,
    pub faults: Mutex<FaultState>,
    pub pacing: Mutex<Pacing>,
    pub events: broadcast::Sender<SessionEvent>,
    pub cancel: CancellationToken,
    listener_ctl: mpsc::UnboundedSender<ListenerCmd>,
    /// `SimConfig::market_data_lines`.
    pub line_limit: Option<usize>,
    /// `SimConfig::server_version`.
    pub server_version: i32,
    /// `SimConfig::historical_latency`.
    pub historical_latency: Duration,
    /// Streaming subscriptions open now, across every session.
    lines_in_use: Mutex<usize>,
}

impl Shared {
    /// Takes a market-data line for a new streaming subscription; false (and counted) when
    /// every line is in use.
    pub fn take_line(&self) -> bool {
        let mut used = self.lines_in_use.lock();
        if self.line_limit.is_some_and(|limit| *used >= limit) {
            drop(used);
            self.counters.lock().market_data_lines_refused += 1;
            return false;
        }
        *used += 1;
        let now = *used as u64;
        drop(used);
        let mut c = self.counters.lock();
        c.market_data_lines_peak = c.market_data_lines_peak.max(now);
        true
    }
    /// Frees `n` lines (cancelled subscriptions, a closed connection).
    pub fn release_lines(&self, n: usize) {
        let mut used = self.lines_in_use.lock();
        *used = used.saturating_sub(n);
    }
    pub fn count_request(&self, name: String) {
        *self
            .counters
            .lock()
            .requests_by_type
            .entry(name)
            .or_default() += 1;
    }
}

/// Entry point: `SimGateway::start(cfg)`.
pub struct SimGateway;

impl SimGateway {
    /// Binds 127.0.0.1 on an ephemeral port and starts serving.
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        Self::start_on(cfg, 0).await
    }

    /// Binds 127.0.0.1:`port` (0 = ephemeral) and starts serving.
    pub async fn start_on(cfg: SimConfig, port: u16) -> std::io::Result<SimHandle> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let now = clock::now_secs();
        let mut market = universe::base_market(cfg.seed);
        let account = book::build_account(&mut market, cfg.book, cfg.positions, cfg.seed, now);
        let (events, _) = broadcast::channel(256);
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            port,
            world: Mutex::new(World { market, account }),
            counters: Mutex::new(SimCounters::default()),
            faults: Mutex::new(FaultState::default()),
            pacing: Mutex::new(Pacing::default()),
            events,
            cancel: CancellationToken::new(),
            listener_ctl: ctl_tx,
            line_limit: cfg.market_data_lines,
            server_version: cfg.server_version,
            historical_latency: cfg.historical_latency,
            lines_in_use: Mutex::new(0),
        });
        let handle = SimHandle {
            shared: shared.clone(),
        };
        for f in &cfg.faults.at_start {
            handle.inject(f.clone());
        }
        for (after, f) in cfg.faults.scheduled.clone() {
            let h = handle.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = h.shared.cancel.cancelled() => {}
                    _ = tokio::time::sleep(after) => h.inject(f),
                }
            });
        }
        if let Some(every) = cfg.tick_interval {
            tokio::spawn(run_ticker(shared.clone(), every));
        }
        tokio::spawn(accept_loop(shared, listener, ctl_rx));
        Ok(handle)
    }
}

async fn run_ticker(shared: Arc<Shared>, every: Duration) {
    let mut iv = tokio::time::interval(every.max(Duration::from_millis(10)));
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    iv.tick().await;
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            _ = iv.tick() => {
                shared.world.lock().market.tick(every.as_secs_f64());
                let _ = shared.events.send(SessionEvent::Tick { force: false });
            }
        }
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    first: TcpListener,
    mut ctl: mpsc::UnboundedReceiver<ListenerCmd>,
) {
    let mut listener = Some(first);
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => return,
            cmd = ctl.recv() => match cmd {
                Some(ListenerCmd::Stop) => listener = None,
                Some(ListenerCmd::Resume) => {
                    if listener.is_none() {
                        listener = rebind(shared.port, &shared.cancel).await;
                    }
                }
                None => return,
            },
            res = accept(&listener) => match res {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(session::run(shared.clone(), stream));
                }
                Err(e) => {
                    tracing::debug!("sim accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
}

async fn accept(
    l: &Option<TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// Re-binds the same port after downtime; retries briefly in case the old socket lingers.
async fn rebind(port: u16, cancel: &CancellationToken) -> Option<TcpListener> {
    for _ in 0..100 {
        if cancel.is_cancelled() {
            return None;
        }
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => return Some(l),
            Err(e) => {
                tracing::debug!("sim rebind {port} failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::warn!("simulated gateway could not re-bind port {port}");
    None
}

/// Control handle for a running simulator. Cheap to clone.
#[derive(Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    pub fn port(&self) -> u16 {
        self.shared.port
    }
    /// `127.0.0.1:PORT`, ready for `Client::connect`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.shared.port)
    }
    /// The account this simulator serves.
    pub fn account_id(&self) -> String {
        self.shared.world.lock().account.id.clone()
    }
    pub fn counters(&self) -> SimCounters {
        self.shared.counters.lock().clone()
    }
    /// Market-data lines held right now by streaming subscriptions (every connection).
    pub fn market_data_lines_in_use(&self) -> usize {
        *self.shared.lines_in_use.lock()
    }

    pub fn inject(&self, fault: Fault) {
        match fault {
            Fault::Drop => {
                let _ = self.shared.events.send(SessionEvent::Drop);
            }
            Fault::DailyRestart => {
                self.shared.faults.lock().restart_pending = true;
                let _ = self.shared.events.send(SessionEvent::Restart);
            }
            Fault::Stall(d) => self.shared.faults.lock().stall_until = Some(Instant::now() + d),
            Fault::ClientIdInUse { times } => {
                self.shared.faults.lock().client_id_rejections += times
            }
            Fault::NoSubscription(syms) => {
                let mut f = self.shared.faults.lock();
                f.no_subscription
                    .extend(syms.into_iter().map(|s| s.to_ascii_uppercase()));
            }
            Fault::Sentinels(on) => self.shared.faults.lock().sentinels = on,
            Fault::PacingViolationNext => self.shared.faults.lock().pacing_next = true,
            Fault::Silence { symbols, duration } => {
                let until = Instant::now() + duration;
                let mut f = self.shared.faults.lock();
                if symbols.is_empty() {
                    f.silent_until.insert(faults::ALL_SYMBOLS.into(), until);
                }
                for s in symbols {
                    f.silent_until.insert(s.to_ascii_uppercase(), until);
                }
            }
        }
    }

    /// Simulates downtime: closes the listener and every connection. Reconnects are refused
    /// until `resume_accepting`.
    pub fn stop_accepting(&self) {
        let _ = self.shared.listener_ctl.send(ListenerCmd::Stop);
        let _ = self.shared.events.send(SessionEvent::Drop);
    }
    /// Re-binds the same port and accepts again.
    pub fn resume_accepting(&self) {
        let _ = self.shared.listener_ctl.send(ListenerCmd::Resume);
    }

    /// Moves the market forward `minutes` (deterministically) and pushes the new values to
    /// every subscriber.
    pub fn advance(&self, minutes: u32) {
        self.shared.world.lock().market.advance(minutes);
        let _ = self.shared.events.send(SessionEvent::Tick { force: true });
    }

    /// Puts `symbol`'s last trade at `price` (the day's high and low stretch to include it)
    /// and pushes the new values to every subscriber: how a test scripts a price crossing a
    /// line, one step at a time. False when the symbol is not in the universe.
    pub fn set_price(&self, symbol: &str, price: f64) -> bool {
        if !(price.is_finite() && price > 0.0) {
            return false;
        }
        {
            let mut w = self.shared.world.lock();
            let Some(idx) = w.market.by_key(symbol) else {
                return false;
            };
            let inst = &mut w.market.instruments[idx];
            inst.last = price;
            inst.high = inst.high.max(price);
            inst.low = inst.low.min(price);
        }
        let _ = self.shared.events.send(SessionEvent::Tick { force: true });
        true
    }

    /// The book as JSON (world view, open orders, fills), as `--truth` writes it.
    pub fn truth(&self) -> serde_json::Value {
        truth::snapshot(self)
    }

    pub fn world(&self) -> SimWorldView {
        let w = self.shared.world.lock();
        world_view(&w)
    }

    /// Stops serving: closes every connection and the listener.
    pub async fn shutdown(&self) {
        let _ = self.shared.events.send(SessionEvent::Drop);
        self.shared.cancel.cancel();
        // Let session tasks observe the cancellation and close their sockets.
        tokio::task::yield_now().await;
    }
}

fn world_view(w: &World) -> SimWorldView {
    let m = &w.market;
    let a = &w.account;
    let f = a.figures(m);
    let account = SimAccountView {
        account: a.id.clone(),
        base_currency: a.base.clone(),
        net_liquidation: f.nlv,
        gross_position_value: f.gpv,
        total_cash: f.total_cash,
        cash_by_currency: f.cash_by_currency.clone(),
        equity_with_loan: f.equity_with_loan,
        init_margin: f.init_margin,
        maint_margin: f.maint_margin,
        excess_liquidity: f.excess_liquidity,
        available_funds: f.available_funds,
        buying_power: f.buying_power,
        cushion: f.cushion,
        leverage: f.leverage,
        daily_pnl: f.daily_pnl,
        unrealized_pnl: f.unrealized_pnl,
        realized_pnl: f.realized_pnl,
    };
    let positions = a
        .positions
        .iter()
        .map(|p| {
            let inst = m.get(p.inst);
            let pf = a.position_figures(m, p);
            SimPositionView {
                account: a.id.clone(),
                symbol: inst.symbol.clone(),
                con_id: inst.con_id,
                currency: inst.currency.clone(),
                quantity: p.qty,
                avg_cost: p.avg_cost,
                price: pf.price,
                market_value: pf.market_value,
                unrealized_pnl: pf.unrealized,
                daily_pnl: pf.daily,
                realized_pnl: pf.realized,
            }
        })
        .collect();
    let mut fx = BTreeMap::new();
    let mut quotes = BTreeMap::new();
    for inst in &m.instruments {
        if inst.kind == market::AssetKind::Fx {
            fx.insert(inst.key(), inst.mid());
        }
        quotes.insert(
            inst.key(),
            SimQuoteView {
                symbol: inst.key(),
                con_id: inst.con_id,
                currency: inst.currency.clone(),
                bid: inst.bid(),
                ask: inst.ask(),
                last: inst.mark(),
                open: inst.round(inst.open),
                high: inst.round(inst.high),
                low: inst.round(inst.low),
                close: inst.round(inst.prev_close),
                volume: inst.volume,
            },
        );
    }
    SimWorldView {
        accounts: vec![account],
        positions,
        fx,
        quotes,
    }
}

/// `ibkr-cockpit sim-gateway`: serve the primary book on `port` (and the secondary book on
/// `secondary_port`) until Ctrl-C.
/// `sim-gateway` command-line options.
#[derive(Debug, Clone)]
pub struct SimCli {
    pub port: u16,
    pub secondary_port: Option<u16>,
    pub seed: u64,
    pub positions: Option<usize>,
    pub faults: Option<String>,
    pub server_version: i32,
    /// Prices do not tick (for conformance checks against `truth`).
    pub frozen: bool,
    /// Write the primary book (accounts, positions, quotes, orders, fills) as JSON here once
    /// listening: the values a client's answers must equal.
    pub truth: Option<std::path::PathBuf>,
    /// `SimConfig::historical_latency`.
    pub historical_latency: Duration,
}

pub async fn run_sim_gateway_cli(opts: SimCli) -> anyhow::Result<()> {
    let SimCli {
        port,
        secondary_port,
        seed,
        positions,
        faults,
        server_version,
        frozen,
        truth,
        historical_latency,
    } = opts;
    let faults = faults.as_deref();
    let plan = match faults {
        Some(s) => FaultPlan::parse(s).map_err(|e| anyhow::anyhow!("--faults: {e}"))?,
        None => FaultPlan::none(),
    };
    let cfg = SimConfig {
        seed,
        positions,
        faults: plan,
        server_version,
        historical_latency,
        tick_interval: if frozen {
            None
        } else {
            SimConfig::default().tick_interval
        },
        ..SimConfig::default()
    };
    let primary = SimGateway::start_on(cfg.clone(), port)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    eprintln!(
        "simulated IB Gateway listening on {} (accounts {})",
        primary.addr(),
        primary.account_id()
    );
    if let Some(path) = truth {
        truth::write(&primary, &path)
            .map_err(|e| anyhow::anyhow!("--truth {}: {e}", path.display()))?;
    }
    let secondary = match secondary_port {
        Some(p) => {
            let cfg2 = SimConfig {
                book: SimBookKind::Secondary,
                positions: None,
                faults: FaultPlan::none(),
                ..cfg
            };
            let h = SimGateway::start_on(cfg2, p)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{p}: {e}"))?;
            eprintln!(
                "simulated IB Gateway listening on {} (accounts {})",
                h.addr(),
                h.account_id()
            );
            Some(h)
        }
        None => None,
    };
    tokio::signal::ctrl_c().await?;
    primary.shutdown().await;
    if let Some(h) = secondary {
        h.shutdown().await;
    }
    Ok(())
}
