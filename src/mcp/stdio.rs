//! MCP over stdio (`ibkr-cockpit mcp`): newline-delimited JSON-RPC, and nothing else on stdout.
//!
//! A line filter sits between the real streams and rmcp, and answers here what rmcp would
//! answer badly or not at all:
//! - a line that is not JSON gets a parse error (-32700; rmcp drops it silently);
//! - JSON that is not a JSON-RPC message gets -32600, a known method with unusable params
//!   -32602, each with the request's id;
//! - a notification (or a stray response) before `initialize` is ignored (rmcp would end the
//!   session);
//! - a request reusing the id of one still in flight gets -32600 naming the id;
//! - a batch (JSON array) is split and its answers gathered into one array when the negotiated
//!   protocol allows batches (2025-03-26), and answered with one error per request otherwise;
//! - a bridging sidecar's first line (`surface::SURFACE_METHOD`) sets the session's tools and
//!   output mode and goes no further.
//!
//! JSON lines that pass go on to rmcp over an in-process pipe. The output stream is written one
//! whole line at a time under a lock (`LineOut`), so rmcp's answers and the filter's never
//! interleave mid-line, and an answer goes out from the task that has it.
//!
//! A plain `tools/call` (params `name` and `arguments` only, after initialize, for a tool this
//! session exposes) is the one hot request: it is served here, on a task of its own, with the
//! same tool call, journal and result shape rmcp's handler uses (`server::to_call_result`),
//! and skips rmcp's second parse, its dispatch and the pipe both ways. Anything else about a
//! call (an unknown or hidden tool, `_meta`, unfit params) goes to rmcp, so its errors come
//! from one place. `notifications/cancelled` aborts such a call.

use super::server::{CockpitMcp, DEFAULT_CLIENT, to_call_result};
use super::surface::Surface;
use crate::tools::{self, ToolContext};
use anyhow::Context;
use parking_lot::Mutex;
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// Longest request line accepted (a JSON-RPC request is a few KiB; this leaves ample room).
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// The protocol revision whose servers must accept JSON-RPC batches (later ones removed them).
pub const BATCH_PROTOCOL: &str = "2025-03-26";

/// Most requests one batch may hold (each is answered; this bounds what one line can queue).
pub const MAX_BATCH: usize = 100;

/// Serves MCP on this process's stdin/stdout until stdin closes.
pub async fn run_stdio(ctx: ToolContext) -> anyhow::Result<()> {
    serve_lines(ctx, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves MCP over any pair of byte streams (stdio, a pipe, a Unix socket, a test duplex)
/// until `input` reaches EOF; returns once every answer has been written.
pub async fn serve_lines<R, W>(ctx: ToolContext, input: R, output: W) -> anyhow::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_end, filter_end) = tokio::io::duplex(1 << 20);
    let (from_rmcp, to_rmcp) = tokio::io::split(filter_end);
    let (out_tx, mut writers_gone) = LineOut::new(output);
    let (surface_tx, surface_rx) = oneshot::channel::<Option<Surface>>();
    let session = Arc::new(Mutex::new(Session::default()));

    let relay = tokio::spawn(relay_rmcp_output(
        BufReader::new(from_rmcp),
        out_tx.clone(),
        session.clone(),
    ));
    let filter = tokio::spawn(filter_input(
        ctx.clone(),
        BufReader::new(input),
        to_rmcp,
        out_tx,
        session,
        surface_tx,
    ));

    // The first line may name the surface, so the server is built once it has been read.
    let server = match surface_rx.await {
        Ok(Some(surface)) => CockpitMcp::with_surface(ctx, surface),
        _ => CockpitMcp::new(ctx),
    }
    .with_notifications();
    // `serve` completes the initialize handshake, so the filter must already be running.
    let outcome = match server.serve(rmcp_end).await {
        Ok(running) => running
            .waiting()
            .await
            .map(|_| ())
            .context("MCP service task failed"),
        Err(e) => Err(anyhow::anyhow!(
            "MCP session ended before initialization: {e}"
        )),
    };
    // rmcp has dropped its end of the pipe by now, so the relay reaches EOF; the filter ends at
    // input EOF (which is what stops rmcp in the normal case).
    filter.abort();
    let _ = relay.await;
    // Tool calls still running write their answers before the session ends.
    let _ = writers_gone.recv().await;
    outcome
}

