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
//! rmcp instead, which knows how to recover. Sessions at 2026-07-28 or later go through rmcp
//! too: their requests carry `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` headers computed from
//! the request and the tool's schema, which rmcp keeps (the lane would only copy the headers
//! of rmcp's last request, `Mcp-Method: tools/list` among them).
//!
//! What the server says on the request's stream before its answer reaches the client the
//! call is for ([`Downstream`]): progress (the lane asks for it under its own request id as
//! the progress token when the client wants it), log messages, and server→client requests
//! (sampling, elicitation, roots), whose answers the lane posts back to the server.
//!
//! Resumption (SEP-1699): when the request's SSE stream ends before the answer, the lane
//! waits the stream's last `retry:` (or [`DEFAULT_RETRY`]) and resumes with a GET carrying
//! `Last-Event-ID`, up to [`MAX_RESUMPTIONS`] times, reading until the answer arrives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use http::{HeaderName, HeaderValue, StatusCode, header};
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, ServerJsonRpcMessage, ServerNotification};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
    StreamableHttpResponseLimits,
};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio_util::sync::CancellationToken;

use crate::upstream::relay::Downstream;

/// Largest answer read on the lane (rmcp's own response limits are of this order).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// Ids of lane calls start with this, apart from rmcp's numeric ids.
const ID_PREFIX: &str = "mcpproxy-direct-";

/// How long to wait before resuming a dropped stream when the server named no `retry:`.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);

/// The longest `retry:` honoured (a server cannot park a call for hours).
const MAX_RETRY: Duration = Duration::from_secs(30);

/// How many times one call's stream is resumed.
const MAX_RESUMPTIONS: usize = 5;

/// How long the rest of an answered response stream is read for (see [`drain`]).
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The DPoP proof header (RFC 9449): one per request, so the lane never copies it.
const DPOP: &str = "dpop";

/// The first protocol revision whose requests carry the standard `Mcp-*` headers.
const STANDARD_HEADERS_REVISION: &str = "2026-07-28";

/// Headers rmcp computes per request (SEP-2243); never copied from one request to another.
fn is_per_request(name: &HeaderName) -> bool {
    let name = name.as_str();
    name == "mcp-method" || name == "mcp-name" || name.starts_with("mcp-param-")
}

/// What rmcp last sent along with a request (replaced whole, shared by the lane's requests),
/// as the header values the lane sends: made once per snapshot, not per request. A session
/// id or token that is no header value leaves its header out (the server's refusal sends
/// the call through rmcp, which has the same values).
#[derive(Debug, Clone, Default)]
struct Seen {
    /// `mcp-session-id`; none before rmcp has a session and after it ends one.
    session: Option<HeaderValue>,
    /// `authorization: Bearer …`, marked sensitive.
    authorization: Option<HeaderValue>,
    headers: HashMap<HeaderName, HeaderValue>,
}

/// The session header's name.
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

impl Seen {
    fn new(session: &str, auth: Option<&str>, headers: HashMap<HeaderName, HeaderValue>) -> Self {
        let authorization = auth.and_then(|token| {
            let mut value = HeaderValue::try_from(format!("Bearer {token}")).ok()?;
            value.set_sensitive(true);
            Some(value)
        });
        Self {
            session: HeaderValue::from_str(session).ok(),
            authorization,
            headers,
        }
    }
}

/// rmcp's reqwest client, remembering the session id and headers of each request, with
/// the OAuth bearer token (when the server has a source) on each one: a 401 or 403 is told
/// to the source, and a 401 the source answers with a new token is sent once more.
#[derive(Clone)]
pub(crate) struct Recorder {
    inner: reqwest::Client,
    seen: Arc<Mutex<Arc<Seen>>>,
    auth: Option<Arc<dyn crate::oauth::BearerSource>>,
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
    /// The client called it off; the server was told.
    Cancelled,
}

#[derive(serde::Serialize)]
struct Request<'a, P> {
    jsonrpc: &'static str,
    id: &'a str,
    method: &'a str,
    params: &'a P,
}

