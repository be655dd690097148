//! The HTTP front door (`ibkr-cockpit serve`, and the cockpit's own MCP endpoint):
//! - `/mcp`: MCP over *stateless* streamable HTTP — no session ids, JSON responses — so clients
//!   that cache dead sessions or race SSE streams just work;
//! - `/healthz`;
//! - read-only REST under `/api/*`, answering with exactly the JSON the tools return.
//!
//! - `/metrics` (Prometheus text).
//!
//! Loopback by default. Binding any other address requires a bearer token. On every route:
//! Host and Origin are checked against DNS rebinding (403), bodies are capped (413), and a slow
//! client only ever holds up itself: headers must arrive within a deadline (else the connection
//! is closed, see `http_conn`), a body within another (408, see `http_body`), and each request
//! has an overall deadline (408); connections beyond a cap get 503. A wrong or missing token
//! (401), an oversized body and a stalled request get a "refused" line in the journal. Nothing
//! here can reach the broker except the tools, which are read-only.

use super::http_body::{closing, read_body_within};
use super::http_conn::{ConnectionLimits, serve_connections};
use super::metrics::Metrics;
use super::refusal::{client_name, peer_of, record_refusal};
use super::server::CockpitMcp;
use super::stdio::{BATCH_PROTOCOL, MAX_BATCH, error_reply};
use crate::config::McpSection;
use crate::model::ConnState;
use crate::tools::params::parse_args;
use crate::tools::{self, ToolContext};
use anyhow::Context;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Shortest bearer token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Largest request body accepted on any route.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Journal name for calls made through the REST API.
const REST_CLIENT: &str = "rest";

/// Default deadline for one request, body included (tools that wait on IB's historical pacing
/// can take tens of seconds, so this is generous).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// Per-server limits (tests shorten the deadline). The header and body deadlines and the
/// connection cap come from the `[mcp]` config (see [`SlowClientLimits`]).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

impl HttpLimits {
    /// The request deadline the config asks for (`mcp.http_request_timeout_secs`).
    pub fn from_config(mcp: &McpSection) -> Self {
        HttpLimits {
            request_timeout: secs(mcp.http_request_timeout_secs),
        }
    }
}

/// Every deadline and cap that keeps a slow or greedy client from holding up the others.
#[derive(Debug, Clone, Copy)]
pub struct SlowClientLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
}

impl SlowClientLimits {
    /// From the `[mcp]` config, with `limits` overriding the request deadline. The body deadline
    /// never exceeds the request deadline (it would never fire).
    pub fn new(mcp: &McpSection, limits: HttpLimits) -> Self {
        SlowClientLimits {
            header_read_timeout: secs(mcp.http_header_timeout_secs),
            body_read_timeout: secs(mcp.http_body_timeout_secs).min(limits.request_timeout),
            request_timeout: limits.request_timeout,
            max_connections: usize::try_from(mcp.http_max_connections)
                .unwrap_or(usize::MAX)
                .max(1),
            max_connections_per_peer: usize::try_from(mcp.http_max_connections_per_peer)
                .unwrap_or(usize::MAX)
                .max(1),
        }
    }
}

/// Whole seconds from the config; 0 (rejected by validation) is read as 1 rather than "never".
fn secs(n: u64) -> Duration {
    Duration::from_secs(n.max(1))
}

/// Binds `bind` (port 0 picks a free port) and serves until `cancel` fires.
/// Returns the address actually bound and the server task.
pub async fn serve_http(
    ctx: ToolContext,
    bind: SocketAddr,
    cancel: CancellationToken,
) -> anyhow::Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let limits = HttpLimits::from_config(&ctx.config.mcp);
    serve_http_with(ctx, bind, cancel, limits).await
}

