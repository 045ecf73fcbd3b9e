//! The background writer: one OS thread that owns every tool-call write. Callers hand records
//! over a bounded channel and return at once; the thread takes everything queued (up to
//! [`MAX_BATCH`]) and commits it in one durable transaction (group commit), so the fsync cost
//! is paid per batch, not per call. Retention runs inside the same transaction.
//!
//! Progress is published as the number of records processed (committed or failed) on a watch
//! channel, which is what `Storage::flush` waits on.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use redb::Database;
use tokio::sync::watch;

use super::types::{Retention, ToolCallRecord};
use super::{StorageError, tables};

/// Largest number of records committed in one transaction.
pub(crate) const MAX_BATCH: usize = 8192;
/// Records that may wait for the writer before `record_call` starts dropping them.
/// Records are boxed in the queue: the channel preallocates every slot, so a slot is one
/// pointer (512 KiB in all) rather than a whole record (~18 MiB).
pub(crate) const QUEUE_CAPACITY: usize = 65_536;

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

/// Runs until every sender is gone and the queue is drained.
pub(crate) fn run(
    db: Arc<Database>,
    rx: Receiver<Box<ToolCallRecord>>,
    retention: Retention,
    shared: Arc<WriterShared>,
    progress: watch::Sender<u64>,
) {
    // Apply retention once at start-up, before any new record arrives.
    if let Err(e) = commit(&db, Vec::new(), &retention) {
        shared.fail(0, e.to_string());
    }
    let mut processed: u64 = 0;
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(64);
        batch.push(*first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(rec) => batch.push(*rec),
                Err(_) => break,
            }
        }
        let n = batch.len();
        match commit(&db, batch, &retention) {
            Ok(()) => {
                shared.committed.fetch_add(n as u64, Ordering::Relaxed);
                shared.batches.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => shared.fail(n, e.to_string()),
        }
        processed += n as u64;
        progress.send_replace(processed);
    }
}

/// One durable transaction: the batch plus retention.
fn commit(
    db: &Database,
    batch: Vec<ToolCallRecord>,
    retention: &Retention,
) -> Result<(), StorageError> {
    super::guard(AssertUnwindSafe(|| {
        let txn = db.begin_write()?;
        tables::write_calls(&txn, batch, retention, chrono::Utc::now())?;
        txn.commit()?;
        Ok(())
    }))
}
