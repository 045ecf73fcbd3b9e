//! Every Prometheus metric of the proxy, defined here and nowhere else, with a typed API for
//! the few places that feed them (one hook each: the recorded call, the upstream's
//! connection attempt, the tool search, the event stream's drops, the storage writer's
//! commit) and [`Metrics::render`] for `GET /metrics`.
//!
//! Counters and histograms are fed as things happen; gauges (upstream states, index size,
//! sessions, event-bus subscribers, storage queue depth) are sampled from the running
//! application when scraped ([`Gauges`]), so a removed server or a closed session can never
//! leave a stale value behind. The registry is process-wide: one process is one proxy.
//! The exposition is the `prometheus` crate's text encoder, never hand-written.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::upstream::ConnectionState;

/// Prefix of every metric name.
const NAMESPACE: &str = "mcpproxy";

/// Buckets of the call duration histogram, in seconds (1 ms to ~2 min: the call timeout).
const CALL_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0,
];

/// Buckets of the search and commit histograms, in seconds (10 µs to 2.5 s).
const FAST_BUCKETS: [f64; 12] = [
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1.0, 2.5,
];

/// Every connection state, so each server has one 0/1 series per state.
const STATES: [ConnectionState; 7] = [
    ConnectionState::Disconnected,
    ConnectionState::Connecting,
    ConnectionState::Authenticating,
    ConnectionState::Discovering,
    ConnectionState::Ready,
    ConnectionState::Error,
    ConnectionState::PendingAuth,
];

/// The `tool` label of a call whose tool the server does not have (a client can name any
/// tool: its name must not become a new series).
const UNKNOWN_TOOL: &str = "(unknown)";

/// How a proxied tool call ended, the `status` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// The upstream answered with a result that is not an error.
    Success,
    /// The upstream answered with an error result, or failed (transport, timeout).
    Error,
    /// The proxy refused the call before it reached the upstream (quarantined, disabled,
    /// out of the token's scope or tier, unknown or changed tool).
    Refused,
}

impl CallStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Refused => "refused",
        }
    }
}

/// The gauges' values at scrape time.
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    /// Each configured server's connection state.
    pub upstreams: Vec<(String, ConnectionState)>,
    /// Tools in the search index.
    pub index_tools: usize,
    /// Open MCP sessions.
    pub sessions: usize,
    /// Subscribers of the event bus (`/events` clients and internal followers).
    pub bus_subscribers: usize,
    /// Tool-call records waiting for the storage writer.
    pub storage_queue: u64,
}

/// Why the metrics could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode metrics: {0}")]
pub struct RenderError(#[from] prometheus::Error);

/// The proxy's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    calls: IntCounterVec,
    call_seconds: HistogramVec,
    upstream_state: IntGaugeVec,
    reconnects: IntCounterVec,
    index_tools: IntGauge,
    search_seconds: Histogram,
    sessions: IntGauge,
    bus_subscribers: IntGauge,
    events_dropped: IntCounter,
    storage_queue: IntGauge,
    commit_seconds: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(NAMESPACE)
}

fn histogram_opts(name: &str, help: &str, buckets: &[f64]) -> HistogramOpts {
    HistogramOpts::new(name, help)
        .namespace(NAMESPACE)
        .buckets(buckets.to_vec())
}

/// Register `metric` and hand it back. Every definition here is constant, so an error is a
/// programming error, which the unit tests below catch.
fn define<M: Collector + Clone + 'static>(registry: &Registry, metric: prometheus::Result<M>) -> M {
    let metric = metric.expect("a constant metric definition is valid");
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    define(registry, IntGauge::with_opts(opts(name, help)))
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    define(
        registry,
        Histogram::with_opts(histogram_opts(name, help, buckets)),
    )
}

impl Metrics {
    /// Define and register every metric.
    fn new() -> Self {
        let r = Registry::new();
        Self {
            calls: define(
                &r,
                IntCounterVec::new(
                    opts(
                        "tool_calls_total",
                        "Proxied tool calls by server, tool and outcome.",
                    ),
                    &["server", "tool", "status"],
                ),
            ),
            call_seconds: define(
                &r,
                HistogramVec::new(
                    histogram_opts(
                        "tool_call_duration_seconds",
                        "Duration of proxied tool calls, by server.",
                        &CALL_BUCKETS,
                    ),
                    &["server"],
                ),
            ),
            upstream_state: define(
                &r,
                IntGaugeVec::new(
                    opts(
                        "upstream_state",
                        "1 for each upstream server's current connection state, 0 for the others.",
                    ),
                    &["server", "state"],
                ),
            ),
            reconnects: define(
                &r,
                IntCounterVec::new(
                    opts(
                        "upstream_reconnects_total",
                        "Connection attempts to an upstream server after its first.",
                    ),
                    &["server"],
                ),
            ),
            index_tools: gauge(&r, "index_tools", "Tools in the search index."),
            search_seconds: histogram(
                &r,
                "search_duration_seconds",
                "Duration of tool searches in the index.",
                &FAST_BUCKETS,
            ),
            sessions: gauge(&r, "mcp_sessions", "Open MCP sessions."),
            bus_subscribers: gauge(&r, "event_subscribers", "Subscribers of the event bus."),
            events_dropped: define(
                &r,
                IntCounter::with_opts(opts(
                    "events_dropped_total",
                    "Events an event-stream client missed because it fell behind (the client is then dropped).",
                )),
            ),
            storage_queue: gauge(
                &r,
                "storage_queue_depth",
                "Tool-call records queued for the storage writer.",
            ),
            commit_seconds: histogram(
                &r,
                "storage_commit_duration_seconds",
                "Duration of the storage writer's group commits.",
                &FAST_BUCKETS,
            ),
            registry: r,
        }
    }

