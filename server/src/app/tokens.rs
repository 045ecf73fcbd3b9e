//! Agent tokens: revocable credentials for `/mcp`, each limited to a list of servers and a
//! permission [`Tier`], with an expiry. The secret (`mcp_agt_` + 64 hex digits from the OS
//! CSPRNG) is shown once, when created; only its SHA-256 is stored (`storage`, table
//! `agent_tokens`), and a presented secret is compared against the stored hashes in constant
//! time. Revocation and expiry are checked every time a token is presented.
//!
//! [`Grant`] is what a valid token allows; every check of an agent's reach — which servers'
//! tools it sees, which calls it may make — asks the grant, so the rules live here.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{App, AppError};
use crate::config::parse_go_duration;
pub use crate::storage::{Tier, TokenRecord};

/// Every agent token starts with this.
pub const TOKEN_PREFIX: &str = "mcp_agt_";
/// Random bytes in a secret (hex-encoded after the prefix).
const SECRET_BYTES: usize = 32;
/// How much of the secret lists show.
const SHOWN_PREFIX: usize = 12;
/// Live (not revoked, not expired) tokens at most.
pub const MAX_TOKENS: usize = 100;
/// Lifetime when `expires_in` is not given.
const DEFAULT_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(30);
/// Longest lifetime.
const MAX_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(365);
/// `last_used_at` moves at most this often per token.
const LAST_USED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// A token name: 1..=64 of `[A-Za-z0-9_-]`, starting with a letter or digit.
const MAX_NAME: usize = 64;
/// `allowed_servers` entry meaning every server.
pub const ALL_SERVERS: &str = "*";

/// What a valid agent token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's name (what records and sessions show).
    pub name: String,
    /// `None`: every server.
    servers: Option<BTreeSet<String>>,
    /// The highest tier it may use.
    pub tier: Tier,
}

impl Grant {
    /// Whether the token reaches `server`'s tools.
    pub fn allows_server(&self, server: &str) -> bool {
        self.servers.as_ref().is_none_or(|s| s.contains(server))
    }

    /// Whether the token may use `tier`.
    pub fn allows(&self, tier: Tier) -> bool {
        tier <= self.tier
    }

    fn from_record(record: &TokenRecord) -> Self {
        let servers = (!record.allowed_servers.iter().any(|s| s == ALL_SERVERS))
            .then(|| record.allowed_servers.iter().cloned().collect());
        Self {
            name: record.name.clone(),
            servers,
            tier: record.tier,
        }
    }
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// No token has this secret.
    #[error("Agent token invalid: unknown token")]
    Unknown,
    /// The token was revoked.
    #[error("Agent token invalid: token '{0}' was revoked")]
    Revoked(String),
    /// The token expired.
    #[error("Agent token invalid: token '{0}' expired")]
    Expired(String),
}

/// Why a token could not be created, found or revoked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The name breaks the rules.
    #[error(
        "token name must be 1-{MAX_NAME} characters of letters, digits, '_' or '-', starting with a letter or digit"
    )]
    InvalidName,
    /// The permissions are not a tier.
    #[error("permissions are read, write and destructive (got {0:?})")]
    InvalidPermissions(Vec<String>),
    /// The lifetime is malformed or out of range.
    #[error("invalid expires_in {0:?}: use <n>d, <n>h or <n>m, more than zero and at most 365d")]
    InvalidExpiry(String),
    /// An allowed server is not configured.
    #[error("unknown server in allowed_servers: {0}")]
    UnknownServer(String),
    /// A live token has that name.
    #[error("token '{0}' already exists; revoke it first or choose another name")]
    Exists(String),
    /// Too many live tokens.
    #[error("at most {MAX_TOKENS} live agent tokens; revoke one first")]
    TooMany,
    /// No token by that name.
    #[error("token not found: {0}")]
    NotFound(String),
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// Name.
    pub name: String,
    /// Servers (`None`/empty: all).
    pub allowed_servers: Option<Vec<String>>,
    /// Permission names (`None`/empty: read).
    pub permissions: Option<Vec<String>>,
    /// Lifetime text (`None`: 30 days).
    pub expires_in: Option<String>,
}

/// A created token: its record and its secret, which exists nowhere else.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// What is stored.
    pub record: TokenRecord,
    /// The secret.
    pub secret: String,
}

/// The tokens in memory (the database is written through), with their grants.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    entries: RwLock<Vec<Entry>>,
}

#[derive(Debug)]
struct Entry {
    record: TokenRecord,
    /// Shared by every session the token opens; its identity is the token's (see
    /// `mcp::auth::Caller::same_as`).
    grant: Arc<Grant>,
}

impl Entry {
    fn new(record: TokenRecord) -> Self {
        Self {
            grant: Arc::new(Grant::from_record(&record)),
            record,
        }
    }
}

impl TokenStore {
    /// The store over `records` (as loaded from the database).
    pub(crate) fn new(records: Vec<TokenRecord>) -> Self {
        Self {
            entries: RwLock::new(records.into_iter().map(Entry::new).collect()),
        }
    }
}

