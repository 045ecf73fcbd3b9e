//! The activity log: management actions (the audit trail) kept in the `activity` table, and
//! tool calls read from the calls table (never written twice), merged newest first by time.
//!
//! A position in the merged order is `(timestamp_nanos, source, seq)` with source 0 for the
//! calls table and 1 for `activity`; a page's [`ActivityCursor`] is the position of its last
//! record and the next page continues strictly after it, so paging never repeats or skips a
//! record even while new ones arrive. Each page is one read transaction over range scans:
//! memory is one page, whatever the history holds. Retention: the same limits as calls
//! (`max_calls` newest actions, none older than `max_age`), applied on every write.

use std::ops::Bound;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use super::error::guard;
use super::tables::{CALLS, META, read_json, ts_key};
use super::{Storage, StorageError, ToolCallRecord};

/// Management actions: `(timestamp_nanos, seq)` → record JSON.
pub(crate) const ACTIVITY: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("activity");
/// Action id → its key.
pub(crate) const ACTIVITY_IDS: TableDefinition<&str, (i64, u64)> =
    TableDefinition::new("activity_ids");
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

/// Newest-first scan of one table.
type Scan<'t> = std::iter::Peekable<std::iter::Rev<redb::Range<'t, (i64, u64), &'static [u8]>>>;

/// The key `it` would yield next (an error is taken out of it and returned).
fn peek_key(it: &mut Option<Scan<'_>>) -> Result<Option<(i64, u64)>, StorageError> {
    let Some(it) = it else { return Ok(None) };
    match it.peek() {
        None => Ok(None),
        Some(Ok((k, _))) => Ok(Some(k.value())),
        Some(Err(_)) => match it.next() {
            Some(Err(e)) => Err(e.into()),
            _ => Ok(None),
        },
    }
}

impl Storage {
    /// Records one management action durably, applying retention.
    pub fn record_activity(&self, record: &ActivityRecord) -> Result<(), StorageError> {
        let retention = self.retention;
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut meta = txn.open_table(META)?;
                let mut table = txn.open_table(ACTIVITY)?;
                let mut ids = txn.open_table(ACTIVITY_IDS)?;
                let seq = meta
                    .get(NEXT_ACTIVITY_SEQ_KEY)?
                    .map(|g| g.value())
                    .unwrap_or(0);
                meta.insert(NEXT_ACTIVITY_SEQ_KEY, seq.wrapping_add(1))?;
                let key = (ts_key(&record.timestamp), seq);
                table.insert(key, serde_json::to_vec(record)?.as_slice())?;
                ids.insert(record.id.as_str(), key)?;
                // Retention: the oldest beyond the limits go.
                let cutoff = chrono::Duration::from_std(retention.max_age)
                    .ok()
                    .filter(|_| !retention.max_age.is_zero())
                    .and_then(|age| Utc::now().checked_sub_signed(age))
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
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// One page of the merged log, newest first (see the module doc).
    pub fn activity_page(&self, q: &ActivityQuery) -> Result<ActivityPage, StorageError> {
        let upper = q.upper();
        let start = q.start.map(|t| ts_key(&t));
        let want_calls = q.kind.is_none_or(|k| k == ActivityKind::ToolCall);
        let want_actions = q.kind != Some(ActivityKind::ToolCall);
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let calls = txn.open_table(CALLS)?;
            let actions = txn.open_table(ACTIVITY)?;
            let range = |source: u8| (Bound::Unbounded, table_upper(source, upper));
            let mut calls_iter = if want_calls {
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
                let c = peek_key(&mut calls_iter)?;
                let a = peek_key(&mut actions_iter)?;
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
                let it = if source == 0 {
                    calls_iter.as_mut()
                } else {
                    actions_iter.as_mut()
                };
                let Some(Some(entry)) = it.map(Iterator::next) else {
                    break;
                };
                let (_, v) = entry?;
                let json = v.value();
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