/// [`serve_http`] with explicit limits.
pub async fn serve_http_with(
    ctx: ToolContext,
    bind: SocketAddr,
    cancel: CancellationToken,
    limits: HttpLimits,
) -> anyhow::Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let token = ctx
        .config
        .mcp
        .token
        .clone()
        .filter(|t| !t.trim().is_empty());
    if let Some(t) = &token
        && t.trim().chars().count() < MIN_TOKEN_CHARS
    {
        anyhow::bail!(
            "refusing the bearer token: it is {} characters, and a token must have at least \
             {MIN_TOKEN_CHARS} (a short one can be guessed); set [mcp] token or \
             IBKR_COCKPIT_TOKEN to a longer random string, e.g. from `openssl rand -hex 16`",
            t.trim().chars().count()
        );
    }
    if !bind.ip().is_loopback() && token.is_none() {
        anyhow::bail!(
            "refusing to serve HTTP on {bind} without a bearer token: set [mcp] token in the config \
             file or the IBKR_COCKPIT_TOKEN environment variable, or bind 127.0.0.1"
        );
    }
    let metrics = Metrics::default();
    // Count calls as they happen, so a burst larger than the journal between scrapes is not lost.
    let follower = tokio::spawn(metrics.clone().follow(ctx.store.clone()));
    let stop_follower = cancel.clone();
    tokio::spawn(async move {
        stop_follower.cancelled().await;
        follower.abort();
    });
    // The tail of a refused burst is summed up in the journal once the burst stops.
    let summaries_store = ctx.store.clone();
    let stop_summaries = cancel.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stop_summaries.cancelled() => break,
                _ = every.tick() => super::refusal::flush_summaries(&summaries_store),
            }
        }
    });
    let limits = SlowClientLimits::new(&ctx.config.mcp, limits);
    let store = ctx.store.clone();
    let app = build_router(ctx, bind, cancel.clone(), limits, metrics);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let connection_limits = ConnectionLimits {
        header_read_timeout: limits.header_read_timeout,
        max_connections: limits.max_connections,
        max_per_peer: limits.max_connections_per_peer,
    };
    let handle = tokio::spawn(serve_connections(
        listener,
        app,
        connection_limits,
        store,
        cancel,
    ));
    tracing::info!("MCP over HTTP at http://{local}/mcp, REST at http://{local}/api/");
    Ok((local, handle))
}

/// The whole HTTP surface as an axum router (for embedding or tests).
/// Header deadlines and the connection cap belong to the server ([`serve_http`]), not the router.
pub fn router(ctx: ToolContext, bind: SocketAddr, cancel: CancellationToken) -> Router {
    let limits = SlowClientLimits::new(&ctx.config.mcp, HttpLimits::from_config(&ctx.config.mcp));
    build_router(ctx, bind, cancel, limits, Metrics::default())
}