/// The tier `permissions` names: the highest listed (a tier includes those below it);
/// none means read.
pub fn tier_of(permissions: &[String]) -> Result<Tier, TokenError> {
    let mut tier = Tier::Read;
    for p in permissions {
        match Tier::ALL.iter().find(|t| t.as_str() == p.as_str()) {
            Some(t) => tier = tier.max(*t),
            None => return Err(TokenError::InvalidPermissions(permissions.to_vec())),
        }
    }
    Ok(tier)
}

/// The permission list of `tier`: every tier up to it.
pub fn permissions_of(tier: Tier) -> Vec<Tier> {
    Tier::ALL.into_iter().filter(|t| *t <= tier).collect()
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= MAX_NAME
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `30d`, or a Go duration (`720h`, `90m`, `30s`).
fn lifetime(text: Option<&str>) -> Result<chrono::TimeDelta, TokenError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_LIFETIME);
    };
    let bad = || TokenError::InvalidExpiry(text.to_string());
    let parsed = match text.strip_suffix('d') {
        Some(days) => chrono::TimeDelta::try_days(days.parse().map_err(|_| bad())?),
        None => parse_go_duration(text).and_then(|d| chrono::TimeDelta::from_std(d).ok()),
    };
    parsed
        .filter(|d| *d > chrono::TimeDelta::zero() && *d <= MAX_LIFETIME)
        .ok_or_else(bad)
}

