//! Keeps the live tool catalogue ([`super::catalog::Catalog`]: the search index plus a
//! by-name map of every offered tool) in step with the upstreams. Every `servers.changed`
//! event re-catalogues the server it names (ready and approved → its tools; anything else →
//! none) and announces the result as `tools.indexed`. A subscriber that falls behind
//! re-catalogues everything.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::App;
use crate::events::{Event, ServerChange};
use crate::index::ToolDoc;
use crate::security::{PinVerdict, PinnedTool};
use crate::upstream::ConnectionState;

/// Run the index maintainer until the bus closes.
pub(super) fn spawn(app: Arc<App>) {
    let mut events = app.bus.subscribe_changes();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Event::ServersChanged(change) = &event.event {
                        match change.server() {
                            Some(server) => app.reindex(server),
                            None => app.reindex_all(),
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    slog::warn!(app.log, "index maintainer fell behind; re-indexing everything"; "missed" => missed);
                    app.reindex_all();
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

impl App {
    /// The tools of `server` that agents may see right now: ready, approved server; tools
    /// pinned by hash, minus those that changed since approval (announced once as
    /// `tools.changed`).
    fn pinned_tools(&self, server: &str) -> Vec<rmcp::model::Tool> {
        let config = self.config();
        let approved = config
            .servers
            .iter()
            .any(|s| s.name == server && s.should_connect());
        let ready = self
            .upstreams
            .snapshot(server)
            .is_some_and(|s| s.state == ConnectionState::Ready);
        let tools = if approved && ready {
            self.upstreams.tools(server).unwrap_or_default()
        } else {
            Vec::new()
        };
        let changed: BTreeSet<String> = if tools.is_empty() {
            BTreeSet::new()
        } else {
            let pinned: Vec<PinnedTool> = tools.iter().map(PinnedTool::from).collect();
            match self.pinning.check(server, &pinned) {
                Ok(verdicts) => {
                    let changed: BTreeSet<String> = verdicts
                        .iter()
                        .filter(|v| v.is_changed())
                        .map(|v| v.tool().to_string())
                        .collect();
                    // The scanner sees every tool at discovery; a `block` finding holds a
                    // tool back as a change does, until a person approves it with a reason.
                    let previous = verdicts
                        .iter()
                        .filter_map(|v| match v {
                            PinVerdict::Changed { tool, approved, .. } => {
                                Some((tool.clone(), approved.description.clone()))
                            }
                            PinVerdict::Approved { .. } => None,
                        })
                        .collect();
                    let held = self.scan_discovered(server, &tools, &previous);
                    changed.into_iter().chain(held).collect()
                }
                Err(e) => {
                    // Fail closed: without the pins, nothing of this server is offered.
                    slog::error!(self.log, "tool pinning unavailable; hiding the server's tools"; "server" => server, "error" => %e);
                    return Vec::new();
                }
            }
        };
        let previous = self.catalog.hold(server, &changed);
        if !changed.is_empty() && previous.as_ref() != Some(&changed) {
            self.bus.publish(Event::ToolsChanged {
                server: server.to_string(),
                tools: changed.iter().cloned().collect(),
                reason: "description or schema changed since approval, or the tool-poisoning scanner found block-tier findings; blocked until a person approves",
            });
        }
        tools
            .into_iter()
            .filter(|t| !changed.contains(t.name.as_ref()))
            .collect()
    }

    /// Every server with tools blocked because they changed since approval, sorted.
    pub fn blocked_tools(&self) -> Vec<(String, Vec<String>)> {
        self.catalog.blocked_tools()
    }

    /// Whether a tool is hidden because it changed since approval.
    pub fn is_blocked(&self, server: &str, tool: &str) -> bool {
        self.catalog.is_blocked(server, tool)
    }

    /// Approve changed tools of a server (`None`: all of them, and every tool the scanner
    /// holds back) and offer them again. A tool with `block` findings needs `reason`, which
    /// is recorded as the override ([`super::AppError::ScanBlocked`] without it).
    pub fn approve_tools(
        &self,
        server: &str,
        tools: Option<&[String]>,
        reason: Option<&str>,
    ) -> Result<Vec<String>, super::AppError> {
        if !self.config().servers.iter().any(|s| s.name == server) {
            return Err(super::AppError::not_found(
                super::Resource::Server,
                server.to_string(),
            ));
        }
        let (held, reason) = self.held_among(server, tools, reason)?;
        let mut approved = self.pinning.approve(server, tools)?;
        if let Some(reason) = reason.filter(|_| !held.is_empty()) {
            self.override_held(server, &held, &reason);
            approved.extend(held);
            approved.sort();
            approved.dedup();
        }
        self.reindex(server);
        self.bus
            .publish(Event::ServersChanged(ServerChange::ToolsApproved {
                server: server.to_string(),
                tools: approved.clone(),
            }));
        Ok(approved)
    }

    /// Pinning records of a server's tools, by tool name.
    pub fn tool_approvals(
        &self,
        server: &str,
    ) -> std::collections::HashMap<String, crate::storage::ToolApproval> {
        self.pinning
            .statuses(server)
            .map(|list| list.into_iter().map(|a| (a.tool.clone(), a)).collect())
            .unwrap_or_default()
    }

    /// A tool agents may call right now, by server and bare name.
    pub fn offered_tool(&self, server: &str, tool: &str) -> Option<rmcp::model::Tool> {
        self.catalog.offered_tool(server, tool)
    }

    /// Whether `server` currently offers any tools.
    pub fn offers_tools(&self, server: &str) -> bool {
        self.catalog.offers_tools(server)
    }

    /// Re-index one server and announce it.
    pub(crate) fn reindex(&self, server: &str) {
        let live = self.pinned_tools(server);
        let tools: Vec<ToolDoc> = live.iter().map(doc).collect();
        let offered = (!live.is_empty()).then(|| {
            let map: crate::tokens::Catalogue =
                Arc::new(live.into_iter().map(|t| (t.name.to_string(), t)).collect());
            self.meter.precount(server, Arc::clone(&map));
            map
        });
        let count = tools.len();
        let Some((before, total)) = self.catalog.replace(server, offered, tools) else {
            return;
        };
        if before != 0 || count != 0 {
            self.bus.publish(Event::ToolsIndexed {
                server: server.to_string(),
                tool_count: count,
                total,
            });
        }
    }

    /// Re-index every configured server, and drop servers no longer configured.
    pub(crate) fn reindex_all(&self) {
        let names: Vec<String> = self
            .config()
            .servers
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let stale: Vec<String> = self
            .upstreams
            .snapshots()
            .into_iter()
            .map(|s| s.name)
            .filter(|n| !names.contains(n))
            .collect();
        for name in names.iter().chain(stale.iter()) {
            self.reindex(name);
        }
    }

    /// Run `f` with read access to the index.
    pub fn with_index<T>(&self, f: impl FnOnce(&crate::index::ToolIndex) -> T) -> T {
        self.catalog.with_index(f)
    }
}

fn doc(tool: &rmcp::model::Tool) -> ToolDoc {
    ToolDoc {
        server: String::new(),
        name: tool.name.to_string(),
        description: tool.description.as_deref().unwrap_or_default().to_string(),
        input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
    }
}

impl App {
    /// The best `limit` offered tools for `query`, with their definitions.
    pub fn search_tools(
        &self,
        query: &str,
        limit: usize,
    ) -> Vec<(crate::index::SearchHit, rmcp::model::Tool)> {
        let started = std::time::Instant::now();
        let hits = self.with_index(|index| index.search(query, limit));
        crate::telemetry::metrics().record_search(started.elapsed());
        hits.into_iter()
            .filter_map(|hit| {
                let tool = self.offered_tool(&hit.server, &hit.name)?;
                Some((hit, tool))
            })
            .collect()
    }
}

impl App {
    /// Up to `limit` offered tools, by server then name (a listing without a query).
    pub fn all_tools(&self, limit: usize) -> Vec<(crate::index::SearchHit, rmcp::model::Tool)> {
        self.catalog.all_tools(limit)
    }
}
