//! Tool-call history and MCP sessions: every upstream call is recorded (arguments, bounded
//! response, error, duration, session and client), sessions are opened and closed in
//! storage (which counts each session's calls as it records them), and recorded calls can be
//! listed, fetched and replayed. Reads flush the background writer first, so a call made
//! just before is always visible.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult};

use super::calls::{CallError, CallOrigin, Intent, complete_only, split_name, with_arguments};
use super::{App, AppError};
use crate::storage::{CallPage, CallQuery, SessionRecord, ToolCallRecord, session_status};
use crate::upstream::CallLink;

/// A call that was made, its whole answer, and its history record.
#[derive(Debug)]
pub struct RecordedResponse {
    /// The record, to be stored; `None` when the call never reached a known server (not
    /// history).
    pub record: Option<PendingRecord>,
    /// The outcome.
    pub outcome: Result<CallToolResponse, CallError>,
}

/// A call that was made, and its history record.
#[derive(Debug)]
pub struct RecordedCall {
    /// The record, to be stored; `None` when the call never reached a known server (not
    /// history).
    pub record: Option<PendingRecord>,
    /// The outcome.
    pub outcome: Result<CallToolResult, CallError>,
}

/// A call's history record, made and not stored yet: the caller stores it once it knows
/// the tokens of the answer it sends ([`App::account`]), so the record is written once,
/// whole. Dropped unstored, it is stored without them: no record is lost.
pub struct PendingRecord {
    record: Option<(ToolCallRecord, crate::events::Event)>,
    storage: Arc<crate::storage::Storage>,
    bus: crate::events::EventBus,
}

impl std::fmt::Debug for PendingRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRecord")
            .field("id", &self.record.as_ref().map(|(r, _)| &r.id))
            .finish_non_exhaustive()
    }
}

impl PendingRecord {
    /// Store the record with `tokens` (of the answer the client received, when counted),
    /// and announce it; its id.
    pub fn store(mut self, tokens: Option<u64>) -> String {
        self.store_once(tokens)
    }

    fn store_once(&mut self, tokens: Option<u64>) -> String {
        let Some((mut record, announced)) = self.record.take() else {
            return String::new();
        };
        record.tokens = tokens;
        let id = record.id.clone();
        self.storage.record_call(record);
        self.bus.publish(announced);
        id
    }
}

impl Drop for PendingRecord {
    fn drop(&mut self) {
        self.store_once(None);
    }
}

impl App {
    /// A session began (first request carrying its `Mcp-Session-Id`).
    pub fn open_session(&self, id: &str, origin: &CallOrigin) {
        self.persist_session(&SessionRecord {
            client_name: origin.client_name.clone(),
            client_version: origin.client_version.clone(),
            token_name: origin.token_name(),
            ..SessionRecord::active(id.to_string(), Utc::now())
        });
        if let Ok(mut open) = self.sessions.lock() {
            open.insert(id.to_string());
        }
    }

    /// Session `id`'s client declared `roots` / `sampling` (at `initialize`, or in a 2026-07-28
    /// request's capabilities); a capability once declared stays recorded.
    pub fn note_client_capabilities(&self, id: &str, roots: bool, sampling: bool) {
        if !(roots || sampling) {
            return;
        }
        match self.storage.get_session(id) {
            Ok(Some(mut record))
                if (roots && !record.has_roots) || (sampling && !record.has_sampling) =>
            {
                record.has_roots |= roots;
                record.has_sampling |= sampling;
                self.persist_session(&record);
            }
            Ok(_) => {}
            Err(e) => slog::warn!(self.log, "cannot read session"; "session" => id, "error" => %e),
        }
    }

    /// A session ended (DELETE, expiry or shutdown).
    pub fn close_session(&self, id: &str) {
        let was_open = self.sessions.lock().is_ok_and(|mut open| open.remove(id));
        if !was_open {
            return;
        }
        match self.storage.get_session(id) {
            Ok(Some(mut record)) => {
                let now = Utc::now();
                record.status = session_status::CLOSED.into();
                record.end_time = Some(now);
                record.last_activity = now;
                self.persist_session(&record);
            }
            Ok(None) => {}
            Err(e) => slog::warn!(self.log, "cannot close session"; "session" => id, "error" => %e),
        }
    }

