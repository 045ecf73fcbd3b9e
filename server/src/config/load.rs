//! Reading, resolving and atomically writing the configuration file: the only code here that
//! touches disk.
//!
//! Precedence: defaults < file < environment (`MCPPROXY_LISTEN`, `MCPPROXY_DATA`,
//! `MCPPROXY_API_KEY`) < command-line flags. Overrides are never written back; a generated
//! API key is (so it survives restarts). Writes go to a temp file in the same directory,
//! are fsynced, chmod 0600 and renamed over the file, so a crash leaves either the old or
//! the new file, never a torn one.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{Config, EnvOverrides, Problem};
use crate::os::{current_uid, write_atomic};

/// Why configuration could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid configuration document.
    #[error("{path} is not a valid configuration: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Another MCP client's file (`mcpServers` as a map of name → server): it is imported,
    /// not loaded.
    #[error(
        "{path} is another MCP client's configuration: its `mcpServers` is a map of name → server (as Claude Desktop, Cursor and Gemini write it), while mcpproxy's is an array of servers with a `name` each. Import its servers with `mcpproxy upstream import --from {path}` (they land quarantined for review)"
    )]
    ClientFormat {
        /// The file.
        path: PathBuf,
    },
    /// The document parsed but breaks the rules.
    #[error("invalid configuration: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The file or data directory cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file on disk does not parse or validate (a person is editing it), so the daemon
    /// refuses to overwrite it with the running configuration.
    #[error(
        "the configuration file {path} is invalid on disk ({detail}); the running configuration was not changed and the file was not overwritten: fix or revert the file, then retry"
    )]
    InvalidOnDisk {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// Ownership or permissions are wrong (exit code 5).
    #[error("permission problem with {path}: {message}")]
    Permission {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Where the API key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeySource {
    /// `MCPPROXY_API_KEY`.
    Environment,
    /// `api_key` in the file.
    ConfigFile,
    /// Generated at this start and saved into the file.
    Generated,
}

/// What the process runs with, after overrides.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// TCP listen address; `""` or `":0"` for MCP over stdio (see [`Resolved::serves_stdio`]).
    pub listen: String,
    /// Absolute data directory (exists, 0700, ours).
    pub data_dir: PathBuf,
    /// The unix socket path, when enabled.
    pub socket_path: Option<PathBuf>,
    /// The API key.
    pub api_key: String,
    /// Where it came from.
    pub api_key_source: ApiKeySource,
    /// Directory of per-server logs.
    pub log_dir: PathBuf,
}

impl Resolved {
    /// Whether MCP is served on stdin/stdout instead of a TCP port (the Go original's
    /// `listen` of `""` or `":0"`).
    pub fn serves_stdio(&self) -> bool {
        super::is_stdio_listen(&self.listen)
    }
}

/// A loaded configuration with its path and resolution.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The file's content (with a generated key filled in, if one was generated).
    pub config: Config,
    /// The resolved runtime values.
    pub resolved: Resolved,
}

