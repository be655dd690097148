//! The user-only Unix socket every cockpit and daemon serves, so one gateway connection and one
//! picture of the book serve everybody on the box.
//!
//! The first line of a connection decides what it is:
//! - a JSON-RPC message → MCP (`serve_lines`), journaled under the client's own name — this is
//!   what `ibkr-cockpit mcp` bridges Claude Code's stdio onto;
//! - [`ATTACH_HELLO`] → an attached UI: the live state streams out, tool calls come in
//!   (see `attach.rs`);
//! - [`IDENTIFY_HELLO`] → one JSON line saying who serves here: product, version, mode
//!   (`live` or `demo`) and world, so a live sidecar never bridges to a demo book (or back).
//!
//! Safety of the path: the directory is 0700 and the socket 0600 — created under a 0077 umask,
//! so it is never open to others, not even between bind and chmod; a socket left by a crash
//! (the file exists, nobody answers) is removed and recreated; a path that exists and is not a
//! socket is refused (never deleted); a socket or directory owned by another user is refused,
//! since talking to it would hand our questions to someone else. Every connection's peer
//! credentials (SO_PEERCRED) are checked: only our own uid is served; a refused connection is
//! closed unanswered, counted and journaled (`refusal::record_refusal`).

use super::attach;
use super::stdio::serve_lines;
use crate::tools::ToolContext;
use anyhow::Context;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// First line an attaching UI sends (not JSON, so it can never be mistaken for MCP).
pub const ATTACH_HELLO: &str = "IBKR-COCKPIT-ATTACH 1";

/// First line of a client asking who serves here (answered with one [`Identity`] line).
pub const IDENTIFY_HELLO: &str = "IBKR-COCKPIT-IDENTIFY 1";

/// Who serves on a socket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub product: String,
    pub version: String,
    /// `live` or `demo`.
    pub mode: String,
    /// What the data is: the gateway's address, or the simulated book.
    pub world: String,
}

impl Identity {
    /// This process's identity as a server.
    pub fn of(ctx: &ToolContext) -> Identity {
        let world = ctx.store.world();
        let description = if world.description.is_empty() {
            let g = &ctx.config.gateway;
            match g.port {
                Some(port) => format!("IB gateway at {}:{port}", g.host),
                None => format!("IB gateway at {} (port auto-detected)", g.host),
            }
        } else {
            world.description.clone()
        };
        Identity {
            product: "ibkr-cockpit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            mode: world.mode().into(),
            world: description,
        }
    }
}

/// Asks the server at `path` who it is; `None` when it does not say (not ours, or too old).
pub async fn identify(path: &Path) -> Option<Identity> {
    use tokio::io::AsyncWriteExt;
    let ask = async {
        let mut stream = connect(path).await.ok()?;
        stream
            .write_all(format!("{IDENTIFY_HELLO}\n").as_bytes())
            .await
            .ok()?;
        let mut line = Vec::new();
        BufReader::new(stream)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .await
            .ok()?;
        serde_json::from_slice::<Identity>(&line).ok()
    };
    tokio::time::timeout(PROBE_TIMEOUT, ask)
        .await
        .ok()
        .flatten()
}

/// Longest first line read before deciding (an MCP initialize is well under this).
const MAX_FIRST_LINE: u64 = 4 * 1024 * 1024;

/// How long a probe waits for a socket to accept.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Refuses a path owned by someone else: `owner` is the file's uid, `me` ours.
/// (Root may be running the tests, so the check takes the uids as parameters.)
pub fn check_owner(path: &Path, owner: u32, me: u32) -> anyhow::Result<()> {
    if owner != me {
        anyhow::bail!(
            "{} belongs to another user (uid {owner}, we are uid {me}); refusing to use it. \
             Remove it, or pick another path with --socket or [mcp] socket in the config",
            path.display()
        );
    }
    Ok(())
}

/// What is at a socket path right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketState {
    /// No file.
    Absent,
    /// A server accepts connections there.
    Answering,
    /// A file exists but nobody accepts: left over from a crash.
    Stale,
}

/// Probes `path` without changing anything.
pub async fn probe(path: &Path) -> SocketState {
    if std::fs::symlink_metadata(path).is_err() {
        return SocketState::Absent;
    }
    match tokio::time::timeout(PROBE_TIMEOUT, UnixStream::connect(path)).await {
        Ok(Ok(_)) => SocketState::Answering,
        _ => SocketState::Stale,
    }
}

/// Connects to a running cockpit or daemon at `path`, if one answers and the socket is ours.
pub async fn connect(path: &Path) -> anyhow::Result<UnixStream> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("no cockpit socket at {}", path.display()))?;
    check_owner(path, meta.uid(), current_uid())?;
    tokio::time::timeout(PROBE_TIMEOUT, UnixStream::connect(path))
        .await
        .map_err(|_| anyhow::anyhow!("{} did not accept in time", path.display()))?
        .with_context(|| format!("nothing answers on {}", path.display()))
}

