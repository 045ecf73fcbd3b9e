//! The one error type of the OAuth client. Messages never carry a token, a code, a
//! verifier or a client secret.

/// What can go wrong signing a server in.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The server is not an HTTP server, or has no URL.
    #[error("server `{0}` is not an HTTP server; OAuth applies to HTTP servers only")]
    NotHttp(String),
    /// A metadata document could not be fetched or read.
    #[error("discovery: {0}")]
    Discovery(String),
    /// Something the server or authorization server published fails a check the spec
    /// requires (resource mismatch, issuer mismatch, no PKCE).
    #[error("rejected: {0}")]
    Rejected(String),
    /// Client registration failed or is impossible.
    #[error("client registration: {0}")]
    Registration(String),
    /// The authorization response was refused (state, iss, error from the server).
    #[error("authorization response: {0}")]
    Callback(String),
    /// The token endpoint refused or failed.
    #[error("token request: {0}")]
    Token(String),
    /// No login is in progress for the server (or it expired).
    #[error("no login in progress for `{0}`")]
    NoFlow(String),
    /// The secret store failed.
    #[error("secret store: {0}")]
    Store(String),
    /// The loopback listener could not be started.
    #[error("callback listener: {0}")]
    Listener(String),
}

impl From<crate::secrets::SecretError> for OAuthError {
    fn from(error: crate::secrets::SecretError) -> Self {
        Self::Store(error.to_string())
    }
}
