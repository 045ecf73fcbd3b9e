//! Tokens without a person: the client credentials grant (secret or `private_key_jwt`), the
//! JWT bearer grant with a workload identity JWT, and enterprise-managed authorization
//! (an ID-JAG from the enterprise IdP, then the JWT bearer grant).

use super::{
    AuthState, Challenge, OAuth, OAuthError, client_id, discovery, flow, flow::GrantRequest,
    login::with_dpop_key, settings::Grant, tokens::Record,
};
use client_id::Registration;

impl OAuth {
    /// Get tokens with the client credentials or JWT bearer grant (no browser). A failure
    /// is final until the next login or restart: no retry, no other grant.
    pub(super) async fn machine_grant(
        &self,
        name: &str,
        challenge: &Challenge,
    ) -> Result<(), OAuthError> {
        let (url, settings) = self.with(name, |e| (e.url.clone(), e.settings.clone()));
        let result = async {
            let discovered = discovery::discover(&self.http, &url, challenge).await?;
            let server = &discovered.server;
            let store = self.store.as_ref();
            let client_id = settings.client_id.clone().ok_or_else(|| {
                OAuthError::Registration("client credentials need oauth.client_id".into())
            })?;
            let private_key = settings.private_key(store);
            let secret = settings.secret(store);
            let scopes = flow::select_scopes(&challenge.scopes, &[], &discovered, &settings.scopes);
            let assertion = match settings.grant() {
                Grant::JwtBearer => Some(settings.assertion(store).ok_or_else(|| {
                    OAuthError::Token(
                        "the jwt_bearer grant needs oauth.assertion or oauth.assertion_file".into(),
                    )
                })?),
                Grant::IdJag => {
                    let (Some(endpoint), Some(id_token)) =
                        (&settings.idp_token_endpoint, settings.id_token(store))
                    else {
                        return Err(OAuthError::Token(
                            "enterprise-managed authorization needs oauth.idp_token_endpoint and oauth.id_token".into(),
                        ));
                    };
                    Some(
                        flow::id_jag(
                            &self.http,
                            endpoint,
                            settings.idp_client_id.as_deref(),
                            &id_token,
                            &server.issuer,
                            &discovered.resource,
                            &scopes,
                        )
                        .await?,
                    )
                }
                _ => None,
            };
            let auth_method = if assertion.is_some() && secret.is_none() && private_key.is_none() {
                client_id::AUTH_NONE
            } else if private_key.is_some() {
                client_id::AUTH_PRIVATE_KEY_JWT
            } else if server.supports_auth_method(client_id::AUTH_BASIC)
                || !server.supports_auth_method(client_id::AUTH_POST)
            {
                client_id::AUTH_BASIC
            } else {
                client_id::AUTH_POST
            };
            let client = Registration {
                issuer: server.issuer.clone(),
                client_id,
                client_secret: secret,
                auth_method: auth_method.into(),
                redirect_uri: None,
                dynamic: false,
                dpop_key: None,
            };
            let client = with_dpop_key(client, server)?;
            let tokens = flow::token_request(
                &self.http,
                &server.token_endpoint,
                &server.issuer,
                &client,
                private_key.as_deref(),
                match &assertion {
                    Some(assertion) => GrantRequest::JwtBearer(assertion),
                    None => GrantRequest::ClientCredentials,
                },
                &discovered.resource,
                &scopes,
            )
            .await?;
            self.keep(
                name,
                Record::new(server, &discovered.resource, client, tokens),
            )
        }
        .await;
        if let Err(error) = &result {
            self.set_state(name, AuthState::Failed, Some(error.to_string()));
        }
        result
    }
}
