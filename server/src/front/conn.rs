//! Connections of the front door under slow or odd clients: a cap on concurrent
//! connections per listener (past it, a 503 and close), a deadline for the first bytes of a
//! new connection, one for each request's headers once they start (hyper's
//! `header_read_timeout`, which also closes a keep-alive connection left idle that long), and
//! HTTP/1.1 or HTTP/2 (h2c) on the same port.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The HTTP/2 connection preface; a client that sends a prefix of it is still undecided.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How often a partial preface is looked at again.
const PREFACE_POLL: Duration = Duration::from_millis(10);

/// What a connection over the cap gets before it is closed: a 503 in the error envelope.
fn busy_response() -> String {
    let body = serde_json::to_string(&mcpproxy_api::ApiError::new(
        dropshot::ErrorStatusCode::SERVICE_UNAVAILABLE,
        mcpproxy_api::codes::BUSY,
        "too many connections; try again later",
    ))
    .unwrap_or_default();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time for a request's headers, and for an idle keep-alive connection.
    pub header_timeout: Duration,
    /// Time for a new connection's first bytes.
    pub first_byte_timeout: Duration,
    /// Concurrent connections.
    pub max_connections: usize,
}

/// The connection cap of one listener.
#[derive(Debug, Clone)]
pub struct Cap(Arc<Semaphore>);

impl Cap {
    /// A cap of `limits.max_connections`.
    pub fn new(limits: &Limits) -> Self {
        Self(Arc::new(Semaphore::new(limits.max_connections)))
    }

    /// A slot for a new connection; `None` when full (the caller refuses it).
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().try_acquire_owned().ok()
    }
}

/// Something the busy answer can be written to without waiting.
pub trait TryWrite {
    /// Write what fits now.
    fn try_write_now(&self, buf: &[u8]) -> std::io::Result<usize>;
}

impl TryWrite for TcpStream {
    fn try_write_now(&self, buf: &[u8]) -> std::io::Result<usize> {
        self.try_write(buf)
    }
}

impl TryWrite for tokio::net::UnixStream {
    fn try_write_now(&self, buf: &[u8]) -> std::io::Result<usize> {
        self.try_write(buf)
    }
}

/// Answer a connection over the cap with a 503 (if the socket takes it at once) and close it.
pub fn refuse_busy(stream: impl TryWrite) {
    let _ = stream.try_write_now(busy_response().as_bytes());
}

/// The hyper connection builder with the limits applied.
pub fn builder(limits: &Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // HTTP/2 has no header timeout; a peer that stops answering pings (a silent h2c
    // connection, the slowloris of HTTP/2) is closed after the same time instead.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    builder
}

/// Wait until a new TCP connection has sent enough to tell HTTP/1 from HTTP/2 (hyper's
/// header timeout takes over from there); `false` when it sent nothing in time or closed.
pub async fn first_bytes_arrive(stream: &TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) => {
                let seen = buf.get(..n).unwrap_or_default();
                if n >= H2_PREFACE.len() || !H2_PREFACE.starts_with(seen) {
                    return true;
                }
            }
        }
        // A partial preface: peek returns at once while those bytes sit unread.
        let next = tokio::time::Instant::now() + PREFACE_POLL;
        if next >= deadline {
            return false;
        }
        tokio::time::sleep_until(next).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = busy_response();
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        assert_eq!(body.len(), len);
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["code"], "BUSY");
    }
}
