//! One client connection: handshake, then a loop that answers requests and pushes updates
//! (ticks, account values, P&L) to the subscriptions this client opened.
//!
//! The socket is split: a reader task turns bytes into frames, a writer task drains an outbound
//! queue (and holds it back while a stall fault is active), and the session loop in between owns
//! all per-connection state, so nothing here needs a lock except the shared world.

use super::book::{Account, AccountFigures};
use super::market::{AssetKind, Instrument, Market};
use super::proto as pb;
use super::text::{self, TextReplies};
use super::wire::{self, ClientFrame, Encoding, Negotiated};
use super::{SessionEvent, Shared, clock, history, news, options};
use ibapi::{IncomingMessages as In, OutgoingMessages as Out};
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc};

mod account;
mod extras;
mod historical;
mod market_data;
mod multi;
mod orders;
mod reference;
mod research;

use reference::full_contract;
pub(crate) use reference::session_hours;

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
    let range = tokio::time::timeout(HANDSHAKE_TIMEOUT, wire::read_preamble(&mut rd))
        .await
        .map_err(timeout_err)??;
    let conn_time = format!("{} UTC", clock::ymd_hms(clock::now_secs()));
    let (version, encoding) = match wire::negotiate(&range, shared.server_version) {
        Negotiated::Serve(v, e) => (v, e),
        Negotiated::TooOldForClient(v) => {
            // As IB: tell the client our version and let it refuse; it hangs up.
            wr.write_all(&wire::handshake_reply(v, &conn_time)).await?;
            wr.flush().await?;
            let mut sink = [0u8; 256];
            let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
                while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
            return Ok(());
        }
        Negotiated::Refuse(why) => {
            tracing::info!("sim: refusing a client: {why}");
            return Ok(());
        }
    };
    wr.write_all(&wire::handshake_reply(version, &conn_time))
        .await?;
    let start = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        read_client_frame(&mut rd, encoding, version),
    )
    .await
    .map_err(timeout_err)??;
    shared.count_request(start.type_name());
    let client_id = match start.kind() {
        Some(Out::StartApi) => wire::decode::<pb::StartApiRequest>(&start.body)
            .client_id
            .unwrap_or(0),
        _ => 0,
    };
    let mut text_out = (encoding == Encoding::Text).then(|| TextReplies::new(version));

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
        let frame = error_frame(-1, 326, msg);
        let frame = match text_out.as_mut() {
            Some(t) => t.translate(&frame),
            None => frame,
        };
        wr.write_all(&frame).await?;
        wr.flush().await?;
        // Give the client a moment to read the error before the close.
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    }
    shared.counters.lock().connections += 1;

    let (tx, rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(write_loop(shared.clone(), wr, rx, text_out));
    let (ftx, mut frx) = mpsc::unbounded_channel::<ClientFrame>();
    let reader = tokio::spawn(read_loop(rd, ftx, encoding, version));
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

/// One client frame in the session's encoding; text requests arrive translated to protobuf.
async fn read_client_frame(
    rd: &mut OwnedReadHalf,
    encoding: Encoding,
    version: i32,
) -> io::Result<ClientFrame> {
    match encoding {
        Encoding::Protobuf => wire::read_frame(rd).await,
        Encoding::Text => {
            let payload = wire::read_raw(rd).await?;
            text::to_request(&payload, version).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "text frame without a message id",
                )
            })
        }
    }
}

