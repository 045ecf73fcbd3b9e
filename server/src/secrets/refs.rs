//! Parsing and expanding `${env:NAME}` / `${keyring:NAME}` references, without a regex.
//!
//! The grammar is the Go original's `\$\{([^:}]+):([^}]+)\}`: `${`, a kind up to the first
//! `:`, a name up to the first `}`. Only the kinds `env` and `keyring` are references;
//! anything else that looks like one (`${HOME}`, `${vault:x}`) is ordinary text and is left
//! alone. Several references may appear in one string, with text around them kept.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

use super::{SecretError, SecretStore};

/// Where a referenced secret comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretKind {
    /// The proxy's process environment.
    Env,
    /// The secret store (standing in for the OS keyring).
    Keyring,
}

impl SecretKind {
    /// `env` or `keyring`, as written in references and reported by the REST API.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::Env => "env",
            SecretKind::Keyring => "keyring",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "env" => Some(SecretKind::Env),
            "keyring" => Some(SecretKind::Keyring),
            _ => None,
        }
    }
}

/// One reference found in a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SecretRef {
    /// Where the value comes from.
    #[serde(rename = "type")]
    pub kind: SecretKind,
    /// The variable or secret name.
    pub name: String,
}

impl SecretRef {
    /// The reference as it is written: `${kind:name}`.
    pub fn reference(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}:{}}}", self.kind.as_str(), self.name)
    }
}

/// Every reference in `text`, in order of appearance (duplicates kept).
pub fn references(text: &str) -> Vec<SecretRef> {
    scan(text).into_iter().map(|(_, r)| r).collect()
}

