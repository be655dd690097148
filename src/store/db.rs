//! SQLite persistence (rusqlite, bundled, WAL): NLV history, historical-bar cache, fills journal,
//! tool-call journal, briefing snapshots. Versioned migrations. A corrupt or unreadable database
//! is moved aside with a warning and a fresh one created.
//!
//! OWNER: store/db helper. The signatures below are the contract other modules code against.

use crate::model::{Bar, Fill, Millis, ToolCallRecord};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database I/O error at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("could not encode/decode stored data: {0}")]
    Codec(String),
}

/// Handle to the SQLite database. Cheap to clone; internally serialized.
#[derive(Clone)]
pub struct Db {
    _private: (),
}

impl Db {
    /// Opens (creating if needed) the database at `path`, runs migrations. If the file is corrupt
    /// or not a database it is renamed to `<path>.corrupt-<unix-ts>` and a fresh one is created;
    /// the returned `Option<String>` is the warning to show the user in that case.
    pub fn open(path: &Path) -> Result<(Db, Option<String>), DbError> {
        let _ = path;
        todo!("store/db helper")
    }
    /// An in-memory database (tests, benches).
    pub fn in_memory() -> Result<Db, DbError> {
        todo!("store/db helper")
    }
    pub fn record_nlv(&self, account: &str, time: Millis, nlv: f64, currency: &str) -> Result<(), DbError> {
        let _ = (account, time, nlv, currency);
        todo!()
    }
    /// (time, nlv) pairs at or after `since`, oldest first.
    pub fn nlv_history(&self, account: &str, since: Millis) -> Result<Vec<(Millis, f64)>, DbError> {
        let _ = (account, since);
        todo!()
    }
    /// Stores bars under a cache key (symbol/sec_type/bar size/duration/what/rth).
    pub fn put_bars(&self, key: &str, fetched: Millis, bars: &[Bar]) -> Result<(), DbError> {
        let _ = (key, fetched, bars);
        todo!()
    }
    /// Cached bars and when they were fetched.
    pub fn get_bars(&self, key: &str) -> Result<Option<(Millis, Vec<Bar>)>, DbError> {
        let _ = key;
        todo!()
    }
    /// Inserts fills, ignoring ones already stored (by exec_id).
    pub fn upsert_fills(&self, fills: &[Fill]) -> Result<(), DbError> {
        let _ = fills;
        todo!()
    }
    pub fn fills_since(&self, since: Millis) -> Result<Vec<Fill>, DbError> {
        let _ = since;
        todo!()
    }
    pub fn insert_tool_call(&self, record: &ToolCallRecord) -> Result<(), DbError> {
        let _ = record;
        todo!()
    }
    /// Most recent `limit` tool calls, oldest first.
    pub fn recent_tool_calls(&self, limit: usize) -> Result<Vec<ToolCallRecord>, DbError> {
        let _ = limit;
        todo!()
    }
    /// Saves a briefing snapshot (JSON) for `since_last` deltas.
    pub fn save_briefing(&self, account: &str, time: Millis, json: &serde_json::Value) -> Result<(), DbError> {
        let _ = (account, time, json);
        todo!()
    }
    /// The most recent briefing snapshot for the account.
    pub fn last_briefing(&self, account: &str) -> Result<Option<(Millis, serde_json::Value)>, DbError> {
        let _ = account;
        todo!()
    }
}
