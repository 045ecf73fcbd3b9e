//! The on-disk layout — table definitions and key encodings — and the transaction-level
//! operations on it (insert, prune, list). Everything here runs inside a transaction its caller
//! opened; nothing here commits.
//!
//! Layout (values are JSON):
//! - `tool_calls`: `(timestamp_nanos, seq)` → record. Newest first is a reverse scan; `seq` (a
//!   counter kept in `meta`) makes keys unique when timestamps collide.
//! - `tool_call_ids`: id → call key, so `get_call` is one index lookup plus one get.
//! - `tool_calls_by_session` / `tool_calls_by_server`: `(name, timestamp_nanos, seq)` → `()`,
//!   so filtered pages are a reverse range scan.
//! - `sessions`: session id → record (at most `max_sessions` rows, listed by loading them all).
//! - `tool_approvals`: `(server, tool)` → record.
//! - `agent_tokens`: token name → record (the secret's hash, never the secret).
//! - `server_notes`: `(server, kind)` → JSON kept for a person's review of a server (the last
//!   approved connection settings, the tools a person's inspection found).
//! - `activity` / `activity_ids`: management actions (see `activity`).
//! - `meta`: `schema_version`, `next_seq`, `next_activity_seq`.

use std::collections::HashMap;
use std::ops::Bound;

use chrono::{DateTime, Utc};
use redb::{ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction};
use serde::Deserialize;

use super::StorageError;
use super::types::{Retention, SessionRecord, ToolCallRecord};

/// A call's primary key.
pub(crate) type CallKey = (i64, u64);

/// A call ready to store: its JSON, serialized once for both the journal (as one line) and
/// the `tool_calls` table, and the fields the keys and indexes are made of.
pub(crate) struct EncodedCall {
    /// The record's JSON and a trailing newline.
    line: Vec<u8>,
    /// Whether the JSON holds `tokens`.
    counted: bool,
    id: String,
    server: String,
    timestamp: DateTime<Utc>,
    session_id: Option<String>,
    client_name: Option<String>,
    client_version: Option<String>,
}

impl EncodedCall {
    /// Serialize `record` (payloads bounded first, see [`bound_payloads`]).
    pub(crate) fn new(mut record: ToolCallRecord) -> Result<Self, serde_json::Error> {
        bound_payloads(&mut record);
        Ok(Self {
            line: json_line(&record)?,
            counted: record.tokens.is_some(),
            id: record.id,
            server: record.server,
            timestamp: record.timestamp,
            session_id: record.session_id,
            client_name: record.client_name,
            client_version: record.client_version,
        })
    }

    /// The call's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Sets the record's `tokens`, counted after it was encoded. A record encoded without
    /// them (every fresh call) gets them appended as its JSON object's last member, without
    /// decoding it; one that had them is decoded and encoded again.
    pub(crate) fn set_tokens(&mut self, tokens: u64) -> Result<(), serde_json::Error> {
        if self.counted {
            let mut record: ToolCallRecord = serde_json::from_slice(self.json())?;
            record.tokens = Some(tokens);
            self.line = json_line(&record)?;
            return Ok(());
        }
        // `…}\n` becomes `…,"tokens":N}\n`.
        let end = self.json().len().saturating_sub(1);
        self.line.truncate(end);
        self.line
            .extend_from_slice(format!(",\"tokens\":{tokens}}}\n").as_bytes());
        self.counted = true;
        Ok(())
    }

    /// The record's JSON, without the newline.
    fn json(&self) -> &[u8] {
        self.line.strip_suffix(b"\n").unwrap_or(&self.line)
    }
}

/// `record` as one JSON line.
fn json_line(record: &ToolCallRecord) -> Result<Vec<u8>, serde_json::Error> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    Ok(line)
}

impl AsRef<[u8]> for EncodedCall {
    /// The journal line.
    fn as_ref(&self) -> &[u8] {
        &self.line
    }
}

