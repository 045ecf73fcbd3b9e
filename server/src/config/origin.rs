//! Web origins (`scheme://host[:port]`, RFC 6454): the form of `cors_allowed_origins`
//! entries and of a browser's `Origin` header, compared as (scheme, host, port) with the
//! scheme's default port filled in.

use std::fmt;

/// One web origin, normalized: lower-case scheme and host, host without IPv6 brackets, an
/// explicit port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOrigin {
    scheme: String,
    host: String,
    port: u16,
}

/// Why a string is not a web origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// `*` or a `:*` port: the allow-list names origins one by one.
    #[error("wildcards are not allowed; list each origin")]
    Wildcard,
    /// Not `http://` or `https://`.
    #[error("must start with http:// or https://")]
    Scheme,
    /// Has a path, query, userinfo, or no host.
    #[error("must be scheme://host[:port] with nothing after it")]
    Shape,
}

impl WebOrigin {
    /// Parse `http(s)://host[:port]` (a trailing `/` is tolerated, as some tools add one).
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let text = text.trim();
        if text.contains('*') {
            return Err(OriginError::Wildcard);
        }
        let uri: http::Uri = text.parse().map_err(|_| OriginError::Shape)?;
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let default_port = match scheme.as_deref() {
            Some("http") => 80,
            Some("https") => 443,
            _ => return Err(OriginError::Scheme),
        };
        let authority = uri.authority().ok_or(OriginError::Shape)?;
        let path_ok = matches!(uri.path(), "" | "/") && !text.ends_with("//");
        if !path_ok || uri.query().is_some() || authority.as_str().contains('@') {
            return Err(OriginError::Shape);
        }
        let host = normalize_host(authority.host());
        if host.is_empty() {
            return Err(OriginError::Shape);
        }
        Ok(Self {
            scheme: scheme.unwrap_or_default(),
            host,
            port: authority.port_u16().unwrap_or(default_port),
        })
    }

    /// The host, normalized.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `http://<host>:<port>`, for the proxy's own origins.
    pub fn http(host: &str, port: u16) -> Self {
        Self {
            scheme: "http".into(),
            host: normalize_host(host),
            port,
        }
    }
}

impl fmt::Display for WebOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host.contains(':') {
            true => write!(f, "{}://[{}]:{}", self.scheme, self.host, self.port),
            false => write!(f, "{}://{}:{}", self.scheme, self.host, self.port),
        }
    }
}

/// A host as compared: lower case, IPv6 brackets removed.
pub fn normalize_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalize_to_scheme_host_port() {
        let parse = |s| WebOrigin::parse(s).expect("origin");
        assert_eq!(parse("http://LocalHost"), WebOrigin::http("localhost", 80));
        assert_eq!(
            parse("http://127.0.0.1:8080/"),
            WebOrigin::http("127.0.0.1", 8080)
        );
        assert_eq!(parse("http://[::1]:9").to_string(), "http://[::1]:9");
        assert_eq!(
            parse("https://app.example.com").to_string(),
            "https://app.example.com:443"
        );
    }

    #[test]
    fn wildcards_paths_and_other_schemes_are_refused() {
        let err = |s| WebOrigin::parse(s).expect_err(s);
        assert_eq!(err("*"), OriginError::Wildcard);
        assert_eq!(err("http://localhost:*"), OriginError::Wildcard);
        assert_eq!(err("null"), OriginError::Scheme);
        assert_eq!(err("file://x"), OriginError::Scheme);
        assert_eq!(err("http://a.example/path"), OriginError::Shape);
        assert_eq!(err("http://user@a.example"), OriginError::Shape);
        assert_eq!(err("http://a.example?q=1"), OriginError::Shape);
    }
}
