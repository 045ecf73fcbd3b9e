//! The web control panel: the files of `server/ui/` (plain ES modules and CSS, no build
//! step), embedded in the binary and answered for `/ui/...` with their content type, an
//! `ETag` (a `304` for a matching `If-None-Match`), `Cache-Control: no-cache` (revalidate:
//! the names carry no hash), gzip when the client accepts it, and the panel's own strict
//! Content-Security-Policy (no inline script or style), no framing and `nosniff`.
//!
//! The assets need no API key (the page has to load before it can read the key from its
//! address); everything the page then asks of `/api` and `/events` does. The list of
//! files is [`ASSETS`]; a test checks it against the directory, so no file is forgotten.

#[cfg(test)]
mod spec_js;

use std::io::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use sha2::Digest as _;

/// The panel's policy: its own scripts, styles and API only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// How browsers may cache the assets: keep, but ask (the ETag makes asking cheap).
const CACHE_CONTROL: &str = "no-cache";

/// One embedded file.
struct Asset {
    /// The path under `/ui/`.
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../../ui/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of `server/ui/`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("api-spec.js", JS),
    asset!("dom.js", JS),
    asset!("live.js", JS),
    asset!("pages/dashboard.js", JS),
    asset!("pages/servers.js", JS),
    asset!("pages/server.js", JS),
    asset!("pages/tools.js", JS),
    asset!("pages/activity.js", JS),
    asset!("pages/sessions.js", JS),
    asset!("pages/secrets.js", JS),
    asset!("pages/config.js", JS),
    asset!("pages/diagnostics.js", JS),
    asset!("pages/pairs.js", JS),
];

/// An asset with what is computed once: its ETag and gzip form.
struct Prepared {
    asset: &'static Asset,
    etag: String,
    gzip: Option<Bytes>,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| Prepared {
                asset,
                etag: format!(
                    "\"{}\"",
                    hex::encode(&sha2::Sha256::digest(asset.body)[..12])
                ),
                gzip: gzip(asset.body).filter(|z| z.len() < asset.body.len()),
            })
            .collect()
    })
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

/// The answer for `/ui/<path>`: `None` when no such file exists. `path` is the part after
/// `/ui/` (empty for the page itself).
pub fn respond(
    path: &str,
    accept_encoding: Option<&str>,
    if_none_match: Option<&str>,
) -> Option<Response<Bytes>> {
    let path = if path.is_empty() { "index.html" } else { path };
    let found = prepared().iter().find(|p| p.asset.path == path)?;
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, found.asset.content_type)
        .header(header::CACHE_CONTROL, CACHE_CONTROL)
        .header(header::ETAG, found.etag.as_str())
        .header(header::VARY, "Accept-Encoding")
        .header(header::CONTENT_SECURITY_POLICY, CSP)
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer");
    let fresh = if_none_match.is_some_and(|tags| {
        tags.split(',')
            .any(|t| t.trim() == found.etag || t.trim() == "*")
    });
    let body = if fresh {
        builder = builder.status(StatusCode::NOT_MODIFIED);
        Bytes::new()
    } else if let (Some(zipped), true) = (&found.gzip, accepts_gzip(accept_encoding)) {
        builder = builder.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        zipped.clone()
    } else {
        Bytes::from_static(found.asset.body)
    };
    builder.body(body).ok()
}

/// Whether `Accept-Encoding` lists gzip with a non-zero weight.
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|list| {
        list.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            coding.eq_ignore_ascii_case("gzip") && !zero
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_directory_is_embedded_and_nothing_else() {
        fn walk(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read ui dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, base, out);
                } else {
                    let rel = path.strip_prefix(base).expect("under base");
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut on_disk = Vec::new();
        walk(&base, &base, &mut on_disk);
        on_disk.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "server/ui/ and ASSETS disagree");
    }

    #[test]
    fn gzip_etag_and_not_modified() {
        let plain = respond("app.js", None, None).expect("app.js");
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        let etag = plain.headers()[header::ETAG]
            .to_str()
            .expect("etag")
            .to_string();
        let zipped = respond("app.js", Some("br, gzip;q=0.8"), None).expect("app.js");
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(zipped.body().len() < plain.body().len());
        let refused = respond("app.js", Some("gzip;q=0"), None).expect("app.js");
        assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
        let again = respond("app.js", Some("gzip"), Some(&etag)).expect("app.js");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(again.body().is_empty());
        assert!(respond("nope.js", None, None).is_none());
        assert_eq!(
            respond("", None, None).expect("index").headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }

    /// The initial load (the page, its styles and every module it imports) stays within the
    /// issue's budget of 250 KB compressed.
    #[test]
    fn initial_load_is_under_budget() {
        let total: usize = prepared()
            .iter()
            .map(|p| p.gzip.as_ref().map_or(p.asset.body.len(), Bytes::len))
            .sum();
        assert!(total < 250 * 1024, "{total} bytes compressed");
    }
}
