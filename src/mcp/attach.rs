//! Attaching a UI to a running daemon over the Unix socket: one connection, JSON lines.
//!
//! After the hello line (`socket::ATTACH_HELLO`):
//! - server → UI: `{"type":"state","state":WireState}` — the full state first, then only what
//!   changed, at most [`MAX_UPDATES_PER_SECOND`] times a second; and `{"type":"result",…}`
//!   answers to calls.
//! - UI → server: `{"type":"call","id":N,"client":"cockpit","tool":"ibkr_quote","args":{…}}`,
//!   and `{"type":"bars","id":N,"spec":{…}}` for the charts (answered by `{"type":"bars",…}`),
//!   so the heatmap and detail chart use the daemon's cached, paced gateway handle.
//!
//! The UI keeps a local `Store` fed from the stream, so its panes render exactly as they do in
//! a cockpit that owns the gateway, and its prompt calls run (and are journaled) in the daemon.
//! The daemon keeps running when a UI goes away; any number of UIs may attach.

use super::socket::{self, ATTACH_HELLO};
use crate::gateway::BarSpec;
use crate::model::{Bar, BarSize, ConnState, GatewayEvent, GatewayRole, WhatToShow};
use crate::store::Store;
use crate::store::wire::WireState;
use crate::tools::{self, RemoteTools, ToolContext, ToolError, ToolOutput};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// State updates are coalesced to at most this many per second per UI.
pub const MAX_UPDATES_PER_SECOND: u64 = 10;

/// How long an attached UI waits for the daemon to answer one tool call.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage {
    State {
        state: Box<WireState>,
    },
    Result {
        id: u64,
        ok: bool,
        #[serde(default)]
        markdown: String,
        #[serde(default)]
        json: Value,
        #[serde(default)]
        headline: String,
        #[serde(default)]
        error: Option<String>,
    },
    Bars {
        id: u64,
        #[serde(default)]
        bars: Vec<Bar>,
        #[serde(default)]
        error: Option<String>,
    },
}

/// `BarSpec` on the wire (the gateway type itself is not serializable); bar size and data type
/// travel in IB's wording, the strings their serde names carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WireBarSpec {
    symbol: String,
    sec_type: String,
    exchange: String,
    currency: String,
    duration: String,
    bar_size: BarSize,
    what_to_show: WhatToShow,
    use_rth: bool,
}

impl From<&BarSpec> for WireBarSpec {
    fn from(s: &BarSpec) -> Self {
        WireBarSpec {
            symbol: s.symbol.clone(),
            sec_type: s.sec_type.clone(),
            exchange: s.exchange.clone(),
            currency: s.currency.clone(),
            duration: s.duration.clone(),
            bar_size: s.bar_size,
            what_to_show: s.what_to_show,
            use_rth: s.use_rth,
        }
    }
}

