//! The activity log: management actions (the audit trail) kept in the `activity` table, and
//! tool calls read from the calls table (never written twice), merged newest first by time.
//!
//! A position in the merged order is `(timestamp_nanos, source, seq)` with source 0 for the
//! calls table and 1 for `activity`; a page's [`ActivityCursor`] is the position of its last
//! record and the next page continues strictly after it, so paging never repeats or skips a
//! record even while new ones arrive. Each page is one read transaction over range scans:
//! memory is one page, whatever the history holds. A `server` or `session_id` filter reads
//! the calls through the `tool_calls_by_server` / `tool_calls_by_session` index (same keys,
//! so the same order and cursors) instead of decoding every call. Retention: the same limits as calls
//! (`max_calls` newest actions, none older than `max_age`), applied on every commit.
//!
//! Actions are written by the background writer in its group commits (see `writer`); their
//! author waits for the commit, so an action's record is durable, and listed, once
//! [`Storage::record_activity`] (or its async twin) returns.

use std::ops::Bound;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::TrySendError;

use chrono::{DateTime, Utc};
use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};

use super::error::guard;
use super::tables::{CALLS, CALLS_BY_SERVER, CALLS_BY_SESSION, META, read_json, ts_key};
use super::{Retention, Storage, StorageError, ToolCallRecord, writer};

/// Management actions: `(timestamp_nanos, seq)` → record JSON.
pub(crate) const ACTIVITY: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("activity");
/// Action id → its key.
pub(crate) const ACTIVITY_IDS: TableDefinition<&str, (i64, u64)> =
    TableDefinition::new("activity_ids");
/// Records per page of an export (each page is one read transaction).
pub const EXPORT_PAGE: usize = 1_000;
/// The next `seq` of the `activity` table (in `meta`).
const NEXT_ACTIVITY_SEQ_KEY: &str = "next_activity_seq";

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The owner's unix socket (the CLI).
    Socket,
    /// A REST client holding the API key.
    ApiKey,
    /// An MCP client holding this agent token.
    AgentToken {
        /// The token's name.
        name: String,
    },
    /// An MCP client session without an agent token.
    McpSession {
        /// The session id.
        id: String,
    },
    /// The proxy itself (a file reload, a background task).
    System,
}

impl Actor {
    /// The wire name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Socket => "socket",
            Self::ApiKey => "api_key",
            Self::AgentToken { .. } => "agent_token",
            Self::McpSession { .. } => "mcp_session",
            Self::System => "system",
        }
    }

    /// The token name or session id, when there is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::AgentToken { name } => Some(name),
            Self::McpSession { id } => Some(id),
            _ => None,
        }
    }
}

/// What kind of thing happened (the `type` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// An upstream tool call (from the calls table).
    ToolCall,
    /// A server added, removed, enabled, disabled, quarantined or unquarantined.
    ServerChange,
    /// A tool or server approved or rejected.
    Approval,
    /// An upstream login or logout.
    Auth,
    /// A configuration applied, a secret set or deleted.
    Config,
}

impl ActivityKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::ToolCall,
        Self::ServerChange,
        Self::Approval,
        Self::Auth,
        Self::Config,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolCall => "tool_call",
            Self::ServerChange => "server_change",
            Self::Approval => "approval",
            Self::Auth => "auth",
            Self::Config => "config",
        }
    }

    /// The kind with this wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Outcome values of [`ActivityRecord::status`].
pub mod activity_status {
    /// It worked.
    pub const SUCCESS: &str = "success";
    /// It failed (or the tool answered with an error).
    pub const ERROR: &str = "error";
}

