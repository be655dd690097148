//! SQLite persistence: round trips for every method, corrupt-file recovery, idempotent migrations.

use ibkr_cockpit::model::{Bar, Fill, Instrument, ToolCallRecord};
use ibkr_cockpit::store::db::{Db, SCHEMA_VERSION};
use serde_json::json;

fn bar(time: i64, close: f64) -> Bar {
    Bar {
        time,
        open: close - 1.0,
        high: close + 2.0,
        low: close - 2.5,
        close,
        volume: 12_345.0,
        wap: close - 0.25,
        count: 321,
    }
}

fn fill(exec_id: &str, time: i64, commission: Option<f64>) -> Fill {
    Fill {
        exec_id: exec_id.to_string(),
        order_id: 42,
        account: "U1234567".into(),
        instrument: Instrument {
            con_id: 1001,
            symbol: "KRYX".into(),
            sec_type: "STK".into(),
            exchange: "SMART".into(),
            primary_exchange: "NASDAQ".into(),
            currency: "USD".into(),
            multiplier: 1.0,
            ..Instrument::default()
        },
        side: "BOT".into(),
        shares: 10.0,
        price: 31.25,
        time,
        exchange: "ISLAND".into(),
        commission,
        commission_currency: "USD".into(),
        realized_pnl: None,
    }
}

fn tool_call(id: u64, tool: &str) -> ToolCallRecord {
    ToolCallRecord {
        id,
        time: 1_700_000_000_000 + id as i64,
        client: "claude-code".into(),
        tool: tool.into(),
        arguments: json!({"symbols": ["KRYX", "VLTX"], "days": 60}),
        duration_ms: 3.5,
        ok: id.is_multiple_of(2),
        error: if id.is_multiple_of(2) {
            None
        } else {
            Some("unknown symbol ZZZ".into())
        },
        result_bytes: 1024,
        markdown: format!("# {tool}\n| a | b |"),
        headline: format!("{tool} headline"),
    }
}

#[test]
fn nlv_history_round_trip_filters_by_account_and_time() {
    let db = Db::in_memory().unwrap();
    db.record_nlv("U1", 3_000, 24_650.5, "CAD").unwrap();
    db.record_nlv("U1", 1_000, 24_600.0, "CAD").unwrap();
    db.record_nlv("U1", 2_000, 24_610.25, "CAD").unwrap();
    db.record_nlv("U2", 2_000, 99_000.0, "USD").unwrap();
    // Same instant again replaces the sample instead of duplicating it.
    db.record_nlv("U1", 2_000, 24_620.0, "CAD").unwrap();

    assert_eq!(
        db.nlv_history("U1", 0).unwrap(),
        vec![(1_000, 24_600.0), (2_000, 24_620.0), (3_000, 24_650.5)]
    );
    assert_eq!(
        db.nlv_history("U1", 2_000).unwrap(),
        vec![(2_000, 24_620.0), (3_000, 24_650.5)]
    );
    assert_eq!(db.nlv_history("U2", 0).unwrap(), vec![(2_000, 99_000.0)]);
    assert!(db.nlv_history("U3", 0).unwrap().is_empty());
    assert!(db.record_nlv("U1", 4_000, f64::NAN, "CAD").is_err());
}

#[test]
fn bar_cache_round_trip_is_lossless_and_replaces() {
    let db = Db::in_memory().unwrap();
    assert!(
        db.get_bars("KRYX|STK|SMART|USD|1 Y|1 day|TRADES|true")
            .unwrap()
            .is_none()
    );

    let mut bars: Vec<Bar> = (0..252)
        .map(|i| bar(1_600_000_000 + i * 86_400, 100.0 + i as f64 * 0.1))
        .collect();
    bars[3].wap = f64::NAN; // the gateway may not know a WAP; it must survive as NaN
    db.put_bars("KRYX|STK|SMART|USD|1 Y|1 day|TRADES|true", 5_000, &bars)
        .unwrap();
    let (fetched, got) = db
        .get_bars("KRYX|STK|SMART|USD|1 Y|1 day|TRADES|true")
        .unwrap()
        .unwrap();
    assert_eq!(fetched, 5_000);
    assert_eq!(got.len(), 252);
    assert!(got[3].wap.is_nan());
    for (i, (a, b)) in got.iter().zip(&bars).enumerate() {
        if i != 3 {
            assert_eq!(a, b);
        }
    }

    // A refetch replaces the entry; an empty answer is a valid cached answer.
    db.put_bars("KRYX|STK|SMART|USD|1 Y|1 day|TRADES|true", 9_000, &[])
        .unwrap();
    let (fetched, got) = db
        .get_bars("KRYX|STK|SMART|USD|1 Y|1 day|TRADES|true")
        .unwrap()
        .unwrap();
    assert_eq!((fetched, got.len()), (9_000, 0));
}