fn build_router(
    ctx: ToolContext,
    bind: SocketAddr,
    cancel: CancellationToken,
    limits: SlowClientLimits,
    metrics: Metrics,
) -> Router {
    let token = ctx
        .config
        .mcp
        .token
        .clone()
        .filter(|t| !t.trim().is_empty());
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(cancel.child_token());
    if !bind.ip().is_loopback() {
        // A token guards a non-loopback bind; callers reach it by whatever name the network
        // gives the box, so the DNS-rebinding host list cannot be known here.
        config = config.disable_allowed_hosts();
    }
    if !ctx.config.mcp.allowed_origins.is_empty() {
        config = config.with_allowed_origins(ctx.config.mcp.allowed_origins.clone());
    }
    let proto = CockpitMcp::new(ctx.clone());
    let mcp = StreamableHttpService::new(
        move || Ok(proto.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );

    let mcp_routes = Router::new()
        .route_service("/mcp", mcp)
        .route_layer(middleware::from_fn(screen_mcp_request));
    let api = Router::new()
        .route("/api/summary", get(api_summary))
        .route("/api/positions", get(api_positions))
        .route("/api/fx", get(api_fx))
        .route("/api/technicals/{symbol}", get(api_technicals))
        .route("/api/history", get(api_history))
        .with_state(ctx.clone());
    let metrics_route = Router::new()
        .route("/metrics", get(metrics_text))
        .with_state((ctx.clone(), metrics));
    // Bodies are read (against their deadline) only once the token checks out: a client without
    // one is answered 401 at once and never gets to make us wait or buffer.
    let body_store = ctx.store.clone();
    let body_deadline = limits.body_read_timeout;
    let mut guarded = mcp_routes
        .merge(api)
        .merge(metrics_route)
        .route_layer(middleware::from_fn(move |req: Request, next: Next| {
            let store = body_store.clone();
            async move { read_body_within(store, body_deadline, MAX_BODY_BYTES, req, next).await }
        }));
    if let Some(token) = token {
        let expected: Arc<str> = Arc::from(format!("Bearer {token}"));
        let store = ctx.store.clone();
        guarded = guarded.route_layer(middleware::from_fn(move |req: Request, next: Next| {
            let expected = expected.clone();
            let store = store.clone();
            async move { require_bearer(&expected, &store, req, next).await }
        }));
    }
    let screen = Arc::new(Screen {
        store: ctx.store.clone(),
        bind,
        allowed_origins: ctx
            .config
            .mcp
            .allowed_origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect(),
    });
    let deadline = limits.request_timeout;
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(ctx)
        .merge(guarded)
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(
                    json!({"error": "no such endpoint; try /mcp, /healthz or /api/summary"}),
                ),
            )
        })
        // Layers run outermost-last: deadline, then Host/Origin and size, then the routes.
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let screen = screen.clone();
            async move { screen_request(&screen, req, next).await }
        }))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                let what = format!("{} {}", req.method(), req.uri().path());
                match tokio::time::timeout(deadline, next.run(req)).await {
                    Ok(response) => response,
                    Err(_) => {
                        // Logged, not journaled as refused: the slow part may be ours (a tool
                        // waiting on IB's pacing) rather than the client's.
                        let message =
                            format!("request not completed within {} s", deadline.as_secs_f64());
                        tracing::warn!("HTTP: {what}: {message}");
                        closing(StatusCode::REQUEST_TIMEOUT, &message)
                    }
                }
            },
        ))
}

/// What every request is checked against before it reaches a route.
struct Screen {
    /// Where oversized requests are journaled as refused.
    store: crate::store::Store,
    bind: SocketAddr,
    /// Lower-case, without a trailing slash.
    allowed_origins: Vec<String>,
}

/// 403 for a Host that is not this server (DNS rebinding) or a browser Origin not allowed;
/// 413 for a declared body over the cap (the MCP route also caps bodies without a length).
async fn screen_request(screen: &Screen, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if let Some(host) = headers.get(header::HOST) {
        let host = host.to_str().unwrap_or("");
        if !host_allowed(host, screen.bind) {
            return forbidden(&format!(
                "Host {host:?} is not this server; use 127.0.0.1 or localhost"
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(origin, &screen.allowed_origins) {
            return forbidden(&format!(
                "Origin {origin:?} is not allowed; add it to [mcp] allowed_origins in the config"
            ));
        }
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > MAX_BODY_BYTES as u64) {
        let reason = format!("request body larger than {MAX_BODY_BYTES} bytes ({n} declared)");
        record_refusal(
            &screen.store,
            peer_of(&req),
            client_name(headers),
            format!("{} {}", req.method(), req.uri().path()),
            &reason,
        );
        return closing(StatusCode::PAYLOAD_TOO_LARGE, &reason);
    }
    next.run(req).await
}

fn forbidden(message: &str) -> Response {
    (StatusCode::FORBIDDEN, axum::Json(json!({"error": message}))).into_response()
}

/// Loopback names, or the address the server is bound to. A wildcard bind (0.0.0.0, ::) is
/// reached by whatever name the network gives the box; the required token guards it.
pub fn host_allowed(host: &str, bind: SocketAddr) -> bool {
    if bind.ip().is_unspecified() {
        return true;
    }
    let name = host_name(host).to_ascii_lowercase();
    if is_loopback_name(&name) {
        return true;
    }
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip == bind.ip())
}

/// A browser origin is allowed when listed in the config or when it is a loopback page.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    if allowed.iter().any(|a| a == &origin) {
        return true;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https") && is_loopback_name(host_name(rest))
}

/// `host[:port]` or `[v6][:port]` → the host part.
fn host_name(authority: &str) -> &str {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    }
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn metrics_text(State((ctx, metrics)): State<(ToolContext, Metrics)>) -> Response {
    metrics.set_refused_total(ctx.store.refused_total());
    let text = metrics.render(&ctx.store.snapshot(), crate::gateway::cache_hits());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// 401 unless the Authorization header is exactly `Bearer <token>` (compared in constant time).
/// A refusal is journaled, so the prompt pane shows someone knocking.
async fn require_bearer(
    expected: &str,
    store: &crate::store::Store,
    req: Request,
    next: Next,
) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    if constant_time_eq(given, expected.as_bytes()) {
        next.run(req).await
    } else {
        let what = if given.is_empty() { "missing" } else { "wrong" };
        record_refusal(
            store,
            peer_of(&req),
            client_name(req.headers()),
            format!("{} {}", req.method(), req.uri().path()),
            &format!("{what} bearer token"),
        );
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({"error": "missing or wrong bearer token"})),
        )
            .into_response()
    }
}