/// What the filter and the relay know about the conversation.
#[derive(Default)]
struct Session {
    /// The id of the `initialize` request passed to rmcp (as JSON text), once there is one.
    initialize_id: Option<String>,
    /// The protocol version rmcp agreed to in its `initialize` answer.
    protocol_version: Option<String>,
    /// Ids (as JSON text) of requests passed to rmcp and not answered yet.
    in_flight: HashSet<String>,
    /// Batches whose answers are still being gathered.
    batches: Vec<PendingBatch>,
    /// The session's surface once known: plain tool calls are served by the filter itself.
    surface: Option<Arc<Surface>>,
    /// Who the client said it is in `initialize` (for the journal, as rmcp's handler names it).
    client: Option<Arc<str>>,
    /// Tool calls served by the filter and still running, by id (as JSON text).
    calls: HashMap<String, tokio::task::AbortHandle>,
}

struct PendingBatch {
    waiting: HashSet<String>,
    replies: Vec<Value>,
}

/// What to do with one incoming message.
enum Verdict {
    /// Pass it to rmcp (a request's id is now in flight).
    Forward,
    /// Answer it here.
    Reply(Value),
    /// Say nothing (a notification or response that has no place yet).
    Drop,
    /// A plain tool call to serve here (its id is now in flight).
    Call(ToolCall),
}

/// A `tools/call` the filter serves itself.
struct ToolCall {
    id: Value,
    name: String,
    /// An object, or null when the request had none.
    arguments: Value,
}

/// The only way to `output`: one JSON-RPC message per line, written and flushed by whichever
/// task has the answer (under a lock, so lines never interleave), without a hand-over to a
/// writer task. The newline goes out with the message in one write (stdout hands each write to
/// a blocking thread). Every clone holds a token of `writers_gone`, whose `recv` ends when the
/// last clone is dropped: the session waits for it so no answer is lost at the end.
#[derive(Clone)]
struct LineOut {
    output: Arc<tokio::sync::Mutex<Option<Box<dyn AsyncWrite + Unpin + Send>>>>,
    _alive: mpsc::Sender<()>,
}

/// The client's output has gone; nothing more can be written.
#[derive(Debug)]
struct OutputClosed;

impl LineOut {
    fn new<W: AsyncWrite + Unpin + Send + 'static>(output: W) -> (LineOut, mpsc::Receiver<()>) {
        let (alive, gone) = mpsc::channel(1);
        let out = LineOut {
            output: Arc::new(tokio::sync::Mutex::new(Some(Box::new(output)))),
            _alive: alive,
        };
        (out, gone)
    }

    async fn send(&self, mut line: String) -> Result<(), OutputClosed> {
        line.push('\n');
        let mut output = self.output.lock().await;
        let Some(w) = output.as_mut() else {
            return Err(OutputClosed);
        };
        let written = async {
            w.write_all(line.as_bytes()).await?;
            w.flush().await
        };
        if let Err(e) = written.await {
            // The client has gone; nothing else can be told.
            tracing::debug!("MCP output closed: {e}");
            *output = None;
            return Err(OutputClosed);
        }
        Ok(())
    }
}

/// The parts of an outgoing message the relay needs; everything else is skipped unparsed.
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<serde::de::IgnoredAny>,
}

