//! Host and Origin on the TCP port, for every route (`/api`, `/events`, `/events/ws`,
//! `/mcp`, Swagger): the DNS-rebinding and cross-site defence, in one place.
//!
//! - `Host` (or HTTP/2's `:authority`) must name this machine: a loopback name or the
//!   configured listen host. When the proxy listens on all interfaces, IP literals are
//!   accepted too (a DNS-rebinding page always arrives under a host *name*).
//! - `Origin`, when a browser sends one, must be the proxy's own origin
//!   (`http://127.0.0.1:<port>`, `http://localhost:<port>`, `http://[::1]:<port>`, the listen
//!   host) or listed in `cors_allowed_origins`. No `Origin` (curl, SDKs) passes.
//! - Only listed origins get CORS headers (the origin itself, never `*`) and preflight
//!   answers; the proxy's own pages are same-origin and need none.
//!
//! The unix socket is exempt: no browser can reach it and only the owner's uid connects.

use http::{HeaderMap, HeaderValue, Uri, header};

use crate::config::{WebOrigin, normalize_host};

/// Loopback names always accepted as `Host`.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Methods and headers a listed origin may use cross-origin.
const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE";
const ALLOW_HEADERS: &str =
    "Content-Type, Authorization, X-API-Key, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID";
const EXPOSE_HEADERS: &str = "Mcp-Session-Id";
/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

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

/// Who is asking, once the checks passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No `Origin`, or the proxy's own: no CORS headers.
    SameOrigin,
    /// A listed cross origin; its `Origin` value is echoed back.
    Listed(HeaderValue),
}

/// The allow-lists of one TCP listener.
#[derive(Debug, Clone)]
pub struct Boundary {
    hosts: Vec<String>,
    any_ip: bool,
    own: Vec<WebOrigin>,
    port: u16,
    listed: Vec<WebOrigin>,
}

impl Boundary {
    /// The lists for a proxy configured with `listen` and bound to `port`, with the
    /// configured `cors_allowed_origins` (already validated; unparsable entries are skipped).
    pub fn new(listen: &str, port: u16, cors_allowed_origins: &[String]) -> Self {
        let listen_host = listen
            .rsplit_once(':')
            .map(|(h, _)| normalize_host(h))
            .unwrap_or_default();
        let any_ip = matches!(listen_host.as_str(), "" | "0.0.0.0" | "::");
        let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|s| s.to_string()).collect();
        if !any_ip && !hosts.contains(&listen_host) {
            hosts.push(listen_host);
        }
        let own = hosts.iter().map(|h| WebOrigin::http(h, port)).collect();
        let listed = cors_allowed_origins
            .iter()
            .filter_map(|o| WebOrigin::parse(o).ok())
            .collect();
        Self {
            hosts,
            any_ip,
            own,
            port,
            listed,
        }
    }

    /// Check `Host` and `Origin` of a TCP request.
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<Caller, Refusal> {
        let authority = match headers.get(header::HOST) {
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|s| s.parse::<http::uri::Authority>().ok()),
            None => uri.authority().cloned(),
        };
        let host = normalize_host(authority.ok_or(Refusal::Host)?.host());
        if !self.host_allowed(&host) {
            return Err(Refusal::Host);
        }
        let Some(value) = headers.get(header::ORIGIN) else {
            return Ok(Caller::SameOrigin);
        };
        let origin = value
            .to_str()
            .ok()
            .and_then(|s| WebOrigin::parse(s).ok())
            .ok_or(Refusal::Origin)?;
        if self.is_own(&origin) {
            Ok(Caller::SameOrigin)
        } else if self.listed.contains(&origin) {
            Ok(Caller::Listed(value.clone()))
        } else {
            Err(Refusal::Origin)
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
            || (self.any_ip && host.parse::<std::net::IpAddr>().is_ok())
    }

    fn is_own(&self, origin: &WebOrigin) -> bool {
        self.own.contains(origin)
            || (self.any_ip
                && *origin == WebOrigin::http(origin.host(), self.port)
                && origin.host().parse::<std::net::IpAddr>().is_ok())
    }
}

