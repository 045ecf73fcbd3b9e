//! A direct lane for `tools/call` on streamable-HTTP upstreams.
//!
//! rmcp's client opens a new TCP connection for every request (it turns pooling off to
//! dodge delayed-ACK stalls on bodies it does not finish reading) and routes each one
//! through its worker task. A tool call needs neither: [`Recorder`] wraps rmcp's HTTP
//! client and remembers the session id and headers rmcp sends, and [`HttpLane`] posts the
//! `tools/call` itself on a pooled keep-alive connection with those, reading the single
//! JSON answer or the request's SSE stream to its end. The handshake, listings,
//! notifications and the GET stream stay rmcp's.
//!
//! When the lane cannot be sure the server saw the request — no session yet, or a refusal
//! such as 404 (session expired) — it says [`LaneError::Fallback`] and the call goes through
//! rmcp instead, which knows how to recover.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use serde_json::Value;

/// Largest answer read on the lane (rmcp's own response limits are of this order).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Ids of lane calls start with this, apart from rmcp's numeric ids.
const ID_PREFIX: &str = "mcpproxy-direct-";

/// What rmcp last sent along with a request.
#[derive(Debug, Clone, Default)]
struct Seen {
    session: Option<Arc<str>>,
    auth: Option<String>,
    headers: HashMap<HeaderName, HeaderValue>,
}

/// rmcp's reqwest client, remembering the session id and headers of each request.
#[derive(Clone)]
pub(crate) struct Recorder {
    inner: reqwest::Client,
    seen: Arc<Mutex<Seen>>,
}

/// How a lane call ended, when not with a result.
#[derive(Debug)]
pub(crate) enum LaneError {
    /// Not sent, or refused before the server handled it: use rmcp's path.
    Fallback,
    /// A JSON-RPC error from the server.
    Rpc {
        /// Its code.
        code: i32,
        /// Its message.
        message: String,
    },
    /// The request may have reached the server, but no answer came back.
    Transport(String),
}

#[derive(serde::Serialize)]
struct Request<'a, P> {
    jsonrpc: &'static str,
    id: &'a str,
    method: &'a str,
    params: &'a P,
}

/// Posts `tools/call` with the session rmcp negotiated.
pub(crate) struct HttpLane {
    client: reqwest::Client,
    /// Parsed once; `None` if rmcp's URL does not parse (then rmcp alone handles calls).
    url: Option<reqwest::Url>,
    seen: Arc<Mutex<Seen>>,
    next: AtomicU64,
}

/// rmcp's client for `url` and the lane beside it.
pub(crate) fn pair(url: &str) -> (Recorder, Arc<HttpLane>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    // rmcp's own settings for its client: no idle pooling, same-origin redirects only
    // (reqwest's default policy follows cross-origin ones; rmcp's is not public, so none).
    let inner = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default();
    let lane = Arc::new(HttpLane {
        client: reqwest::Client::builder()
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default(),
        url: reqwest::Url::parse(url).ok(),
        seen: seen.clone(),
        next: AtomicU64::new(1),
    });
    (Recorder { inner, seen }, lane)
}

impl Recorder {
    fn note(
        &self,
        session: &Option<Arc<str>>,
        auth: &Option<String>,
        headers: &HashMap<HeaderName, HeaderValue>,
    ) {
        if let (Some(session), Ok(mut seen)) = (session, self.seen.lock()) {
            seen.session = Some(session.clone());
            seen.auth = auth.clone();
            seen.headers = headers.clone();
        }
    }
}

