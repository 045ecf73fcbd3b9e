//! The client metadata this proxy gives authorization servers, in one place: what dynamic
//! client registration (RFC 7591) sends and the Client ID Metadata Document the proxy
//! publishes at [`DOCUMENT_PATH`] (the 2026-07-28 default client identity, whose `client_id`
//! is the document's own URL).
//!
//! The proxy is a public native client: PKCE instead of a secret, redirected to its loopback
//! listener, whose port an authorization server must let vary (RFC 8252 §7.3).

use super::listener::CALLBACK_PATH;

/// Where the proxy serves its Client ID Metadata Document.
pub const DOCUMENT_PATH: &str = "/oauth/client-metadata.json";

/// The name authorization servers show on their consent screens.
pub const CLIENT_NAME: &str = "mcpproxy";

/// Where people read about the client.
pub const CLIENT_URI: &str = "https://github.com/smart-mcp-proxy/mcpproxy-go";

/// The grants the browser sign-in uses.
pub const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// The response type of the authorization code flow.
pub const RESPONSE_TYPES: [&str; 1] = ["code"];

/// The redirect URI the document registers: the loopback listener, on any port.
pub fn loopback_redirect_uri() -> String {
    format!("http://127.0.0.1{CALLBACK_PATH}")
}

/// A Client ID Metadata Document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The URL the document is served at.
    pub client_id: String,
    /// [`CLIENT_NAME`].
    pub client_name: &'static str,
    /// [`CLIENT_URI`].
    pub client_uri: &'static str,
    /// The loopback callback.
    pub redirect_uris: Vec<String>,
    /// [`GRANT_TYPES`].
    pub grant_types: &'static [&'static str],
    /// [`RESPONSE_TYPES`].
    pub response_types: &'static [&'static str],
    /// Always `none`: a public client.
    pub token_endpoint_auth_method: &'static str,
    /// The software's version.
    pub software_version: &'static str,
}

/// A `url` given for the document that is not an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an absolute http(s) URL for the client metadata document")]
pub struct BadDocumentUrl(String);

/// The document served at `client_id`, which must be an absolute http(s) URL without a
/// fragment.
pub fn document(client_id: &str) -> Result<Document, BadDocumentUrl> {
    let bad = || BadDocumentUrl(client_id.chars().take(200).collect());
    let url = reqwest::Url::parse(client_id).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || url.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(Document {
        client_id: client_id.to_string(),
        client_name: CLIENT_NAME,
        client_uri: CLIENT_URI,
        redirect_uris: vec![loopback_redirect_uri()],
        grant_types: &GRANT_TYPES,
        response_types: &RESPONSE_TYPES,
        token_endpoint_auth_method: super::client_id::AUTH_NONE,
        software_version: env!("CARGO_PKG_VERSION"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_its_own_url_and_the_loopback_callback() {
        let doc = document("https://example.com/mcpproxy-client.json").expect("document");
        assert_eq!(doc.client_id, "https://example.com/mcpproxy-client.json");
        assert_eq!(doc.redirect_uris, ["http://127.0.0.1/callback"]);
        assert_eq!(doc.token_endpoint_auth_method, "none");
        for bad in [
            "example.com/x",
            "ftp://example.com/x",
            "https://example.com/x#f",
            "",
        ] {
            assert!(document(bad).is_err(), "{bad}");
        }
    }
}