#[test]
fn fills_are_deduplicated_by_exec_id_and_completed_by_commission_reports() {
    let db = Db::in_memory().unwrap();
    let first = fill("0001.01", 2_000, None);
    let second = fill("0002.01", 1_000, Some(1.05));
    db.upsert_fills(&[first.clone(), second.clone()]).unwrap();
    // Same executions again: no duplicates.
    db.upsert_fills(&[first.clone(), second.clone()]).unwrap();
    assert_eq!(
        db.fills_since(0).unwrap(),
        vec![second.clone(), first.clone()]
    );

    // The commission report for the first fill arrives later: it completes the stored row.
    let mut with_commission = first.clone();
    with_commission.commission = Some(0.35);
    with_commission.realized_pnl = Some(12.5);
    db.upsert_fills(std::slice::from_ref(&with_commission))
        .unwrap();
    // But a stored commission is not overwritten by a later copy.
    let mut other = second.clone();
    other.commission = Some(99.0);
    db.upsert_fills(&[other]).unwrap();

    assert_eq!(
        db.fills_since(0).unwrap(),
        vec![second, with_commission.clone()]
    );
    assert_eq!(db.fills_since(1_500).unwrap(), vec![with_commission]);
    assert!(db.fills_since(10_000).unwrap().is_empty());
}

#[test]
fn tool_call_journal_returns_most_recent_oldest_first() {
    let db = Db::in_memory().unwrap();
    assert!(db.recent_tool_calls(10).unwrap().is_empty());
    let calls: Vec<ToolCallRecord> = (1..=5)
        .map(|i| tool_call(i, &format!("ibkr_tool_{i}")))
        .collect();
    for c in &calls {
        db.insert_tool_call(c).unwrap();
    }
    assert_eq!(db.recent_tool_calls(3).unwrap(), calls[2..].to_vec());
    assert_eq!(db.recent_tool_calls(100).unwrap(), calls);
    assert!(db.recent_tool_calls(0).unwrap().is_empty());
    // Ids restart with each process; the journal keeps duplicates in insertion order.
    db.insert_tool_call(&calls[0]).unwrap();
    let last = db.recent_tool_calls(1).unwrap();
    assert_eq!(last, vec![calls[0].clone()]);
}

#[test]
fn briefing_snapshots_return_the_latest_per_account() {
    let db = Db::in_memory().unwrap();
    assert!(db.last_briefing("U1").unwrap().is_none());
    db.save_briefing("U1", 1_000, &json!({"nlv": 24600.0}))
        .unwrap();
    db.save_briefing("U1", 2_000, &json!({"nlv": 24700.0, "positions": ["KRYX"]}))
        .unwrap();
    db.save_briefing("U2", 3_000, &json!({"nlv": 1.0})).unwrap();
    assert_eq!(
        db.last_briefing("U1").unwrap(),
        Some((2_000, json!({"nlv": 24700.0, "positions": ["KRYX"]})))
    );
    assert_eq!(
        db.last_briefing("U2").unwrap(),
        Some((3_000, json!({"nlv": 1.0})))
    );
}

#[test]
fn file_database_persists_across_opens_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/cockpit.db");
    {
        let (db, warning) = Db::open(&path).unwrap();
        assert!(warning.is_none());
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        db.record_nlv("U1", 1_000, 24_600.0, "CAD").unwrap();
        db.put_bars("k", 7, &[bar(1, 2.0)]).unwrap();
    }
    for _ in 0..2 {
        let (db, warning) = Db::open(&path).unwrap();
        assert!(warning.is_none(), "reopening must not warn: {warning:?}");
        assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(db.nlv_history("U1", 0).unwrap(), vec![(1_000, 24_600.0)]);
        assert_eq!(db.get_bars("k").unwrap(), Some((7, vec![bar(1, 2.0)])));
    }
    // Two handles on the same file at once (cockpit + `tool` one-shot) both work.
    let (a, _) = Db::open(&path).unwrap();
    let (b, _) = Db::open(&path).unwrap();
    a.record_nlv("U1", 2_000, 1.0, "CAD").unwrap();
    assert_eq!(b.nlv_history("U1", 2_000).unwrap(), vec![(2_000, 1.0)]);
}

