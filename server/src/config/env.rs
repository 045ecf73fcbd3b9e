//! The environment variables that override the file: the only reader of `MCPPROXY_*`.

/// Overrides read from the process environment.
#[derive(Debug, Clone, Default)]
pub struct EnvOverrides {
    /// `MCPPROXY_LISTEN`.
    pub listen: Option<String>,
    /// `MCPPROXY_DATA`.
    pub data_dir: Option<String>,
    /// `MCPPROXY_API_KEY` (only when non-empty).
    pub api_key: Option<String>,
}

impl EnvOverrides {
    /// Read them from the environment; empty values count as unset.
    pub fn from_env() -> Self {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            listen: get("MCPPROXY_LISTEN"),
            data_dir: get("MCPPROXY_DATA"),
            api_key: get("MCPPROXY_API_KEY"),
        }
    }
}
