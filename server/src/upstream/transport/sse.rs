//! The legacy HTTP+SSE transport (MCP 2024-11-05), which rmcp no longer ships: `GET url` with
//! `Accept: text/event-stream`, wait for `event: endpoint`, resolve the POST URL against the
//! stream's URL (same origin only), feed every `event: message` into the receive side and
//! POST each outgoing message, in order, from one sender task.

use std::{collections::HashMap, time::Duration};

use futures::StreamExt;
use http::{HeaderName, HeaderValue};
use reqwest::{Url, header};
use rmcp::{
    RoleClient,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use sse_stream::SseStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::AbortOnDropHandle;

use super::{Connected, Context, http::header_map};
use crate::upstream::{
    error::{UpstreamError, error_chain},
    logs::ServerLog,
};

/// How many received messages may wait for the client.
const INCOMING_BUFFER: usize = 256;
/// Longest one POST may take (the stream itself has no timeout).
const POST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the TCP/TLS connect of any request may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong on the SSE transport.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SseError {
    /// The server answered with a non-success status.
    #[error("HTTP {status} on {what}")]
    Status {
        /// The status (with its reason phrase).
        status: reqwest::StatusCode,
        /// Which request.
        what: &'static str,
    },
    /// The request itself failed.
    #[error("{0}")]
    Request(String),
    /// The stream ended or failed before it named the message endpoint.
    #[error("the event stream ended before the endpoint event")]
    NoEndpoint,
    /// The endpoint event named an unusable URL.
    #[error("invalid message endpoint `{0}`: {1}")]
    BadEndpoint(String, String),
    /// The transport is closed.
    #[error("the SSE connection is closed")]
    Closed,
}

impl From<reqwest::Error> for SseError {
    fn from(error: reqwest::Error) -> Self {
        Self::Request(error_chain(&error))
    }
}

type Outgoing = (ClientJsonRpcMessage, oneshot::Sender<Result<(), SseError>>);

/// An open legacy SSE session.
pub(crate) struct SseTransport {
    incoming: mpsc::Receiver<ServerJsonRpcMessage>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    reader: AbortOnDropHandle<()>,
    poster: AbortOnDropHandle<()>,
}

impl Transport<RoleClient> for SseTransport {
    type Error = SseError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), SseError>> + Send + 'static {
        let (reply, result) = oneshot::channel();
        let queued = self
            .outgoing
            .send((item, reply))
            .map_err(|_| SseError::Closed);
        async move {
            queued?;
            result.await.unwrap_or(Err(SseError::Closed))
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<ServerJsonRpcMessage>> + Send {
        self.incoming.recv()
    }

    async fn close(&mut self) -> Result<(), SseError> {
        self.incoming.close();
        self.reader.abort();
        self.poster.abort();
        Ok(())
    }
}

/// Open the event stream and wait for the endpoint.
pub(crate) async fn open(
    url: &str,
    headers: HashMap<HeaderName, HeaderValue>,
    log: ServerLog,
) -> Result<SseTransport, SseError> {
    let mut header_map = header::HeaderMap::new();
    header_map.extend(headers.into_iter().map(|(k, v)| (Some(k), v)));
    let client = reqwest::Client::builder()
        .default_headers(header_map)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()?;
    let response = client
        .get(url)
        .header(header::ACCEPT, "text/event-stream")
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(SseError::Status {
            status: response.status(),
            what: "GET (event stream)",
        });
    }
    let base = response.url().clone();
    let mut events = SseStream::from_bytes_stream(response.bytes_stream());
    let endpoint = loop {
        match events.next().await {
            Some(Ok(event)) if event.event.as_deref() == Some("endpoint") => {
                break event.data.unwrap_or_default();
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(SseError::NoEndpoint),
        }
    };
    let endpoint = resolve_endpoint(&base, endpoint.trim())?;

    let (to_client, incoming) = mpsc::channel(INCOMING_BUFFER);
    let reader_log = log.clone();
    let reader = tokio::spawn(async move {
        let why = loop {
            match events.next().await {
                Some(Ok(event)) if matches!(event.event.as_deref(), None | Some("message")) => {
                    let Some(data) = event.data else { continue };
                    match serde_json::from_str::<ServerJsonRpcMessage>(&data) {
                        Ok(message) => {
                            if to_client.send(message).await.is_err() {
                                break "the client is gone".to_string();
                            }
                        }
                        Err(error) => reader_log.write(
                            "WARN",
                            &format!("ignoring an unparsable SSE message: {error}"),
                        ),
                    }
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => break format!("event stream failed: {error}"),
                None => break "event stream ended".to_string(),
            }
        };
        reader_log.info(&format!("SSE {why}"));
    });

    let (outgoing, mut queue) = mpsc::unbounded_channel::<Outgoing>();
    let poster = tokio::spawn(async move {
        while let Some((message, reply)) = queue.recv().await {
            let result = post(&client, &endpoint, &message).await;
            let _ = reply.send(result);
        }
    });
    Ok(SseTransport {
        incoming,
        outgoing,
        reader: AbortOnDropHandle::new(reader),
        poster: AbortOnDropHandle::new(poster),
    })
}

/// POST one message to the endpoint.
async fn post(
    client: &reqwest::Client,
    endpoint: &Url,
    message: &ClientJsonRpcMessage,
) -> Result<(), SseError> {
    let response = client
        .post(endpoint.clone())
        .timeout(POST_TIMEOUT)
        .json(message)
        .send()
        .await?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(SseError::Status {
            status: response.status(),
            what: "POST (message)",
        })
    }
}

/// The endpoint URL relative to the stream's URL; another origin is refused (it would get our
/// headers).
pub(crate) fn resolve_endpoint(base: &Url, endpoint: &str) -> Result<Url, SseError> {
    let bad = |why: &str| SseError::BadEndpoint(endpoint.to_string(), why.to_string());
    let url = base.join(endpoint).map_err(|e| bad(&e.to_string()))?;
    if url.origin() != base.origin() {
        return Err(bad("it is on another origin"));
    }
    Ok(url)
}

/// Connect with legacy SSE and run the MCP handshake.
pub(crate) async fn connect(ctx: Context<'_>, url: &str) -> Result<Connected, UpstreamError> {
    let mut headers = header_map(ctx.name, &ctx.config.headers)?;
    // OAuth: the token current at connect time (legacy SSE has no per-request hook).
    if let Some(auth) = &ctx.auth
        && let Some(token) = auth.bearer().await
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    let transport = open(url, headers, ctx.log.clone()).await.map_err(|error| {
        let message = format!("SSE: {error}");
        match error {
            SseError::Status { status, .. } if matches!(status.as_u16(), 401 | 403) => {
                UpstreamError::Auth {
                    server: ctx.name.to_string(),
                    message,
                }
            }
            _ => UpstreamError::Transport {
                server: ctx.name.to_string(),
                message,
            },
        }
    })?;
    // Legacy HTTP+SSE servers are 2025-only.
    super::handshake(ctx, transport, "sse", super::lifecycle::Attempt::Initialize).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_resolve_relative_to_the_stream_and_stay_on_its_origin() {
        let base = Url::parse("http://127.0.0.1:9000/mcp/sse?x=1").expect("url");
        let abs = |s: &str| resolve_endpoint(&base, s).map(|u| u.to_string()).ok();
        assert_eq!(
            abs("/message?sessionId=a").as_deref(),
            Some("http://127.0.0.1:9000/message?sessionId=a")
        );
        assert_eq!(
            abs("message?sessionId=a").as_deref(),
            Some("http://127.0.0.1:9000/mcp/message?sessionId=a")
        );
        assert_eq!(
            abs("http://127.0.0.1:9000/m").as_deref(),
            Some("http://127.0.0.1:9000/m")
        );
        assert_eq!(abs("http://evil.example/m"), None);
    }
}
