//! A server's connection settings — everything that decides what process runs or which
//! address is contacted — as one value: what a person approves, what an agent may not change
//! without sending the server back to quarantine, and what a restart depends on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ServerConfig;

/// The connection settings of one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSettings {
    /// stdio command.
    pub command: Option<String>,
    /// stdio arguments.
    pub args: Vec<String>,
    /// stdio environment.
    pub env: BTreeMap<String, String>,
    /// HTTP headers.
    pub headers: BTreeMap<String, String>,
    /// http/sse URL.
    pub url: Option<String>,
    /// The protocol (`auto` when unset).
    pub protocol: String,
    /// stdio working directory.
    pub working_dir: Option<String>,
    /// Per-server Docker isolation overrides.
    pub isolation: Option<Value>,
    /// OAuth settings.
    pub oauth: Option<Value>,
}

impl ConnectionSettings {
    /// The connection settings of `server`.
    pub fn of(server: &ServerConfig) -> Self {
        Self {
            command: server.command.clone(),
            args: server.args.clone(),
            env: server.env.clone(),
            headers: server.headers.clone(),
            url: server.url.clone(),
            protocol: server.protocol_name().to_string(),
            working_dir: server.working_dir.clone(),
            isolation: server.isolation.clone(),
            oauth: server.oauth.clone(),
        }
    }

    /// A copy of `server` with these connection settings.
    pub fn applied_to(&self, server: &ServerConfig) -> ServerConfig {
        let mut out = server.clone();
        out.command = self.command.clone();
        out.args = self.args.clone();
        out.env = self.env.clone();
        out.headers = self.headers.clone();
        out.url = self.url.clone();
        out.protocol = Some(self.protocol.clone());
        out.working_dir = self.working_dir.clone();
        out.isolation = self.isolation.clone();
        out.oauth = self.oauth.clone();
        out
    }

    /// A digest of exactly these settings, secrets included: what a person reviewed, handed
    /// back when they approve or inspect so that a change made meanwhile (an agent's edit) is
    /// refused instead of approved unseen. Keyed with a per-process random key, so the digest
    /// (which agents see in the plan) cannot be used to guess a secret offline.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
        let key = KEY.get_or_init(rand::random);
        let mut hasher = Sha256::new();
        hasher.update(key);
        hasher.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(hasher.finalize())
    }

    /// The names of the fields that differ from `other`, in a fixed order.
    pub fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        [
            ("command", self.command != other.command),
            ("args", self.args != other.args),
            ("env", self.env != other.env),
            ("headers", self.headers != other.headers),
            ("url", self.url != other.url),
            ("protocol", self.protocol != other.protocol),
            ("working_dir", self.working_dir != other.working_dir),
            ("isolation", self.isolation != other.isolation),
            ("oauth", self.oauth != other.oauth),
        ]
        .into_iter()
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| name)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stdio server, and the same with only its administrative flags changed.
    fn server_and_admin_twin() -> (ServerConfig, ServerConfig) {
        let a: ServerConfig =
            serde_json::from_value(serde_json::json!({"name": "a", "command": "x", "args": ["1"]}))
                .expect("server");
        let mut b = a.clone();
        b.enabled = true;
        b.quarantined = true;
        (a, b)
    }

    #[test]
    fn fingerprint_follows_every_setting_and_nothing_else() {
        let (a, mut b) = server_and_admin_twin();
        let fp = |s: &ServerConfig| ConnectionSettings::of(s).fingerprint();
        assert_eq!(fp(&a), fp(&b));
        b.args.push("2".into());
        assert_ne!(fp(&a), fp(&b));
        let mut c = a.clone();
        c.env.insert("K".into(), "v".into());
        assert_ne!(fp(&a), fp(&c));
    }

    #[test]
    fn lists_what_changed_and_ignores_admin_flags() {
        let (a, mut b) = server_and_admin_twin();
        assert!(
            ConnectionSettings::of(&a)
                .changed_fields(&ConnectionSettings::of(&b))
                .is_empty()
        );
        b.command = Some("y".into());
        b.env.insert("K".into(), "v".into());
        b.protocol = Some("auto".into());
        assert_eq!(
            ConnectionSettings::of(&a).changed_fields(&ConnectionSettings::of(&b)),
            ["command", "env"]
        );
    }
}
