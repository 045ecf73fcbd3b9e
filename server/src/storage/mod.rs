//! Persistent state: the one module that opens the database file `<data_dir>/mcpproxy.db`
//! (redb, an embedded ACID key-value store). It keeps tool-call history, MCP client sessions,
//! tool approvals (pinning) and agent tokens (hashed); everything else asks this module.
//!
//! Durability: management writes (sessions, approvals) commit durably before returning; so do
//! activity-log actions, but in the writer's group commits (see `writer`). Tool
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
mod activity;
mod agent_tokens;
mod approvals;
mod calls;
mod error;
mod journal;
mod sessions;
mod tables;
mod types;
mod writer;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

use redb::Database;
use tokio::sync::watch;

pub use activity::{
    ActivityCursor, ActivityKind, ActivityPage, ActivityQuery, ActivityRecord, Actor, BadCursor,
    EXPORT_PAGE, activity_status,
};
pub use calls::WriterStats;
pub use error::StorageError;
use error::{guard, open_error};
pub use types::{
    ApprovalStatus, CallPage, CallQuery, DEFAULT_LIMIT, MAX_LIMIT, Retention, SessionRecord, Tier,
    TokenRecord, ToolApproval, ToolCallRecord, ToolSnapshot, session_status,
};

/// The database file name inside the data directory.
pub const DB_FILE_NAME: &str = "mcpproxy.db";

/// Page cache the database may use.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

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
        calls::replay(&db, leftovers, &retention)?;
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

#[cfg(test)]
mod tests;
