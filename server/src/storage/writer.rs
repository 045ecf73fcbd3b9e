//! The background writer: one OS thread that owns every write of the call history and the
//! activity log. Callers journal a call record (see `journal`) and hand it over a bounded
//! channel and return at once; the thread gathers records for up to [`LINGER`] (or
//! [`MAX_BATCH`] of them, or until someone waits), starts a new journal generation, and
//! commits the batch in one durable transaction (group commit), so the fsync and the B-tree
//! work are paid per batch, not per record. Retention runs inside the same transaction.
//!
//! Three kinds of writes share the batches: tool calls; management actions, whose author
//! waits for the commit (an [`Ack`]: an action ends the gathering at once, and actions that
//! arrive while a batch commits share the next one, so a storm of them costs one fsync per
//! batch, not per action); and the token counts of recorded calls (the meter counts after
//! the call is recorded, see `tokens::meter`): a count whose call is in the same batch goes
//! into that call's record before it is written, any other is set in the stored record.
//!
//! Progress is published as the number of calls and token counts processed (committed or
//! failed) on a watch channel, which is what `Storage::flush` waits on.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::Database;
use tokio::sync::watch;

use super::activity::{self, EncodedAction};
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
    /// A management action to store; its author waits for the commit.
    Action(Box<PendingAction>),
    /// The tokens of the answer to the recorded call `id`.
    Tokens {
        /// The call's id.
        id: String,
        /// Its tokens.
        tokens: u64,
    },
    /// Someone waits for everything queued to be committed: stop gathering.
    Flush,
}

/// A management action and who waits for its commit.
pub(crate) struct PendingAction {
    pub(crate) action: EncodedAction,
    pub(crate) done: Ack,
}

/// Where the outcome of an action's commit goes (`Err` holds the commit error).
pub(crate) enum Ack {
    /// A thread blocked in `recv`.
    Blocking(std::sync::mpsc::SyncSender<Result<(), String>>),
    /// A task awaiting the receiver.
    Async(tokio::sync::oneshot::Sender<Result<(), String>>),
}

impl Ack {
    /// Tell the waiter (gone waiters are ignored: the write stands).
    fn send(self, outcome: Result<(), String>) {
        match self {
            Self::Blocking(tx) => {
                let _ = tx.try_send(outcome);
            }
            Self::Async(tx) => {
                let _ = tx.send(outcome);
            }
        }
    }
}

/// What one transaction writes.
#[derive(Default)]
struct Batch {
    calls: Vec<EncodedCall>,
    actions: Vec<EncodedAction>,
    tokens: Vec<(String, u64)>,
    acks: Vec<Ack>,
}

