//! Response truncation and the `read_cache` store.
//!
//! A tool response longer than `tool_response_limit` characters is cut, and the full
//! response is cached so an agent can page through it with `read_cache`. When the response
//! (or a JSON document inside one of its string fields, such as a text content item) holds
//! an array of records, paging is record-aware: `read_cache` returns whole records, so the
//! pages concatenated rebuild the array exactly. Entries live for two hours; the cache is
//! bounded in total bytes and evicts the oldest first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How long a cached response stays readable.
pub const CACHE_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// Total bytes the cache may hold.
const CACHE_BYTES: usize = 256 * 1024 * 1024;
/// How deep to look for a records array.
const MAX_DEPTH: usize = 6;

/// One cached response.
#[derive(Debug, Clone)]
struct Entry {
    records: Vec<Value>,
    record_path: Option<String>,
    total_size: usize,
    created: Instant,
    seq: u64,
}

/// The `read_cache` store.
#[derive(Debug, Default)]
pub struct ResponseCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    entries: HashMap<String, Entry>,
    order: BTreeMap<u64, String>,
    bytes: usize,
    next_seq: u64,
}

/// A `read_cache` failure, shown to the agent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CacheError {
    /// Unknown or expired key.
    #[error(
        "Failed to retrieve cached data: no entry for key {0} (it may have expired after 2 hours)"
    )]
    NotFound(String),
    /// Bad paging arguments.
    #[error("{0}")]
    BadArgument(&'static str),
}

/// The result of truncation.
#[derive(Debug, Clone, PartialEq)]
pub enum Truncated {
    /// Short enough; unchanged.
    Whole(String),
    /// Cut; the text carries the `read_cache` instructions when a key is given.
    Cut {
        /// The text to return to the agent.
        text: String,
        /// The cache key, when the full response was cached.
        key: Option<String>,
    },
}

impl ResponseCache {
    /// Truncate `text` (the JSON of a tool result) to `limit` chars, caching the full
    /// response for paging. `limit == 0` means never truncate.
    pub fn truncate(&self, tool: &str, text: String, limit: usize) -> Truncated {
        let total = text.chars().count();
        if limit == 0 || total <= limit {
            return Truncated::Whole(text);
        }
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let found = parsed.as_ref().and_then(|v| best_records(v, "", 0));
        let Some((record_path, records)) = found else {
            let cut: String = text
                .chars()
                .take(limit.saturating_sub(200).max(1))
                .collect();
            return Truncated::Cut {
                text: format!("{cut}\n\n... [truncated by mcpproxy, cache not available]"),
                key: None,
            };
        };
        let key = cache_key(tool);
        let count = records.len();
        self.insert(
            &key,
            Entry {
                records,
                record_path: Some(record_path),
                total_size: text.len(),
                created: Instant::now(),
                seq: 0,
            },
        );
        let head = cut_at_structure(&text, limit);
        let suffix = format!(
            "\n\n... [truncated by mcpproxy]\n\nResponse truncated (limit: {limit} chars, actual: {total} chars, records: {count})\nUse read_cache tool: key=\"{key}\", offset=0, limit=50\nReturns: {{\"records\": [...], \"meta\": {{\"total_records\": {count}, \"total_size\": {}}}}}",
            text.len()
        );
        Truncated::Cut {
            text: format!("{head}{suffix}"),
            key: Some(key),
        }
    }

    fn insert(&self, key: &str, mut entry: Entry) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let size: usize = entry.total_size;
        inner.next_seq += 1;
        entry.seq = inner.next_seq;
        if let Some(old) = inner.entries.remove(key) {
            inner.order.remove(&old.seq);
            inner.bytes = inner.bytes.saturating_sub(old.total_size);
        }
        inner.order.insert(entry.seq, key.to_string());
        inner.entries.insert(key.to_string(), entry);
        inner.bytes += size;
        // Evict expired and, over the budget, oldest entries.
        while inner.bytes > CACHE_BYTES
            || inner.order.first_key_value().is_some_and(|(_, k)| {
                inner
                    .entries
                    .get(k)
                    .is_some_and(|e| e.created.elapsed() > CACHE_TTL)
            })
        {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes = inner.bytes.saturating_sub(e.total_size);
            }
        }
    }

    /// A page of cached records: `{"records": [...], "meta": {...}}`.
    pub fn read(&self, key: &str, offset: i64, limit: i64) -> Result<Value, CacheError> {
        if offset < 0 {
            return Err(CacheError::BadArgument("Offset must be non-negative"));
        }
        if !(1..=1000).contains(&limit) {
            return Err(CacheError::BadArgument("Limit must be between 1 and 1000"));
        }
        let inner = self
            .inner
            .lock()
            .map_err(|_| CacheError::NotFound(key.to_string()))?;
        let entry = inner
            .entries
            .get(key)
            .filter(|e| e.created.elapsed() <= CACHE_TTL)
            .ok_or_else(|| CacheError::NotFound(key.to_string()))?;
        let (offset, limit) = (
            usize::try_from(offset).unwrap_or(usize::MAX),
            usize::try_from(limit).unwrap_or(50),
        );
        let page: Vec<Value> = entry
            .records
            .iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        Ok(json!({
            "records": page,
            "meta": {
                "key": key,
                "total_records": entry.records.len(),
                "limit": limit,
                "offset": offset,
                "total_size": entry.total_size,
                "record_path": entry.record_path,
            }
        }))
    }
}