impl From<WireBarSpec> for BarSpec {
    fn from(s: WireBarSpec) -> Self {
        BarSpec {
            symbol: s.symbol,
            sec_type: s.sec_type,
            exchange: s.exchange,
            currency: s.currency,
            duration: s.duration,
            bar_size: s.bar_size,
            what_to_show: s.what_to_show,
            use_rth: s.use_rth,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Call {
        id: u64,
        client: String,
        tool: String,
        #[serde(default)]
        args: Value,
    },
    Bars {
        id: u64,
        spec: WireBarSpec,
    },
}

// ---------------------------------------------------------------------------------------------
// Server side (the daemon or cockpit that owns the gateway)

/// Serves one attached UI until it disconnects.
pub async fn serve_attached<R, W>(ctx: ToolContext, reader: R, writer: W) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::channel::<String>(64);
    let writer_task = tokio::spawn(write_lines(out_rx, writer));
    let streamer = tokio::spawn(stream_state(ctx.store.clone(), out_tx.clone()));
    let result = read_calls(ctx, reader, out_tx).await;
    streamer.abort();
    writer_task.abort();
    result
}

/// The only writer of the connection.
async fn write_lines<W: AsyncWrite + Unpin>(mut rx: mpsc::Receiver<String>, mut out: W) {
    while let Some(line) = rx.recv().await {
        let sent = async {
            out.write_all(line.as_bytes()).await?;
            out.write_all(b"\n").await?;
            out.flush().await
        };
        if sent.await.is_err() {
            return;
        }
    }
}

/// Full state, then deltas on change, throttled.
async fn stream_state(store: Store, out: mpsc::Sender<String>) {
    let mut changes = store.subscribe();
    let mut last = store.snapshot();
    if send_state(&out, last.to_wire()).await.is_err() {
        return;
    }
    let pause = Duration::from_millis(1000 / MAX_UPDATES_PER_SECOND);
    loop {
        if changes.changed().await.is_err() {
            return;
        }
        // Let a burst of updates land, then send them as one.
        tokio::time::sleep(pause).await;
        changes.borrow_and_update();
        let now = store.snapshot();
        let delta = now.to_wire_since(Some(&last));
        last = now;
        if send_state(&out, delta).await.is_err() {
            return;
        }
    }
}

async fn send_state(out: &mpsc::Sender<String>, state: WireState) -> Result<(), ()> {
    let msg = ServerMessage::State {
        state: Box::new(state),
    };
    match serde_json::to_string(&msg) {
        Ok(line) => out.send(line).await.map_err(|_| ()),
        Err(e) => {
            // Should not happen (the state is plain data); skip this update rather than die.
            tracing::warn!("could not encode the live state: {e}");
            Ok(())
        }
    }
}

/// Runs each call the UI sends (concurrently) and answers with its id.
async fn read_calls<R: AsyncBufRead + Unpin>(
    ctx: ToolContext,
    mut reader: R,
    out: mpsc::Sender<String>,
) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let msg = match serde_json::from_str::<ClientMessage>(line.trim()) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!("attached UI sent something unreadable: {e}");
                continue;
            }
        };
        let (id, client, tool, args) = match msg {
            ClientMessage::Call {
                id,
                client,
                tool,
                args,
            } => (id, client, tool, args),
            ClientMessage::Bars { id, spec } => {
                let ctx = ctx.clone();
                let out = out.clone();
                tokio::spawn(async move {
                    let answer = match ctx.historical_bars(&spec.into()).await {
                        Ok(bars) => ServerMessage::Bars {
                            id,
                            bars: bars.as_ref().clone(),
                            error: None,
                        },
                        Err(e) => ServerMessage::Bars {
                            id,
                            bars: Vec::new(),
                            error: Some(e),
                        },
                    };
                    if let Ok(line) = serde_json::to_string(&answer) {
                        let _ = out.send(line).await;
                    }
                });
                continue;
            }
        };
        let ctx = ctx.clone();
        let out = out.clone();
        tokio::spawn(async move {
            let answer = match tools::call_journaled(&ctx, &client, &tool, args).await {
                Ok(o) => ServerMessage::Result {
                    id,
                    ok: true,
                    markdown: o.markdown,
                    json: o.json,
                    headline: o.headline,
                    error: None,
                },
                Err(e) => ServerMessage::Result {
                    id,
                    ok: false,
                    markdown: String::new(),
                    json: Value::Null,
                    headline: String::new(),
                    error: Some(e.message),
                },
            };
            if let Ok(line) = serde_json::to_string(&answer) {
                let _ = out.send(line).await;
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Client side (an attached UI)

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<ToolOutput, ToolError>>>>>;
type PendingBars = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Vec<Bar>, String>>>>>;

/// Forwards tool calls to the daemon over the attach connection.
pub struct RemoteClient {
    out: mpsc::Sender<String>,
    pending: Pending,
    pending_bars: PendingBars,
    next_id: AtomicU64,
}

impl RemoteTools for RemoteClient {
    fn call<'a>(
        &'a self,
        client: &'a str,
        name: &'a str,
        args: Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            self.pending.lock().insert(id, tx);
            let msg = ClientMessage::Call {
                id,
                client: client.to_string(),
                tool: name.to_string(),
                args,
            };
            let line = serde_json::to_string(&msg)
                .map_err(|e| ToolError::new(format!("could not encode the call: {e}")))?;
            if self.out.send(line).await.is_err() {
                self.pending.lock().remove(&id);
                return Err(ToolError::new("the daemon connection is closed"));
            }
            match tokio::time::timeout(CALL_TIMEOUT, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err(ToolError::new(
                    "the daemon went away before answering this call",
                )),
                Err(_) => {
                    self.pending.lock().remove(&id);
                    Err(ToolError::new(format!(
                        "the daemon did not answer within {}s",
                        CALL_TIMEOUT.as_secs()
                    )))
                }
            }
        })
    }

    fn historical_bars<'a>(&'a self, spec: &'a BarSpec) -> BoxFuture<'a, Result<Vec<Bar>, String>> {
        Box::pin(async move {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            self.pending_bars.lock().insert(id, tx);
            let msg = ClientMessage::Bars {
                id,
                spec: spec.into(),
            };
            let line = serde_json::to_string(&msg).map_err(|e| e.to_string())?;
            if self.out.send(line).await.is_err() {
                self.pending_bars.lock().remove(&id);
                return Err("the daemon connection is closed".into());
            }
            match tokio::time::timeout(CALL_TIMEOUT, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => Err("the daemon went away before answering".into()),
                Err(_) => {
                    self.pending_bars.lock().remove(&id);
                    Err("the daemon did not answer in time".into())
                }
            }
        })
    }
}