/// Forwards rmcp's output, line by line, to the writer: answers end their request's time in
/// flight, and answers that belong to a batch are held until the batch is complete.
async fn relay_rmcp_output<R: AsyncBufRead + Unpin>(
    mut from_rmcp: R,
    out: LineOut,
    session: Arc<Mutex<Session>>,
) {
    let mut line = String::new();
    loop {
        line.clear();
        match from_rmcp.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let trimmed = line.trim_end_matches(['\n', '\r']);
                if trimmed.is_empty() {
                    continue;
                }
                let outgoing = match serde_json::from_str::<Head>(trimmed) {
                    Ok(Head {
                        id: Some(id),
                        method: None,
                    }) => answered(&session, &id.to_string(), trimmed),
                    _ => Some(trimmed.to_string()),
                };
                if let Some(text) = outgoing
                    && out.send(text).await.is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Books an answer to request `id`; returns what to write now (the line itself, a completed
/// batch, or nothing while the batch still waits).
fn answered(session: &Mutex<Session>, id: &str, line: &str) -> Option<String> {
    let mut s = session.lock();
    s.in_flight.remove(id);
    if s.initialize_id.as_deref() == Some(id) && s.protocol_version.is_none() {
        s.protocol_version = serde_json::from_str::<Value>(line).ok().and_then(|v| {
            v.pointer("/result/protocolVersion")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    }
    let Some(index) = s.batches.iter().position(|b| b.waiting.contains(id)) else {
        return Some(line.to_string());
    };
    let batch = &mut s.batches[index];
    batch.waiting.remove(id);
    batch
        .replies
        .push(serde_json::from_str(line).unwrap_or(Value::Null));
    if !batch.waiting.is_empty() {
        return None;
    }
    let done = s.batches.swap_remove(index);
    Some(Value::Array(done.replies).to_string())
}

/// Reads client lines: JSON goes on to rmcp (or is answered here), anything else gets a
/// JSON-RPC parse error.
async fn filter_input<R, W>(
    ctx: ToolContext,
    mut input: R,
    mut to_rmcp: W,
    out: LineOut,
    session: Arc<Mutex<Session>>,
    surface_tx: oneshot::Sender<Option<Surface>>,
) where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut surface_tx = Some(surface_tx);
    loop {
        let line = match read_bounded_line(&mut input, MAX_LINE_BYTES).await {
            Ok(Line::Eof) => break,
            Ok(Line::TooLong) => {
                let msg = format!("Parse error: request line longer than {MAX_LINE_BYTES} bytes");
                if out.send(parse_error(&msg)).await.is_err() {
                    break;
                }
                continue;
            }
            Ok(Line::Text(bytes)) => bytes,
            Err(e) => {
                tracing::debug!("MCP input failed: {e}");
                break;
            }
        };
        let text = trim_line(&line);
        if text.is_empty() {
            continue;
        }
        let value = match serde_json::from_slice::<Value>(text) {
            Ok(v) => v,
            Err(e) => {
                if out
                    .send(parse_error(&format!("Parse error: {e}")))
                    .await
                    .is_err()
                {
                    break;
                }
                continue;
            }
        };
        if let Some(tx) = surface_tx.take() {
            let surface = Surface::from_line(&value);
            let is_surface_line =
                value.get("method").and_then(Value::as_str) == Some(super::surface::SURFACE_METHOD);
            // The same surface the server is built with (`CockpitMcp::new` without a line).
            let served = surface
                .clone()
                .unwrap_or_else(|| Surface::from_config(&ctx.config.mcp).unwrap_or_default());
            session.lock().surface = Some(Arc::new(served));
            let _ = tx.send(surface);
            if is_surface_line {
                continue;
            }
        }
        let (forward, replies) = match &value {
            Value::Array(items) => screen_batch(items, &session),
            single => {
                // The verdict first: the session lock is released before a call is served.
                let verdict = screen(single, &mut session.lock());
                match verdict {
                    Verdict::Forward => (vec![text.to_vec()], None),
                    Verdict::Reply(v) => (Vec::new(), Some(v.to_string())),
                    Verdict::Drop => (Vec::new(), None),
                    Verdict::Call(call) => {
                        serve_call(&ctx, call, &out, &session);
                        continue;
                    }
                }
            }
        };
        if let Some(reply) = replies
            && out.send(reply).await.is_err()
        {
            break;
        }
        for message in forward {
            let sent = async {
                to_rmcp.write_all(&message).await?;
                to_rmcp.write_all(b"\n").await?;
                to_rmcp.flush().await
            };
            if sent.await.is_err() {
                return;
            }
        }
    }
    // EOF on input: close rmcp's input so the session ends cleanly after pending answers.
    let _ = to_rmcp.shutdown().await;
}

/// One message: forward, answer here, or drop (see the module notes).
fn screen(value: &Value, s: &mut Session) -> Verdict {
    let Value::Object(obj) = value else {
        return Verdict::Reply(error_reply(
            Value::Null,
            -32600,
            "Invalid Request: a JSON-RPC message is an object",
        ));
    };
    let id = obj.get("id").cloned();
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Verdict::Reply(error_reply(
            id.unwrap_or(Value::Null),
            -32600,
            "Invalid Request: \"jsonrpc\" must be \"2.0\"",
        ));
    }
    let initialized = s.initialize_id.is_some();
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        if obj.contains_key("result") || obj.contains_key("error") {
            // A client's answer to a server request; none can be pending before initialize.
            return if initialized && id.is_some() {
                Verdict::Forward
            } else {
                Verdict::Drop
            };
        }
        return Verdict::Reply(error_reply(
            id.unwrap_or(Value::Null),
            -32600,
            "Invalid Request: a JSON-RPC message needs a \"method\" (or is an answer with \"result\" or \"error\")",
        ));
    };
    if method == "tools/call"
        && let Some(call) = plain_call(obj, s)
    {
        let key = call.id.to_string();
        if s.in_flight.contains(&key) {
            return Verdict::Reply(duplicate_id(call.id, &key));
        }
        s.in_flight.insert(key);
        return Verdict::Call(call);
    }
    let unfit = unfit_params(value, method);
    if let Some(why) = unfit {
        return match id {
            Some(id) => Verdict::Reply(error_reply(
                id,
                -32602,
                &format!("Invalid params for {method}: {why}"),
            )),
            None => Verdict::Drop,
        };
    }
    let Some(id) = id else {
        // A notification: before initialize there is nothing for it to act on.
        if !initialized {
            tracing::debug!("ignoring {method} received before initialize");
            return Verdict::Drop;
        }
        if method == "notifications/cancelled"
            && let Some(cancelled) = obj.get("params").and_then(|p| p.get("requestId"))
        {
            let key = cancelled.to_string();
            s.in_flight.remove(&key);
            // A call served here: stop it; the client expects no answer.
            if let Some(call) = s.calls.remove(&key) {
                call.abort();
            }
        }
        return Verdict::Forward;
    };
    let key = id.to_string();
    if s.in_flight.contains(&key) {
        return Verdict::Reply(duplicate_id(id, &key));
    }
    s.in_flight.insert(key.clone());
    if method == "initialize" && s.initialize_id.is_none() {
        s.initialize_id = Some(key);
        s.client = Some(client_name(obj.get("params")).into());
    }
    Verdict::Forward
}

fn duplicate_id(id: Value, key: &str) -> Value {
    error_reply(
        id,
        -32600,
        &format!(
            "Invalid Request: id {key} is already used by a request still in flight; give each request its own id"
        ),
    )
}

/// The client's name from `initialize` params (`clientInfo.name`), as rmcp's handler reads it.
fn client_name(params: Option<&Value>) -> String {
    let name = params
        .and_then(|p| p.pointer("/clientInfo/name"))
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if name.is_empty() {
        DEFAULT_CLIENT.to_string()
    } else {
        name.to_string()
    }
}

/// A `tools/call` the filter can serve itself: the session is initialized (under a protocol
/// version before 2026-07-28), the id is a string
/// or a number, params hold `name` (a tool this session exposes) and at most `arguments` (an
/// object or null). Anything else is left to rmcp, which answers it (or its errors) as always.
fn plain_call(obj: &serde_json::Map<String, Value>, s: &Session) -> Option<ToolCall> {
    let surface = s.surface.as_ref()?;
    // Sessions from 2026-07-28 on negotiate per request and get cache hints: rmcp's to shape.
    let version = s.protocol_version.as_deref()?;
    if version >= rmcp::model::ProtocolVersion::V_2026_07_28.as_str() {
        return None;
    }
    let id = obj
        .get("id")
        .filter(|id| id.is_string() || id.is_number())?;
    let Some(Value::Object(params)) = obj.get("params") else {
        return None;
    };
    if params
        .keys()
        .any(|k| k.as_str() != "name" && k.as_str() != "arguments")
    {
        return None;
    }
    let name = params.get("name")?.as_str()?;
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Value::Null,
        Some(args @ Value::Object(_)) => args.clone(),
        Some(_) => return None,
    };
    if !super::is_known_tool(name) || !surface.exposes_name(name) {
        return None;
    }
    Some(ToolCall {
        id: id.clone(),
        name: name.to_string(),
        arguments,
    })
}

/// Runs a plain tool call on its own task (calls do not wait for each other, as under rmcp)
/// and writes its answer, shaped as rmcp's handler shapes it.
fn serve_call(ctx: &ToolContext, call: ToolCall, out: &LineOut, session: &Arc<Mutex<Session>>) {
    let key = call.id.to_string();
    let mut s = session.lock();
    let (Some(surface), client) = (s.surface.clone(), s.client.clone()) else {
        return;
    };
    let ctx = ctx.clone();
    let out = out.clone();
    let session = session.clone();
    let task_key = key.clone();
    // Registered under the lock, which the task takes before it finishes: a fast call can
    // never remove itself before it is registered.
    let task = tokio::spawn(async move {
        let client = client.as_deref().unwrap_or(DEFAULT_CLIENT);
        let result = tools::call_journaled(&ctx, client, &call.name, call.arguments).await;
        let answer = answer_line(call.id, to_call_result(result, surface.output));
        {
            let mut s = session.lock();
            s.in_flight.remove(&task_key);
            s.calls.remove(&task_key);
        }
        let _ = out.send(answer).await;
    });
    s.calls.insert(key, task.abort_handle());
}

/// One JSON-RPC answer line for request `id`, in rmcp's own message type and shaped as rmcp's
/// handler shapes a result for a peer before protocol 2026-07-28 (no `resultType`, object
/// output only), so the line is the one rmcp would write.
fn answer_line(id: Value, result: rmcp::model::CallToolResult) -> String {
    let mut result = rmcp::model::ServerResult::CallToolResult(result);
    result.strip_result_type_for_legacy_peer();
    result.strip_non_object_output_for_legacy_peer();
    let message = match serde_json::from_value::<rmcp::model::RequestId>(id.clone()) {
        Ok(id) => rmcp::model::ServerJsonRpcMessage::response(result, id),
        // `plain_call` only lets string and number ids through, which are request ids.
        Err(_) => {
            return error_reply(id, -32603, "Internal error: unusable request id").to_string();
        }
    };
    serde_json::to_string(&message).unwrap_or_else(|e| {
        error_reply(Value::Null, -32603, &format!("Internal error: {e}")).to_string()
    })
}

/// A batch: split and gathered when the protocol allows batches, else one error per request.
/// Returns the messages to forward and what to answer at once.
fn screen_batch(items: &[Value], session: &Mutex<Session>) -> (Vec<Vec<u8>>, Option<String>) {
    let mut s = session.lock();
    if items.is_empty() {
        let e = error_reply(Value::Null, -32600, "Invalid Request: empty batch");
        return (Vec::new(), Some(e.to_string()));
    }
    let allowed = s.protocol_version.as_deref() == Some(BATCH_PROTOCOL);
    if !allowed || items.len() > MAX_BATCH {
        let why = if !allowed {
            format!(
                "Invalid Request: JSON-RPC batches are not accepted under protocol version {} \
                 (only {BATCH_PROTOCOL} allows them); send each message on its own line",
                s.protocol_version
                    .as_deref()
                    .unwrap_or("(none negotiated yet)")
            )
        } else {
            format!("Invalid Request: a batch holds at most {MAX_BATCH} messages")
        };
        let errors: Vec<Value> = items
            .iter()
            .filter_map(|m| m.get("id").filter(|_| m.get("method").is_some()).cloned())
            .map(|id| error_reply(id, -32600, &why))
            .collect();
        let reply = if errors.is_empty() {
            error_reply(Value::Null, -32600, &why)
        } else {
            Value::Array(errors)
        };
        return (Vec::new(), Some(reply.to_string()));
    }
    let mut forward = Vec::new();
    let mut replies = Vec::new();
    let mut waiting = HashSet::new();
    for item in items {
        match screen(item, &mut s) {
            // A batch's calls are gathered from rmcp's answers: none is served here.
            Verdict::Forward | Verdict::Call(_) => {
                if let Some(id) = item.get("id").filter(|_| item.get("method").is_some()) {
                    waiting.insert(id.to_string());
                }
                forward.push(item.to_string().into_bytes());
            }
            Verdict::Reply(v) => replies.push(v),
            Verdict::Drop => {}
        }
    }
    if waiting.is_empty() {
        let reply = (!replies.is_empty()).then(|| Value::Array(replies).to_string());
        return (forward, reply);
    }
    s.batches.push(PendingBatch { waiting, replies });
    (forward, None)
}

/// Why a message calling `method` cannot be served as that method, when it cannot: a standard
/// method whose params do not fit it either fails to parse or falls through to a custom request
/// (which rmcp would answer "method not found"); both are invalid params (-32602).
pub(super) fn unfit_params(value: &Value, method: &str) -> Option<String> {
    match serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
        Err(e) => Some(e.to_string()),
        Ok(ClientJsonRpcMessage::Request(r))
            if matches!(r.request, ClientRequest::CustomRequest(_))
                && STANDARD_METHODS.contains(&method) =>
        {
            Some(describe_params(method, value.get("params")))
        }
        Ok(_) => None,
    }
}