/// What the lane's requests accept.
const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
/// What the lane's requests carry.
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// One header, name and value.
type Header = (HeaderName, HeaderValue);

/// Request `method` with `params` as it goes out, and the `traceparent` header of its
/// `_meta` (when tracing is on). A client that wants progress gets the request id as the
/// progress token. Serialised straight to bytes unless the params must be edited or read.
fn body_of<P: serde::Serialize>(
    id: &str,
    method: &str,
    params: &P,
    wants_progress: bool,
) -> serde_json::Result<(Vec<u8>, Option<Header>)> {
    if !wants_progress && !crate::telemetry::trace::enabled() {
        return Ok((encode(id, method, params)?, None));
    }
    let mut params = serde_json::to_value(params)?;
    if wants_progress && let Some(object) = params.as_object_mut() {
        let meta = object
            .entry("_meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("progressToken".into(), Value::from(id));
        }
    }
    let traceparent = crate::telemetry::trace::traceparent_header_of_params(&params);
    Ok((encode(id, method, &params)?, traceparent))
}

/// The JSON-RPC request `id` for `method` with `params`, as bytes.
fn encode<P: serde::Serialize>(id: &str, method: &str, params: &P) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&Request {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

/// Posts `tools/call` with the session rmcp negotiated.
pub(crate) struct HttpLane {
    client: reqwest::Client,
    /// Parsed once; `None` if rmcp's URL does not parse (then rmcp alone handles calls).
    url: Option<reqwest::Url>,
    seen: Arc<Mutex<Arc<Seen>>>,
    next: AtomicU64,
}

/// rmcp's client for `url` and the lane beside it.
pub(crate) fn pair(
    url: &str,
    auth: Option<Arc<dyn crate::oauth::BearerSource>>,
) -> (Recorder, Arc<HttpLane>) {
    let seen = Arc::new(Mutex::new(Arc::new(Seen::default())));
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
    (Recorder { inner, seen, auth }, lane)
}

/// The status and challenge of an OAuth refusal.
fn auth_refusal<E: std::error::Error + Send + Sync + 'static>(
    error: &StreamableHttpError<E>,
) -> Option<(u16, String)> {
    match error {
        StreamableHttpError::AuthRequired(e) => Some((401, e.www_authenticate_header.clone())),
        StreamableHttpError::InsufficientScope(e) => Some((403, e.www_authenticate_header.clone())),
        _ => None,
    }
}

impl Recorder {
    /// The token to send: the OAuth source's, else what rmcp had.
    async fn bearer(&self, rmcp_auth: Option<String>) -> Option<String> {
        match &self.auth {
            Some(source) => source.bearer().await.or(rmcp_auth),
            None => rmcp_auth,
        }
    }

    /// With a DPoP-bound token, the token goes as `Authorization: DPoP …` with a fresh proof
    /// for this `method` request to `uri` in `DPoP`, instead of rmcp's bearer header.
    fn bind(
        &self,
        auth: Option<String>,
        mut headers: HashMap<HeaderName, HeaderValue>,
        method: &str,
        uri: &str,
    ) -> (Option<String>, HashMap<HeaderName, HeaderValue>) {
        let (Some(source), Some(token)) = (&self.auth, &auth) else {
            return (auth, headers);
        };
        let Some(proof) = source.dpop(method, uri, token) else {
            return (auth, headers);
        };
        match (
            HeaderValue::from_str(&format!("DPoP {token}")),
            HeaderValue::from_str(&proof),
        ) {
            (Ok(authorization), Ok(proof)) => {
                headers.insert(header::AUTHORIZATION, authorization);
                headers.insert(HeaderName::from_static(DPOP), proof);
                (None, headers)
            }
            _ => (auth, headers),
        }
    }

    /// Tell the source about a refusal (status and challenge); whether to send again.
    async fn retry_after(&self, refusal: Option<(u16, String)>, sent: &Option<String>) -> bool {
        match (&self.auth, refusal) {
            (Some(source), Some((status, header))) => {
                source.challenged(status, header, sent.clone()).await
            }
            _ => false,
        }
    }