/// Whether a request is a CORS preflight.
pub fn is_preflight(method: &http::Method, headers: &HeaderMap) -> bool {
    method == http::Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Add the CORS headers a listed caller needs (nothing for same-origin callers);
/// `preflight` adds the methods, headers and max-age a preflight answer carries.
pub fn add_cors(headers: &mut HeaderMap, caller: &Caller, preflight: bool) {
    let Caller::Listed(origin) = caller else {
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSE_HEADERS),
    );
    if preflight {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
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
    fn own_origins_pass_other_ports_and_foreign_ones_do_not() {
        let b = Boundary::new("127.0.0.1:8080", 8080, &[]);
        let uri: Uri = "/mcp".parse().expect("uri");
        let ok = |h, o| b.check(&uri, &headers(h, o));
        assert_eq!(ok(Some("127.0.0.1:8080"), None), Ok(Caller::SameOrigin));
        assert_eq!(
            ok(Some("localhost:8080"), Some("http://localhost:8080")),
            Ok(Caller::SameOrigin)
        );
        assert_eq!(
            ok(Some("[::1]:8080"), Some("http://[::1]:8080")),
            Ok(Caller::SameOrigin)
        );
        assert_eq!(
            ok(Some("localhost:8080"), Some("http://localhost:3000")),
            Err(Refusal::Origin)
        );
        assert_eq!(
            ok(Some("localhost:8080"), Some("https://127.0.0.1:8080")),
            Err(Refusal::Origin)
        );
        assert_eq!(ok(Some("evil.example.com"), None), Err(Refusal::Host));
        assert_eq!(ok(Some("10.0.0.1:8080"), None), Err(Refusal::Host));
        assert_eq!(ok(None, None), Err(Refusal::Host));
        for bad in ["http://evil.example.com", "null", "file://localhost"] {
            assert_eq!(ok(Some("127.0.0.1:8080"), Some(bad)), Err(Refusal::Origin));
        }
    }

    #[test]
    fn listed_origins_are_echoed_and_get_cors_headers() {
        let b = Boundary::new("127.0.0.1:8080", 8080, &["http://localhost:3000".into()]);
        let uri: Uri = "/api/v1/status".parse().expect("uri");
        let caller = b
            .check(
                &uri,
                &headers(Some("localhost:8080"), Some("http://localhost:3000")),
            )
            .expect("listed");
        assert_eq!(
            caller,
            Caller::Listed(HeaderValue::from_static("http://localhost:3000"))
        );
        let mut h = HeaderMap::new();
        add_cors(&mut h, &caller, true);
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:3000"
        );
        assert!(h.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS));
        let mut none = HeaderMap::new();
        add_cors(&mut none, &Caller::SameOrigin, true);
        assert!(none.is_empty());
    }

    #[test]
    fn the_listen_host_joins_and_all_interfaces_accept_ip_literals() {
        let named = Boundary::new("myhost.lan:8080", 8080, &[]);
        let uri: Uri = "/".parse().expect("uri");
        assert!(
            named
                .check(
                    &uri,
                    &headers(Some("myhost.lan:8080"), Some("http://myhost.lan:8080"))
                )
                .is_ok()
        );
        let all = Boundary::new("0.0.0.0:8080", 8080, &[]);
        assert!(
            all.check(
                &uri,
                &headers(Some("192.168.1.5:8080"), Some("http://192.168.1.5:8080"))
            )
            .is_ok()
        );
        assert_eq!(
            all.check(
                &uri,
                &headers(Some("192.168.1.5:8080"), Some("http://192.168.1.5:9"))
            ),
            Err(Refusal::Origin)
        );
        assert_eq!(
            all.check(&uri, &headers(Some("rebind.example.com:8080"), None)),
            Err(Refusal::Host)
        );
        assert!(Boundary::new(":8080", 8080, &[]).any_ip);
    }
}
