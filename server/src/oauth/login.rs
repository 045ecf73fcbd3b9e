//! Signing in with a browser: discovery, the client, the authorization URL and the loopback
//! listener ([`OAuth::login`]); the callback, its checks and the code exchange.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{
    AuthState, Challenge, Flow, LOGIN_TTL, LoginStarted, OAuth, OAuthError, client_id,
    client_metadata, discovery, flow, flow::GrantRequest, jwt, listener, tokens, tokens::Record,
};
use crate::config::{ServerConfig, Transport};
use client_id::Registration;

impl OAuth {
    /// Start signing `name` in (its configuration `config`): discovery, client identity,
    /// the authorization URL and the loopback listener waiting for the callback. A client
    /// credentials server is signed in at once.
    pub async fn login(
        self: &Arc<Self>,
        name: &str,
        config: &ServerConfig,
    ) -> Result<LoginStarted, OAuthError> {
        if config.url.is_none() || config.transport() == Transport::Stdio {
            return Err(OAuthError::NotHttp(name.into()));
        }
        self.configure(name, config);
        let result = self.start_login(name).await;
        if let Err(error) = &result {
            self.set_state(name, AuthState::Failed, Some(error.to_string()));
        }
        result
    }

    async fn start_login(self: &Arc<Self>, name: &str) -> Result<LoginStarted, OAuthError> {
        let (url, settings, mut challenge, previous) = self.with(name, |entry| {
            if let Some(old) = entry.flow.take() {
                old.stop.cancel();
            }
            (
                entry.url.clone(),
                entry.settings.clone(),
                entry.challenge.clone(),
                entry.requested.clone(),
            )
        });
        if challenge == Challenge::default() {
            challenge = self.probe(&url).await;
        }
        let expires_at = Utc::now() + chrono::Duration::seconds(LOGIN_TTL.as_secs() as i64);
        let discovered = discovery::discover(&self.http, &url, &challenge).await?;
        self.with(name, |e| e.issuer = Some(discovered.server.issuer.clone()));
        if settings.grant().is_machine() {
            self.machine_grant(name, &challenge).await?;
            return Ok(LoginStarted {
                auth_url: None,
                expires_at,
            });
        }
        let endpoint = discovered
            .server
            .authorization_endpoint
            .clone()
            .ok_or_else(|| OAuthError::Discovery("no authorization_endpoint".into()))?;
        let store = self.store.as_ref();
        let stored: Option<Registration> =
            tokens::load(store, &tokens::client_key(name, &discovered.server.issuer));
        let port = settings.redirect_port.or_else(|| {
            stored
                .as_ref()
                .and_then(|r| r.redirect_uri.as_deref())
                .and_then(|u| reqwest::Url::parse(u).ok())
                .and_then(|u| u.port())
        });
        let (socket, redirect_uri) = match listener::bind(port).await {
            Ok(bound) => bound,
            Err(_) if settings.redirect_port.is_none() => listener::bind(None).await?,
            Err(error) => return Err(error),
        };
        let scopes =
            flow::select_scopes(&challenge.scopes, &previous, &discovered, &settings.scopes);
        let client = client_id::identify(
            &self.http,
            &settings,
            settings.secret(store),
            &discovered.server,
            &redirect_uri,
            stored,
            &scopes,
        )
        .await?;
        let client = with_dpop_key(client, &discovered.server)?;
        if client.dynamic {
            tokens::save(store, &tokens::client_key(name, &client.issuer), &client)?;
        }
        let verifier = flow::random_token(32);
        let state = flow::random_token(24);
        let auth_url = flow::authorization_url(
            &endpoint,
            &client,
            &redirect_uri,
            &verifier,
            &state,
            &discovered.resource,
            &scopes,
        )?;
        let stop = CancellationToken::new();
        self.with(name, |entry| {
            entry.requested = scopes.clone();
            entry.flow = Some(Flow {
                state,
                verifier,
                redirect_uri,
                discovered,
                client,
                scopes,
                stop: stop.clone(),
            });
        });
        self.set_state(name, AuthState::InProgress, None);
        let oauth = self.clone();
        let server = name.to_string();
        listener::serve(socket, stop.clone(), move |params| {
            let oauth = oauth.clone();
            let server = server.clone();
            async move { oauth.complete(&server, params).await }
        });
        let oauth = self.clone();
        let server = name.to_string();
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(LOGIN_TTL) => {
                    stop.cancel();
                    let expired = oauth.with(&server, |e| {
                        let mine = e.flow.as_ref().is_some_and(|f| f.stop.is_cancelled());
                        if mine { e.flow = None; }
                        mine
                    });
                    if expired {
                        oauth.set_state(&server, AuthState::NeedsLogin, Some("the login expired before the browser step finished".into()));
                    }
                }
            }
        });
        Ok(LoginStarted {
            auth_url: Some(auth_url),
            expires_at,
        })
    }

    /// The challenge `url` answers an unauthenticated request with (empty if none).
    async fn probe(&self, url: &str) -> Challenge {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": client_metadata::CLIENT_NAME, "version": env!("CARGO_PKG_VERSION")}}});
        let Ok(response) = self
            .http
            .post(url)
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .json(&body)
            .send()
            .await
        else {
            return Challenge::default();
        };
        response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(Challenge::parse)
            .unwrap_or_default()
    }

    /// The browser came back to the listener of `name`'s login.
    async fn complete(&self, name: &str, params: HashMap<String, String>) -> listener::Outcome {
        let flow = self.with(name, |entry| {
            let ours = entry
                .flow
                .as_ref()
                .is_some_and(|f| params.get("state") == Some(&f.state));
            if ours { entry.flow.take() } else { None }
        });
        let Some(flow) = flow else {
            return listener::Outcome::NotOurs;
        };
        match self.exchange(name, &flow, &params).await {
            Ok(()) => {
                let _ = self.reconnect.send(name.to_string());
                listener::Outcome::Done
            }
            Err(error) => {
                let message = error.to_string();
                self.set_state(name, AuthState::Failed, Some(message.clone()));
                listener::Outcome::Failed(message)
            }
        }
    }

    async fn exchange(
        &self,
        name: &str,
        flow: &Flow,
        params: &HashMap<String, String>,
    ) -> Result<(), OAuthError> {
        let server = &flow.discovered.server;
        let code = flow::check_response(
            params,
            &flow.state,
            &server.issuer,
            server.authorization_response_iss_parameter_supported,
        )?;
        let private_key = self.with(name, |e| e.settings.private_key(self.store.as_ref()));
        let tokens = flow::token_request(
            &self.http,
            &server.token_endpoint,
            &server.issuer,
            &flow.client,
            private_key.as_deref(),
            GrantRequest::Code {
                code: &code,
                redirect_uri: &flow.redirect_uri,
                verifier: &flow.verifier,
            },
            &flow.discovered.resource,
            &flow.scopes,
        )
        .await?;
        self.keep(
            name,
            Record::new(
                server,
                &flow.discovered.resource,
                flow.client.clone(),
                tokens,
            ),
        )
    }
}

/// `client` with a DPoP key when `server` binds tokens to keys (a new one if it has none).
pub(super) fn with_dpop_key(
    mut client: Registration,
    server: &discovery::ServerMetadata,
) -> Result<Registration, OAuthError> {
    if server.wants_dpop() && client.dpop_key.is_none() {
        client.dpop_key = Some(jwt::new_dpop_key()?);
    }
    Ok(client)
}
