//! `/events`: the live event stream as Server-Sent Events (and `HEAD`), and `/events/ws`,
//! the same events as WebSocket JSON messages.
//!
//! Every client gets every event (a broadcast subscription each), and `status` first and
//! again whenever a count in it changes: any bus event schedules one look at the counts
//! [`STATUS_DEBOUNCE`] later (a burst costs one look), and a `status` goes out only when the
//! running/connected/connecting/quarantined/tool counts or the phase differ from the last
//! one that client was sent. A client whose subscription falls behind a burst gets
//! [`RESYNC`] (`{"missed": N}`) in place of what it missed, and should refetch what it
//! shows. A client that stops reading fills its bounded buffer and is then dropped; it never
//! slows the bus or the other clients. Streams end when the server shuts down.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dropshot::{
    ApiDescription, RequestContext, WebsocketChannelResult, WebsocketConnection, channel, endpoint,
};
use futures::SinkExt;
use http::Response;
use http_body_util::StreamBody;
use hyper::body::Frame;
use mcpproxy_api::{ApiError, Security};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use tokio_util::sync::CancellationToken;

use super::{ServerCtx, auth, wire};
use crate::app::App;
use crate::events::Published;
use crate::upstream::FedLine;

/// The event a client gets instead of the events it missed when it fell behind the bus.
pub const RESYNC: &str = "resync";

/// The event of one line of the followed server's log (`/events?logs=<server>`):
/// `{server, timestamp, level, message}`.
pub const LOG: &str = "log";
/// The event a log follower gets instead of the lines it missed: `{server, missed}`.
pub const LOG_MISSED: &str = "log.missed";

/// Interval of `ping` events.
const PING_EVERY: Duration = Duration::from_secs(30);
/// Frames buffered per client before a non-reading client is dropped.
const CLIENT_BUFFER: usize = 256;
/// How long after a bus event the counts are looked at again.
const STATUS_DEBOUNCE: Duration = Duration::from_millis(100);

/// Register the unpublished event endpoints.
pub fn register(
    api: &mut ApiDescription<ServerCtx>,
) -> Result<(), dropshot::ApiDescriptionRegisterError> {
    api.register(events_get)?;
    api.register(events_head)?;
    api.register(events_ws)?;
    Ok(())
}

fn sse_headers() -> http::response::Builder {
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "text/event-stream")
        .header(http::header::CACHE_CONTROL, "no-cache")
        .header(http::header::CONNECTION, "keep-alive")
        .header("x-accel-buffering", "no")
}

