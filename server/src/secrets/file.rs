//! [`FileStore`]: secrets in `<data_dir>/secrets.json`, mode 0600.
//!
//! The file is `{"secrets": {"<name>": "<value>", …}}` (unknown top-level keys are kept). It
//! is read on every call, so an edit by another process or by hand is seen at once, and
//! rewritten with [`crate::os::write_atomic`] (temp file, fsync, rename), so a crash
//! leaves the old or the new file, never a torn one. One process-wide lock serialises every
//! read-modify-write, whichever `FileStore` value makes it. A missing file is an empty store.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{SecretError, SecretStore, validate_name};

/// The file's name inside the data directory.
pub const SECRETS_FILE: &str = "secrets.json";

/// Serialises every access to every secrets file of this process.
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default, Serialize, Deserialize)]
struct Document {
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Secrets in a 0600 JSON file. `Debug` shows the path only.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// The store at `<data_dir>/secrets.json` (created on first write).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(SECRETS_FILE),
        }
    }

    /// The store at exactly `path`.
    pub fn at(path: PathBuf) -> Self {
        Self { path }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: std::io::Error) -> SecretError {
        SecretError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<Document, SecretError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Document::default()),
            Err(e) => return Err(self.io_error(e)),
        };
        self.tighten_permissions();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Document::default());
        }
        serde_json::from_slice(&bytes).map_err(|source| SecretError::Corrupt {
            path: self.path.clone(),
            source,
        })
    }

    /// A file someone loosened (e.g. copied with 0644) goes back to 0600; best effort.
    fn tighten_permissions(&self) {
        if let Ok(meta) = fs::metadata(&self.path)
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = fs::set_permissions(&self.path, fs::Permissions::from_mode(0o600));
        }
    }

    fn write(&self, doc: &Document) -> Result<(), SecretError> {
        let mut text = serde_json::to_string_pretty(doc)
            .map_err(|e| self.io_error(std::io::Error::other(e)))?;
        text.push('\n');
        crate::os::write_atomic(&self.path, text.as_bytes()).map_err(|e| self.io_error(e))
    }
}

impl SecretStore for FileStore {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        let _guard = lock();
        Ok(self.read()?.secrets.remove(name))
    }

    fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        validate_name(name)?;
        let _guard = lock();
        let mut doc = self.read()?;
        doc.secrets.insert(name.to_string(), value.to_string());
        self.write(&doc)
    }

    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        let _guard = lock();
        let mut doc = self.read()?;
        if doc.secrets.remove(name).is_none() {
            return Ok(false);
        }
        self.write(&doc)?;
        Ok(true)
    }

    fn list(&self) -> Result<Vec<String>, SecretError> {
        let _guard = lock();
        Ok(self.read()?.secrets.into_keys().collect())
    }

    fn kind(&self) -> &'static str {
        "file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_list_delete_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path());
        assert_eq!(store.get("a").expect("get"), None);
        assert_eq!(store.list().expect("list"), Vec::<String>::new());
        store.set("b", "two").expect("set");
        store.set("a", "one").expect("set");
        store.set("a", "uno").expect("overwrite");
        assert_eq!(store.get("a").expect("get").as_deref(), Some("uno"));
        assert_eq!(store.list().expect("list"), vec!["a", "b"]);
        assert!(store.delete("a").expect("delete"));
        assert!(!store.delete("a").expect("delete again"));
        assert_eq!(store.list().expect("list"), vec!["b"]);

        let again = FileStore::new(dir.path());
        assert_eq!(
            again.get("b").expect("get").as_deref(),
            Some("two"),
            "persisted"
        );
    }

    #[test]
    fn file_is_private_and_keeps_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SECRETS_FILE);
        fs::write(&path, r#"{"version":7,"secrets":{"x":"1"}}"#).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let store = FileStore::new(dir.path());
        assert_eq!(store.get("x").expect("get").as_deref(), Some("1"));
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600,
            "tightened on read"
        );
        store.set("y", "2").expect("set");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let doc: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(doc["version"], 7);
        assert_eq!(doc["secrets"]["y"], "2");
    }

    #[test]
    fn corrupt_file_is_an_error_without_its_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(SECRETS_FILE), "{\"secrets\": hunter2").expect("write");
        let err = FileStore::new(dir.path()).get("a").expect_err("corrupt");
        assert!(matches!(err, SecretError::Corrupt { .. }));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        fs::write(dir.path().join(SECRETS_FILE), "  \n").expect("write");
        assert_eq!(
            FileStore::new(dir.path())
                .list()
                .expect("empty file is empty")
                .len(),
            0
        );
    }

    #[test]
    fn invalid_names_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path());
        assert!(matches!(
            store.set("a}b", "v"),
            Err(SecretError::InvalidName { .. })
        ));
        assert!(!store.path().exists());
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let store = FileStore::new(dir.path());
                std::thread::spawn(move || {
                    for j in 0..10 {
                        store.set(&format!("k{i}-{j}"), "v").expect("set");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("join");
        }
        assert_eq!(FileStore::new(dir.path()).list().expect("list").len(), 80);
    }
}
