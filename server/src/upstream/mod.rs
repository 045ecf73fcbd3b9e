//! Upstream MCP servers: connections, transports, the state machine, retry and health.
//!
//! [`UpstreamManager`] is the only entry point: `apply` reconciles with the configuration,
//! one supervisor task per server (`supervisor`) connects through a transport (`transport/`),
//! discovers tools (`client`), publishes every change (`status`) and retries with backoff
//! (`backoff`); each server has its own log file (`logs`). Requests are routed to a ready
//! server (`route`) and keep a link to the client they are for (`relay`).

mod backoff;
mod client;
mod error;
mod health;
mod log_feed;
mod logs;
mod manager;
mod relay;
mod route;
mod state;
mod status;
mod supervisor;
mod transport;

pub use error::UpstreamError;
pub use health::{
    AdminState, Health, HealthInput, Level, MISSING_SECRET, friendly_error, health,
    missing_secret_error,
};
pub use log_feed::{FedLine, LogFeed};
pub use logs::{
    BadCursor, LogCursor, LogLine, LogRead, LogStart, MAX_LINES_PER_READ, MAX_LOG_BYTES, log_path,
};
pub use manager::UpstreamManager;
pub use relay::{CallLink, Downstream, Notice};
pub use state::ConnectionState;
pub use status::{Arrival, UpstreamSnapshot};
pub(crate) use transport::lifecycle::is_legacy as is_legacy_revision;
