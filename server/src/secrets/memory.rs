//! [`MemoryStore`]: secrets in a map, for tests — the mock keyring.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use super::{SecretError, SecretStore, validate_name};

/// An in-memory [`SecretStore`]. `Debug` shows how many secrets it holds, not their values.
#[derive(Default)]
pub struct MemoryStore {
    secrets: Mutex<BTreeMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<String, String>> {
        crate::sync::lock(&self.secrets)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("secrets", &self.map().len())
            .finish()
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        Ok(self.map().get(name).cloned())
    }

    fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        validate_name(name)?;
        self.map().insert(name.to_string(), value.to_string());
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<bool, SecretError> {
        Ok(self.map().remove(name).is_some())
    }

    fn list(&self) -> Result<Vec<String>, SecretError> {
        Ok(self.map().keys().cloned().collect())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_store_and_hides_values() {
        let store = MemoryStore::new();
        store.set("b", "hunter2").expect("set");
        store.set("a", "x").expect("set");
        assert_eq!(store.get("b").expect("get").as_deref(), Some("hunter2"));
        assert_eq!(store.list().expect("list"), vec!["a", "b"]);
        assert!(store.delete("a").expect("delete"));
        assert!(!store.delete("a").expect("delete"));
        assert_eq!(format!("{store:?}"), "MemoryStore { secrets: 1 }");
        assert_eq!(store.kind(), "memory");
    }
}
