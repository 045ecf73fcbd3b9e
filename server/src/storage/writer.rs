//! The background writer: one OS thread that owns every tool-call write. Callers journal a
//! record (see `journal`) and hand it over a bounded channel and return at once; the thread
//! gathers records for up to [`LINGER`] (or [`MAX_BATCH`] of them, or until someone waits
//! in `Storage::flush`), starts a new journal generation, and commits the batch in one
//! durable transaction (group commit), so the fsync and the B-tree work are paid per batch,
//! not per call. Retention runs inside the same transaction.
//!
//! Progress is published as the number of records processed (committed or failed) on a watch
//! channel, which is what `Storage::flush` waits on.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::Database;
use tokio::sync::watch;

use super::journal::Journal;
use super::tables::EncodedCall;
use super::types::Retention;
use super::{StorageError, tables};

/// Largest number of records gathered before a commit.
pub(crate) const MAX_BATCH: usize = 8192;
/// Records that may wait for the writer before `record_call` starts dropping them.
/// Records are boxed in the queue: the channel preallocates every slot, so a slot is one
/// pointer (512 KiB in all) rather than a whole record (~18 MiB).
pub(crate) const QUEUE_CAPACITY: usize = 65_536;
/// How long the writer gathers records before committing them.
pub(crate) const LINGER: Duration = Duration::from_millis(100);

/// What the writer is handed.
pub(crate) enum Msg {
    /// A call to store.
    Call(Box<EncodedCall>),
    /// Someone waits for everything queued to be committed: stop gathering.
    Flush,
}

/// Counters the writer shares with `Storage`.
#[derive(Debug, Default)]
pub(crate) struct WriterShared {
    pub(crate) committed: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) last_error: Mutex<Option<String>>,
}

impl WriterShared {
    fn fail(&self, records: usize, error: String) {
        self.failed.fetch_add(records as u64, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }
}

/// Everything the writer thread owns.
pub(crate) struct Writer {
    pub(crate) db: Arc<Database>,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) journal: Arc<Journal>,
    pub(crate) retention: Retention,
    pub(crate) shared: Arc<WriterShared>,
    pub(crate) progress: watch::Sender<u64>,
}

impl Writer {
    /// Runs until every sender is gone and the queue is drained.
    pub(crate) fn run(self) {
        // Apply retention once at start-up, before any new record arrives.
        if let Err(e) = commit(&self.db, Vec::new(), &self.retention) {
            self.shared.fail(0, e.to_string());
        }
        let mut processed: u64 = 0;
        loop {
            let (mut batch, open) = self.gather();
            if batch.is_empty() && open {
                continue;
            }
            // A new generation, and everything still queued, atomically with respect to
            // appends: afterwards every record of the finished generation is in `batch`.
            let finished = self.journal.rotate(|| {
                while let Ok(msg) = self.rx.try_recv() {
                    if let Msg::Call(record) = msg {
                        batch.push(*record);
                    }
                }
            });
            let n = batch.len();
            if n > 0 {
                let started = Instant::now();
                let committed = commit(&self.db, batch, &self.retention);
                crate::telemetry::metrics().record_commit(started.elapsed());
                match committed {
                    Ok(()) => {
                        self.shared.committed.fetch_add(n as u64, Ordering::Relaxed);
                        self.shared.batches.fetch_add(1, Ordering::Relaxed);
                        if let Some(path) = finished {
                            let _ = std::fs::remove_file(path);
                        }
                    }
                    // The journal generation stays; the next start replays it.
                    Err(e) => self.shared.fail(n, e.to_string()),
                }
            } else if let Some(path) = finished {
                let _ = std::fs::remove_file(path);
            }
            processed += n as u64;
            self.progress.send_replace(processed);
            if !open {
                self.journal.close();
                return;
            }
        }
    }

    /// The records gathered for the next batch, and whether the queue is still open.
    /// Blocks for the first record, then gathers for up to [`LINGER`], until
    /// [`MAX_BATCH`], or until a [`Msg::Flush`]. While gathering the thread sleeps rather
    /// than waiting in `recv`, so a sender never has to wake it: one wake-up per batch,
    /// not per call (`Storage::flush` unparks it).
    fn gather(&self) -> (Vec<EncodedCall>, bool) {
        let mut batch = Vec::new();
        match self.rx.recv() {
            Ok(Msg::Call(record)) => batch.push(*record),
            Ok(Msg::Flush) => return (batch, true),
            Err(_) => return (batch, false),
        }
        let deadline = Instant::now() + LINGER;
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Msg::Call(record)) => batch.push(*record),
                    Ok(Msg::Flush) => return (batch, true),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return (batch, false),
                }
            }
            let now = Instant::now();
            if batch.len() >= MAX_BATCH || now >= deadline {
                return (batch, true);
            }
            std::thread::park_timeout(deadline - now);
        }
    }
}

/// One durable transaction: the batch plus retention.
fn commit(
    db: &Database,
    batch: Vec<EncodedCall>,
    retention: &Retention,
) -> Result<(), StorageError> {
    super::guard(AssertUnwindSafe(|| {
        let txn = db.begin_write()?;
        tables::write_calls(&txn, batch, retention, chrono::Utc::now())?;
        txn.commit()?;
        Ok(())
    }))
}