    fn note(
        &self,
        session: &Option<Arc<str>>,
        auth: &Option<String>,
        headers: &HashMap<HeaderName, HeaderValue>,
    ) {
        if let (Some(session), Ok(mut seen)) = (session, self.seen.lock()) {
            // A new snapshot: the lane's requests share the last one without copying it.
            *seen = Arc::new(Seen::new(session, auth.as_deref(), headers.clone()));
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
        let mut auth_header = self.bearer(auth_header).await;
        // With OAuth a refused request is sent once more with the new token; without, once.
        let mut again = self.auth.is_some();
        loop {
            let (auth, mut headers) =
                self.bind(auth_header.clone(), custom_headers.clone(), "POST", &uri);
            self.note(&session_id, &auth, &headers);
            // After `note`: the lane must not copy one call's trace context to the next.
            headers.extend(crate::telemetry::trace::traceparent_header(&message));
            let answer = self
                .inner
                .post_message_with_response_limits(
                    uri.clone(),
                    message.clone(),
                    session_id.clone(),
                    auth,
                    headers,
                    limits,
                )
                .await;
            if !again {
                return answer;
            }
            again = false;
            let refusal = answer.as_ref().err().and_then(auth_refusal);
            if !self.retry_after(refusal, &auth_header).await {
                return answer;
            }
            auth_header = self.bearer(None).await;
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        if let Ok(mut seen) = self.seen.lock() {
            Arc::make_mut(&mut seen).session = None;
        }
        let auth_header = self.bearer(auth_header).await;
        let (auth_header, custom_headers) = self.bind(auth_header, custom_headers, "DELETE", &uri);
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
        let auth_header = self.bearer(auth_header).await;
        let (auth_header, custom_headers) = self.bind(auth_header, custom_headers, "GET", &uri);
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
        let auth_header = self.bearer(auth_header).await;
        let (auth_header, custom_headers) = self.bind(auth_header, custom_headers, "GET", &uri);
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
    /// Send request `method` with `params`; its `result`. What the server says about it on
    /// the way goes to `client` (which may want progress); when `cancel` fires first, the
    /// request is dropped and the server told `notifications/cancelled`.
    pub(crate) async fn request<P: serde::Serialize>(
        &self,
        method: &str,
        params: &P,
        client: Option<&Arc<dyn Downstream>>,
        cancel: &CancellationToken,
    ) -> Result<Box<RawValue>, LaneError> {
        let id = format!("{ID_PREFIX}{}", self.next.fetch_add(1, Ordering::Relaxed));
        tokio::select! {
            answer = self.exchange(&id, method, params, client) => answer,
            () = cancel.cancelled() => {
                self.cancelled(&id).await;
                Err(LaneError::Cancelled)
            }
        }
    }

    /// Tell the server request `id` is off (best effort: the call ends either way).
    async fn cancelled(&self, id: &str) {
        let Ok(seen) = self.seen.lock().map(|s| Arc::clone(&s)) else {
            return;
        };
        let (Some(_), Some(url)) = (&seen.session, &self.url) else {
            return;
        };
        if seen.headers.contains_key(DPOP) {
            return; // no proof for this request; the call ends anyway
        }
        let notice = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": id, "reason": "cancelled by the client"},
        });
        let _ = self
            .with_session(self.client.post(url.clone()), &seen)
            .header(header::ACCEPT, ACCEPT_BOTH)
            .header(header::CONTENT_TYPE, APPLICATION_JSON)
            .body(notice.to_string())
            .send()
            .await;
    }

    async fn exchange<P: serde::Serialize>(
        &self,
        id: &str,
        method: &str,
        params: &P,
        client: Option<&Arc<dyn Downstream>>,
    ) -> Result<Box<RawValue>, LaneError> {
        let seen = self
            .seen
            .lock()
            .map(|s| Arc::clone(&s))
            .map_err(|_| LaneError::Fallback)?;
        let (Some(_), Some(url)) = (&seen.session, &self.url) else {
            return Err(LaneError::Fallback);
        };
        // A DPoP-bound token needs a fresh proof per request, which only rmcp's path makes.
        if seen.headers.contains_key(DPOP) {
            return Err(LaneError::Fallback);
        }
        let revision = seen
            .headers
            .get(&HeaderName::from_static("mcp-protocol-version"))
            .and_then(|v| v.to_str().ok());
        if revision.is_some_and(|r| r >= STANDARD_HEADERS_REVISION) {
            return Err(LaneError::Fallback);
        }
        let wants_progress = client.is_some_and(|c| c.wants_progress());
        let (body, traceparent) =
            body_of(id, method, params, wants_progress).map_err(|_| LaneError::Fallback)?;
        let mut request = self
            .with_session(self.client.post(url.clone()), &seen)
            .header(header::ACCEPT, ACCEPT_BOTH)
            .header(header::CONTENT_TYPE, APPLICATION_JSON);
        if let Some((name, value)) = traceparent {
            request = request.header(name, value);
        }
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
        if !is_event_stream(&response) {
            let bytes = read_bounded(response).await?;
            if let Ok(answer) = serde_json::from_slice::<PlainAnswer>(&bytes) {
                return Ok(answer.result.to_owned());
            }
            return match serde_json::from_slice::<Value>(&bytes).ok() {
                Some(message) => outcome(message),
                None if !status.is_success() => Err(LaneError::Transport(format!(
                    "HTTP {status} without an answer"
                ))),
                None => Err(LaneError::Transport("no answer in the response".into())),
            };
        }
        let mut scan = SseScan::new(id);
        let mut stream = response;
        let relay = Relayed {
            lane: self,
            url,
            seen: &seen,
            client,
        };
        for resumption in 0..=MAX_RESUMPTIONS {
            if let Some(answer) = scan.read(stream, &relay).await? {
                return answer;
            }
            let Some(last) = scan.last_event_id.clone() else {
                // No event id: nothing to resume from.
                break;
            };
            if resumption == MAX_RESUMPTIONS {
                break;
            }
            tokio::time::sleep(scan.retry.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY)).await;
            stream = self.resume(url, &seen, &last).await?;
        }
        Err(LaneError::Transport(
            "the response stream ended without an answer".into(),
        ))
    }

