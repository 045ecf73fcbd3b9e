//! A client that drops its request stays a cancellation: when the response of a JSON-RPC
//! request is dropped before it was sent to its end (the client closed the connection or
//! the stream — a 2025 client giving up, a 2026 client aborting), the proxy tells the
//! session `notifications/cancelled` for that request id, exactly as if the client had sent
//! it, so the handler's cancellation reaches the upstream request and the history records
//! the call as cancelled.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::{Value, json};

use super::McpBody;

/// Headers a synthetic notification carries over from the request.
const CARRIED: [&str; 5] = [
    "host",
    "mcp-session-id",
    "mcp-protocol-version",
    "authorization",
    "x-api-key",
];

/// The id of a JSON-RPC request that can be called off (`initialize` cannot).
pub fn request_id(body: &[u8]) -> Option<Value> {
    let message: Value = serde_json::from_slice(body).ok()?;
    let method = message.get("method")?.as_str()?;
    let id = message.get("id")?;
    (method != "initialize" && (id.is_string() || id.is_number())).then(|| id.clone())
}

/// The body of `notifications/cancelled` for request `id`, and the headers to send it with.
pub fn cancellation(id: &Value, headers: &HeaderMap) -> (Bytes, HeaderMap) {
    let body = json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": id, "reason": "the client closed the request"},
    });
    let mut carried = HeaderMap::new();
    for name in CARRIED {
        if let Some(value) = headers.get(name) {
            carried.insert(name, value.clone());
        }
    }
    carried.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    carried.insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json, text/event-stream"),
    );
    (Bytes::from(body.to_string()), carried)
}

/// A response body that runs `on_abort` when it is dropped before its end.
pub struct AbortWatch {
    inner: McpBody,
    on_abort: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl AbortWatch {
    /// Watch `inner`.
    pub fn watch(inner: McpBody, on_abort: Box<dyn FnOnce() + Send + Sync>) -> McpBody {
        Self {
            inner,
            on_abort: Some(on_abort),
        }
        .boxed()
    }
}

impl Body for AbortWatch {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            // Sent to its end: nothing to call off.
            self.on_abort = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        if let Some(on_abort) = self.on_abort.take() {
            on_abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn only_requests_other_than_initialize_have_an_id_to_cancel() {
        assert_eq!(
            request_id(br#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#),
            Some(json!(7))
        );
        assert_eq!(
            request_id(br#"{"jsonrpc":"2.0","id":"a","method":"initialize"}"#),
            None
        );
        assert_eq!(
            request_id(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            None
        );
        assert_eq!(request_id(b"[1]"), None);
    }

    #[tokio::test]
    async fn a_body_read_to_its_end_is_no_abort_and_a_dropped_one_is() {
        let fired = Arc::new(AtomicBool::new(false));
        let flag = fired.clone();
        let body = AbortWatch::watch(
            Full::new(Bytes::from("done")).boxed(),
            Box::new(move || flag.store(true, Ordering::SeqCst)),
        );
        let collected = body.collect().await.expect("collect").to_bytes();
        assert_eq!(collected, Bytes::from("done"));
        assert!(!fired.load(Ordering::SeqCst));

        let fired = Arc::new(AtomicBool::new(false));
        let flag = fired.clone();
        let body = AbortWatch::watch(
            Full::new(Bytes::from("never read")).boxed(),
            Box::new(move || flag.store(true, Ordering::SeqCst)),
        );
        drop(body);
        assert!(fired.load(Ordering::SeqCst));
    }
}
