//! What a request path is, decided on exactly the path the router will see.
//!
//! Dropshot routes on segments: it splits the path on `/`, drops empty segments, refuses
//! `.`/`..` and percent-decodes each segment. The front door does the same here, then
//! rebuilds one canonical path from the decoded segments (re-encoding only what must be),
//! decides security on that path and forwards that path — so `//api/v1/servers`,
//! `/%61pi/v1/servers` and `/api/v1/servers/` are all `/api/v1/servers`, and the decision
//! and the route can never disagree. A path whose first segment names none of the proxy's
//! route families is refused here and never forwarded.

use mcpproxy_api::{OPEN_PREFIXES, Security, required_security};

use crate::mcp::McpPath;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Bytes re-encoded in a canonical segment: everything that is not a URI `pchar`, plus `%`
/// and `/` (a decoded `%2F` stays inside its segment, as dropshot reads it).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Families served by dropshot that need the key unless the spec says otherwise (as it
/// does for `/oauth/client-metadata.json`, which authorization servers fetch).
const SECURED_PREFIXES: [&str; 4] = ["api", "events", "metrics", "oauth"];

/// The MCP endpoint's first segment.
const MCP_PREFIX: &str = "mcp";

/// Why a path was refused before routing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A `.` or `..` segment (raw or percent-encoded).
    #[error("dot-segments are not permitted in the path")]
    DotSegment,
    /// A percent-encoded segment that is not UTF-8.
    #[error("invalid path encoding")]
    Encoding,
    /// No route family of the proxy starts with this segment.
    #[error("no route for this path")]
    Unknown,
}

/// Where a request goes and what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The MCP endpoint (`/mcp` and its surfaces), which authenticates by its own rules.
    Mcp(McpPath),
    /// A dropshot route, at this canonical path, needing `security`.
    Api {
        /// The canonical path to authorize and forward.
        path: String,
        /// What the caller must present.
        security: Security,
    },
}

/// Classify `raw_path` for `method` (HEAD is judged as GET, which it stands for).
pub fn classify(method: &http::Method, raw_path: &str) -> Result<Route, PathError> {
    let segments = segments(raw_path)?;
    let first = segments.first().map(String::as_str).unwrap_or("");
    if first == MCP_PREFIX {
        return McpPath::parse(&segments[1..])
            .map(Route::Mcp)
            .ok_or(PathError::Unknown);
    }
    if !OPEN_PREFIXES.contains(&first) && !SECURED_PREFIXES.contains(&first) {
        return Err(PathError::Unknown);
    }
    let path = canonical(&segments);
    let method = match *method {
        http::Method::HEAD => http::Method::GET,
        ref other => other.clone(),
    };
    let security = required_security(method.as_str(), &path);
    Ok(Route::Api { path, security })
}

/// The decoded segments, as dropshot computes them (plus refusing encoded dot-segments,
/// which dropshot would take literally).
fn segments(raw_path: &str) -> Result<Vec<String>, PathError> {
    raw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let decoded = percent_decode_str(s)
                .decode_utf8()
                .map_err(|_| PathError::Encoding)?;
            match decoded.as_ref() {
                "." | ".." => Err(PathError::DotSegment),
                _ => Ok(decoded.into_owned()),
            }
        })
        .collect()
}

fn canonical(segments: &[String]) -> String {
    if segments.is_empty() {
        return "/".to_string();
    }
    segments
        .iter()
        .map(|s| format!("/{}", utf8_percent_encode(s, SEGMENT)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(method: &str, path: &str) -> (String, Security) {
        let method = http::Method::from_bytes(method.as_bytes()).expect("method");
        match classify(&method, path) {
            Ok(Route::Api { path, security }) => (path, security),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn variants_collapse_to_the_path_dropshot_routes() {
        for raw in [
            "/api/v1/servers",
            "//api/v1/servers",
            "/api//v1///servers",
            "/api/v1/servers/",
            "/%61pi/v1/servers",
            "/api/%76%31/%73ervers",
        ] {
            assert_eq!(
                api("GET", raw),
                ("/api/v1/servers".to_string(), Security::ApiKey),
                "{raw}"
            );
        }
        assert_eq!(api("GET", "/%68ealthz").1, Security::None);
        assert_eq!(api("HEAD", "/healthz").1, Security::None);
        assert_eq!(api("GET", "/swagger/").0, "/swagger");
        assert_eq!(api("GET", "/%65vents").1, Security::ApiKey);
        assert_eq!(api("GET", "//events/ws").1, Security::ApiKey);
        assert_eq!(api("GET", "/%6detrics").1, Security::ApiKey);
    }

    #[test]
    fn encoded_slashes_and_odd_bytes_stay_inside_their_segment() {
        assert_eq!(
            api("GET", "/api/v1/secrets/a%2Fb").0,
            "/api/v1/secrets/a%2Fb"
        );
        assert_eq!(
            api("GET", "/api/v1/secrets/a%20b;c=d").0,
            "/api/v1/secrets/a%20b;c=d"
        );
        assert_eq!(api("GET", "/api/v1/secrets/%25").0, "/api/v1/secrets/%25");
    }

    #[test]
    fn unknown_families_dots_and_bad_encoding_are_refused() {
        let get = |p| classify(&http::Method::GET, p);
        assert_eq!(get("/API/v1/servers"), Err(PathError::Unknown));
        assert_eq!(get("/api%2Fv1/servers"), Err(PathError::Unknown));
        assert_eq!(get("/"), Err(PathError::Unknown));
        assert_eq!(get("*"), Err(PathError::Unknown));
        assert_eq!(get("/api/v1/../v1/servers"), Err(PathError::DotSegment));
        assert_eq!(get("/api/v1/%2e%2e/servers"), Err(PathError::DotSegment));
        assert_eq!(get("/api/./v1/servers"), Err(PathError::DotSegment));
        assert_eq!(get("/api/v1/%ff"), Err(PathError::Encoding));
        assert_eq!(get("//mcp"), Ok(Route::Mcp(McpPath::Default)));
    }

    #[test]
    fn unknown_operations_under_secured_families_need_the_key() {
        assert_eq!(api("GET", "/api/v2/anything").1, Security::ApiKey);
        assert_eq!(api("POST", "/healthz").1, Security::None);
        assert_eq!(api("GET", "/ui/x").1, Security::None);
    }
}
