//! The test kit: what the integration, upstream, security, robustness and fixture tests and
//! the benches share, written once.
//!
//! A crate rather than a `#[path]` module: every suite and the bench link the same compiled
//! code, and an item one suite does not use is not a `dead_code` warning in that suite.
//!
//! - [`bins`]: where the in-tree fixture binary and the `.harness/` installs are.
//! - [`process`]: `/proc` probes (alive, exists) and the TCP ports a process listens on.
//! - [`poll`]: poll-until with a deadline, the one way a test waits for something.
//! - [`ports`]: addresses learned from the process that bound them (never a port picked
//!   by binding and releasing it), and a port that is held closed.
//! - [`mcp`]: the text of a tool result and the JSON-RPC messages of a raw `/mcp` body.
//! - [`serve`]: the `mcpproxy serve` command over a test's directory.

pub mod bins;
pub mod mcp;
pub mod poll;
pub mod ports;
pub mod process;
pub mod serve;

pub use bins::{everything_js, fixture_bin, harness_file, workspace_root};
pub use mcp::{last_message, messages_of, post_2026, text_of};
pub use poll::{TimedOut, poll, poll_every, try_poll};
pub use ports::{ClosedPort, announced, announced_blocking, ready_addr, ready_field};
pub use process::{alive, exists, listening_ports, wait_listening};
pub use serve::serve_command;
