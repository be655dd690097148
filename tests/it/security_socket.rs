//! The Unix socket's safety: private directory and socket, a stale socket from a crash is
//! replaced, a socket or directory owned by someone else is refused, and a second server never
//! steals a live one's path.

use crate::support::STEP;
use ibkr_cockpit::config::{Config, DEFAULT_CONFIG_TOML};
use ibkr_cockpit::mcp::{self, SocketState};
use ibkr_cockpit::store::Store;
use ibkr_cockpit::tools::ToolContext;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

fn ctx() -> ToolContext {
    let config: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("defaults parse");
    ToolContext {
        store: Store::in_memory(),
        gateways: None,
        config: Arc::new(config),
        remote: None,
    }
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// An MCP initialize over the socket gets an answer naming the server.
async fn answers_mcp(path: &std::path::Path) {
    let stream = timeout(STEP, UnixStream::connect(path))
        .await
        .expect("connect in time")
        .expect("connect");
    let (read, mut write) = stream.into_split();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}"#;
    write
        .write_all(format!("{init}\n").as_bytes())
        .await
        .expect("write");
    let mut line = String::new();
    timeout(STEP, BufReader::new(read).read_line(&mut line))
        .await
        .expect("answer in time")
        .expect("read");
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON-RPC");
    assert_eq!(v["result"]["serverInfo"]["name"], "ibkr-cockpit", "{line}");
}

#[tokio::test]
async fn directory_is_private_and_socket_user_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ibkr-cockpit");
    let path = dir.join("mcp.sock");
    let cancel = CancellationToken::new();
    let server = mcp::serve_socket(ctx(), &path, cancel.clone())
        .await
        .expect("serves");
    assert_eq!(mode(&dir), 0o700, "directory 0700");
    assert_eq!(mode(&path), 0o600, "socket 0600");
    answers_mcp(&path).await;

    // A second server refuses to take over a live socket.
    let err = mcp::serve_socket(ctx(), &path, CancellationToken::new())
        .await
        .err()
        .expect("second server refused")
        .to_string();
    assert!(err.contains("already serving"), "{err}");
    answers_mcp(&path).await;

    cancel.cancel();
    let _ = timeout(STEP, server.task).await;
    assert_eq!(mcp::socket::probe(&path).await, SocketState::Absent);
}

#[tokio::test]
async fn stale_socket_is_removed_and_recreated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("ibkr-cockpit").join("mcp.sock");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    // A crash leaves the file behind with nobody listening.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    assert!(path.exists());
    assert_eq!(mcp::socket::probe(&path).await, SocketState::Stale);

    let cancel = CancellationToken::new();
    let server = mcp::serve_socket(ctx(), &path, cancel.clone())
        .await
        .expect("stale socket replaced");
    assert_eq!(mcp::socket::probe(&path).await, SocketState::Answering);
    assert_eq!(mode(&path), 0o600);
    answers_mcp(&path).await;
    cancel.cancel();
    let _ = timeout(STEP, server.task).await;
}

#[tokio::test]
async fn foreign_owned_socket_or_directory_is_refused() {
    let me = mcp::socket::current_uid();
    let p = std::path::Path::new("/run/user/1000/ibkr-cockpit/mcp.sock");
    assert!(mcp::socket::check_owner(p, me, me).is_ok());
    let err = mcp::socket::check_owner(p, me + 1, me)
        .expect_err("foreign uid refused")
        .to_string();
    assert!(err.contains("another user"), "{err}");
    if me != 0 {
        // Only root can hand a file to another user; the ownership check above is the same code.
        return;
    }
    let foreign = me + 4242;
    let tmp = tempfile::tempdir().expect("tmp");

    // A socket someone else owns, with a live listener behind it.
    let dir = tmp.path().join("ibkr-cockpit");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("mcp.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    std::os::unix::fs::chown(&path, Some(foreign), None).expect("chown socket");
    assert_eq!(std::fs::metadata(&path).expect("meta").uid(), foreign);
    let err = mcp::serve_socket(ctx(), &path, CancellationToken::new())
        .await
        .err()
        .expect("foreign socket refused")
        .to_string();
    assert!(err.contains("another user"), "{err}");
    assert!(path.exists(), "a foreign socket is left alone");
    let err = mcp::socket::connect(&path)
        .await
        .expect_err("clients refuse it too")
        .to_string();
    assert!(err.contains("another user"), "{err}");

    // A directory someone else owns.
    let other_dir = tmp.path().join("theirs");
    std::fs::create_dir_all(&other_dir).expect("dir");
    std::os::unix::fs::chown(&other_dir, Some(foreign), None).expect("chown dir");
    let err = mcp::serve_socket(ctx(), &other_dir.join("mcp.sock"), CancellationToken::new())
        .await
        .err()
        .expect("foreign directory refused")
        .to_string();
    assert!(err.contains("another user"), "{err}");
}

/// The uid of `nobody`, which owns nothing of ours.
const NOBODY: u32 = 65_534;

/// What a client running as another user got from the socket.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The server read the request and answered.
    Answered,
    /// Connected, then closed without a byte of answer.
    ClosedUnanswered,
    /// The OS refused the connect itself (permission denied).
    PermissionDenied,
    /// Anything else (the child's exit code says what).
    Other(i32),
}

