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