/// Equal-length inputs take the same time whatever their content.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Puts JSON-RPC semantics on what rmcp answers with plain HTTP errors: a body that is not JSON
/// gets a -32700 parse error, JSON that is not a JSON-RPC message a -32600 invalid request.
/// Also fills in Accept/Content-Type for simple clients (`curl -d`), which rmcp would refuse.
async fn screen_mcp_request(req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let msg = format!("request body larger than {MAX_BODY_BYTES} bytes");
            return json_rpc_error(StatusCode::PAYLOAD_TOO_LARGE, Value::Null, -32600, &msg);
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return json_rpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32700,
                &format!("Parse error: {e}"),
            );
        }
    };
    fill_in_headers(&mut parts);
    match value {
        Value::Array(items) => serve_batch(parts, items, next).await,
        single => match screen_message(&single) {
            Err((status, body)) => (status, axum::Json(body)).into_response(),
            Ok(()) => {
                next.run(Request::from_parts(parts, Body::from(bytes)))
                    .await
            }
        },
    }
}

/// Accept and Content-Type as rmcp wants them, for simple clients (`curl -d`).
fn fill_in_headers(parts: &mut axum::http::request::Parts) {
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepts_both = accept.contains("application/json") && accept.contains("text/event-stream");
    if !accepts_both
        && (accept.is_empty() || accept.contains("*/*") || accept.contains("application/json"))
    {
        parts.headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
    }
    if !parts.headers.contains_key(header::CONTENT_TYPE) {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
}

/// The JSON-RPC error for a message rmcp would answer badly: -32600 for JSON that is no
/// JSON-RPC message, -32602 for a method whose params do not fit; each with the message's id.
fn screen_message(value: &Value) -> Result<(), (StatusCode, Value)> {
    let id = value.get("id").cloned().unwrap_or(Value::Null);
    let method = value.get("method").and_then(Value::as_str);
    if let Err(e) = serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
        let (code, what) = match method {
            Some(method) => (-32602, format!("Invalid params for {method}")),
            None => (-32600, "Invalid Request".to_string()),
        };
        let body = error_reply(id, code, &format!("{what}: {e}"));
        return Err((StatusCode::BAD_REQUEST, body));
    }
    if let Some(method) = method
        && let Some(why) = super::stdio::unfit_params(value, method)
    {
        let body = error_reply(id, -32602, &format!("Invalid params for {method}: {why}"));
        return Err((StatusCode::OK, body));
    }
    Ok(())
}