/// One entry of the activity log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    /// Unique id (a tool call's is its call id).
    pub id: String,
    /// What kind of thing happened.
    #[serde(rename = "type")]
    pub kind: ActivityKind,
    /// When.
    pub timestamp: DateTime<Utc>,
    /// What was done (`call`, `enable`, `quarantine`, `secret_set`, …).
    pub action: String,
    /// `success` or `error`.
    pub status: String,
    /// Who did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The upstream server concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The tool concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The MCP session it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The agent token's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Wall time in milliseconds (tool calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// Tokens of the answer the agent received (tool calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// The error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Anything else (a tool call's arguments and response, an action's parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl From<ToolCallRecord> for ActivityRecord {
    fn from(c: ToolCallRecord) -> Self {
        let actor = match (&c.token_name, &c.session_id) {
            (Some(name), _) => Some(Actor::AgentToken { name: name.clone() }),
            (None, Some(id)) => Some(Actor::McpSession { id: id.clone() }),
            (None, None) => None,
        };
        Self {
            id: c.id,
            kind: ActivityKind::ToolCall,
            timestamp: c.timestamp,
            action: "call".into(),
            status: if c.is_error {
                activity_status::ERROR
            } else {
                activity_status::SUCCESS
            }
            .into(),
            actor,
            server: Some(c.server),
            tool: Some(c.tool),
            session_id: c.session_id,
            agent: c.token_name,
            duration_ms: Some(c.duration_ms),
            tokens: c.tokens,
            error: c.error,
            details: Some(serde_json::json!({
                "arguments": c.arguments,
                "response": c.response,
            })),
        }
    }
}

/// A position in the merged order (see the module doc), as `next_cursor` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ActivityCursor {
    ts: i64,
    source: u8,
    seq: u64,
}

/// A cursor string that is not one this module made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor {0:?} (pass back a next_cursor unchanged)")]
pub struct BadCursor(pub String);

impl std::fmt::Display for ActivityCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.ts, self.source, self.seq)
    }
}

