//! SQLite persistence (rusqlite, bundled, WAL): NLV history, historical-bar cache, fills journal,
//! tool-call journal, briefing snapshots. Versioned migrations. A corrupt or unreadable database
//! is moved aside with a warning and a fresh one created.
//!
//! Schema versioning uses `PRAGMA user_version`: `MIGRATIONS[i]` takes the schema from version
//! `i` to `i + 1`, each applied in its own transaction, so opening a database twice (or by an
//! older and a newer build that share a prefix of the list) is harmless.

use crate::model::{Bar, Fill, Instrument, Millis, ToolCallRecord};
use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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
    /// `quick_check` found the file damaged; the text is its first complaint.
    #[error("database file is damaged: {0}")]
    Damaged(String),
    /// The file was written by a newer build; we refuse to touch it rather than lose its data.
    #[error(
        "database {path} has schema version {found}, newer than this build supports ({supported}); \
         upgrade ibkr-cockpit or point IBKR_DB_PATH elsewhere"
    )]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
    },
}

/// Ordered schema migrations; never edit a shipped entry, only append.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    "CREATE TABLE nlv_history (
         account  TEXT    NOT NULL,
         time     INTEGER NOT NULL,
         nlv      REAL    NOT NULL,
         currency TEXT    NOT NULL,
         PRIMARY KEY (account, time)
     ) WITHOUT ROWID;
     CREATE TABLE bar_cache (
         key     TEXT    PRIMARY KEY,
         fetched INTEGER NOT NULL,
         bars    BLOB    NOT NULL
     );
     CREATE TABLE fills (
         exec_id             TEXT    PRIMARY KEY,
         order_id            INTEGER NOT NULL,
         account             TEXT    NOT NULL,
         instrument          TEXT    NOT NULL,
         side                TEXT    NOT NULL,
         shares              REAL,
         price               REAL,
         time                INTEGER NOT NULL,
         exchange            TEXT    NOT NULL,
         commission          REAL,
         commission_currency TEXT    NOT NULL,
         realized_pnl        REAL
     );
     CREATE INDEX fills_by_time ON fills (time);
     CREATE TABLE tool_calls (
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
     CREATE TABLE briefings (
         seq     INTEGER PRIMARY KEY AUTOINCREMENT,
         account TEXT    NOT NULL,
         time    INTEGER NOT NULL,
         json    TEXT    NOT NULL
     );
     CREATE INDEX briefings_by_account ON briefings (account, time);",
    // 2: each journaled call keeps its one-line headline (rows written before have none).
    "ALTER TABLE tool_calls ADD COLUMN headline TEXT NOT NULL DEFAULT '';",
    // 3: margin figures sampled beside NLV.
    super::margin_history::SCHEMA,
    // 4: alert firings.
    super::alerts::SCHEMA,
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a statement waits for another process (e.g. a daemon sharing the file) to release
/// a lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the tool-call journal is kept: rows older than `keep_days` go, and the oldest go
/// first while the database holds more than `max_bytes` (`[journal]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub keep_days: u32,
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_days: 30,
            max_bytes: 200 * 1024 * 1024,
        }
    }
}

/// What [`Db::inspect`] found.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub exists: bool,
    /// `Ok` when quick_check passed, else the problem; `None` when there is no file.
    pub verdict: Option<Result<(), String>>,
    /// Tool calls in the journal, when readable.
    pub calls: Option<i64>,
    pub bytes: u64,
    /// `<file>.corrupt-*` beside it: damaged files moved aside and kept.
    pub damaged_copies: Vec<PathBuf>,
}

/// What [`Db::prune_journal`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub too_old: usize,
    pub over_size: usize,
}

/// Handle to the SQLite database. Cheap to clone; internally serialized.
#[derive(Clone)]
pub struct Db {
    /// Replaced in place when the file is found damaged, so every clone follows the new file.
    conn: Arc<Mutex<Connection>>,
    /// `None` for in-memory databases.
    path: Option<PathBuf>,
    health: Arc<Health>,
}

