//! Alert firings: what the live state shows (rules, which are firing, the latest firings) and
//! the SQLite table that keeps their history across restarts, bounded by age and row count.
//! The rules and their evaluation live in `crate::alerts`; this module only holds the record.

use super::db::{Db, DbError};
use crate::model::Millis;
use rusqlite::params;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Migration that creates the table (appended to `db::MIGRATIONS`).
pub const SCHEMA: &str = "CREATE TABLE alert_firings (
         seq      INTEGER PRIMARY KEY AUTOINCREMENT,
         time     INTEGER NOT NULL,
         rule     TEXT    NOT NULL,
         kind     TEXT    NOT NULL,
         subject  TEXT,
         value    REAL    NOT NULL,
         level    REAL    NOT NULL,
         message  TEXT    NOT NULL,
         cleared  INTEGER
     );
     CREATE INDEX alert_firings_by_time ON alert_firings (time);";

/// Firings older than this are deleted.
pub const KEEP_DAYS: i64 = 90;
/// At most this many firings are kept (the oldest go first).
pub const MAX_ROWS: i64 = 10_000;
/// Firings the live state keeps (the cockpit's list, MCP notifications).
pub const RECENT_CAPACITY: usize = 100;
/// Longest rule name, subject or message stored (they come from the user's config and from
/// gateway data).
pub const MAX_TEXT: usize = 300;

const DAY_MS: i64 = 86_400_000;

/// One rule as configured, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleView {
    pub name: String,
    pub kind: String,
    /// "cushion below 10.00% (re-arms above 10.50%)".
    pub condition: String,
    pub bell: bool,
    /// The command run on each firing (argv), empty for none.
    pub on_fire: Vec<String>,
}

/// One firing: a rule's value crossed its line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Firing {
    /// Increases by one per firing in this process (notifications use it to send each once).
    pub id: u64,
    pub time: Millis,
    pub rule: String,
    pub kind: String,
    /// The symbol, for per-symbol rules.
    pub subject: Option<String>,
    pub value: f64,
    pub level: f64,
    /// "cushion 9.80% below 10.00%".
    pub message: String,
    /// When the value moved back past the line and the rule re-armed.
    pub cleared: Option<Millis>,
    /// Ring the terminal bell for it.
    pub bell: bool,
}

/// The alerts part of the live state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertBoard {
    pub rules: Vec<RuleView>,
    /// Firing now (not yet cleared), oldest first.
    pub firing: Vec<Firing>,
    /// The latest firings of this process, cleared or not, oldest first (bounded).
    pub recent: VecDeque<Firing>,
}

impl AlertBoard {
    /// Records a new firing (firing now and in the recent list).
    pub fn fire(&mut self, f: Firing) {
        if self.recent.len() >= RECENT_CAPACITY {
            self.recent.pop_front();
        }
        self.recent.push_back(f.clone());
        self.firing.push(f);
    }

    /// Marks firing `id` cleared at `time`.
    pub fn clear(&mut self, id: u64, time: Millis) {
        self.firing.retain(|f| f.id != id);
        if let Some(f) = self.recent.iter_mut().find(|f| f.id == id) {
            f.cleared = Some(time);
        }
    }
}

/// Cuts text to [`MAX_TEXT`] characters.
pub fn bounded(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

/// A firing as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFiring {
    pub seq: i64,
    pub time: Millis,
    pub rule: String,
    pub kind: String,
    pub subject: Option<String>,
    pub value: f64,
    pub level: f64,
    pub message: String,
    pub cleared: Option<Millis>,
}

/// Stores a firing, prunes by age and count, and returns its row id.
pub fn insert(db: &Db, f: &Firing) -> Result<i64, DbError> {
    db.with_conn(|conn| {
        conn.prepare_cached(
            "INSERT INTO alert_firings (time, rule, kind, subject, value, level, message, cleared)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            f.time,
            bounded(&f.rule),
            bounded(&f.kind),
            f.subject.as_deref().map(bounded),
            f.value,
            f.level,
            bounded(&f.message),
            f.cleared
        ])?;
        let seq = conn.last_insert_rowid();
        conn.prepare_cached("DELETE FROM alert_firings WHERE time < ?1 OR seq <= ?2")?
            .execute(params![f.time - KEEP_DAYS * DAY_MS, seq - MAX_ROWS])?;
        Ok(seq)
    })
}

/// Records when firing `seq` cleared.
pub fn set_cleared(db: &Db, seq: i64, time: Millis) -> Result<(), DbError> {
    db.with_conn(|conn| {
        conn.prepare_cached("UPDATE alert_firings SET cleared = ?2 WHERE seq = ?1")?
            .execute(params![seq, time])?;
        Ok(())
    })
}

/// Closes firings a previous process left open (it stopped watching them at `time` at the
/// latest); returns how many.
pub fn close_open(db: &Db, time: Millis) -> Result<usize, DbError> {
    db.with_conn(|conn| {
        Ok(conn.execute(
            "UPDATE alert_firings SET cleared = ?1 WHERE cleared IS NULL",
            params![time],
        )?)
    })
}

/// Firings at or after `since`, newest first, at most `limit`.
pub fn recent(db: &Db, since: Millis, limit: usize) -> Result<Vec<StoredFiring>, DbError> {
    db.with_conn(|conn| {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, time, rule, kind, subject, value, level, message, cleared
             FROM alert_firings WHERE time >= ?1 ORDER BY time DESC, seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since, limit as i64], |r| {
            Ok(StoredFiring {
                seq: r.get(0)?,
                time: r.get(1)?,
                rule: r.get(2)?,
                kind: r.get(3)?,
                subject: r.get(4)?,
                value: r.get(5)?,
                level: r.get(6)?,
                message: r.get(7)?,
                cleared: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn firing(id: u64, time: Millis) -> Firing {
        Firing {
            id,
            time,
            rule: "cushion".into(),
            kind: "cushion_below".into(),
            subject: None,
            value: 9.8,
            level: 10.0,
            message: "cushion 9.80% below 10.00%".into(),
            cleared: None,
            bell: true,
        }
    }

    #[test]
    fn firings_are_stored_cleared_and_pruned_by_age() {
        let db = Db::in_memory().unwrap();
        let now = 200 * DAY_MS;
        insert(&db, &firing(1, now - (KEEP_DAYS + 1) * DAY_MS)).unwrap();
        let seq = insert(&db, &firing(2, now - 1000)).unwrap();
        set_cleared(&db, seq, now - 500).unwrap();
        insert(&db, &firing(3, now)).unwrap();
        assert_eq!(close_open(&db, now + 1).unwrap(), 1);
        let rows = recent(&db, 0, 10).unwrap();
        assert_eq!(rows.len(), 2, "the firing older than KEEP_DAYS went");
        assert_eq!(rows[0].time, now);
        assert_eq!(rows[0].cleared, Some(now + 1));
        assert_eq!(rows[1].cleared, Some(now - 500));
    }

    #[test]
    fn the_board_keeps_firing_and_recent_apart() {
        let mut b = AlertBoard::default();
        b.fire(firing(1, 10));
        b.fire(firing(2, 20));
        b.clear(1, 30);
        assert_eq!(b.firing.len(), 1);
        assert_eq!(b.firing[0].id, 2);
        assert_eq!(b.recent[0].cleared, Some(30));
    }
}