/// Every method delegates to reqwest's implementation. Every post ends up in
/// `post_message_with_response_limits`, which notes what it carries.
impl StreamableHttpClient for Recorder {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        // As reqwest's own: the default limits.
        self.post_message_with_response_limits(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            StreamableHttpResponseLimits::default(),
        )
        .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        self.note(&session_id, &auth_header, &custom_headers);
        self.inner
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.session = None;
        }
        self.inner
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<
        BoxStream<'static, Result<sse_stream::Sse, SseError>>,
        StreamableHttpError<Self::Error>,
    > {
        self.inner
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<
        BoxStream<'static, Result<sse_stream::Sse, SseError>>,
        StreamableHttpError<Self::Error>,
    > {
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}

impl HttpLane {
    /// Send request `method` with `params`; its `result`.
    pub(crate) async fn request<P: serde::Serialize>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<Value, LaneError> {
        let seen = self
            .seen
            .lock()
            .map(|s| s.clone())
            .map_err(|_| LaneError::Fallback)?;
        let (Some(session), Some(url)) = (seen.session, &self.url) else {
            return Err(LaneError::Fallback);
        };
        let id = format!("{ID_PREFIX}{}", self.next.fetch_add(1, Ordering::Relaxed));
        let body = Request {
            jsonrpc: "2.0",
            id: &id,
            method,
            params,
        };
        let mut request = self
            .client
            .post(url.clone())
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "application/json")
            .header("mcp-session-id", &*session);
        if let Some(auth) = &seen.auth {
            request = request.bearer_auth(auth);
        }
        for (name, value) in &seen.headers {
            request = request.header(name, value);
        }
        let body = serde_json::to_vec(&body).map_err(|_| LaneError::Fallback)?;
        // Not connected at all: the server never saw it.
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() => return Err(LaneError::Fallback),
            Err(e) => return Err(LaneError::Transport(e.to_string())),
        };
        let status = response.status();
        if matches!(
            status,
            StatusCode::NOT_FOUND
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::METHOD_NOT_ALLOWED
                | StatusCode::NOT_ACCEPTABLE
                | StatusCode::UNSUPPORTED_MEDIA_TYPE
        ) {
            return Err(LaneError::Fallback);
        }
        let sse = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let bytes = read_bounded(response).await?;
        let message = if sse {
            find_in_sse(&bytes, &id)
        } else {
            serde_json::from_slice::<Value>(&bytes).ok()
        };
        match message {
            Some(message) => outcome(message),
            None if !status.is_success() => Err(LaneError::Transport(format!(
                "HTTP {status} without an answer"
            ))),
            None => Err(LaneError::Transport("no answer in the response".into())),
        }
    }
}

