//! The journal is bounded and off the hot path: a kill -9 of the real binary in the middle of a
//! burst of calls loses at most the last 100 ms of them; retention by age and size holds while
//! calls pour in; a flood of 20,000 unauthenticated requests (each with a 4,000-character
//! User-Agent) is counted in full but grows the database by under 1 MB.

use ibkr_cockpit::config::Config;
use ibkr_cockpit::model::ToolCallRecord;
use ibkr_cockpit::sim::{SimConfig, SimGateway};
use ibkr_cockpit::store::db::{Db, Retention};
use ibkr_cockpit::store::{Clock, Store};
use ibkr_cockpit::tools::ToolContext;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const STEP: Duration = Duration::from_secs(60);
const BIN: &str = env!("CARGO_BIN_EXE_ibkr-cockpit");

fn default_config() -> Config {
    toml::from_str(ibkr_cockpit::config::DEFAULT_CONFIG_TOML).expect("embedded defaults parse")
}

/// Size of the database and its write-ahead log together.
fn db_bytes(path: &Path) -> u64 {
    let wal = format!("{}-wal", path.display());
    [path.to_path_buf(), wal.into()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn call(id: u64, time: i64, markdown_bytes: usize) -> ToolCallRecord {
    ToolCallRecord {
        id,
        time,
        client: "test".into(),
        tool: "ibkr_quote".into(),
        arguments: json!({"symbols": ["KRYX"]}),
        duration_ms: 1.0,
        ok: true,
        error: None,
        result_bytes: markdown_bytes,
        markdown: "x".repeat(markdown_bytes),
        headline: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_loses_at_most_the_last_100_ms() {
    let sim = timeout(
        STEP,
        SimGateway::start(SimConfig {
            tick_interval: None,
            ..SimConfig::default()
        }),
    )
    .await
    .expect("sim in time")
    .expect("sim starts");
    let root = tempfile::tempdir().expect("temp dir");
    let db_path = root
        .path()
        .join("data")
        .join("ibkr-cockpit")
        .join("cockpit.db");
    let mut child = Command::new(BIN)
        .args(["mcp", "--standalone"])
        .env("XDG_CONFIG_HOME", root.path().join("config"))
        .env("XDG_DATA_HOME", root.path().join("data"))
        .env("XDG_RUNTIME_DIR", root.path().join("run"))
        .env("IBKR_HOST", "127.0.0.1")
        .env("IBKR_PORT", sim.port().to_string())
        .env("IBKR_CLIENT_ID", "41")
        .env_remove("IBKR_DB_PATH")
        .env_remove("IBKR_COCKPIT_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("binary starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut request = async |id: u64, method: &str, params: Value| -> Value {
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
        loop {
            let line = timeout(STEP, stdout.next_line())
                .await
                .expect("answer in time")
                .expect("readable")
                .expect("open");
            let v: Value = serde_json::from_str(&line).expect("JSON-RPC");
            if v["id"] == json!(id) {
                return v;
            }
        }
    };
    request(
        0,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
               "clientInfo": {"name": "durability", "version": "1"}}),
    )
    .await;
    // One call at a time for 1.5 s: call n is journaled with id n, and we know when each
    // answer arrived.
    let mut answered: Vec<(u64, Instant)> = Vec::new();
    let started = Instant::now();
    let mut id = 1;
    while started.elapsed() < Duration::from_millis(1500) {
        let v = request(
            id,
            "tools/call",
            json!({"name": "ibkr_connection_status", "arguments": {}}),
        )
        .await;
        assert!(v["result"].is_object(), "{v}");
        answered.push((id, Instant::now()));
        id += 1;
    }
    child.start_kill().expect("SIGKILL");
    let killed = Instant::now();
    let _ = timeout(STEP, child.wait()).await.expect("dies");
    assert!(answered.len() > 20, "a burst of calls: {}", answered.len());

    let (db, warning) = Db::open(&db_path).expect("database opens after the kill");
    assert!(warning.is_none(), "intact after kill -9: {warning:?}");
    let stored: BTreeSet<u64> = db
        .recent_tool_calls(1_000_000)
        .expect("journal readable")
        .iter()
        .map(|r| r.id)
        .collect();
    let lost: Vec<Duration> = answered
        .iter()
        .filter(|(id, _)| !stored.contains(id))
        .map(|(_, at)| killed.duration_since(*at))
        .collect();
    let oldest_lost = lost.iter().max().copied().unwrap_or_default();
    eprintln!(
        "kill -9 after {} answered calls: {} stored, {} lost, oldest lost answered {:?} before the kill",
        answered.len(),
        stored.len(),
        lost.len(),
        oldest_lost
    );
    assert!(
        oldest_lost <= Duration::from_millis(100),
        "lost {} calls answered up to {oldest_lost:?} before the kill",
        lost.len()
    );
    sim.shutdown().await;
}

#[test]
fn retention_by_age_and_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cockpit.db");
    let (db, _) = Db::open(&path).expect("opens");
    let now: i64 = 1_800_000_000_000;
    let day = 86_400_000;
    let old: Vec<_> = (0..50).map(|i| call(i, now - 40 * day, 100)).collect();
    let recent: Vec<_> = (50..100).map(|i| call(i, now - day, 100)).collect();
    db.insert_tool_calls(&old).expect("insert");
    db.insert_tool_calls(&recent).expect("insert");
    let pruned = db
        .prune_journal(
            now,
            Retention {
                keep_days: 30,
                max_bytes: 200 * 1024 * 1024,
            },
        )
        .expect("prune");
    assert_eq!(pruned.too_old, 50);
    assert_eq!(pruned.over_size, 0);
    let kept = db.recent_tool_calls(1000).expect("read");
    assert_eq!(kept.len(), 50);
    assert!(kept.iter().all(|r| r.time == now - day));

    // 4 MB of calls against a 1 MB cap: the oldest go, the newest stay.
    let big: Vec<_> = (100..500).map(|i| call(i, now, 10_000)).collect();
    db.insert_tool_calls(&big).expect("insert");
    let cap = 1024 * 1024;
    db.prune_journal(
        now,
        Retention {
            keep_days: 30,
            max_bytes: cap,
        },
    )
    .expect("prune");
    assert!(db.used_bytes().expect("size") <= cap);
    let kept = db.recent_tool_calls(1000).expect("read");
    assert_eq!(
        kept.last().map(|r| r.id),
        Some(499),
        "the newest call stays"
    );
    assert!(kept.len() < 100, "kept {}", kept.len());
}

#[test]
fn the_writer_keeps_the_file_near_the_cap_while_calls_pour_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cockpit.db");
    let (db, _) = Db::open(&path).expect("opens");
    let cap: u64 = 2 * 1024 * 1024;
    db.set_retention(Retention {
        keep_days: 30,
        max_bytes: cap,
    });
    let store = Store::new(Clock::System, Some(db.clone()));
    // 40 MB of answers, twenty times the cap.
    for i in 0..4000 {
        store.record_tool_call(call(i, store.now(), 10_000));
        if i % 200 == 0 {
            // Paced, as real calls are, so the writer keeps up instead of dropping.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(store.flush_journal(STEP));
    assert_eq!(store.journal_dropped(), 0);
    let size = std::fs::metadata(&path).expect("db file").len();
    assert!(
        size <= cap * 2,
        "database file {size} bytes against a {cap}-byte cap"
    );
    let newest = db.recent_tool_calls(1).expect("read");
    assert_eq!(newest.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_unauthenticated_requests_grow_the_database_by_under_1_mb() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cockpit.db");
    let (db, _) = Db::open(&path).expect("opens");
    let store = Store::new(Clock::System, Some(db));
    let mut config = default_config();
    config.mcp.token = Some("correct-horse-battery-staple".into());
    let ctx = ToolContext {
        store: store.clone(),
        gateways: None,
        config: Arc::new(config),
        remote: None,
    };
    let cancel = CancellationToken::new();
    let (addr, _task) =
        ibkr_cockpit::mcp::serve_http(ctx, "127.0.0.1:0".parse().expect("addr"), cancel.clone())
            .await
            .expect("serves");
    assert!(store.flush_journal(STEP));
    let before = db_bytes(&path);

    const REQUESTS: usize = 20_000;
    const CLIENTS: usize = 16;
    let agent = format!("flood/{}", "A".repeat(4000));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let http = reqwest::Client::builder()
            .user_agent(agent.clone())
            .build()
            .expect("client");
        let url = format!("http://{addr}/api/summary?{}", "q".repeat(2000));
        tasks.push(tokio::spawn(async move {
            let mut unauthorized = 0;
            for _ in 0..REQUESTS / CLIENTS {
                let status = http.get(&url).send().await.expect("answered").status();
                if status == reqwest::StatusCode::UNAUTHORIZED {
                    unauthorized += 1;
                }
            }
            unauthorized
        }));
    }
    let mut unauthorized = 0;
    for t in tasks {
        unauthorized += timeout(Duration::from_secs(300), t)
            .await
            .expect("flood finishes in time")
            .expect("task");
    }
    let elapsed = started.elapsed();
    assert_eq!(unauthorized, REQUESTS);
    assert_eq!(
        store.refused_total(),
        REQUESTS as u64,
        "every refusal counted"
    );
    assert!(store.flush_journal(STEP));
    let grown = db_bytes(&path).saturating_sub(before);
    eprintln!("{REQUESTS} unauthenticated requests in {elapsed:?}: database grew {grown} bytes");
    assert!(grown < 1024 * 1024, "grew {grown} bytes");
    // The first refusal is in the journal, with the attacker's strings cut short.
    let journal = store.snapshot().journal;
    let first = journal
        .iter()
        .find(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.starts_with("refused:"))
        })
        .expect("the burst's first refusal is journaled");
    assert!(first.client.chars().count() <= 33, "{}", first.client);
    assert!(first.tool.chars().count() <= 97, "{}", first.tool);
    let refused_rows = journal
        .iter()
        .filter(|r| {
            r.error
                .as_deref()
                .is_some_and(|e| e.starts_with("refused:"))
        })
        .count();
    assert!(
        refused_rows <= 3,
        "sampled, not one row each: {refused_rows}"
    );
    cancel.cancel();
}