/// Requests the MCP specification defines (a method outside this list is the server's to
/// refuse as "method not found").
const STANDARD_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "logging/setLevel",
    "completion/complete",
];

/// Why `params` do not fit `method`, in words.
fn describe_params(method: &str, params: Option<&Value>) -> String {
    let got = match params {
        None => "no params".to_string(),
        Some(Value::Object(_)) => "an object without the expected fields".to_string(),
        Some(Value::Array(_)) => "an array".to_string(),
        Some(other) => format!("{other}"),
    };
    let wanted = match method {
        "tools/call" => {
            "an object {\"name\": tool, \"arguments\": {parameter: value, ...}} (arguments is an object, not a list)"
        }
        "prompts/get" => "an object {\"name\": prompt, \"arguments\": {name: value}}",
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            "an object {\"uri\": \"ibkr://...\"}"
        }
        "logging/setLevel" => "an object {\"level\": \"debug\" | \"info\" | \"warning\" | ...}",
        _ => "an object as the MCP specification defines it",
    };
    format!("expected {wanted}; got {got}")
}

/// A JSON-RPC error message.
pub(super) fn error_reply(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// JSON-RPC 2.0 parse error; the id is null because the request could not be read.
fn parse_error(message: &str) -> String {
    error_reply(Value::Null, -32700, message).to_string()
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    let mut start = 0;
    while start < end && matches!(line[start], b' ' | b'\t') {
        start += 1;
    }
    &line[start..end]
}

enum Line {
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// Reads one line without ever buffering more than `max` bytes of it; an over-long line is
/// consumed and reported as `TooLong`.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    max: usize,
) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = input.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if line.is_empty() {
                Line::Eof
            } else {
                Line::Text(line)
            });
        }
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let used = chunk.len();
        if !too_long {
            if line.len() + used > max {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(line)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_lines_split_and_overflow() {
        let data: &[u8] = b"short\n0123456789abcdef\nlast";
        let mut r = BufReader::with_capacity(4, data);
        assert!(
            matches!(read_bounded_line(&mut r, 10).await.unwrap(), Line::Text(l) if l == b"short\n")
        );
        assert!(matches!(
            read_bounded_line(&mut r, 10).await.unwrap(),
            Line::TooLong
        ));
        assert!(
            matches!(read_bounded_line(&mut r, 10).await.unwrap(), Line::Text(l) if l == b"last")
        );
        assert!(matches!(
            read_bounded_line(&mut r, 10).await.unwrap(),
            Line::Eof
        ));
    }

    #[test]
    fn parse_error_is_json_rpc() {
        let v: serde_json::Value = serde_json::from_str(&parse_error("Parse error: x")).unwrap();
        assert_eq!(v["error"]["code"], -32700);
        assert!(v["id"].is_null());
    }
}
