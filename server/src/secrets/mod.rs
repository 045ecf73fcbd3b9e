//! Secrets: the `${env:NAME}` / `${keyring:NAME}` references that server `env`, `args`, `url`
//! and `headers` may hold, the stores that resolve them, and which servers use which secret.
//!
//! A reference is resolved right before a server is connected ([`resolve_server`]); the
//! configuration file and every view of it keep the reference, never the value. Values are
//! never logged, never put into error messages and never shown by `Debug`.
//!
//! Reference kinds:
//! - `env` — the proxy's own process environment (`std::env::var`); unset or empty is
//!   unresolved, as in the Go original.
//! - `keyring` — a named secret in a [`SecretStore`].
//!
//! [`SecretStore`] implementations:
//! - [`FileStore`] — `<data_dir>/secrets.json`, mode 0600, written atomically under a
//!   process-wide lock. This is what [`default_store`] returns and what `${keyring:…}`
//!   resolves against.
//! - [`MemoryStore`] — an in-memory store standing in for the OS keyring in tests.
//!
//! Deliberately out of scope: the OS keyring (macOS Keychain, Secret Service over D-Bus,
//! Windows Credential Manager). No keyring crate is available to this build and the target
//! machines have no Secret Service, so keyring-named secrets live in the 0600 file store. A
//! keyring backend would be one more [`SecretStore`] behind a cargo feature.

mod file;
mod memory;
mod refs;
mod usage;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use file::FileStore;
pub use memory::MemoryStore;
pub use refs::{SecretKind, SecretRef, expand, expand_with, references, without_references};
pub use usage::{SecretUsage, missing, resolve_server, resolve_server_with, usage, usage_with};

/// Why a secret could not be read, stored or resolved. Never carries a secret's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// A reference names a secret that is not set.
    #[error("unresolved secret reference {reference}")]
    Unresolved {
        /// The reference as written, e.g. `${env:GITHUB_TOKEN}`.
        reference: String,
    },
    /// The name cannot be used for a secret.
    #[error("invalid secret name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why not.
        reason: &'static str,
    },
    /// The store's file cannot be read or written.
    #[error("cannot access secret store {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store's file is not a secrets document.
    #[error("secret store {path} is corrupt: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The cause (position only; serde_json does not quote the input).
        #[source]
        source: serde_json::Error,
    },
}

/// Where keyring-kind secrets live. Implementations must be safe to share between tasks.
pub trait SecretStore: Send + Sync {
    /// The value of `name`, if set.
    fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
    /// Store `value` under `name`, replacing any previous value.
    fn set(&self, name: &str, value: &str) -> Result<(), SecretError>;
    /// Remove `name`; whether it existed.
    fn delete(&self, name: &str) -> Result<bool, SecretError>;
    /// The names of all stored secrets, sorted.
    fn list(&self) -> Result<Vec<String>, SecretError>;
    /// A short name of the backend (`file`, `memory`).
    fn kind(&self) -> &'static str;
}

/// The store the proxy uses: a [`FileStore`] at `<data_dir>/secrets.json`.
pub fn default_store(data_dir: &Path) -> Arc<dyn SecretStore> {
    Arc::new(FileStore::new(data_dir))
}

/// Check a secret name: non-empty, at most 256 bytes, no `}` (it would end a reference)
/// and no control characters.
pub fn validate_name(name: &str) -> Result<(), SecretError> {
    let invalid = |reason| {
        Err(SecretError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.trim().is_empty() {
        return invalid("it is empty");
    }
    if name.len() > 256 {
        return invalid("it is longer than 256 bytes");
    }
    if name.contains('}') {
        return invalid("it contains '}'");
    }
    if name.chars().any(char::is_control) {
        return invalid("it contains control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(validate_name("github-token").is_ok());
        assert!(validate_name("a:b.c_d").is_ok());
        for bad in ["", "  ", "a}b", "a\nb", &"x".repeat(257)] {
            assert!(
                matches!(validate_name(bad), Err(SecretError::InvalidName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn default_store_is_the_file_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = default_store(dir.path());
        assert_eq!(store.kind(), "file");
        store.set("k", "v").expect("set");
        assert!(dir.path().join("secrets.json").exists());
    }
}