    /// The session id, authorization and rmcp's session-wide headers on `request`.
    fn with_session(
        &self,
        mut request: reqwest::RequestBuilder,
        seen: &Seen,
    ) -> reqwest::RequestBuilder {
        if let Some(session) = &seen.session {
            request = request.header(MCP_SESSION_ID, session.clone());
        }
        if let Some(authorization) = &seen.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        for (name, value) in seen.headers.iter().filter(|(n, _)| !is_per_request(n)) {
            request = request.header(name, value);
        }
        request
    }

    /// GET the session's stream again from the event after `last_event_id`.
    async fn resume(
        &self,
        url: &reqwest::Url,
        seen: &Seen,
        last_event_id: &str,
    ) -> Result<reqwest::Response, LaneError> {
        let response = self
            .with_session(self.client.get(url.clone()), seen)
            .header(header::ACCEPT, "text/event-stream")
            .header("last-event-id", last_event_id)
            .send()
            .await
            .map_err(|e| LaneError::Transport(format!("resuming the stream: {e}")))?;
        if !response.status().is_success() || !is_event_stream(&response) {
            return Err(LaneError::Transport(format!(
                "resuming the stream: HTTP {}",
                response.status()
            )));
        }
        Ok(response)
    }
}

/// Where the messages the server sends on a lane request's stream go.
struct Relayed<'a> {
    lane: &'a HttpLane,
    url: &'a reqwest::Url,
    seen: &'a Seen,
    client: Option<&'a Arc<dyn Downstream>>,
}

