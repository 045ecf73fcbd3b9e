//! The one error type of the upstream layer, and the classification of transport and
//! handshake failures into it (authentication, "wrong transport" and everything else).

use std::time::Duration;

use rmcp::transport::streamable_http_client::StreamableHttpError;

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
    /// The streamable-HTTP handshake was refused as an old HTTP+SSE server refuses it (see
    /// [`HttpFailure::suggests_legacy_sse`]); `http-auto` then tries legacy SSE.
    #[error("server `{server}`: {message}")]
    NotStreamableHttp {
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
            Self::Transport { message, .. }
            | Self::NotStreamableHttp { message, .. }
            | Self::Auth { message, .. } => message.clone(),
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

/// What an error's chain says about the HTTP exchange behind it, found by type: rmcp's
/// streamable-HTTP errors, reqwest's status, and the legacy SSE transport's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HttpFailure {
    /// The status of the refusal, when the chain carries one.
    pub(crate) status: Option<u16>,
    /// The answer was neither JSON nor an event stream.
    pub(crate) unexpected_content_type: bool,
}

impl HttpFailure {
    /// Read `error`'s chain (rmcp's wrappers unwrapped as in [`error_chain`]).
    pub(crate) fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut found = Self::default();
        let mut next = Some(error);
        while let Some(current) = next {
            found.status = found.status.or_else(|| status_of(current));
            found.unexpected_content_type |= matches!(
                current.downcast_ref::<StreamableHttpError<reqwest::Error>>(),
                Some(StreamableHttpError::UnexpectedContentType(_))
            );
            next = inner(current);
        }
        found
    }

    /// An authentication demand: 401 or 403.
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self.status, Some(401 | 403))
    }

    /// "This is an old HTTP+SSE server": a 4xx other than 401/403/429 on the initialize
    /// POST, or an answer of another content type (the spec's fallback rule).
    pub(crate) fn suggests_legacy_sse(&self) -> bool {
        matches!(self.status, Some(status) if (400..500).contains(&status) && !matches!(status, 401 | 403 | 429))
            || self.unexpected_content_type
    }
}

/// The error one level down, through rmcp's wrappers (which hide their cause from `source`).
fn inner<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    use rmcp::{ServiceError, service::ClientInitializeError, transport::DynamicTransportError};
    if let Some(dynamic) = error.downcast_ref::<DynamicTransportError>() {
        return Some(dynamic.error.as_ref());
    }
    if let Some(ServiceError::TransportSend(dynamic)) = error.downcast_ref::<ServiceError>() {
        return Some(dynamic);
    }
    match error.downcast_ref::<ClientInitializeError>() {
        Some(ClientInitializeError::TransportError { error, .. }) => return Some(error),
        Some(ClientInitializeError::LegacyFallbackFailed { fallback, .. }) => {
            return Some(fallback.as_ref());
        }
        _ => {}
    }
    error.source()
}

