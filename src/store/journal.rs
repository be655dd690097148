//! The tool-call journal's way into SQLite, off the tool-call path: a call is handed to a
//! bounded channel (never waiting), and one writer thread drains it, committing everything that
//! arrived within [`BATCH_WINDOW`] in one transaction. A process killed with -9 therefore loses
//! at most the calls of the batch being gathered (≤ 100 ms of them, see RELIABILITY.md).
//!
//! The same thread enforces the retention (`[journal] keep_days` and `max_mb`) every
//! [`PRUNE_EVERY`] while calls arrive, so the file stops growing at about the cap whatever the
//! load. A full channel (the disk far slower than the callers) drops the record from SQLite
//! only — the in-memory journal still has it — and counts it.

use super::db::Db;
use crate::model::ToolCallRecord;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// How long the writer gathers calls before committing them: the most a kill -9 can lose, less
/// the commit's own few milliseconds (which is why it is half the promised 100 ms).
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);

/// Calls waiting for the writer at most; beyond this they are counted as dropped.
pub const QUEUE_CAPACITY: usize = 16_384;

/// How often retention runs while calls arrive (and once at start); sooner once a tenth of
/// `max_mb` has been written since the last pass, so a burst cannot overshoot the cap by more.
pub const PRUNE_EVERY: Duration = Duration::from_secs(2);

enum Item {
    Record(Box<ToolCallRecord>),
    /// Commit what is queued, then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// Sending side; dropping the last one ends the writer after a final commit.
pub struct JournalWriter {
    queue: SyncSender<Item>,
    dropped: Arc<AtomicU64>,
}

impl JournalWriter {
    /// Starts the writer thread for `db`.
    pub fn start(db: Db) -> std::io::Result<JournalWriter> {
        let (queue, rx) = sync_channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || write_loop(db, rx))?;
        Ok(JournalWriter {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues `record` without waiting.
    pub fn submit(&self, record: ToolCallRecord) {
        match self.queue.try_send(Item::Record(Box::new(record))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!("journal writer behind: {n} tool calls not saved to SQLite");
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Calls that could not be queued since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (at most `timeout`) until everything queued so far is committed. Returns false on
    /// timeout.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done, wait) = std::sync::mpsc::channel();
        let deadline = Instant::now() + timeout;
        let mut item = Item::Flush(done);
        loop {
            match self.queue.try_send(item) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                    item = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return false,
            }
        }
        wait.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

fn write_loop(db: Db, rx: Receiver<Item>) {
    let mut last_prune = Instant::now();
    let mut written_since_prune: u64 = 0;
    prune(&db);
    let mut batch: Vec<ToolCallRecord> = Vec::new();
    let mut waiting: Vec<std::sync::mpsc::Sender<()>> = Vec::new();
    loop {
        // Block for the first item of a batch; then sleep out the window and take everything
        // that arrived. The writer is not waiting on the channel meanwhile, so a tool call's
        // hand-over is a plain enqueue, never a wake-up of this thread. Whoever flushes wants
        // it on disk now: no sleep then.
        let first = match rx.recv() {
            Ok(item) => item,
            Err(_) => break,
        };
        if !matches!(first, Item::Flush(_)) {
            std::thread::sleep(BATCH_WINDOW);
        }
        // A batch also ends at a twentieth of the size cap, so retention (run between batches)
        // is never outrun by one huge transaction.
        let batch_limit = (db.retention().max_bytes / 20).max(64 * 1024);
        let mut batch_bytes = 0;
        let mut closed = false;
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Item::Record(r) => {
                    batch_bytes += approximate_bytes(&r);
                    batch.push(*r);
                }
                Item::Flush(done) => waiting.push(done),
            }
            if batch_bytes >= batch_limit {
                break;
            }
            match rx.try_recv() {
                Ok(item) => next = Some(item),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => closed = true,
            }
        }
        written_since_prune += batch_bytes;
        commit(&db, &mut batch);
        if last_prune.elapsed() >= PRUNE_EVERY
            || written_since_prune >= db.retention().max_bytes / 10
        {
            prune(&db);
            last_prune = Instant::now();
            written_since_prune = 0;
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        if closed {
            break;
        }
    }
    commit(&db, &mut batch);
}

/// One transaction for the batch; a damaged file is replaced and the batch tried once more.
fn commit(db: &Db, batch: &mut Vec<ToolCallRecord>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = db.insert_tool_calls(batch) {
        let replaced = db.check_after_error(&e).is_some();
        let retried = replaced && db.insert_tool_calls(batch).is_ok();
        if !retried {
            tracing::warn!(
                "could not journal {} tool calls in SQLite: {e}",
                batch.len()
            );
        }
    }
    batch.clear();
}

/// Roughly what a record costs on disk (its text; the numbers are noise beside it).
fn approximate_bytes(r: &ToolCallRecord) -> u64 {
    let arguments = if r.arguments.is_null() { 0 } else { 64 };
    (r.markdown.len()
        + r.headline.len()
        + r.client.len()
        + r.tool.len()
        + r.error.as_ref().map_or(0, String::len)) as u64
        + arguments
        + 64
}

fn prune(db: &Db) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    match db.prune_journal(now, db.retention()) {
        Ok(p) if p.too_old + p.over_size > 0 => tracing::info!(
            "journal retention: removed {} calls past the age limit and {} over the size cap",
            p.too_old,
            p.over_size
        ),
        Ok(_) => {}
        Err(e) => {
            db.check_after_error(&e);
            tracing::warn!("journal retention failed: {e}");
        }
    }
}
