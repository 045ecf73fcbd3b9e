//! Settings that leave the proxy more exposed than its defaults: the API key readable by
//! other users, a short key from the environment, a port on every interface. Not errors (the
//! user may mean it), but said at start and listed by the diagnostics, with the fix.

use super::{ApiKeySource, Config, ConfigStore, Listen, Resolved};

/// Keys shorter than this are easy to guess.
pub const MIN_API_KEY_CHARS: usize = 16;

/// One exposure, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// What is exposed.
    pub message: String,
    /// The fix.
    pub action: String,
}

/// Every exposure of the running configuration.
pub fn exposures(store: &ConfigStore, config: &Config, resolved: &Resolved) -> Vec<Exposure> {
    let mut found = Vec::new();
    let key_in_file = config.api_key.as_deref().is_some_and(|k| !k.is_empty());
    if key_in_file && let Some(mode) = store.mode_readable_by_others() {
        let path = store.path().display();
        found.push(Exposure {
            message: format!(
                "The configuration file {path} holds the API key and is readable by other users (mode {mode:04o})"
            ),
            action: format!("chmod 600 {path}"),
        });
    }
    if resolved.api_key_source == ApiKeySource::Environment
        && resolved.api_key.chars().count() < MIN_API_KEY_CHARS
    {
        found.push(Exposure {
            message: format!(
                "MCPPROXY_API_KEY is shorter than {MIN_API_KEY_CHARS} characters and easy to guess"
            ),
            action: format!(
                "Use a random key of at least {MIN_API_KEY_CHARS} characters, e.g. `openssl rand -hex 32`"
            ),
        });
    }
    if let Ok(Listen::Tcp {
        bind,
        all_interfaces: true,
    }) = Listen::parse(&resolved.listen)
    {
        found.push(Exposure {
            message: format!(
                "Listening on every network interface ({bind}): other machines can reach the API and /mcp, and the API key is the only guard (/mcp needs no key unless require_mcp_auth is on)"
            ),
            action: "Set listen to 127.0.0.1:<port> unless other machines must connect".into(),
        });
    }
    if let Some(Ok(Listen::Tcp {
        bind,
        all_interfaces: true,
    })) = config.metrics_listen.as_deref().map(Listen::parse)
    {
        found.push(Exposure {
            message: format!(
                "metrics_listen is on every network interface ({bind}): other machines can read the metrics without a key"
            ),
            action: "Set metrics_listen to 127.0.0.1:<port>".into(),
        });
    }
    found
}