fn cache_key(tool: &str) -> String {
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let salt: u64 = rand::random();
    hex::encode(Sha256::digest(format!("{tool}:{nanos}:{salt}").as_bytes()))
}

/// The largest array of records found within `MAX_DEPTH` levels, also inside string fields
/// that hold JSON (path suffix `(parsed)`).
fn best_records(value: &Value, path: &str, depth: usize) -> Option<(String, Vec<Value>)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut best: Option<(String, Vec<Value>)> = None;
    let mut consider = |candidate: Option<(String, Vec<Value>)>| {
        if let Some(c) = candidate
            && best.as_ref().is_none_or(|b| c.1.len() > b.1.len())
        {
            best = Some(c);
        }
    };
    match value {
        Value::Array(items) => {
            if items.len() > 1 {
                consider(Some((
                    if path.is_empty() {
                        "$".into()
                    } else {
                        path.to_string()
                    },
                    items.clone(),
                )));
            }
            for (i, item) in items.iter().enumerate() {
                consider(best_records(item, &format!("{path}[{i}]"), depth + 1));
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                consider(best_records(v, &format!("{path}.{k}"), depth + 1));
            }
        }
        Value::String(s) if s.starts_with(['{', '[']) => {
            if let Ok(inner) = serde_json::from_str::<Value>(s) {
                consider(best_records(&inner, &format!("{path}(parsed)"), depth + 1));
            }
        }
        _ => {}
    }
    best
}

/// Cut at the last `}` or `]` past half of the limit, so the head ends on a structure.
fn cut_at_structure(text: &str, limit: usize) -> &str {
    let end = text
        .char_indices()
        .nth(limit)
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    let head = &text[..end];
    match head.rfind(['}', ']']) {
        Some(i) if i >= end / 2 => &head[..=i],
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big_result(n: usize) -> String {
        let items: Vec<Value> = (0..n)
            .map(|i| json!({"id": i, "name": format!("item-{i}")}))
            .collect();
        let inner = json!({ "items": items }).to_string();
        json!({ "content": [{ "type": "text", "text": inner }] }).to_string()
    }

    #[test]
    fn short_responses_pass_unchanged() {
        let cache = ResponseCache::default();
        assert_eq!(
            cache.truncate("t", "hello".into(), 100),
            Truncated::Whole("hello".into())
        );
        assert_eq!(
            cache.truncate("t", "x".repeat(500), 0),
            Truncated::Whole("x".repeat(500))
        );
    }

    #[test]
    fn paging_rebuilds_the_full_array() {
        let cache = ResponseCache::default();
        let text = big_result(1234);
        let Truncated::Cut {
            text: cut,
            key: Some(key),
        } = cache.truncate("srv:big", text.clone(), 2000)
        else {
            panic!("expected a cached cut");
        };
        assert!(cut.len() < 2600 && cut.contains("read_cache") && cut.contains(&key));
        let mut rebuilt = Vec::new();
        let mut offset = 0;
        loop {
            let page = cache.read(&key, offset, 100).expect("page");
            let records = page["records"].as_array().expect("records").clone();
            assert_eq!(page["meta"]["total_records"], 1234);
            assert_eq!(
                page["meta"]["record_path"],
                ".content[0].text(parsed).items"
            );
            if records.is_empty() {
                break;
            }
            offset += records.len() as i64;
            rebuilt.extend(records);
        }
        let original: Value = serde_json::from_str(&text).expect("json");
        let inner: Value =
            serde_json::from_str(original["content"][0]["text"].as_str().expect("text"))
                .expect("inner");
        assert_eq!(Value::Array(rebuilt), inner["items"]);
    }

    #[test]
    fn non_json_is_cut_without_cache() {
        let cache = ResponseCache::default();
        let Truncated::Cut { text, key } = cache.truncate("t", "y".repeat(5000), 1000) else {
            panic!("cut")
        };
        assert!(key.is_none());
        assert!(text.starts_with(&"y".repeat(800)) && text.ends_with("cache not available]"));
    }

    #[test]
    fn read_cache_validates_arguments() {
        let cache = ResponseCache::default();
        assert_eq!(
            cache.read("k", -1, 10),
            Err(CacheError::BadArgument("Offset must be non-negative"))
        );
        assert_eq!(
            cache.read("k", 0, 0),
            Err(CacheError::BadArgument("Limit must be between 1 and 1000"))
        );
        assert!(matches!(
            cache.read("nope", 0, 10),
            Err(CacheError::NotFound(_))
        ));
    }
}
