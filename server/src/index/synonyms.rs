//! Query expansion with general-purpose synonyms.
//!
//! Agents phrase requests with different verbs and nouns than tool authors
//! ("remove" vs `delete`, "folder" vs `directory`, "fetch" vs `get`). Each
//! query term also searches the other members of its groups, at a reduced
//! weight so a literal match still wins. Groups are stemmed once, lazily.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::tokenize::{Mode, tokenize};

/// Words treated as interchangeable in queries. A word may sit in several
/// groups; only single words (no phrases) are supported.
const GROUPS: &[&[&str]] = &[
    &["create", "make", "new", "add", "open"],
    &["delete", "remove", "erase", "destroy", "drop", "discard"],
    &["list", "show", "enumerate", "browse"],
    &[
        "get", "fetch", "retrieve", "read", "obtain", "show", "view", "lookup",
    ],
    &["find", "search", "query", "lookup", "locate", "filter"],
    &[
        "update", "modify", "edit", "change", "patch", "set", "alter",
    ],
    &["send", "post", "publish", "notify", "write"],
    &["run", "execute", "invoke", "trigger", "start", "launch"],
    &["stop", "cancel", "terminate", "kill", "abort", "end"],
    &["copy", "duplicate", "clone"],
    &["move", "rename", "relocate", "transfer"],
    &["upload", "put", "store", "save", "write"],
    &["download", "fetch", "get", "pull"],
    &["directory", "folder", "dir"],
    &["file", "document", "doc"],
    &["repository", "repo", "project"],
    &["issue", "ticket", "bug", "task"],
    &["message", "chat", "text", "dm"],
    &["channel", "room", "conversation"],
    &["user", "person", "member", "people", "account", "profile"],
    &["comment", "reply", "note", "respond"],
    &["image", "picture", "photo", "png"],
    &["screenshot", "capture", "snapshot"],
    &["link", "url", "uri", "address"],
    &["navigate", "visit", "go", "open", "browse"],
    &["click", "press", "tap"],
    &["type", "enter", "fill", "input"],
    &["time", "clock", "date", "timezone"],
    &["convert", "translate", "transform"],
    &["weather", "forecast", "temperature"],
    &["alert", "warning", "notification"],
    &["database", "db", "sql", "table"],
    &["log", "logs", "logging"],
    &["environment", "env", "variable"],
    &["compress", "gzip", "zip", "archive"],
    &["echo", "repeat", "mirror"],
    &["sum", "add", "total", "plus", "addition"],
    &["customer", "client", "buyer"],
    &["invoice", "bill", "billing"],
    &["refund", "reimburse", "return"],
    &["payment", "charge", "pay"],
    &["subscription", "plan", "recurring"],
    &["container", "pod"],
    &["deploy", "deployment", "rollout", "release"],
    &["merge", "combine"],
    &["diff", "changes", "compare"],
    &["page", "doc", "note"],
    &["graph", "knowledge", "memory"],
    &["entity", "node"],
    &["relation", "edge", "relationship"],
];

/// Related stems of `term` (a stemmed query term), excluding `term` itself.
pub(crate) fn related(term: &str) -> &'static [String] {
    table().get(term).map_or(&[], Vec::as_slice)
}

fn table() -> &'static HashMap<String, Vec<String>> {
    static TABLE: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(build)
}

fn build() -> HashMap<String, Vec<String>> {
    let mut table: HashMap<String, Vec<String>> = HashMap::new();
    for group in GROUPS {
        let stems: Vec<String> = group
            .iter()
            .flat_map(|word| tokenize(word, Mode::Identifier, 1))
            .collect();
        for stem in &stems {
            let entry = table.entry(stem.clone()).or_default();
            for other in &stems {
                if other != stem && !entry.contains(other) {
                    entry.push(other.clone());
                }
            }
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::related;

    #[test]
    fn expands_stemmed_terms_symmetrically() {
        assert!(related("remov").iter().any(|s| s == "delet"));
        assert!(related("delet").iter().any(|s| s == "remov"));
        assert!(related("folder").iter().any(|s| s == "directory"));
        assert!(!related("folder").iter().any(|s| s == "folder"));
        assert!(related("zzz-unknown").is_empty());
    }
}
