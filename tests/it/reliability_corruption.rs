//! Partial corruption is caught: garbage over pages 3+ with the header intact is found by
//! `quick_check` at start-up; the damaged file is moved aside (kept), a fresh one created and
//! what can still be read copied back; the event shows in `ibkr_connection_status` (and so in
//! the cockpit's event log) and `doctor` says so. Damage found at run time is repaired the same
//! way. Files are owner-only whatever the umask.

use ibkr_cockpit::config::Config;
use ibkr_cockpit::model::ToolCallRecord;
use ibkr_cockpit::store::db::{Db, DbError};
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::{self, ToolContext};
use serde_json::json;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_ibkr-cockpit");
const PAGE: u64 = 4096;

fn call(id: u64) -> ToolCallRecord {
    ToolCallRecord {
        id,
        time: 1_800_000_000_000 + id as i64,
        client: "test".into(),
        tool: "ibkr_quote".into(),
        arguments: json!({"symbols": ["KRYX"]}),
        duration_ms: 1.0,
        ok: true,
        error: None,
        result_bytes: 500,
        markdown: "m".repeat(500),
        headline: String::new(),
    }
}

/// A database with NLV history and a journal spanning many pages, closed cleanly (so every
/// page is in the main file, none in the WAL).
fn filled_database(path: &Path) {
    let (db, warning) = Db::open(path).expect("opens");
    assert!(warning.is_none());
    for i in 0..200 {
        db.record_nlv("DU1", 1_800_000_000_000 + i * 60_000, 1e6 + i as f64, "CAD")
            .expect("nlv");
    }
    let calls: Vec<_> = (1..=300).map(call).collect();
    db.insert_tool_calls(&calls).expect("journal");
    drop(db);
    assert!(
        !Path::new(&format!("{}-wal", path.display())).exists(),
        "checkpointed on close"
    );
}

/// Pseudo-random bytes over every page from the third on; the 100-byte header and the
/// schema page stay intact.
fn garbage_over_pages_3_on(path: &Path) {
    let len = std::fs::metadata(path).expect("file").len();
    assert!(len > 4 * PAGE, "the file spans several pages: {len}");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for writing");
    file.seek(SeekFrom::Start(2 * PAGE)).expect("seek");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..len - 2 * PAGE)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    file.write_all(&garbage).expect("garbage written");
}

fn moved_aside(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let mut found: Vec<PathBuf> = std::fs::read_dir(path.parent().expect("dir"))
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{name}.corrupt-"))
                    && !n.ends_with("-wal")
                    && !n.ends_with("-shm")
            })
        })
        .collect();
    found.sort();
    found
}

fn offline_ctx(store: Store) -> ToolContext {
    let config: Config =
        toml::from_str(ibkr_cockpit::config::DEFAULT_CONFIG_TOML).expect("defaults");
    ToolContext {
        store,
        gateways: None,
        config: Arc::new(config),
        remote: None,
    }
}

#[tokio::test]
async fn garbage_over_pages_3_on_is_found_at_start_up_moved_aside_and_shown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cockpit.db");
    filled_database(&path);
    garbage_over_pages_3_on(&path);
    let damaged_len = std::fs::metadata(&path).expect("file").len();

    // doctor (the real binary) reports the damage without touching the file.
    let doctor = std::process::Command::new(BIN)
        .arg("doctor")
        .env("IBKR_DB_PATH", &path)
        .env("IBKR_HOST", "127.0.0.1")
        .env("IBKR_PORT", "9")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env_remove("IBKR_COCKPIT_CONFIG")
        .output()
        .expect("doctor runs");
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(report.contains("DAMAGED"), "{report}");
    assert!(moved_aside(&path).is_empty(), "doctor only looks");

    let (db, warning) = Db::open(&path).expect("opens despite the damage");
    let warning = warning.expect("the damage is reported");
    assert!(warning.contains("moved to"), "{warning}");
    let aside = moved_aside(&path);
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::metadata(&aside[0]).expect("kept").len(),
        damaged_len,
        "the damaged file is kept as it was"
    );
    assert_eq!(
        db.schema_version().expect("fresh"),
        ibkr_cockpit::store::db::SCHEMA_VERSION
    );
    assert!(
        matches!(Db::inspect(&path).verdict, Some(Ok(()))),
        "fresh file intact"
    );
    // The pages that survived were copied back (page 2 is the first table's root).
    let kept = db.nlv_history("DU1", 0).expect("readable").len()
        + db.recent_tool_calls(1000).expect("readable").len();
    eprintln!("re-seeded {kept} rows: {warning}");

    // The event reaches what the user sees: ibkr_connection_status (and the cockpit's log).
    let store = Store::new(Clock::System, Some(db));
    let ctx = offline_ctx(store);
    let status = tools::call(&ctx, "ibkr_connection_status", json!({}))
        .await
        .expect("status answers");
    assert!(
        status.markdown.contains("is damaged") && status.markdown.contains("corrupt-"),
        "{}",
        status.markdown
    );

    // doctor now lists the kept copy.
    let doctor = std::process::Command::new(BIN)
        .arg("doctor")
        .env("IBKR_DB_PATH", &path)
        .env("IBKR_HOST", "127.0.0.1")
        .env("IBKR_PORT", "9")
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_RUNTIME_DIR", dir.path().join("run"))
        .env_remove("IBKR_COCKPIT_CONFIG")
        .output()
        .expect("doctor runs");
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(report.contains("moved aside earlier"), "{report}");
    assert!(report.contains("intact"), "{report}");
}

#[tokio::test]
async fn damage_found_at_run_time_is_repaired_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cockpit.db");
    filled_database(&path);
    let (db, warning) = Db::open(&path).expect("opens");
    assert!(warning.is_none());
    let store = Store::new(Clock::System, Some(db.clone()));
    garbage_over_pages_3_on(&path);

    let message = db
        .check_after_error(&DbError::Damaged("database disk image is malformed".into()))
        .expect("the check finds the damage and replaces the file");
    assert!(message.contains("moved to"), "{message}");
    assert_eq!(moved_aside(&path).len(), 1);
    // Every clone of the handle now writes to the fresh file.
    db.insert_tool_call(&call(1))
        .expect("writes go to the fresh file");
    assert!(matches!(Db::inspect(&path).verdict, Some(Ok(()))));
    let events = store.snapshot().events;
    assert!(
        events.iter().any(|e| e.message.contains("is damaged")),
        "{events:?}"
    );
    // A second error right after is not checked again until the next damage.
    assert!(
        db.check_after_error(&DbError::Damaged("again".into()))
            .is_none()
    );
}

#[test]
fn database_and_directory_are_owner_only_under_umask_000() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("share").join("ibkr-cockpit");
    let path = data.join("cockpit.db");
    // SAFETY: umask only changes this process's file-creation mask; restored below.
    let old = unsafe { libc::umask(0) };
    let opened = Db::open(&path);
    // SAFETY: restores the mask saved above.
    unsafe { libc::umask(old) };
    let (db, _) = opened.expect("opens");
    db.insert_tool_call(&call(1)).expect("write");
    let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&path), 0o600, "database");
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "write-ahead log");
    }
}