/// A JSON-RPC batch. Protocol 2025-03-26 (also what a request without `MCP-Protocol-Version`
/// is taken to speak) allows batches: each message is served in turn and the answers come back
/// as one array. Other versions get one -32600 error per request, each with its id.
async fn serve_batch(parts: axum::http::request::Parts, items: Vec<Value>, next: Next) -> Response {
    let version = parts
        .headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(BATCH_PROTOCOL)
        .to_string();
    if items.is_empty() {
        let body = error_reply(Value::Null, -32600, "Invalid Request: empty batch");
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    if version != BATCH_PROTOCOL || items.len() > MAX_BATCH {
        let why = if version != BATCH_PROTOCOL {
            format!(
                "Invalid Request: JSON-RPC batches are not accepted under protocol version \
                 {version} (only {BATCH_PROTOCOL} allows them); send one message per request"
            )
        } else {
            format!("Invalid Request: a batch holds at most {MAX_BATCH} messages")
        };
        let errors: Vec<Value> = items
            .iter()
            .filter(|m| m.get("method").is_some())
            .filter_map(|m| m.get("id").cloned())
            .map(|id| error_reply(id, -32600, &why))
            .collect();
        let body = if errors.is_empty() {
            error_reply(Value::Null, -32600, &why)
        } else {
            Value::Array(errors)
        };
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    }
    let mut answers = Vec::new();
    for item in items {
        if let Err((_, body)) = screen_message(&item) {
            answers.push(body);
            continue;
        }
        let id = item
            .get("id")
            .filter(|_| item.get("method").is_some())
            .cloned();
        let request = Request::from_parts(parts.clone(), Body::from(item.to_string()));
        let response = next.clone().run(request).await;
        let Some(id) = id else { continue };
        let answer = match axum::body::to_bytes(response.into_body(), MAX_BODY_BYTES).await {
            Ok(b) => serde_json::from_slice::<Value>(&b).ok(),
            Err(_) => None,
        };
        answers.push(answer.unwrap_or_else(|| {
            error_reply(id, -32603, "Internal error: the request had no JSON answer")
        }));
    }
    if answers.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    axum::Json(Value::Array(answers)).into_response()
}

fn json_rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// 200 only while every gateway of this process is connected and answering; 503 with the
/// reason while one is connecting, disconnected, reconnecting or stalled (`?lenient`: 200 with
/// the same details, for probes that only want to know the daemon is up). A process without a
/// gateway (answering from cache) has nothing to be unhealthy about.
async fn healthz(
    State(ctx): State<ToolContext>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let snap = ctx.store.snapshot();
    let now = ctx.store.now();
    let mut problems: Vec<String> = Vec::new();
    let mut gateways: BTreeMap<&str, Value> = BTreeMap::new();
    for handle in ctx.gateways.iter().flat_map(|g| g.all()) {
        let role = handle.role();
        let status = snap.gateways.get(&role);
        let state = status.map_or(ConnState::Connecting, |s| s.state);
        let last_error = status.and_then(|s| s.last_error.clone());
        if state != ConnState::Connected {
            problems.push(match &last_error {
                Some(e) => format!("{} gateway {}: {e}", role.as_str(), state.label()),
                None => format!("{} gateway {}", role.as_str(), state.label()),
            });
        }
        let last_data_age_ms = status.and_then(|s| s.last_data).map(|t| (now - t).max(0));
        gateways.insert(
            role.as_str(),
            json!({"state": state.label(), "last_data_age_ms": last_data_age_ms, "last_error": last_error}),
        );
    }
    let healthy = problems.is_empty();
    let body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "reason": (!healthy).then(|| problems.join("; ")),
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "gateways": gateways,
    });
    let code = if healthy || q.contains_key("lenient") {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

/// Runs one tool for the REST API: query parameters become its arguments (read with the same
/// rules as `tool NAME key=value`); the answer is the tool's JSON, or 400 with its error.
async fn rest_call(
    ctx: &ToolContext,
    name: &str,
    query: BTreeMap<String, String>,
    extra: Vec<(&str, Value)>,
) -> Response {
    let schema = tools::catalog()
        .iter()
        .find(|t| t.name == name)
        .map(|t| &t.input_schema);
    let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = match parse_args(&pairs, schema) {
        Ok(a) => a,
        Err(e) => return rest_error(StatusCode::BAD_REQUEST, &e),
    };
    if let Value::Object(map) = &mut args {
        for (k, v) in extra {
            map.insert(k.to_string(), v);
        }
    }
    match tools::call_journaled(ctx, REST_CLIENT, name, args).await {
        Ok(out) => axum::Json(out.json).into_response(),
        Err(e) => rest_error(StatusCode::BAD_REQUEST, &e.message),
    }
}

fn rest_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}

