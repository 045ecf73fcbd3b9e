//! mcpproxy: one MCP endpoint in front of many upstream MCP servers.
//!
//! Data flows one way — `cli` → `api` → `app` → (`upstream`, …) → `events`, `config` — and
//! events come back through the one bus in [`events`]. Each module's `mod.rs` is its public
//! face; siblings use only what it re-exports.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod docker;
pub mod events;
pub mod front;
pub mod index;
pub mod mcp;
pub mod oauth;
pub mod os;
pub mod secrets;
pub mod security;
pub mod storage;
pub mod sync;
pub mod telemetry;
pub mod tokens;
pub mod ui;
pub mod update;
pub mod upstream;
