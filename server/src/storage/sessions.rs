//! MCP client sessions: upsert (counters never go backwards), token totals, listing, lookup.

use std::panic::AssertUnwindSafe;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::error::guard;
use super::tables::{self, SESSIONS, read_json};
use super::{SessionRecord, Storage, StorageError};

impl Storage {
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
}
