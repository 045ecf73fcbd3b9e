//! Tag `oauth`: logins, a server's OAuth state and the client metadata document.

use mcpproxy_api::types;

/// A started login.
pub fn login(server: String, started: crate::oauth::LoginStarted) -> types::ServerLoginResponse {
    types::ServerLoginResponse {
        success: true,
        data: types::ServerLogin {
            server,
            auth_url: started.auth_url,
            expires_at: started.expires_at,
        },
    }
}

/// A server's OAuth state (never its tokens).
pub fn auth(server: String, view: crate::oauth::AuthView) -> types::ServerAuthResponse {
    use crate::oauth::AuthState;
    let state = match view.state {
        AuthState::None => types::ServerAuthState::None,
        AuthState::NeedsLogin => types::ServerAuthState::NeedsLogin,
        AuthState::InProgress => types::ServerAuthState::InProgress,
        AuthState::Authenticated => types::ServerAuthState::Authenticated,
        AuthState::Failed => types::ServerAuthState::Failed,
    };
    types::ServerAuthResponse {
        success: true,
        data: types::ServerAuth {
            server,
            state,
            issuer: view.issuer,
            scopes: view.scopes,
            expires_at: view.expires_at,
            last_error: view.last_error,
        },
    }
}

/// `GET /oauth/client-metadata.json`.
pub fn client_metadata_document(
    doc: crate::oauth::client_metadata::Document,
) -> types::ClientMetadataDocument {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    types::ClientMetadataDocument {
        client_id: doc.client_id,
        client_name: doc.client_name.into(),
        client_uri: doc.client_uri.into(),
        redirect_uris: doc.redirect_uris,
        grant_types: strings(doc.grant_types),
        response_types: strings(doc.response_types),
        token_endpoint_auth_method: doc.token_endpoint_auth_method.into(),
        software_id: doc.client_name.into(),
        software_version: doc.software_version.into(),
    }
}