impl Batch {
    /// Adds `msg`; true when someone waits for it (the gathering stops).
    fn add(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Call(record) => {
                self.calls.push(*record);
                false
            }
            Msg::Action(pending) => {
                let PendingAction { action, done } = *pending;
                self.actions.push(action);
                self.acks.push(done);
                true
            }
            Msg::Tokens { id, tokens } => {
                self.tokens.push((id, tokens));
                false
            }
            Msg::Flush => true,
        }
    }

    fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.actions.is_empty() && self.tokens.is_empty()
    }

    /// Sets the token counts of the batch's own calls in their records (the usual case: the
    /// meter counts within milliseconds of the record); the counts of calls committed in an
    /// earlier batch are left, to be set in the stored records.
    fn merge_tokens(&mut self) {
        if self.tokens.is_empty() {
            return;
        }
        let mut counts: HashMap<String, u64> =
            std::mem::take(&mut self.tokens).into_iter().collect();
        // Newest first: of a call recorded twice in the batch, the last record is the one kept.
        for call in self.calls.iter_mut().rev() {
            if let Some(tokens) = counts.remove(call.id())
                && call.set_tokens(tokens).is_err()
            {
                // Set in the stored record (which skips a record that does not decode).
                self.tokens.push((call.id().to_string(), tokens));
            }
        }
        self.tokens.extend(counts);
    }

    /// The messages `Storage::flush` counts (calls and token counts).
    fn counted(&self) -> u64 {
        (self.calls.len() + self.tokens.len()) as u64
    }
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
        if let Err(e) = commit(&self.db, Batch::default(), &self.retention) {
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
                    batch.add(msg);
                }
            });
            let counted = batch.counted();
            if !batch.is_empty() {
                let calls = batch.calls.len();
                let acks = std::mem::take(&mut batch.acks);
                let started = Instant::now();
                let committed = commit(&self.db, batch, &self.retention);
                crate::telemetry::metrics().record_commit(started.elapsed());
                match committed {
                    Ok(()) => {
                        self.shared
                            .committed
                            .fetch_add(calls as u64, Ordering::Relaxed);
                        self.shared.batches.fetch_add(1, Ordering::Relaxed);
                        acks.into_iter().for_each(|ack| ack.send(Ok(())));
                        if let Some(finished) = finished {
                            self.journal.recycle(finished);
                        }
                    }
                    // The journal generation stays; the next start replays it.
                    Err(e) => {
                        let error = e.to_string();
                        self.shared.fail(calls, error.clone());
                        acks.into_iter()
                            .for_each(|ack| ack.send(Err(error.clone())));
                    }
                }
            } else if let Some(finished) = finished {
                self.journal.recycle(finished);
            }
            processed += counted;
            self.progress.send_replace(processed);
            if !open {
                self.journal.close();
                return;
            }
        }
    }

    /// The records gathered for the next batch, and whether the queue is still open.
    /// Blocks for the first record, then gathers for up to [`LINGER`], until
    /// [`MAX_BATCH`] calls, or until someone waits (a [`Msg::Flush`] or an action). While
    /// gathering the thread sleeps rather than waiting in `recv`, so a sender never has to
    /// wake it: one wake-up per batch, not per call (`Storage::flush` and actions unpark it).
    fn gather(&self) -> (Batch, bool) {
        let mut batch = Batch::default();
        match self.rx.recv() {
            Ok(msg) => {
                if batch.add(msg) {
                    return (batch, true);
                }
            }
            Err(_) => return (batch, false),
        }
        let deadline = Instant::now() + LINGER;
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(msg) => {
                        if batch.add(msg) {
                            return (batch, true);
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return (batch, false),
                }
            }
            let now = Instant::now();
            if batch.calls.len() >= MAX_BATCH || now >= deadline {
                return (batch, true);
            }
            std::thread::park_timeout(deadline - now);
        }
    }
}

/// One durable transaction: the batch's calls, their token counts, its actions, and
/// retention of both tables.
fn commit(db: &Database, batch: Batch, retention: &Retention) -> Result<(), StorageError> {
    super::guard(AssertUnwindSafe(|| {
        let now = chrono::Utc::now();
        let txn = db.begin_write()?;
        let mut batch = batch;
        batch.merge_tokens();
        tables::write_calls(&txn, batch.calls, retention, now)?;
        tables::set_call_tokens(&txn, &batch.tokens)?;
        activity::write_actions(&txn, batch.actions, retention, now)?;
        txn.commit()?;
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ToolCallRecord;

    #[test]
    fn counts_of_the_batchs_own_calls_go_into_their_records() {
        let call = |id: &str| EncodedCall::new(ToolCallRecord::bare(id)).expect("encode");
        let mut batch = Batch {
            calls: vec![call("c1"), call("c2")],
            tokens: vec![("c2".into(), 5), ("earlier".into(), 7)],
            ..Batch::default()
        };
        batch.merge_tokens();
        assert_eq!(batch.tokens, vec![("earlier".to_string(), 7)]);
        let tokens = |call: &EncodedCall| {
            serde_json::from_slice::<ToolCallRecord>(call.as_ref())
                .expect("decode")
                .tokens
        };
        assert_eq!(tokens(&batch.calls[0]), None);
        assert_eq!(tokens(&batch.calls[1]), Some(5));
    }
}
