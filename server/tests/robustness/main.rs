//! The robustness suite: a real `mcpproxy` process per test, attacked from outside.
//!
//! - `schemathesis`: property-based REST testing against the served spec, every operation.
//! - `mcp_fuzz`: malformed, huge and deeply nested input on the `/mcp` request path.
//! - `upstream_fuzz`: upstreams that speak garbage on stdout (and stderr).
//! - `faults`: upstreams that die, hang or flood; the proxy SIGKILLed mid-write.
//! - `load`: many concurrent MCP sessions and `/events` clients.
//!
//! Run on its own with `cargo test --workspace --test robustness`. Everything binds to
//! loopback, every loop is bounded in count and time, and every test stops by itself.

#[path = "../integration/common.rs"]
#[allow(
    dead_code,
    reason = "shared with the integration suite; this suite uses part of it"
)]
mod common;

mod faults;
mod load;
mod mcp_fuzz;
mod proc;
mod rest;

mod schemathesis;
mod upstream_fuzz;
