//! DNS-rebinding defence for `/mcp`: the `Host` must name this machine (a loopback name or
//! the configured listen host) and a browser's `Origin`, when sent, must be a loopback
//! origin. Checked on every `/mcp` request before either path (fast or rmcp) sees it; the
//! same lists configure rmcp, which checks again.

use http::{HeaderMap, Uri, header};

/// Loopback names always accepted as `Host`.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Browser origins accepted (any port), as rmcp patterns.
pub const ALLOWED_ORIGINS: [&str; 5] = [
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
];

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `Host` names another machine (or is missing or malformed).
    #[error("Forbidden: Host header is not allowed")]
    Host,
    /// `Origin` is a foreign (or malformed) origin.
    #[error("Forbidden: Origin header is not allowed")]
    Origin,
}

/// The allowed `Host` names for a proxy listening on `listen`.
pub fn allowed_hosts(listen: &str) -> Vec<String> {
    let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|s| s.to_string()).collect();
    if let Some((host, _)) = listen.rsplit_once(':') {
        let host = normalize(host);
        if !host.is_empty() && host != "0.0.0.0" && host != "::" && !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts
}

fn normalize(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// Check `Host` (or the URI authority, for HTTP/2) and `Origin`.
pub fn check(uri: &Uri, headers: &HeaderMap, hosts: &[String]) -> Result<(), Refusal> {
    let authority = match headers.get(header::HOST) {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|s| s.parse::<http::uri::Authority>().ok()),
        None => uri.authority().cloned(),
    };
    let host = authority.ok_or(Refusal::Host)?;
    if !hosts.contains(&normalize(host.host())) {
        return Err(Refusal::Host);
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin: Uri = origin
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Refusal::Origin)?;
    let scheme_ok = matches!(origin.scheme_str(), Some("http" | "https"));
    let host_ok = origin
        .host()
        .is_some_and(|h| LOOPBACK_HOSTS.contains(&normalize(h).as_str()));
    if scheme_ok && host_ok {
        Ok(())
    } else {
        Err(Refusal::Origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: Option<&str>, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = host {
            h.insert(header::HOST, v.parse().expect("header"));
        }
        if let Some(v) = origin {
            h.insert(header::ORIGIN, v.parse().expect("header"));
        }
        h
    }

    #[test]
    fn loopback_hosts_and_origins_pass_foreign_ones_do_not() {
        let hosts = allowed_hosts("127.0.0.1:8080");
        let uri: Uri = "/mcp".parse().expect("uri");
        let ok = |h, o| check(&uri, &headers(h, o), &hosts);
        assert_eq!(ok(Some("127.0.0.1:8080"), None), Ok(()));
        assert_eq!(
            ok(Some("localhost:1"), Some("http://localhost:3000")),
            Ok(())
        );
        assert_eq!(ok(Some("[::1]:9"), Some("https://127.0.0.1")), Ok(()));
        assert_eq!(ok(Some("evil.example.com"), None), Err(Refusal::Host));
        assert_eq!(ok(None, None), Err(Refusal::Host));
        assert_eq!(
            ok(Some("127.0.0.1:8080"), Some("http://evil.example.com")),
            Err(Refusal::Origin)
        );
        assert_eq!(
            ok(Some("127.0.0.1:8080"), Some("null")),
            Err(Refusal::Origin)
        );
        assert_eq!(
            ok(Some("127.0.0.1:8080"), Some("file://localhost")),
            Err(Refusal::Origin)
        );
    }

    #[test]
    fn the_listen_host_joins_unless_it_is_a_wildcard() {
        assert!(allowed_hosts("myhost.lan:8080").contains(&"myhost.lan".to_string()));
        assert_eq!(allowed_hosts("0.0.0.0:8080").len(), 3);
        assert_eq!(allowed_hosts("[::]:8080").len(), 3);
        assert_eq!(allowed_hosts("127.0.0.1:8080").len(), 3);
    }
}
