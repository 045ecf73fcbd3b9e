//! Upstream OAuth: signing the proxy in to OAuth-protected MCP servers (MCP authorization,
//! 2025-11-25 and 2026-07-28) and keeping it signed in.
//!
//! - [`challenge`] reads `WWW-Authenticate`; [`discovery`] finds the protected resource
//!   and authorization server metadata; [`client_id`] picks or registers the client with
//!   the metadata of [`client_metadata`], which also serves as the proxy's own document;
//!   [`flow`] builds the authorization request and talks to the token endpoint; [`jwt`]
//!   signs client assertions and DPoP proofs; [`listener`] is the loopback redirect
//!   listener; [`tokens`] is what is stored; [`settings`] is the server's `oauth` block;
//!   `login` is the browser sign-in (URL, callback, code exchange) and `machine` the grants
//!   without a person (client credentials, JWT bearer, enterprise-managed).
//! - [`OAuth`] holds the per-server state: the last challenge, the login in progress, the
//!   tokens (in the secret store, never in the configuration, never in an API answer or a
//!   log line). Transports ask it for a bearer token per request through [`BearerSource`]
//!   and tell it about 401/403 answers: a 401 with a refresh token refreshes once (two
//!   concurrent 401s refresh once), a 403 `insufficient_scope` asks for a step-up login (at
//!   most [`MAX_STEP_UPS`] in a row for scopes already asked for), anything else waits for
//!   `login`.
//! - When a login or logout completes the server's name goes out on the channel [`OAuth::new`]
//!   returns, so the app reconnects it; every state change publishes `auth.changed` and
//!   `servers.changed`.

pub mod challenge;
pub mod client_id;
pub mod client_metadata;
pub mod discovery;
mod error;
pub mod flow;
mod jwt;
pub mod listener;
mod login;
mod machine;
pub mod settings;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use challenge::Challenge;
pub use error::OAuthError;

use crate::config::{ServerConfig, Transport};
use crate::events::{Event, EventBus, ServerChange};
use crate::secrets::SecretStore;
use client_id::Registration;
use discovery::Discovered;
use flow::GrantRequest;
use settings::Settings;
use tokens::Record;

/// How long a login waits for its browser step.
pub const LOGIN_TTL: Duration = Duration::from_secs(600);

/// Step-up logins in a row for scopes already asked for before the server counts as
/// refusing (the auth flow then fails instead of looping).
pub const MAX_STEP_UPS: u32 = 2;

/// Timeout of each request to an authorization server or metadata endpoint.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a server stands with OAuth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthState {
    /// No OAuth seen: the server never asked.
    #[default]
    None,
    /// The server wants a (new) login.
    NeedsLogin,
    /// A login is waiting for its browser step.
    InProgress,
    /// Tokens are held.
    Authenticated,
    /// Signing in failed in a way another automatic attempt will not fix.
    Failed,
}

impl AuthState {
    /// The name used by the API and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::NeedsLogin => "needs_login",
            Self::InProgress => "in_progress",
            Self::Authenticated => "authenticated",
            Self::Failed => "failed",
        }
    }
}