pub(crate) const CALLS: TableDefinition<CallKey, &[u8]> = TableDefinition::new("tool_calls");
pub(crate) const CALL_IDS: TableDefinition<&str, CallKey> = TableDefinition::new("tool_call_ids");
pub(crate) const CALLS_BY_SESSION: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("tool_calls_by_session");
pub(crate) const CALLS_BY_SERVER: TableDefinition<(&str, i64, u64), ()> =
    TableDefinition::new("tool_calls_by_server");
pub(crate) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
pub(crate) const APPROVALS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("tool_approvals");
pub(crate) const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("agent_tokens");
pub(crate) const SERVER_NOTES: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("server_notes");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";
pub(crate) const NEXT_SEQ_KEY: &str = "next_seq";
/// The layout described above.
pub(crate) const SCHEMA_VERSION: u64 = 1;

/// Largest serialized `arguments`/`response` kept verbatim.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// A timestamp as a sortable key part (clamped outside chrono's nanosecond range).
pub(crate) fn ts_key(t: &DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Creates every table, checks the schema version and records it.
pub(crate) fn init(txn: &WriteTransaction) -> Result<(), StorageError> {
    txn.open_table(CALLS)?;
    txn.open_table(CALL_IDS)?;
    txn.open_table(CALLS_BY_SESSION)?;
    txn.open_table(CALLS_BY_SERVER)?;
    txn.open_table(SESSIONS)?;
    txn.open_table(APPROVALS)?;
    txn.open_table(TOKENS)?;
    txn.open_table(SERVER_NOTES)?;
    txn.open_table(super::activity::ACTIVITY)?;
    txn.open_table(super::activity::ACTIVITY_IDS)?;
    let mut meta = txn.open_table(META)?;
    let found = meta.get(SCHEMA_VERSION_KEY)?.map(|g| g.value());
    match found {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StorageError::Incompatible(format!(
                "schema version {v} was written by a newer mcpproxy (this one reads {SCHEMA_VERSION})"
            )));
        }
        Some(_) => {}
        None => {
            meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)?;
        }
    }
    Ok(())
}

/// The fields of a stored call needed to unlink it from the indexes.
#[derive(Deserialize)]
struct CallLinks {
    id: String,
    server: String,
    #[serde(default)]
    session_id: Option<String>,
}

/// Counts and times of recorded calls for one session within one batch.
struct SessionBump {
    calls: u64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    client_name: Option<String>,
    client_version: Option<String>,
}

