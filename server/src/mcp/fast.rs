//! The JSON fast path of `/mcp`. In session mode rmcp answers every POSTed request with an
//! SSE stream fed through the session's worker task — several task hand-offs and a stream
//! per call. The streamable HTTP transport lets a server answer a request with a single
//! `application/json` body instead, and the simple, terminal requests need nothing more:
//! `tools/call`, `tools/list` and `ping` on an initialized session (see [`Sessions`]) are
//! answered here, in the connection's own task, by the same [`Builtins`] dispatcher.
//!
//! Anything else — initialize, notifications, responses, batches, GET streams, DELETE,
//! calls that ask for progress, 2026-07-28 requests with per-request metadata, sessions not
//! registered yet — is handed to rmcp untouched (or re-assembled, once the body was read).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rmcp::model::{CallToolRequestParams, ListToolsResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use tokio_util::sync::CancellationToken;

use super::dispatch::Builtins;
use super::sessions::{LiveSession, Sessions};
use super::surface::Surface;
use crate::app::CallOrigin;
use crate::upstream::CallLink;

/// Bodies larger than this take rmcp's path (which applies the same 4 MiB limit).
pub(super) const MAX_BODY: usize = 4 * 1024 * 1024;

/// Protocol revisions whose requests carry no per-request metadata and no standard
/// headers, the only ones answered here.
const SESSION_REVISIONS: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// What the fast path did with a request.
pub enum Fast {
    /// Answered.
    Answered(Response<Full<Bytes>>),
    /// Not for us, body unread.
    Untouched(Request<Incoming>),
    /// Not for us, body read: here it is again.
    Declined(Request<Bytes>),
}

/// One JSON-RPC request as it arrives; its params are parsed once the method says as what.
#[derive(Deserialize)]
struct RpcRequest<'a> {
    jsonrpc: String,
    #[serde(default)]
    id: Value,
    method: String,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct RpcResult<'a, T> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: T,
}

#[derive(Serialize)]
struct RpcError<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    error: rmcp::ErrorData,
}

/// The fast path over the shared dispatcher and session registry.
pub struct FastPath {
    builtins: Arc<Builtins>,
    sessions: Arc<Sessions>,
}

impl FastPath {
    /// A fast path answering with `builtins` for sessions in `sessions`.
    pub fn new(builtins: Arc<Builtins>, sessions: Arc<Sessions>) -> Self {
        Self { builtins, sessions }
    }

    /// Answer `req`, made on `surface`, if it is a simple request on a registered session
    /// of the built-in tools' surface.
    pub async fn try_answer(&self, req: Request<Incoming>, surface: &Surface) -> Fast {
        // Only that surface's sessions have a fast link; a session is its own surface's
        // (rmcp keeps one session manager per surface), so on another it is not answered.
        if *surface != Surface::Retrieve {
            return Fast::Untouched(req);
        }
        let Some(session) = self.eligible(&req) else {
            return Fast::Untouched(req);
        };
        let (parts, body) = req.into_parts();
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            // The client went away mid-body; rmcp would fail the same way.
            Err(_) => return Fast::Declined(Request::from_parts(parts, Bytes::new())),
        };
        let trace = parts.extensions.get::<crate::telemetry::TraceParent>();
        match self.answer(&session, &bytes, trace).await {
            Some(body) => Fast::Answered(json_response(body)),
            None => Fast::Declined(Request::from_parts(parts, bytes)),
        }
    }

    /// The live session this request is on, when everything about the request lets it take
    /// the fast path (judged from the headers alone).
    fn eligible(&self, req: &Request<Incoming>) -> Option<Arc<LiveSession>> {
        if req.method() != Method::POST {
            return None;
        }
        let headers = req.headers();
        let length = header_str(headers, header::CONTENT_LENGTH.as_str())?
            .parse::<u64>()
            .ok()?;
        if length > MAX_BODY as u64 || !is_json(header_str(headers, header::CONTENT_TYPE.as_str())?)
        {
            return None;
        }
        if !accepts_json_and_sse(headers) {
            return None;
        }
        if let Some(version) = headers.get("mcp-protocol-version") {
            let known = version
                .to_str()
                .is_ok_and(|v| SESSION_REVISIONS.contains(&v));
            if !known {
                return None;
            }
        }
        if headers.contains_key("mcp-method") {
            return None;
        }
        self.sessions
            .touch(header_str(headers, "mcp-session-id")?)
            .filter(|s| s.fast.is_some())
    }

    /// The JSON-RPC reply to `body`, or `None` when rmcp should handle it.
    async fn answer(
        &self,
        session: &LiveSession,
        body: &[u8],
        trace: Option<&crate::telemetry::TraceParent>,
    ) -> Option<Vec<u8>> {
        let request: RpcRequest = serde_json::from_slice(body).ok()?;
        if request.jsonrpc != "2.0" || !(request.id.is_string() || request.id.is_number()) {
            return None;
        }
        let id = &request.id;
        match request.method.as_str() {
            "ping" => reply(id, serde_json::Map::new()),
            "tools/list" => reply(
                id,
                ListToolsResult::with_all_items(self.builtins.list(&session.info)),
            ),
            "tools/call" => {
                let params = plain_call(request.params?)?;
                let trace = crate::telemetry::trace::from_meta(params.meta.as_deref())
                    .or_else(|| trace.cloned());
                let origin = match trace {
                    Some(trace) => Cow::Owned(CallOrigin {
                        trace: Some(trace),
                        ..session.info.clone()
                    }),
                    None => Cow::Borrowed(&session.info),
                };
                if params.input_responses.is_some() || params.request_state.is_some() {
                    return None;
                }
                let args = params.arguments.unwrap_or_default();
                let link = match &session.fast {
                    Some(fast) => CallLink::new(fast.client.clone(), CancellationToken::new()),
                    None => CallLink::default(),
                };
                match self.builtins.call(&origin, &params.name, args, &link).await {
                    Ok(mut result) => {
                        // These revisions predate resultType.
                        result.result_type = None;
                        reply(id, result)
                    }
                    Err(error) => serde_json::to_vec(&RpcError {
                        jsonrpc: "2.0",
                        id,
                        error,
                    })
                    .ok(),
                }
            }
            _ => None,
        }
    }
}