/// What `GET /servers/{name}/auth` shows (no tokens).
#[derive(Debug, Clone)]
pub struct AuthView {
    /// The state.
    pub state: AuthState,
    /// The authorization server, once known.
    pub issuer: Option<String>,
    /// The scopes granted (or asked for).
    pub scopes: Vec<String>,
    /// When the access token expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

/// A login that started.
#[derive(Debug, Clone)]
pub struct LoginStarted {
    /// The URL to open in a browser; none when no browser step is needed (client
    /// credentials, done already).
    pub auth_url: Option<String>,
    /// When the login stops waiting.
    pub expires_at: DateTime<Utc>,
}

/// What a transport asks of the OAuth client, per request.
pub trait BearerSource: Send + Sync {
    /// The bearer token to send (refreshed first when it is about to expire).
    fn bearer(&self) -> BoxFuture<'_, Option<String>>;
    /// The DPoP proof for a `method` request to `url` carrying `token`, when the token is
    /// DPoP-bound (then it goes as `Authorization: DPoP …` with the proof in `DPoP`).
    fn dpop(&self, method: &str, url: &str, token: &str) -> Option<String>;
    /// The server answered `status` (401 or 403) with `www_authenticate` to a request that
    /// carried `sent`; whether to send it again with a new token.
    fn challenged(
        &self,
        status: u16,
        www_authenticate: String,
        sent: Option<String>,
    ) -> BoxFuture<'_, bool>;
}

/// Gives the upstream layer a [`BearerSource`] for each HTTP server.
pub trait AuthProvider: Send + Sync + std::fmt::Debug {
    /// The source for server `name`, if it is an HTTP server.
    fn source(&self, name: &str, config: &ServerConfig) -> Option<Arc<dyn BearerSource>>;
}

/// A login waiting for its callback.
struct Flow {
    state: String,
    verifier: String,
    redirect_uri: String,
    discovered: Discovered,
    client: Registration,
    scopes: Vec<String>,
    stop: CancellationToken,
}

#[derive(Default)]
struct Entry {
    url: String,
    settings: Settings,
    /// The last challenge (its scopes drive the next login's scope).
    challenge: Challenge,
    /// Loaded from the store on first use.
    record: Option<Record>,
    loaded: bool,
    state: AuthState,
    last_error: Option<String>,
    flow: Option<Flow>,
    /// The scopes the last login asked for.
    requested: Vec<String>,
    step_ups: u32,
    /// Held while refreshing: concurrent 401s refresh once.
    refresh: Arc<tokio::sync::Mutex<()>>,
    /// The issuer and whether it advertised `iss` (kept across logins for status).
    issuer: Option<String>,
    /// The DPoP nonce the server asked resource requests to carry (RFC 9449 §9).
    resource_nonce: Option<String>,
}

/// The OAuth client of every upstream server.
pub struct OAuth {
    servers: Mutex<HashMap<String, Entry>>,
    store: Arc<dyn SecretStore>,
    bus: EventBus,
    http: reqwest::Client,
    reconnect: mpsc::UnboundedSender<String>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").finish_non_exhaustive()
    }
}

impl OAuth {
    /// The client over `store`; the receiver gets the name of each server to reconnect
    /// (signed in or out).
    pub fn new(
        store: Arc<dyn SecretStore>,
        bus: EventBus,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<String>) {
        let (reconnect, receiver) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let oauth = Self {
            servers: Mutex::default(),
            store,
            bus,
            http,
            reconnect,
        };
        (Arc::new(oauth), receiver)
    }

    fn servers(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        crate::sync::lock(&self.servers)
    }

    /// Run `f` on the entry of `name` (created, and its stored record loaded, on first use).
    fn with<T>(&self, name: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut servers = self.servers();
        let entry = servers.entry(name.to_string()).or_default();
        if !entry.loaded {
            entry.loaded = true;
            entry.record = tokens::load(self.store.as_ref(), &tokens::token_key(name));
            if let Some(record) = &entry.record {
                entry.state = AuthState::Authenticated;
                entry.issuer = Some(record.issuer.clone());
                entry.requested = record.tokens.scopes.clone();
            }
        }
        f(entry)
    }

    /// Note the server's URL and settings (from its configuration).
    fn configure(&self, name: &str, config: &ServerConfig) {
        let url = config.url.clone().unwrap_or_default();
        let settings = Settings::from_config(config.oauth.as_ref());
        self.with(name, |entry| {
            entry.url = url;
            entry.settings = settings;
        });
    }

    /// Change the state and tell everyone.
    fn set_state(&self, name: &str, state: AuthState, error: Option<String>) {
        self.with(name, |entry| {
            entry.state = state;
            entry.last_error = error.clone();
        });
        self.bus.publish(Event::AuthChanged {
            server: name.to_string(),
            state: state.as_str(),
            last_error: error,
        });
        self.bus.publish(Event::ServersChanged(ServerChange::Auth {
            server: name.to_string(),
            auth: state.as_str(),
        }));
    }

    /// The status of `name`.
    pub fn status(&self, name: &str) -> AuthView {
        self.with(name, |entry| AuthView {
            state: entry.state,
            issuer: entry.issuer.clone(),
            scopes: entry
                .record
                .as_ref()
                .map(|r| r.tokens.scopes.clone())
                .unwrap_or_else(|| entry.requested.clone()),
            expires_at: entry.record.as_ref().and_then(|r| r.tokens.expires_at),
            last_error: entry.last_error.clone(),
        })
    }