/// `~/.mcpproxy/mcp_config.json`.
pub fn default_config_path() -> PathBuf {
    home_dir().join(".mcpproxy").join("mcp_config.json")
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The configuration file and the only writer of it.
#[derive(Debug, Clone)]
pub struct ConfigStore {
    path: PathBuf,
}

impl ConfigStore {
    /// A store for `path` (not read yet).
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the file; a missing or empty file is the defaults (and a missing one is created).
    pub fn load_or_create(&self) -> Result<Config, ConfigError> {
        match fs::read(&self.path) {
            Ok(bytes) => parse(&self.path, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let config = Config::default();
                self.save(&config)?;
                Ok(config)
            }
            Err(source) => Err(ConfigError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Read and parse the file as it is on disk now.
    pub fn read(&self) -> Result<Config, ConfigError> {
        let bytes = fs::read(&self.path).map_err(|source| ConfigError::Read {
            path: self.path.clone(),
            source,
        })?;
        parse(&self.path, &bytes)
    }

    /// The file's mode when users other than its owner may read it.
    pub fn mode_readable_by_others(&self) -> Option<u32> {
        let mode = fs::metadata(&self.path).ok()?.permissions().mode() & 0o7777;
        (mode & 0o044 != 0).then_some(mode)
    }

    /// Refuse to overwrite a file that exists but is not a valid configuration: it is most
    /// likely a person's edit in progress, which a daemon write would silently lose.
    pub fn ensure_overwritable(&self) -> Result<(), ConfigError> {
        let invalid = |detail: String| ConfigError::InvalidOnDisk {
            path: self.path.clone(),
            detail,
        };
        let config = match self.read() {
            Ok(config) => config,
            Err(ConfigError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(());
            }
            Err(ConfigError::Parse { source, .. }) => return Err(invalid(source.to_string())),
            Err(e @ ConfigError::ClientFormat { .. }) => return Err(invalid(e.to_string())),
            Err(other) => return Err(other),
        };
        let problems = super::validate(&config);
        match problems.is_empty() {
            true => Ok(()),
            false => Err(invalid(
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    /// Write `config` atomically (temp file, fsync, rename, 0600).
    pub fn save(&self, config: &Config) -> Result<(), ConfigError> {
        let mut text = serde_json::to_string_pretty(config).map_err(|e| ConfigError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        write_atomic(&self.path, text.as_bytes()).map_err(|source| ConfigError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Config::default());
    }
    serde_json::from_slice(bytes).map_err(|source| {
        let map_form = serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|doc| doc.get("mcpServers").is_some_and(|s| s.is_object()));
        match map_form {
            true => ConfigError::ClientFormat {
                path: path.to_path_buf(),
            },
            false => ConfigError::Parse {
                path: path.to_path_buf(),
                source,
            },
        }
    })
}

/// Command-line overrides (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
}

/// Resolve the runtime values of `config`; generates (and saves) an API key when none is
/// configured, and prepares the data directory.
pub fn resolve(
    store: &ConfigStore,
    mut config: Config,
    env: &EnvOverrides,
    cli: &CliOverrides,
) -> Result<LoadedConfig, ConfigError> {
    let listen = cli
        .listen
        .clone()
        .or_else(|| env.listen.clone())
        .unwrap_or_else(|| config.listen.clone());
    let data_dir = resolve_data_dir(&config, env, cli);
    prepare_data_dir(&data_dir)?;

    let (api_key, api_key_source) = match (
        &env.api_key,
        config.api_key.as_deref().filter(|k| !k.is_empty()),
    ) {
        (Some(key), _) => (key.clone(), ApiKeySource::Environment),
        (None, Some(key)) => (key.to_string(), ApiKeySource::ConfigFile),
        (None, None) => {
            let key = hex::encode(rand::random::<[u8; 32]>());
            config.api_key = Some(key.clone());
            store.save(&config)?;
            (key, ApiKeySource::Generated)
        }
    };

    let socket_path = resolve_socket_path(&config, &data_dir);
    let log_dir = config
        .logging
        .log_dir
        .as_deref()
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join("logs"));
    Ok(LoadedConfig {
        config,
        resolved: Resolved {
            listen,
            data_dir,
            socket_path,
            api_key,
            api_key_source,
            log_dir,
        },
    })
}

/// The data directory, absolute: `--data-dir`, else `MCPPROXY_DATA`, else the file's
/// `data_dir`, else `~/.mcpproxy`. Touches nothing (the daemon prepares it, the CLI looks in it).
pub fn resolve_data_dir(config: &Config, env: &EnvOverrides, cli: &CliOverrides) -> PathBuf {
    let data_dir = cli
        .data_dir
        .clone()
        .or_else(|| env.data_dir.clone())
        .or_else(|| Some(config.data_dir.clone()).filter(|d| !d.is_empty()))
        .map(PathBuf::from)
        .unwrap_or_else(|| home_dir().join(".mcpproxy"));
    std::path::absolute(&data_dir).unwrap_or(data_dir)
}

/// The file name of the API socket in the data directory.
pub const SOCKET_FILE: &str = "mcpproxy.sock";

/// The unix socket the daemon serves the API on: `tray_endpoint` (`unix:///abs/path.sock`),
/// else [`SOCKET_FILE`] in `data_dir`; `None` when `enable_socket` is off.
pub fn resolve_socket_path(config: &Config, data_dir: &Path) -> Option<PathBuf> {
    config.enable_socket.then(|| {
        config
            .tray_endpoint
            .as_deref()
            .and_then(|e| e.strip_prefix("unix://"))
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join(SOCKET_FILE))
    })
}

/// Create the data directory 0700 when it is missing; accept an existing one only when it is
/// ours and nobody else can write to it. An existing directory is never `chmod`ed: it may be
/// shared on purpose (`/tmp` is 1777), and silently narrowing it would break its other users.
fn prepare_data_dir(dir: &Path) -> Result<(), ConfigError> {
    let permission = |message: String| ConfigError::Permission {
        path: dir.to_path_buf(),
        message,
    };
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| permission(format!("cannot create: {e}")))?;
    }
    let meta = fs::metadata(dir).map_err(|e| permission(format!("cannot inspect: {e}")))?;
    if !meta.is_dir() {
        return Err(permission("not a directory".into()));
    }
    if meta.uid() != current_uid() {
        return Err(permission(format!(
            "owned by uid {}, not by us (uid {})",
            meta.uid(),
            current_uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(permission(format!(
            "is writable by other users (mode {mode:04o}); choose a private directory, or run `chmod 700 {}` if it is yours alone",
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mcp_config.json");
        fs::write(
            &path,
            r#"{"listen":"127.0.0.1:9","future_feature":{"x":[1,2]},"mcpServers":[{"name":"a","command":"c","enabled":true,"shiny":true}]}"#,
        )
        .expect("write");
        let store = ConfigStore::new(path.clone());
        let config = store.read().expect("read");
        store.save(&config).expect("save");
        let back: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(back["future_feature"]["x"][1], 2);
        assert_eq!(back["mcpServers"][0]["shiny"], true);
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn generated_key_is_saved_and_env_wins_without_being_saved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ConfigStore::new(dir.path().join("c.json"));
        let config = store.load_or_create().expect("create");
        let cli = CliOverrides {
            data_dir: Some(dir.path().join("data").display().to_string()),
            ..Default::default()
        };
        let loaded = resolve(&store, config, &EnvOverrides::default(), &cli).expect("resolve");
        assert_eq!(loaded.resolved.api_key_source, ApiKeySource::Generated);
        assert_eq!(loaded.resolved.api_key.len(), 64);
        assert_eq!(
            store.read().expect("read").api_key.as_deref(),
            Some(loaded.resolved.api_key.as_str())
        );
        let data_mode = fs::metadata(dir.path().join("data"))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(data_mode, 0o700);

        let env = EnvOverrides {
            api_key: Some("from-env".into()),
            ..Default::default()
        };
        let again = resolve(&store, store.read().expect("read"), &env, &cli).expect("resolve");
        assert_eq!(again.resolved.api_key, "from-env");
        assert_eq!(
            store.read().expect("read").api_key.as_deref(),
            Some(loaded.resolved.api_key.as_str())
        );
    }
}
