//! Persistent state: the one module that opens the database file `<data_dir>/mcpproxy.db`
//! (redb, an embedded ACID key-value store). It keeps tool-call history, MCP client sessions,
//! tool approvals (pinning) and agent tokens (hashed); everything else asks this module.
//!
//! Durability: management writes (sessions, approvals) commit durably before returning. Tool
//! calls go through [`Storage::record_call`], which never waits for the disk: it appends the
//! record to a journal file (one `write`, see `journal`) and queues it; a background thread
//! commits what is queued in one durable transaction every [`writer::LINGER`] (group commit,
//! see `writer`). A `kill -9` loses nothing recorded: the journal is in the page cache and is
//! replayed at the next start. A power cut can lose the last [`writer::LINGER`] of calls,
//! never a committed one, and never leaves a torn record: redb commits are atomic and the
//! file reopens consistent. [`Storage::flush`] commits at once and waits until everything
//! recorded so far is durable (history reads, tests, shutdown). Dropping the last handle
//! drains the queue, commits it and closes the file.
//!
//! Only one process may open the file at a time; a second gets [`StorageError::Locked`].

mod journal;
mod tables;
mod types;
mod writer;

use std::panic::{AssertUnwindSafe, UnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;

use redb::{Database, DatabaseError, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::watch;

use tables::{
    APPROVALS, CALL_IDS, CALLS, CALLS_BY_SERVER, CALLS_BY_SESSION, CallKey, SERVER_NOTES, SESSIONS,
    TOKENS, read_json,
};
pub use types::{
    ApprovalStatus, CallPage, CallQuery, DEFAULT_LIMIT, MAX_LIMIT, Retention, SessionRecord, Tier,
    TokenRecord, ToolApproval, ToolCallRecord, ToolSnapshot, session_status,
};

/// The database file name inside the data directory.
pub const DB_FILE_NAME: &str = "mcpproxy.db";

/// Page cache the database may use.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Another process (or another handle in this one) has the file open.
    #[error("database {} is in use by another process (is another mcpproxy running?)", .0.display())]
    Locked(PathBuf),
    /// The file exists but is not a readable mcpproxy database.
    #[error("database {} is corrupted or not an mcpproxy database: {reason}", .path.display())]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The file was written by a newer, incompatible version.
    #[error("incompatible database: {0}")]
    Incompatible(String),
    /// The file could not be created or opened.
    #[error("cannot open database {}: {source}", .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A read or write failed inside the database.
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// A stored value is not the JSON expected.
    #[error("stored record is not valid: {0}")]
    Decode(#[from] serde_json::Error),
    /// The database engine panicked (a corrupted page, typically).
    #[error("database failure: {0}")]
    Panicked(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Runs `f`, turning a panic inside the database engine into an error.
fn guard<T>(f: impl FnOnce() -> Result<T, StorageError> + UnwindSafe) -> Result<T, StorageError> {
    std::panic::catch_unwind(f).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(StorageError::Panicked(msg))
    })
}

/// Health of the background writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records committed since open.
    pub committed: u64,
    /// Transactions committed since open.
    pub batches: u64,
    /// Records lost because their transaction failed.
    pub failed: u64,
    /// Records dropped because the queue was full or the writer had stopped.
    pub dropped: u64,
    /// The last commit error.
    pub last_error: Option<String>,
}

/// The database handle. `Send + Sync`; share it with `Arc`.
pub struct Storage {
    db: Arc<Database>,
    path: PathBuf,
    retention: Retention,
    queue: Option<SyncSender<writer::Msg>>,
    journal: Arc<journal::Journal>,
    enqueued: AtomicU64,
    progress: watch::Receiver<u64>,
    shared: Arc<writer::WriterShared>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("path", &self.path)
            .field("retention", &self.retention)
            .finish()
    }
}

