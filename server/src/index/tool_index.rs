//! [`ToolIndex`]: the public search index over every upstream tool.
//!
//! Tools live in a slot table addressed by [`DocId`]; a per-server map gives
//! each server's tools by name, and a lowercase-name map serves the
//! exact-match bonus. Replacing or removing a server touches only that
//! server's tools: their postings are removed and re-added, and the global
//! statistics are adjusted incrementally.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::bm25::{EXACT_MATCH_BONUS, idf, pseudo_tf, term_score};
use super::fields::{FIELD_NAMES, FieldTokens, NAME, field_tokens};
use super::postings::{DocId, InvertedIndex};
use super::query::query_terms;
use super::types::{SearchHit, ToolDoc};

/// `tools` with `server` set and, for repeated names, only the last kept,
/// in input order.
fn last_of_each_name(server: &str, tools: Vec<ToolDoc>) -> Vec<ToolDoc> {
    let mut last: HashMap<String, usize> = HashMap::with_capacity(tools.len());
    for (i, doc) in tools.iter().enumerate() {
        last.insert(doc.name.clone(), i);
    }
    tools
        .into_iter()
        .enumerate()
        .filter(|(i, doc)| last.get(&doc.name) == Some(i))
        .map(|(_, mut doc)| {
            doc.server = server.to_string();
            doc
        })
        .collect()
}

/// One indexed tool and the distinct terms needed to un-index it.
#[derive(Debug)]
struct Slot {
    doc: ToolDoc,
    terms: Vec<Box<str>>,
}

/// BM25F search index over the tools of all upstream servers.
#[derive(Debug, Default)]
pub struct ToolIndex {
    slots: Vec<Option<Slot>>,
    free: Vec<DocId>,
    by_server: HashMap<String, HashMap<String, DocId>>,
    by_lower_name: HashMap<String, Vec<DocId>>,
    inverted: InvertedIndex,
}

