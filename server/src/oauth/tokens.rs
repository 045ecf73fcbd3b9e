//! Token sets: what a token endpoint answers, when it expires, and how it is kept. The
//! record of a signed-in server (its issuer, endpoints, resource, client and tokens) lives
//! in the secret store under [`token_key`]; client registrations under [`client_key`], one
//! per server and issuer. `Debug` never shows a token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{OAuthError, client_id::Registration};
use crate::secrets::SecretStore;

/// Refresh this long before the access token expires (at most half its lifetime).
pub const REFRESH_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// An access token and what came with it.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// `Bearer` (or `DPoP`).
    pub token_type: String,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<String>,
    /// When the access token expires, if the server said.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was issued.
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    /// The scopes granted (or requested, when the server did not say).
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("token_type", &self.token_type)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl TokenSet {
    /// Whether the access token expires within [`REFRESH_MARGIN`] (or half its lifetime,
    /// for short-lived tokens).
    pub fn expiring(&self) -> bool {
        let Some(at) = self.expires_at else {
            return false;
        };
        let margin = match self.issued_at {
            Some(issued) => REFRESH_MARGIN.min((at - issued) / 2),
            None => REFRESH_MARGIN,
        };
        at - margin <= Utc::now()
    }
}

/// A token endpoint's successful answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    access_token: String,
    token_type: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

impl TokenAnswer {
    /// The token set; `requested` scopes stand in when the server names none, and
    /// `previous_refresh` is kept when a refresh answer brings no new refresh token.
    pub fn into_set(self, requested: &[String], previous_refresh: Option<String>) -> TokenSet {
        let now = Utc::now();
        TokenSet {
            issued_at: Some(now),
            access_token: self.access_token,
            token_type: self.token_type.unwrap_or_else(|| "Bearer".into()),
            refresh_token: self.refresh_token.or(previous_refresh),
            expires_at: self.expires_in.map(|s| now + chrono::Duration::seconds(s)),
            scopes: self
                .scope
                .map(|s| super::challenge::split_scopes(&s))
                .unwrap_or_else(|| requested.to_vec()),
        }
    }
}

/// Everything kept about a signed-in server.
#[derive(Clone, Serialize, Deserialize, Debug)]
pub struct Record {
    /// The authorization server.
    pub issuer: String,
    /// Its token endpoint.
    pub token_endpoint: String,
    /// Its revocation endpoint, if any.
    pub revocation_endpoint: Option<String>,
    /// The resource the tokens are for.
    pub resource: String,
    /// The client they were issued to.
    pub client: Registration,
    /// The tokens.
    pub tokens: TokenSet,
}

impl Record {
    /// The record of `tokens` issued by `server` to `client` for `resource`.
    pub fn new(
        server: &super::discovery::ServerMetadata,
        resource: &str,
        client: Registration,
        tokens: TokenSet,
    ) -> Self {
        Self {
            issuer: server.issuer.clone(),
            token_endpoint: server.token_endpoint.clone(),
            revocation_endpoint: server.revocation_endpoint.clone(),
            resource: resource.to_string(),
            client,
            tokens,
        }
    }
}

/// The secret-store name of a server's record.
pub fn token_key(server: &str) -> String {
    format!("oauth-token:{server}")
}

/// The secret-store name of a server's registration at `issuer`.
pub fn client_key(server: &str, issuer: &str) -> String {
    format!("oauth-client:{server}:{issuer}")
}

/// Read a JSON value from the store (unreadable → none).
pub fn load<T: serde::de::DeserializeOwned>(store: &dyn SecretStore, key: &str) -> Option<T> {
    store
        .get(key)
        .ok()
        .flatten()
        .and_then(|text| serde_json::from_str(&text).ok())
}

/// Write a JSON value to the store.
pub fn save<T: Serialize>(store: &dyn SecretStore, key: &str, value: &T) -> Result<(), OAuthError> {
    let text = serde_json::to_string(value).map_err(|e| OAuthError::Store(e.to_string()))?;
    store.set(key, &text)?;
    Ok(())
}