impl Storage {
    /// Opens (creating if needed) the database at `path` and starts the writer thread.
    pub fn open(path: &Path, retention: Retention) -> Result<Self, StorageError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let opened = guard(AssertUnwindSafe(|| {
            redb::Builder::new()
                .set_cache_size(CACHE_BYTES)
                .create(path)
                .map_err(|e| open_error(path, e))
        }))
        .map_err(|e| match e {
            StorageError::Panicked(reason) => StorageError::Corrupted {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })?;
        // Recorded arguments and responses may hold secrets: owner-only, like the config.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |source| StorageError::Open {
                    path: path.to_path_buf(),
                    source,
                },
            )?;
        }
        let db = Arc::new(opened);
        guard(AssertUnwindSafe(|| {
            let txn = db.begin_write()?;
            tables::init(&txn)?;
            txn.commit()?;
            Ok(())
        }))
        .map_err(|e| match e {
            StorageError::Db(redb::Error::TableTypeMismatch { .. })
            | StorageError::Db(redb::Error::TableIsMultimap(_))
            | StorageError::Db(redb::Error::TableIsNotMultimap(_))
            | StorageError::Panicked(_) => StorageError::Corrupted {
                path: path.to_path_buf(),
                reason: e.to_string(),
            },
            other => other,
        })?;

        let journal_base = journal::base_for(path);
        let leftovers = journal::leftovers(&journal_base);
        let last_generation = leftovers.last_generation;
        replay(&db, leftovers, &retention)?;
        let journal = Arc::new(journal::Journal::start(journal_base, last_generation + 1));

        let (queue, rx) = std::sync::mpsc::sync_channel(writer::QUEUE_CAPACITY);
        let (progress_tx, progress) = watch::channel(0u64);
        let shared = Arc::new(writer::WriterShared::default());
        let writer = std::thread::Builder::new()
            .name("storage-writer".into())
            .spawn({
                let writer = writer::Writer {
                    db: db.clone(),
                    rx,
                    journal: journal.clone(),
                    retention,
                    shared: shared.clone(),
                    progress: progress_tx,
                };
                move || writer.run()
            })
            .map_err(|source| StorageError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            retention,
            queue: Some(queue),
            journal,
            enqueued: AtomicU64::new(0),
            progress,
            shared,
            writer: Some(writer),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The retention in force.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Journals a tool call and queues it for the writer; returns at once. Dropped (and
    /// counted in [`WriterStats::dropped`]) only if the queue is full, the writer has
    /// stopped, or the record cannot be serialized.
    pub fn record_call(&self, record: ToolCallRecord) {
        let encoded = tables::EncodedCall::new(record);
        let sent = match (&self.queue, encoded) {
            (Some(q), Ok(encoded)) => self.journal.append(encoded, |encoded| {
                match q.try_send(writer::Msg::Call(Box::new(encoded))) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
                }
            }),
            _ => false,
        };
        if sent {
            self.enqueued.fetch_add(1, Ordering::AcqRel);
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until every call recorded before this one is committed (or its commit failed,
    /// see [`Self::writer_stats`]). Returns at once if the writer has stopped.
    pub async fn flush(&self) {
        let target = self.enqueued.load(Ordering::Acquire);
        let mut progress = self.progress.clone();
        if *progress.borrow() < target
            && let Some(q) = &self.queue
        {
            // Cut the writer's gathering short; if the queue is full it is busy anyway.
            let _ = q.try_send(writer::Msg::Flush);
            if let Some(writer) = &self.writer {
                writer.thread().unpark();
            }
        }
        let _ = progress.wait_for(|done| *done >= target).await;
    }

    /// Tool-call records queued and not yet processed by the writer.
    pub fn queued(&self) -> u64 {
        let processed = *self.progress.borrow();
        self.enqueued
            .load(Ordering::Acquire)
            .saturating_sub(processed)
    }

    /// Counters of the background writer.
    pub fn writer_stats(&self) -> WriterStats {
        WriterStats {
            committed: self.shared.committed.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            last_error: self.shared.last_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// One page of history, newest first, with the total matching the filters.
    pub fn list_calls(&self, q: &CallQuery) -> Result<CallPage, StorageError> {
        let limit = q.effective_limit();
        let offset = q.offset;
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let calls_table = txn.open_table(CALLS)?;
            let mut keys: Vec<CallKey> = Vec::with_capacity(limit);
            let total;
            match (&q.session_id, &q.server) {
                (None, None) => {
                    total = calls_table.len()? as usize;
                    for entry in calls_table.iter()?.rev().skip(offset).take(limit) {
                        keys.push(entry?.0.value());
                    }
                }
                (Some(name), server) | (None, server @ Some(name)) => {
                    // Scan the narrower index; with both filters, check the server per record.
                    let (table, also_server) = if q.session_id.is_some() {
                        (txn.open_table(CALLS_BY_SESSION)?, server.as_deref())
                    } else {
                        (txn.open_table(CALLS_BY_SERVER)?, None)
                    };
                    let range = table.range(
                        (name.as_str(), i64::MIN, 0u64)..=(name.as_str(), i64::MAX, u64::MAX),
                    )?;
                    let mut matched = 0usize;
                    for entry in range.rev() {
                        let (k, _) = entry?;
                        let (_, ts, seq) = k.value();
                        let key = (ts, seq);
                        if let Some(server) = also_server {
                            let Some(v) = calls_table.get(key)? else {
                                continue;
                            };
                            #[derive(serde::Deserialize)]
                            struct Server<'a> {
                                #[serde(borrow)]
                                server: std::borrow::Cow<'a, str>,
                            }
                            let s: Server<'_> = serde_json::from_slice(v.value())?;
                            if s.server != server {
                                continue;
                            }
                        }
                        if matched >= offset && keys.len() < limit {
                            keys.push(key);
                        }
                        matched += 1;
                    }
                    total = matched;
                }
            }
            let mut calls = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(v) = calls_table.get(key)? {
                    calls.push(serde_json::from_slice(v.value())?);
                }
            }
            Ok(CallPage {
                calls,
                total,
                limit,
                offset,
            })
        }))
    }

    /// The call with this id, if still kept.
    pub fn get_call(&self, id: &str) -> Result<Option<ToolCallRecord>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let ids = txn.open_table(CALL_IDS)?;
            let Some(key) = ids.get(id)?.map(|g| g.value()) else {
                return Ok(None);
            };
            let calls = txn.open_table(CALLS)?;
            read_json(calls.get(key)?.as_ref().map(|g| g.value()))
        }))
    }

    /// Inserts or replaces a session (durably). `tool_call_count`, `total_tokens` and
    /// `last_activity` never go backwards: the stored values win when larger, since recorded
    /// calls and counted answers bump them; a declared capability stays declared.
    pub fn upsert_session(&self, s: &SessionRecord) -> Result<(), StorageError> {
        let max_sessions = self.retention.max_sessions;
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut sessions = txn.open_table(SESSIONS)?;
                let existing: Option<SessionRecord> =
                    read_json(sessions.get(s.id.as_str())?.as_ref().map(|g| g.value()))?;
                let mut merged = s.clone();
                if let Some(old) = existing {
                    merged.tool_call_count = merged.tool_call_count.max(old.tool_call_count);
                    merged.last_activity = merged.last_activity.max(old.last_activity);
                    merged.total_tokens = merged.total_tokens.max(old.total_tokens);
                    merged.has_roots |= old.has_roots;
                    merged.has_sampling |= old.has_sampling;
                }
                sessions.insert(s.id.as_str(), serde_json::to_vec(&merged)?.as_slice())?;
                tables::prune_sessions(&mut sessions, max_sessions)?;
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// Adds counted tokens to sessions (durably, in one transaction); a session no longer
    /// kept is skipped.
    pub fn add_session_tokens(&self, tokens: &[(String, u64)]) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut sessions = txn.open_table(SESSIONS)?;
                for (id, n) in tokens {
                    let existing: Option<SessionRecord> =
                        read_json(sessions.get(id.as_str())?.as_ref().map(|g| g.value()))?;
                    if let Some(mut s) = existing {
                        s.total_tokens = s.total_tokens.saturating_add(*n);
                        sessions.insert(id.as_str(), serde_json::to_vec(&s)?.as_slice())?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// One page of sessions, newest start first, and how many there are.
    pub fn list_sessions(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<SessionRecord>, usize), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let sessions = txn.open_table(SESSIONS)?;
            let mut all = Vec::with_capacity(sessions.len()? as usize);
            for entry in sessions.iter()? {
                let (_, v) = entry?;
                all.push(serde_json::from_slice::<SessionRecord>(v.value())?);
            }
            all.sort_by(|a, b| {
                b.start_time
                    .cmp(&a.start_time)
                    .then_with(|| b.id.cmp(&a.id))
            });
            let total = all.len();
            Ok((all.into_iter().skip(offset).take(limit).collect(), total))
        }))
    }

    /// The session with this id.
    pub fn get_session(&self, id: &str) -> Result<Option<SessionRecord>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let sessions = txn.open_table(SESSIONS)?;
            read_json(sessions.get(id)?.as_ref().map(|g| g.value()))
        }))
    }

    /// Every pinning record of one server, by tool name.
    pub fn tool_approvals(&self, server: &str) -> Result<Vec<ToolApproval>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(APPROVALS)?;
            let mut out = Vec::new();
            for entry in table.range((server, "")..)? {
                let (k, v) = entry?;
                if k.value().0 != server {
                    break;
                }
                out.push(serde_json::from_slice(v.value())?);
            }
            Ok(out)
        }))
    }

    /// Inserts or replaces one pinning record (durably).
    pub fn put_tool_approval(&self, a: &ToolApproval) -> Result<(), StorageError> {
        self.put_tool_approvals(std::slice::from_ref(a))
    }

    /// Inserts or replaces several pinning records in one durable transaction.
    pub fn put_tool_approvals(&self, approvals: &[ToolApproval]) -> Result<(), StorageError> {
        if approvals.is_empty() {
            return Ok(());
        }
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(APPROVALS)?;
                for a in approvals {
                    table.insert(
                        (a.server.as_str(), a.tool.as_str()),
                        serde_json::to_vec(a)?.as_slice(),
                    )?;
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// A note kept about `server` under `kind` (see `server_notes` in `tables`).
    pub fn server_note(
        &self,
        server: &str,
        kind: &str,
    ) -> Result<Option<serde_json::Value>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(SERVER_NOTES)?;
            read_json(table.get((server, kind))?.as_ref().map(|g| g.value()))
        }))
    }

    /// Stores (`Some`) or forgets (`None`) the note about `server` under `kind`, durably.
    pub fn set_server_note(
        &self,
        server: &str,
        kind: &str,
        value: Option<&serde_json::Value>,
    ) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(SERVER_NOTES)?;
                match value {
                    Some(value) => {
                        table.insert((server, kind), serde_json::to_vec(value)?.as_slice())?;
                    }
                    None => {
                        table.remove((server, kind))?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// Forgets every pinning record of one server (durably).
    pub fn delete_tool_approvals(&self, server: &str) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(APPROVALS)?;
                let mut tools = Vec::new();
                for entry in table.range((server, "")..)? {
                    let (k, _) = entry?;
                    let (s, t) = k.value();
                    if s != server {
                        break;
                    }
                    tools.push(t.to_string());
                }
                for tool in &tools {
                    table.remove((server, tool.as_str()))?;
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }
}

impl Storage {
    /// Every agent token, in name order.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(TOKENS)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (_, v) = entry?;
                out.push(serde_json::from_slice(v.value())?);
            }
            Ok(out)
        }))
    }

    /// Inserts or replaces one agent token (durably).
    pub fn put_token(&self, token: &TokenRecord) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(TOKENS)?;
                table.insert(token.name.as_str(), serde_json::to_vec(token)?.as_slice())?;
            }
            txn.commit()?;
            Ok(())
        }))
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // Closing the queue lets the writer drain it, commit and exit; joining it releases the
        // last database handle (and the file lock) before drop returns.
        self.queue.take();
        if let Some(writer) = self.writer.take() {
            writer.thread().unpark();
            let _ = writer.join();
        }
    }
}

