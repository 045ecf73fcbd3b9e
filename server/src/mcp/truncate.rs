//! Response truncation and the `read_cache` store.
//!
//! A tool's text longer than `tool_response_limit` characters is cut, and the full text is
//! cached so an agent can page through it with `read_cache`. When the text is (or holds, in
//! a string field) a JSON document with an array of records, paging is record-aware:
//! `read_cache` returns whole records, so the pages concatenated rebuild the array exactly.
//! Any other text is paged by characters: the pages concatenated rebuild the text. Entries
//! live for two hours; the cache is bounded in total bytes and evicts the oldest first.

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
/// Characters of the limit kept for the truncation notice (at most half the limit).
const NOTICE_RESERVE: usize = 400;
/// Records per `read_cache` page: the default and the most.
const RECORD_PAGE: (i64, i64) = (50, 1000);
/// The most characters one `read_cache` page of a text may hold.
const MAX_TEXT_PAGE: i64 = 1_000_000;

/// What a cached response holds.
#[derive(Debug, Clone)]
enum Body {
    /// The records of the largest array, found at `path`.
    Records { records: Vec<Value>, path: String },
    /// The whole text, paged by characters.
    Text(String),
}

/// One cached response.
#[derive(Debug, Clone)]
struct Entry {
    body: Body,
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

/// How an over-long text was cut: its first `kept` characters are shown, followed by
/// `notice`, which tells the agent how to read the rest from the cache under `key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Characters of the text shown.
    pub kept: usize,
    /// The truncation notice to append.
    pub notice: String,
    /// The cache key of the full text.
    pub key: String,
}

impl Cut {
    /// The shown part of `text` with the notice.
    pub fn apply(&self, text: &str) -> String {
        format!("{}{}", head(text, self.kept), self.notice)
    }
}