    /// A proxied call to `server` ended with `status` after `duration`; `tool` is `None`
    /// when the server has no such tool.
    pub fn record_call(
        &self,
        server: &str,
        tool: Option<&str>,
        status: CallStatus,
        duration: Duration,
    ) {
        self.calls
            .with_label_values(&[server, tool.unwrap_or(UNKNOWN_TOOL), status.as_str()])
            .inc();
        self.call_seconds
            .with_label_values(&[server])
            .observe(duration.as_secs_f64());
    }

    /// A connection attempt to `server` that is not its first.
    pub fn record_reconnect(&self, server: &str) {
        self.reconnects.with_label_values(&[server]).inc();
    }

    /// A tool search took `duration`.
    pub fn record_search(&self, duration: Duration) {
        self.search_seconds.observe(duration.as_secs_f64());
    }

    /// An event-stream client missed `count` events.
    pub fn record_dropped_events(&self, count: u64) {
        self.events_dropped.inc_by(count);
    }

    /// The storage writer committed a batch in `duration`.
    pub fn record_commit(&self, duration: Duration) {
        self.commit_seconds.observe(duration.as_secs_f64());
    }

    /// The text exposition of every metric, with the gauges set from `gauges`.
    pub fn render(&self, gauges: &Gauges) -> Result<String, RenderError> {
        self.upstream_state.reset();
        for (server, current) in &gauges.upstreams {
            for state in STATES {
                self.upstream_state
                    .with_label_values(&[server.as_str(), state.as_str()])
                    .set(i64::from(state == *current));
            }
        }
        let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.index_tools.set(clamp(gauges.index_tools as u64));
        self.sessions.set(clamp(gauges.sessions as u64));
        self.bus_subscribers
            .set(clamp(gauges.bus_subscribers as u64));
        self.storage_queue.set(clamp(gauges.storage_queue));
        Ok(TextEncoder::new().encode_to_string(&self.registry.gather())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_and_rendered() {
        let m = Metrics::new();
        m.record_call(
            "srv",
            Some("echo"),
            CallStatus::Success,
            Duration::from_millis(3),
        );
        m.record_call("srv", None, CallStatus::Refused, Duration::from_millis(1));
        m.record_reconnect("srv");
        m.record_search(Duration::from_micros(40));
        m.record_dropped_events(2);
        m.record_commit(Duration::from_millis(2));
        let text = m
            .render(&Gauges {
                upstreams: vec![("srv".into(), ConnectionState::Ready)],
                index_tools: 7,
                sessions: 1,
                bus_subscribers: 3,
                storage_queue: 4,
            })
            .expect("render");
        for line in [
            r#"mcpproxy_tool_calls_total{server="srv",status="success",tool="echo"} 1"#,
            r#"mcpproxy_tool_calls_total{server="srv",status="refused",tool="(unknown)"} 1"#,
            r#"mcpproxy_tool_call_duration_seconds_count{server="srv"} 2"#,
            r#"mcpproxy_upstream_state{server="srv",state="ready"} 1"#,
            r#"mcpproxy_upstream_state{server="srv",state="error"} 0"#,
            r#"mcpproxy_upstream_reconnects_total{server="srv"} 1"#,
            "mcpproxy_index_tools 7",
            "mcpproxy_search_duration_seconds_count 1",
            "mcpproxy_mcp_sessions 1",
            "mcpproxy_event_subscribers 3",
            "mcpproxy_events_dropped_total 2",
            "mcpproxy_storage_queue_depth 4",
            "mcpproxy_storage_commit_duration_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn a_removed_server_leaves_no_state_series() {
        let m = Metrics::new();
        let gauges = |names: &[&str]| Gauges {
            upstreams: names
                .iter()
                .map(|n| (n.to_string(), ConnectionState::Ready))
                .collect(),
            ..Gauges::default()
        };
        assert!(
            m.render(&gauges(&["a", "b"]))
                .expect("render")
                .contains("server=\"b\"")
        );
        assert!(
            !m.render(&gauges(&["a"]))
                .expect("render")
                .contains("server=\"b\"")
        );
    }
}
