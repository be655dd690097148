//! One client connection: handshake, then a loop that answers requests and pushes updates
//! (ticks, account values, P&L) to the subscriptions this client opened.
//!
//! The socket is split: a reader task turns bytes into frames, a writer task drains an outbound
//! queue (and holds it back while a stall fault is active), and the session loop in between owns
//! all per-connection state, so nothing here needs a lock except the shared world.

use super::book::{Account, AccountFigures};
use super::market::{AssetKind, Instrument, Market};
use super::proto as pb;
use super::wire::{self, ClientFrame};
use super::{SessionEvent, Shared, clock, history, news, options};
use ibapi::{IncomingMessages as In, OutgoingMessages as Out};
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc};

/// First order id handed out (above the seed book's own order ids).
const FIRST_ORDER_ID: i32 = 1_000;
/// How often account values, portfolio and P&L are pushed while prices tick.
const ACCOUNT_PUSH_EVERY: Duration = Duration::from_secs(1);
/// Portfolio rows pushed per account push (big books are refreshed round-robin).
const PORTFOLIO_ROWS_PER_PUSH: usize = 250;
/// A silent peer gets this long to complete the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// IB's "not set" for doubles.
pub const UNSET_DOUBLE: f64 = f64::MAX;

pub(crate) async fn run(shared: Arc<Shared>, stream: TcpStream) {
    if let Err(e) = serve(shared, stream).await {
        tracing::debug!("sim session ended: {e}");
    }
}