/// Store the records an earlier process journaled but did not commit (it was killed), then
/// delete the journal files. Records already stored are skipped.
fn replay(
    db: &Database,
    leftovers: journal::Leftovers,
    retention: &Retention,
) -> Result<(), StorageError> {
    if leftovers.files.is_empty() {
        return Ok(());
    }
    guard(AssertUnwindSafe(|| {
        let stored = {
            let txn = db.begin_read()?;
            let ids = txn.open_table(CALL_IDS)?;
            let mut stored = std::collections::HashSet::new();
            for record in &leftovers.records {
                if ids.get(record.id.as_str())?.is_some() {
                    stored.insert(record.id.clone());
                }
            }
            stored
        };
        let fresh = leftovers
            .records
            .into_iter()
            .filter(|r| !stored.contains(&r.id))
            .map(tables::EncodedCall::new)
            .collect::<Result<Vec<_>, _>>()?;
        let txn = db.begin_write()?;
        tables::write_calls(&txn, fresh, retention, chrono::Utc::now())?;
        txn.commit()?;
        Ok(())
    }))?;
    for file in &leftovers.files {
        let _ = std::fs::remove_file(file);
    }
    Ok(())
}

/// Maps redb's open errors onto ours.
fn open_error(path: &Path, e: DatabaseError) -> StorageError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StorageError::Locked(path)
        }
        DatabaseError::UpgradeRequired(v) => StorageError::Incompatible(format!(
            "{} uses redb file format {v}, which this build cannot read",
            path.display()
        )),
        DatabaseError::RepairAborted => StorageError::Corrupted {
            path,
            reason: "repair aborted".into(),
        },
        DatabaseError::Storage(redb::StorageError::Io(io)) => match io.kind() {
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
                StorageError::Corrupted {
                    path,
                    reason: io.to_string(),
                }
            }
            _ => StorageError::Open { path, source: io },
        },
        DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
            StorageError::Corrupted { path, reason }
        }
        other => StorageError::Corrupted {
            path,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::time::{Duration, Instant};

    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;

    fn at(secs_ago: i64) -> DateTime<Utc> {
        Utc::now() - chrono::Duration::seconds(secs_ago)
    }

    fn call(
        i: usize,
        server: &str,
        session: Option<&str>,
        timestamp: DateTime<Utc>,
    ) -> ToolCallRecord {
        ToolCallRecord {
            id: format!("call-{i}"),
            server: server.to_string(),
            tool: "echo".to_string(),
            arguments: json!({"i": i, "text": "hello"}),
            response: Some(json!({"content": [{"type": "text", "text": format!("Echo: {i}")}]})),
            error: None,
            is_error: false,
            duration_ms: 1.5,
            timestamp,
            session_id: session.map(str::to_string),
            client_name: Some("claude".into()),
            client_version: Some("1.0".into()),
            replayed_from: None,
            token_name: None,
        }
    }

    fn unlimited() -> Retention {
        Retention {
            max_calls: 0,
            max_age: Duration::ZERO,
            max_sessions: 0,
        }
    }

    fn open_in(dir: &tempfile::TempDir, retention: Retention) -> Storage {
        Storage::open(&dir.path().join(DB_FILE_NAME), retention).expect("open")
    }

    fn ids(page: &CallPage) -> Vec<String> {
        page.calls.iter().map(|c| c.id.clone()).collect()
    }

    #[tokio::test]
    async fn call_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, Retention::default());
        let mut rec = call(1, "github", Some("s1"), at(5));
        rec.error = Some("boom".into());
        rec.is_error = true;
        rec.replayed_from = Some("call-0".into());
        storage.record_call(rec.clone());
        storage.flush().await;
        let got = storage.get_call("call-1").expect("get").expect("present");
        // Timestamps round-trip at nanosecond precision through RFC 3339.
        assert_eq!(got, rec);
        assert!(storage.get_call("nope").expect("get").is_none());
        assert_eq!(storage.writer_stats().committed, 1);
    }

    #[tokio::test]
    async fn same_id_replaces_the_earlier_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, Retention::default());
        storage.record_call(call(1, "a", Some("s"), at(10)));
        let mut again = call(1, "b", None, at(1));
        again.tool = "other".into();
        storage.record_call(again.clone());
        storage.flush().await;
        assert_eq!(storage.get_call("call-1").expect("get"), Some(again));
        let all = storage.list_calls(&CallQuery::default()).expect("list");
        assert_eq!(all.total, 1);
        let by_a = storage
            .list_calls(&CallQuery {
                server: Some("a".into()),
                ..Default::default()
            })
            .expect("list");
        assert_eq!(by_a.total, 0);
        let by_s = storage
            .list_calls(&CallQuery {
                session_id: Some("s".into()),
                ..Default::default()
            })
            .expect("list");
        assert_eq!(by_s.total, 0);
    }

    #[tokio::test]
    async fn paging_is_newest_first_with_filters() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, Retention::default());
        // Recorded out of time order: ordering is by timestamp, not arrival.
        for i in (0..30).rev() {
            let server = if i % 2 == 0 { "even" } else { "odd" };
            let session = if i % 3 == 0 { Some("s3") } else { None };
            storage.record_call(call(i, server, session, at(1000 - i as i64)));
        }
        storage.flush().await;

        let page = storage
            .list_calls(&CallQuery {
                limit: Some(5),
                offset: 0,
                ..Default::default()
            })
            .expect("list");
        assert_eq!(page.total, 30);
        assert_eq!(
            ids(&page),
            ["call-29", "call-28", "call-27", "call-26", "call-25"]
        );
        let page = storage
            .list_calls(&CallQuery {
                limit: Some(5),
                offset: 27,
                ..Default::default()
            })
            .expect("list");
        assert_eq!(ids(&page), ["call-2", "call-1", "call-0"]);
        let page = storage
            .list_calls(&CallQuery {
                offset: 40,
                ..Default::default()
            })
            .expect("list");
        assert!(page.calls.is_empty());
        assert_eq!(page.total, 30);

        // Default and maximum limits.
        assert_eq!(
            storage
                .list_calls(&CallQuery::default())
                .expect("list")
                .limit,
            DEFAULT_LIMIT
        );
        let page = storage
            .list_calls(&CallQuery {
                limit: Some(1000),
                ..Default::default()
            })
            .expect("list");
        assert_eq!(page.limit, MAX_LIMIT);
        assert_eq!(page.calls.len(), 30);

        let q = CallQuery {
            session_id: Some("s3".into()),
            limit: Some(3),
            offset: 1,
            ..Default::default()
        };
        let page = storage.list_calls(&q).expect("list");
        assert_eq!(page.total, 10);
        assert_eq!(ids(&page), ["call-24", "call-21", "call-18"]);

        let q = CallQuery {
            server: Some("odd".into()),
            limit: Some(2),
            ..Default::default()
        };
        let page = storage.list_calls(&q).expect("list");
        assert_eq!(page.total, 15);
        assert_eq!(ids(&page), ["call-29", "call-27"]);

        let q = CallQuery {
            server: Some("even".into()),
            session_id: Some("s3".into()),
            ..Default::default()
        };
        let page = storage.list_calls(&q).expect("list");
        assert_eq!(page.total, 5);
        assert_eq!(
            ids(&page),
            ["call-24", "call-18", "call-12", "call-6", "call-0"]
        );

        let q = CallQuery {
            session_id: Some("nobody".into()),
            ..Default::default()
        };
        assert_eq!(storage.list_calls(&q).expect("list").total, 0);
    }

    #[tokio::test]
    async fn retention_by_count_keeps_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let retention = Retention {
            max_calls: 10,
            ..Retention::default()
        };
        let storage = open_in(&dir, retention);
        for i in 0..25 {
            storage.record_call(call(i, "s", Some("sess"), at(100 - i as i64)));
            if i % 7 == 0 {
                storage.flush().await; // several batches
            }
        }
        storage.flush().await;
        let page = storage.list_calls(&CallQuery::default()).expect("list");
        assert_eq!(page.total, 10);
        assert_eq!(page.calls.first().map(|c| c.id.as_str()), Some("call-24"));
        assert_eq!(page.calls.last().map(|c| c.id.as_str()), Some("call-15"));
        assert!(storage.get_call("call-14").expect("get").is_none());
        // Index rows went with the records.
        let q = CallQuery {
            session_id: Some("sess".into()),
            ..Default::default()
        };
        assert_eq!(storage.list_calls(&q).expect("list").total, 10);
        let q = CallQuery {
            server: Some("s".into()),
            ..Default::default()
        };
        assert_eq!(storage.list_calls(&q).expect("list").total, 10);
        // The session still counts every call it made.
        let session = storage.get_session("sess").expect("get").expect("present");
        assert_eq!(session.tool_call_count, 25);
    }

    #[tokio::test]
    async fn retention_by_age_drops_old_calls_including_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let day = 24 * 3600;
        {
            let storage = open_in(&dir, unlimited());
            storage.record_call(call(1, "s", None, at(40 * day)));
            storage.record_call(call(2, "s", None, at(10 * day)));
            storage.record_call(call(3, "s", None, at(60)));
            storage.flush().await;
            assert_eq!(
                storage
                    .list_calls(&CallQuery::default())
                    .expect("list")
                    .total,
                3
            );
        }
        let storage = open_in(&dir, Retention::default());
        // The writer prunes at start-up; a new call makes sure that commit happened.
        storage.record_call(call(4, "s", None, at(0)));
        storage.flush().await;
        let page = storage.list_calls(&CallQuery::default()).expect("list");
        assert_eq!(ids(&page), ["call-4", "call-3", "call-2"]);
        // A record that arrives already too old is dropped in the same commit.
        storage.record_call(call(5, "s", None, at(31 * day)));
        storage.flush().await;
        assert!(storage.get_call("call-5").expect("get").is_none());
        let short = Retention {
            max_age: Duration::from_secs(5 * day as u64),
            ..Retention::default()
        };
        drop(storage);
        let storage = open_in(&dir, short);
        storage.record_call(call(6, "s", None, at(0)));
        storage.flush().await;
        let page = storage.list_calls(&CallQuery::default()).expect("list");
        assert_eq!(ids(&page), ["call-6", "call-4", "call-3"]);
    }

    #[tokio::test]
    async fn reopen_after_drop_keeps_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let session = SessionRecord {
            client_name: Some("cursor".into()),
            ..SessionRecord::active("s1".into(), at(100))
        };
        let approval = approval("github", "create_issue");
        {
            let storage = open_in(&dir, Retention::default());
            storage.upsert_session(&session).expect("session");
            storage.put_tool_approval(&approval).expect("approval");
            for i in 0..100 {
                storage.record_call(call(i, "github", Some("s1"), at(50)));
            }
            // No flush: dropping the handle drains the queue.
        }
        let storage = open_in(&dir, Retention::default());
        assert_eq!(
            storage
                .list_calls(&CallQuery::default())
                .expect("list")
                .total,
            100
        );
        let s = storage.get_session("s1").expect("get").expect("present");
        assert_eq!(s.tool_call_count, 100);
        assert_eq!(s.client_name.as_deref(), Some("cursor"));
        assert_eq!(
            storage.tool_approvals("github").expect("approvals"),
            vec![approval]
        );
    }

    #[test]
    fn second_open_of_the_same_file_is_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE_NAME);
        let first = Storage::open(&path, Retention::default()).expect("open");
        let err = Storage::open(&path, Retention::default()).expect_err("second open must fail");
        assert!(matches!(err, StorageError::Locked(_)), "{err:?}");
        assert!(
            err.to_string().contains("in use by another process"),
            "{err}"
        );
        drop(first);
        Storage::open(&path, Retention::default()).expect("open after close");
    }

    #[test]
    fn garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE_NAME);
        std::fs::write(
            &path,
            b"this is not a database, it is a text file\n".repeat(200),
        )
        .expect("write");
        let err = Storage::open(&path, Retention::default()).expect_err("must fail");
        assert!(matches!(err, StorageError::Corrupted { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("corrupted or not an mcpproxy database"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn scribbled_file_never_panics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE_NAME);
        {
            let storage = Storage::open(&path, unlimited()).expect("open");
            for i in 0..2000 {
                storage.record_call(call(i, "s", Some("x"), at(10)));
            }
            storage.flush().await;
        }
        let mut bytes = std::fs::read(&path).expect("read");
        let len = bytes.len();
        for (n, b) in bytes[len / 3..len * 2 / 3].iter_mut().enumerate() {
            *b = (n as u8).wrapping_mul(31) ^ 0xA5;
        }
        std::fs::write(&path, &bytes).expect("write");
        // Either outcome is fine; a panic is not (the test would fail).
        match Storage::open(&path, unlimited()) {
            Ok(storage) => {
                let _ = storage.list_calls(&CallQuery {
                    limit: Some(100),
                    ..Default::default()
                });
                let _ = storage.get_call("call-1000");
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }

    #[tokio::test]
    async fn oversized_response_is_stored_truncated_with_marker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, Retention::default());
        let mut rec = call(1, "s", None, at(1));
        rec.response = Some(json!({"text": "x".repeat(200_000)}));
        storage.record_call(rec);
        storage.flush().await;
        let got = storage.get_call("call-1").expect("get").expect("present");
        let response = got.response.expect("response");
        assert_eq!(response["truncated"], true);
        assert!(response["original_bytes"].as_u64().expect("n") > 200_000);
        assert_eq!(got.arguments, json!({"i": 1, "text": "hello"}));
    }

    #[tokio::test]
    async fn sessions_upsert_list_and_prune() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(
            &dir,
            Retention {
                max_sessions: 3,
                ..Retention::default()
            },
        );
        for i in 0..5 {
            let s = SessionRecord::active(format!("s{i}"), at(100 - i));
            storage.upsert_session(&s).expect("upsert");
        }
        let (page, total) = storage.list_sessions(10, 0).expect("list");
        assert_eq!(total, 3);
        let names: Vec<_> = page.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(names, ["s4", "s3", "s2"]);
        let (page, _) = storage.list_sessions(1, 1).expect("list");
        assert_eq!(page[0].id, "s3");

        // Calls bump the count; closing with a stale count does not lower it.
        for i in 0..4 {
            storage.record_call(call(i, "srv", Some("s4"), at(1)));
        }
        storage.flush().await;
        let mut s4 = storage.get_session("s4").expect("get").expect("present");
        assert_eq!(s4.tool_call_count, 4);
        s4.tool_call_count = 1;
        s4.status = session_status::CLOSED.into();
        s4.end_time = Some(at(0));
        storage.upsert_session(&s4).expect("close");
        let s4 = storage.get_session("s4").expect("get").expect("present");
        assert_eq!((s4.status.as_str(), s4.tool_call_count), ("closed", 4));

        // A call naming an unknown session creates it.
        storage.record_call(call(9, "srv", Some("fresh"), at(0)));
        storage.flush().await;
        let fresh = storage.get_session("fresh").expect("get").expect("present");
        assert_eq!(
            (fresh.tool_call_count, fresh.client_name.as_deref()),
            (1, Some("claude"))
        );
        assert_eq!(storage.list_sessions(10, 0).expect("list").1, 3);
    }

    #[tokio::test]
    async fn session_tokens_add_up_and_capabilities_stay_declared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, Retention::default());
        // A record written before these fields existed still reads (as 0 / false).
        let old = r#"{"id":"s","status":"active","start_time":"2026-01-01T00:00:00Z","last_activity":"2026-01-01T00:00:00Z","tool_call_count":2}"#;
        let mut s: SessionRecord = serde_json::from_str(old).expect("old record parses");
        assert_eq!(
            (s.total_tokens, s.has_roots, s.has_sampling),
            (0, false, false)
        );
        s.has_roots = true;
        storage.upsert_session(&s).expect("upsert");
        storage
            .add_session_tokens(&[("s".into(), 40), ("gone".into(), 5)])
            .expect("add");
        storage.add_session_tokens(&[("s".into(), 2)]).expect("add");
        // Closing with a stale copy lowers neither the tokens nor a declared capability.
        s.has_roots = false;
        s.has_sampling = true;
        storage.upsert_session(&s).expect("close");
        let s = storage.get_session("s").expect("get").expect("present");
        assert_eq!(
            (s.total_tokens, s.has_roots, s.has_sampling),
            (42, true, true)
        );
        assert!(storage.get_session("gone").expect("get").is_none());
    }

    fn approval(server: &str, tool: &str) -> ToolApproval {
        let snap = ToolSnapshot {
            description: format!("{tool} does things"),
            input_schema: json!({"type": "object"}),
            output_schema: None,
        };
        ToolApproval {
            server: server.into(),
            tool: tool.into(),
            approved_hash: "h1".into(),
            current_hash: "h1".into(),
            status: ApprovalStatus::Approved,
            approved_at: at(0),
            approved: snap.clone(),
            current: snap,
        }
    }

    #[test]
    fn approvals_are_per_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, Retention::default());
        // "git" is a prefix of "github": the range scan must not mix them.
        storage
            .put_tool_approval(&approval("github", "b"))
            .expect("put");
        storage
            .put_tool_approval(&approval("github", "a"))
            .expect("put");
        storage
            .put_tool_approval(&approval("git", "c"))
            .expect("put");
        storage
            .put_tool_approval(&approval("gitlab", "d"))
            .expect("put");
        let tools: Vec<_> = storage
            .tool_approvals("github")
            .expect("list")
            .into_iter()
            .map(|a| a.tool)
            .collect();
        assert_eq!(tools, ["a", "b"]);
        let mut changed = approval("github", "a");
        changed.status = ApprovalStatus::Changed;
        changed.current_hash = "h2".into();
        storage.put_tool_approval(&changed).expect("put");
        assert_eq!(storage.tool_approvals("github").expect("list")[0], changed);
        storage.delete_tool_approvals("github").expect("delete");
        assert!(storage.tool_approvals("github").expect("list").is_empty());
        assert_eq!(storage.tool_approvals("git").expect("list").len(), 1);
        assert_eq!(storage.tool_approvals("gitlab").expect("list").len(), 1);
    }

    #[tokio::test]
    async fn record_call_throughput_20k() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = open_in(&dir, unlimited());
        let n = 20_000;
        let records: Vec<_> = (0..n)
            .map(|i| call(i, "bench", Some("sess"), at(1)))
            .collect();
        let started = Instant::now();
        for rec in records {
            storage.record_call(rec);
        }
        let enqueued = started.elapsed();
        storage.flush().await;
        let durable = started.elapsed();
        let stats = storage.writer_stats();
        println!(
            "record_call: {n} calls enqueued in {enqueued:?} ({:.0}/s); durable after {durable:?} \
             ({:.0} calls/s, {} batches)",
            n as f64 / enqueued.as_secs_f64(),
            n as f64 / durable.as_secs_f64(),
            stats.batches,
        );
        assert_eq!(
            (stats.committed, stats.dropped, stats.failed),
            (n as u64, 0, 0)
        );
        assert_eq!(
            storage
                .list_calls(&CallQuery::default())
                .expect("list")
                .total,
            n
        );
        assert!(storage.get_call("call-12345").expect("get").is_some());
    }

    /// Set to the DB path to make `crash_child_writer` write until killed.
    const CRASH_CHILD_ENV: &str = "MCPPROXY_STORAGE_CRASH_CHILD_DB";

    /// The child half of `crash_mid_write_leaves_a_consistent_file`; a no-op otherwise.
    #[tokio::test]
    async fn crash_child_writer() {
        let Ok(path) = std::env::var(CRASH_CHILD_ENV) else {
            return;
        };
        let storage = Storage::open(Path::new(&path), unlimited()).expect("child open");
        let base = storage
            .list_calls(&CallQuery::default())
            .expect("list")
            .total;
        let mut i = base;
        loop {
            for _ in 0..300 {
                let mut rec = call(i, "crash", Some("c"), Utc::now());
                if i.is_multiple_of(50) {
                    // Some multi-page values too.
                    rec.response = Some(json!({"blob": "y".repeat(20_000 + i % 7000)}));
                }
                storage.record_call(rec);
                i += 1;
            }
            storage.flush().await;
            println!("flushed {i}");
        }
    }

    #[test]
    fn crash_mid_write_leaves_a_consistent_file() {
        if std::env::var_os(CRASH_CHILD_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(DB_FILE_NAME);
        let exe = std::env::current_exe().expect("current exe");
        for round in 0..2 {
            let mut child = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "storage::tests::crash_child_writer",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CRASH_CHILD_ENV, &path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn child");
            let stdout = child.stdout.take().expect("stdout");
            let mut durable = 0usize;
            let mut flushes = 0;
            for line in std::io::BufReader::new(stdout).lines() {
                let line = line.expect("line");
                if let Some(n) = line.strip_prefix("flushed ") {
                    durable = n.trim().parse().expect("count");
                    flushes += 1;
                    if flushes == 8 {
                        break;
                    }
                }
            }
            assert_eq!(flushes, 8, "child stopped early");
            // Another process holds the file: opening it here is refused cleanly.
            let err = Storage::open(&path, unlimited()).expect_err("child holds the lock");
            assert!(matches!(err, StorageError::Locked(_)), "{err:?}");
            std::thread::sleep(Duration::from_millis(15));
            child.kill().expect("SIGKILL"); // SIGKILL on Unix
            let status = child.wait().expect("wait");
            assert!(!status.success(), "round {round}: child exited on its own");

            let storage = Storage::open(&path, unlimited()).expect("reopen after kill -9");
            let total = storage
                .list_calls(&CallQuery::default())
                .expect("list")
                .total;
            assert!(
                total >= durable,
                "round {round}: lost flushed records: {total} < {durable}"
            );
            // Every stored record is intact JSON, and every index row points at one.
            let txn = storage.db.begin_read().expect("read");
            let calls = txn.open_table(CALLS).expect("calls");
            let mut seen = 0;
            for entry in calls.iter().expect("iter") {
                let (_, v) = entry.expect("entry");
                let rec: ToolCallRecord = serde_json::from_slice(v.value()).expect("intact record");
                assert_eq!(rec.server, "crash");
                seen += 1;
            }
            assert_eq!(seen, total);
            let by_session = storage
                .list_calls(&CallQuery {
                    session_id: Some("c".into()),
                    ..Default::default()
                })
                .expect("by session");
            assert_eq!(by_session.total, total);
            let session = storage.get_session("c").expect("session").expect("present");
            assert_eq!(session.tool_call_count as usize, total);
            println!(
                "round {round}: {durable} acknowledged durable, {total} present after kill -9"
            );
        }
    }
}
