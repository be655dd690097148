//! Logging setup. Never stdout: in `mcp` mode stdout carries the protocol, in the cockpit it is
//! the screen. Logs go to stderr (headless commands) or to a file (the cockpit).

use std::path::{Path, PathBuf};
use tracing_subscriber::EnvFilter;

/// Logs to stderr at `warn` unless `RUST_LOG` says otherwise.
pub fn to_stderr() {
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Logs to `dir/ibkr-cockpit.log` (appending) and returns the path, so a crash message can
/// point at it. Falls back to no logging when the file cannot be opened.
pub fn to_file(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("ibkr-cockpit.log");
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Some(path)
}