/// A UI attached to a daemon: a local store mirroring the daemon's, and a context whose tool
/// calls go to the daemon. Dropping it (or the daemon closing) ends the connection.
pub struct Attached {
    pub ctx: ToolContext,
    /// Ends when the daemon closes the connection.
    pub reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Attached {
    /// Closes the connection; the daemon keeps running.
    pub fn detach(&self) {
        self.reader.abort();
        self.writer.abort();
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Connects to the daemon at `path`, says hello, and waits (bounded) for the first full state.
pub async fn attach(config: Arc<crate::config::Config>, path: &Path) -> anyhow::Result<Attached> {
    let stream = socket::connect(path).await?;
    let (read, mut write) = stream.into_split();
    write
        .write_all(format!("{ATTACH_HELLO}\n").as_bytes())
        .await?;
    let store = Store::in_memory();
    let pending: Pending = Arc::default();
    let pending_bars: PendingBars = Arc::default();
    let (out_tx, out_rx) = mpsc::channel::<String>(64);
    let writer = tokio::spawn(write_lines(out_rx, write));
    let (first_tx, first_rx) = oneshot::channel();
    let reader = tokio::spawn(read_updates(
        BufReader::new(read),
        store.clone(),
        (pending.clone(), pending_bars.clone()),
        first_tx,
    ));
    let remote = Arc::new(RemoteClient {
        out: out_tx,
        pending,
        pending_bars,
        next_id: AtomicU64::new(1),
    });
    let attached = Attached {
        ctx: ToolContext {
            store,
            gateways: None,
            config,
            remote: Some(remote),
        },
        reader,
        writer,
    };
    match tokio::time::timeout(Duration::from_secs(10), first_rx).await {
        Ok(Ok(())) => Ok(attached),
        _ => anyhow::bail!(
            "{} accepted the connection but sent no state (is it an ibkr-cockpit?)",
            path.display()
        ),
    }
}

/// Applies state messages to the local store and routes answers to their callers.
async fn read_updates<R: AsyncBufRead + Unpin>(
    mut reader: R,
    store: Store,
    (pending, pending_bars): (Pending, PendingBars),
    first: oneshot::Sender<()>,
) {
    let mut first = Some(first);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match serde_json::from_str::<ServerMessage>(line.trim()) {
            Ok(ServerMessage::State { state }) => {
                store.update(|st| st.apply_wire(*state));
                if let Some(tx) = first.take() {
                    let _ = tx.send(());
                }
            }
            Ok(ServerMessage::Result {
                id,
                ok,
                markdown,
                json,
                headline,
                error,
            }) => {
                let answer = if ok {
                    Ok(ToolOutput {
                        markdown,
                        json,
                        headline,
                    })
                } else {
                    Err(ToolError::new(error.unwrap_or_default()))
                };
                if let Some(tx) = pending.lock().remove(&id) {
                    let _ = tx.send(answer);
                }
            }
            Ok(ServerMessage::Bars { id, bars, error }) => {
                let answer = match error {
                    Some(e) => Err(e),
                    None => Ok(bars),
                };
                if let Some(tx) = pending_bars.lock().remove(&id) {
                    let _ = tx.send(answer);
                }
            }
            // A daemon of another version, most likely: say so in the log, keep the rest.
            Err(e) => tracing::warn!("unreadable message from the daemon: {e}"),
        }
    }
    // The daemon is gone: say so in the panes instead of showing a frozen book as live.
    pending.lock().clear();
    pending_bars.lock().clear();
    let now = store.now();
    store.update(|st| {
        let gateways = Arc::make_mut(&mut st.gateways);
        for status in gateways.values_mut() {
            status.state = ConnState::Disconnected;
            status.since = now;
            status.last_error = Some("the daemon closed the connection".into());
        }
    });
    store.push_event(GatewayEvent {
        time: now,
        role: GatewayRole::Primary,
        code: 0,
        message: "detached: the daemon closed the connection".into(),
    });
}