impl ResponseCache {
    /// Cut `text` (a tool's text, or the JSON of a whole result) to about `limit`
    /// characters, caching it in full for paging; `None` when it fits. `limit == 0` means
    /// never truncate.
    pub fn truncate(&self, tool: &str, text: &str, limit: usize) -> Option<Cut> {
        let total = text.chars().count();
        if limit == 0 || total <= limit {
            return None;
        }
        let budget = limit - NOTICE_RESERVE.min(limit / 2);
        let key = cache_key(tool);
        let parsed: Option<Value> = serde_json::from_str(text).ok();
        let (body, kept, notice) = match parsed.as_ref().and_then(|v| best_records(v, "", 0)) {
            Some((path, records)) => {
                let count = records.len();
                let kept = cut_at_structure(text, budget).chars().count();
                let notice = format!(
                    "\n\n... [truncated by mcpproxy]\n\nResponse truncated (limit: {limit} chars, actual: {total} chars, records: {count})\nUse read_cache tool: key=\"{key}\", offset=0, limit=50\nReturns: {{\"records\": [...], \"meta\": {{\"total_records\": {count}, \"total_size\": {}}}}}",
                    text.len()
                );
                (Body::Records { records, path }, kept, notice)
            }
            None => {
                let notice = format!(
                    "\n\n... [truncated by mcpproxy]\n\nResponse truncated (limit: {limit} chars, actual: {total} chars, shown: the first {budget})\nUse read_cache tool: key=\"{key}\", offset={budget}, limit={limit} (offset and limit count characters)\nReturns: {{\"text\": \"...\", \"meta\": {{\"total_chars\": {total}, \"next_offset\": ...}}}}"
                );
                (Body::Text(text.to_string()), budget, notice)
            }
        };
        self.insert(
            &key,
            Entry {
                body,
                total_size: text.len(),
                created: Instant::now(),
                seq: 0,
            },
        );
        Some(Cut { kept, notice, key })
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

    /// A page of a cached response: `{"records": [...], "meta": {...}}` for records, or
    /// `{"text": "...", "meta": {...}}` for a text, where `offset` and `limit` count
    /// characters and `limit` defaults to `text_page`.
    pub fn read(
        &self,
        key: &str,
        offset: i64,
        limit: Option<i64>,
        text_page: usize,
    ) -> Result<Value, CacheError> {
        if offset < 0 {
            return Err(CacheError::BadArgument("Offset must be non-negative"));
        }
        if limit.is_some_and(|l| l < 1) {
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
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        match &entry.body {
            Body::Records { records, path } => {
                let limit = limit.unwrap_or(RECORD_PAGE.0);
                if limit > RECORD_PAGE.1 {
                    return Err(CacheError::BadArgument("Limit must be between 1 and 1000"));
                }
                let limit = usize::try_from(limit).unwrap_or(1);
                let page: Vec<Value> = records.iter().skip(offset).take(limit).cloned().collect();
                Ok(json!({
                    "records": page,
                    "meta": {
                        "key": key,
                        "total_records": records.len(),
                        "limit": limit,
                        "offset": offset,
                        "total_size": entry.total_size,
                        "record_path": path,
                    }
                }))
            }
            Body::Text(text) => {
                let limit = match limit {
                    Some(l) if l > MAX_TEXT_PAGE => {
                        return Err(CacheError::BadArgument(
                            "Limit must be between 1 and 1000000 characters for a text response",
                        ));
                    }
                    Some(l) => usize::try_from(l).unwrap_or(1),
                    None => text_page.max(1),
                };
                let page = head(skip_chars(text, offset), limit);
                let total = text.chars().count();
                let returned = page.chars().count();
                let next = offset.saturating_add(returned);
                Ok(json!({
                    "text": page,
                    "meta": {
                        "key": key,
                        "total_chars": total,
                        "limit": limit,
                        "offset": offset,
                        "returned_chars": returned,
                        "next_offset": (next < total).then_some(next),
                        "total_size": entry.total_size,
                    }
                }))
            }
        }
    }
}

/// The first `chars` characters of `text`.
pub fn head(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// `text` without its first `chars` characters.
fn skip_chars(text: &str, chars: usize) -> &str {
    &text[head(text, chars).len()..]
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
    let shown = head(text, limit);
    let end = shown.len();
    match shown.rfind(['}', ']']) {
        Some(i) if i >= end / 2 => &shown[..=i],
        _ => shown,
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
        assert_eq!(cache.truncate("t", "hello", 100), None);
        assert_eq!(cache.truncate("t", &"x".repeat(500), 0), None);
    }

    #[test]
    fn paging_rebuilds_the_full_array() {
        let cache = ResponseCache::default();
        let text = big_result(1234);
        let cut = cache
            .truncate("srv:big", &text, 2000)
            .expect("expected a cached cut");
        let shown = cut.apply(&text);
        assert!(shown.len() < 2600 && shown.contains("read_cache") && shown.contains(&cut.key));
        let mut rebuilt = Vec::new();
        let mut offset = 0;
        loop {
            let page = cache.read(&cut.key, offset, Some(100), 2000).expect("page");
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

    /// Plain text used to be cut with "cache not available"; it is now cached and paged by
    /// characters (multi-byte characters included), the notice saying where to go on.
    #[test]
    fn plain_text_is_cached_and_paged_by_characters() {
        let cache = ResponseCache::default();
        let text: String = (0..3000).map(|i| format!("line é{i}\n")).collect();
        let total = text.chars().count();
        let cut = cache.truncate("t", &text, 1000).expect("cut");
        assert_eq!(cut.kept, 600, "the notice's reserve comes off the limit");
        let shown = cut.apply(&text);
        assert!(shown.starts_with(head(&text, 600)), "{shown}");
        assert!(
            shown.contains(&format!("key=\"{}\", offset=600, limit=1000", cut.key)),
            "{shown}"
        );
        assert!(!shown.contains("cache not available"));
        let mut rebuilt = head(&text, cut.kept).to_string();
        let mut offset = Some(cut.kept as i64);
        while let Some(at) = offset {
            let page = cache.read(&cut.key, at, None, 1000).expect("page");
            let part = page["text"].as_str().expect("text");
            assert!(part.chars().count() <= 1000);
            assert_eq!(page["meta"]["total_chars"], total);
            rebuilt.push_str(part);
            offset = page["meta"]["next_offset"].as_i64();
        }
        assert_eq!(rebuilt, text);
        let past = cache
            .read(&cut.key, total as i64 + 5, Some(10), 1000)
            .expect("past");
        assert_eq!(past["text"], "");
        assert_eq!(past["meta"]["next_offset"], Value::Null);
    }

    #[test]
    fn read_cache_validates_arguments() {
        let cache = ResponseCache::default();
        assert_eq!(
            cache.read("k", -1, Some(10), 100),
            Err(CacheError::BadArgument("Offset must be non-negative"))
        );
        assert_eq!(
            cache.read("k", 0, Some(0), 100),
            Err(CacheError::BadArgument("Limit must be between 1 and 1000"))
        );
        assert!(matches!(
            cache.read("nope", 0, Some(10), 100),
            Err(CacheError::NotFound(_))
        ));
        let text = "y".repeat(5000);
        let cut = cache.truncate("t", &text, 1000).expect("cut");
        assert!(matches!(
            cache.read(&cut.key, 0, Some(MAX_TEXT_PAGE + 1), 100),
            Err(CacheError::BadArgument(_))
        ));
        let records = cache.truncate("t", &big_result(500), 1000).expect("cut");
        assert_eq!(
            cache.read(&records.key, 0, Some(1001), 100),
            Err(CacheError::BadArgument("Limit must be between 1 and 1000"))
        );
    }
}
