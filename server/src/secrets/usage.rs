//! Which servers use which secret ([`usage`], for `GET /api/v1/secrets` and the doctor's
//! missing-secrets list), and resolving a server's references right before it is connected
//! ([`resolve_server`]).
//!
//! References are looked for in a server's `env` values, `args`, `url` and `headers` values —
//! the Go original expands only `env` and `args`; this port resolves `url` and `headers`
//! too, so a token can live outside the configuration file for HTTP servers as well.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::refs::expand_with;
use super::{SecretError, SecretKind, SecretRef, SecretStore, references};
use crate::config::{Config, ServerConfig};

/// One referenced secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretUsage {
    /// The variable or secret name.
    pub name: String,
    /// `env` or `keyring`.
    #[serde(rename = "type")]
    pub kind: SecretKind,
    /// The reference as written, `${kind:name}`.
    pub reference: String,
    /// Whether it resolves now (set and non-empty).
    pub is_set: bool,
    /// Names of the servers that reference it, sorted.
    pub used_by: Vec<String>,
}

/// The texts of `server` that may hold references.
fn texts(server: &ServerConfig) -> impl Iterator<Item = &str> {
    server
        .env
        .values()
        .chain(server.args.iter())
        .chain(server.url.iter())
        .chain(server.headers.values())
        .map(String::as_str)
}

/// Every secret the configured servers reference, sorted by kind then name, with whether it
/// is set now (`env` from the process environment, `keyring` from `store`). A store that
/// fails to answer counts as "not set".
pub fn usage(config: &Config, store: &dyn SecretStore) -> Vec<SecretUsage> {
    usage_with(config, store, &|name| std::env::var(name).ok())
}

/// [`usage`] with the environment supplied by `env`.
pub fn usage_with(
    config: &Config,
    store: &dyn SecretStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<SecretUsage> {
    let mut users: BTreeMap<SecretRef, BTreeSet<String>> = BTreeMap::new();
    for server in &config.servers {
        for reference in texts(server).flat_map(references) {
            users
                .entry(reference)
                .or_default()
                .insert(server.name.clone());
        }
    }
    users
        .into_iter()
        .map(|(reference, servers)| {
            let value = match reference.kind {
                SecretKind::Env => env(&reference.name),
                SecretKind::Keyring => store.get(&reference.name).ok().flatten(),
            };
            SecretUsage {
                is_set: value.is_some_and(|v| !v.is_empty()),
                reference: reference.to_string(),
                kind: reference.kind,
                name: reference.name,
                used_by: servers.into_iter().collect(),
            }
        })
        .collect()
}

/// The referenced secrets that do not resolve now (the doctor's `missing_secrets`).
pub fn missing(config: &Config, store: &dyn SecretStore) -> Vec<SecretUsage> {
    usage(config, store)
        .into_iter()
        .filter(|u| !u.is_set)
        .collect()
}

/// A copy of `server` with the references in its `env` values, `args`, `url` and `headers`
/// values expanded. The first unresolved reference is an error naming it.
pub fn resolve_server(
    server: &ServerConfig,
    store: &dyn SecretStore,
) -> Result<ServerConfig, SecretError> {
    resolve_server_with(server, store, &|name| std::env::var(name).ok())
}

/// [`resolve_server`] with the environment supplied by `env`.
pub fn resolve_server_with(
    server: &ServerConfig,
    store: &dyn SecretStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ServerConfig, SecretError> {
    let mut resolved = server.clone();
    for value in resolved
        .env
        .values_mut()
        .chain(resolved.args.iter_mut())
        .chain(resolved.url.iter_mut())
    {
        *value = expand_with(value, store, env)?;
    }
    for value in resolved.headers.values_mut() {
        *value = expand_with(value, store, env)?;
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    fn config() -> Config {
        serde_json::from_value(serde_json::json!({
            "mcpServers": [
                {"name": "github", "command": "gh-mcp", "args": ["--token", "${keyring:gh}"],
                 "env": {"GITHUB_TOKEN": "${keyring:gh}", "HOME_DIR": "${env:HOME_X}"}},
                {"name": "api", "url": "https://example.test/${env:TENANT}/mcp",
                 "headers": {"Authorization": "Bearer ${keyring:api-token}", "X-Plain": "p"}},
                {"name": "other", "command": "x", "env": {"A": "${env:HOME_X}", "B": "${vault:nope}"}}
            ]
        }))
        .expect("config")
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME_X" => Some("/home/x".into()),
            "TENANT" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn usage_lists_every_reference_with_its_servers() {
        let store = MemoryStore::new();
        store.set("gh", "ghp_value").expect("set");
        let got = usage_with(&config(), &store, &env);
        let summary: Vec<_> = got
            .iter()
            .map(|u| {
                (
                    u.kind.as_str(),
                    u.name.as_str(),
                    u.is_set,
                    u.used_by.join(","),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("env", "HOME_X", true, "github,other".to_string()),
                ("env", "TENANT", false, "api".to_string()),
                ("keyring", "api-token", false, "api".to_string()),
                ("keyring", "gh", true, "github".to_string()),
            ]
        );
        let json = serde_json::to_string(&got).expect("json");
        assert!(
            !json.contains("ghp_value") && !json.contains("/home/x"),
            "no values: {json}"
        );
        assert_eq!(got[3].reference, "${keyring:gh}");
    }

    #[test]
    fn missing_uses_the_process_environment() {
        let store = MemoryStore::new();
        let names: Vec<_> = missing(&config(), &store)
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert!(
            names.contains(&"gh".to_string()) && names.contains(&"api-token".to_string()),
            "{names:?}"
        );
    }

    #[test]
    fn resolve_server_expands_env_args_url_and_headers() {
        let store = MemoryStore::new();
        store.set("gh", "ghp_value").expect("set");
        store.set("api-token", "tok").expect("set");
        let cfg = config();
        let github = resolve_server_with(&cfg.servers[0], &store, &env).expect("resolve");
        assert_eq!(github.args, vec!["--token", "ghp_value"]);
        assert_eq!(github.env["GITHUB_TOKEN"], "ghp_value");
        assert_eq!(github.env["HOME_DIR"], "/home/x");
        assert_eq!(
            cfg.servers[0].env["GITHUB_TOKEN"], "${keyring:gh}",
            "the original is untouched"
        );

        let env_with_tenant = |name: &str| {
            if name == "TENANT" {
                Some("acme".into())
            } else {
                env(name)
            }
        };
        let api = resolve_server_with(&cfg.servers[1], &store, &env_with_tenant).expect("resolve");
        assert_eq!(api.url.as_deref(), Some("https://example.test/acme/mcp"));
        assert_eq!(api.headers["Authorization"], "Bearer tok");
        assert_eq!(api.headers["X-Plain"], "p");

        let other = resolve_server_with(&cfg.servers[2], &store, &env).expect("resolve");
        assert_eq!(other.env["B"], "${vault:nope}", "unknown kinds are text");
    }

    #[test]
    fn resolve_server_fails_on_the_first_unresolved_reference() {
        let store = MemoryStore::new();
        let err = resolve_server_with(&config().servers[0], &store, &env).expect_err("gh unset");
        assert_eq!(err.to_string(), "unresolved secret reference ${keyring:gh}");
    }
}