/// Writes one batch of calls, bumps their sessions and applies retention, all in `txn`.
pub(crate) fn write_calls(
    txn: &WriteTransaction,
    batch: Vec<EncodedCall>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let mut meta = txn.open_table(META)?;
    let mut calls = txn.open_table(CALLS)?;
    let mut ids = txn.open_table(CALL_IDS)?;
    let mut by_session = txn.open_table(CALLS_BY_SESSION)?;
    let mut by_server = txn.open_table(CALLS_BY_SERVER)?;
    let mut seq = meta.get(NEXT_SEQ_KEY)?.map(|g| g.value()).unwrap_or(0);
    let mut bumps: HashMap<String, SessionBump> = HashMap::new();

    let had_calls = !batch.is_empty();
    for mut rec in batch {
        let key = (ts_key(&rec.timestamp), seq);
        seq = seq.wrapping_add(1);
        let replaced = ids.insert(rec.id.as_str(), key)?.map(|g| g.value());
        if let Some(old) = replaced {
            // Same id recorded again: the new record replaces the old one everywhere.
            unlink_call(&mut calls, &mut by_session, &mut by_server, None, old)?;
        }
        calls.insert(key, rec.json())?;
        by_server.insert((rec.server.as_str(), key.0, key.1), ())?;
        if let Some(session) = rec.session_id.take() {
            by_session.insert((session.as_str(), key.0, key.1), ())?;
            let bump = bumps.entry(session).or_insert_with(|| SessionBump {
                calls: 0,
                first: rec.timestamp,
                last: rec.timestamp,
                client_name: None,
                client_version: None,
            });
            bump.calls += 1;
            bump.first = bump.first.min(rec.timestamp);
            bump.last = bump.last.max(rec.timestamp);
            if rec.client_name.is_some() {
                bump.client_name = rec.client_name.take();
            }
            if rec.client_version.is_some() {
                bump.client_version = rec.client_version.take();
            }
        }
    }
    if had_calls {
        meta.insert(NEXT_SEQ_KEY, seq)?;
    }

    prune_calls(
        &mut calls,
        &mut ids,
        &mut by_session,
        &mut by_server,
        retention,
        now,
    )?;
    drop((meta, calls, ids, by_session, by_server));

    if !bumps.is_empty() {
        let mut sessions = txn.open_table(SESSIONS)?;
        for (id, bump) in bumps {
            let existing =
                read_json::<SessionRecord>(sessions.get(id.as_str())?.as_ref().map(|g| g.value()))?;
            let session = match existing {
                Some(mut s) => {
                    s.tool_call_count += bump.calls;
                    s.last_activity = s.last_activity.max(bump.last);
                    if s.client_name.is_none() {
                        s.client_name = bump.client_name;
                    }
                    if s.client_version.is_none() {
                        s.client_version = bump.client_version;
                    }
                    s
                }
                None => SessionRecord {
                    client_name: bump.client_name,
                    client_version: bump.client_version,
                    last_activity: bump.last,
                    tool_call_count: bump.calls,
                    ..SessionRecord::active(id.clone(), bump.first)
                },
            };
            sessions.insert(id.as_str(), serde_json::to_vec(&session)?.as_slice())?;
        }
        prune_sessions(&mut sessions, retention.max_sessions)?;
    }
    Ok(())
}

/// Sets the `tokens` of recorded calls by id, in `txn`. A call no longer kept (or whose
/// record does not decode) is skipped: a count never fails the batch it rides in.
pub(crate) fn set_call_tokens(
    txn: &WriteTransaction,
    updates: &[(String, u64)],
) -> Result<(), StorageError> {
    if updates.is_empty() {
        return Ok(());
    }
    let ids = txn.open_table(CALL_IDS)?;
    let mut calls = txn.open_table(CALLS)?;
    for (id, tokens) in updates {
        let Some(key) = ids.get(id.as_str())?.map(|g| g.value()) else {
            continue;
        };
        let stored = calls.get(key)?.map(|g| g.value().to_vec());
        let Some(Ok(mut record)) = stored.map(|b| serde_json::from_slice::<ToolCallRecord>(&b))
        else {
            continue;
        };
        record.tokens = Some(*tokens);
        calls.insert(key, serde_json::to_vec(&record)?.as_slice())?;
    }
    Ok(())
}

/// Replaces an over-long `arguments`/`response` with a marker holding a preview.
pub(crate) fn bound_payloads(rec: &mut ToolCallRecord) {
    bound_value(&mut rec.arguments);
    if let Some(response) = rec.response.as_mut() {
        bound_value(response);
    }
    if let Some(error) = rec.error.as_mut()
        && error.len() > MAX_PAYLOAD_BYTES
    {
        let cut = floor_char_boundary(error, MAX_PAYLOAD_BYTES);
        error.truncate(cut);
        error.push_str("… [truncated by mcpproxy]");
    }
}