async fn serve(shared: Arc<Shared>, stream: TcpStream) -> io::Result<()> {
    let (mut rd, mut wr) = stream.into_split();
    let timeout_err = |_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out");
    tokio::time::timeout(HANDSHAKE_TIMEOUT, wire::read_preamble(&mut rd))
        .await
        .map_err(timeout_err)??;
    let conn_time = format!("{} UTC", clock::ymd_hms(clock::now_secs()));
    wr.write_all(&wire::handshake_reply(&conn_time)).await?;
    let start = tokio::time::timeout(HANDSHAKE_TIMEOUT, wire::read_frame(&mut rd))
        .await
        .map_err(timeout_err)??;
    shared.count_request(start.type_name());
    let client_id = match start.kind() {
        Some(Out::StartApi) => wire::decode::<pb::StartApiRequest>(&start.body)
            .client_id
            .unwrap_or(0),
        _ => 0,
    };

    let reject = {
        let mut f = shared.faults.lock();
        if f.client_id_rejections > 0 {
            f.client_id_rejections -= 1;
            true
        } else {
            false
        }
    };
    if reject {
        let msg =
            "Unable to connect as the client id is already in use. Retry with a unique client id.";
        wr.write_all(&error_frame(-1, 326, msg)).await?;
        wr.flush().await?;
        // Give the client a moment to read the error before the close.
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    }
    shared.counters.lock().connections += 1;

    let (tx, rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(write_loop(shared.clone(), wr, rx));
    let (ftx, mut frx) = mpsc::unbounded_channel::<ClientFrame>();
    let reader = tokio::spawn(read_loop(rd, ftx));
    let mut events = shared.events.subscribe();
    let mut s = Session::new(shared.clone(), tx, client_id);
    s.greet();

    let mut graceful = false;
    loop {
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            f = frx.recv() => match f {
                Some(frame) => s.handle(frame),
                None => break,
            },
            ev = events.recv() => match ev {
                Ok(SessionEvent::Tick { force }) => s.on_tick(force),
                Ok(SessionEvent::Drop) => break,
                Ok(SessionEvent::Restart) => {
                    s.notice(1100, "Connectivity between IB and Trader Workstation has been lost.");
                    graceful = true;
                    break;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    reader.abort();
    drop(s);
    if graceful {
        // Let the 1100 notice reach the client before the socket closes.
        let _ = tokio::time::timeout(Duration::from_millis(500), writer).await;
    } else {
        writer.abort();
    }
    Ok(())
}

async fn read_loop(mut rd: OwnedReadHalf, tx: mpsc::UnboundedSender<ClientFrame>) {
    while let Ok(frame) = wire::read_frame(&mut rd).await {
        if tx.send(frame).is_err() {
            break;
        }
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(first) = rx.recv().await {
        // A stalled gateway keeps the socket open but sends nothing until the stall ends.
        loop {
            let until = shared.faults.lock().stalled();
            match until {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => break,
            }
        }
        let mut buf = first;
        while buf.len() < 256 * 1024 {
            match rx.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if wr.write_all(&buf).await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

fn error_frame(id: i32, code: i32, msg: &str) -> Vec<u8> {
    wire::encode(
        In::Error,
        &pb::ErrorMessage {
            id: Some(id),
            error_time: Some(clock::now_millis()),
            error_code: Some(code),
            error_msg: Some(msg.to_string()),
            advanced_order_reject_json: None,
        },
    )
}

/// Decimal string as IB sends it ("340", "12.5").
pub fn dec(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// What a market-data subscription streams.
#[derive(Debug, Clone)]
enum MdTarget {
    Instrument(usize),
    Option(options::OptionSpec),
}

#[derive(Debug, Clone)]
struct MdSub {
    target: MdTarget,
    delayed: bool,
    generic: Vec<i32>,
    sent: u64,
    last_bid: f64,
    last_ask: f64,
    last_last: f64,
}

struct Session {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    client_id: i32,
    market_data_type: i32,
    next_order_id: i32,
    md: HashMap<i32, MdSub>,
    summaries: HashMap<i32, Vec<String>>,
    account_updates: bool,
    pnl: HashSet<i32>,
    pnl_single: HashMap<i32, i32>,
    hist_streams: HashMap<i32, history::BarRequest>,
    last_account_push: Instant,
    portfolio_cursor: usize,
    tick_no: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Keep-up-to-date bar streams count against the gateway's open-request limit.
        if !self.hist_streams.is_empty() {
            let mut p = self.shared.pacing.lock();
            p.open = p.open.saturating_sub(self.hist_streams.len());
        }
    }
}

impl Session {
    fn new(shared: Arc<Shared>, tx: mpsc::UnboundedSender<Vec<u8>>, client_id: i32) -> Self {
        Session {
            shared,
            tx,
            client_id,
            market_data_type: 1,
            next_order_id: FIRST_ORDER_ID,
            md: HashMap::new(),
            summaries: HashMap::new(),
            account_updates: false,
            pnl: HashSet::new(),
            pnl_single: HashMap::new(),
            hist_streams: HashMap::new(),
            last_account_push: Instant::now(),
            portfolio_cursor: 0,
            tick_no: 0,
        }
    }

    fn send<M: prost::Message>(&self, id: In, msg: &M) {
        let _ = self.tx.send(wire::encode(id, msg));
    }

    fn error(&self, id: i32, code: i32, msg: &str) {
        let _ = self.tx.send(error_frame(id, code, msg));
    }

    fn notice(&self, code: i32, msg: &str) {
        self.error(-1, code, msg);
    }

    fn account_id(&self) -> String {
        self.shared.world.lock().account.id.clone()
    }

    fn greet(&mut self) {
        let acct = self.account_id();
        self.send(
            In::ManagedAccounts,
            &pb::ManagedAccounts {
                accounts_list: Some(acct),
            },
        );
        self.send(
            In::NextValidId,
            &pb::NextValidId {
                order_id: Some(self.next_order_id),
            },
        );
        self.notice(2104, "Market data farm connection is OK:usfarm");
        self.notice(2106, "HMDS data farm connection is OK:ushmds");
        self.notice(2158, "Sec-def data farm connection is OK:secdefnj");
        let restarted = std::mem::take(&mut self.shared.faults.lock().restart_pending);
        if restarted {
            self.notice(1102, "Connectivity between IB and Trader Workstation has been restored - data maintained. All data farms are connected: usfarm; ushmds; secdefnj.");
        }
    }

    fn handle(&mut self, f: ClientFrame) {
        self.shared.count_request(f.type_name());
        let Some(kind) = f.kind() else {
            tracing::debug!("sim: unknown message id {}", f.id);
            return;
        };
        let b = &f.body;
        match kind {
            Out::StartApi => {}
            Out::RequestManagedAccounts => {
                let acct = self.account_id();
                self.send(
                    In::ManagedAccounts,
                    &pb::ManagedAccounts {
                        accounts_list: Some(acct),
                    },
                );
            }
            Out::RequestIds => self.send(
                In::NextValidId,
                &pb::NextValidId {
                    order_id: Some(self.next_order_id),
                },
            ),
            Out::RequestCurrentTime => self.send(
                In::CurrentTime,
                &pb::CurrentTime {
                    current_time: Some(clock::now_secs()),
                },
            ),
            Out::RequestCurrentTimeInMillis => self.send(
                In::CurrentTimeInMillis,
                &pb::CurrentTimeInMillis {
                    current_time_in_millis: Some(clock::now_millis()),
                },
            ),
            Out::RequestMarketDataType => {
                let t = wire::decode::<pb::MarketDataTypeRequest>(b)
                    .market_data_type
                    .unwrap_or(1);
                self.market_data_type = t.clamp(1, 4);
            }
            Out::RequestAccountSummary => self.req_account_summary(wire::decode(b)),
            Out::CancelAccountSummary => {
                let id = wire::decode::<pb::ReqIdOnly>(b).req_id.unwrap_or(0);
                self.summaries.remove(&id);
            }
            Out::RequestAccountData => self.req_account_data(wire::decode(b)),
            Out::RequestPositions => self.req_positions(),
            Out::CancelPositions => {}
            Out::RequestPnL => self.req_pnl(wire::decode(b)),
            Out::CancelPnL => {
                let id = wire::decode::<pb::ReqIdOnly>(b).req_id.unwrap_or(0);
                self.pnl.remove(&id);
            }
            Out::RequestPnLSingle => self.req_pnl_single(wire::decode(b)),
            Out::CancelPnLSingle => {
                let id = wire::decode::<pb::ReqIdOnly>(b).req_id.unwrap_or(0);
                self.pnl_single.remove(&id);
            }
            Out::RequestMarketData => self.req_market_data(wire::decode(b)),
            Out::CancelMarketData => {
                let id = wire::decode::<pb::ReqIdOnly>(b).req_id.unwrap_or(0);
                self.md.remove(&id);
            }
            Out::RequestHistoricalData => self.req_historical(wire::decode(b)),
            Out::CancelHistoricalData => {
                let id = wire::decode::<pb::ReqIdOnly>(b).req_id.unwrap_or(0);
                if self.hist_streams.remove(&id).is_some() {
                    let mut p = self.shared.pacing.lock();
                    p.open = p.open.saturating_sub(1);
                }
            }
            Out::RequestContractData => self.req_contract_details(wire::decode(b)),
            Out::CancelContractData => {}
            Out::RequestMatchingSymbols => self.req_matching_symbols(wire::decode(b)),
            Out::RequestSecurityDefinitionOptionalParameters => {
                self.req_option_params(wire::decode(b))
            }
            Out::ReqCalcOptionPrice => self.req_calc_option_price(wire::decode(b)),
            Out::ReqCalcImpliedVolat => self.req_calc_implied_vol(wire::decode(b)),
            Out::CancelOptionPrice | Out::CancelImpliedVolatility => {}
            Out::PlaceOrder => self.place_order(wire::decode(b)),
            Out::CancelOrder => {
                let id = wire::decode::<pb::CancelOrderRequest>(b)
                    .order_id
                    .unwrap_or(0);
                self.error(
                    id,
                    10147,
                    &format!("OrderId {id} that needs to be cancelled is not found."),
                );
            }
            Out::RequestGlobalCancel => {}
            Out::RequestOpenOrders | Out::RequestAllOpenOrders | Out::RequestAutoOpenOrders => {
                self.req_open_orders()
            }
            Out::RequestCompletedOrders => self.req_completed_orders(),
            Out::RequestExecutions => self.req_executions(wire::decode(b)),
            Out::RequestNewsProviders => {
                let providers = news::PROVIDERS
                    .iter()
                    .map(|(c, n)| pb::NewsProvider {
                        provider_code: Some(c.to_string()),
                        provider_name: Some(n.to_string()),
                    })
                    .collect();
                self.send(
                    In::NewsProviders,
                    &pb::NewsProviders {
                        news_providers: providers,
                    },
                );
            }
            Out::RequestHistoricalNews => self.req_historical_news(wire::decode(b)),
            Out::RequestNewsArticle => self.req_news_article(wire::decode(b)),
            other => tracing::debug!("sim: ignoring {other:?}"),
        }
    }

    // ------------------------------------------------------------------ account

    fn req_account_summary(&mut self, r: pb::AccountSummaryRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let tags: Vec<String> = r
            .tags
            .unwrap_or_default()
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        self.send_summary(req_id, &tags);
        self.send(
            In::AccountSummaryEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
        self.summaries.insert(req_id, tags);
    }

    fn send_summary(&self, req_id: i32, tags: &[String]) {
        let rows = {
            let w = self.shared.world.lock();
            let f = w.account.figures(&w.market);
            summary_rows(&w.account, &f, &w.market, tags)
        };
        let acct = self.account_id();
        for (tag, value, currency) in rows {
            self.send(
                In::AccountSummary,
                &pb::AccountSummary {
                    req_id: Some(req_id),
                    account: Some(acct.clone()),
                    tag: Some(tag),
                    value: Some(value),
                    currency: Some(currency),
                },
            );
        }
    }

    fn req_account_data(&mut self, r: pb::AccountDataRequest) {
        if !r.subscribe.unwrap_or(false) {
            self.account_updates = false;
            return;
        }
        self.account_updates = true;
        self.send_account_values(true);
        let n = self.shared.world.lock().account.positions.len();
        self.send_portfolio(0, n);
        self.send(
            In::AccountUpdateTime,
            &pb::AccountUpdateTime {
                time_stamp: Some(clock::hm(clock::now_secs())),
            },
        );
        let acct = self.account_id();
        self.send(
            In::AccountDownloadEnd,
            &pb::AccountDataEnd {
                account_name: Some(acct),
            },
        );
    }

    fn send_account_values(&self, full: bool) {
        let (acct, rows) = {
            let w = self.shared.world.lock();
            let f = w.account.figures(&w.market);
            let mut tags: Vec<String> = ACCOUNT_UPDATE_TAGS.iter().map(|s| s.to_string()).collect();
            tags.push(if full {
                "$LEDGER:ALL".into()
            } else {
                "$LEDGER".into()
            });
            (
                w.account.id.clone(),
                summary_rows(&w.account, &f, &w.market, &tags),
            )
        };
        for (key, value, currency) in rows {
            self.send(
                In::AccountValue,
                &pb::AccountValue {
                    key: Some(key),
                    value: Some(value),
                    currency: Some(currency),
                    account_name: Some(acct.clone()),
                },
            );
        }
    }

    fn send_portfolio(&self, from: usize, count: usize) {
        let msgs: Vec<pb::PortfolioValue> = {
            let w = self.shared.world.lock();
            let a = &w.account;
            let n = a.positions.len();
            (0..count.min(n))
                .map(|k| {
                    let p = &a.positions[(from + k) % n];
                    let inst = w.market.get(p.inst);
                    let pf = a.position_figures(&w.market, p);
                    pb::PortfolioValue {
                        contract: Some(position_contract(inst)),
                        position: Some(dec(p.qty)),
                        market_price: Some(pf.price),
                        market_value: Some(round2(pf.market_value)),
                        average_cost: Some(p.avg_cost),
                        unrealized_pnl: Some(round2(pf.unrealized)),
                        realized_pnl: Some(round2(pf.realized)),
                        account_name: Some(a.id.clone()),
                    }
                })
                .collect()
        };
        for m in msgs {
            self.send(In::PortfolioValue, &m);
        }
    }

    fn req_positions(&self) {
        let msgs: Vec<pb::Position> = {
            let w = self.shared.world.lock();
            w.account
                .positions
                .iter()
                .map(|p| pb::Position {
                    account: Some(w.account.id.clone()),
                    contract: Some(position_contract(w.market.get(p.inst))),
                    position: Some(dec(p.qty)),
                    avg_cost: Some(p.avg_cost),
                })
                .collect()
        };
        for m in msgs {
            self.send(In::Position, &m);
        }
        self.send(In::PositionEnd, &pb::Empty {});
    }

    fn req_pnl(&mut self, r: pb::PnLRequest) {
        let req_id = r.req_id.unwrap_or(0);
        self.pnl.insert(req_id);
        self.send_pnl(req_id);
    }

    fn send_pnl(&self, req_id: i32) {
        let f = {
            let w = self.shared.world.lock();
            w.account.figures(&w.market)
        };
        self.send(
            In::PnL,
            &pb::PnL {
                req_id: Some(req_id),
                daily_pn_l: Some(round2(f.daily_pnl)),
                unrealized_pn_l: Some(round2(f.unrealized_pnl)),
                realized_pn_l: Some(round2(f.realized_pnl)),
            },
        );
    }

    fn req_pnl_single(&mut self, r: pb::PnLSingleRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let con_id = r.con_id.unwrap_or(0);
        self.pnl_single.insert(req_id, con_id);
        self.send_pnl_single(req_id, con_id);
    }

    fn send_pnl_single(&self, req_id: i32, con_id: i32) {
        let msg = {
            let w = self.shared.world.lock();
            let held = w
                .market
                .by_con_id(con_id)
                .and_then(|i| w.account.positions.iter().find(|p| p.inst == i));
            match held {
                Some(p) => {
                    let pf = w.account.position_figures(&w.market, p);
                    pb::PnLSingle {
                        req_id: Some(req_id),
                        position: Some(dec(p.qty)),
                        daily_pn_l: Some(round2(pf.daily_base)),
                        unrealized_pn_l: Some(round2(pf.unrealized_base)),
                        realized_pn_l: Some(round2(pf.realized_base)),
                        value: Some(round2(pf.market_value_base)),
                    }
                }
                None => pb::PnLSingle {
                    req_id: Some(req_id),
                    position: Some("0".into()),
                    daily_pn_l: Some(0.0),
                    unrealized_pn_l: Some(0.0),
                    realized_pn_l: Some(0.0),
                    value: Some(0.0),
                },
            }
        };
        self.send(In::PnLSingle, &msg);
    }

    // ------------------------------------------------------------------ market data

    fn req_market_data(&mut self, r: pb::MarketDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.unwrap_or_default();
        let sec_type = c
            .sec_type
            .clone()
            .unwrap_or_else(|| "STK".into())
            .to_ascii_uppercase();
        let symbol = c.symbol.clone().unwrap_or_default().to_ascii_uppercase();
        let generic: Vec<i32> = r
            .generic_tick_list
            .unwrap_or_default()
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .collect();
        let target = if sec_type == "OPT" {
            let w = self.shared.world.lock();
            options::OptionSpec::from_contract(&w.market, &c).map(MdTarget::Option)
        } else {
            let w = self.shared.world.lock();
            w.market
                .lookup(
                    c.con_id.unwrap_or(0),
                    &symbol,
                    &sec_type,
                    c.currency.as_deref().unwrap_or(""),
                )
                .map(MdTarget::Instrument)
        };
        let Some(target) = target else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let underlying_key = {
            let w = self.shared.world.lock();
            match &target {
                MdTarget::Instrument(i) => w.market.get(*i).key(),
                MdTarget::Option(o) => w.market.get(o.underlying).symbol.clone(),
            }
        };
        let subscribed = !self
            .shared
            .faults
            .lock()
            .no_subscription
            .contains(&underlying_key);
        let delayed = match (subscribed, self.market_data_type) {
            (true, _) => false,
            (false, 3 | 4) => true,
            (false, _) => {
                self.error(
                    req_id,
                    354,
                    "Requested market data is not subscribed. Check API status by selecting the Account menu then under Management choose Market Data Subscription Manager and/or Delayed Market Data.",
                );
                return;
            }
        };
        let reported_type = match (delayed, self.market_data_type) {
            (true, 4) => 4,
            (true, _) => 3,
            (false, 2) => 2,
            (false, _) => 1,
        };
        self.send(
            In::MarketDataType,
            &pb::MarketDataType {
                req_id: Some(req_id),
                market_data_type: Some(reported_type),
            },
        );
        if delayed {
            self.error(
                req_id,
                10167,
                "Requested market data is not subscribed. Displaying delayed market data.",
            );
        }
        let min_tick = {
            let w = self.shared.world.lock();
            match &target {
                MdTarget::Instrument(i) => w.market.get(*i).min_tick,
                MdTarget::Option(_) => 0.01,
            }
        };
        self.send(
            In::TickReqParams,
            &pb::TickReqParams {
                req_id: Some(req_id),
                min_tick: Some(format!("{min_tick}")),
                bbo_exchange: Some("9c0001".into()),
                snapshot_permissions: Some(3),
            },
        );
        let mut sub = MdSub {
            target,
            delayed,
            generic,
            sent: 0,
            last_bid: f64::NAN,
            last_ask: f64::NAN,
            last_last: f64::NAN,
        };
        self.send_full_quote(req_id, &mut sub);
        if r.snapshot.unwrap_or(false) || r.regulatory_snapshot.unwrap_or(false) {
            self.send(
                In::TickSnapshotEnd,
                &pb::ReqIdOnly {
                    req_id: Some(req_id),
                },
            );
        } else {
            self.md.insert(req_id, sub);
        }
    }

    fn tick_price(&self, req_id: i32, tick_type: i32, price: f64, size: Option<f64>) {
        self.send(
            In::TickPrice,
            &pb::TickPrice {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                price: Some(price),
                size: size.map(dec),
                attr_mask: Some(0),
            },
        );
    }

    fn tick_size(&self, req_id: i32, tick_type: i32, size: f64) {
        self.send(
            In::TickSize,
            &pb::TickSize {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                size: Some(dec(size)),
            },
        );
    }

    fn tick_string(&self, req_id: i32, tick_type: i32, value: String) {
        self.send(
            In::TickString,
            &pb::TickString {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                value: Some(value),
            },
        );
    }

    fn tick_generic(&self, req_id: i32, tick_type: i32, value: f64) {
        self.send(
            In::TickGeneric,
            &pb::TickGeneric {
                req_id: Some(req_id),
                tick_type: Some(tick_type),
                value: Some(value),
            },
        );
    }

    /// Every field of the quote (initial answer and snapshots).
    fn send_full_quote(&self, req_id: i32, sub: &mut MdSub) {
        let d = sub.delayed;
        let t = |live: i32, delayed: i32| if d { delayed } else { live };
        match sub.target.clone() {
            MdTarget::Instrument(i) => {
                let inst = self.shared.world.lock().market.get(i).clone();
                let (bid_sz, ask_sz) = book_sizes(&inst);
                self.tick_price(req_id, t(1, 66), inst.bid(), Some(bid_sz));
                self.tick_price(req_id, t(2, 67), inst.ask(), Some(ask_sz));
                if inst.kind != AssetKind::Fx {
                    self.tick_price(req_id, t(4, 68), inst.mark(), Some(inst.last_size));
                    self.tick_size(req_id, t(8, 74), inst.volume);
                    self.tick_string(req_id, t(45, 88), clock::now_secs().to_string());
                }
                self.tick_price(req_id, t(6, 72), inst.round(inst.high), None);
                self.tick_price(req_id, t(7, 73), inst.round(inst.low), None);
                self.tick_price(req_id, t(9, 75), inst.round(inst.prev_close), None);
                self.tick_price(req_id, t(14, 76), inst.round(inst.open), None);
                sub.last_bid = inst.bid();
                sub.last_ask = inst.ask();
                sub.last_last = inst.mark();
                self.send_generic_ticks(req_id, &inst, &sub.generic);
            }
            MdTarget::Option(o) => self.send_option_quote(req_id, &o, d, true),
        }
        self.maybe_sentinel(req_id, sub);
    }

    fn send_generic_ticks(&self, req_id: i32, inst: &Instrument, generic: &[i32]) {
        for g in generic {
            match g {
                456 => {
                    let s = options::dividend_string(inst, clock::now_secs());
                    self.tick_string(req_id, 59, s);
                }
                104 => self.tick_generic(req_id, 23, inst.annual_vol() * 0.95),
                106 => self.tick_generic(req_id, 24, inst.annual_vol()),
                165 => {
                    let (lo, hi) = {
                        let w = self.shared.world.lock();
                        history::range_52w(&w.market, inst)
                    };
                    self.tick_price(req_id, 19, inst.round(lo), None);
                    self.tick_price(req_id, 20, inst.round(hi), None);
                    self.tick_size(req_id, 21, inst.avg_volume);
                }
                233 => {
                    let v = format!(
                        "{:.2};{};{};{};{:.4};false",
                        inst.mark(),
                        dec(inst.last_size),
                        clock::now_millis(),
                        dec(inst.volume),
                        (inst.open + inst.mark()) / 2.0
                    );
                    self.tick_string(req_id, 48, v);
                }
                236 => self.tick_generic(req_id, 46, 3.0),
                _ => {}
            }
        }
    }

    fn send_option_quote(&self, req_id: i32, o: &options::OptionSpec, delayed: bool, full: bool) {
        let q = {
            let w = self.shared.world.lock();
            o.quote(&w.market, clock::now_secs())
        };
        let t = |live: i32, del: i32| if delayed { del } else { live };
        self.tick_price(req_id, t(1, 66), q.bid, Some(q.bid_size));
        self.tick_price(req_id, t(2, 67), q.ask, Some(q.ask_size));
        self.tick_price(req_id, t(4, 68), q.last, Some(1.0));
        if full {
            self.tick_price(req_id, t(9, 75), q.close, None);
            self.tick_size(req_id, t(8, 74), q.volume);
        }
        for (live, del, price) in [
            (10, 80, q.bid),
            (11, 81, q.ask),
            (12, 82, q.last),
            (13, 83, q.model),
        ] {
            self.send(
                In::TickOptionComputation,
                &pb::TickOptionComputation {
                    req_id: Some(req_id),
                    tick_type: Some(if delayed { del } else { live }),
                    tick_attrib: Some(1),
                    implied_vol: Some(q.iv),
                    delta: Some(q.delta),
                    opt_price: Some(price),
                    pv_dividend: Some(q.pv_dividend),
                    gamma: Some(q.gamma),
                    vega: Some(q.vega),
                    theta: Some(q.theta),
                    und_price: Some(q.underlying),
                },
            );
        }
    }

    /// With the sentinel fault on, some ticks carry IB's "no value" markers.
    fn maybe_sentinel(&self, req_id: i32, sub: &mut MdSub) {
        sub.sent += 1;
        if !self.shared.faults.lock().sentinels || sub.sent % 3 != 1 {
            return;
        }
        const SENTINELS: [f64; 4] = [-1.0, 0.0, f64::MAX, f64::NAN];
        let v = SENTINELS[((sub.sent / 3) % 4) as usize];
        let tt = if sub.delayed {
            [66, 67, 68, 75]
        } else {
            [1, 2, 4, 9]
        }[((sub.sent / 12) % 4) as usize];
        self.tick_price(
            req_id,
            tt,
            v,
            if tt == 9 || tt == 75 { None } else { Some(0.0) },
        );
        if sub.sent % 2 == 1 {
            self.tick_size(req_id, if sub.delayed { 74 } else { 8 }, -1.0);
        }
    }

    fn on_tick(&mut self, force: bool) {
        if self.shared.faults.lock().stalled().is_some() {
            return;
        }
        self.tick_no += 1;
        let ids: Vec<i32> = self.md.keys().copied().collect();
        for id in ids {
            let Some(mut sub) = self.md.remove(&id) else {
                continue;
            };
            self.stream_update(id, &mut sub);
            self.md.insert(id, sub);
        }
        if force || self.last_account_push.elapsed() >= ACCOUNT_PUSH_EVERY {
            self.last_account_push = Instant::now();
            self.push_account();
        }
        if !self.hist_streams.is_empty() {
            self.push_bar_updates();
        }
    }

    fn stream_update(&self, req_id: i32, sub: &mut MdSub) {
        let d = sub.delayed;
        let t = |live: i32, delayed: i32| if d { delayed } else { live };
        match sub.target.clone() {
            MdTarget::Instrument(i) => {
                let inst = self.shared.world.lock().market.get(i).clone();
                let (bid_sz, ask_sz) = book_sizes(&inst);
                if inst.bid() != sub.last_bid {
                    sub.last_bid = inst.bid();
                    self.tick_price(req_id, t(1, 66), sub.last_bid, Some(bid_sz));
                }
                if inst.ask() != sub.last_ask {
                    sub.last_ask = inst.ask();
                    self.tick_price(req_id, t(2, 67), sub.last_ask, Some(ask_sz));
                }
                if inst.kind != AssetKind::Fx {
                    if inst.mark() != sub.last_last || self.tick_no.is_multiple_of(4) {
                        sub.last_last = inst.mark();
                        self.tick_price(req_id, t(4, 68), sub.last_last, Some(inst.last_size));
                        self.tick_string(req_id, t(45, 88), clock::now_secs().to_string());
                    }
                    if self.tick_no.is_multiple_of(4) {
                        self.tick_size(req_id, t(8, 74), inst.volume);
                        self.tick_price(req_id, t(6, 72), inst.round(inst.high), None);
                        self.tick_price(req_id, t(7, 73), inst.round(inst.low), None);
                    }
                }
            }
            MdTarget::Option(o) => {
                if self.tick_no.is_multiple_of(4) {
                    self.send_option_quote(req_id, &o, d, false);
                }
            }
        }
        self.maybe_sentinel(req_id, sub);
    }

    fn push_account(&mut self) {
        let ids: Vec<(i32, Vec<String>)> = self
            .summaries
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        for (id, tags) in ids {
            self.send_summary(id, &tags);
        }
        if self.account_updates {
            self.send_account_values(false);
            let n = self.shared.world.lock().account.positions.len();
            let count = n.min(PORTFOLIO_ROWS_PER_PUSH);
            self.send_portfolio(self.portfolio_cursor, count);
            self.portfolio_cursor = if n == 0 {
                0
            } else {
                (self.portfolio_cursor + count) % n
            };
            self.send(
                In::AccountUpdateTime,
                &pb::AccountUpdateTime {
                    time_stamp: Some(clock::hm(clock::now_secs())),
                },
            );
        }
        let pnl: Vec<i32> = self.pnl.iter().copied().collect();
        for id in pnl {
            self.send_pnl(id);
        }
        let singles: Vec<(i32, i32)> = self.pnl_single.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, con) in singles {
            self.send_pnl_single(id, con);
        }
    }

    // ------------------------------------------------------------------ historical

    fn req_historical(&mut self, r: pb::HistoricalDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.clone().unwrap_or_default();
        let key = history::pacing_key(&r);
        let verdict = {
            let pacing_fault = std::mem::take(&mut self.shared.faults.lock().pacing_next);
            if pacing_fault {
                Err("pacing violation injected")
            } else {
                self.shared.pacing.lock().admit(&key, Instant::now())
            }
        };
        if let Err(why) = verdict {
            self.shared.counters.lock().pacing_violations += 1;
            tracing::debug!("sim pacing violation for {key}: {why}");
            self.error(req_id, 162, "Historical Market Data Service error message:Historical data request pacing violation");
            return;
        }
        let parsed = {
            let w = self.shared.world.lock();
            let idx = w.market.lookup(
                c.con_id.unwrap_or(0),
                c.symbol.as_deref().unwrap_or(""),
                c.sec_type.as_deref().unwrap_or("STK"),
                c.currency.as_deref().unwrap_or(""),
            );
            match idx {
                None => Err((
                    200,
                    "No security definition has been found for the request".to_string(),
                )),
                Some(i) => history::BarRequest::parse(&r, i).map_err(|e| (321, e)),
            }
        };
        let req = match parsed {
            Ok(req) => req,
            Err((code, msg)) => {
                self.error(req_id, code, &msg);
                return;
            }
        };
        let now = clock::now_secs();
        let result = {
            let w = self.shared.world.lock();
            history::bars(&w.market, &req, now)
        };
        match result {
            Ok(out) => {
                let bars: Vec<pb::HistoricalDataBar> =
                    out.bars.iter().map(history::to_proto).collect();
                self.send(
                    In::HistoricalData,
                    &pb::HistoricalData {
                        req_id: Some(req_id),
                        historical_data_bars: bars,
                    },
                );
                self.send(
                    In::HistoricalDataEnd,
                    &pb::HistoricalDataEnd {
                        req_id: Some(req_id),
                        start_date_str: Some(clock::ymd_dash_hms(out.start)),
                        end_date_str: Some(clock::ymd_dash_hms(out.end)),
                    },
                );
                if r.keep_up_to_date.unwrap_or(false) {
                    self.shared.pacing.lock().open += 1;
                    self.hist_streams.insert(req_id, req);
                }
            }
            Err(msg) => self.error(
                req_id,
                162,
                &format!("Historical Market Data Service error message:{msg}"),
            ),
        }
    }

    fn push_bar_updates(&self) {
        let now = clock::now_secs();
        let updates: Vec<(i32, history::OutBar)> = {
            let w = self.shared.world.lock();
            self.hist_streams
                .iter()
                .filter_map(|(id, req)| history::current_bar(&w.market, req, now).map(|b| (*id, b)))
                .collect()
        };
        for (id, bar) in updates {
            self.send(
                In::HistoricalDataUpdate,
                &pb::HistoricalDataUpdate {
                    req_id: Some(id),
                    historical_data_bar: Some(history::to_proto(&bar)),
                },
            );
        }
    }

    // ------------------------------------------------------------------ contracts

    fn req_contract_details(&self, r: pb::ContractDataRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let c = r.contract.unwrap_or_default();
        let sec_type = c.sec_type.clone().unwrap_or_default().to_ascii_uppercase();
        let answers: Vec<pb::ContractData> = {
            let w = self.shared.world.lock();
            if sec_type == "OPT" {
                options::contract_details(&w.market, &c, clock::now_secs())
                    .into_iter()
                    .map(|(contract, details)| pb::ContractData {
                        req_id: Some(req_id),
                        contract: Some(contract),
                        contract_details: Some(details),
                    })
                    .collect()
            } else {
                let st = if sec_type.is_empty() {
                    "STK"
                } else {
                    sec_type.as_str()
                };
                w.market
                    .lookup(
                        c.con_id.unwrap_or(0),
                        c.symbol.as_deref().unwrap_or(""),
                        st,
                        c.currency.as_deref().unwrap_or(""),
                    )
                    .map(|i| {
                        let inst = w.market.get(i);
                        pb::ContractData {
                            req_id: Some(req_id),
                            contract: Some(full_contract(inst)),
                            contract_details: Some(stock_details(inst, clock::now_secs())),
                        }
                    })
                    .into_iter()
                    .collect()
            }
        };
        if answers.is_empty() {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        }
        for a in answers {
            self.send(In::ContractData, &a);
        }
        self.send(
            In::ContractDataEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }

    fn req_matching_symbols(&self, r: pb::MatchingSymbolsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let pat = r.pattern.unwrap_or_default().trim().to_ascii_uppercase();
        let descs: Vec<pb::ContractDescription> = {
            let w = self.shared.world.lock();
            let mut hits: Vec<(u8, &Instrument)> = w
                .market
                .instruments
                .iter()
                .filter(|i| i.kind != AssetKind::Fx || pat.len() == 3)
                .filter_map(|i| {
                    let sym = i.symbol.to_ascii_uppercase();
                    let name = i.long_name.to_ascii_uppercase();
                    if pat.is_empty() {
                        None
                    } else if sym == pat {
                        Some((0, i))
                    } else if sym.starts_with(&pat) {
                        Some((1, i))
                    } else if name.contains(&pat) {
                        Some((2, i))
                    } else {
                        None
                    }
                })
                .collect();
            hits.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.symbol.cmp(&b.1.symbol)));
            hits.into_iter()
                .take(16)
                .map(|(_, i)| {
                    let mut c = full_contract(i);
                    c.exchange = None;
                    c.description = Some(i.long_name.clone());
                    let derivs = if i.kind == AssetKind::Fx {
                        vec![]
                    } else {
                        vec!["OPT".to_string(), "CFD".to_string()]
                    };
                    pb::ContractDescription {
                        contract: Some(c),
                        derivative_sec_types: derivs,
                    }
                })
                .collect()
        };
        self.send(
            In::SymbolSamples,
            &pb::SymbolSamples {
                req_id: Some(req_id),
                contract_descriptions: descs,
            },
        );
    }

    fn req_option_params(&self, r: pb::SecDefOptParamsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let chains = {
            let w = self.shared.world.lock();
            let sym = r.underlying_symbol.unwrap_or_default();
            w.market
                .lookup(r.underlying_con_id.unwrap_or(0), &sym, "STK", "")
                .map(|i| options::chains(&w.market, i, clock::now_secs()))
        };
        let Some(chains) = chains else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        for ch in chains {
            self.send(
                In::SecurityDefinitionOptionParameter,
                &pb::SecDefOptParameter {
                    req_id: Some(req_id),
                    exchange: Some(ch.exchange),
                    underlying_con_id: Some(ch.underlying_con_id),
                    trading_class: Some(ch.trading_class),
                    multiplier: Some("100".into()),
                    expirations: ch.expirations,
                    strikes: ch.strikes,
                },
            );
        }
        self.send(
            In::SecurityDefinitionOptionParameterEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }

    fn send_computation(&self, req_id: i32, q: Option<options::OptionQuote>) {
        match q {
            Some(q) => self.send(
                In::TickOptionComputation,
                &pb::TickOptionComputation {
                    req_id: Some(req_id),
                    tick_type: Some(53),
                    tick_attrib: Some(1),
                    implied_vol: Some(q.iv),
                    delta: Some(q.delta),
                    opt_price: Some(q.model),
                    pv_dividend: Some(q.pv_dividend),
                    gamma: Some(q.gamma),
                    vega: Some(q.vega),
                    theta: Some(q.theta),
                    und_price: Some(q.underlying),
                },
            ),
            None => self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            ),
        }
    }

    fn req_calc_option_price(&self, r: pb::CalculateOptionPriceRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let q = {
            let w = self.shared.world.lock();
            r.contract
                .as_ref()
                .and_then(|c| options::OptionSpec::from_contract(&w.market, c))
                .map(|o| o.quote_with(&w.market, clock::now_secs(), r.volatility, r.under_price))
        };
        self.send_computation(req_id, q);
    }

    fn req_calc_implied_vol(&self, r: pb::CalculateImpliedVolatilityRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let q = {
            let w = self.shared.world.lock();
            r.contract
                .as_ref()
                .and_then(|c| options::OptionSpec::from_contract(&w.market, c))
                .map(|o| {
                    let vol = o.implied_vol_for(
                        &w.market,
                        clock::now_secs(),
                        r.option_price.unwrap_or(0.0),
                        r.under_price,
                    );
                    o.quote_with(&w.market, clock::now_secs(), Some(vol), r.under_price)
                })
        };
        self.send_computation(req_id, q);
    }

    // ------------------------------------------------------------------ orders

    fn place_order(&mut self, r: pb::PlaceOrderRequest) {
        let order_id = r.order_id.unwrap_or(0);
        let order = r.order.clone().unwrap_or_default();
        if !order.what_if.unwrap_or(false) {
            // Read-only simulator: a real order is counted and refused, never acted on.
            self.shared.counters.lock().real_orders += 1;
            self.error(order_id, 201, "Order rejected - reason:The simulated gateway is read-only; only what-if orders are accepted.");
            return;
        }
        self.shared.counters.lock().what_if_orders += 1;
        self.next_order_id = self.next_order_id.max(order_id + 1);
        let c = r.contract.clone().unwrap_or_default();
        let action = order
            .action
            .clone()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let qty: f64 = order
            .total_quantity
            .as_deref()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0.0);
        if !matches!(action.as_str(), "BUY" | "SELL" | "SSHORT") || qty <= 0.0 || !qty.is_finite() {
            self.error(
                order_id,
                201,
                "Order rejected - reason:Invalid action or quantity",
            );
            return;
        }
        let answer = {
            let w = self.shared.world.lock();
            let sec_type = c.sec_type.as_deref().unwrap_or("STK");
            w.market
                .lookup(
                    c.con_id.unwrap_or(0),
                    c.symbol.as_deref().unwrap_or(""),
                    sec_type,
                    c.currency.as_deref().unwrap_or(""),
                )
                .map(|i| {
                    let inst = w.market.get(i);
                    let price = match (order.order_type.as_deref(), order.lmt_price) {
                        (Some("LMT"), Some(p)) if p > 0.0 && p.is_finite() => p,
                        _ if action == "BUY" => inst.ask(),
                        _ => inst.bid(),
                    };
                    let signed = if action == "BUY" { qty } else { -qty };
                    (
                        full_contract(inst),
                        w.account.what_if(&w.market, i, signed, price),
                        w.account.base.clone(),
                        w.account.id.clone(),
                    )
                })
        };
        let Some((contract, wi, base, acct)) = answer else {
            self.error(
                order_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let state = pb::OrderState {
            status: Some("PreSubmitted".into()),
            init_margin_before: Some(round2(wi.before.init_margin)),
            maint_margin_before: Some(round2(wi.before.maint_margin)),
            equity_with_loan_before: Some(round2(wi.before.equity_with_loan)),
            init_margin_change: Some(round2(wi.after.init_margin - wi.before.init_margin)),
            maint_margin_change: Some(round2(wi.after.maint_margin - wi.before.maint_margin)),
            equity_with_loan_change: Some(round2(
                wi.after.equity_with_loan - wi.before.equity_with_loan,
            )),
            init_margin_after: Some(round2(wi.after.init_margin)),
            maint_margin_after: Some(round2(wi.after.maint_margin)),
            equity_with_loan_after: Some(round2(wi.after.equity_with_loan)),
            commission_and_fees: Some(wi.commission),
            min_commission_and_fees: Some(UNSET_DOUBLE),
            max_commission_and_fees: Some(UNSET_DOUBLE),
            commission_and_fees_currency: Some(wi.commission_currency),
            margin_currency: Some(base),
            warning_text: if wi.warning.is_empty() {
                None
            } else {
                Some(wi.warning)
            },
            completed_time: None,
            completed_status: None,
        };
        let echo = pb::Order {
            client_id: Some(self.client_id),
            order_id: Some(order_id),
            perm_id: Some(0),
            action: Some(action),
            total_quantity: Some(dec(qty)),
            order_type: order.order_type.clone().or(Some("MKT".into())),
            lmt_price: order.lmt_price,
            tif: order.tif.clone().or(Some("DAY".into())),
            account: order.account.clone().or(Some(acct)),
            what_if: Some(true),
            ..Default::default()
        };
        self.send(
            In::OpenOrder,
            &pb::OpenOrder {
                order_id: Some(order_id),
                contract: Some(contract),
                order: Some(echo),
                order_state: Some(state),
            },
        );
    }

    fn req_open_orders(&self) {
        let rows: Vec<(pb::OpenOrder, pb::OrderStatus)> = {
            let w = self.shared.world.lock();
            w.account
                .open_orders
                .iter()
                .map(|o| {
                    let inst = w.market.get(o.inst);
                    let order = pb::Order {
                        client_id: Some(o.client_id),
                        order_id: Some(o.order_id),
                        perm_id: Some(o.perm_id),
                        action: Some(o.action.into()),
                        total_quantity: Some(dec(o.qty)),
                        order_type: Some(o.order_type.into()),
                        lmt_price: Some(o.limit),
                        tif: Some(o.tif.into()),
                        account: Some(w.account.id.clone()),
                        transmit: Some(true),
                        ..Default::default()
                    };
                    let state = pb::OrderState {
                        status: Some("Submitted".into()),
                        ..Default::default()
                    };
                    let status = pb::OrderStatus {
                        order_id: Some(o.order_id),
                        status: Some("Submitted".into()),
                        filled: Some("0".into()),
                        remaining: Some(dec(o.qty)),
                        avg_fill_price: Some(0.0),
                        perm_id: Some(o.perm_id),
                        parent_id: Some(0),
                        last_fill_price: Some(0.0),
                        client_id: Some(o.client_id),
                        why_held: Some(String::new()),
                    };
                    (
                        pb::OpenOrder {
                            order_id: Some(o.order_id),
                            contract: Some(full_contract(inst)),
                            order: Some(order),
                            order_state: Some(state),
                        },
                        status,
                    )
                })
                .collect()
        };
        for (open, status) in rows {
            self.send(In::OpenOrder, &open);
            self.send(In::OrderStatus, &status);
        }
        self.send(In::OpenOrderEnd, &pb::Empty {});
    }

    fn req_completed_orders(&self) {
        let rows: Vec<pb::CompletedOrder> = {
            let w = self.shared.world.lock();
            w.account
                .fills
                .iter()
                .map(|f| {
                    let inst = w.market.get(f.inst);
                    let order = pb::Order {
                        client_id: Some(0),
                        order_id: Some(f.order_id),
                        perm_id: Some(f.perm_id),
                        action: Some(if f.side == "BOT" {
                            "BUY".into()
                        } else {
                            "SELL".into()
                        }),
                        total_quantity: Some(dec(f.shares)),
                        order_type: Some("LMT".into()),
                        lmt_price: Some(f.price),
                        tif: Some("DAY".into()),
                        account: Some(w.account.id.clone()),
                        filled_quantity: Some(dec(f.shares)),
                        ..Default::default()
                    };
                    let state = pb::OrderState {
                        status: Some("Filled".into()),
                        completed_time: Some(format!("{} UTC", clock::ymd_hms(f.time))),
                        completed_status: Some("Filled".into()),
                        ..Default::default()
                    };
                    pb::CompletedOrder {
                        contract: Some(full_contract(inst)),
                        order: Some(order),
                        order_state: Some(state),
                    }
                })
                .collect()
        };
        for r in rows {
            self.send(In::CompletedOrder, &r);
        }
        self.send(In::CompletedOrdersEnd, &pb::Empty {});
    }

    fn req_executions(&self, r: pb::ExecutionRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let filter = r.execution_filter.unwrap_or_default();
        let since = filter.time.as_deref().and_then(clock::parse_request_time);
        let rows: Vec<(pb::ExecutionDetails, pb::CommissionAndFeesReport)> = {
            let w = self.shared.world.lock();
            w.account
                .fills
                .iter()
                .filter(|f| {
                    let inst = w.market.get(f.inst);
                    filter
                        .symbol
                        .as_deref()
                        .is_none_or(|s| s.is_empty() || s.eq_ignore_ascii_case(&inst.symbol))
                        && filter
                            .acct_code
                            .as_deref()
                            .is_none_or(|a| a.is_empty() || a == w.account.id)
                        && filter
                            .side
                            .as_deref()
                            .is_none_or(|s| s.is_empty() || side_matches(s, f.side))
                        && since.is_none_or(|t| f.time >= t)
                })
                .map(|f| {
                    let inst = w.market.get(f.inst);
                    let mut contract = full_contract(inst);
                    contract.exchange = Some(inst.primary_exch.clone());
                    let exec = pb::Execution {
                        order_id: Some(f.order_id),
                        exec_id: Some(f.exec_id.clone()),
                        time: Some(format!("{} UTC", clock::ymd_hms(f.time))),
                        acct_number: Some(w.account.id.clone()),
                        exchange: Some(inst.primary_exch.clone()),
                        side: Some(f.side.into()),
                        shares: Some(dec(f.shares)),
                        price: Some(f.price),
                        perm_id: Some(f.perm_id),
                        client_id: Some(self.client_id),
                        is_liquidation: Some(false),
                        cum_qty: Some(dec(f.shares)),
                        avg_price: Some(f.price),
                        last_liquidity: Some(1),
                    };
                    let comm = pb::CommissionAndFeesReport {
                        exec_id: Some(f.exec_id.clone()),
                        commission_and_fees: Some(f.commission),
                        currency: Some(inst.currency.clone()),
                        realized_pnl: Some(f.realized.map(round2).unwrap_or(UNSET_DOUBLE)),
                    };
                    (
                        pb::ExecutionDetails {
                            req_id: Some(req_id),
                            contract: Some(contract),
                            execution: Some(exec),
                        },
                        comm,
                    )
                })
                .collect()
        };
        for (exec, comm) in rows {
            self.send(In::ExecutionData, &exec);
            self.send(In::CommissionsReport, &comm);
        }
        self.send(
            In::ExecutionDataEnd,
            &pb::ReqIdOnly {
                req_id: Some(req_id),
            },
        );
    }

    // ------------------------------------------------------------------ news

    fn req_historical_news(&self, r: pb::HistoricalNewsRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let symbol = {
            let w = self.shared.world.lock();
            w.market
                .by_con_id(r.con_id.unwrap_or(0))
                .map(|i| w.market.get(i).symbol.clone())
        };
        let Some(symbol) = symbol else {
            self.error(
                req_id,
                200,
                "No security definition has been found for the request",
            );
            return;
        };
        let now = clock::now_secs();
        let end = r
            .end_date_time
            .as_deref()
            .and_then(clock::parse_request_time)
            .unwrap_or(now)
            .min(now);
        let start = r
            .start_date_time
            .as_deref()
            .and_then(clock::parse_request_time)
            .unwrap_or(end - 7 * 86_400);
        let providers: Vec<String> = r
            .provider_codes
            .unwrap_or_default()
            .split('+')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let limit = r.total_results.unwrap_or(10).clamp(1, 300) as usize;
        let seed = self.shared.world.lock().market.seed;
        let (items, more) = news::headlines(seed, &symbol, start, end, &providers, limit);
        for h in items {
            self.send(
                In::HistoricalNews,
                &pb::HistoricalNews {
                    req_id: Some(req_id),
                    time: Some(clock::news_time(h.time)),
                    provider_code: Some(h.provider),
                    article_id: Some(h.article_id),
                    headline: Some(h.headline),
                },
            );
        }
        self.send(
            In::HistoricalNewsEnd,
            &pb::HistoricalNewsEnd {
                req_id: Some(req_id),
                has_more: Some(more),
            },
        );
    }

    fn req_news_article(&self, r: pb::NewsArticleRequest) {
        let req_id = r.req_id.unwrap_or(0);
        let seed = self.shared.world.lock().market.seed;
        match news::article(seed, r.article_id.as_deref().unwrap_or("")) {
            Some(text) => self.send(
                In::NewsArticle,
                &pb::NewsArticle {
                    req_id: Some(req_id),
                    article_type: Some(0),
                    article_text: Some(text),
                },
            ),
            None => self.error(
                req_id,
                10172,
                "Failed to request news article: article not found",
            ),
        }
    }
}

fn side_matches(filter: &str, side: &str) -> bool {
    let f = filter.to_ascii_uppercase();
    match side {
        "BOT" => f == "BOT" || f == "BUY",
        _ => f == "SLD" || f == "SELL",
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn book_sizes(inst: &Instrument) -> (f64, f64) {
    match inst.kind {
        AssetKind::Fx => (1_000_000.0, 2_000_000.0),
        _ => {
            let base = (inst.avg_volume / 20_000.0).round().clamp(1.0, 50.0) * 100.0;
            (base, base + 100.0)
        }
    }
}

/// The contract as IB describes it in positions and portfolio updates.
fn position_contract(inst: &Instrument) -> pb::Contract {
    let mut c = full_contract(inst);
    c.exchange = Some(inst.primary_exch.clone());
    c
}

pub(crate) fn full_contract(inst: &Instrument) -> pb::Contract {
    let (local, class) = match inst.kind {
        AssetKind::Fx => (inst.key(), inst.key()),
        _ => (
            inst.symbol.clone(),
            if inst.primary_exch == "NMS" {
                "NMS".into()
            } else {
                inst.symbol.clone()
            },
        ),
    };
    pb::Contract {
        con_id: Some(inst.con_id),
        symbol: Some(inst.symbol.clone()),
        sec_type: Some(inst.sec_type().into()),
        exchange: Some(inst.exchange.clone()),
        primary_exch: Some(inst.primary_exch.clone()),
        currency: Some(inst.currency.clone()),
        local_symbol: Some(local),
        trading_class: Some(class),
        ..Default::default()
    }
}

/// Trading and liquid hours for the next few weekdays, IB style (`YYYYMMDD:HHMM-YYYYMMDD:HHMM;…`).
pub(crate) fn session_hours(now: i64, liquid: bool, fx: bool) -> String {
    let mut d = clock::date_of(now);
    if !clock::is_weekday(d) {
        d = clock::next_weekday(d);
    }
    let mut out = Vec::new();
    for _ in 0..5 {
        let day = clock::ymd(d);
        out.push(match (fx, liquid) {
            (true, _) => format!("{day}:1715-{}:1700", clock::ymd(clock::next_weekday(d))),
            (false, true) => format!("{day}:0930-{day}:1600"),
            (false, false) => format!("{day}:0400-{day}:2000"),
        });
        d = clock::next_weekday(d);
    }
    out.join(";")
}

fn stock_details(inst: &Instrument, now: i64) -> pb::ContractDetails {
    let fx = inst.kind == AssetKind::Fx;
    pb::ContractDetails {
        market_name: Some(if fx { inst.key() } else { inst.symbol.clone() }),
        min_tick: Some(format!("{}", inst.min_tick)),
        order_types: Some("ACTIVETIM,AD,ADJUST,ALERT,ALLOC,AVGCOST,BASKET,COND,CONDORDER,DAY,DEACT,GAT,GTC,GTD,LIT,LMT,MIT,MKT,MTL,NGCOMB,OCA,REL,SCALE,STP,STPLMT,TRAIL,WHATIF".into()),
        valid_exchanges: Some(if fx { "IDEALPRO".into() } else { format!("SMART,{},ARCA,BATS,IEX,EDGX,NYSE,NASDAQ", inst.primary_exch) }),
        price_magnifier: Some(1),
        under_con_id: Some(0),
        long_name: Some(inst.long_name.clone()),
        contract_month: None,
        industry: Some(inst.industry.clone()),
        category: Some(inst.category.clone()),
        subcategory: Some(inst.subcategory.clone()),
        time_zone_id: Some("US/Eastern".into()),
        trading_hours: Some(session_hours(now, false, fx)),
        liquid_hours: Some(session_hours(now, true, fx)),
        under_symbol: None,
        under_sec_type: None,
        market_rule_ids: Some(if fx { "239".into() } else { "26,26,26".into() }),
        real_expiration_date: None,
        stock_type: Some(match inst.kind {
            AssetKind::Etf => "ETF".into(),
            AssetKind::Stock => "COMMON".into(),
            AssetKind::Fx => String::new(),
        }),
        min_size: Some("1".into()),
        size_increment: Some("1".into()),
        suggested_size_increment: Some("100".into()),
    }
}

/// Tags sent through account updates (besides the ledger rows).
const ACCOUNT_UPDATE_TAGS: &[&str] = &[
    "AccountCode",
    "AccountType",
    "NetLiquidation",
    "GrossPositionValue",
    "TotalCashValue",
    "SettledCash",
    "BuyingPower",
    "AvailableFunds",
    "ExcessLiquidity",
    "InitMarginReq",
    "MaintMarginReq",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "EquityWithLoanValue",
    "Cushion",
    "Leverage-S",
    "DayTradesRemaining",
];

/// Rows `(tag, value, currency)` for the requested tags, IB style. `$LEDGER` gives the BASE
/// ledger, `$LEDGER:ALL` every currency plus BASE, `$LEDGER:USD` one currency.
fn summary_rows(
    a: &Account,
    f: &AccountFigures,
    m: &Market,
    tags: &[String],
) -> Vec<(String, String, String)> {
    let base = a.base.clone();
    let mut rows = Vec::new();
    let mut push =
        |tag: &str, value: String, cur: &str| rows.push((tag.to_string(), value, cur.to_string()));
    for tag in tags {
        match tag.as_str() {
            "AccountType" => push("AccountType", "INDIVIDUAL".into(), ""),
            "AccountCode" => push("AccountCode", a.id.clone(), ""),
            "NetLiquidation" => push(tag, money(f.nlv), &base),
            "GrossPositionValue" => push(tag, money(f.gpv), &base),
            "TotalCashValue" | "SettledCash" => push(tag, money(f.total_cash), &base),
            "BuyingPower" => push(tag, money(f.buying_power), &base),
            "AvailableFunds" | "FullAvailableFunds" | "LookAheadAvailableFunds" => {
                push(tag, money(f.available_funds), &base)
            }
            "ExcessLiquidity" | "FullExcessLiquidity" | "LookAheadExcessLiquidity" => {
                push(tag, money(f.excess_liquidity), &base)
            }
            "InitMarginReq" | "FullInitMarginReq" | "LookAheadInitMarginReq" => {
                push(tag, money(f.init_margin), &base)
            }
            "MaintMarginReq" | "FullMaintMarginReq" | "LookAheadMaintMarginReq" => {
                push(tag, money(f.maint_margin), &base)
            }
            "EquityWithLoanValue" | "PreviousDayEquityWithLoanValue" => {
                push(tag, money(f.equity_with_loan), &base)
            }
            "Cushion" => push(tag, format!("{:.6}", f.cushion), ""),
            "Leverage-S" => push(tag, format!("{:.2}", f.leverage), ""),
            "DayTradesRemaining" => push(tag, "-1".into(), ""),
            "AccruedCash" => push(tag, "0.00".into(), &base),
            "RegTEquity" => push(tag, money(f.equity_with_loan), &base),
            "RegTMargin" => push(tag, money(f.gpv * 0.5), &base),
            "SMA" => push(tag, money(f.available_funds.max(0.0)), &base),
            "HighestSeverity" => push(tag, "0".into(), ""),
            t if t.starts_with("$LEDGER") => {
                let which = t.split_once(':').map(|(_, c)| c.to_ascii_uppercase());
                let mut currencies: Vec<String> = f
                    .cash_by_currency
                    .keys()
                    .chain(f.stock_value_by_currency.keys())
                    .cloned()
                    .collect();
                currencies.sort();
                currencies.dedup();
                let wanted: Vec<String> = match which.as_deref() {
                    None => vec!["BASE".into()],
                    Some("ALL") => currencies
                        .into_iter()
                        .chain(std::iter::once("BASE".to_string()))
                        .collect(),
                    Some(c) => vec![c.to_string()],
                };
                for cur in wanted {
                    let (cash, stock, unrl, rlzd, rate) = if cur == "BASE" {
                        (
                            f.total_cash,
                            f.nlv - f.total_cash,
                            f.unrealized_pnl,
                            f.realized_pnl,
                            1.0,
                        )
                    } else {
                        (
                            f.cash_by_currency.get(&cur).copied().unwrap_or(0.0),
                            f.stock_value_by_currency.get(&cur).copied().unwrap_or(0.0),
                            f.unrealized_by_currency.get(&cur).copied().unwrap_or(0.0),
                            f.realized_by_currency.get(&cur).copied().unwrap_or(0.0),
                            m.fx(&cur, &base),
                        )
                    };
                    push("CashBalance", money(cash), &cur);
                    push("TotalCashBalance", money(cash), &cur);
                    push("ExchangeRate", format!("{rate:.6}"), &cur);
                    push("NetLiquidationByCurrency", money(cash + stock), &cur);
                    push("StockMarketValue", money(stock), &cur);
                    push("UnrealizedPnL", money(unrl), &cur);
                    push("RealizedPnL", money(rlzd), &cur);
                }
            }
            _ => {}
        }
    }
    rows
}
