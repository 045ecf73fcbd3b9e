//! `/api/v1/activity`: the activity log. The list is a published operation (the generated
//! trait calls [`list`]); `/activity/{id}`, `/activity/summary` and `/activity/export` share
//! one unpublished route, because dropshot cannot hold literal and variable segments side by
//! side. The export streams a chunked body page by page (see `App::export_activity`).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use dropshot::{ApiDescription, Path, Query, RequestContext, endpoint};
use http::Response;
use http_body_util::StreamBody;
use hyper::body::Frame;
use mcpproxy_api::{ApiError, Security, types};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::ReceiverStream;

use super::{ServerCtx, auth, wire};
use crate::storage::{
    ActivityKind, ActivityQuery, ActivityRecord, DEFAULT_LIMIT, EXPORT_PAGE, MAX_LIMIT,
    activity_status,
};

/// Pages an export buffers ahead of a slow client.
const EXPORT_BUFFER: usize = 4;
/// `window` when the summary is asked without one.
const DEFAULT_WINDOW: &str = "24h";

/// Every query parameter of the activity routes (the list's generated struct has the same
/// names, so it converts through serde).
#[derive(Debug, Default, Deserialize, Serialize, schemars::JsonSchema)]
pub struct ActivityParams {
    r#type: Option<String>,
    server: Option<String>,
    tool: Option<String>,
    session_id: Option<String>,
    agent: Option<String>,
    status: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
    format: Option<String>,
    window: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct IdPath {
    id: String,
}

fn time(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::bad_request(format!("{name} {v:?} is not an RFC 3339 time")))
        })
        .transpose()
}

impl ActivityParams {
    /// An empty parameter (`?status=`, as a form sends an unset filter) means the same as an
    /// absent one: no filter, the default format or window.
    fn given(self) -> Self {
        let set = |v: Option<String>| v.filter(|v| !v.is_empty());
        Self {
            r#type: set(self.r#type),
            server: set(self.server),
            tool: set(self.tool),
            session_id: set(self.session_id),
            agent: set(self.agent),
            status: set(self.status),
            start_time: set(self.start_time),
            end_time: set(self.end_time),
            q: set(self.q),
            cursor: set(self.cursor),
            limit: self.limit,
            offset: self.offset,
            format: set(self.format),
            window: set(self.window),
        }
    }

    /// The storage query these parameters ask for; a bad value is a 400.
    fn query(&self) -> Result<ActivityQuery, ApiError> {
        let kind = self
            .r#type
            .as_deref()
            .map(|t| {
                ActivityKind::parse(t).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "type {t:?} is not one of tool_call, server_change, approval, auth, config"
                    ))
                })
            })
            .transpose()?;
        if let Some(s) = &self.status
            && s != activity_status::SUCCESS
            && s != activity_status::ERROR
        {
            return Err(ApiError::bad_request(format!(
                "status {s:?} is not success or error"
            )));
        }
        let cursor = self
            .cursor
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: crate::storage::BadCursor| ApiError::bad_request(e.to_string()))?;
        let limit = match self.limit {
            None | Some(0) => DEFAULT_LIMIT,
            Some(n) => (n as usize).min(MAX_LIMIT),
        };
        Ok(ActivityQuery {
            kind,
            server: self.server.clone(),
            tool: self.tool.clone(),
            session_id: self.session_id.clone(),
            agent: self.agent.clone(),
            status: self.status.clone(),
            start: time("start_time", self.start_time.as_deref())?,
            end: time("end_time", self.end_time.as_deref())?,
            text: self.q.clone().filter(|q| !q.is_empty()),
            cursor,
            offset: self.offset.unwrap_or(0) as usize,
            limit,
        })
    }
}

/// A stored record as the API shows it.
pub fn record(r: ActivityRecord) -> types::ActivityRecord {
    types::ActivityRecord {
        actor: r.actor.as_ref().map(|a| a.kind().to_string()),
        actor_name: r.actor.as_ref().and_then(|a| a.name()).map(str::to_string),
        id: r.id,
        type_: r.kind.as_str().to_string(),
        timestamp: r.timestamp,
        action: r.action,
        status: r.status,
        server: r.server,
        tool: r.tool,
        session_id: r.session_id,
        agent: r.agent,
        duration_ms: r.duration_ms,
        tokens: r.tokens,
        error: r.error,
        details: r.details,
    }
}

/// `GET /api/v1/activity`.
pub async fn list(
    rqctx: &RequestContext<ServerCtx>,
    query: mcpproxy_api::params::ActivityListQuery,
) -> Result<types::ActivityListResponse, ApiError> {
    let params: ActivityParams = serde_json::to_value(query)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let params = params.given();
    let q = params.query()?;
    let page = rqctx.context().app.activity_page(&q).await?;
    Ok(types::ActivityListResponse {
        success: true,
        data: types::ActivityPage {
            activities: page.records.into_iter().map(record).collect(),
            next_cursor: page.next_cursor.map(|c| c.to_string()),
            limit: wire::count(q.limit),
            offset: wire::count(q.offset),
        },
    })
}

/// Register the unpublished `/api/v1/activity/{id}` route.
pub fn register(
    api: &mut ApiDescription<ServerCtx>,
) -> Result<(), dropshot::ApiDescriptionRegisterError> {
    api.register(activity_item)
}

fn json_response(value: &serde_json::Value) -> Result<Response<dropshot::Body>, ApiError> {
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(dropshot::Body::from(value.to_string()))
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}