/// Makes the socket's directory (0700 when we create it or it is ours) and clears a stale
/// socket. Fails on foreign ownership or when a live server already answers at `path`.
pub async fn prepare_path(path: &Path) -> anyhow::Result<()> {
    let me = current_uid();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create socket directory {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make {} private (0700)", dir.display()))?;
    } else {
        let meta = std::fs::metadata(dir)
            .with_context(|| format!("cannot read socket directory {}", dir.display()))?;
        // A shared sticky directory such as /tmp is fine: nobody else can remove our socket.
        let sticky = meta.mode() & 0o1000 != 0;
        if !sticky {
            check_owner(dir, meta.uid(), me)?;
        }
        if is_own_app_dir(dir) && meta.uid() == me && meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot make {} private (0700)", dir.display()))?;
        }
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            anyhow::bail!(
                "{} exists and is not a socket; refusing to replace it. Pick another path with \
                 --socket or [mcp] socket in the config",
                path.display()
            );
        }
        check_owner(path, meta.uid(), me)?;
        match probe(path).await {
            SocketState::Answering => anyhow::bail!(
                "another cockpit or daemon is already serving on {}",
                path.display()
            ),
            SocketState::Stale | SocketState::Absent => {
                tracing::info!("removing stale socket {}", path.display());
                std::fs::remove_file(path)
                    .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// The directory we own by convention (`…/ibkr-cockpit`), which we keep at 0700.
fn is_own_app_dir(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == "ibkr-cockpit")
}

/// A running socket server; the socket file is removed when it stops.
pub struct SocketServer {
    pub path: PathBuf,
    pub task: JoinHandle<()>,
}

/// Binds `path` (after [`prepare_path`]) with mode 0600 and serves until `cancel` fires.
pub async fn serve_socket(
    ctx: ToolContext,
    path: &Path,
    cancel: CancellationToken,
) -> anyhow::Result<SocketServer> {
    prepare_path(path).await?;
    // SAFETY: umask has no preconditions; it is restored right after the bind. The socket file
    // is thereby created 0600 (never world-connectable, even before the chmod below).
    let previous = unsafe { libc::umask(0o077) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above; puts back the mask this process had.
    unsafe { libc::umask(previous) };
    let listener = bound.with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make {} user-only (0600)", path.display()))?;
    tracing::info!("MCP and attach on unix socket {}", path.display());
    let owned = path.to_path_buf();
    let task = tokio::spawn(accept_loop(ctx, listener, owned.clone(), cancel));
    Ok(SocketServer { path: owned, task })
}

async fn accept_loop(
    ctx: ToolContext,
    listener: UnixListener,
    path: PathBuf,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if let Err(why) = same_user(&stream) {
                        // Counted and journaled like a refused HTTP request (sampled per
                        // burst), so someone knocking shows in the prompt pane and /metrics.
                        super::refusal::record_refusal(
                            &ctx.store,
                            None,
                            "unix-socket".into(),
                            "connect to the socket".into(),
                            &format!("another user's connection refused: {why}"),
                        );
                        continue;
                    }
                    let ctx = ctx.clone();
                    let cancel = cancel.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = cancel.cancelled() => {}
                            r = serve_connection(ctx, stream) => {
                                if let Err(e) = r {
                                    tracing::debug!("socket client ended: {e:#}");
                                }
                            }
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("socket accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    // Only remove the file if it is still ours (another server may have replaced it).
    let _ = std::fs::remove_file(&path);
}

/// Only our own user may talk to us: the peer's uid from SO_PEERCRED must be ours.
fn same_user(stream: &UnixStream) -> Result<(), String> {
    let me = current_uid();
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == me => Ok(()),
        Ok(cred) => Err(format!("peer uid {} is not ours ({me})", cred.uid())),
        Err(e) => Err(format!("cannot read the peer's credentials: {e}")),
    }
}

/// Reads the first line and hands the connection to MCP or to the attach protocol.
async fn serve_connection(ctx: ToolContext, stream: UnixStream) -> anyhow::Result<()> {
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut first = Vec::new();
    (&mut reader)
        .take(MAX_FIRST_LINE)
        .read_until(b'\n', &mut first)
        .await?;
    if first.is_empty() {
        return Ok(());
    }
    let hello = String::from_utf8_lossy(&first);
    if hello.trim() == ATTACH_HELLO {
        return attach::serve_attached(ctx, reader, write).await;
    }
    if hello.trim() == IDENTIFY_HELLO {
        use tokio::io::AsyncWriteExt;
        let mut write = write;
        let mut line = serde_json::to_string(&Identity::of(&ctx))?;
        line.push('\n');
        write.write_all(line.as_bytes()).await?;
        return Ok(write.shutdown().await?);
    }
    // MCP: the first line is part of the conversation, so put it back in front.
    let input = std::io::Cursor::new(first).chain(reader);
    serve_lines(ctx, input, write).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_owner_is_refused_with_a_message() {
        let p = Path::new("/run/user/1000/ibkr-cockpit/mcp.sock");
        assert!(check_owner(p, 1000, 1000).is_ok());
        let err = check_owner(p, 0, 1000).unwrap_err().to_string();
        assert!(err.contains("another user"), "{err}");
        assert!(err.contains("--socket"), "{err}");
    }
}