/// The whole body, up to [`MAX_ANSWER_BYTES`] (the request's SSE stream ends after its
/// response).
async fn read_bounded(response: reqwest::Response) -> Result<Vec<u8>, LaneError> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| LaneError::Transport(e.to_string()))?;
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(LaneError::Transport(format!(
                "answer larger than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The JSON-RPC response with `id` among an SSE body's events.
fn find_in_sse(body: &[u8], id: &str) -> Option<Value> {
    let text = String::from_utf8_lossy(body);
    // An event is its `data:` lines joined by newlines; a blank line ends it.
    let mut data = String::new();
    let mut in_event = false;
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            // Only an event that mentions the id can be its answer; parse just those.
            if in_event && data.contains(id) {
                let message: Option<Value> = serde_json::from_str(&data).ok();
                if let Some(message) =
                    message.filter(|m| m.get("id").and_then(Value::as_str) == Some(id))
                {
                    return Some(message);
                }
            }
            data.clear();
            in_event = false;
        } else if let Some(value) = line.strip_prefix("data:") {
            if in_event {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
            in_event = true;
        }
    }
    None
}

/// A well-formed response's result or error.
fn outcome(mut message: Value) -> Result<Value, LaneError> {
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(LaneError::Transport("not a JSON-RPC 2.0 response".into()));
    }
    if let Some(error) = message.get("error") {
        let code = error.get("code").and_then(Value::as_i64);
        let text = error.get("message").and_then(Value::as_str);
        return match (code.and_then(|c| i32::try_from(c).ok()), text) {
            (Some(code), Some(text)) => Err(LaneError::Rpc {
                code,
                message: text.to_string(),
            }),
            _ => Err(LaneError::Transport("malformed JSON-RPC error".into())),
        };
    }
    message
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| LaneError::Transport("response without result".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_answer_is_found_among_other_events() {
        let body = "id: 0\nretry: 3000\ndata: \n\n\
            data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n\
            data: {\"jsonrpc\":\"2.0\",\"id\":\"mcpproxy-direct-7\",\"result\":{\"ok\":true}}\n\n";
        let found = find_in_sse(body.as_bytes(), "mcpproxy-direct-7").expect("found");
        assert!(matches!(outcome(found), Ok(v) if v == json!({"ok": true})));
        assert!(find_in_sse(body.as_bytes(), "mcpproxy-direct-8").is_none());
    }

    #[test]
    fn crlf_lines_multi_line_data_and_a_last_event_without_blank_line() {
        // The id of another call that merely starts the same is not ours.
        let body = "data: {\"jsonrpc\":\"2.0\",\"id\":\"mcpproxy-direct-70\",\"result\":{}}\r\n\r\n\
            event: message\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":\"mcpproxy-direct-7\",\r\n\
            data: \"result\":{\"n\":1}}";
        let found = find_in_sse(body.as_bytes(), "mcpproxy-direct-7").expect("found");
        assert_eq!(found["result"], json!({"n": 1}));
        let other = find_in_sse(body.as_bytes(), "mcpproxy-direct-70").expect("found");
        assert_eq!(other["result"], json!({}));
    }

    /// A one-shot HTTP server answering every request with `status`, `content_type` and
    /// `body` (where `{id}` becomes the request's JSON-RPC id).
    async fn canned(status: u16, content_type: &'static str, body: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !String::from_utf8_lossy(&request).contains("\"params\"") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let id = text
                    .split("\"id\":\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .unwrap_or("")
                    .to_string();
                let body = body.replace("{id}", &id);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        url
    }

    fn lane_with_session(url: &str) -> Arc<HttpLane> {
        let (recorder, lane) = pair(url);
        recorder.note(&Some("s-1".into()), &None, &HashMap::new());
        lane
    }

    #[tokio::test]
    async fn json_and_sse_answers_arrive_and_refusals_fall_back_to_rmcp() {
        let params = json!({"name": "echo"});
        let url = canned(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":"{id}","result":{"n":1}}"#,
        )
        .await;
        let got = lane_with_session(&url).request("tools/call", &params).await;
        assert!(matches!(got, Ok(v) if v == json!({"n": 1})));

        let url = canned(
            200,
            "text/event-stream",
            "data: {\"jsonrpc\":\"2.0\",\"id\":\"{id}\",\"result\":{\"n\":2}}\n\n",
        )
        .await;
        let got = lane_with_session(&url).request("tools/call", &params).await;
        assert!(matches!(got, Ok(v) if v == json!({"n": 2})));

        // An expired session: the server did not run it, so rmcp may.
        let url = canned(404, "text/plain", "Not Found: Session not found").await;
        let got = lane_with_session(&url).request("tools/call", &params).await;
        assert!(matches!(got, Err(LaneError::Fallback)));

        // A server error after it may have run: not retried.
        let url = canned(500, "text/plain", "boom").await;
        let got = lane_with_session(&url).request("tools/call", &params).await;
        assert!(matches!(got, Err(LaneError::Transport(_))));

        // No session yet (rmcp has not finished the handshake).
        let (_, lane) = pair(&url);
        assert!(matches!(
            lane.request("tools/call", &params).await,
            Err(LaneError::Fallback)
        ));
    }

    #[test]
    fn errors_must_be_well_formed() {
        assert!(matches!(
            outcome(
                json!({"jsonrpc": "2.0", "id": "x", "error": {"code": -32602, "message": "bad"}})
            ),
            Err(LaneError::Rpc { code: -32602, .. })
        ));
        assert!(matches!(
            outcome(json!({"jsonrpc": "2.0", "id": "x", "error": "text"})),
            Err(LaneError::Transport(_))
        ));
        assert!(matches!(
            outcome(json!({"id": "x", "result": {}})),
            Err(LaneError::Transport(_))
        ));
    }
}