async fn read_loop(
    mut rd: OwnedReadHalf,
    tx: mpsc::UnboundedSender<ClientFrame>,
    encoding: Encoding,
    version: i32,
) {
    while let Ok(frame) = read_client_frame(&mut rd, encoding, version).await {
        if tx.send(frame).is_err() {
            break;
        }
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    mut text_out: Option<TextReplies>,
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
        if let Some(t) = text_out.as_mut() {
            buf = t.translate(&buf);
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
    rt_bars: HashMap<i32, extras::RealTimeBars>,
    last_account_push: Instant,
    portfolio_cursor: usize,
    tick_no: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        // A closed connection frees its market-data lines, as at IB.
        self.shared.release_lines(self.md.len());
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
            rt_bars: HashMap::new(),
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
            Out::RequestAccountUpdatesMulti => self.req_account_updates_multi(wire::decode(b)),
            Out::CancelAccountUpdatesMulti | Out::CancelPositionsMulti => {}
            Out::RequestPositionsMulti => self.req_positions_multi(wire::decode(b)),
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
                if self.md.remove(&id).is_some() {
                    self.shared.release_lines(1);
                }
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
            Out::RequestOpenOrders => self.req_open_orders(false),
            Out::RequestAllOpenOrders => self.req_open_orders(true),
            Out::RequestAutoOpenOrders => {
                // Only client 0 can bind TWS's own orders; IB answers others with nothing.
                if self.client_id == 0 {
                    self.req_open_orders(false)
                }
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
            Out::RequestHeadTimestamp => self.req_head_timestamp(wire::decode(b)),
            Out::CancelHeadTimestamp => {}
            Out::RequestMarketRule => self.req_market_rule(wire::decode(b)),
            Out::RequestFamilyCodes => self.req_family_codes(),
            Out::RequestScannerParameters => self.req_scanner_parameters(),
            Out::RequestScannerSubscription => self.req_scanner_subscription(b),
            Out::CancelScannerSubscription => {}
            Out::RequestMktDepthExchanges => self.req_mkt_depth_exchanges(),
            Out::RequestRealTimeBars => self.req_real_time_bars(wire::decode(b)),
            Out::CancelRealTimeBars => {
                let id = wire::decode::<pb::ReqIdOnly>(b).req_id.unwrap_or(0);
                self.rt_bars.remove(&id);
            }
            Out::RequestMarketDepth
            | Out::RequestTickByTickData
            | Out::RequestHistoricalTicks
            | Out::RequestHistogramData
            | Out::RequestFundamentalData
            | Out::RequestSmartComponents
            | Out::RequestSoftDollarTiers
            | Out::RequestWshMetaData
            | Out::RequestWshEventData
            | Out::RequestUserInfo => self.refuse_unsupported(kind, b),
            other => tracing::debug!("sim: no answer for {other:?} (IB sends none either)"),
        }
    }

    fn on_tick(&mut self, force: bool) {
        if self.shared.faults.lock().stalled().is_some() {
            return;
        }
        self.tick_no += 1;
        let silenced = {
            let f = self.shared.faults.lock();
            let now = Instant::now();
            f.silent_until
                .iter()
                .filter(|(_, until)| **until > now)
                .map(|(s, _)| s.clone())
                .collect::<Vec<String>>()
        };
        let ids: Vec<i32> = self.md.keys().copied().collect();
        for id in ids {
            let Some(mut sub) = self.md.remove(&id) else {
                continue;
            };
            if !silenced.is_empty() && self.is_silenced(&sub, &silenced) {
                self.md.insert(id, sub);
                continue;
            }
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
        if !self.rt_bars.is_empty() {
            self.push_real_time_bars();
        }
    }
}

impl Session {
    /// Whether a silence fault withholds this subscription's ticks (an option follows its
    /// underlying; an FX pair answers to `EUR.USD` or `EUR`).
    fn is_silenced(&self, sub: &MdSub, silenced: &[String]) -> bool {
        if silenced.iter().any(|s| s == super::faults::ALL_SYMBOLS) {
            return true;
        }
        let index = match &sub.target {
            MdTarget::Instrument(i) => *i,
            MdTarget::Option(o) => o.underlying,
        };
        let (symbol, currency) = {
            let w = self.shared.world.lock();
            let inst = w.market.get(index);
            (inst.symbol.clone(), inst.currency.clone())
        };
        let pair = format!("{symbol}.{currency}");
        silenced.iter().any(|s| *s == symbol || *s == pair)
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