/// One SSE frame.
fn frame(kind: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

fn status_payload(app: &App) -> serde_json::Value {
    serde_json::to_value(wire::status::status(&app.status_overview(), super::VERSION).data)
        .unwrap_or_default()
}

/// Re-sends `status` when its counts change (see the module docs).
struct StatusWatch {
    /// The counts and phase of the last `status` sent.
    last: serde_json::Value,
    /// When to look again, if a bus event asked for a look.
    due: Option<tokio::time::Instant>,
}

impl StatusWatch {
    fn new(sent: &serde_json::Value) -> Self {
        Self {
            last: Self::key(sent),
            due: None,
        }
    }

    /// What a `status` is compared by: every count and the phase (not the timestamp).
    fn key(status: &serde_json::Value) -> serde_json::Value {
        serde_json::json!([status["upstream_stats"], status["phase"]])
    }

    /// Something happened: look at the counts soon (once per burst).
    fn poke(&mut self) {
        self.due
            .get_or_insert_with(|| tokio::time::Instant::now() + STATUS_DEBOUNCE);
    }

    /// Completes when a look is due; never when none is.
    async fn due(due: Option<tokio::time::Instant>) {
        match due {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// The look: the new status if its counts changed since the last one sent.
    fn changed(&mut self, app: &App) -> Option<serde_json::Value> {
        self.due = None;
        let now = status_payload(app);
        let key = Self::key(&now);
        (key != self.last).then(|| {
            self.last = key;
            now
        })
    }
}

/// A client's follow of one server's log lines.
struct LogFollow {
    server: String,
    lines: broadcast::Receiver<Arc<FedLine>>,
}

impl LogFollow {
    /// From the request's `logs` parameter: none without one; an empty one is a 400.
    fn from_request(app: &App, request: &dropshot::RequestInfo) -> Result<Option<Self>, ApiError> {
        let Some(server) = auth::query_value(request.uri().query(), "logs") else {
            return Ok(None);
        };
        if server.trim().is_empty() {
            return Err(ApiError::bad_request(
                "logs: name the server whose log lines to follow",
            ));
        }
        Ok(Some(Self {
            server: server.into_owned(),
            lines: app.upstreams().log_feed().follow(),
        }))
    }

    /// The next message for a follower: a line of its server, or how many it missed.
    /// Never completes without a follow (or once the feed is gone).
    async fn next(follow: &mut Option<Self>) -> (&'static str, serde_json::Value) {
        let Some(this) = follow.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            match this.lines.recv().await {
                Ok(line) if *line.server == *this.server => {
                    let timestamp = line.timestamp.timestamp();
                    return (
                        LOG,
                        serde_json::json!({ "payload": &*line, "timestamp": timestamp }),
                    );
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let payload = serde_json::json!({ "server": this.server, "missed": missed });
                    return (
                        LOG_MISSED,
                        serde_json::json!({ "payload": payload, "timestamp": chrono::Utc::now().timestamp() }),
                    );
                }
                Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
            }
        }
    }
}

/// What a client is sent for one receive from the bus: the event; or, when its
/// subscription fell behind a burst, [`RESYNC`] with how many events it missed (it refetches
/// what it shows, and the stream goes on: no events are skipped silently, no reconnect
/// wait). `None` when the bus is closed.
fn next_message(
    received: Result<Arc<Published>, broadcast::error::RecvError>,
    watch: &mut StatusWatch,
) -> Option<(&'static str, serde_json::Value)> {
    watch.poke();
    match received {
        Ok(event) => Some((event.kind(), event.data())),
        Err(broadcast::error::RecvError::Lagged(missed)) => {
            crate::telemetry::metrics().record_dropped_events(missed);
            Some((RESYNC, serde_json::json!({ "missed": missed })))
        }
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

/// Feed one client: the initial status, then bus events and pings, until the client goes
/// away, falls behind, or the server stops.
async fn pump(
    app: Arc<App>,
    shutdown: CancellationToken,
    mut bus: broadcast::Receiver<Arc<Published>>,
    mut logs: Option<LogFollow>,
    out: mpsc::Sender<Bytes>,
) {
    let send = |bytes: Bytes| out.try_send(bytes).is_ok();
    let status = status_payload(&app);
    if !send(Bytes::from_static(
        b": SSE connection established\nretry: 5000\n\n",
    )) || !send(frame("status", &status))
    {
        return;
    }
    let mut watch = StatusWatch::new(&status);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let due = watch.due;
        let bytes = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = out.closed() => return,
            _ = ping.tick() => frame("ping", &serde_json::json!({"timestamp": chrono::Utc::now().timestamp()})),
            _ = StatusWatch::due(due) => match watch.changed(&app) {
                Some(status) => frame("status", &status),
                None => continue,
            },
            received = bus.recv() => match next_message(received, &mut watch) {
                Some((kind, data)) => frame(kind, &data),
                None => return,
            },
            (kind, data) = LogFollow::next(&mut logs) => frame(kind, &data),
        };
        if !send(bytes) {
            return; // buffer full (client not reading) or client gone
        }
    }
}

#[endpoint { method = GET, path = "/events", unpublished = true }]
async fn events_get(
    rqctx: RequestContext<ServerCtx>,
) -> Result<Response<dropshot::Body>, ApiError> {
    auth::authorize(rqctx.context(), &rqctx.request, Security::ApiKey)?;
    let ctx = rqctx.context();
    let logs = LogFollow::from_request(&ctx.app, &rqctx.request)?;
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(pump(
        ctx.app.clone(),
        ctx.shutdown.clone(),
        ctx.app.bus().subscribe(),
        logs,
        tx,
    ));
    let frames = futures::StreamExt::map(ReceiverStream::new(rx), |b| {
        Ok::<_, Infallible>(Frame::data(b))
    });
    sse_headers()
        .body(dropshot::Body::wrap(StreamBody::new(frames)))
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}

#[endpoint { method = HEAD, path = "/events", unpublished = true }]
async fn events_head(
    rqctx: RequestContext<ServerCtx>,
) -> Result<Response<dropshot::Body>, ApiError> {
    auth::authorize(rqctx.context(), &rqctx.request, Security::ApiKey)?;
    sse_headers()
        .body(dropshot::Body::empty())
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}

#[channel { protocol = WEBSOCKETS, path = "/events/ws", unpublished = true }]
async fn events_ws(
    rqctx: RequestContext<ServerCtx>,
    upgraded: WebsocketConnection,
) -> WebsocketChannelResult {
    use tokio_tungstenite::tungstenite::Message;
    auth::authorize(rqctx.context(), &rqctx.request, Security::ApiKey)
        .map_err(|e| e.to_string())?;
    let ctx = rqctx.context();
    let mut logs = LogFollow::from_request(&ctx.app, &rqctx.request).map_err(|e| e.to_string())?;
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
        upgraded.into_inner(),
        tokio_tungstenite::tungstenite::protocol::Role::Server,
        None,
    )
    .await;
    let message = |kind: &str, data: serde_json::Value| {
        Message::text(serde_json::json!({ "type": kind, "data": data }).to_string())
    };
    let mut bus = ctx.app.bus().subscribe();
    let status = status_payload(&ctx.app);
    let mut watch = StatusWatch::new(&status);
    ws.send(message("status", status)).await?;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let due = watch.due;
        let next = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            _ = ping.tick() => message("ping", serde_json::json!({"timestamp": chrono::Utc::now().timestamp()})),
            _ = StatusWatch::due(due) => match watch.changed(&ctx.app) {
                Some(status) => message("status", status),
                None => continue,
            },
            incoming = futures::StreamExt::next(&mut ws) => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            received = bus.recv() => match next_message(received, &mut watch) {
                Some((kind, data)) => message(kind, data),
                None => break,
            },
            (kind, data) = LogFollow::next(&mut logs) => message(kind, data),
        };
        tokio::time::timeout(Duration::from_secs(10), ws.send(next))
            .await
            .map_err(|_| "client too slow")??;
    }
    let _ = ws.close(None).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_behind_the_bus_is_told_to_resync_and_goes_on() {
        let (sender, mut receiver) = broadcast::channel(2);
        let event = |n: usize| {
            Arc::new(Published {
                event: crate::events::Event::ServersChanged(
                    crate::events::ServerChange::RestartAll { count: n },
                ),
                timestamp: n as i64,
            })
        };
        for n in 0..5 {
            sender.send(event(n)).expect("a subscriber");
        }
        let mut watch = StatusWatch::new(&serde_json::json!({}));
        let first = next_message(receiver.recv().await, &mut watch);
        assert_eq!(first, Some((RESYNC, serde_json::json!({ "missed": 3 }))));
        assert!(watch.due.is_some(), "a status look is scheduled");
        // The stream goes on with the events still buffered.
        let (kind, data) = next_message(receiver.recv().await, &mut watch).expect("next");
        assert_eq!(
            (kind, data["payload"]["count"].clone()),
            ("servers.changed", serde_json::json!(3))
        );
        drop(sender);
        let _ = next_message(receiver.recv().await, &mut watch);
        assert_eq!(next_message(receiver.recv().await, &mut watch), None);
    }
}