async fn api_summary(
    State(ctx): State<ToolContext>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    rest_call(&ctx, "ibkr_get_account_summary", q, Vec::new()).await
}

async fn api_positions(
    State(ctx): State<ToolContext>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    rest_call(&ctx, "ibkr_get_positions", q, Vec::new()).await
}

async fn api_technicals(
    State(ctx): State<ToolContext>,
    Path(symbol): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    rest_call(
        &ctx,
        "ibkr_technicals",
        q,
        vec![("symbol", Value::String(symbol))],
    )
    .await
}

/// `?pair=USDCAD` → that pair's `ibkr_get_fx_rate` answer; no pair → `{"pairs": [...]}`, one
/// answer per FX pair the live book quotes.
async fn api_fx(
    State(ctx): State<ToolContext>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if q.contains_key("pair") {
        return rest_call(&ctx, "ibkr_get_fx_rate", q, Vec::new()).await;
    }
    let mut pairs: Vec<String> = ctx
        .store
        .snapshot()
        .quotes
        .keys()
        .filter_map(|k| k.split_once('.'))
        .filter(|(a, b)| a.len() == 3 && b.len() == 3)
        .map(|(a, b)| format!("{a}{b}"))
        .collect();
    pairs.sort();
    let mut answers = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let args = json!({"pair": pair});
        match tools::call_journaled(&ctx, REST_CLIENT, "ibkr_get_fx_rate", args).await {
            Ok(out) => answers.push(out.json),
            Err(e) => answers.push(json!({"pair": pair, "error": e.message})),
        }
    }
    axum::Json(json!({"pairs": answers})).into_response()
}

/// `?symbol=KRYX[&duration=…&bar_size=…]` → `ibkr_get_historical_bars`; without a symbol, the
/// account's NLV history (`ibkr_drawdown_tracker`) when that tool exists.
async fn api_history(
    State(ctx): State<ToolContext>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if q.contains_key("symbol") {
        return rest_call(&ctx, "ibkr_get_historical_bars", q, Vec::new()).await;
    }
    if super::is_known_tool("ibkr_drawdown_tracker") {
        return rest_call(&ctx, "ibkr_drawdown_tracker", q, Vec::new()).await;
    }
    rest_error(
        StatusCode::BAD_REQUEST,
        "give ?symbol=SYM (plus optional duration, bar_size, what_to_show, use_rth) for historical bars",
    )
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, host_allowed, origin_allowed};

    #[test]
    fn hosts_and_origins() {
        let lo: std::net::SocketAddr = "127.0.0.1:8765".parse().unwrap();
        assert!(host_allowed("127.0.0.1:8765", lo));
        assert!(host_allowed("localhost", lo));
        assert!(host_allowed("[::1]:8765", lo));
        assert!(!host_allowed("evil.example:8765", lo));
        let lan: std::net::SocketAddr = "192.168.1.5:8765".parse().unwrap();
        assert!(host_allowed("192.168.1.5:8765", lan));
        assert!(!host_allowed("attacker.example", lan));
        let any: std::net::SocketAddr = "0.0.0.0:8765".parse().unwrap();
        assert!(host_allowed("box.lan:8765", any));
        let allowed = vec!["https://app.example".to_string()];
        assert!(origin_allowed("http://localhost:3000", &allowed));
        assert!(origin_allowed("https://app.example/", &allowed));
        assert!(!origin_allowed("https://evil.example", &allowed));
        assert!(!origin_allowed("null", &allowed));
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"Bearer abc", b"Bearer abc"));
        assert!(!constant_time_eq(b"Bearer abd", b"Bearer abc"));
        assert!(!constant_time_eq(b"Bearer ab", b"Bearer abc"));
    }
}
