//! Upstream MCP servers: connections, transports, the state machine, retry and health.

mod health;
mod state;

pub use health::{AdminState, Health, HealthInput, Level, friendly_error, health};
pub use state::ConnectionState;
