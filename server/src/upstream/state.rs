//! The connection state of one upstream server.

use serde::Serialize;

/// disconnected → connecting → (authenticating) → discovering → ready; error; pending auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConnectionState {
    /// Not connected and not trying (disabled, quarantined, stopped).
    Disconnected,
    /// Starting the transport and the MCP handshake.
    Connecting,
    /// Waiting on authentication.
    Authenticating,
    /// Listing tools.
    Discovering,
    /// Connected with tools listed.
    Ready,
    /// Failed; a retry is scheduled with backoff.
    Error,
    /// The server demands authentication; no automatic retry.
    PendingAuth,
}

impl ConnectionState {
    /// The lowercase name used by the REST API and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disconnected => "disconnected",
            Self::Connecting => "connecting",
            Self::Authenticating => "authenticating",
            Self::Discovering => "discovering",
            Self::Ready => "ready",
            Self::Error => "error",
            Self::PendingAuth => "pending auth",
        }
    }

    /// Connecting, authenticating or discovering.
    pub fn is_connecting(self) -> bool {
        matches!(
            self,
            Self::Connecting | Self::Authenticating | Self::Discovering
        )
    }
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
