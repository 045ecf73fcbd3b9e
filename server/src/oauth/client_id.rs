//! Client identity at an authorization server, in order of preference: a pre-registered
//! `client_id` (and secret) from the server's `oauth` settings; this proxy's Client ID
//! Metadata Document URL where the server accepts URL client ids; a registration stored
//! earlier for the same issuer and redirect URI; dynamic client registration (RFC 7591).
//! Registrations are bound to their issuer: a different authorization server means a new
//! registration, never the old credentials.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{OAuthError, client_metadata, discovery::ServerMetadata, settings::Settings};

/// How the client authenticates at the token endpoint.
pub const AUTH_NONE: &str = "none";
/// HTTP Basic with the client id and secret.
pub const AUTH_BASIC: &str = "client_secret_basic";
/// The client id and secret in the form body.
pub const AUTH_POST: &str = "client_secret_post";
/// A JWT signed with the client's private key (RFC 7523).
pub const AUTH_PRIVATE_KEY_JWT: &str = "private_key_jwt";

/// A client identity at one authorization server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Registration {
    /// The issuer it belongs to.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The secret, for confidential clients.
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic`, `client_secret_post` or `private_key_jwt`.
    pub auth_method: String,
    /// The redirect URI it was registered with (dynamic registrations only).
    pub redirect_uri: Option<String>,
    /// Whether it came from dynamic registration (and may be stored and reused).
    #[serde(default)]
    pub dynamic: bool,
    /// The client's DPoP key (base64 PKCS#8), where the server binds tokens to one.
    #[serde(default)]
    pub dpop_key: Option<String>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .finish_non_exhaustive()
    }
}

/// The identity to use with `server`, registering when needed.
pub async fn identify(
    http: &reqwest::Client,
    settings: &Settings,
    secret: Option<String>,
    server: &ServerMetadata,
    redirect_uri: &str,
    stored: Option<Registration>,
    scopes: &[String],
) -> Result<Registration, OAuthError> {
    if let Some(client_id) = &settings.client_id {
        let auth_method = match &secret {
            Some(_) if server.supports_auth_method(AUTH_BASIC) => AUTH_BASIC,
            Some(_) if server.supports_auth_method(AUTH_POST) => AUTH_POST,
            Some(_) => AUTH_BASIC,
            None => AUTH_NONE,
        };
        return Ok(Registration {
            issuer: server.issuer.clone(),
            client_id: client_id.clone(),
            client_secret: secret,
            auth_method: auth_method.into(),
            redirect_uri: None,
            dynamic: false,
            dpop_key: None,
        });
    }
    if let Some(url) = &settings.client_metadata_url
        && server.client_id_metadata_document_supported
    {
        return Ok(Registration {
            issuer: server.issuer.clone(),
            client_id: url.clone(),
            client_secret: None,
            auth_method: AUTH_NONE.into(),
            redirect_uri: None,
            dynamic: false,
            dpop_key: None,
        });
    }
    if let Some(stored) = stored
        .filter(|r| r.issuer == server.issuer && r.redirect_uri.as_deref() == Some(redirect_uri))
    {
        return Ok(stored);
    }
    register(http, server, redirect_uri, scopes).await
}

/// Dynamic client registration (RFC 7591).
async fn register(
    http: &reqwest::Client,
    server: &ServerMetadata,
    redirect_uri: &str,
    scopes: &[String],
) -> Result<Registration, OAuthError> {
    let endpoint = server.registration_endpoint.as_deref().ok_or_else(|| {
        OAuthError::Registration(format!(
            "{} offers no dynamic client registration; set oauth.client_id (and client_secret) for this server",
            server.issuer
        ))
    })?;
    let method = [AUTH_NONE, AUTH_BASIC, AUTH_POST]
        .into_iter()
        .find(|m| server.supports_auth_method(m))
        .unwrap_or(AUTH_BASIC);
    let mut body = json!({
        "client_name": client_metadata::CLIENT_NAME,
        "client_uri": client_metadata::CLIENT_URI,
        "redirect_uris": [redirect_uri],
        "grant_types": client_metadata::GRANT_TYPES,
        "response_types": client_metadata::RESPONSE_TYPES,
        "token_endpoint_auth_method": method,
        "application_type": "native",
    });
    if !scopes.is_empty() {
        body["scope"] = json!(scopes.join(" "));
    }
    let response = http
        .post(endpoint)
        .json(&body)
        .send()
        .await
        .map_err(|e| OAuthError::Registration(format!("{endpoint}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(OAuthError::Registration(format!(
            "{endpoint}: HTTP {status}"
        )));
    }
    #[derive(Deserialize)]
    struct Answer {
        client_id: String,
        client_secret: Option<String>,
        token_endpoint_auth_method: Option<String>,
    }
    let answer: Answer = response
        .json()
        .await
        .map_err(|e| OAuthError::Registration(format!("{endpoint}: {e}")))?;
    let auth_method = match (answer.token_endpoint_auth_method, &answer.client_secret) {
        (Some(method), _) => method,
        (None, Some(_)) if method == AUTH_NONE => AUTH_BASIC.into(),
        (None, _) => method.into(),
    };
    Ok(Registration {
        issuer: server.issuer.clone(),
        client_id: answer.client_id,
        client_secret: answer.client_secret,
        auth_method,
        redirect_uri: Some(redirect_uri.to_string()),
        dynamic: true,
        dpop_key: None,
    })
}
