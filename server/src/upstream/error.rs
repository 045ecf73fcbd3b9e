//! The one error type of the upstream layer, and the classification of transport and
//! handshake failures into it (authentication, "wrong transport" and everything else).

use std::time::Duration;

use super::ConnectionState;

impl UpstreamError {
    /// A tool call whose server answered with something other than a result (input
    /// required, a task), for a caller that cannot pass that on.
    pub fn needs_a_client(server: &str, tool: &str) -> Self {
        Self::ToolCall {
            server: server.to_string(),
            tool: tool.to_string(),
            message: "the server asked for input or started a task, which needs a client that can answer (use the transparent endpoint /mcp/servers/NAME)".into(),
            code: None,
            data: None,
        }
    }
}

/// What can go wrong talking to an upstream server.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No server of that name is configured.
    #[error("server `{server}` not found")]
    NotFound {
        /// Server name.
        server: String,
    },
    /// The server is configured but is not connected (not ready).
    #[error("server `{server}` is not connected (state: {state})")]
    NotConnected {
        /// Server name.
        server: String,
        /// Its state at the time of the call.
        state: ConnectionState,
    },
    /// The server is disabled or quarantined, so it is never connected.
    #[error("server `{server}` is disabled or quarantined")]
    Disabled {
        /// Server name.
        server: String,
    },
    /// A tool call took longer than its timeout.
    #[error("tool `{server}:{tool}` timed out after {after:?}")]
    Timeout {
        /// Server name.
        server: String,
        /// Tool name.
        tool: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// Starting, connecting or talking to the server failed.
    #[error("server `{server}`: {message}")]
    Transport {
        /// Server name.
        server: String,
        /// What happened.
        message: String,
    },
    /// The server demands authentication (HTTP 401/403 or an OAuth challenge).
    #[error("server `{server}` requires authentication: {message}")]
    Auth {
        /// Server name.
        server: String,
        /// What the server said.
        message: String,
    },
    /// The server answered the tool call with a protocol error.
    #[error("tool `{server}:{tool}` failed: {message}")]
    ToolCall {
        /// Server name.
        server: String,
        /// Tool name.
        tool: String,
        /// The error.
        message: String,
        /// The JSON-RPC error code, when the server answered with one.
        code: Option<i32>,
        /// The JSON-RPC error's data, as the server sent it (redacted).
        data: Option<serde_json::Value>,
    },
    /// The per-server log could not be read.
    #[error("log of server `{server}`: {message}")]
    Log {
        /// Server name.
        server: String,
        /// The I/O error.
        message: String,
    },
    /// The client called the request off; the server was told.
    #[error("server `{server}`: {method} cancelled by the client")]
    Cancelled {
        /// Server name.
        server: String,
        /// The request's method (or `server:tool` of a tool call).
        method: String,
    },
    /// The server answered a forwarded request with a JSON-RPC error (passed on as it is).
    #[error("server `{server}`: {method} failed: {}", error.message)]
    Refused {
        /// Server name.
        server: String,
        /// The request's method.
        method: String,
        /// The server's error.
        error: rmcp::ErrorData,
    },
    /// The manager is shutting down.
    #[error("server `{server}`: the proxy is shutting down")]
    ShuttingDown {
        /// Server name.
        server: String,
    },
}

impl UpstreamError {
    /// Whether this is an authentication failure (no automatic retry).
    pub fn is_auth(&self) -> bool {
        matches!(self, Self::Auth { .. })
    }

    /// The message without the `server ...:` prefix (what `last_error` shows).
    pub fn detail(&self) -> String {
        match self {
            Self::Transport { message, .. } | Self::Auth { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

/// The full `Display` chain of an error: `outer: inner: innermost`, without repeats. rmcp's
/// wrappers (which name Rust types, and hide reqwest's cause) are unwrapped first, so a
/// refused connection reads `…: Connection refused (os error 111)`.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    use rmcp::{
        ServiceError,
        service::ClientInitializeError,
        transport::{DynamicTransportError, streamable_http_client::StreamableHttpError},
    };
    if let Some(dynamic) = error.downcast_ref::<DynamicTransportError>() {
        return error_chain(dynamic.error.as_ref());
    }
    if let Some(StreamableHttpError::Client(inner)) =
        error.downcast_ref::<StreamableHttpError<reqwest::Error>>()
    {
        return error_chain(inner);
    }
    if let Some(ServiceError::TransportSend(dynamic)) = error.downcast_ref::<ServiceError>() {
        return format!("transport error: {}", error_chain(dynamic));
    }
    if let Some(ClientInitializeError::TransportError { error, context }) =
        error.downcast_ref::<ClientInitializeError>()
    {
        return format!("{}: {context}", error_chain(error));
    }
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(current) = source {
        let text = current.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = current.source();
    }
    out
}

/// The first `HTTP <3 digits>` status mentioned in an error text, if any.
pub(crate) fn http_status_in(text: &str) -> Option<u16> {
    let mut rest = text;
    while let Some(at) = rest.find("HTTP ") {
        let after = &rest[at + 5..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() == 3 {
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// Whether an error text describes an authentication demand.
pub(crate) fn looks_like_auth(text: &str) -> bool {
    matches!(http_status_in(text), Some(401 | 403))
        || text.contains("Auth required")
        || text.contains("Insufficient scope")
        || text.contains("authorization required")
}

/// Classify a failed MCP handshake.
pub(crate) fn from_initialize(
    server: &str,
    error: &rmcp::service::ClientInitializeError,
) -> UpstreamError {
    let message = error_chain(error);
    if error.is_authorization_required() || looks_like_auth(&message) {
        UpstreamError::Auth {
            server: server.to_string(),
            message,
        }
    } else {
        UpstreamError::Transport {
            server: server.to_string(),
            message: format!("initialize: {message}"),
        }
    }
}

/// Whether a streamable HTTP handshake failure means "this is an old HTTP+SSE server":
/// a 4xx other than 401/403/429 on the initialize POST (the spec's fallback rule).
pub(crate) fn suggests_legacy_sse(error: &UpstreamError) -> bool {
    match error {
        UpstreamError::Transport { message, .. } => {
            matches!(http_status_in(message), Some(status) if (400..500).contains(&status) && !matches!(status, 401 | 403 | 429))
                || message.contains("Unexpected content type")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_http_statuses_in_messages() {
        assert_eq!(
            http_status_in("unexpected server response: HTTP 405 Method Not Allowed: x"),
            Some(405)
        );
        assert_eq!(
            http_status_in("HTTP 50 nope, HTTP 401 Unauthorized"),
            Some(401)
        );
        assert_eq!(http_status_in("connection refused"), None);
    }

    #[test]
    fn classifies_auth_and_legacy_fallback() {
        assert!(looks_like_auth("HTTP 401 Unauthorized: go away"));
        assert!(looks_like_auth("Auth required"));
        assert!(!looks_like_auth("HTTP 404 Not Found"));
        let transport = |m: &str| UpstreamError::Transport {
            server: "s".into(),
            message: m.into(),
        };
        assert!(suggests_legacy_sse(&transport(
            "initialize: HTTP 405 Method Not Allowed"
        )));
        assert!(suggests_legacy_sse(&transport(
            "initialize: HTTP 404 Not Found"
        )));
        assert!(!suggests_legacy_sse(&transport(
            "initialize: HTTP 401 Unauthorized"
        )));
        assert!(!suggests_legacy_sse(&transport("connection refused")));
    }
}