/// `text` with every reference taken out: what is left is literal text written in the
/// configuration (masking uses it to tell a bare reference from a value holding a secret).
pub fn without_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (span, _) in scan(text) {
        out.push_str(text.get(copied..span.start).unwrap_or_default());
        copied = span.end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// `text` with every reference replaced by its value: `env` from the process environment,
/// `keyring` from `store`. The first reference that cannot be resolved is an error naming it.
pub fn expand(text: &str, store: &dyn SecretStore) -> Result<String, SecretError> {
    expand_with(text, store, &|name| std::env::var(name).ok())
}

/// [`expand`] with the environment supplied by `env` (tests, or a filtered environment).
/// An empty environment value counts as unset, as in the Go original.
pub fn expand_with(
    text: &str,
    store: &dyn SecretStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SecretError> {
    let found = scan(text);
    if found.is_empty() {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (span, reference) in found {
        let value = match reference.kind {
            SecretKind::Env => env(&reference.name),
            SecretKind::Keyring => store.get(&reference.name)?,
        };
        let value = value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SecretError::Unresolved {
                reference: reference.to_string(),
            })?;
        out.push_str(text.get(copied..span.start).unwrap_or_default());
        out.push_str(&value);
        copied = span.end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    Ok(out)
}

/// References with their byte spans. All indices fall on ASCII delimiters, so slicing with
/// them never splits a character.
fn scan(text: &str) -> Vec<(Range<usize>, SecretRef)> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(offset) = text.get(pos..).and_then(|rest| rest.find("${")) {
        let start = pos + offset;
        let body_start = start + 2;
        let Some(len) = text.get(body_start..).and_then(|rest| rest.find('}')) else {
            break;
        };
        let body_end = body_start + len;
        let parsed = text
            .get(body_start..body_end)
            .and_then(|body| body.split_once(':'))
            .and_then(|(kind, name)| {
                let kind = SecretKind::parse(kind)?;
                (!name.is_empty()).then(|| SecretRef {
                    kind,
                    name: name.to_string(),
                })
            });
        match parsed {
            Some(reference) => {
                found.push((start..body_end + 1, reference));
                pos = body_end + 1;
            }
            None => pos = body_start,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemoryStore;

    fn env_ref(name: &str) -> SecretRef {
        SecretRef {
            kind: SecretKind::Env,
            name: name.into(),
        }
    }
    fn keyring_ref(name: &str) -> SecretRef {
        SecretRef {
            kind: SecretKind::Keyring,
            name: name.into(),
        }
    }

    #[test]
    fn finds_references_with_text_around_them() {
        assert_eq!(references("plain"), vec![]);
        assert_eq!(references("${env:A}"), vec![env_ref("A")]);
        assert_eq!(
            references("Bearer ${keyring:gh-token} and ${env:X_Y}!${env:A}"),
            vec![keyring_ref("gh-token"), env_ref("X_Y"), env_ref("A")]
        );
        assert_eq!(
            references("${keyring:a:b}"),
            vec![keyring_ref("a:b")],
            "the name may contain ':'"
        );
    }

    #[test]
    fn takes_references_out_keeping_the_text() {
        assert_eq!(
            without_references("Bearer ${keyring:gh} x${env:A}"),
            "Bearer  x"
        );
        assert_eq!(without_references("${env:A}${env:B}"), "");
        assert_eq!(without_references("${HOME}"), "${HOME}");
    }

    #[test]
    fn non_references_are_text() {
        for text in [
            "${HOME}",
            "${vault:x}",
            "${env:}",
            "${:x}",
            "${env:unterminated",
            "$env:A}",
            "${}",
            "${ENV:A}",
        ] {
            assert_eq!(references(text), vec![], "{text}");
        }
        assert_eq!(references("${${env:A}"), vec![env_ref("A")]);
        assert_eq!(references("$${env:A}}"), vec![env_ref("A")]);
        assert_eq!(references("é${env:Ä}ü"), vec![env_ref("Ä")]);
    }

    #[test]
    fn expands_env_and_keyring() {
        let store = MemoryStore::new();
        store.set("gh", "ghp_secret").expect("set");
        let env = |name: &str| (name == "USER_X").then(|| "alice".to_string());
        assert_eq!(
            expand_with("Bearer ${keyring:gh}", &store, &env).expect("expand"),
            "Bearer ghp_secret"
        );
        assert_eq!(
            expand_with("${env:USER_X}@${keyring:gh}/${HOME}", &store, &env).expect("expand"),
            "alice@ghp_secret/${HOME}"
        );
        assert_eq!(
            expand_with("no refs", &store, &env).expect("expand"),
            "no refs"
        );
        assert_eq!(
            expand_with("é${env:USER_X}ü", &store, &env).expect("expand"),
            "éaliceü"
        );
    }

    #[test]
    fn unresolved_reference_is_named_in_the_error() {
        let store = MemoryStore::new();
        let env = |_: &str| None;
        let err = expand_with("x ${keyring:missing} y", &store, &env).expect_err("unresolved");
        assert!(
            matches!(&err, SecretError::Unresolved { reference } if reference == "${keyring:missing}")
        );
        assert_eq!(
            err.to_string(),
            "unresolved secret reference ${keyring:missing}"
        );
        let empty = |_: &str| Some(String::new());
        assert!(
            expand_with("${env:EMPTY}", &store, &empty).is_err(),
            "empty env counts as unset"
        );
    }

    #[test]
    fn expand_reads_the_process_environment() {
        let store = MemoryStore::new();
        let path = std::env::var("PATH").expect("PATH is set for tests");
        assert_eq!(
            expand("p=${env:PATH}", &store).expect("expand"),
            format!("p={path}")
        );
        assert!(expand("${env:MCPPROXY_TEST_SURELY_UNSET_VARIABLE_1F3A}", &store).is_err());
    }

    #[test]
    fn reference_round_trips() {
        assert_eq!(keyring_ref("a").reference(), "${keyring:a}");
        assert_eq!(
            serde_json::to_value(env_ref("A")).expect("json"),
            serde_json::json!({"type":"env","name":"A"})
        );
    }
}
