//! Signing upstream servers in with OAuth: the app's side of `crate::oauth` — login,
//! logout and status by server name, and the task that reconnects a server once it is
//! signed in or out.

use std::sync::Arc;

use super::{App, AppError};
use crate::oauth::{AuthView, LoginStarted};

impl App {
    /// Start signing `name` in; the URL for the browser step (none for client
    /// credentials, which complete at once).
    pub async fn auth_login(&self, name: &str) -> Result<LoginStarted, AppError> {
        let config = self.resolved_server(name)?;
        Ok(self.oauth.login(name, &config).await?)
    }

    /// Sign `name` out (revoke and delete its tokens).
    pub async fn auth_logout(&self, name: &str) -> Result<(), AppError> {
        self.configured(name)?;
        Ok(self.oauth.logout(name).await?)
    }

    /// Where `name` stands with OAuth.
    pub fn auth_status(&self, name: &str) -> Result<AuthView, AppError> {
        self.configured(name)?;
        Ok(self.oauth.status(name))
    }

    /// The configuration of `name` with its secret references resolved.
    fn resolved_server(&self, name: &str) -> Result<crate::config::ServerConfig, AppError> {
        let configured = self.configured(name)?;
        Ok(crate::secrets::resolve_server(
            &configured,
            self.secret_store(),
        )?)
    }

    /// Reconnect each server the OAuth client names (signed in or out).
    pub(super) fn spawn_auth_reconnects(self: &Arc<Self>) {
        let Some(mut names) = crate::sync::lock(&self.oauth_reconnects).take() else {
            return;
        };
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(name) = names.recv().await {
                let Some(app) = app.upgrade() else { return };
                if let Err(error) = app.restart(&name).await {
                    slog::info!(app.log, "reconnect after sign-in failed"; "server" => &name, "error" => %error);
                }
            }
        });
    }
}
