//! The HTTP server's connection layer, in place of `axum::serve` (which sets no timer, so a
//! client trickling its headers one byte at a time holds a connection and a task forever):
//! - a header-read deadline on every connection (hyper's, with a tokio timer), which also closes
//!   keep-alive connections left idle that long;
//! - a cap on connections open at once: one over the cap is answered 503 and closed, so a flood
//!   costs a socket for a moment, not a task and a buffer each;
//! - a cap per peer address well under the total, so one client holding slow connections open
//!   (slowloris) can take only its own share of the slots, never the others';
//! - the peer's address on every request (`ConnectInfo`), so refusals are sampled per peer;
//! - graceful shutdown: on cancel, stop accepting, let requests in flight finish, close idle
//!   connections, and return once every connection is gone.
//!
//! A connection that sent part of a request and then stalled is journaled as refused; one that
//! sent nothing, or went quiet after its last answer (an idle keep-alive), is simply closed.

use super::refusal::record_refusal;
use crate::store::Store;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Journal name for refusals made before a request (and its User-Agent) could be read.
const CONNECTION_CLIENT: &str = "http";

/// What the connection layer enforces.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    /// Connections one peer address may hold open at once.
    pub max_per_peer: usize,
}

/// Open connections per peer address; an entry goes when its last connection closes.
#[derive(Default)]
struct PerPeer {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`PerPeer`], given back on drop.
struct PeerSlot {
    peers: Arc<PerPeer>,
    ip: IpAddr,
}

impl PerPeer {
    fn try_take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<PeerSlot> {
        let mut open = self.open.lock();
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            peers: self.clone(),
            ip,
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.peers.open.lock();
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The router as a hyper service that puts the peer's address on every request.
#[derive(Clone)]
struct WithPeer {
    inner: TowerToHyperService<Router>,
    peer: SocketAddr,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for WithPeer {
    type Response = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Response;
    type Error = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Error;
    type Future = <TowerToHyperService<Router> as hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
    >>::Future;

    fn call(&self, mut req: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.inner.call(req)
    }
}

/// Accepts connections on `listener` and serves `app` on each until `cancel` fires, then waits
/// for the open connections to finish. Accept errors (out of file descriptors, a client that
/// reset before we accepted) are logged and survived, never returned.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    store: Store,
    cancel: CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let peers = Arc::new(PerPeer::default());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut open = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            // Reap finished connections so the set does not grow with every client ever seen.
            Some(_) = open.join_next(), if !open.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("HTTP: accept failed: {e}");
                    // Out of descriptors is the usual cause; give connections time to close.
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    }
                }
            },
        };
        let Some(peer_slot) = peers.try_take(peer.ip(), limits.max_per_peer.max(1)) else {
            tracing::debug!(
                "HTTP: refused connection from {peer}: it already holds {} connections",
                limits.max_per_peer
            );
            tokio::spawn(answer_busy(stream));
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Logged, not journaled: a flood would otherwise write one SQLite row per socket.
            tracing::warn!(
                "HTTP: refused connection from {peer}: {} connections already open",
                limits.max_connections
            );
            tokio::spawn(answer_busy(stream));
            continue;
        };
        let partial = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(Watched {
            stream,
            partial: partial.clone(),
        });
        let service = WithPeer {
            inner: TowerToHyperService::new(app.clone()),
            peer,
        };
        let conn = http.serve_connection(io, service);
        let cancel = cancel.clone();
        let store = store.clone();
        let header_timeout = limits.header_read_timeout;
        open.spawn(async move {
            let _slots = (slot, peer_slot);
            let mut conn = std::pin::pin!(conn);
            let mut shutting_down = false;
            let result = loop {
                tokio::select! {
                    result = conn.as_mut() => break result,
                    _ = cancel.cancelled(), if !shutting_down => {
                        // Finish the request in flight, then close; idle connections close now.
                        shutting_down = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            };
            if let Err(e) = result {
                closed_with_error(
                    &store,
                    peer,
                    &e,
                    partial.load(Ordering::Relaxed),
                    header_timeout,
                );
            }
        });
    }
    // Stop accepting before waiting, so new clients are refused by the OS, not left hanging.
    drop(listener);
    while open.join_next().await.is_some() {}
    Ok(())
}

/// Journals a connection cut off in the middle of its headers; anything else is routine.
fn closed_with_error(
    store: &Store,
    peer: SocketAddr,
    e: &hyper::Error,
    partial: bool,
    header_timeout: Duration,
) {
    if e.is_timeout() && partial {
        let reason = format!(
            "request headers not received within {} s",
            header_timeout.as_secs_f64()
        );
        record_refusal(
            store,
            Some(peer.ip()),
            CONNECTION_CLIENT.into(),
            format!("connection from {peer}"),
            &reason,
        );
    } else {
        tracing::debug!("HTTP: connection from {peer} closed: {e}");
    }
}

/// A short 503 for a connection over the cap, written without waiting on the client for long.
async fn answer_busy(mut stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
        Content-Type: application/json\r\nContent-Length: 43\r\n\r\n\
        {\"error\":\"too many connections; try again\"}";
    let write = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// A TCP stream that remembers whether the client has sent bytes since our last answer: true
/// when a header-read timeout fires means a partial request (a stalled or slowloris client),
/// false means an idle keep-alive or a connection that never said anything.
struct Watched {
    stream: TcpStream,
    partial: Arc<AtomicBool>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.partial.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl Watched {
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.partial.store(false, Ordering::Relaxed);
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