impl std::str::FromStr for ActivityCursor {
    type Err = BadCursor;
    fn from_str(s: &str) -> Result<Self, BadCursor> {
        let bad = || BadCursor(s.to_string());
        let mut parts = s.split('.');
        let (Some(ts), Some(source), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let source: u8 = source.parse().map_err(|_| bad())?;
        if source > 1 {
            return Err(bad());
        }
        Ok(Self {
            ts: ts.parse().map_err(|_| bad())?,
            source,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// Which records a page holds: every filter must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityQuery {
    /// Only this kind.
    pub kind: Option<ActivityKind>,
    /// Only this upstream server.
    pub server: Option<String>,
    /// Only this tool.
    pub tool: Option<String>,
    /// Only this MCP session.
    pub session_id: Option<String>,
    /// Only this agent token (by name).
    pub agent: Option<String>,
    /// Only this status (`success` / `error`).
    pub status: Option<String>,
    /// Nothing before this.
    pub start: Option<DateTime<Utc>>,
    /// Nothing after this.
    pub end: Option<DateTime<Utc>>,
    /// Only records whose JSON contains this text (case-insensitive).
    pub text: Option<String>,
    /// Continue after this position.
    pub cursor: Option<ActivityCursor>,
    /// Matching records to skip first (the Go original's `offset`).
    pub offset: usize,
    /// Page size (callers clamp it).
    pub limit: usize,
}

impl ActivityQuery {
    fn matches(&self, r: &ActivityRecord, json: &[u8]) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        self.kind.is_none_or(|k| k == r.kind)
            && eq(&self.server, &r.server)
            && eq(&self.tool, &r.tool)
            && eq(&self.session_id, &r.session_id)
            && eq(&self.agent, &r.agent)
            && self.status.as_ref().is_none_or(|s| *s == r.status)
            && self.start.is_none_or(|t| r.timestamp >= t)
            && self.text.as_ref().is_none_or(|t| {
                String::from_utf8_lossy(json)
                    .to_lowercase()
                    .contains(&t.to_lowercase())
            })
    }

    /// The exclusive upper end of the merged order this page reads below.
    fn upper(&self) -> Option<ActivityCursor> {
        let by_end = self.end.map(|t| ActivityCursor {
            ts: ts_key(&t).saturating_add(1),
            source: 0,
            seq: 0,
        });
        match (self.cursor, by_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// One page of the activity log, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityPage {
    /// The records.
    pub records: Vec<ActivityRecord>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<ActivityCursor>,
}

/// The upper bound of table `source`'s keys for a merged-order upper end.
fn table_upper(source: u8, upper: Option<ActivityCursor>) -> Bound<(i64, u64)> {
    match upper {
        None => Bound::Unbounded,
        Some(u) if source < u.source => Bound::Included((u.ts, u64::MAX)),
        Some(u) if source == u.source => Bound::Excluded((u.ts, u.seq)),
        Some(u) => Bound::Excluded((u.ts, 0)),
    }
}

/// Newest-first scan of one name's rows of a calls index (`tool_calls_by_server` /
/// `tool_calls_by_session`).
type IndexScan<'t> =
    std::iter::Peekable<std::iter::Rev<redb::Range<'t, (&'static str, i64, u64), ()>>>;

/// The position `it` would yield next, as a `(timestamp_nanos, seq)` key (an error is taken
/// out of it and returned).
fn peek_key<K: redb::Key + 'static, V: redb::Value + 'static>(
    it: &mut Option<std::iter::Peekable<std::iter::Rev<redb::Range<'_, K, V>>>>,
    position: for<'a> fn(K::SelfType<'a>) -> (i64, u64),
) -> Result<Option<(i64, u64)>, StorageError> {
    let Some(it) = it else { return Ok(None) };
    match it.peek() {
        None => Ok(None),
        Some(Ok((k, _))) => Ok(Some(position(k.value()))),
        Some(Err(_)) => match it.next() {
            Some(Err(e)) => Err(e.into()),
            _ => Ok(None),
        },
    }
}

/// A calls index: `(name, timestamp_nanos, seq)` → `()`.
type CallsIndex = TableDefinition<'static, (&'static str, i64, u64), ()>;
/// A calls index key.
type IndexKey<'a> = (&'a str, i64, u64);

/// The calls index that narrows `q` to one session or one server (session first: it is
/// the narrower), and the name to read in it.
fn calls_index(q: &ActivityQuery) -> Option<(CallsIndex, &str)> {
    match (&q.session_id, &q.server) {
        (Some(session), _) => Some((CALLS_BY_SESSION, session.as_str())),
        (None, Some(server)) => Some((CALLS_BY_SERVER, server.as_str())),
        (None, None) => None,
    }
}

/// `name`'s rows of a calls index below the calls table's upper bound `upper`.
fn index_range(name: &str, upper: Bound<(i64, u64)>) -> (Bound<IndexKey<'_>>, Bound<IndexKey<'_>>) {
    let upper = match upper {
        Bound::Unbounded => Bound::Included((name, i64::MAX, u64::MAX)),
        Bound::Included((ts, seq)) => Bound::Included((name, ts, seq)),
        Bound::Excluded((ts, seq)) => Bound::Excluded((name, ts, seq)),
    };
    (Bound::Included((name, i64::MIN, 0)), upper)
}

/// An action ready to store: its JSON (serialized by its author, not the writer), its id
/// and its time key.
pub(crate) struct EncodedAction {
    ts: i64,
    id: String,
    json: Vec<u8>,
}

impl EncodedAction {
    fn new(record: &ActivityRecord) -> Result<Self, StorageError> {
        Ok(Self {
            ts: ts_key(&record.timestamp),
            id: record.id.clone(),
            json: serde_json::to_vec(record)?,
        })
    }
}

/// Writes `batch` to the `activity` table in `txn`, then drops the oldest actions beyond
/// the retention limits (`max_calls` newest, none older than `max_age`).
pub(crate) fn write_actions(
    txn: &WriteTransaction,
    batch: Vec<EncodedAction>,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let mut meta = txn.open_table(META)?;
    let mut table = txn.open_table(ACTIVITY)?;
    let mut ids = txn.open_table(ACTIVITY_IDS)?;
    if !batch.is_empty() {
        let mut seq = meta
            .get(NEXT_ACTIVITY_SEQ_KEY)?
            .map(|g| g.value())
            .unwrap_or(0);
        for action in batch {
            let key = (action.ts, seq);
            seq = seq.wrapping_add(1);
            table.insert(key, action.json.as_slice())?;
            ids.insert(action.id.as_str(), key)?;
        }
        meta.insert(NEXT_ACTIVITY_SEQ_KEY, seq)?;
    }
    let cutoff = chrono::Duration::from_std(retention.max_age)
        .ok()
        .filter(|_| !retention.max_age.is_zero())
        .and_then(|age| now.checked_sub_signed(age))
        .map(|t| ts_key(&t));
    loop {
        let len = table.len()?;
        let oldest = table.first()?.map(|(k, v)| (k.value(), v.value().to_vec()));
        let Some((key, bytes)) = oldest else { break };
        let too_many = retention.max_calls > 0 && len > retention.max_calls as u64;
        let too_old = cutoff.is_some_and(|c| key.0 < c);
        if !(too_many || too_old) {
            break;
        }
        table.remove(key)?;
        if let Ok(old) = serde_json::from_slice::<ActivityRecord>(&bytes) {
            ids.remove(old.id.as_str())?;
        }
    }
    Ok(())
}

impl Storage {
    /// Records one management action durably, applying retention; blocks until its batch
    /// is committed (see `writer`). For async callers: [`Self::record_activity_async`].
    pub fn record_activity(&self, record: &ActivityRecord) -> Result<(), StorageError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if self.submit_action(record, writer::Ack::Blocking(tx))? {
            return Ok(());
        }
        rx.recv()
            .map_err(|_| StorageError::NotCommitted("the writer stopped".into()))?
            .map_err(StorageError::NotCommitted)
    }

