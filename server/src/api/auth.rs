//! Who may call what. The front door checks the API key (header first, then `?apikey=`,
//! compared in constant time) or trusts the owner's unix socket, and only then attaches the
//! per-process internal secret; dropshot's endpoints accept that secret and nothing else, so
//! a request that did not pass the front door (a local process on dropshot's private port)
//! is refused even with the key.

use dropshot::RequestInfo;
use mcpproxy_api::{ApiError, Security};

use super::ServerCtx;

/// Header the front door sets on requests it has authenticated.
pub const INTERNAL_HEADER: &str = "x-mcpproxy-internal";

/// Header the front door sets, beside [`INTERNAL_HEADER`], to say how the caller came in:
/// [`VIA_SOCKET`] or [`VIA_API_KEY`] (a client's own value is removed first).
pub const VIA_HEADER: &str = "x-mcpproxy-via";
/// [`VIA_HEADER`] of a request over the owner's unix socket.
pub const VIA_SOCKET: &str = "socket";
/// [`VIA_HEADER`] of a request that presented the API key.
pub const VIA_API_KEY: &str = "api_key";

/// Who made an authenticated REST request, as the front door told (socket or API key).
pub fn actor(request: &RequestInfo) -> crate::storage::Actor {
    match request
        .headers()
        .get(VIA_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(VIA_SOCKET) => crate::storage::Actor::Socket,
        _ => crate::storage::Actor::ApiKey,
    }
}

/// Constant-time equality of two keys (the length is not secret).
pub fn keys_match(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `X-API-Key` header, if present (a value that is not text reads as empty, so it never
/// matches). Both the REST front door and `/mcp` read the key through this.
pub fn api_key_header(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .map(|value| value.to_str().unwrap_or(""))
}

/// The API key a request presents: `X-API-Key` if present (even if wrong), else `?apikey=`.
pub fn presented_key<'a>(
    headers: &'a http::HeaderMap,
    query: Option<&'a str>,
) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(value) = api_key_header(headers) {
        return Some(std::borrow::Cow::Borrowed(value));
    }
    query_value(query, "apikey")
}

/// The (percent-decoded) value of the first `name=` parameter in a query string.
pub fn query_value<'a>(query: Option<&'a str>, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes()).find_map(|(k, v)| (k == name).then_some(v))
    })
}

/// The decision for one request.
pub fn authorize(
    ctx: &ServerCtx,
    request: &RequestInfo,
    security: Security,
) -> Result<(), ApiError> {
    if security == Security::None {
        return Ok(());
    }
    // Only the front door's word counts: it checked the key (or the socket's peer) and the
    // Host/Origin rules. The API key alone, sent straight to dropshot's private port by a
    // local process, would skip those checks and the front door's limits.
    match request
        .headers()
        .get(INTERNAL_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(secret) if keys_match(secret, &ctx.internal_secret) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_wins_over_query_even_when_wrong() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-api-key", http::HeaderValue::from_static("wrong"));
        assert_eq!(
            presented_key(&headers, Some("apikey=right")).as_deref(),
            Some("wrong")
        );
        assert_eq!(
            presented_key(&http::HeaderMap::new(), Some("a=1&apikey=k%20y")).as_deref(),
            Some("k y")
        );
        assert_eq!(presented_key(&http::HeaderMap::new(), Some("a=1")), None);
    }

    #[test]
    fn keys_compare_exactly() {
        assert!(keys_match("abc", "abc"));
        assert!(!keys_match("abc", "abd"));
        assert!(!keys_match("ab", "abc"));
        assert!(!keys_match("", "abc"));
    }
}