    pub(super) fn close_all_sessions(&self) {
        let ids: Vec<String> = self
            .sessions
            .lock()
            .map(|open| open.iter().cloned().collect())
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

    /// Make a call through [`App::call_tool`] and record it.
    pub async fn call_and_record(
        &self,
        name: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        intent: Intent,
        origin: &CallOrigin,
        replayed_from: Option<String>,
        link: &CallLink,
    ) -> RecordedCall {
        let params = with_arguments(arguments);
        let recorded = self
            .call_and_record_response(name, params, intent, origin, replayed_from, link)
            .await;
        let outcome = recorded
            .outcome
            .and_then(|response| complete_only(name, response));
        RecordedCall {
            record: recorded.record,
            outcome,
        }
    }

    /// Make a call through [`App::call`] and record it; the server's whole answer.
    pub async fn call_and_record_response(
        &self,
        name: &str,
        params: CallToolRequestParams,
        intent: Intent,
        origin: &CallOrigin,
        replayed_from: Option<String>,
        link: &CallLink,
    ) -> RecordedResponse {
        let started = Instant::now();
        let recorded_args = params
            .arguments
            .clone()
            .map(serde_json::Value::Object)
            .unwrap_or(serde_json::Value::Null);
        let (server, tool) = split_name(name).unwrap_or((name, ""));
        let span = crate::telemetry::trace::upstream_call(origin.trace.as_ref(), server, tool);
        let outcome = span
            .run(self.call(name, params, intent, origin.token.as_deref(), link))
            .await;
        let response = outcome.as_ref().ok().and_then(|r| match r {
            CallToolResponse::Complete(result) => serde_json::to_value(result).ok(),
            CallToolResponse::InputRequired(result) => serde_json::to_value(result).ok(),
            CallToolResponse::Task(result) => serde_json::to_value(result).ok(),
            _ => None,
        });
        let is_error = match &outcome {
            Ok(CallToolResponse::Complete(result)) => result.is_error == Some(true),
            Ok(_) => false,
            Err(_) => true,
        };
        let record = ToolCallRecord {
            id: next_call_id(),
            server: server.to_string(),
            tool: tool.to_string(),
            arguments: recorded_args,
            response,
            error: outcome.as_ref().err().map(ToString::to_string),
            is_error,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            timestamp: Utc::now(),
            session_id: origin.session_id.clone(),
            client_name: origin.client_name.clone(),
            client_version: origin.client_version.clone(),
            replayed_from,
            token_name: origin.token_name(),
            tokens: None,
        };
        // Calls refused before reaching a known server are not history.
        let unknown = match &outcome {
            Err(CallError::BadName(_) | CallError::UnknownServer(_)) => true,
            Err(CallError::OutOfScope { server, .. }) => !self.settings().has_server(server),
            _ => false,
        };
        span.end(is_error.then(|| {
            record
                .error
                .clone()
                .unwrap_or_else(|| "the tool answered with an error".into())
        }));
        if unknown {
            return RecordedResponse {
                record: None,
                outcome,
            };
        }
        crate::telemetry::metrics().record_call(
            server,
            (!matches!(outcome, Err(CallError::UnknownTool { .. }))).then_some(tool),
            call_status(&outcome, is_error),
            started.elapsed(),
        );
        let announced = crate::events::Event::ToolCallRecorded {
            id: record.id.clone(),
            server_name: record.server.clone(),
            tool_name: record.tool.clone(),
            is_error: record.is_error,
            duration_ms: record.duration_ms,
            timestamp: record.timestamp.to_rfc3339(),
        };
        RecordedResponse {
            record: Some(PendingRecord {
                record: Some((record, announced)),
                storage: self.storage.clone(),
                bus: self.bus.clone(),
            }),
            outcome,
        }
    }

    /// Count `result`, the answer `session` received, toward token accounting, and store
    /// the call's `record` (if any) with its tokens: a small answer is counted on the spot
    /// and its record written whole; a large one is counted on the meter's thread, which
    /// writes the count back into the record stored meanwhile.
    pub fn account(
        &self,
        session: Option<&str>,
        record: Option<PendingRecord>,
        kind: crate::tokens::Kind,
        result: &CallToolResult,
    ) {
        let answer = crate::tokens::Answer::of(result);
        match self.meter.count_now(session, kind, answer) {
            Ok(tokens) => {
                if let Some(record) = record {
                    record.store(Some(tokens));
                }
            }
            Err(answer) => {
                let call = record.map(|record| record.store(None));
                self.meter.count_later(session, call, kind, answer);
            }
        }
    }

    /// A page of recorded calls.
    pub async fn tool_calls(&self, query: &CallQuery) -> Result<CallPage, AppError> {
        self.storage.flush().await;
        Ok(self.storage.list_calls(query)?)
    }

    /// One recorded call.
    pub async fn tool_call(&self, id: &str) -> Result<ToolCallRecord, AppError> {
        self.storage.flush().await;
        self.storage
            .get_call(id)?
            .ok_or_else(|| AppError::not_found(super::Resource::ToolCall, id.to_string()))
    }

    /// Call a recorded tool again, with new arguments or (when `None`/empty) the original;
    /// the new call's record, as stored.
    pub async fn replay(
        &self,
        id: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<ToolCallRecord, AppError> {
        let original = self.tool_call(id).await?;
        let arguments = match arguments.filter(|a| !a.is_empty()) {
            Some(a) => Some(a),
            None => original.arguments.as_object().cloned(),
        };
        let name = format!("{}:{}", original.server, original.tool);
        let recorded = self
            .call_and_record(
                &name,
                arguments,
                Intent::Any,
                &CallOrigin::default(),
                Some(id.to_string()),
                &CallLink::default(),
            )
            .await;
        // Stored now: the read below must find it.
        match recorded.record.map(|record| record.store(None)) {
            Some(new_id) => self.tool_call(&new_id).await,
            // The server was removed since the original call.
            None => Err(AppError::not_found(
                super::Resource::Server,
                original.server,
            )),
        }
    }

    /// A page of sessions, newest first.
    pub async fn session_page(
        &self,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<SessionRecord>, usize), AppError> {
        self.meter.flush().await;
        self.storage.flush().await;
        Ok(self.storage.list_sessions(limit, offset)?)
    }

    /// One session.
    pub async fn session(&self, id: &str) -> Result<SessionRecord, AppError> {
        self.meter.flush().await;
        self.storage.flush().await;
        self.storage
            .get_session(id)?
            .ok_or_else(|| AppError::not_found(super::Resource::Session, id.to_string()))
    }
}

/// How a call ended, for the call counter.
fn call_status(
    outcome: &Result<CallToolResponse, CallError>,
    is_error: bool,
) -> crate::telemetry::CallStatus {
    use crate::telemetry::CallStatus;
    match outcome {
        Ok(_) if !is_error => CallStatus::Success,
        Ok(_) | Err(CallError::Upstream(_)) => CallStatus::Error,
        Err(_) => CallStatus::Refused,
    }
}

/// A unique call id: the time in nanoseconds, then a per-process random prefix and a
/// counter (unique across restarts without a random draw per call).
fn next_call_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_string());
    format!(
        "{}-{prefix}{:08x}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