    /// [`Self::record_activity`] without blocking a thread: resolves once its batch is
    /// committed. Dropping the future does not withdraw the record.
    pub async fn record_activity_async(&self, record: &ActivityRecord) -> Result<(), StorageError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.submit_action(record, writer::Ack::Async(tx))? {
            return Ok(());
        }
        rx.await
            .map_err(|_| StorageError::NotCommitted("the writer stopped".into()))?
            .map_err(StorageError::NotCommitted)
    }

    /// Hands `record` to the writer (false: `done` will be told), or, when its queue is full
    /// or closed, commits it in a transaction of its own (true: written). An audit record is
    /// never dropped.
    fn submit_action(
        &self,
        record: &ActivityRecord,
        done: writer::Ack,
    ) -> Result<bool, StorageError> {
        let action = EncodedAction::new(record)?;
        let Some(q) = &self.queue else {
            self.write_actions_now(action)?;
            return Ok(true);
        };
        let pending = Box::new(writer::PendingAction { action, done });
        match q.try_send(writer::Msg::Action(pending)) {
            Ok(()) => {
                if let Some(writer) = &self.writer {
                    writer.thread().unpark();
                }
                Ok(false)
            }
            Err(TrySendError::Full(msg) | TrySendError::Disconnected(msg)) => {
                if let writer::Msg::Action(pending) = msg {
                    self.write_actions_now(pending.action)?;
                }
                Ok(true)
            }
        }
    }

    /// One transaction for one action (the writer cannot take it).
    fn write_actions_now(&self, action: EncodedAction) -> Result<(), StorageError> {
        let retention = self.retention;
        guard(AssertUnwindSafe(move || {
            let txn = self.db.begin_write()?;
            write_actions(&txn, vec![action], &retention, Utc::now())?;
            txn.commit()?;
            Ok(())
        }))
    }

    /// One page of the merged log, newest first (see the module doc). With a `server` or
    /// `session_id` filter, the calls are read through that index rather than scanned.
    pub fn activity_page(&self, q: &ActivityQuery) -> Result<ActivityPage, StorageError> {
        self.read_activity_page(q, true)
    }

    /// [`Self::activity_page`] scanning every call whatever the filters (what the index
    /// must agree with).
    #[cfg(test)]
    pub(crate) fn activity_page_by_scan(
        &self,
        q: &ActivityQuery,
    ) -> Result<ActivityPage, StorageError> {
        self.read_activity_page(q, false)
    }

    fn read_activity_page(
        &self,
        q: &ActivityQuery,
        use_index: bool,
    ) -> Result<ActivityPage, StorageError> {
        let upper = q.upper();
        let start = q.start.map(|t| ts_key(&t));
        let want_calls = q.kind.is_none_or(|k| k == ActivityKind::ToolCall);
        let want_actions = q.kind != Some(ActivityKind::ToolCall);
        let index = calls_index(q).filter(|_| use_index && want_calls);
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let calls = txn.open_table(CALLS)?;
            let actions = txn.open_table(ACTIVITY)?;
            let range = |source: u8| (Bound::Unbounded, table_upper(source, upper));
            let index_table = index.map(|(table, _)| txn.open_table(table)).transpose()?;
            let mut index_iter: Option<IndexScan<'_>> = match (&index_table, index) {
                (Some(table), Some((_, name))) => Some(
                    table
                        .range::<(&str, i64, u64)>(index_range(name, table_upper(0, upper)))?
                        .rev()
                        .peekable(),
                ),
                _ => None,
            };
            let mut calls_iter = if want_calls && index_iter.is_none() {
                Some(calls.range::<(i64, u64)>(range(0))?.rev().peekable())
            } else {
                None
            };
            let mut actions_iter = if want_actions {
                Some(actions.range::<(i64, u64)>(range(1))?.rev().peekable())
            } else {
                None
            };
            let mut records = Vec::new();
            let mut skipped = 0usize;
            let mut last = None;
            loop {
                let c = if index_iter.is_some() {
                    peek_key(&mut index_iter, |(_, ts, seq)| (ts, seq))?
                } else {
                    peek_key(&mut calls_iter, |k| k)?
                };
                let a = peek_key(&mut actions_iter, |k| k)?;
                let (source, key) = match (c, a) {
                    (None, None) => break,
                    (Some(c), None) => (0u8, c),
                    (None, Some(a)) => (1u8, a),
                    (Some(c), Some(a)) => {
                        if (a.0, 1u8, a.1) > (c.0, 0u8, c.1) {
                            (1, a)
                        } else {
                            (0, c)
                        }
                    }
                };
                if start.is_some_and(|s| key.0 < s) {
                    break;
                }
                let value = match (source, index_iter.as_mut()) {
                    (0, Some(it)) => {
                        if let Some(entry) = it.next() {
                            entry?;
                        }
                        // An index row whose call is gone is skipped.
                        let Some(v) = calls.get(key)? else { continue };
                        v
                    }
                    _ => {
                        let it = if source == 0 {
                            calls_iter.as_mut()
                        } else {
                            actions_iter.as_mut()
                        };
                        let Some(Some(entry)) = it.map(Iterator::next) else {
                            break;
                        };
                        entry?.1
                    }
                };
                let json = value.value();
                let record: ActivityRecord = if source == 0 {
                    serde_json::from_slice::<ToolCallRecord>(json)?.into()
                } else {
                    serde_json::from_slice(json)?
                };
                if !q.matches(&record, json) {
                    continue;
                }
                if skipped < q.offset {
                    skipped += 1;
                    continue;
                }
                if records.len() == q.limit {
                    return Ok(ActivityPage {
                        records,
                        next_cursor: last,
                    });
                }
                last = Some(ActivityCursor {
                    ts: key.0,
                    source,
                    seq: key.1,
                });
                records.push(record);
            }
            Ok(ActivityPage {
                records,
                next_cursor: None,
            })
        }))
    }

    /// Every record matching `q` (from its cursor on; its limit is the page size), one page at
    /// a time, newest first, until `each` returns false (what an export streams). Blocking
    /// (one read transaction per page): run it off the async threads. Memory is one page
    /// whatever the history holds.
    pub fn export_activity(
        &self,
        q: &ActivityQuery,
        mut each: impl FnMut(Vec<ActivityRecord>) -> bool,
    ) -> Result<(), StorageError> {
        let mut q = q.clone();
        loop {
            let page = self.activity_page(&q)?;
            if !each(page.records) {
                return Ok(());
            }
            match page.next_cursor {
                Some(c) => {
                    q.cursor = Some(c);
                    q.offset = 0;
                }
                None => return Ok(()),
            }
        }
    }

    /// The log entry with this id: a management action, else a tool call.
    pub fn get_activity(&self, id: &str) -> Result<Option<ActivityRecord>, StorageError> {
        let action = guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let ids = txn.open_table(ACTIVITY_IDS)?;
            let Some(key) = ids.get(id)?.map(|g| g.value()) else {
                return Ok(None);
            };
            let table = txn.open_table(ACTIVITY)?;
            read_json(table.get(key)?.as_ref().map(|g| g.value()))
        }))?;
        match action {
            Some(a) => Ok(Some(a)),
            None => Ok(self.get_call(id)?.map(ActivityRecord::from)),
        }
    }

    /// Every tool call at or after `since`, oldest first, handed to `each` one at a time.
    pub fn scan_calls_since(
        &self,
        since: DateTime<Utc>,
        mut each: impl FnMut(ToolCallRecord),
    ) -> Result<(), StorageError> {
        let from = ts_key(&since);
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let calls = txn.open_table(CALLS)?;
            for entry in calls.range((from, 0u64)..)? {
                let (_, v) = entry?;
                each(serde_json::from_slice(v.value())?);
            }
            Ok(())
        }))
    }
}
