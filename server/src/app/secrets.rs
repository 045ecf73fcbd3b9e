//! Secrets in the running proxy: resolving each server's `${env:…}`/`${keyring:…}`
//! references right before it is handed to the upstream manager ([`App::reconcile`]), holding
//! back a server whose reference does not resolve (it shows as `Missing secret: NAME`
//! instead of connecting with the literal placeholder), and the secret store's management
//! actions. A stored or deleted secret is announced as `secrets.changed` and the servers
//! using it restart: their resolved settings differ, so reconciling restarts exactly them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{App, AppError};
use crate::config::ServerConfig;
use crate::events::{Event, ServerChange};
use crate::secrets::{self, SecretError, SecretKind, SecretUsage};
use crate::sync::lock;

/// A secret's metadata, never its value.
pub type SecretView = SecretUsage;

/// The running proxy's secrets: the store and the servers held back for a missing secret.
pub(super) struct SecretState {
    /// Where `${keyring:…}` secrets live.
    pub store: Arc<dyn secrets::SecretStore>,
    /// Servers that should connect but are held back, with the reason
    /// (`Missing secret: NAME`). Also serializes reconciliation.
    pub held: Mutex<BTreeMap<String, String>>,
}

impl SecretState {
    pub(super) fn new(store: Arc<dyn secrets::SecretStore>) -> Self {
        Self {
            store,
            held: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Why `server` cannot be resolved, for its health and error.
fn hold_reason(error: &SecretError) -> String {
    match error {
        SecretError::Unresolved { reference } => secrets::references(reference)
            .first()
            .map(|r| crate::upstream::missing_secret_error(&r.name))
            .unwrap_or_else(|| error.to_string()),
        other => other.to_string(),
    }
}

impl App {
    /// Hand the running configuration to the upstream manager, each server that should
    /// connect with its secrets resolved. A server with an unresolved reference is handed
    /// over disabled (so it is stopped, never started with the placeholder) and remembered
    /// as held, with the reason.
    pub(crate) fn reconcile(&self) {
        let (config, settings) = self.running();
        let mut held = lock(&self.secrets.held);
        let mut now_held = BTreeMap::new();
        let servers: Vec<ServerConfig> = config
            .servers
            .iter()
            .map(|server| {
                if !server.should_connect() {
                    return server.clone();
                }
                match secrets::resolve_server(server, self.secrets.store.as_ref()) {
                    Ok(resolved) => resolved,
                    Err(error) => {
                        let reason = hold_reason(&error);
                        slog::warn!(self.log, "server held back"; "server" => &server.name, "reason" => &reason);
                        now_held.insert(server.name.clone(), reason);
                        let mut stopped = server.clone();
                        stopped.enabled = false;
                        stopped
                    }
                }
            })
            .collect();
        self.upstreams
            .apply_with(&servers, &config.environment, &settings.docker);
        let changed: Vec<String> = held
            .keys()
            .chain(now_held.keys())
            .filter(|name| held.get(*name) != now_held.get(*name))
            .cloned()
            .collect();
        *held = now_held;
        drop(held);
        for server in changed {
            self.bus
                .publish(Event::ServersChanged(ServerChange::Secrets { server }));
        }
    }

    /// Why a server that should connect is held back, if it is.
    pub fn held_reason(&self, server: &str) -> Option<String> {
        lock(&self.secrets.held).get(server).cloned()
    }

    /// The secret store.
    pub fn secret_store(&self) -> &dyn secrets::SecretStore {
        self.secrets.store.as_ref()
    }

    /// Every stored secret and every referenced one, sorted by type then name.
    pub fn secrets(&self) -> Result<Vec<SecretView>, AppError> {
        let store = self.secret_store();
        let mut all = secrets::usage(&self.config(), store);
        for name in store.list()? {
            let known = all
                .iter()
                .any(|u| u.kind == SecretKind::Keyring && u.name == name);
            if !known {
                let is_set = store.get(&name)?.is_some_and(|v| !v.is_empty());
                all.push(SecretUsage {
                    reference: format!("${{keyring:{name}}}"),
                    name,
                    kind: SecretKind::Keyring,
                    is_set,
                    used_by: Vec::new(),
                });
            }
        }
        all.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(all)
    }

    /// One secret's metadata: a stored (or keyring-referenced) one first, else an `env`
    /// reference of that name.
    pub fn secret(&self, name: &str) -> Result<SecretView, AppError> {
        let mut all = self.secrets()?;
        all.sort_by_key(|u| u.kind != SecretKind::Keyring);
        all.into_iter()
            .find(|u| u.name == name)
            .ok_or_else(|| AppError::not_found(super::Resource::Secret, name.to_string()))
    }

    /// Store a secret, announce it, and restart the servers whose resolved settings change.
    pub fn store_secret(&self, name: &str, value: &str) -> Result<(), AppError> {
        secrets::validate_name(name)?;
        if value.is_empty() {
            return Err(AppError::EmptySecret);
        }
        self.secrets.store.set(name, value)?;
        self.secret_changed("store", name);
        Ok(())
    }

    /// Delete a stored secret; servers using it stop with `Missing secret: NAME`.
    pub fn delete_secret(&self, name: &str) -> Result<(), AppError> {
        if !self.secrets.store.delete(name)? {
            return Err(AppError::not_found(
                super::Resource::Secret,
                name.to_string(),
            ));
        }
        self.secret_changed("delete", name);
        Ok(())
    }

    fn secret_changed(&self, operation: &str, name: &str) {
        slog::info!(self.log, "secret changed"; "operation" => operation, "secret" => name);
        self.bus.publish(Event::SecretsChanged {
            operation: operation.to_string(),
            secret_name: name.to_string(),
        });
        self.reconcile();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_reasons_name_the_secret() {
        let error = SecretError::Unresolved {
            reference: "${keyring:gh-token}".into(),
        };
        assert_eq!(hold_reason(&error), "Missing secret: gh-token");
    }
}