/// The stored form of a secret.
fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Constant-time equality of a stored hex hash and a computed one.
fn hash_matches(stored_hex: &str, computed: &[u8; 32]) -> bool {
    let mut stored = [0u8; 32];
    if hex::decode_to_slice(stored_hex, &mut stored).is_err() {
        return false;
    }
    stored
        .iter()
        .zip(computed)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn live(record: &TokenRecord, now: DateTime<Utc>) -> bool {
    !record.revoked && record.expires_at > now
}

impl App {
    /// Create an agent token; the answer holds its secret, which is not kept.
    pub fn create_token(&self, new: NewToken) -> Result<CreatedToken, AppError> {
        if !valid_name(&new.name) {
            return Err(TokenError::InvalidName.into());
        }
        let tier = tier_of(new.permissions.as_deref().unwrap_or_default())?;
        let now = Utc::now();
        let expires_at = now + lifetime(new.expires_in.as_deref())?;
        let mut servers: Vec<String> = new.allowed_servers.unwrap_or_default();
        if servers.is_empty() || servers.iter().any(|s| s == ALL_SERVERS) {
            servers = vec![ALL_SERVERS.to_string()];
        } else {
            let config = self.config();
            if let Some(unknown) = servers
                .iter()
                .find(|s| !config.servers.iter().any(|c| &c.name == *s))
            {
                return Err(TokenError::UnknownServer(unknown.clone()).into());
            }
            servers.sort();
            servers.dedup();
        }
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            hex::encode(rand::random::<[u8; SECRET_BYTES]>())
        );
        let record = TokenRecord {
            name: new.name,
            hash: hex::encode(hash(&secret)),
            prefix: secret.chars().take(SHOWN_PREFIX).collect(),
            allowed_servers: servers,
            tier,
            expires_at,
            created_at: now,
            last_used_at: None,
            revoked: false,
        };
        let mut entries = crate::sync::write(&self.tokens.entries);
        let existing = entries.iter().position(|e| e.record.name == record.name);
        if let Some(i) = existing
            && entries.get(i).is_some_and(|e| live(&e.record, now))
        {
            return Err(TokenError::Exists(record.name).into());
        }
        if entries.iter().filter(|e| live(&e.record, now)).count() >= MAX_TOKENS {
            return Err(TokenError::TooMany.into());
        }
        self.storage.put_token(&record)?;
        let entry = Entry::new(record.clone());
        match existing {
            Some(i) => entries[i] = entry,
            None => entries.push(entry),
        }
        Ok(CreatedToken { record, secret })
    }

    /// Every token not revoked, newest first.
    pub fn tokens(&self) -> Vec<TokenRecord> {
        let mut all: Vec<TokenRecord> = crate::sync::read(&self.tokens.entries)
            .iter()
            .filter(|e| !e.record.revoked)
            .map(|e| e.record.clone())
            .collect();
        all.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.name.cmp(&b.name))
        });
        all
    }

    /// One token (not revoked).
    pub fn token(&self, name: &str) -> Result<TokenRecord, AppError> {
        crate::sync::read(&self.tokens.entries)
            .iter()
            .find(|e| e.record.name == name && !e.record.revoked)
            .map(|e| e.record.clone())
            .ok_or_else(|| TokenError::NotFound(name.to_string()).into())
    }

    /// Revoke a token: it is refused from now on and no longer listed. Its record stays
    /// (hash only) so that presenting it says "revoked", until the name is used again.
    pub fn revoke_token(&self, name: &str) -> Result<(), AppError> {
        let mut entries = crate::sync::write(&self.tokens.entries);
        let Some(entry) = entries
            .iter_mut()
            .find(|e| e.record.name == name && !e.record.revoked)
        else {
            return Err(TokenError::NotFound(name.to_string()).into());
        };
        let mut record = entry.record.clone();
        record.revoked = true;
        self.storage.put_token(&record)?;
        *entry = Entry::new(record);
        Ok(())
    }

    /// The grant of the token whose secret is `secret`, if it is live. Its `last_used_at`
    /// moves (and is written) at most once a minute, so presenting a token is a read.
    pub fn authenticate_token(&self, secret: &str) -> Result<Arc<Grant>, TokenRefusal> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Err(TokenRefusal::Unknown);
        }
        let computed = hash(secret);
        let now = Utc::now();
        let (grant, due) = {
            let entries = crate::sync::read(&self.tokens.entries);
            // Every stored hash is compared, so the time taken does not say which matched.
            let mut found = None;
            for e in entries.iter() {
                if hash_matches(&e.record.hash, &computed) {
                    found = Some(e);
                }
            }
            let Some(entry) = found else {
                return Err(TokenRefusal::Unknown);
            };
            if entry.record.revoked {
                return Err(TokenRefusal::Revoked(entry.record.name.clone()));
            }
            if entry.record.expires_at <= now {
                return Err(TokenRefusal::Expired(entry.record.name.clone()));
            }
            let due = entry
                .record
                .last_used_at
                .is_none_or(|t| now - t >= LAST_USED_EVERY);
            (entry.grant.clone(), due)
        };
        if due {
            self.note_use(&grant, now);
        }
        Ok(grant)
    }

    /// Record that the token behind `grant` was used at `now` (in memory and on disk).
    fn note_use(&self, grant: &Arc<Grant>, now: DateTime<Utc>) {
        let record = {
            let mut entries = crate::sync::write(&self.tokens.entries);
            let Some(entry) = entries.iter_mut().find(|e| Arc::ptr_eq(&e.grant, grant)) else {
                return;
            };
            entry.record.last_used_at = Some(now);
            entry.record.clone()
        };
        if let Err(e) = self.storage.put_token(&record) {
            slog::warn!(self.log, "cannot record token use"; "token" => &record.name, "error" => %e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_highest_permission_listed_is_the_tier() {
        assert_eq!(tier_of(&[]).ok(), Some(Tier::Read));
        assert_eq!(tier_of(&perms(&["read"])).ok(), Some(Tier::Read));
        assert_eq!(tier_of(&perms(&["write", "read"])).ok(), Some(Tier::Write));
        assert_eq!(
            tier_of(&perms(&["read", "write", "destructive"])).ok(),
            Some(Tier::Destructive)
        );
        assert_eq!(tier_of(&perms(&["write"])).ok(), Some(Tier::Write));
        assert_eq!(
            tier_of(&perms(&["destructive", "read"])).ok(),
            Some(Tier::Destructive)
        );
        assert!(tier_of(&perms(&["admin"])).is_err());
        assert_eq!(
            permissions_of(Tier::Write),
            vec![Tier::Read, Tier::Write],
            "the list shows every tier up to the token's"
        );
    }

    #[test]
    fn lifetimes() {
        assert_eq!(lifetime(None).ok(), Some(DEFAULT_LIFETIME));
        assert_eq!(lifetime(Some("2d")).ok(), Some(chrono::TimeDelta::days(2)));
        assert_eq!(
            lifetime(Some("90m")).ok(),
            Some(chrono::TimeDelta::minutes(90))
        );
        for bad in ["0d", "366d", "-1d", "xd", "5", "0", "9000h"] {
            assert!(lifetime(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(valid_name("ci-agent_1"));
        assert!(!valid_name(""));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name(&"a".repeat(65)));
    }

    #[test]
    fn hashes_compare_exactly() {
        let h = hash("mcp_agt_00");
        assert!(hash_matches(&hex::encode(h), &h));
        assert!(!hash_matches(&hex::encode(hash("mcp_agt_01")), &h));
        assert!(!hash_matches("zz", &h));
    }

    #[test]
    fn a_grant_reaches_its_servers_up_to_its_tier() {
        let record = TokenRecord {
            name: "t".into(),
            hash: String::new(),
            prefix: String::new(),
            allowed_servers: vec!["a".into()],
            tier: Tier::Write,
            expires_at: Utc::now(),
            created_at: Utc::now(),
            last_used_at: None,
            revoked: false,
        };
        let grant = Grant::from_record(&record);
        assert!(grant.allows_server("a") && !grant.allows_server("b"));
        assert!(grant.allows(Tier::Read) && grant.allows(Tier::Write));
        assert!(!grant.allows(Tier::Destructive));
        let all = Grant::from_record(&TokenRecord {
            allowed_servers: vec![ALL_SERVERS.into()],
            ..record
        });
        assert!(all.allows_server("anything"));
    }
}
