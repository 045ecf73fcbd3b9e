//! Who is calling `/mcp`: nobody in particular, the holder of the API key, or an agent token
//! (see `app::tokens`). The credential is read from `X-API-Key`, else `Authorization: Bearer`
//! (not from the query string: URLs end up in logs). A secret starting with `mcp_agt_` is an
//! agent token; anything else must be the API key.
//!
//! - A credential that is presented but wrong, revoked or expired → 401, always.
//! - No credential → allowed unless `require_mcp_auth` is set (then 401), as in the Go
//!   original: local agents need no setup by default. Over the owner's unix socket no
//!   credential is needed either way (the OS vouches, as for the REST API).
//! - A session stays with the credential that opened it: every later request of the session
//!   must present the same one, so a session id alone never carries anyone's rights.
//!
//! The stdio front (`mcpproxy serve --stdio`) has no credentials: the agent that spawned the
//! process owns its stdin and stdout, which is the authentication.
//!
//! The answer to a refused request is 401 with `WWW-Authenticate: Bearer` and the API's error
//! envelope.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use mcpproxy_api::{ApiError, codes};

use super::McpBody;
use crate::api::{api_key_header, keys_match};
use crate::app::{App, Grant, TOKEN_PREFIX, TokenRefusal};
use crate::config::Settings;

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No credential (allowed unless `require_mcp_auth`).
    Anonymous,
    /// The API key: no limits.
    ApiKey,
    /// An agent token: limited to its grant.
    Agent(Arc<Grant>),
}

impl Caller {
    /// The limits that apply, if any.
    pub fn grant(&self) -> Option<Arc<Grant>> {
        match self {
            Self::Agent(g) => Some(g.clone()),
            Self::Anonymous | Self::ApiKey => None,
        }
    }

    /// Whether two requests come from the same credential. Tokens are compared by identity:
    /// a token created later under a revoked token's name is another credential.
    pub fn same_as(&self, other: &Caller) -> bool {
        match (self, other) {
            (Self::Anonymous, Self::Anonymous) | (Self::ApiKey, Self::ApiKey) => true,
            (Self::Agent(a), Self::Agent(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `require_mcp_auth` is set and nothing was presented.
    #[error(
        "Authentication required: send the API key or an agent token as `Authorization: Bearer <secret>` or `X-API-Key`"
    )]
    Missing,
    /// Not the API key and not a token.
    #[error("Invalid API key")]
    BadKey,
    /// A token that is not valid (now).
    #[error(transparent)]
    Token(#[from] TokenRefusal),
    /// The session was opened with another credential.
    #[error("this MCP session was opened with a different credential")]
    OtherCredential,
}

/// Marks a request that came over the owner's unix socket (set by the front door).
#[derive(Debug, Clone, Copy)]
pub struct OwnerSocket;

/// The credential a request presents, if any.
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = api_key_header(headers) {
        return Some(key);
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim())
}

/// Who sent a request with these headers (`owner`: over the owner's unix socket) under
/// `settings` (the request's snapshot).
pub fn identify(
    headers: &HeaderMap,
    owner: bool,
    app: &App,
    settings: &Settings,
) -> Result<Caller, Refusal> {
    let Some(secret) = presented(headers) else {
        return match !owner && settings.require_mcp_auth {
            true => Err(Refusal::Missing),
            false => Ok(Caller::Anonymous),
        };
    };
    if secret.starts_with(TOKEN_PREFIX) {
        return Ok(Caller::Agent(app.authenticate_token(secret)?));
    }
    match keys_match(secret, &app.resolved().api_key) {
        true => Ok(Caller::ApiKey),
        false => Err(Refusal::BadKey),
    }
}

/// The 401 answer to a refused request.
pub fn refuse(refusal: &Refusal) -> Response<McpBody> {
    let error = ApiError::new(
        dropshot::ErrorStatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
        refusal.to_string(),
    );
    let body = serde_json::to_vec(&error).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
    *resp.status_mut() = StatusCode::UNAUTHORIZED;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mcpproxy\""),
    );
    resp
}

/// The caller rmcp's request parts carry (set by the endpoint before rmcp sees the request).
pub fn caller_of(extensions: &rmcp::model::Extensions) -> Option<&Caller> {
    extensions
        .get::<http::request::Parts>()?
        .extensions
        .get::<Caller>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn x_api_key_wins_then_bearer() {
        assert_eq!(presented(&headers(&[])), None);
        assert_eq!(
            presented(&headers(&[("authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            presented(&headers(&[("authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(presented(&headers(&[("authorization", "Basic abc")])), None);
        assert_eq!(
            presented(&headers(&[
                ("x-api-key", "k"),
                ("authorization", "Bearer abc")
            ])),
            Some("k")
        );
    }
}