/// Connects to `path` as `uid` (and gid `uid`, no supplementary groups) from a forked child,
/// sends an MCP initialize and reports what came back. Needs root.
fn connect_as(uid: u32, path: &std::path::Path) -> Outcome {
    use std::io::{Read, Write};
    let request = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"intruder","version":"1"}}}
"#;
    // SAFETY: the child only drops its privileges, talks to the socket with blocking calls and
    // leaves with `_exit` (no destructors, no runtime); glibc keeps malloc usable after fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = (|| {
            // SAFETY: plain system calls on the child's own credentials.
            let dropped = unsafe {
                libc::setgroups(0, std::ptr::null()) == 0
                    && libc::setgid(uid) == 0
                    && libc::setuid(uid) == 0
            };
            if !dropped {
                return 10;
            }
            let mut stream = match std::os::unix::net::UnixStream::connect(path) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return 2,
                Err(_) => return 11,
            };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            if stream.write_all(request).is_err() {
                return 1;
            }
            let mut answer = [0u8; 64];
            match stream.read(&mut answer) {
                Ok(0) => 1,
                Ok(_) => 0,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 1,
                Err(_) => 12,
            }
        })();
        // SAFETY: ends the child at once, as a forked child of a threaded process must.
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid, "waitpid");
    assert!(libc::WIFEXITED(status), "child ended by a signal: {status}");
    match libc::WEXITSTATUS(status) {
        0 => Outcome::Answered,
        1 => Outcome::ClosedUnanswered,
        2 => Outcome::PermissionDenied,
        other => Outcome::Other(other),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_connection_is_refused_counted_and_journaled() {
    if mcp::socket::current_uid() != 0 {
        eprintln!(
            "skipped: connecting as another user needs root (we are uid {}); the peer check is \
             the same code whatever the uid",
            mcp::socket::current_uid()
        );
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    // Others may pass through the temporary directory (0711), so the socket's own directory
    // is what stands in their way.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let dir = tmp.path().join("ibkr-cockpit");
    let path = dir.join("mcp.sock");
    let ctx = ctx();
    let cancel = CancellationToken::new();
    let server = mcp::serve_socket(ctx.clone(), &path, cancel.clone())
        .await
        .expect("serves");
    let connect =
        |path: std::path::PathBuf| tokio::task::spawn_blocking(move || connect_as(NOBODY, &path));

    // As created (directory 0700, socket 0600) the OS stops another user before our check.
    let outcome = connect(path.clone()).await.expect("child ran");
    assert_eq!(outcome, Outcome::PermissionDenied);
    assert_eq!(ctx.store.refused_total(), 0, "nothing reached the server");

    // Opened up (a 0711 directory, a world-writable socket: an ACL or a careless chmod), the
    // connection reaches the server, whose peer-credential check closes it unanswered.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).expect("chmod dir");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod sock");
    let outcome = connect(path.clone()).await.expect("child ran");
    assert_eq!(outcome, Outcome::ClosedUnanswered);
    let refused = crate::support::eventually("the refusal to be counted", || {
        let store = ctx.store.clone();
        async move { (store.refused_total() == 1).then_some(()) }
    });
    refused.await;
    let journal = ctx.store.snapshot().journal.clone();
    let entry = journal
        .iter()
        .find(|r| r.client == "unix-socket")
        .expect("the refusal is journaled");
    let error = entry.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("another user's connection refused")
            && error.contains(&format!("peer uid {NOBODY}")),
        "{error}"
    );
    assert!(!entry.ok);

    // Our own user is still served.
    answers_mcp(&path).await;
    cancel.cancel();
    let _ = timeout(STEP, server.task).await;
}
