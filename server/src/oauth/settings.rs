//! A server's `oauth` settings in `mcp_config.json`, read into a typed form. Every field is
//! optional: an HTTP server with no `oauth` block still signs in by discovery and dynamic
//! registration when it answers 401.
//!
//! ```json
//! "oauth": {
//!   "client_id": "…", "client_secret": "${keyring:gh-secret}",
//!   "scopes": ["repo"], "redirect_port": 8765,
//!   "client_metadata_url": "https://example.com/mcpproxy-client.json",
//!   "grant_type": "client_credentials", "private_key_pem": "${keyring:key}",
//!   "signing_algorithm": "ES256"
//! }
//! ```
//! `client_secret` and `private_key_pem` may be secret references (resolved at use).

use serde::Deserialize;
use serde_json::Value;

use crate::secrets::SecretStore;

/// Which grant gets the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grant {
    /// Authorization code + PKCE with a browser step (the default).
    #[default]
    AuthorizationCode,
    /// Client credentials (machine-to-machine, no browser).
    ClientCredentials,
    /// A workload identity JWT exchanged for a token (RFC 7523 JWT bearer grant,
    /// workload identity federation; no browser).
    JwtBearer,
    /// Enterprise-managed authorization (SEP-990): the enterprise IdP exchanges the user's
    /// ID token for an ID-JAG (RFC 8693), which the JWT bearer grant turns into a token.
    IdJag,
}

impl Grant {
    /// Whether tokens come without a person (no browser step).
    pub fn is_machine(self) -> bool {
        !matches!(self, Self::AuthorizationCode)
    }
}

/// The typed `oauth` block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// A pre-registered client id.
    pub client_id: Option<String>,
    /// Its secret (or a `${…}` reference to it).
    pub client_secret: Option<String>,
    /// Scopes to ask for when neither the server's challenge nor its metadata names any.
    pub scopes: Vec<String>,
    /// A fixed port for the loopback redirect listener (random when absent).
    pub redirect_port: Option<u16>,
    /// The URL of this proxy's Client ID Metadata Document, used as the client id where the
    /// authorization server supports such documents.
    pub client_metadata_url: Option<String>,
    /// `authorization_code` (default) or `client_credentials`.
    grant_type: Option<String>,
    /// A PKCS#8 PEM private key for `private_key_jwt` client authentication.
    pub private_key_pem: Option<String>,
    /// Its JWS algorithm (only `ES256`).
    pub signing_algorithm: Option<String>,
    /// The workload identity JWT for the `jwt_bearer` grant (or a `${…}` reference).
    pub assertion: Option<String>,
    /// A file holding that JWT (read at each use: platforms rotate it).
    pub assertion_file: Option<String>,
    /// Enterprise-managed: the IdP's token endpoint (RFC 8693 token exchange).
    pub idp_token_endpoint: Option<String>,
    /// Enterprise-managed: this client's id at the IdP.
    pub idp_client_id: Option<String>,
    /// Enterprise-managed: the user's ID token from the IdP (or a `${…}` reference).
    pub id_token: Option<String>,
}

impl Settings {
    /// Read the block (absent or unreadable → defaults).
    pub fn from_config(oauth: Option<&Value>) -> Self {
        oauth
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// The grant to use.
    pub fn grant(&self) -> Grant {
        match self.grant_type.as_deref() {
            Some("client_credentials") => Grant::ClientCredentials,
            Some("jwt_bearer" | "urn:ietf:params:oauth:grant-type:jwt-bearer") => Grant::JwtBearer,
            Some("id_jag" | "enterprise") => Grant::IdJag,
            _ => Grant::AuthorizationCode,
        }
    }

    /// The secret with references resolved (unresolvable → none).
    pub fn secret(&self, store: &dyn SecretStore) -> Option<String> {
        resolve(self.client_secret.as_deref(), store)
    }

    /// The workload JWT: the file's content, else the setting with references resolved.
    pub fn assertion(&self, store: &dyn SecretStore) -> Option<String> {
        if let Some(path) = &self.assertion_file {
            return std::fs::read_to_string(path)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
        }
        resolve(self.assertion.as_deref(), store)
    }

    /// The ID token with references resolved.
    pub fn id_token(&self, store: &dyn SecretStore) -> Option<String> {
        resolve(self.id_token.as_deref(), store)
    }

    /// The private key with references resolved.
    pub fn private_key(&self, store: &dyn SecretStore) -> Option<String> {
        resolve(self.private_key_pem.as_deref(), store)
    }
}

fn resolve(value: Option<&str>, store: &dyn SecretStore) -> Option<String> {
    let value = value?;
    crate::secrets::expand(value, store)
        .ok()
        .filter(|v| !v.is_empty())
}
