//! Docker isolation settings, typed: the global `docker_isolation` block resolved with its
//! defaults ([`DockerIsolation`], built once per configuration change as part of
//! [`super::Settings`]) and a server's own `isolation` overrides ([`IsolationOverrides`]).
//!
//! The file keeps both as JSON maps (unknown keys are preserved verbatim); this is the one
//! place that reads their keys and the one place each default is written. The keys are the
//! Go original's: `memory_limit` (`512m`), `cpu_limit` (`1.0`), `network_mode` (`bridge`),
//! `default_images` (runtime key → image), `extra_args`, `registry`, `log_driver`,
//! `log_max_size` (`100m`), `log_max_files` (`3`). A string is trimmed, a number is taken as
//! written; an empty global value leaves the flag out, an empty override defers to the global.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{DockerIsolationConfig, ServerConfig};

/// Default `--memory`.
pub const DEFAULT_MEMORY_LIMIT: &str = "512m";
/// Default `--cpus`.
pub const DEFAULT_CPU_LIMIT: &str = "1.0";
/// Default `--network`.
pub const DEFAULT_NETWORK_MODE: &str = "bridge";
/// Default `--log-driver` (empty: the engine's own).
pub const DEFAULT_LOG_DRIVER: &str = "";
/// Default `--log-opt max-size=`.
pub const DEFAULT_LOG_MAX_SIZE: &str = "100m";
/// Default `--log-opt max-file=`.
pub const DEFAULT_LOG_MAX_FILES: &str = "3";

/// The global Docker isolation settings with their defaults applied. A limit or option that
/// is empty leaves its flag out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerIsolation {
    /// Run stdio servers inside `docker run`.
    pub enabled: bool,
    /// `--memory` (`memory_limit`).
    pub memory_limit: String,
    /// `--cpus` (`cpu_limit`).
    pub cpu_limit: String,
    /// `--network` (`network_mode`).
    pub network_mode: String,
    /// `--log-driver` (`log_driver`).
    pub log_driver: String,
    /// `--log-opt max-size=` (`log_max_size`).
    pub log_max_size: String,
    /// `--log-opt max-file=` (`log_max_files`).
    pub log_max_files: String,
    /// Image by runtime key or family (`default_images`), non-empty values only.
    pub default_images: BTreeMap<String, String>,
    /// Registry put in front of official images (`registry`), when non-empty.
    pub registry: Option<String>,
    /// Extra `docker run` arguments (`extra_args`).
    pub extra_args: Vec<String>,
}

impl Default for DockerIsolation {
    fn default() -> Self {
        Self::of(&DockerIsolationConfig::default())
    }
}

impl DockerIsolation {
    /// The settings of the file's `docker_isolation` block.
    pub fn of(config: &DockerIsolationConfig) -> Self {
        let map = Some(&config.extra);
        let or_default =
            |key: &str, default: &str| string_of(map, key).unwrap_or_else(|| default.to_string());
        let images = config
            .extra
            .get("default_images")
            .and_then(Value::as_object);
        Self {
            enabled: config.enabled,
            memory_limit: or_default("memory_limit", DEFAULT_MEMORY_LIMIT),
            cpu_limit: or_default("cpu_limit", DEFAULT_CPU_LIMIT),
            network_mode: or_default("network_mode", DEFAULT_NETWORK_MODE),
            log_driver: or_default("log_driver", DEFAULT_LOG_DRIVER),
            log_max_size: or_default("log_max_size", DEFAULT_LOG_MAX_SIZE),
            log_max_files: or_default("log_max_files", DEFAULT_LOG_MAX_FILES),
            default_images: images
                .into_iter()
                .flatten()
                .filter_map(|(key, _)| {
                    let image = string_of(images, key).filter(|s| !s.is_empty())?;
                    Some((key.clone(), image))
                })
                .collect(),
            registry: string_of(map, "registry").filter(|s| !s.is_empty()),
            extra_args: strings_of(map, "extra_args"),
        }
    }
}

