//! Discovery: the protected resource metadata (RFC 9728) — from the challenge's
//! `resource_metadata`, else the path-based well-known URL, else the root one — and the
//! authorization server metadata (RFC 8414 / OpenID Connect Discovery) at the well-known
//! URLs in the order the MCP spec gives, whose `issuer` must equal the identifier the URL
//! was built from. The resource the metadata names must be the server's URL (or a prefix of
//! it on a path boundary, same origin).

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::{OAuthError, challenge::Challenge};

/// RFC 9728 protected resource metadata (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceMetadata {
    /// The resource identifier, sent as `resource` exactly as published.
    pub resource: Option<String>,
    /// Authorization servers, the first is used.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource knows.
    pub scopes_supported: Option<Vec<String>>,
}

/// RFC 8414 authorization server metadata (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerMetadata {
    /// Its issuer identifier.
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: Option<String>,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: String,
    /// Dynamic client registration (RFC 7591).
    pub registration_endpoint: Option<String>,
    /// Token revocation (RFC 7009).
    pub revocation_endpoint: Option<String>,
    /// Scopes the server knows.
    pub scopes_supported: Option<Vec<String>>,
    /// PKCE methods; must include S256 when present.
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Whether URL client ids (Client ID Metadata Documents) are accepted.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// Grant types the server supports.
    pub grant_types_supported: Option<Vec<String>>,
    /// DPoP proof algorithms the server accepts (RFC 9449 §5.1): it binds tokens to keys.
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

impl ServerMetadata {
    /// Whether tokens are to be bound to a DPoP key (the server takes ES256 proofs).
    pub fn wants_dpop(&self) -> bool {
        self.dpop_signing_alg_values_supported
            .as_ref()
            .is_some_and(|algs| algs.iter().any(|a| a == "ES256"))
    }
}

impl ServerMetadata {
    /// Whether `method` may be used at the token endpoint (`client_secret_basic` is the
    /// default when the list is absent, RFC 8414 §2).
    pub fn supports_auth_method(&self, method: &str) -> bool {
        match &self.token_endpoint_auth_methods_supported {
            Some(methods) => methods.iter().any(|m| m == method),
            None => method == "client_secret_basic",
        }
    }
}

/// What discovery found for one server.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The resource value to send (the metadata's, else the server URL).
    pub resource: String,
    /// Scopes from the resource metadata.
    pub resource_scopes: Option<Vec<String>>,
    /// The authorization server.
    pub server: ServerMetadata,
}

/// Discover the authorization server of `server_url`, given the challenge it answered with.
pub async fn discover(
    http: &reqwest::Client,
    server_url: &str,
    challenge: &Challenge,
) -> Result<Discovered, OAuthError> {
    let url = Url::parse(server_url)
        .map_err(|e| OAuthError::Discovery(format!("server URL {server_url}: {e}")))?;
    let prm = resource_metadata(http, &url, challenge).await?;
    let resource = match prm.resource.clone() {
        Some(resource) => {
            if !resource_matches(&url, &resource) {
                return Err(OAuthError::Rejected(format!(
                    "the protected resource metadata names resource {resource}, not this server ({server_url})"
                )));
            }
            resource
        }
        None => server_url.to_string(),
    };
    let issuer = prm.authorization_servers.first().cloned().ok_or_else(|| {
        OAuthError::Discovery(
            "the protected resource metadata names no authorization server".into(),
        )
    })?;
    let server = server_metadata(http, &issuer).await?;
    if server
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|methods| !methods.iter().any(|m| m == "S256"))
    {
        return Err(OAuthError::Rejected(
            "the authorization server does not support PKCE with S256".into(),
        ));
    }
    Ok(Discovered {
        resource,
        resource_scopes: prm.scopes_supported,
        server,
    })
}

