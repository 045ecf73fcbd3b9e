//! Tool-call history: recording (journal + queue for the background writer), flushing,
//! the writer's counters, listing and lookup, and the replay of an earlier process's journal.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::mpsc::TrySendError;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::error::guard;
use super::tables::{self, CALL_IDS, CALLS, CALLS_BY_SERVER, CALLS_BY_SESSION, CallKey, read_json};
use super::{
    CallPage, CallQuery, Retention, Storage, StorageError, ToolCallRecord, journal, writer,
};

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

impl Storage {
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

    /// Sets the `tokens` of the recorded call `id` (counted after it was recorded): queued
    /// for the writer like a call, so it costs no transaction of its own; returns at once.
    /// Lost if the queue is full or the process dies before the next commit (counts are not
    /// journaled).
    pub fn record_call_tokens(&self, id: &str, tokens: u64) {
        let Some(q) = &self.queue else { return };
        let msg = writer::Msg::Tokens {
            id: id.to_string(),
            tokens,
        };
        if q.try_send(msg).is_ok() {
            self.enqueued.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Waits until every call (and call token count) recorded before this one is committed
    /// (or its commit failed, see [`Self::writer_stats`]). Returns at once if the writer has stopped.
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
}

/// Store the records an earlier process journaled but did not commit (it was killed), then
/// delete the journal files. Records already stored are skipped.
pub(super) fn replay(
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