fn reply<T: Serialize>(id: &Value, result: T) -> Option<Vec<u8>> {
    serde_json::to_vec(&RpcResult {
        jsonrpc: "2.0",
        id,
        result,
    })
    .ok()
}

/// `tools/call` parameters whose `_meta` is absent, or without a progress token or
/// per-request protocol metadata.
fn plain_call(params: &RawValue) -> Option<CallToolRequestParams> {
    let params: CallToolRequestParams = serde_json::from_str(params.get()).ok()?;
    let plain = params.meta.as_ref().is_none_or(|meta| {
        meta.0
            .0
            .keys()
            .all(|k| k != "progressToken" && !k.starts_with("io.modelcontextprotocol/"))
    });
    plain.then_some(params)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or("").trim()
}

pub(super) fn is_json(content_type: &str) -> bool {
    essence(content_type).eq_ignore_ascii_case("application/json")
}

/// The transport requires clients to accept both; rmcp refuses others with 406.
pub(super) fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        for item in value.to_str().unwrap_or("").split(',') {
            let item = essence(item);
            json |= item.eq_ignore_ascii_case("application/json");
            sse |= item.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && sse
}

fn json_response(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn progress_and_new_revision_metadata_leave_the_fast_path() {
        let plain = |params: Value| {
            let raw = RawValue::from_string(params.to_string()).expect("raw");
            plain_call(&raw).is_some()
        };
        assert!(plain(json!({"name": "x"})));
        assert!(plain(json!({"name": "x", "_meta": null})));
        assert!(plain(json!({"name": "x", "_meta": {"custom": 1}})));
        assert!(!plain(json!({"name": "x", "_meta": {"progressToken": 1}})));
        assert!(!plain(
            json!({"name": "x", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}})
        ));
        assert!(!plain(json!({"name": "x", "_meta": 5})));
        assert!(!plain(json!({"arguments": {}})), "no name");
    }

    #[test]
    fn accept_must_name_both_media_types() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            "application/json, text/event-stream"
                .parse()
                .expect("header"),
        );
        assert!(accepts_json_and_sse(&h));
        h.insert(header::ACCEPT, "application/json".parse().expect("header"));
        assert!(!accepts_json_and_sse(&h));
        h.insert(
            header::ACCEPT,
            "text/event-stream;q=1, Application/JSON; q=0.5"
                .parse()
                .expect("header"),
        );
        assert!(accepts_json_and_sse(&h));
    }
}