impl Relayed<'_> {
    /// A message on the stream that is not the answer.
    async fn handle(&self, message: Value) {
        let Ok(message) = serde_json::from_value::<ServerJsonRpcMessage>(message) else {
            return;
        };
        match message {
            JsonRpcMessage::Notification(notification) => {
                let Some(client) = self.client else { return };
                match notification.notification {
                    ServerNotification::ProgressNotification(progress) => {
                        client.progress(progress.params).await;
                    }
                    ServerNotification::LoggingMessageNotification(log) => {
                        client.log(log.params).await;
                    }
                    _ => {}
                }
            }
            JsonRpcMessage::Request(request) => {
                let answer = match self.client {
                    Some(client) => client.request(request.request).await,
                    None => Err(rmcp::ErrorData::new(
                        rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                        "mcpproxy: no client is waiting on this server, so no one can answer",
                        None,
                    )),
                };
                let reply = match answer {
                    Ok(result) => {
                        serde_json::json!({"jsonrpc": "2.0", "id": request.id, "result": result})
                    }
                    Err(error) => {
                        serde_json::json!({"jsonrpc": "2.0", "id": request.id, "error": error})
                    }
                };
                // The server waits for this answer; if it cannot be posted, the call's own
                // timeout ends the wait.
                let _ = self
                    .lane
                    .with_session(self.lane.client.post(self.url.clone()), self.seen)
                    .header(header::ACCEPT, ACCEPT_BOTH)
                    .header(header::CONTENT_TYPE, APPLICATION_JSON)
                    .body(reply.to_string())
                    .send()
                    .await;
            }
            _ => {}
        }
    }
}

fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The whole body, up to [`MAX_ANSWER_BYTES`].
async fn read_bounded(response: reqwest::Response) -> Result<Vec<u8>, LaneError> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| LaneError::Transport(e.to_string()))?;
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> LaneError {
    LaneError::Transport(format!("answer larger than {MAX_ANSWER_BYTES} bytes"))
}

/// Reads SSE events looking for the JSON-RPC response with one id, remembering the last
/// event id and `retry:` for resumption.
struct SseScan<'a> {
    id: &'a str,
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// The `data:` lines of the event being read, joined by newlines.
    data: String,
    in_event: bool,
    /// Bytes read on the current stream.
    read: usize,
    last_event_id: Option<String>,
    retry: Option<Duration>,
    /// Complete events that are not the answer, in order, for the caller to pass on.
    others: Vec<Value>,
}

impl<'a> SseScan<'a> {
    fn new(id: &'a str) -> Self {
        Self {
            id,
            line: Vec::new(),
            data: String::new(),
            in_event: false,
            read: 0,
            last_event_id: None,
            retry: None,
            others: Vec::new(),
        }
    }