/// The HTTP status one error of a chain carries, by its type.
fn status_of(error: &(dyn std::error::Error + 'static)) -> Option<u16> {
    use rmcp::transport::streamable_http_client::{
        AuthRequiredError, HttpStatusError, InsufficientScopeError,
    };
    if error.is::<AuthRequiredError>() {
        return Some(401);
    }
    if error.is::<InsufficientScopeError>() {
        return Some(403);
    }
    if let Some(status) = error.downcast_ref::<HttpStatusError>() {
        return Some(status.status);
    }
    if let Some(error) = error.downcast_ref::<reqwest::Error>() {
        return error.status().map(|s| s.as_u16());
    }
    if let Some(super::transport::SseError::Status { status, .. }) =
        error.downcast_ref::<super::transport::SseError>()
    {
        return Some(status.as_u16());
    }
    if let Some(rmcp::service::ClientInitializeError::JsonRpcError(data)) =
        error.downcast_ref::<rmcp::service::ClientInitializeError>()
    {
        // The other place the status is only text: rmcp turns a 4xx refusal of
        // `server/discover` without a JSON-RPC body into its own error with this message.
        return data
            .message
            .strip_prefix(DISCOVER_REJECTED)
            .and_then(|rest| http_status_in(&format!("HTTP {rest}")));
    }
    match error.downcast_ref::<StreamableHttpError<reqwest::Error>>()? {
        StreamableHttpError::AuthRequired(_) => Some(401),
        StreamableHttpError::InsufficientScope(_) => Some(403),
        StreamableHttpError::HttpStatus(status) => Some(status.status),
        StreamableHttpError::SessionExpired => Some(404),
        StreamableHttpError::Client(error) => error.status().map(|s| s.as_u16()),
        // The one place the status is only text: rmcp keeps a refusal without a JSON-RPC
        // body (and without an OAuth challenge) as `HTTP <status>: <body>`.
        StreamableHttpError::UnexpectedServerResponse(text) => http_status_in(text),
        _ => None,
    }
}

/// How rmcp's error for a refused `server/discover` begins (its status follows).
const DISCOVER_REJECTED: &str = "server/discover rejected with HTTP ";

/// The first `HTTP <3 digits>` status mentioned in an error text, if any. Only for the two
/// errors whose status rmcp keeps as text alone (see [`status_of`]).
fn http_status_in(text: &str) -> Option<u16> {
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

/// Classify a failed MCP handshake by the types in its chain. A stdio server has no channel
/// to demand authentication the proxy could read (its stderr is free text), so only the
/// network transports' failures are ever [`UpstreamError::Auth`].
pub(crate) fn from_initialize(
    server: &str,
    error: &rmcp::service::ClientInitializeError,
) -> UpstreamError {
    let message = error_chain(error);
    let failure = HttpFailure::of(error);
    if error.is_authorization_required() || failure.is_auth() {
        UpstreamError::Auth {
            server: server.to_string(),
            message,
        }
    } else if failure.suggests_legacy_sse() {
        UpstreamError::NotStreamableHttp {
            server: server.to_string(),
            message: format!("initialize: {message}"),
        }
    } else {
        UpstreamError::Transport {
            server: server.to_string(),
            message: format!("initialize: {message}"),
        }
    }
}

/// Whether a streamable HTTP handshake failure means "this is an old HTTP+SSE server".
pub(crate) fn suggests_legacy_sse(error: &UpstreamError) -> bool {
    matches!(error, UpstreamError::NotStreamableHttp { .. })
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

    /// A handshake that failed with `error` from the streamable-HTTP client.
    fn handshake_failure(
        error: StreamableHttpError<reqwest::Error>,
    ) -> rmcp::service::ClientInitializeError {
        rmcp::service::ClientInitializeError::TransportError {
            error: rmcp::transport::DynamicTransportError::from_parts(
                "streamable-http",
                std::any::TypeId::of::<()>(),
                Box::new(error),
            ),
            context: "send initialize request".into(),
        }
    }

    fn classified(error: StreamableHttpError<reqwest::Error>) -> UpstreamError {
        from_initialize("s", &handshake_failure(error))
    }

    fn refused(text: &'static str) -> StreamableHttpError<reqwest::Error> {
        StreamableHttpError::UnexpectedServerResponse(text.into())
    }

    #[test]
    fn classifies_auth_and_legacy_fallback() {
        use rmcp::transport::streamable_http_client::{
            AuthRequiredError, HttpStatusError, InsufficientScopeError,
        };
        assert!(classified(refused("HTTP 401 Unauthorized: go away")).is_auth());
        assert!(classified(refused("HTTP 403 Forbidden: no")).is_auth());
        assert!(
            classified(StreamableHttpError::AuthRequired(AuthRequiredError::new(
                "Bearer".into()
            )))
            .is_auth()
        );
        assert!(
            classified(StreamableHttpError::InsufficientScope(
                InsufficientScopeError::new("Bearer".into(), None)
            ))
            .is_auth()
        );
        assert!(!classified(refused("HTTP 404 Not Found")).is_auth());
        assert!(suggests_legacy_sse(&classified(refused(
            "HTTP 405 Method Not Allowed"
        ))));
        assert!(suggests_legacy_sse(&classified(refused(
            "HTTP 404 Not Found"
        ))));
        assert!(suggests_legacy_sse(&classified(
            StreamableHttpError::UnexpectedContentType(Some("text/html".into()))
        )));
        assert!(!suggests_legacy_sse(&classified(refused(
            "HTTP 401 Unauthorized"
        ))));
        assert!(!suggests_legacy_sse(&classified(
            StreamableHttpError::HttpStatus(HttpStatusError::new(429, None))
        )));
        assert!(!suggests_legacy_sse(&classified(StreamableHttpError::Io(
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused)
        ))));
        // A legacy server refusing `server/discover` (rmcp's own JSON-RPC error).
        let discover =
            rmcp::service::ClientInitializeError::JsonRpcError(rmcp::ErrorData::invalid_request(
                "server/discover rejected with HTTP 405 Method Not Allowed: nope",
                None,
            ));
        assert!(suggests_legacy_sse(&from_initialize("s", &discover)));
        let other = rmcp::service::ClientInitializeError::JsonRpcError(
            rmcp::ErrorData::invalid_request("HTTP 405 in someone else's words", None),
        );
        assert!(!suggests_legacy_sse(&from_initialize("s", &other)));
        // The text the old classifier searched is no evidence without the type.
        let lookalike = UpstreamError::Transport {
            server: "s".into(),
            message: "initialize: HTTP 405 Method Not Allowed".into(),
        };
        assert!(!suggests_legacy_sse(&lookalike));
        // `last_error` reads as before.
        assert_eq!(
            classified(refused("HTTP 405 Method Not Allowed")).detail(),
            "initialize: unexpected server response: HTTP 405 Method Not Allowed: send initialize request"
        );
    }
}