/// Told the message when damage is repaired at run time.
type DamageListener = Box<dyn Fn(&str) + Send + Sync>;

/// Per table, how many rows were copied back from a damaged file.
type Salvaged = Vec<(String, usize)>;

/// Damage found since the database was opened, and who wants to hear about it.
#[derive(Default)]
struct Health {
    /// Set once a "malformed" error has triggered a check, so one bad page costs one check,
    /// not one per statement; cleared when a fresh file replaces the damaged one.
    checked_after_error: std::sync::atomic::AtomicBool,
    events: Mutex<Vec<String>>,
    listener: Mutex<Option<DamageListener>>,
    retention: Mutex<Retention>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "Db({})", p.display()),
            None => write!(f, "Db(:memory:)"),
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path`, runs migrations. If the file is corrupt
    /// or not a database it is renamed to `<path>.corrupt-<unix-ts>` and a fresh one is created;
    /// the returned `Option<String>` is the warning to show the user in that case.
    pub fn open(path: &Path) -> Result<(Db, Option<String>), DbError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            private_dir(parent)?;
        }
        let existed = path.exists();
        if !existed {
            create_private(path)?;
        }
        let opened = open_and_migrate(path).and_then(|conn| {
            // Header and schema can be fine while later pages are garbage; quick_check reads
            // every page (linear in the file's size, well under a second at the size cap).
            match quick_check(&conn)? {
                None => Ok(conn),
                Some(problem) => Err(DbError::Damaged(problem)),
            }
        });
        match opened {
            Ok(conn) => {
                private_file(path)?;
                Ok((Db::wrap(conn, Some(path)), None))
            }
            Err(e) if existed && is_damage(&e) => {
                let (conn, aside, salvaged) = replace_damaged(path)?;
                private_file(path)?;
                let warning = damage_message(path, &e.to_string(), &aside, &salvaged);
                tracing::warn!("{warning}");
                let db = Db::wrap(conn, Some(path));
                db.health.events.lock().push(warning.clone());
                Ok((db, Some(warning)))
            }
            Err(e) => Err(e),
        }
    }

    /// Called with any error a statement returned: the first "malformed" (corrupt) error runs
    /// `quick_check`, and a damaged file is moved aside, a fresh one created in its place and
    /// what can still be read copied over. Returns the message when that happened.
    pub fn check_after_error(&self, error: &DbError) -> Option<String> {
        use std::sync::atomic::Ordering;
        if !is_corruption(error) {
            return None;
        }
        let path = self.path.as_deref()?;
        if self.health.checked_after_error.swap(true, Ordering::AcqRel) {
            return None;
        }
        let mut conn = self.conn.lock();
        // Cached pages are trusted by SQLite; drop them so the check reads what is on disk.
        let _ = conn.execute_batch("PRAGMA shrink_memory");
        if let Ok(None) = quick_check(&conn) {
            tracing::warn!(
                "database error ({error}) but quick_check finds {} intact",
                path.display()
            );
            return None;
        }
        // Close the damaged file before renaming it (an in-memory stand-in holds the lock).
        match Connection::open_in_memory() {
            Ok(stand_in) => drop(std::mem::replace(&mut *conn, stand_in)),
            Err(e) => {
                tracing::warn!("cannot replace the damaged database: {e}");
                return None;
            }
        }
        match replace_damaged(path) {
            Ok((fresh, aside, salvaged)) => {
                *conn = fresh;
                drop(conn);
                if let Err(e) = private_file(path) {
                    tracing::warn!("{e}");
                }
                let message = damage_message(path, &error.to_string(), &aside, &salvaged);
                tracing::warn!("{message}");
                self.health.events.lock().push(message.clone());
                self.health
                    .checked_after_error
                    .store(false, Ordering::Release);
                if let Some(listener) = self.health.listener.lock().as_ref() {
                    listener(&message);
                }
                Some(message)
            }
            Err(e) => {
                tracing::warn!("the database is damaged and could not be replaced: {e}");
                None
            }
        }
    }

    /// `doctor`'s look at a database file without changing it (no migration, no move, so a
    /// running daemon's file is never taken from under it): whether it is intact, and the damaged
    /// copies kept beside it from earlier repairs.
    pub fn inspect(path: &Path) -> Inspection {
        use rusqlite::OpenFlags;
        let mut out = Inspection {
            exists: path.exists(),
            verdict: None,
            calls: None,
            bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            damaged_copies: damaged_copies(path),
        };
        if !out.exists {
            return out;
        }
        // Read-write without create: a read-only connection cannot open a WAL file whose
        // shared-memory file is absent; nothing here writes.
        let checked = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(DbError::from)
            .and_then(|conn| {
                conn.busy_timeout(BUSY_TIMEOUT)?;
                let verdict = quick_check(&conn)?;
                let calls = conn
                    .query_row("SELECT count(*) FROM tool_calls", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .ok();
                Ok((verdict, calls))
            });
        match checked {
            Ok((verdict, calls)) => {
                out.verdict = Some(verdict.map_or(Ok(()), Err));
                out.calls = calls;
            }
            Err(e) => out.verdict = Some(Err(e.to_string())),
        }
        out
    }

    /// Damage found and repaired since this database was opened, oldest first.
    pub fn damage_events(&self) -> Vec<String> {
        self.health.events.lock().clone()
    }

    /// Called with the message whenever damage is found at run time (the store turns it into
    /// an event the cockpit and `ibkr_connection_status` show).
    pub fn on_damage(&self, listener: impl Fn(&str) + Send + Sync + 'static) {
        *self.health.listener.lock() = Some(Box::new(listener));
    }

    /// The journal's retention (defaults: 30 days, 200 MB).
    pub fn retention(&self) -> Retention {
        *self.health.retention.lock()
    }

    pub fn set_retention(&self, retention: Retention) {
        *self.health.retention.lock() = retention;
    }

    /// Bytes of the file in use (pages minus free pages): what retention bounds.
    pub fn used_bytes(&self) -> Result<u64, DbError> {
        let conn = self.conn.lock();
        used_bytes(&conn)
    }

    /// Deletes journal rows older than `keep_days` before `now`, then the oldest rows while the
    /// database uses more than `max_bytes` (down to 90% of it, so the next pass has slack).
    /// Freed pages are reused by later inserts, so the file stops growing at about the cap.
    pub fn prune_journal(&self, now: Millis, retention: Retention) -> Result<Pruned, DbError> {
        let cutoff = now.saturating_sub(i64::from(retention.keep_days) * 86_400_000);
        let conn = self.conn.lock();
        let too_old = conn.execute("DELETE FROM tool_calls WHERE time < ?1", params![cutoff])?;
        let mut over_size = 0;
        let target = retention.max_bytes / 10 * 9;
        if used_bytes(&conn)? > retention.max_bytes {
            loop {
                let used = used_bytes(&conn)?;
                if used <= target {
                    break;
                }
                let rows: i64 =
                    conn.query_row("SELECT count(*) FROM tool_calls", [], |r| r.get(0))?;
                if rows == 0 {
                    break;
                }
                // Delete the share of rows that is over the target (at least a few, so the
                // loop ends even when row sizes vary).
                let share = (used - target) as f64 / used as f64;
                let chunk = ((rows as f64 * share).ceil() as i64).max(16.min(rows));
                over_size += conn.execute(
                    "DELETE FROM tool_calls WHERE seq IN
                         (SELECT seq FROM tool_calls ORDER BY seq LIMIT ?1)",
                    params![chunk],
                )?;
            }
        }
        Ok(Pruned { too_old, over_size })
    }

    /// An in-memory database (tests, benches).
    pub fn in_memory() -> Result<Db, DbError> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn, ":memory:")?;
        Ok(Db::wrap(conn, None))
    }

    fn wrap(conn: Connection, path: Option<&Path>) -> Db {
        Db {
            conn: Arc::new(Mutex::new(conn)),
            path: path.map(Path::to_path_buf),
            health: Arc::new(Health::default()),
        }
    }

    /// Runs `f` on the connection (held for the call): for the tables whose code lives in
    /// their own module (`margin_history`, `alerts`).
    pub(crate) fn with_conn<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let conn = self.conn.lock();
        f(&conn)
    }

    /// Proves the database takes writes without keeping any: creates a table and a row inside
    /// a savepoint, then rolls it back.
    pub fn probe_write(&self) -> Result<(), DbError> {
        let conn = self.conn.lock();
        conn.execute_batch("SAVEPOINT probe_write")?;
        let wrote = conn
            .execute_batch(
                "CREATE TABLE probe_write (x INTEGER); INSERT INTO probe_write (x) VALUES (1);",
            )
            .map_err(DbError::from);
        // Roll back whatever happened, then report the write's outcome.
        let undone = conn.execute_batch("ROLLBACK TO probe_write; RELEASE probe_write");
        wrote?;
        undone?;
        Ok(())
    }

    /// The file backing this database; `None` when in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database (equals [`SCHEMA_VERSION`] after `open`).
    pub fn schema_version(&self) -> Result<i64, DbError> {
        let conn = self.conn.lock();
        Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Records one NLV sample; a second sample at the same time for the same account replaces it.
    pub fn record_nlv(
        &self,
        account: &str,
        time: Millis,
        nlv: f64,
        currency: &str,
    ) -> Result<(), DbError> {
        if !nlv.is_finite() {
            return Err(DbError::Codec(format!(
                "NLV {nlv} for {account} is not a number"
            )));
        }
        let conn = self.conn.lock();
        conn.execute(
            "INSERT OR REPLACE INTO nlv_history (account, time, nlv, currency) VALUES (?1, ?2, ?3, ?4)",
            params![account, time, nlv, currency],
        )?;
        Ok(())
    }

    /// (time, nlv) pairs at or after `since`, oldest first.
    pub fn nlv_history(&self, account: &str, since: Millis) -> Result<Vec<(Millis, f64)>, DbError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT time, nlv FROM nlv_history WHERE account = ?1 AND time >= ?2 ORDER BY time",
        )?;
        let rows = stmt.query_map(params![account, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Stores bars under a cache key (symbol/sec_type/bar size/duration/what/rth).
    pub fn put_bars(&self, key: &str, fetched: Millis, bars: &[Bar]) -> Result<(), DbError> {
        let blob = bar_codec::encode(bars);
        let conn = self.conn.lock();
        conn.execute(
            "INSERT OR REPLACE INTO bar_cache (key, fetched, bars) VALUES (?1, ?2, ?3)",
            params![key, fetched, blob],
        )?;
        Ok(())
    }

    /// Cached bars and when they were fetched.
    pub fn get_bars(&self, key: &str) -> Result<Option<(Millis, Vec<Bar>)>, DbError> {
        let row: Option<(Millis, Vec<u8>)> = {
            let conn = self.conn.lock();
            conn.query_row(
                "SELECT fetched, bars FROM bar_cache WHERE key = ?1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
        };
        match row {
            None => Ok(None),
            Some((fetched, blob)) => {
                let bars = bar_codec::decode(&blob)
                    .map_err(|e| DbError::Codec(format!("cached bars for {key}: {e}")))?;
                Ok(Some((fetched, bars)))
            }
        }
    }

    /// Inserts fills, ignoring ones already stored (by exec_id).
    ///
    /// One exception: IB sends the commission report after the execution, so a stored fill
    /// that has no commission yet is completed from a later copy that has one.
    pub fn upsert_fills(&self, fills: &[Fill]) -> Result<(), DbError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO fills (exec_id, order_id, account, instrument, side, shares, price,
                                    time, exchange, commission, commission_currency, realized_pnl)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (exec_id) DO UPDATE SET
                     commission = excluded.commission,
                     commission_currency = excluded.commission_currency,
                     realized_pnl = excluded.realized_pnl
                 WHERE fills.commission IS NULL AND excluded.commission IS NOT NULL",
            )?;
            for f in fills {
                let instrument = serde_json::to_string(&f.instrument)
                    .map_err(|e| DbError::Codec(format!("fill {}: {e}", f.exec_id)))?;
                stmt.execute(params![
                    f.exec_id,
                    f.order_id,
                    f.account,
                    instrument,
                    f.side,
                    f.shares,
                    f.price,
                    f.time,
                    f.exchange,
                    f.commission.filter(|c| c.is_finite()),
                    f.commission_currency,
                    f.realized_pnl.filter(|p| p.is_finite()),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Fills at or after `since`, oldest first.
    pub fn fills_since(&self, since: Millis) -> Result<Vec<Fill>, DbError> {
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT exec_id, order_id, account, instrument, side, shares, price, time, exchange,
                    commission, commission_currency, realized_pnl
             FROM fills WHERE time >= ?1 ORDER BY time, exec_id",
        )?;
        let rows = stmt.query_map(params![since], |r| {
            let instrument: String = r.get(3)?;
            // SQLite stores NaN as NULL; give it back as NaN rather than failing the whole read.
            let shares: Option<f64> = r.get(5)?;
            let price: Option<f64> = r.get(6)?;
            Ok((
                instrument,
                Fill {
                    exec_id: r.get(0)?,
                    order_id: r.get(1)?,
                    account: r.get(2)?,
                    instrument: Instrument::default(),
                    side: r.get(4)?,
                    shares: shares.unwrap_or(f64::NAN),
                    price: price.unwrap_or(f64::NAN),
                    time: r.get(7)?,
                    exchange: r.get(8)?,
                    commission: r.get(9)?,
                    commission_currency: r.get(10)?,
                    realized_pnl: r.get(11)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (instrument, mut fill) = row?;
            fill.instrument = serde_json::from_str(&instrument)
                .map_err(|e| DbError::Codec(format!("fill {}: instrument: {e}", fill.exec_id)))?;
            out.push(fill);
        }
        Ok(out)
    }

    /// Appends a tool call to the journal. Ids are per process, so the journal keeps its own
    /// sequence and `id` is stored as data, not as a key.
    pub fn insert_tool_call(&self, record: &ToolCallRecord) -> Result<(), DbError> {
        self.insert_tool_calls(std::slice::from_ref(record))
    }

    /// Appends tool calls to the journal in one transaction (all or none).
    pub fn insert_tool_calls(&self, records: &[ToolCallRecord]) -> Result<(), DbError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO tool_calls (call_id, time, client, tool, arguments, duration_ms, ok,
                                         error, result_bytes, markdown, headline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for record in records {
                let arguments = serde_json::to_string(&record.arguments)
                    .map_err(|e| DbError::Codec(format!("tool call arguments: {e}")))?;
                stmt.execute(params![
                    record.id as i64,
                    record.time,
                    record.client,
                    record.tool,
                    arguments,
                    if record.duration_ms.is_finite() {
                        record.duration_ms
                    } else {
                        0.0
                    },
                    record.ok,
                    record.error,
                    record.result_bytes as i64,
                    record.markdown,
                    record.headline,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Most recent `limit` tool calls, oldest first.
    pub fn recent_tool_calls(&self, limit: usize) -> Result<Vec<ToolCallRecord>, DbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.conn.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT call_id, time, client, tool, arguments, duration_ms, ok, error, result_bytes,
                    markdown, headline
             FROM tool_calls ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit], |r| {
            let id: i64 = r.get(0)?;
            let result_bytes: i64 = r.get(8)?;
            let arguments: String = r.get(4)?;
            Ok((
                arguments,
                ToolCallRecord {
                    id: id.max(0) as u64,
                    time: r.get(1)?,
                    client: r.get(2)?,
                    tool: r.get(3)?,
                    arguments: serde_json::Value::Null,
                    duration_ms: r.get(5)?,
                    ok: r.get(6)?,
                    error: r.get(7)?,
                    result_bytes: result_bytes.max(0) as usize,
                    markdown: r.get(9)?,
                    headline: r.get(10)?,
                },
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (arguments, mut record) = row?;
            record.arguments = serde_json::from_str(&arguments)
                .map_err(|e| DbError::Codec(format!("tool call {}: arguments: {e}", record.id)))?;
            out.push(record);
        }
        out.reverse();
        Ok(out)
    }

    /// Saves a briefing snapshot (JSON) for `since_last` deltas.
    pub fn save_briefing(
        &self,
        account: &str,
        time: Millis,
        json: &serde_json::Value,
    ) -> Result<(), DbError> {
        let text = serde_json::to_string(json)
            .map_err(|e| DbError::Codec(format!("briefing for {account}: {e}")))?;
        let conn = self.conn.lock();
        conn.execute(
            "INSERT INTO briefings (account, time, json) VALUES (?1, ?2, ?3)",
            params![account, time, text],
        )?;
        Ok(())
    }

    /// The most recent briefing snapshot for the account.
    pub fn last_briefing(
        &self,
        account: &str,
    ) -> Result<Option<(Millis, serde_json::Value)>, DbError> {
        let row: Option<(Millis, String)> = {
            let conn = self.conn.lock();
            conn.query_row(
                "SELECT time, json FROM briefings WHERE account = ?1
                 ORDER BY time DESC, seq DESC LIMIT 1",
                params![account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
        };
        match row {
            None => Ok(None),
            Some((time, text)) => {
                let json = serde_json::from_str(&text)
                    .map_err(|e| DbError::Codec(format!("briefing for {account}: {e}")))?;
                Ok(Some((time, json)))
            }
        }
    }

    /// Keeps only the `keep` most recent briefing snapshots of the account (each briefing saves
    /// one; only the latest is ever compared, so the table must not grow without bound).
    /// Returns how many were deleted.
    pub fn prune_briefings(&self, account: &str, keep: usize) -> Result<usize, DbError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let conn = self.conn.lock();
        let deleted = conn.execute(
            "DELETE FROM briefings WHERE account = ?1 AND seq NOT IN (
                 SELECT seq FROM briefings WHERE account = ?1
                 ORDER BY time DESC, seq DESC LIMIT ?2)",
            params![account, keep],
        )?;
        Ok(deleted)
    }
}

/// Opens the file, sets WAL and applies pending migrations. Any failure here on an existing
/// file is what `open` treats as damage.
fn open_and_migrate(path: &Path) -> Result<Connection, DbError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Reading the journal mode touches the header: a file of garbage fails here (NOTADB).
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::debug!("SQLite journal mode is {mode}, not WAL");
    }
    // NORMAL in WAL mode: a commit survives the process being killed (not a power cut).
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Without a limit the WAL file keeps its high-water size after each checkpoint.
    conn.pragma_update(None, "journal_size_limit", 16 * 1024 * 1024)?;
    // Forces the schema to be parsed, so a damaged sqlite_master is noticed now, not later.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    migrate(&mut conn, &path.display().to_string())?;
    Ok(conn)
}

/// Applies every migration past the stored `user_version`, each in its own transaction.
fn migrate(conn: &mut Connection, label: &str) -> Result<(), DbError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(DbError::NewerSchema {
            path: label.to_string(),
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1))?;
        tx.commit()?;
    }
    Ok(())
}

/// Whether an open failure means the file itself is bad (move it aside) rather than a passing
/// condition (locked by another process, newer schema, disk full) where moving it would lose data.
fn is_damage(e: &DbError) -> bool {
    match e {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => !matches!(
            f.code,
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::OutOfMemory
                | ErrorCode::OperationInterrupted
        ),
        // Anything else SQLite or our decoding reports while reading an existing file's header
        // and schema (including a same-named table created by something else) means the file is
        // not ours to trust.
        DbError::Sqlite(_) | DbError::Codec(_) | DbError::Damaged(_) => true,
        DbError::Io { .. } | DbError::NewerSchema { .. } => false,
    }
}

/// Whether `e` is SQLite saying the file is malformed (as opposed to busy, full, or our data).
fn is_corruption(e: &DbError) -> bool {
    match e {
        DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
            matches!(f.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        }
        DbError::Damaged(_) => true,
        _ => false,
    }
}

/// `PRAGMA quick_check`: `None` when the file is intact, else SQLite's first complaint.
fn quick_check(conn: &Connection) -> Result<Option<String>, DbError> {
    let verdict: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    Ok((!verdict.eq_ignore_ascii_case("ok"))
        .then(|| verdict.split_whitespace().collect::<Vec<_>>().join(" ")))
}

fn used_bytes(conn: &Connection) -> Result<u64, DbError> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * size.max(0)) as u64)
}

/// Owner-only (0600) whatever the umask: the journal holds account ids and positions. The
/// WAL and shared-memory files SQLite creates take the database file's mode.
fn private_file(path: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        DbError::Io {
            path: path.display().to_string(),
            source,
        }
    })
}

/// Creates the database's directory owner-only (0700, whatever the umask); our own
/// `…/ibkr-cockpit` directory is made 0700 if it exists looser. Any other existing directory
/// is left alone (it may be shared on purpose).
fn private_dir(dir: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let io = |source| DbError::Io {
        path: dir.display().to_string(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        // The mode is masked by the umask on creation; say it again to be exact.
        return std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io);
    }
    let meta = std::fs::metadata(dir).map_err(io)?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    let ours = dir.file_name().is_some_and(|n| n == "ibkr-cockpit");
    if ours && meta.uid() == me && meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Creates an empty database file as 0600 before SQLite opens it, so it is never readable by
/// others, not even for the moment between creation and a chmod.
fn create_private(path: &Path) -> Result<(), DbError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|source| DbError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// The `<path>.corrupt-*` files next to `path` (not their WAL companions), oldest first.
fn damaged_copies(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{name}.corrupt-");
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&prefix) && !n.ends_with("-wal") && !n.ends_with("-shm")
            })
        })
        .collect();
    out.sort();
    out
}

/// The tables worth carrying over from a damaged file (caches are simply fetched again).
const SALVAGED_TABLES: &[&str] = &[
    "nlv_history",
    "fills",
    "briefings",
    "tool_calls",
    "margin_history",
    "alert_firings",
];

/// Moves the damaged file aside, creates a fresh one and copies over every row of
/// [`SALVAGED_TABLES`] that can still be read. Returns the new connection, where the old file
/// went, and per table how many rows came back.
fn replace_damaged(path: &Path) -> Result<(Connection, PathBuf, Salvaged), DbError> {
    let aside = move_aside(path)?;
    create_private(path)?;
    let conn = open_and_migrate(path)?;
    let salvaged = salvage(&conn, &aside);
    Ok((conn, aside, salvaged))
}

/// Row by row, so a bad page ends one table's copy where it is instead of losing all of it.
fn salvage(conn: &Connection, damaged: &Path) -> Salvaged {
    let mut out = Vec::new();
    let Some(from) = damaged.to_str() else {
        return out;
    };
    if let Err(e) = conn.execute("ATTACH DATABASE ?1 AS damaged", params![from]) {
        tracing::warn!("nothing salvaged from {}: {e}", damaged.display());
        return out;
    }
    for table in SALVAGED_TABLES {
        let copied = copy_rows(conn, table);
        if copied > 0 {
            out.push((table.to_string(), copied));
        }
    }
    let _ = conn.execute_batch("DETACH DATABASE damaged");
    out
}

fn copy_rows(conn: &Connection, table: &str) -> usize {
    // Table names come from SALVAGED_TABLES, never from the file.
    let Ok(mut read) = conn.prepare(&format!("SELECT * FROM damaged.{table}")) else {
        return 0;
    };
    let columns = read.column_count();
    let marks = vec!["?"; columns].join(", ");
    let Ok(mut write) = conn.prepare(&format!(
        "INSERT OR IGNORE INTO main.{table} VALUES ({marks})"
    )) else {
        return 0;
    };
    let Ok(mut rows) = read.query([]) else {
        return 0;
    };
    let mut copied = 0;
    while let Ok(Some(row)) = rows.next() {
        let values: Result<Vec<rusqlite::types::Value>, _> =
            (0..columns).map(|i| row.get(i)).collect();
        let Ok(values) = values else { break };
        if write
            .execute(rusqlite::params_from_iter(values.iter()))
            .is_ok()
        {
            copied += 1;
        }
    }
    copied
}

fn damage_message(path: &Path, error: &str, aside: &Path, salvaged: &[(String, usize)]) -> String {
    let kept = if salvaged.is_empty() {
        "nothing could be read back (NLV history and journals start empty)".to_string()
    } else {
        let parts: Vec<String> = salvaged
            .iter()
            .map(|(table, n)| format!("{n} {table} rows"))
            .collect();
        format!("re-seeded {} from it", parts.join(", "))
    };
    format!(
        "the database at {} is damaged ({error}); it was moved to {} (kept) and a fresh one \
         created; {kept}",
        path.display(),
        aside.display()
    )
}

/// Renames `path` (and its WAL/shared-memory companions, which belong to the damaged file) to
/// `<path>.corrupt-<unix-ts>`, adding a counter if that name is taken.
fn move_aside(path: &Path) -> Result<PathBuf, DbError> {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = format!("{}.corrupt-{ts}", path.display());
    let mut aside = PathBuf::from(&base);
    let mut n = 1;
    while aside.exists() {
        aside = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &aside).map_err(|source| DbError::Io {
        path: path.display().to_string(),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{suffix}", path.display()));
        if companion.exists() {
            let target = PathBuf::from(format!("{}{suffix}", aside.display()));
            if let Err(e) = std::fs::rename(&companion, &target) {
                tracing::warn!("could not move {} aside: {e}", companion.display());
            }
        }
    }
    Ok(aside)
}

/// Bars are cached as one compact little-endian blob per key: a version byte, then per bar
/// `time: i64, open, high, low, close, volume, wap: f64, count: i32` (60 bytes). Lossless
/// (NaN survives, unlike JSON), compact, and decoded without a parser.
mod bar_codec {
    use crate::model::Bar;

    const VERSION: u8 = 1;
    const BAR_BYTES: usize = 8 * 7 + 4;

    pub fn encode(bars: &[Bar]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + bars.len() * BAR_BYTES);
        out.push(VERSION);
        for b in bars {
            out.extend_from_slice(&b.time.to_le_bytes());
            for v in [b.open, b.high, b.low, b.close, b.volume, b.wap] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&b.count.to_le_bytes());
        }
        out
    }

    pub fn decode(blob: &[u8]) -> Result<Vec<Bar>, String> {
        let (version, body) = blob.split_first().ok_or("empty blob")?;
        if *version != VERSION {
            return Err(format!("unknown bar encoding version {version}"));
        }
        if body.len() % BAR_BYTES != 0 {
            return Err(format!("blob of {} bytes is not whole bars", body.len()));
        }
        let mut out = Vec::with_capacity(body.len() / BAR_BYTES);
        for chunk in body.chunks_exact(BAR_BYTES) {
            let mut words = [[0u8; 8]; 7];
            for (i, w) in words.iter_mut().enumerate() {
                w.copy_from_slice(&chunk[i * 8..i * 8 + 8]);
            }
            let mut count = [0u8; 4];
            count.copy_from_slice(&chunk[56..60]);
            let f = |i: usize| f64::from_le_bytes(words[i]);
            out.push(Bar {
                time: i64::from_le_bytes(words[0]),
                open: f(1),
                high: f(2),
                low: f(3),
                close: f(4),
                volume: f(5),
                wap: f(6),
                count: i32::from_le_bytes(count),
            });
        }
        Ok(out)
    }
}
