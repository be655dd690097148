//! Private by default, with the real binary: under umask 000 the daemon's data directory is
//! 0700, its database 0600, its socket directory 0700 and socket 0600; `--socket` naming a
//! file that is not a socket is refused and the file left alone; a bearer token shorter than
//! 16 characters is refused with the reason.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_ibkr-cockpit");

/// The binary run through `sh` with umask 000, in private directories under `root`.
fn under_umask_000(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env("XDG_DATA_HOME", root.join("data"))
        .env("XDG_RUNTIME_DIR", root.join("run"))
        .env("IBKR_HOST", "127.0.0.1")
        .env("IBKR_PORT", "9")
        .env("RUST_LOG", "warn")
        .env_remove("IBKR_DB_PATH")
        .env_remove("IBKR_COCKPIT_CONFIG")
        .env_remove("IBKR_COCKPIT_TOKEN")
        .env_remove("MCP_HTTP_TOKEN")
        .kill_on_drop(true);
    cmd
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_files_are_owner_only_under_umask_000() {
    let root = tempfile::tempdir().expect("temp dir");
    let socket = root
        .path()
        .join("run")
        .join("ibkr-cockpit")
        .join("mcp.sock");
    let mut daemon = under_umask_000(root.path(), &["serve", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut lines = BufReader::new(daemon.stderr.take().expect("stderr")).lines();
    timeout(STEP, async {
        while let Some(line) = lines.next_line().await.expect("stderr") {
            if line.contains("http://") {
                return;
            }
        }
        panic!("daemon exited before announcing itself");
    })
    .await
    .expect("announced in time");
    let data = root.path().join("data").join("ibkr-cockpit");
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("cockpit.db")), 0o600, "database");
    assert_eq!(
        mode(socket.parent().expect("dir")),
        0o700,
        "socket directory"
    );
    assert_eq!(mode(&socket), 0o600, "socket");
    let _ = daemon.start_kill();
    let _ = timeout(STEP, daemon.wait()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_path_that_is_a_regular_file_is_refused_and_kept() {
    let root = tempfile::tempdir().expect("temp dir");
    let file = root.path().join("notes.txt");
    std::fs::write(&file, "my notes").expect("write");
    let out = timeout(
        STEP,
        under_umask_000(
            root.path(),
            &[
                "serve",
                "--port",
                "0",
                "--socket",
                file.to_str().expect("utf-8"),
            ],
        )
        .stdin(Stdio::null())
        .output(),
    )
    .await
    .expect("exits in time")
    .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a socket"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("still there"),
        "my notes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_token_is_refused_with_the_reason() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = timeout(
        STEP,
        under_umask_000(root.path(), &["serve", "--port", "0"])
            .env("IBKR_COCKPIT_TOKEN", "x")
            .stdin(Stdio::null())
            .output(),
    )
    .await
    .expect("exits in time")
    .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("at least 16") && stderr.contains("1 characters"),
        "{stderr}"
    );
}