    /// Read `response` until the answer (returned) or the end of the stream (`None`),
    /// handing every other message to `relay` in order, before the answer.
    async fn read(
        &mut self,
        response: reqwest::Response,
        relay: &Relayed<'_>,
    ) -> Result<Option<Answer>, LaneError> {
        self.read = 0;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            // A stream cut mid-way is resumable like one that ended.
            let Ok(chunk) = chunk else { break };
            self.read += chunk.len();
            if self.read > MAX_ANSWER_BYTES {
                return Err(too_large());
            }
            let answer = self.feed(&chunk);
            for other in std::mem::take(&mut self.others) {
                relay.handle(other).await;
            }
            if let Some(answer) = answer {
                drain(stream);
                return Ok(Some(answer));
            }
        }
        // A last event without its blank line, then a fresh start for the next stream.
        let answer = self.feed(b"\n\n");
        self.line.clear();
        self.data.clear();
        self.in_event = false;
        Ok(answer)
    }

    /// Take `bytes`; the answer if an event completed by them is it.
    fn feed(&mut self, mut bytes: &[u8]) -> Option<Answer> {
        let mut found = None;
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            // One buffer for every line (its capacity kept), taken while the line is read.
            let mut line = std::mem::take(&mut self.line);
            line.extend_from_slice(&bytes[..end]);
            bytes = &bytes[end + 1..];
            let answer = {
                let text = String::from_utf8_lossy(&line);
                self.field(text.strip_suffix('\r').unwrap_or(&text))
            };
            if let Some(answer) = answer {
                found.get_or_insert(answer);
            }
            line.clear();
            self.line = line;
        }
        self.line.extend_from_slice(bytes);
        found
    }

    /// One line of the stream.
    fn field(&mut self, line: &str) -> Option<Answer> {
        if line.is_empty() {
            let data = std::mem::take(&mut self.data);
            let complete = std::mem::replace(&mut self.in_event, false);
            if !complete || data.trim().is_empty() {
                return None;
            }
            if let Ok(answer) = serde_json::from_str::<PlainAnswer>(&data)
                && answer.id == self.id
            {
                return Some(Ok(answer.result.to_owned()));
            }
            let message = serde_json::from_str::<Value>(&data).ok()?;
            if message.get("id").and_then(Value::as_str) == Some(self.id)
                && message.get("method").is_none()
            {
                return Some(outcome(message));
            }
            self.others.push(message);
            return None;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "data" => {
                if self.in_event {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.in_event = true;
            }
            "id" if !value.contains('\0') => self.last_event_id = Some(value.to_string()),
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        None
    }
}

/// Read what is left of a response stream after its answer, off the caller's path: hyper
/// puts a connection back in the pool only once its body was read to the end, so a stream
/// dropped at the answer would cost every call a new connection to the server. Usually the
/// end is already there; a server that keeps the stream open is cut off after
/// [`DRAIN_LIMIT`] or [`MAX_ANSWER_BYTES`] (the connection is then closed, as before).
fn drain(stream: impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static) {
    let mut stream = Box::pin(stream);
    if let Some(None | Some(Err(_))) = stream.next().now_or_never() {
        return;
    }
    tokio::spawn(async move {
        let rest = async {
            let mut read = 0usize;
            while let Some(Ok(chunk)) = stream.next().await {
                read += chunk.len();
                if read > MAX_ANSWER_BYTES {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_LIMIT, rest).await;
    });
}

/// The answer with `id` among an SSE body's events.
#[cfg(test)]
fn find_in_sse(body: &[u8], id: &str) -> Option<Answer> {
    let mut scan = SseScan::new(id);
    scan.feed(body).or_else(|| scan.feed(b"\n\n"))
}

/// The answer to a lane request: the result, as the server wrote it, or why there is none.
type Answer = Result<Box<RawValue>, LaneError>;

/// A plain answer, its result kept as written (the caller reads it as what it asked
/// for); anything else is read as a whole message ([`outcome`]). The lane's ids are
/// strings.
type PlainAnswer<'a> = super::PlainResponse<'a, std::borrow::Cow<'a, str>>;

/// A response message's result or error, or why it is neither.
fn outcome(mut message: Value) -> Answer {
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
    let result = message
        .get_mut("result")
        .map(Value::take)
        .ok_or_else(|| LaneError::Transport("response without result".into()))?;
    serde_json::value::to_raw_value(&result).map_err(|e| LaneError::Transport(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The result of an answer, as JSON.
    fn value(answer: Answer) -> Option<Value> {
        serde_json::from_str(answer.ok()?.get()).ok()
    }

    /// A plain answer is read in one pass; one with anything more (an extra member, an
    /// escaped id, an error) as a whole message, with the same result.
    #[test]
    fn plain_and_other_answers_give_the_same_result() {
        let id = "mcpproxy-direct-3";
        for event in [
            r#"{"jsonrpc":"2.0","id":"mcpproxy-direct-3","result":{"content":[]}}"#,
            r#"{"jsonrpc":"2.0","id":"mcpproxy-direct-3","result":{"content":[]},"x":1}"#,
            r#"{"jsonrpc":"2.0","id":"mcpproxy-direct-\u0033","result":{"content":[]}}"#,
        ] {
            let body = format!("data: {event}\n\n");
            let found = find_in_sse(body.as_bytes(), id).expect(event);
            assert_eq!(value(found), Some(json!({"content": []})), "{event}");
        }
        let error = r#"data: {"jsonrpc":"2.0","id":"mcpproxy-direct-3","error":{"code":-32602,"message":"m"}}"#;
        let found = find_in_sse(format!("{error}\n\n").as_bytes(), id).expect("found");
        assert!(matches!(found, Err(LaneError::Rpc { code: -32602, .. })));
    }

    #[test]
    fn the_answer_is_found_among_other_events() {
        let body = "id: 0\nretry: 3000\ndata: \n\n\
            data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n\
            data: {\"jsonrpc\":\"2.0\",\"id\":\"mcpproxy-direct-7\",\"result\":{\"ok\":true}}\n\n";
        let found = find_in_sse(body.as_bytes(), "mcpproxy-direct-7").expect("found");
        assert_eq!(value(found), Some(json!({"ok": true})));
        assert!(find_in_sse(body.as_bytes(), "mcpproxy-direct-8").is_none());
    }

    #[test]
    fn crlf_lines_multi_line_data_and_a_last_event_without_blank_line() {
        // The id of another call that merely starts the same is not ours.
        let body = "data: {\"jsonrpc\":\"2.0\",\"id\":\"mcpproxy-direct-70\",\"result\":{}}\r\n\r\n\
            event: message\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":\"mcpproxy-direct-7\",\r\n\
            data: \"result\":{\"n\":1}}";
        let found = find_in_sse(body.as_bytes(), "mcpproxy-direct-7").expect("found");
        assert_eq!(value(found), Some(json!({"n": 1})));
        let other = find_in_sse(body.as_bytes(), "mcpproxy-direct-70").expect("found");
        assert_eq!(value(other), Some(json!({})));
    }

    /// The JSON-RPC id of the request in `text` (the lane's ids are strings).
    fn request_id(text: &str) -> String {
        text.split("\"id\":\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
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
                let id = request_id(&text);
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
        let (recorder, lane) = pair(url, None);
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
        let got = lane_with_session(&url)
            .request("tools/call", &params, None, &CancellationToken::new())
            .await;
        assert_eq!(value(got), Some(json!({"n": 1})));

        let url = canned(
            200,
            "text/event-stream",
            "data: {\"jsonrpc\":\"2.0\",\"id\":\"{id}\",\"result\":{\"n\":2}}\n\n",
        )
        .await;
        let got = lane_with_session(&url)
            .request("tools/call", &params, None, &CancellationToken::new())
            .await;
        assert_eq!(value(got), Some(json!({"n": 2})));

        // An expired session: the server did not run it, so rmcp may.
        let url = canned(404, "text/plain", "Not Found: Session not found").await;
        let got = lane_with_session(&url)
            .request("tools/call", &params, None, &CancellationToken::new())
            .await;
        assert!(matches!(got, Err(LaneError::Fallback)));

        // A server error after it may have run: not retried.
        let url = canned(500, "text/plain", "boom").await;
        let got = lane_with_session(&url)
            .request("tools/call", &params, None, &CancellationToken::new())
            .await;
        assert!(matches!(got, Err(LaneError::Transport(_))));

        // No session yet (rmcp has not finished the handshake).
        let (_, lane) = pair(&url, None);
        assert!(matches!(
            lane.request("tools/call", &params, None, &CancellationToken::new())
                .await,
            Err(LaneError::Fallback)
        ));
    }

    /// A server whose POST stream ends after a priming event (`id: e1`, `retry: 300`) and
    /// whose GET answers the call; it records the GET's `Last-Event-ID` and when it came.
    async fn dropping_server() -> (String, Arc<Mutex<Vec<(String, std::time::Instant)>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut call_id = String::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let text = String::from_utf8_lossy(&request).to_string();
                    if text.starts_with("GET") && text.contains("\r\n\r\n")
                        || text.contains("\"params\"")
                    {
                        break;
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).to_string();
                let body = if text.starts_with("POST") {
                    call_id = request_id(&text);
                    "id: e1\nretry: 300\ndata: \n\n".to_string()
                } else {
                    let last = text
                        .lines()
                        .find_map(|l| l.strip_prefix("last-event-id: "))
                        .unwrap_or("")
                        .to_string();
                    log.lock()
                        .expect("log")
                        .push((last, std::time::Instant::now()));
                    format!(
                        "id: e2\ndata: {{\"jsonrpc\":\"2.0\",\"id\":\"{call_id}\",\"result\":{{\"resumed\":true}}}}\n\n"
                    )
                };
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_dropped_stream_is_resumed_with_last_event_id_after_retry() {
        let (url, gets) = dropping_server().await;
        let started = std::time::Instant::now();
        let got = lane_with_session(&url)
            .request(
                "tools/call",
                &json!({"name": "slow"}),
                None,
                &CancellationToken::new(),
            )
            .await;
        assert_eq!(value(got), Some(json!({"resumed": true})));
        let gets = gets.lock().expect("gets").clone();
        assert_eq!(gets.len(), 1, "one resumption");
        assert_eq!(gets[0].0, "e1", "Last-Event-ID of the priming event");
        let waited = gets[0].1 - started;
        assert!(
            waited >= Duration::from_millis(300),
            "resumed after {waited:?}, before the server's retry: 300"
        );
    }

    /// A keep-alive server answering each POST on a connection with a chunked SSE stream:
    /// the answer's event, a pause, then the end (as rmcp's server does); it counts the
    /// connections it accepted.
    async fn streaming_server() -> (String, Arc<AtomicU64>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        // One request: its head, then content-length bytes of body.
                        let head_end = loop {
                            if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                                break at + 4;
                            }
                            match socket.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => pending.extend_from_slice(&buf[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&pending[..head_end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while pending.len() < head_end + length {
                            match socket.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => pending.extend_from_slice(&buf[..n]),
                            }
                        }
                        let body: Vec<u8> =
                            pending.drain(..head_end + length).skip(head_end).collect();
                        let text = String::from_utf8_lossy(&body);
                        let id = request_id(&text);
                        let event = format!(
                            "data: {{\"jsonrpc\":\"2.0\",\"id\":\"{id}\",\"result\":{{\"n\":3}}}}\n\n"
                        );
                        let start = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
                            event.len()
                        );
                        if socket.write_all(start.as_bytes()).await.is_err() {
                            return;
                        }
                        // Kept: the end must come in a later read than the answer.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if socket.write_all(b"0\r\n\r\n").await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn answered_streams_are_read_to_the_end_so_the_connection_is_reused() {
        let (url, accepted) = streaming_server().await;
        let lane = lane_with_session(&url);
        for _ in 0..5 {
            let got = lane
                .request(
                    "tools/call",
                    &json!({"name": "echo"}),
                    None,
                    &CancellationToken::new(),
                )
                .await;
            assert_eq!(value(got), Some(json!({"n": 3})));
            // Kept: the rest of the stream is read off the call's path, by a task nothing can
            // observe (reqwest does not show its pool); the server ends it after 20 ms.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert_eq!(
            accepted.load(Ordering::Relaxed),
            1,
            "five calls, one connection"
        );
    }

    #[tokio::test]
    async fn sessions_at_2026_and_later_go_through_rmcp() {
        let url = canned(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":"{id}","result":{}}"#,
        )
        .await;
        let (recorder, lane) = pair(&url, None);
        let mut headers = HashMap::new();
        headers.insert(
            HeaderName::from_static("mcp-protocol-version"),
            HeaderValue::from_static("2026-07-28"),
        );
        headers.insert(
            HeaderName::from_static("mcp-method"),
            HeaderValue::from_static("tools/list"),
        );
        recorder.note(&Some("s-1".into()), &None, &headers);
        assert!(matches!(
            lane.request(
                "tools/call",
                &json!({"name": "echo"}),
                None,
                &CancellationToken::new()
            )
            .await,
            Err(LaneError::Fallback)
        ));
        assert!(is_per_request(&HeaderName::from_static("mcp-param-region")));
        assert!(!is_per_request(&HeaderName::from_static(
            "mcp-protocol-version"
        )));
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