/// A journal written by a build whose `tool_calls` had no `headline` column opens, gains the
/// column, and reads its old rows back with an empty headline.
#[test]
fn a_journal_from_before_headlines_opens_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cockpit.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE tool_calls (
                 seq          INTEGER PRIMARY KEY AUTOINCREMENT,
                 call_id      INTEGER NOT NULL,
                 time         INTEGER NOT NULL,
                 client       TEXT    NOT NULL,
                 tool         TEXT    NOT NULL,
                 arguments    TEXT    NOT NULL,
                 duration_ms  REAL    NOT NULL,
                 ok           INTEGER NOT NULL,
                 error        TEXT,
                 result_bytes INTEGER NOT NULL,
                 markdown     TEXT    NOT NULL
             );
             CREATE TABLE nlv_history (account TEXT NOT NULL, time INTEGER NOT NULL,
                 nlv REAL NOT NULL, currency TEXT NOT NULL, PRIMARY KEY (account, time)) WITHOUT ROWID;
             CREATE TABLE bar_cache (key TEXT PRIMARY KEY, fetched INTEGER NOT NULL, bars BLOB NOT NULL);
             CREATE TABLE fills (exec_id TEXT PRIMARY KEY, order_id INTEGER NOT NULL,
                 account TEXT NOT NULL, instrument TEXT NOT NULL, side TEXT NOT NULL, shares REAL,
                 price REAL, time INTEGER NOT NULL, exchange TEXT NOT NULL, commission REAL,
                 commission_currency TEXT NOT NULL, realized_pnl REAL);
             CREATE TABLE briefings (seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
                 time INTEGER NOT NULL, json TEXT NOT NULL);
             INSERT INTO tool_calls (call_id, time, client, tool, arguments, duration_ms, ok,
                                     error, result_bytes, markdown)
                 VALUES (7, 1000, 'cli', 'ibkr_quote', '{}', 2.5, 1, NULL, 10, '# Quote');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let (db, warning) = Db::open(&path).unwrap();
    assert!(warning.is_none(), "{warning:?}");
    assert_eq!(db.schema_version().unwrap(), SCHEMA_VERSION);
    let old = db.recent_tool_calls(10).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(
        (old[0].markdown.as_str(), old[0].headline.as_str()),
        ("# Quote", "")
    );
    db.insert_tool_call(&tool_call(8, "ibkr_margin")).unwrap();
    let both = db.recent_tool_calls(10).unwrap();
    assert_eq!(both[1].headline, "ibkr_margin headline");
}

#[test]
fn garbage_file_is_moved_aside_with_a_warning_and_a_fresh_db_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cockpit.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();

    let (db, warning) = Db::open(&path).unwrap();
    let warning = warning.expect("a warning for the user");
    assert!(warning.contains("moved to"), "{warning}");
    assert!(warning.contains(".corrupt-"), "{warning}");

    // The damaged bytes are kept, untouched, next to the fresh database.
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("cockpit.db.corrupt-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(std::fs::read(aside[0].path()).unwrap(), garbage);

    db.record_nlv("U1", 1, 2.0, "USD").unwrap();
    assert_eq!(db.nlv_history("U1", 0).unwrap(), vec![(1, 2.0)]);
    drop(db);
    let (_, warning) = Db::open(&path).unwrap();
    assert!(warning.is_none());
}

#[test]
fn truncated_database_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cockpit.db");
    {
        let (db, _) = Db::open(&path).unwrap();
        db.save_briefing("U1", 1, &json!({"x": 1})).unwrap();
    }
    // Keep a valid header but cut the file mid-page and scribble over the schema page.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(100).take(3000) {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("cockpit.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("cockpit.db-shm"));

    let (db, warning) = Db::open(&path).unwrap();
    assert!(warning.is_some());
    assert!(db.last_briefing("U1").unwrap().is_none());
    db.save_briefing("U1", 2, &json!({"x": 2})).unwrap();
    assert_eq!(db.last_briefing("U1").unwrap(), Some((2, json!({"x": 2}))));
}

#[test]
fn clones_share_one_database() {
    let db = Db::in_memory().unwrap();
    let other = db.clone();
    other.record_nlv("U1", 5, 6.0, "USD").unwrap();
    assert_eq!(db.nlv_history("U1", 0).unwrap(), vec![(5, 6.0)]);
}