impl ToolIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `tools` the complete tool list of `server`, replacing whatever
    /// it had; other servers are untouched. Each tool's `server` field is
    /// overwritten with `server`; when names repeat, the last one wins. An
    /// empty list removes the server.
    pub fn replace_server(&mut self, server: &str, tools: Vec<ToolDoc>) {
        self.remove_server(server);
        let docs = last_of_each_name(server, tools);
        if docs.is_empty() {
            return;
        }
        let batch: Vec<(DocId, FieldTokens)> = docs
            .iter()
            .map(|doc| (self.allocate_id(), field_tokens(doc)))
            .collect();
        let terms = self.inverted.insert_batch(&batch);
        let mut names = HashMap::with_capacity(docs.len());
        for ((doc, (id, _)), terms) in docs.into_iter().zip(batch).zip(terms) {
            self.by_lower_name
                .entry(doc.name.to_lowercase())
                .or_default()
                .push(id);
            names.insert(doc.name.clone(), id);
            if let Some(slot) = self.slots.get_mut(id as usize) {
                *slot = Some(Slot { doc, terms });
            }
        }
        self.by_server.insert(server.to_string(), names);
    }

    /// Drops every tool of `server`; a no-op for an unknown server.
    pub fn remove_server(&mut self, server: &str) {
        let Some(names) = self.by_server.remove(server) else {
            return;
        };
        let removed: Vec<(DocId, Slot)> = names
            .into_values()
            .filter_map(|id| Some((id, self.slots.get_mut(id as usize)?.take()?)))
            .collect();
        let batch: Vec<(DocId, &[Box<str>])> = removed
            .iter()
            .map(|(id, slot)| (*id, slot.terms.as_slice()))
            .collect();
        self.inverted.remove_batch(&batch);
        for (id, slot) in &removed {
            let key = slot.doc.name.to_lowercase();
            if let Some(ids) = self.by_lower_name.get_mut(&key) {
                ids.retain(|other| other != id);
                if ids.is_empty() {
                    self.by_lower_name.remove(&key);
                }
            }
            self.free.push(*id);
        }
    }

    /// The `limit` best tools for `query`, best first; ties are broken by
    /// (server, name). Blank queries and queries matching nothing give an
    /// empty list.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        if limit == 0 || query.trim().is_empty() {
            return Vec::new();
        }
        let mut scores = vec![0.0f64; self.slots.len()];
        // Per tool, one bit per field a query term was found in.
        let mut matched = vec![0u8; self.slots.len()];
        let mut touched: Vec<DocId> = Vec::new();
        let stats = self.inverted.stats();
        for term in query_terms(query) {
            let postings = self.inverted.postings(&term.term);
            if postings.is_empty() {
                continue;
            }
            let weight = term.weight * idf(stats.doc_count, postings.len());
            for posting in postings {
                let Some(score) = scores.get_mut(posting.doc as usize) else {
                    continue;
                };
                if *score == 0.0 {
                    touched.push(posting.doc);
                }
                let tf = pseudo_tf(&posting.tf, &self.inverted.lens(posting.doc), &stats);
                *score += term_score(weight, tf);
                if let Some(bits) = matched.get_mut(posting.doc as usize) {
                    for (f, count) in posting.tf.iter().enumerate() {
                        if *count > 0 {
                            *bits |= 1 << f;
                        }
                    }
                }
            }
        }
        for id in self.exact_matches(query) {
            if let Some(score) = scores.get_mut(id as usize) {
                if *score == 0.0 {
                    touched.push(id);
                }
                *score += EXACT_MATCH_BONUS;
            }
            if let Some(bits) = matched.get_mut(id as usize) {
                *bits |= 1 << NAME;
            }
        }
        self.top_hits(&scores, &matched, touched, limit)
    }

    /// Number of indexed tools across all servers.
    pub fn len(&self) -> usize {
        self.slots.len().saturating_sub(self.free.len())
    }

    /// Whether no tool is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of indexed tools of `server`.
    pub fn server_tool_count(&self, server: &str) -> usize {
        self.by_server.get(server).map_or(0, HashMap::len)
    }

    /// The indexed tool `name` of `server`.
    pub fn get(&self, server: &str, name: &str) -> Option<&ToolDoc> {
        let id = *self.by_server.get(server)?.get(name)?;
        self.slot(id).map(|slot| &slot.doc)
    }

    fn slot(&self, id: DocId) -> Option<&Slot> {
        self.slots.get(id as usize)?.as_ref()
    }

    /// A free slot id; the slot itself stays `None` until filled.
    fn allocate_id(&mut self) -> DocId {
        self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            DocId::try_from(self.slots.len() - 1).unwrap_or(DocId::MAX)
        })
    }

    /// Tools whose name, or `server:name`, equals the whole query
    /// (trimmed, case-insensitive).
    fn exact_matches(&self, query: &str) -> Vec<DocId> {
        let query = query.trim().to_lowercase();
        let mut ids = self.by_lower_name.get(&query).cloned().unwrap_or_default();
        if let Some((server, name)) = query.split_once(':') {
            let in_server = self.by_lower_name.get(name).into_iter().flatten().copied();
            ids.extend(in_server.filter(|&id| {
                self.slot(id)
                    .is_some_and(|slot| slot.doc.server.to_lowercase() == server)
            }));
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Ranks the touched tools and keeps the best `limit`.
    fn top_hits(
        &self,
        scores: &[f64],
        matched: &[u8],
        mut touched: Vec<DocId>,
        limit: usize,
    ) -> Vec<SearchHit> {
        touched.sort_unstable();
        touched.dedup();
        let mut ranked: Vec<(f64, &ToolDoc, u8)> = touched
            .into_iter()
            .filter_map(|id| {
                let score = *scores.get(id as usize)?;
                let bits = matched.get(id as usize).copied().unwrap_or(0);
                Some((score, &self.slot(id)?.doc, bits))
            })
            .filter(|(score, _, _)| *score > 0.0)
            .collect();
        let order = |a: &(f64, &ToolDoc, u8), b: &(f64, &ToolDoc, u8)| -> Ordering {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.server.cmp(&b.1.server))
                .then_with(|| a.1.name.cmp(&b.1.name))
        };
        if ranked.len() > limit {
            ranked.select_nth_unstable_by(limit.saturating_sub(1), order);
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(order);
        ranked
            .into_iter()
            .map(|(score, doc, bits)| SearchHit {
                server: doc.server.clone(),
                name: doc.name.clone(),
                score,
                matched_fields: FIELD_NAMES
                    .iter()
                    .enumerate()
                    .filter(|(f, _)| bits & (1 << f) != 0)
                    .map(|(_, name)| *name)
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::ToolIndex;
    use crate::index::types::ToolDoc;

    fn tool(name: &str, description: &str) -> ToolDoc {
        ToolDoc {
            server: String::new(),
            name: name.into(),
            description: description.into(),
            input_schema: json!({"type": "object", "properties": {}}),
        }
    }

    fn sample() -> ToolIndex {
        let mut index = ToolIndex::new();
        index.replace_server(
            "github",
            vec![
                tool("create_issue", "Create a new issue in a GitHub repository"),
                tool("list_issues", "List issues in a GitHub repository"),
                tool(
                    "get_file_contents",
                    "Get the contents of a file or directory",
                ),
            ],
        );
        index.replace_server(
            "slack",
            vec![
                tool(
                    "slack_post_message",
                    "Post a new message to a Slack channel",
                ),
                tool(
                    "slack_list_channels",
                    "List public channels in the workspace",
                ),
            ],
        );
        index.replace_server(
            "filesystem",
            vec![tool(
                "list_directory",
                "Get a detailed listing of all files and directories in a path",
            )],
        );
        index
    }

    fn top(index: &ToolIndex, query: &str) -> Option<String> {
        let hit = index.search(query, 5).into_iter().next()?;
        Some(format!("{}:{}", hit.server, hit.name))
    }

    #[test]
    fn a_hit_says_which_fields_matched() {
        let mut index = sample();
        let mut with_param = tool("send", "Send something");
        with_param.input_schema = json!({"properties": {"recipient": {"type": "string"}}});
        index.replace_server("mail", vec![with_param]);
        let hits = index.search("slack channel", 5);
        let post = hits
            .iter()
            .find(|h| h.name == "slack_post_message")
            .expect("a hit");
        assert_eq!(post.matched_fields, ["name", "server", "description"]);
        let recipient = index.search("recipient", 5);
        assert_eq!(recipient[0].matched_fields, ["parameters"]);
        let exact = index.search("list_directory", 5);
        assert!(exact[0].matched_fields.contains(&"name"), "{exact:?}");
    }

    #[test]
    fn ranks_the_obvious_tool_first() {
        let index = sample();
        assert_eq!(
            top(&index, "create a new github issue").as_deref(),
            Some("github:create_issue")
        );
        assert_eq!(
            top(&index, "send a message to a slack channel").as_deref(),
            Some("slack:slack_post_message")
        );
        assert_eq!(
            top(&index, "list files in a directory").as_deref(),
            Some("filesystem:list_directory")
        );
        assert_eq!(
            top(&index, "listing issues").as_deref(),
            Some("github:list_issues")
        );
    }

    #[test]
    fn exact_name_and_server_name_queries_win() {
        let index = sample();
        assert_eq!(
            top(&index, "list_issues").as_deref(),
            Some("github:list_issues")
        );
        assert_eq!(
            top(&index, "SLACK:slack_list_channels").as_deref(),
            Some("slack:slack_list_channels")
        );
    }

    #[test]
    fn results_are_sorted_limited_and_deterministic() {
        let index = sample();
        let hits = index.search("list", 2);
        assert_eq!(hits.len(), 2);
        assert!(hits[0].score >= hits[1].score);
        assert_eq!(hits, index.search("list", 2));
        let mut twins = ToolIndex::new();
        for server in ["b", "a", "c"] {
            twins.replace_server(server, vec![tool("same", "identical")]);
        }
        let order: Vec<String> = twins
            .search("identical", 10)
            .into_iter()
            .map(|h| h.server)
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn blank_or_unmatched_queries_are_empty() {
        let index = sample();
        assert!(index.search("", 5).is_empty());
        assert!(index.search("   ", 5).is_empty());
        assert!(index.search("zebra quantum", 5).is_empty());
        assert!(index.search("issue", 0).is_empty());
        assert!(ToolIndex::new().search("issue", 5).is_empty());
    }

    #[test]
    fn replace_and_remove_are_incremental() {
        let mut index = sample();
        assert_eq!(index.len(), 6);
        assert_eq!(index.server_tool_count("github"), 3);

        index.replace_server(
            "github",
            vec![tool("search_code", "Search code across repositories")],
        );
        assert_eq!(index.len(), 4);
        assert_eq!(index.server_tool_count("github"), 1);
        assert!(index.get("github", "create_issue").is_none());
        assert!(
            index
                .search("create issue", 5)
                .iter()
                .all(|h| h.server != "github")
        );
        assert_eq!(
            top(&index, "search code").as_deref(),
            Some("github:search_code")
        );

        index.remove_server("slack");
        index.remove_server("unknown");
        assert_eq!(index.len(), 2);
        assert!(index.search("slack channel", 5).is_empty());

        index.replace_server("filesystem", Vec::new());
        index.remove_server("github");
        assert!(index.is_empty());
        assert_eq!(index.server_tool_count("filesystem"), 0);
    }

    #[test]
    fn incremental_updates_match_a_fresh_build() {
        let mut churned = sample();
        churned.replace_server(
            "slack",
            vec![tool("slack_get_users", "List workspace users")],
        );
        churned.replace_server(
            "slack",
            vec![
                tool(
                    "slack_post_message",
                    "Post a new message to a Slack channel",
                ),
                tool(
                    "slack_list_channels",
                    "List public channels in the workspace",
                ),
            ],
        );
        let fresh = sample();
        for query in ["list", "message channel", "github issue", "directory files"] {
            assert_eq!(
                churned.search(query, 10),
                fresh.search(query, 10),
                "{query}"
            );
        }
    }

    #[test]
    fn duplicate_names_keep_the_last_and_server_is_overwritten() {
        let mut index = ToolIndex::new();
        let mut first = tool("dup", "first version");
        first.server = "elsewhere".into();
        index.replace_server("s", vec![first, tool("dup", "second version")]);
        assert_eq!(index.len(), 1);
        let doc = index
            .get("s", "dup")
            .map(|d| (d.server.as_str(), d.description.as_str()));
        assert_eq!(doc, Some(("s", "second version")));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        let mut index = ToolIndex::new();
        let huge = "lorem ipsum dolor sit amet ".repeat(40_000);
        let emoji = "🔥🚀✨ ".repeat(10_000);
        index.replace_server(
            "weird 🚀",
            vec![
                tool("", ""),
                tool(&huge, &huge),
                tool("🔥", &emoji),
                ToolDoc { input_schema: json!({"properties": {"x": {"properties": {"y": {"properties": {}}}}}}), ..tool("deep", "") },
                ToolDoc { input_schema: json!([null, {"properties": 1}]), ..tool("array-schema", "") },
            ],
        );
        assert_eq!(index.len(), 5);
        for query in [
            "",
            "🔥",
            &huge,
            &emoji,
            "lorem",
            "weird 🚀:🔥",
            ":",
            "\0\u{0}",
            "ÀÉÎ",
        ] {
            let _ = index.search(query, 10);
        }
        assert!(!index.search("lorem ipsum", 3).is_empty());
        assert_eq!(
            index.search("🔥", 3).first().map(|h| h.name.as_str()),
            Some("🔥")
        );
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ToolIndex>();
    }
}
