//! Tool-call history and MCP sessions: every upstream call is recorded (arguments, bounded
//! response, error, duration, session and client), sessions are tracked live and persisted,
//! and recorded calls can be listed, fetched and replayed.
//!
//! Session counters live in memory and are written to storage when a session starts, at
//! most once a second while it is busy, and when it ends, so the call path never waits on
//! a session write.

use std::time::{Duration, Instant};

use chrono::Utc;
use rmcp::model::CallToolResult;

use super::calls::{CallError, CallOrigin, Intent, split_name};
use super::{App, AppError};
use crate::storage::{CallPage, CallQuery, SessionRecord, ToolCallRecord};

/// How often a busy session's counters are persisted.
const SESSION_PERSIST_EVERY: Duration = Duration::from_secs(1);

/// A live session's record and when it was last persisted.
#[derive(Debug)]
pub(super) struct LiveSession {
    record: SessionRecord,
    persisted_at: Instant,
}

/// A call that was made and recorded.
#[derive(Debug)]
pub struct RecordedCall {
    /// The record as stored.
    pub record: ToolCallRecord,
    /// The outcome.
    pub outcome: Result<CallToolResult, CallError>,
}

impl App {
    /// A session began (first request carrying its `Mcp-Session-Id`).
    pub fn open_session(
        &self,
        id: &str,
        client_name: Option<String>,
        client_version: Option<String>,
    ) {
        let now = Utc::now();
        let record = SessionRecord {
            id: id.to_string(),
            client_name,
            client_version,
            status: "active".into(),
            start_time: now,
            last_activity: now,
            end_time: None,
            tool_call_count: 0,
        };
        self.persist_session(&record);
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(
                id.to_string(),
                LiveSession {
                    record,
                    persisted_at: Instant::now(),
                },
            );
        }
    }

    /// A session ended (DELETE, expiry or shutdown).
    pub fn close_session(&self, id: &str) {
        let ended = self.sessions.lock().ok().and_then(|mut s| s.remove(id));
        if let Some(mut live) = ended {
            let now = Utc::now();
            live.record.status = "closed".into();
            live.record.end_time = Some(now);
            live.record.last_activity = now;
            self.persist_session(&live.record);
        }
    }

    pub(super) fn close_all_sessions(&self) {
        let ids: Vec<String> = self
            .sessions
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.close_session(&id);
        }
    }

    fn persist_session(&self, record: &SessionRecord) {
        if let Err(e) = self.storage.upsert_session(record) {
            slog::warn!(self.log, "cannot persist session"; "session" => &record.id, "error" => %e);
        }
    }

    fn count_session_call(&self, id: &str) {
        let due = {
            let Ok(mut sessions) = self.sessions.lock() else {
                return;
            };
            let Some(live) = sessions.get_mut(id) else {
                return;
            };
            live.record.tool_call_count += 1;
            live.record.last_activity = Utc::now();
            if live.persisted_at.elapsed() >= SESSION_PERSIST_EVERY {
                live.persisted_at = Instant::now();
                Some(live.record.clone())
            } else {
                None
            }
        };
        if let Some(record) = due {
            self.persist_session(&record);
        }
    }

    /// Make a call through [`App::call_tool`] and record it.
    pub async fn call_and_record(
        &self,
        name: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        intent: Intent,
        origin: &CallOrigin,
        replayed_from: Option<String>,
    ) -> RecordedCall {
        let started = Instant::now();
        let recorded_args = arguments
            .clone()
            .map(serde_json::Value::Object)
            .unwrap_or(serde_json::Value::Null);
        let outcome = self.call_tool(name, arguments, intent).await;
        let (server, tool) = split_name(name).unwrap_or((name, ""));
        let record = ToolCallRecord {
            id: format!(
                "{}-{}",
                Utc::now().timestamp_nanos_opt().unwrap_or_default(),
                uuid::Uuid::new_v4().simple()
            ),
            server: server.to_string(),
            tool: tool.to_string(),
            arguments: recorded_args,
            response: outcome
                .as_ref()
                .ok()
                .and_then(|r| serde_json::to_value(r).ok()),
            error: outcome.as_ref().err().map(ToString::to_string),
            is_error: outcome.as_ref().map_or(true, |r| r.is_error == Some(true)),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            timestamp: Utc::now(),
            session_id: origin.session_id.clone(),
            client_name: origin.client_name.clone(),
            client_version: origin.client_version.clone(),
            replayed_from,
        };
        // Calls refused before reaching a known server are not history.
        if !matches!(
            outcome,
            Err(CallError::BadName(_)) | Err(CallError::UnknownServer(_))
        ) {
            self.storage.record_call(record.clone());
            if let Some(id) = &origin.session_id {
                self.count_session_call(id);
            }
        }
        RecordedCall { record, outcome }
    }

    /// A page of recorded calls.
    pub fn tool_calls(&self, query: &CallQuery) -> Result<CallPage, AppError> {
        Ok(self.storage.list_calls(query)?)
    }

    /// One recorded call.
    pub fn tool_call(&self, id: &str) -> Result<ToolCallRecord, AppError> {
        self.storage
            .get_call(id)?
            .ok_or_else(|| AppError::NotFound(format!("tool call {id}")))
    }

    /// Call a recorded tool again, with new arguments or (when `None`/empty) the original.
    pub async fn replay(
        &self,
        id: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<RecordedCall, AppError> {
        let original = self.tool_call(id)?;
        let arguments = match arguments.filter(|a| !a.is_empty()) {
            Some(a) => Some(a),
            None => original.arguments.as_object().cloned(),
        };
        let name = format!("{}:{}", original.server, original.tool);
        Ok(self
            .call_and_record(
                &name,
                arguments,
                Intent::Any,
                &CallOrigin::default(),
                Some(id.to_string()),
            )
            .await)
    }

    /// A page of sessions, newest first, with live counters for active ones.
    pub fn session_page(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<SessionRecord>, usize), AppError> {
        let (mut sessions, total) = self.storage.list_sessions(limit, offset)?;
        for s in &mut sessions {
            self.overlay_live(s);
        }
        Ok((sessions, total))
    }

    /// One session.
    pub fn session(&self, id: &str) -> Result<SessionRecord, AppError> {
        let mut s = self
            .storage
            .get_session(id)?
            .ok_or_else(|| AppError::NotFound(format!("session {id}")))?;
        self.overlay_live(&mut s);
        Ok(s)
    }

    fn overlay_live(&self, record: &mut SessionRecord) {
        if let Some(live) = self
            .sessions
            .lock()
            .ok()
            .and_then(|s| s.get(&record.id).map(|l| l.record.clone()))
        {
            *record = live;
        }
    }
}
