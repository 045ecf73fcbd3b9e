//! The security suite: a real `mcpproxy` process per test, probed the way an attacker or a
//! careless client would (issue: "seal the boundary").
//!
//! Each module owns one boundary; every test binds to loopback and stops by itself. Run on its
//! own with `cargo test --workspace --test security`.

#[path = "../integration/common.rs"]
#[allow(
    dead_code,
    reason = "shared with the integration suite; this suite uses part of it"
)]
mod common;

#[path = "../robustness/proc.rs"]
#[allow(
    dead_code,
    reason = "shared with the robustness suite; this suite uses part of it"
)]
mod proc;

// Boundaries, one module each (added by the work on each section).
mod agents;
mod cors;
mod files;
mod masking;
mod paths;
mod raw;
mod review;
mod scanner;
mod slow;
mod tokens;
mod upstream_oauth;