#[endpoint { method = GET, path = "/api/v1/activity/{id}", unpublished = true }]
async fn activity_item(
    rqctx: RequestContext<ServerCtx>,
    path: Path<IdPath>,
    query: Query<ActivityParams>,
) -> Result<Response<dropshot::Body>, ApiError> {
    auth::authorize(rqctx.context(), &rqctx.request, Security::ApiKey)?;
    let params = query.into_inner().given();
    match path.into_inner().id.as_str() {
        "summary" => summary(&rqctx, &params).await,
        "export" => export(&rqctx, &params).await,
        id => {
            let r = rqctx.context().app.activity(id).await?;
            json_response(&serde_json::json!({
                "success": true,
                "data": {"activity": record(r)},
            }))
        }
    }
}

/// `<n>d`, or a Go duration (`24h`, `90m`, `1h30m`).
fn window(text: &str) -> Option<Duration> {
    match text.strip_suffix('d') {
        Some(days) => days
            .parse::<u64>()
            .ok()
            .and_then(|d| d.checked_mul(24 * 60 * 60))
            .map(Duration::from_secs),
        None => crate::config::parse_go_duration(text),
    }
    .filter(|d| !d.is_zero())
}

async fn summary(
    rqctx: &RequestContext<ServerCtx>,
    params: &ActivityParams,
) -> Result<Response<dropshot::Body>, ApiError> {
    let text = params.window.as_deref().unwrap_or(DEFAULT_WINDOW);
    let span = window(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "window {text:?} is not a duration (<n>m, <n>h or <n>d)"
        ))
    })?;
    let tools = rqctx.context().app.activity_summary(span).await?;
    let tools: Vec<_> = tools
        .into_iter()
        .map(|t| {
            serde_json::json!({
                "server": t.server, "tool": t.tool, "calls": t.calls, "errors": t.errors,
                "p50_ms": t.p50_ms, "p95_ms": t.p95_ms,
                "bytes_in": t.bytes_in, "bytes_out": t.bytes_out,
            })
        })
        .collect();
    json_response(&serde_json::json!({
        "success": true,
        "data": {"window": text, "tools": tools},
    }))
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Jsonl,
    Csv,
}

/// CSV columns of an export.
const CSV_HEADER: &str = "id,type,timestamp,action,status,actor,actor_name,server,tool,session_id,agent,duration_ms,tokens,error\n";

fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn csv_row(out: &mut String, r: &types::ActivityRecord) {
    let num = |v: Option<String>| v.unwrap_or_default();
    let fields = [
        r.id.clone(),
        r.type_.clone(),
        r.timestamp.to_rfc3339(),
        r.action.clone(),
        r.status.clone(),
        r.actor.clone().unwrap_or_default(),
        r.actor_name.clone().unwrap_or_default(),
        r.server.clone().unwrap_or_default(),
        r.tool.clone().unwrap_or_default(),
        r.session_id.clone().unwrap_or_default(),
        r.agent.clone().unwrap_or_default(),
        num(r.duration_ms.map(|d| d.to_string())),
        num(r.tokens.map(|t| t.to_string())),
        r.error.clone().unwrap_or_default(),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push('\n');
}

/// One page of an export as bytes; `first` is whether nothing was written before it.
fn encode(format: Format, records: Vec<ActivityRecord>, first: &mut bool) -> String {
    let mut out = String::new();
    for r in records {
        let r = record(r);
        match format {
            Format::Jsonl => {
                out.push_str(&serde_json::to_string(&r).unwrap_or_default());
                out.push('\n');
            }
            Format::Json => {
                out.push_str(if *first { "\n" } else { ",\n" });
                out.push_str(&serde_json::to_string(&r).unwrap_or_default());
            }
            Format::Csv => csv_row(&mut out, &r),
        }
        *first = false;
    }
    out
}

async fn export(
    rqctx: &RequestContext<ServerCtx>,
    params: &ActivityParams,
) -> Result<Response<dropshot::Body>, ApiError> {
    let (format, content_type) = match params.format.as_deref().unwrap_or("json") {
        "json" => (Format::Json, "application/json"),
        "jsonl" => (Format::Jsonl, "application/x-ndjson"),
        "csv" => (Format::Csv, "text/csv; charset=utf-8"),
        other => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not json, jsonl or csv"
            )));
        }
    };
    let mut q = params.query()?;
    q.limit = EXPORT_PAGE;
    q.cursor = None;
    q.offset = 0;
    let app = rqctx.context().app.clone();
    app.flush_history().await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(EXPORT_BUFFER);
    let log = rqctx.log.clone();
    tokio::task::spawn_blocking(move || {
        let head = match format {
            Format::Json => "[",
            Format::Csv => CSV_HEADER,
            Format::Jsonl => "",
        };
        if !head.is_empty()
            && tx
                .blocking_send(Bytes::from_static(head.as_bytes()))
                .is_err()
        {
            return;
        }
        let mut first = true;
        let done = app.export_activity(&q, |records| {
            let chunk = encode(format, records, &mut first);
            chunk.is_empty() || tx.blocking_send(Bytes::from(chunk)).is_ok()
        });
        match done {
            Ok(()) if format == Format::Json => {
                let _ = tx.blocking_send(Bytes::from_static(b"\n]\n"));
            }
            Ok(()) => {}
            // The status is sent already: the body ends short (no closing `]`).
            Err(e) => slog::warn!(log, "activity export failed"; "error" => %e),
        }
    });
    let frames = futures::StreamExt::map(ReceiverStream::new(rx), |b| {
        Ok::<_, Infallible>(Frame::data(b))
    });
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(dropshot::Body::wrap(StreamBody::new(frames)))
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_take_days_and_go_durations() {
        assert_eq!(window("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(window("90m"), Some(Duration::from_secs(5_400)));
        assert_eq!(window("0h"), None);
        assert_eq!(window("soon"), None);
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let mut out = String::new();
        csv_field(&mut out, "a,\"b\"");
        assert_eq!(out, "\"a,\"\"b\"\"\"");
    }
}
