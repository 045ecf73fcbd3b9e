//! The live tool catalogue as one type: the search index, the offered tools by server and
//! bare name, and the tools held back (changed since approval, or blocked by the
//! tool-poisoning scanner). Each part has its own lock, and only [`Catalog`]'s methods take
//! them — one at a time, never one inside another — so no caller takes them in an order of
//! its own. What a server offers is decided by the indexer (`indexer.rs`); this type keeps
//! it and answers from it.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use rmcp::model::Tool;

use crate::index::{SearchHit, ToolDoc, ToolIndex};
use crate::security::ScanContext;
use crate::tokens::Catalogue;

/// See the module docs.
#[derive(Default)]
pub(super) struct Catalog {
    /// The search index over every offered tool.
    index: RwLock<ToolIndex>,
    /// Offered tools by server, then by bare name.
    offered: RwLock<HashMap<String, Catalogue>>,
    /// Tools hidden because they changed since approval, by server.
    blocked: RwLock<HashMap<String, BTreeSet<String>>>,
}

/// How a server offers a tool right now (see [`Catalog::offer`]).
pub(super) enum Offer<R> {
    /// The server offers no tools at all (not catalogued, or not up).
    NoCatalogue,
    /// The server offers tools, not this one.
    NotOffered,
    /// Offered; what the look at it found.
    Offered(R),
}

impl Catalog {
    /// Hold back `changed` tools of `server` (empty: none any more); the set held before.
    pub(super) fn hold(
        &self,
        server: &str,
        changed: &BTreeSet<String>,
    ) -> Option<BTreeSet<String>> {
        match self.blocked.write() {
            Ok(mut blocked) => {
                if changed.is_empty() {
                    blocked.remove(server)
                } else {
                    blocked.insert(server.to_string(), changed.clone())
                }
            }
            Err(_) => None,
        }
    }

    /// Every server with tools held back, sorted.
    pub(super) fn blocked_tools(&self) -> Vec<(String, Vec<String>)> {
        let Ok(blocked) = self.blocked.read() else {
            return Vec::new();
        };
        let mut out: Vec<(String, Vec<String>)> = blocked
            .iter()
            .map(|(server, tools)| (server.clone(), tools.iter().cloned().collect()))
            .collect();
        out.sort();
        out
    }

    /// Whether a tool is held back.
    pub(super) fn is_blocked(&self, server: &str, tool: &str) -> bool {
        self.blocked
            .read()
            .is_ok_and(|b| b.get(server).is_some_and(|t| t.contains(tool)))
    }

    /// Make `offered` what `server` offers (`None`: nothing) and `docs` its indexed tools;
    /// the server's indexed tool count before and the index's total after, or `None` when
    /// the index is unusable.
    pub(super) fn replace(
        &self,
        server: &str,
        offered: Option<Catalogue>,
        docs: Vec<ToolDoc>,
    ) -> Option<(usize, usize)> {
        if let Ok(mut catalog) = self.offered.write() {
            match offered {
                None => {
                    catalog.remove(server);
                }
                Some(map) => {
                    catalog.insert(server.to_string(), map);
                }
            }
        }
        let Ok(mut index) = self.index.write() else {
            return None;
        };
        let before = index.server_tool_count(server);
        if docs.is_empty() {
            index.remove_server(server);
        } else {
            index.replace_server(server, docs);
        }
        Some((before, index.len()))
    }

    /// A tool offered right now, by server and bare name.
    pub(super) fn offered_tool(&self, server: &str, tool: &str) -> Option<Tool> {
        match self.offer(server, tool, Tool::clone) {
            Offer::Offered(found) => Some(found),
            Offer::NoCatalogue | Offer::NotOffered => None,
        }
    }

    /// How `server` offers `tool` right now, looked at through `look` (one read of the
    /// catalogue, no copy of the tool).
    pub(super) fn offer<R>(
        &self,
        server: &str,
        tool: &str,
        look: impl FnOnce(&Tool) -> R,
    ) -> Offer<R> {
        let Ok(catalog) = self.offered.read() else {
            return Offer::NoCatalogue;
        };
        match catalog.get(server) {
            None => Offer::NoCatalogue,
            Some(tools) => tools
                .get(tool)
                .map_or(Offer::NotOffered, |t| Offer::Offered(look(t))),
        }
    }

    /// Whether `server` currently offers any tools.
    pub(super) fn offers_tools(&self, server: &str) -> bool {
        self.offered.read().is_ok_and(|c| c.contains_key(server))
    }

    /// The tools `server` offers right now, by name.
    pub(super) fn offered_tools(&self, server: &str) -> Vec<Tool> {
        let Ok(catalog) = self.offered.read() else {
            return Vec::new();
        };
        let mut tools: Vec<Tool> = catalog
            .get(server)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools
    }

    /// Every server's offered tools.
    pub(super) fn catalogues(&self) -> Vec<(String, Catalogue)> {
        match self.offered.read() {
            Ok(c) => c.iter().map(|(s, t)| (s.clone(), t.clone())).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// What the scanner knows besides a tool of `server`: the other servers' offered tools.
    pub(super) fn scan_context(&self, server: &str) -> ScanContext {
        let Ok(catalog) = self.offered.read() else {
            return ScanContext::default();
        };
        ScanContext::with_other_tools(
            catalog
                .iter()
                .filter(|(name, _)| name.as_str() != server)
                .flat_map(|(_, tools)| tools.keys()),
        )
    }

    /// Run `f` with read access to the index.
    pub(super) fn with_index<T>(&self, f: impl FnOnce(&ToolIndex) -> T) -> T {
        f(&crate::sync::read(&self.index))
    }

    /// Up to `limit` offered tools, by server then name (a listing without a query).
    pub(super) fn all_tools(&self, limit: usize) -> Vec<(SearchHit, Tool)> {
        let Ok(catalog) = self.offered.read() else {
            return Vec::new();
        };
        let mut servers: Vec<&String> = catalog.keys().collect();
        servers.sort();
        let mut out = Vec::new();
        for server in servers {
            let mut tools: Vec<&Tool> = catalog
                .get(server)
                .map(|m| m.values().collect())
                .unwrap_or_default();
            tools.sort_by(|a, b| a.name.cmp(&b.name));
            for tool in tools {
                if out.len() >= limit {
                    return out;
                }
                let hit = SearchHit {
                    server: server.clone(),
                    name: tool.name.to_string(),
                    score: 0.0,
                    matched_fields: Vec::new(),
                };
                out.push((hit, tool.clone()));
            }
        }
        out
    }
}