/// A server's own `isolation` overrides; a value that is empty is no override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsolationOverrides {
    /// `enabled`: `Some(false)` opts the server out.
    pub enabled: Option<bool>,
    /// `image`.
    pub image: Option<String>,
    /// `network_mode`.
    pub network_mode: Option<String>,
    /// `working_dir` inside the container.
    pub working_dir: Option<String>,
    /// `memory_limit`.
    pub memory_limit: Option<String>,
    /// `cpu_limit`.
    pub cpu_limit: Option<String>,
    /// `log_driver`.
    pub log_driver: Option<String>,
    /// `log_max_size`.
    pub log_max_size: Option<String>,
    /// `log_max_files`.
    pub log_max_files: Option<String>,
    /// `extra_args`, after the global ones.
    pub extra_args: Vec<String>,
}

impl IsolationOverrides {
    /// The overrides of `server`.
    pub fn of(server: &ServerConfig) -> Self {
        let enabled = server
            .isolation
            .as_ref()
            .and_then(|i| i.get("enabled"))
            .and_then(Value::as_bool);
        let own = server.isolation.as_ref().and_then(Value::as_object);
        let text = |key: &str| string_of(own, key).filter(|s| !s.is_empty());
        Self {
            enabled,
            image: text("image"),
            network_mode: text("network_mode"),
            working_dir: text("working_dir"),
            memory_limit: text("memory_limit"),
            cpu_limit: text("cpu_limit"),
            log_driver: text("log_driver"),
            log_max_size: text("log_max_size"),
            log_max_files: text("log_max_files"),
            extra_args: strings_of(own, "extra_args"),
        }
    }
}

/// A string setting (trimmed) or a number as written.
fn string_of(map: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    match map?.get(key)? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A list of strings, or one non-empty string as a list of one.
fn strings_of(map: Option<&Map<String, Value>>, key: &str) -> Vec<String> {
    match map.and_then(|m| m.get(key)) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn global(value: Value) -> DockerIsolation {
        DockerIsolation::of(&serde_json::from_value(value).expect("docker_isolation"))
    }

    #[test]
    fn defaults_fill_what_is_absent_and_empty_leaves_a_flag_out() {
        let d = global(json!({}));
        assert!(!d.enabled);
        assert_eq!(
            [
                d.memory_limit.as_str(),
                &d.cpu_limit,
                &d.network_mode,
                &d.log_driver,
                &d.log_max_size,
                &d.log_max_files
            ],
            ["512m", "1.0", "bridge", "", "100m", "3"]
        );
        assert_eq!(d, DockerIsolation::default());
        let set = global(json!({
            "enabled": true, "memory_limit": " 1g ", "cpu_limit": 2, "network_mode": "",
            "log_max_files": null, "registry": "", "extra_args": "--read-only",
            "default_images": {"python": "py:3", "node": "", "go": 1}
        }));
        assert!(set.enabled);
        assert_eq!(set.memory_limit, "1g");
        assert_eq!(set.cpu_limit, "2");
        assert_eq!(set.network_mode, "");
        assert_eq!(set.log_max_files, "3");
        assert_eq!(set.registry, None);
        assert_eq!(set.extra_args, vec!["--read-only"]);
        assert_eq!(
            set.default_images,
            BTreeMap::from([("go".into(), "1".into()), ("python".into(), "py:3".into())])
        );
    }

    #[test]
    fn overrides_ignore_empty_values() {
        let server: ServerConfig = serde_json::from_value(json!({
            "name": "s", "command": "npx",
            "isolation": {"enabled": false, "image": " ", "memory_limit": "64m",
                          "extra_args": ["-e", "A=b"]}
        }))
        .expect("server");
        let own = IsolationOverrides::of(&server);
        assert_eq!(own.enabled, Some(false));
        assert_eq!(own.image, None);
        assert_eq!(own.memory_limit.as_deref(), Some("64m"));
        assert_eq!(own.extra_args, vec!["-e", "A=b"]);
        let plain: ServerConfig =
            serde_json::from_value(json!({"name": "p", "command": "npx"})).expect("server");
        assert_eq!(
            IsolationOverrides::of(&plain),
            IsolationOverrides::default()
        );
    }
}