/// The protected resource metadata: the challenge's URL, else path-based, else root.
async fn resource_metadata(
    http: &reqwest::Client,
    url: &Url,
    challenge: &Challenge,
) -> Result<ResourceMetadata, OAuthError> {
    let mut candidates = Vec::new();
    if let Some(from_header) = &challenge.resource_metadata {
        candidates.push(from_header.clone());
    } else {
        let path = url.path().trim_end_matches('/');
        if !path.is_empty() {
            candidates.push(at(
                url,
                &format!("/.well-known/oauth-protected-resource{path}"),
            ));
        }
        candidates.push(at(url, "/.well-known/oauth-protected-resource"));
    }
    let mut last = String::from("no candidate URL");
    for candidate in candidates {
        match fetch_json(http, &candidate).await {
            Ok(value) => {
                return serde_json::from_value(value).map_err(|e| {
                    OAuthError::Discovery(format!("protected resource metadata {candidate}: {e}"))
                });
            }
            Err(error) => last = error,
        }
    }
    Err(OAuthError::Discovery(format!(
        "no protected resource metadata: {last}"
    )))
}

/// The authorization server metadata of `issuer`, tried at the spec's well-known URLs.
pub async fn server_metadata(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<ServerMetadata, OAuthError> {
    let url =
        Url::parse(issuer).map_err(|e| OAuthError::Discovery(format!("issuer {issuer}: {e}")))?;
    let path = url.path().trim_end_matches('/');
    let candidates = if path.is_empty() {
        vec![
            at(&url, "/.well-known/oauth-authorization-server"),
            at(&url, "/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            at(
                &url,
                &format!("/.well-known/oauth-authorization-server{path}"),
            ),
            at(&url, &format!("/.well-known/openid-configuration{path}")),
            at(&url, &format!("{path}/.well-known/openid-configuration")),
        ]
    };
    let mut last = String::from("no candidate URL");
    for candidate in candidates {
        match fetch_json(http, &candidate).await {
            Ok(value) => {
                let metadata: ServerMetadata = serde_json::from_value(value).map_err(|e| {
                    OAuthError::Discovery(format!("authorization server metadata {candidate}: {e}"))
                })?;
                // RFC 8414 §3.3: the issuer must be the identifier the URL was made from,
                // compared as strings.
                if metadata.issuer != issuer {
                    return Err(OAuthError::Rejected(format!(
                        "authorization server metadata at {candidate} names issuer {}, expected {issuer}",
                        metadata.issuer
                    )));
                }
                return Ok(metadata);
            }
            Err(error) => last = error,
        }
    }
    Err(OAuthError::Discovery(format!(
        "no authorization server metadata for {issuer}: {last}"
    )))
}

/// `path` on `url`'s origin.
fn at(url: &Url, path: &str) -> String {
    format!("{}{path}", url.origin().ascii_serialization())
}

/// Whether `resource` identifies the server at `url`: same origin, and its path equal to
/// the server's or a prefix of it ending at a `/`.
fn resource_matches(url: &Url, resource: &str) -> bool {
    let Ok(parsed) = Url::parse(resource) else {
        return false;
    };
    if parsed.origin() != url.origin() || parsed.fragment().is_some() {
        return false;
    }
    let want = parsed.path().trim_end_matches('/');
    let have = url.path().trim_end_matches('/');
    want.is_empty() || have == want || have.starts_with(&format!("{want}/"))
}

/// GET a JSON document (2xx only).
async fn fetch_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_match_on_path_boundaries_of_the_same_origin() {
        let url = Url::parse("http://localhost:3000/mcp").expect("url");
        assert!(resource_matches(&url, "http://localhost:3000/mcp"));
        assert!(resource_matches(&url, "http://localhost:3000"));
        assert!(resource_matches(&url, "http://localhost:3000/"));
        assert!(!resource_matches(&url, "https://evil.example.com/mcp"));
        assert!(!resource_matches(&url, "http://localhost:3000/mc"));
        assert!(!resource_matches(&url, "http://localhost:3001/mcp"));
    }
}
