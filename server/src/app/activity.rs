//! The activity log at the app layer: management actions are recorded here with who did
//! them (an audit trail) and announced once on the event bus as `activity`; the log is read
//! (merged with tool-call history, see `storage::activity`) and summarised per server and tool.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::Utc;

use super::{App, AppError};
use crate::storage::{
    ActivityKind, ActivityPage, ActivityQuery, ActivityRecord, Actor, activity_status,
};

/// Calls, errors, durations and payload sizes of one server's tool over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSummary {
    /// Upstream server.
    pub server: String,
    /// Bare tool name.
    pub tool: String,
    /// Calls made.
    pub calls: u64,
    /// Calls that failed or answered with an error.
    pub errors: u64,
    /// Median wall time (ms).
    pub p50_ms: f64,
    /// 95th percentile wall time (ms).
    pub p95_ms: f64,
    /// Bytes of arguments sent (as JSON).
    pub bytes_in: u64,
    /// Bytes of results received (as JSON, as stored).
    pub bytes_out: u64,
}

/// The value at quantile `q` of `sorted` (nearest rank); 0 when empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn json_len(v: &serde_json::Value) -> u64 {
    serde_json::to_vec(v).map_or(0, |b| b.len() as u64)
}

impl App {
    /// Runs a management action and records it, with its outcome and `actor`, in the log.
    pub async fn audited<T>(
        &self,
        actor: &Actor,
        kind: ActivityKind,
        action: &str,
        server: Option<&str>,
        run: impl Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        let result = run.await;
        self.record_action(
            actor,
            kind,
            action,
            server,
            result.as_ref().err().map(ToString::to_string),
        )
        .await;
        result
    }

    /// Records one management action and announces it on the bus (the one place both happen).
    /// Resolves once the record is committed (in the storage writer's group commit, shared
    /// with other actions and calls), so it is listed as soon as the action returns.
    pub async fn record_action(
        &self,
        actor: &Actor,
        kind: ActivityKind,
        action: &str,
        server: Option<&str>,
        error: Option<String>,
    ) {
        let (session_id, agent) = match actor {
            Actor::McpSession { id } => (Some(id.clone()), None),
            Actor::AgentToken { name } => (None, Some(name.clone())),
            _ => (None, None),
        };
        let record = ActivityRecord {
            id: format!("act-{}", uuid::Uuid::new_v4().simple()),
            kind,
            timestamp: Utc::now(),
            action: action.to_string(),
            status: if error.is_some() {
                activity_status::ERROR
            } else {
                activity_status::SUCCESS
            }
            .into(),
            actor: Some(actor.clone()),
            server: server.map(str::to_string),
            tool: None,
            session_id,
            agent,
            duration_ms: None,
            tokens: None,
            error,
            details: None,
        };
        if let Err(e) = self.storage.record_activity_async(&record).await {
            slog::warn!(self.log, "cannot record activity"; "action" => action, "error" => %e);
            return;
        }
        self.bus
            .publish(crate::events::Event::Activity(Box::new(record)));
    }

    /// One page of the activity log (tool calls recorded just before are included).
    pub async fn activity_page(&self, q: &ActivityQuery) -> Result<ActivityPage, AppError> {
        self.storage.flush().await;
        Ok(self.storage.activity_page(q)?)
    }

    /// Makes every tool call recorded so far readable (the writer commits what it holds).
    pub async fn flush_history(&self) {
        self.storage.flush().await;
    }

    /// Every record matching `q` (from its cursor on; its limit is the page size), one page at
    /// a time, newest first, until `each` returns false (see
    /// [`crate::storage::Storage::export_activity`]). Blocking: run it off the async threads.
    pub fn export_activity(
        &self,
        q: &ActivityQuery,
        each: impl FnMut(Vec<ActivityRecord>) -> bool,
    ) -> Result<(), AppError> {
        Ok(self.storage.export_activity(q, each)?)
    }

    /// One activity log entry.
    pub async fn activity(&self, id: &str) -> Result<ActivityRecord, AppError> {
        self.storage.flush().await;
        self.storage
            .get_activity(id)?
            .ok_or_else(|| AppError::NotFound {
                kind: super::Resource::Activity,
                name: id.to_string(),
            })
    }

    /// Per server and tool, the calls of the last `window`, by server then tool.
    pub async fn activity_summary(&self, window: Duration) -> Result<Vec<ToolSummary>, AppError> {
        self.storage.flush().await;
        let since = chrono::Duration::from_std(window)
            .ok()
            .and_then(|w| Utc::now().checked_sub_signed(w))
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        let mut groups: BTreeMap<(String, String), (ToolSummary, Vec<f64>)> = BTreeMap::new();
        self.storage.scan_calls_since(since, |c| {
            let (summary, durations) = groups
                .entry((c.server.clone(), c.tool.clone()))
                .or_insert_with(|| {
                    (
                        ToolSummary {
                            server: c.server.clone(),
                            tool: c.tool.clone(),
                            calls: 0,
                            errors: 0,
                            p50_ms: 0.0,
                            p95_ms: 0.0,
                            bytes_in: 0,
                            bytes_out: 0,
                        },
                        Vec::new(),
                    )
                });
            summary.calls += 1;
            summary.errors += u64::from(c.is_error);
            summary.bytes_in += json_len(&c.arguments);
            summary.bytes_out += c.response.as_ref().map_or(0, json_len);
            durations.push(c.duration_ms);
        })?;
        Ok(groups
            .into_values()
            .map(|(mut s, mut d)| {
                d.sort_by(f64::total_cmp);
                s.p50_ms = quantile(&d, 0.5);
                s.p95_ms = quantile(&d, 0.95);
                s
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_are_nearest_rank() {
        let d: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&d, 0.5), 50.0);
        assert_eq!(quantile(&d, 0.95), 95.0);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
