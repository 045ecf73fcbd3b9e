//! Which MCP lifecycle opens an upstream session, per server: the 2026-07-28
//! `server/discover` or the 2025 `initialize` handshake.
//!
//! - `auto` (the default): rmcp's `Auto` mode — `server/discover` first; when the server
//!   answers it with an ordinary JSON-RPC error (a 2025 server's -32601, or an HTTP 4xx) rmcp
//!   sends `initialize` on the same connection at once, so a 2025 server pays one round trip,
//!   not a timeout. Only a server that ignores `server/discover` costs rmcp's 10 s probe
//!   timeout, once: the revision that worked is remembered (`last_revision`, the identity of
//!   the previous connection) and a server that last spoke a 2025 revision is opened with
//!   `initialize` first from then on.
//! - When discovery fails in a way rmcp does not fall back from (the server says
//!   `-32022 UnsupportedProtocolVersion` naming only 2025 revisions, or closes the
//!   connection, as an older rmcp server does on any first message but `initialize`), the
//!   next attempt opens a fresh connection (a new process for stdio) with `initialize`.
//! - `initialize-first`: the reverse order, for servers known to be 2025 (no probe at all);
//!   `initialize` and `discover` use one handshake only.
//! - Legacy HTTP+SSE servers are 2025-only: always `initialize`.

use rmcp::model::ProtocolVersion;
use rmcp::service::ClientLifecycleMode;

/// One handshake to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// `server/discover`, falling back to `initialize` on the same connection (rmcp's rules).
    Auto,
    /// `server/discover` only.
    Discover,
    /// `initialize` only, offering the newest revision that has it.
    Initialize,
}

impl Attempt {
    /// rmcp's lifecycle mode for this attempt.
    pub(crate) fn mode(self) -> ClientLifecycleMode {
        let modern = vec![ProtocolVersion::LATEST];
        match self {
            Self::Auto => ClientLifecycleMode::Auto {
                preferred_versions: modern,
                legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
            },
            Self::Discover => ClientLifecycleMode::Discover {
                preferred_versions: modern,
            },
            Self::Initialize => ClientLifecycleMode::Initialize,
        }
    }

    /// Its name in logs.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Auto => "server/discover (initialize as fallback)",
            Self::Discover => "server/discover",
            Self::Initialize => "initialize",
        }
    }
}

/// The handshakes to try, in order, for a server with `handshake` set as configured
/// (`auto` when unset) that last negotiated `last_revision`.
pub(crate) fn plan(handshake: &str, last_revision: Option<&str>) -> &'static [Attempt] {
    match handshake {
        "initialize" => &[Attempt::Initialize],
        "discover" => &[Attempt::Discover],
        "initialize-first" => &[Attempt::Initialize, Attempt::Discover],
        _ if last_revision.is_some_and(is_legacy) => &[Attempt::Initialize, Attempt::Discover],
        _ => &[Attempt::Auto, Attempt::Initialize],
    }
}

/// Whether `revision` is one opened by `initialize` (2025-11-25 and older).
pub(crate) fn is_legacy(revision: &str) -> bool {
    // ISO dates compare in order as strings.
    revision < ProtocolVersion::NO_INITIALIZE.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_first_unless_configured_or_last_time_was_2025() {
        assert_eq!(plan("auto", None), [Attempt::Auto, Attempt::Initialize]);
        assert_eq!(
            plan("auto", Some("2026-07-28")),
            [Attempt::Auto, Attempt::Initialize]
        );
        assert_eq!(
            plan("auto", Some("2025-06-18")),
            [Attempt::Initialize, Attempt::Discover]
        );
        assert_eq!(
            plan("initialize-first", None),
            [Attempt::Initialize, Attempt::Discover]
        );
        assert_eq!(
            plan("initialize", Some("2026-07-28")),
            [Attempt::Initialize]
        );
        assert_eq!(plan("discover", Some("2025-11-25")), [Attempt::Discover]);
    }

    #[test]
    fn initialize_offers_a_2025_revision_and_auto_falls_back_to_one() {
        assert!(is_legacy("2025-11-25") && is_legacy("2024-11-05"));
        assert!(!is_legacy("2026-07-28"));
        assert!(matches!(
            Attempt::Auto.mode(),
            ClientLifecycleMode::Auto { legacy_version: Some(v), .. } if v == ProtocolVersion::V_2025_11_25
        ));
    }
}