/// A writer that keeps at most `MAX_PAYLOAD_BYTES` and fails once more is written.
struct Capped {
    buf: Vec<u8>,
    total: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.total += data.len();
        let room = MAX_PAYLOAD_BYTES.saturating_sub(self.buf.len());
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
        if self.total > MAX_PAYLOAD_BYTES {
            return Err(std::io::Error::other("over the payload cap"));
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn bound_value(value: &mut serde_json::Value) {
    let mut capped = Capped {
        buf: Vec::new(),
        total: 0,
    };
    if serde_json::to_writer(&mut capped, value).is_ok() {
        return;
    }
    // The exact size costs one more (uncapped) pass; only oversized payloads pay it.
    let original = serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(capped.total);
    let preview = String::from_utf8_lossy(&capped.buf);
    let cut = floor_char_boundary(&preview, MAX_PAYLOAD_BYTES);
    *value = serde_json::json!({
        "truncated": true,
        "original_bytes": original,
        "preview": &preview[..cut],
    });
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut i = max;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

type CallsTable<'t> = Table<'t, CallKey, &'static [u8]>;
type IdsTable<'t> = Table<'t, &'static str, CallKey>;
type IndexTable<'t> = Table<'t, (&'static str, i64, u64), ()>;

/// Removes the call at `key` and its index rows; the id row too when `ids` is given and still
/// points at `key`.
fn unlink_call(
    calls: &mut CallsTable<'_>,
    by_session: &mut IndexTable<'_>,
    by_server: &mut IndexTable<'_>,
    ids: Option<&mut IdsTable<'_>>,
    key: CallKey,
) -> Result<(), StorageError> {
    let bytes = calls.remove(key)?.map(|g| g.value().to_vec());
    let Some(bytes) = bytes else { return Ok(()) };
    let links: CallLinks = serde_json::from_slice(&bytes)?;
    unlink_rows(by_session, by_server, ids, key, &links)
}

/// Removes the index rows of the call at `key` (already gone from the calls table); the id
/// row too when `ids` is given and still points at `key`.
fn unlink_rows(
    by_session: &mut IndexTable<'_>,
    by_server: &mut IndexTable<'_>,
    ids: Option<&mut IdsTable<'_>>,
    key: CallKey,
    links: &CallLinks,
) -> Result<(), StorageError> {
    by_server.remove((links.server.as_str(), key.0, key.1))?;
    if let Some(session) = &links.session_id {
        by_session.remove((session.as_str(), key.0, key.1))?;
    }
    if let Some(ids) = ids {
        // Usually the id still points here; when the call was recorded again it points at
        // the new record, and is put back.
        let current = ids.remove(links.id.as_str())?.map(|g| g.value());
        if let Some(newer) = current.filter(|current| *current != key) {
            ids.insert(links.id.as_str(), newer)?;
        }
    }
    Ok(())
}

/// Drops calls older than `max_age`, then the oldest beyond `max_calls`.
fn prune_calls(
    calls: &mut CallsTable<'_>,
    ids: &mut IdsTable<'_>,
    by_session: &mut IndexTable<'_>,
    by_server: &mut IndexTable<'_>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if !retention.max_age.is_zero() {
        let cutoff = chrono::Duration::from_std(retention.max_age)
            .ok()
            .and_then(|age| now.checked_sub_signed(age))
            .map(|t| ts_key(&t));
        if let Some(cutoff) = cutoff {
            // Keys order by time, then by sequence: everything before (cutoff, 0).
            let older = Bound::Excluded((cutoff, 0));
            drop_oldest(calls, ids, by_session, by_server, older, usize::MAX)?;
        }
    }
    if retention.max_calls > 0 {
        let excess = calls.len()?.saturating_sub(retention.max_calls as u64);
        let excess = usize::try_from(excess).unwrap_or(usize::MAX);
        drop_oldest(calls, ids, by_session, by_server, Bound::Unbounded, excess)?;
    }
    Ok(())
}

/// Removes up to `at_most` of the oldest calls with keys below `before`, taken off the
/// front of the table in one pass, and their index and id rows.
fn drop_oldest(
    calls: &mut CallsTable<'_>,
    ids: &mut IdsTable<'_>,
    by_session: &mut IndexTable<'_>,
    by_server: &mut IndexTable<'_>,
    before: Bound<CallKey>,
    at_most: usize,
) -> Result<(), StorageError> {
    let mut gone = Vec::new();
    for entry in calls
        .extract_from_if((Bound::Unbounded, before), |_, _| true)?
        .take(at_most)
    {
        let (key, bytes) = entry?;
        gone.push((
            key.value(),
            serde_json::from_slice::<CallLinks>(bytes.value())?,
        ));
    }
    for (key, links) in &gone {
        unlink_rows(by_session, by_server, Some(&mut *ids), *key, links)?;
    }
    Ok(())
}

/// Keeps the newest `max` sessions by start time (0 = keep all).
pub(crate) fn prune_sessions(
    sessions: &mut Table<'_, &'static str, &'static [u8]>,
    max: usize,
) -> Result<(), StorageError> {
    if max == 0 || sessions.len()? <= max as u64 {
        return Ok(());
    }
    let mut all = Vec::new();
    for entry in sessions.iter()? {
        let (k, v) = entry?;
        let start = serde_json::from_slice::<SessionRecord>(v.value())
            .map(|s| s.start_time)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        all.push((start, k.value().to_string()));
    }
    all.sort();
    let excess = all.len().saturating_sub(max);
    for (_, id) in all.into_iter().take(excess) {
        sessions.remove(id.as_str())?;
    }
    Ok(())
}

/// Decodes an optional stored JSON value.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    bytes: Option<&[u8]>,
) -> Result<Option<T>, StorageError> {
    bytes
        .map(|b| serde_json::from_slice(b).map_err(StorageError::from))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_payloads_are_kept_verbatim() {
        let mut v = serde_json::json!({"a": [1, 2, 3], "b": "x"});
        let before = v.clone();
        bound_value(&mut v);
        assert_eq!(v, before);
    }

    #[test]
    fn large_payloads_become_a_marker_with_preview() {
        let big = "é".repeat(MAX_PAYLOAD_BYTES); // 2 bytes each
        let mut v = serde_json::json!({ "text": big });
        bound_value(&mut v);
        assert_eq!(v["truncated"], true);
        let original = v["original_bytes"].as_u64().expect("size");
        assert!(original > 2 * MAX_PAYLOAD_BYTES as u64);
        let preview = v["preview"].as_str().expect("preview");
        assert!(preview.len() <= MAX_PAYLOAD_BYTES && preview.len() > MAX_PAYLOAD_BYTES - 8);
        assert!(preview.starts_with("{\"text\":\"éé"));
    }

    #[test]
    fn tokens_set_on_an_encoded_call_are_those_of_the_record_encoded_with_them() {
        let decoded = |call: &EncodedCall| -> ToolCallRecord {
            assert!(call.line.ends_with(b"}\n"), "one JSON line");
            serde_json::from_slice(call.json()).expect("valid JSON")
        };
        let mut record = ToolCallRecord::bare("c1");
        record.response = Some(serde_json::json!({"content": [{"type": "text", "text": "}"}]}));
        let mut fresh = EncodedCall::new(record.clone()).expect("encode");
        fresh.set_tokens(42).expect("set");
        let mut counted = record.clone();
        counted.tokens = Some(42);
        assert_eq!(decoded(&fresh), counted);
        // Set again (a record that already has them): replaced, not duplicated.
        fresh.set_tokens(7).expect("set");
        counted.tokens = Some(7);
        assert_eq!(decoded(&fresh), counted);
        assert_eq!(
            fresh.line.windows(8).filter(|w| w == b"\"tokens\"").count(),
            1
        );
    }

    #[test]
    fn timestamp_keys_sort_like_times() {
        let a = DateTime::<Utc>::from_timestamp(1_000, 5).expect("time");
        let b = DateTime::<Utc>::from_timestamp(1_000, 6).expect("time");
        assert!(ts_key(&a) < ts_key(&b));
        assert_eq!(ts_key(&DateTime::<Utc>::MAX_UTC), i64::MAX);
        assert_eq!(ts_key(&DateTime::<Utc>::MIN_UTC), i64::MIN);
    }
}
