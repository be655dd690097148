//! One gateway connection for everyone: how each command finds (or becomes) the process that
//! owns it.
//! - `serve`: the headless daemon — HTTP (MCP, REST, `/metrics`, `/healthz`) plus the socket.
//! - the cockpit (`tui`, `demo`): serves the socket too, so a sidecar bridges to it.
//! - `mcp`: bridges to whatever answers on the socket, else runs standalone.
//! - `tui` with a daemon running (or `--attach`): mirrors the daemon instead of connecting.

use super::Runtime;
use crate::config::Config;
use crate::mcp::{self, SocketServer, SocketState};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// The socket to use: the `--socket` flag, else `[mcp] socket`, else the runtime default.
pub fn socket_path(config: &Config, flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(|| config.socket_path())
}

/// What `ibkr-cockpit mcp` will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SidecarPlan {
    /// A cockpit or daemon answers on this socket: bridge to it.
    Bridge(PathBuf),
    /// Run with an own gateway connection, and why.
    Standalone(String),
    /// Neither: the server on the socket serves another world (demo vs live). The one-line
    /// reason says what runs there and how to proceed.
    Refuse(String),
}

/// Decides between bridging and standalone without changing anything. `simulated` is the
/// sidecar's own world: a live sidecar never bridges to a demo daemon, nor a demo one to live.
pub async fn sidecar_plan(path: &Path, force_standalone: bool, simulated: bool) -> SidecarPlan {
    if force_standalone {
        return SidecarPlan::Standalone("--standalone given".into());
    }
    match mcp::socket::probe(path).await {
        SocketState::Answering => match mcp::socket::identify(path).await {
            Some(id) if (id.mode == "demo") != simulated => {
                let mine = if simulated { "demo" } else { "live" };
                SidecarPlan::Refuse(format!(
                    "refusing to bridge: the {} server on {} serves {} ({}), and this is a {mine} \
                     sidecar; stop it, point --socket elsewhere, or pass --standalone to use \
                     your own connection",
                    id.mode,
                    path.display(),
                    if id.mode == "demo" {
                        "simulated data"
                    } else {
                        "a live account"
                    },
                    id.world
                ))
            }
            _ => SidecarPlan::Bridge(path.to_path_buf()),
        },
        SocketState::Stale => SidecarPlan::Standalone(format!(
            "{} is left over from a crash (nothing answers)",
            path.display()
        )),
        SocketState::Absent => {
            SidecarPlan::Standalone(format!("no cockpit or daemon socket at {}", path.display()))
        }
    }
}

/// Serves the socket for a cockpit; a problem (another cockpit already serving, a foreign
/// socket) is logged and the cockpit runs on without it.
pub async fn serve_socket_or_warn(
    rt: &Runtime,
    path: &Path,
    cancel: &CancellationToken,
) -> Option<SocketServer> {
    match mcp::serve_socket(rt.ctx.clone(), path, cancel.clone()).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("not serving the Unix socket: {e:#}");
            None
        }
    }
}

/// The headless daemon: runs until Ctrl-C / SIGTERM or until the HTTP server fails.
pub async fn run_daemon(rt: Runtime, bind: SocketAddr, socket: &Path) -> anyhow::Result<()> {
    for w in &rt.warnings {
        eprintln!("warning: {w}");
    }
    let cancel = CancellationToken::new();
    let (addr, server) = mcp::serve_http(rt.ctx.clone(), bind, cancel.clone()).await?;
    let sock = match mcp::serve_socket(rt.ctx.clone(), socket, cancel.clone()).await {
        Ok(s) => s,
        Err(e) => {
            cancel.cancel();
            rt.shutdown();
            return Err(e.context("cannot serve the Unix socket"));
        }
    };
    eprintln!(
        "ibkr-cockpit serving MCP at http://{addr}/mcp (REST at /api/, /metrics, /healthz) \
         and on {}; Ctrl-C or SIGTERM to stop",
        sock.path.display()
    );
    let result = tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = terminate() => Ok(()),
        r = server => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("HTTP server failed: {e}")),
            Err(e) => Err(anyhow::anyhow!("HTTP server task failed: {e}")),
        },
    };
    cancel.cancel();
    // The accept loop removes the socket file on its way out.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), sock.task).await;
    rt.shutdown();
    result
}

/// SIGTERM (systemd's stop); never fires where it cannot be installed.
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

/// `doctor`'s account of what is running: the socket, the HTTP port, and what a sidecar would
/// do. Reads only; changes nothing.
pub async fn running_report(config: &Config) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("running:\n");
    let path = config.socket_path();
    let socket = match mcp::socket::probe(&path).await {
        SocketState::Answering => "answering (a cockpit or daemon is running)",
        SocketState::Stale => "stale (left by a crash; the next cockpit or daemon replaces it)",
        SocketState::Absent => "absent (no cockpit or daemon running)",
    };
    let _ = writeln!(out, "  socket {}: {socket}", path.display());
    match super::http_bind(config) {
        Ok(bind) => {
            let _ = writeln!(out, "  HTTP {bind}: {}", http_status(bind).await);
        }
        Err(e) => {
            let _ = writeln!(out, "  HTTP: {e}");
        }
    }
    let plan = match sidecar_plan(&path, false, false).await {
        SidecarPlan::Bridge(p) => format!("would bridge to {}", p.display()),
        SidecarPlan::Standalone(why) => {
            format!("would run standalone with its own gateway connection ({why})")
        }
        SidecarPlan::Refuse(why) => format!("would not start: {why}"),
    };
    let _ = writeln!(out, "  sidecar (`ibkr-cockpit mcp`): {plan}");
    out.push_str(&database_report(&config.db_path()));
    out
}

/// `doctor`'s database lines: intact or damaged (read-only check), size, journal rows, and
/// any damaged copies kept from earlier repairs.
pub fn database_report(path: &Path) -> String {
    use std::fmt::Write as _;
    let found = crate::store::db::Db::inspect(path);
    let mut out = String::new();
    let state = match &found.verdict {
        None => "not created yet".to_string(),
        Some(Ok(())) => format!(
            "intact (quick_check ok), {:.1} MB, {} journaled tool calls",
            found.bytes as f64 / 1_048_576.0,
            found.calls.map_or_else(|| "?".into(), |n| n.to_string())
        ),
        Some(Err(problem)) => format!(
            "DAMAGED ({problem}); the next cockpit, daemon or sidecar to start moves it aside \
             (kept), creates a fresh one and copies back what can still be read"
        ),
    };
    let _ = writeln!(out, "  database {}: {state}", path.display());
    for copy in &found.damaged_copies {
        let _ = writeln!(
            out,
            "  damaged database moved aside earlier (kept for inspection): {}",
            copy.display()
        );
    }
    out
}

/// Who answers on the HTTP port, from `/healthz`.
async fn http_status(bind: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = if bind.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), bind.port())
    } else {
        bind
    };
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(target).await.ok()?;
        let request =
            format!("GET /healthz HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        let _ = stream.take(64 * 1024).read_to_end(&mut answer).await;
        Some(String::from_utf8_lossy(&answer).into_owned())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), probe).await {
        Ok(Some(answer)) if answer.contains("\"ibkr-cockpit\"") => {
            "answering (an ibkr-cockpit serves MCP, REST and /metrics here)".into()
        }
        Ok(Some(_)) => "in use by another program (set [mcp] http_port or --port)".into(),
        _ => "free".into(),
    }
}
