//! Integration tests against a real `mcpproxy` process. REST goes through the generated
//! client; raw HTTP appears only in `wire.rs` (auth walk, envelopes, CORS, limits) and in
//! `events.rs` (the event stream).

mod activity;
mod cli;
mod common;
mod config;
mod conformance_auth;
mod conformance_client;
mod connect;
mod events;
mod import;
mod lifecycle;
mod manage;
mod manage_cli;
mod mcp;
mod ops;
mod registry;
mod results;
mod revisions;
mod secrets;
mod servers;
mod status;
mod stdio_front;
mod tasks;
mod telemetry;
mod token_stats;
mod transparent;
mod wire;
