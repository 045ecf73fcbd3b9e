//! What operators see of the proxy from outside: Prometheus [`metrics`] (scraped at
//! `GET /metrics`, key-protected like `/api/v1`) and OpenTelemetry [`trace`]s (OTLP, off by
//! default). Both are fed by a line or two at the single place where each thing happens;
//! everything else about them lives here.

pub mod metrics;
mod otlp_client;
pub mod trace;

pub use metrics::{CallStatus, Gauges, metrics};
pub use trace::{TraceParent, Tracing};