    /// The access token of `name`, refreshed first when it is about to expire.
    pub async fn bearer(&self, name: &str) -> Option<String> {
        let tokens = self.with(name, |e| e.record.as_ref().map(|r| r.tokens.clone()))?;
        if tokens.expiring() && tokens.refresh_token.is_some() {
            let _ = self.refresh(name, Some(&tokens.access_token)).await;
        }
        self.with(name, |e| {
            e.record.as_ref().map(|r| r.tokens.access_token.clone())
        })
    }

    /// The DPoP proof for a `method` request to `url` carrying `token`, when `name`'s
    /// tokens are DPoP-bound (none for bearer tokens).
    pub fn dpop_proof(&self, name: &str, method: &str, url: &str, token: &str) -> Option<String> {
        let (key, nonce) = self.with(name, |entry| {
            let record = entry.record.as_ref()?;
            let key = record
                .tokens
                .token_type
                .eq_ignore_ascii_case("dpop")
                .then(|| record.client.dpop_key.clone())??;
            Some((key, entry.resource_nonce.clone()))
        })?;
        jwt::dpop_proof(&key, method, url, Some(token), nonce.as_deref()).ok()
    }

    /// The server refused a DPoP proof for want of a nonce (RFC 9449 §9); learn it (from
    /// the `DPoP-Nonce` of a second refusal, since rmcp keeps only `WWW-Authenticate`) and
    /// whether to send again.
    async fn learn_resource_nonce(&self, name: &str, sent: Option<&str>) -> bool {
        let (url, before) = self.with(name, |e| (e.url.clone(), e.resource_nonce.clone()));
        let Some(token) = sent else { return false };
        let Some(proof) = self.dpop_proof(name, "POST", &url, token) else {
            return false;
        };
        let ping = json!({"jsonrpc": "2.0", "id": "mcpproxy-dpop-nonce", "method": "ping"});
        let Ok(response) = self
            .http
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, format!("DPoP {token}"))
            .header("DPoP", proof)
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .json(&ping)
            .send()
            .await
        else {
            return false;
        };
        let nonce = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match nonce {
            Some(nonce) if Some(&nonce) != before.as_ref() => {
                self.with(name, |e| e.resource_nonce = Some(nonce));
                true
            }
            _ => false,
        }
    }

    /// A 401 or 403 from `name` to a request that carried `sent`; whether to retry.
    pub async fn challenged(
        &self,
        name: &str,
        status: u16,
        header: &str,
        sent: Option<&str>,
    ) -> bool {
        let challenge = Challenge::parse(header);
        if challenge.error.as_deref() == Some("use_dpop_nonce") {
            return self.learn_resource_nonce(name, sent).await;
        }
        if status == 403 || challenge.insufficient_scope() {
            self.step_up(name, challenge);
            return false;
        }
        let (current, has_refresh, grant) = self.with(name, |entry| {
            entry.challenge = challenge.clone();
            (
                entry.record.as_ref().map(|r| r.tokens.access_token.clone()),
                entry
                    .record
                    .as_ref()
                    .is_some_and(|r| r.tokens.refresh_token.is_some()),
                entry.settings.grant(),
            )
        });
        if current.is_some() && current.as_deref() != sent {
            return true; // refreshed or signed in meanwhile
        }
        if grant.is_machine() {
            return self.machine_grant(name, &challenge).await.is_ok();
        }
        if has_refresh {
            return self.refresh(name, sent).await.is_ok();
        }
        let reason = if current.is_some() {
            "the server no longer accepts the token; sign in again"
        } else {
            "the server requires OAuth; sign in with `mcpproxy auth login`"
        };
        if self.with(name, |e| e.state != AuthState::InProgress) {
            self.set_state(name, AuthState::NeedsLogin, Some(reason.into()));
        }
        false
    }

    /// A 403 asking for more scope.
    fn step_up(&self, name: &str, challenge: Challenge) {
        let (state, error) = self.with(name, |entry| {
            let known = entry.requested.clone();
            let fresh = challenge.scopes.iter().any(|s| !known.contains(s));
            entry.step_ups = if fresh { 1 } else { entry.step_ups + 1 };
            let scopes = challenge.scopes.join(" ");
            entry.challenge = challenge;
            if entry.step_ups > MAX_STEP_UPS {
                (
                    AuthState::Failed,
                    format!(
                        "the server keeps refusing the token for lack of scope ({scopes}) after {MAX_STEP_UPS} step-up logins"
                    ),
                )
            } else {
                (
                    AuthState::NeedsLogin,
                    format!("the server needs more scope ({scopes}); sign in again"),
                )
            }
        });
        self.set_state(name, state, Some(error));
    }

    /// Refresh the tokens of `name` unless someone did since `sent` was current.
    async fn refresh(&self, name: &str, sent: Option<&str>) -> Result<(), OAuthError> {
        let lock = self.with(name, |e| e.refresh.clone());
        let _guard = lock.lock().await;
        let Some(record) = self.with(name, |e| e.record.clone()) else {
            return Err(OAuthError::NoFlow(name.into()));
        };
        if sent.is_some_and(|sent| sent != record.tokens.access_token) {
            return Ok(());
        }
        let Some(refresh) = record.tokens.refresh_token.clone() else {
            return Err(OAuthError::Token("no refresh token".into()));
        };
        let private_key = self.with(name, |e| e.settings.private_key(self.store.as_ref()));
        let result = flow::token_request(
            &self.http,
            &record.token_endpoint,
            &record.issuer,
            &record.client,
            private_key.as_deref(),
            GrantRequest::Refresh(&refresh),
            &record.resource,
            &record.tokens.scopes,
        )
        .await;
        match result {
            Ok(tokens) => {
                let record = Record { tokens, ..record };
                self.keep(name, record)?;
                Ok(())
            }
            Err(error) => {
                self.forget_tokens(name);
                self.set_state(
                    name,
                    AuthState::NeedsLogin,
                    Some(format!("refreshing the token failed: {error}")),
                );
                Err(error)
            }
        }
    }

    /// Store `record` as the server's and mark it signed in.
    fn keep(&self, name: &str, record: Record) -> Result<(), OAuthError> {
        tokens::save(self.store.as_ref(), &tokens::token_key(name), &record)?;
        self.with(name, |entry| {
            entry.issuer = Some(record.issuer.clone());
            entry.requested = record.tokens.scopes.clone();
            entry.record = Some(record);
        });
        self.set_state(name, AuthState::Authenticated, None);
        Ok(())
    }

    fn forget_tokens(&self, name: &str) {
        let _ = self.store.delete(&tokens::token_key(name));
        self.with(name, |entry| entry.record = None);
    }

    /// Sign `name` out: revoke its tokens where the server supports revocation (RFC 7009),
    /// delete them, and reconnect it (it will then wait for a login).
    pub async fn logout(&self, name: &str) -> Result<(), OAuthError> {
        let record = self.with(name, |entry| {
            if let Some(flow) = entry.flow.take() {
                flow.stop.cancel();
            }
            entry.step_ups = 0;
            entry.challenge = Challenge::default();
            entry.record.clone()
        });
        if let Some(record) = &record
            && let Some(endpoint) = &record.revocation_endpoint
        {
            let private_key = self.with(name, |e| e.settings.private_key(self.store.as_ref()));
            for (token, hint) in [
                (record.tokens.refresh_token.as_deref(), "refresh_token"),
                (Some(record.tokens.access_token.as_str()), "access_token"),
            ] {
                if let Some(token) = token {
                    let _ = flow::revoke(
                        &self.http,
                        endpoint,
                        &record.issuer,
                        &record.client,
                        private_key.as_deref(),
                        token,
                        hint,
                    )
                    .await;
                }
            }
        }
        self.forget_tokens(name);
        self.set_state(name, AuthState::NeedsLogin, None);
        let _ = self.reconnect.send(name.to_string());
        Ok(())
    }
}

/// [`OAuth`] as the upstream layer's provider.
impl AuthProvider for Arc<OAuth> {
    fn source(&self, name: &str, config: &ServerConfig) -> Option<Arc<dyn BearerSource>> {
        if config.url.is_none() || config.transport() == Transport::Stdio {
            return None;
        }
        self.configure(name, config);
        Some(Arc::new(ServerBearer {
            oauth: self.clone(),
            name: name.to_string(),
        }))
    }
}

/// The bearer source of one server.
struct ServerBearer {
    oauth: Arc<OAuth>,
    name: String,
}

impl BearerSource for ServerBearer {
    fn bearer(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(self.oauth.bearer(&self.name))
    }

    fn dpop(&self, method: &str, url: &str, token: &str) -> Option<String> {
        self.oauth.dpop_proof(&self.name, method, url, token)
    }

    fn challenged(
        &self,
        status: u16,
        www_authenticate: String,
        sent: Option<String>,
    ) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            self.oauth
                .challenged(&self.name, status, &www_authenticate, sent.as_deref())
                .await
        })
    }
}
