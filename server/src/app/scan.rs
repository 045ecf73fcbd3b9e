//! The tool-poisoning scanner where tools are discovered: every time a server's tools are
//! catalogued (`indexer`), each tool is scanned (with the other servers' tool names for
//! shadowing, and its pinned description for rug pulls when it changed); a tool with a
//! `block` finding is held back from agents like a changed tool until a person approves it
//! with a reason. The reason is kept as an override for the tool's current description and
//! schema (a server note), so a later change is held again. The results are kept for
//! `GET /api/v1/servers/{name}/tools`, diagnostics and the approval screens.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{App, AppError};
use crate::security::{Finding, ScanContext, Tier, ToolText, canonical_json, scan_tool, verdict};

/// Server note: the overrides a person gave, by tool name.
const NOTE_OVERRIDES: &str = "scan_overrides";

/// A person's decision to offer a tool despite its `block` findings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScanOverride {
    /// [`scan_key`] of the description and schema it covers.
    pub key: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One tool's scan at its last cataloguing.
#[derive(Debug, Clone)]
pub struct ToolScan {
    /// What was found.
    pub findings: Vec<Finding>,
    /// The override covering the tool as it is now, if any.
    pub override_: Option<ScanOverride>,
}

impl ToolScan {
    /// Whether a `block` finding holds the tool back (no override covers it).
    pub fn held(&self) -> bool {
        self.override_.is_none() && verdict(&self.findings) == Some(Tier::Block)
    }
}

/// The scans of every catalogued server.
#[derive(Default)]
pub(super) struct ScanState {
    by_server: RwLock<HashMap<String, Arc<BTreeMap<String, ToolScan>>>>,
}

/// What an override is tied to: the description and input schema a person saw.
pub fn scan_key(description: &str, input_schema: &Value) -> String {
    let mut h = Sha256::new();
    h.update(description.as_bytes());
    h.update([0]);
    h.update(canonical_json(input_schema).as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Scan an MCP tool.
pub fn scan_mcp_tool(
    tool: &rmcp::model::Tool,
    previous_description: Option<&str>,
    ctx: &ScanContext,
) -> Vec<Finding> {
    let schema = Value::Object((*tool.input_schema).clone());
    let annotations = tool
        .annotations
        .as_ref()
        .and_then(|a| serde_json::to_value(a).ok());
    scan_tool(
        &ToolText {
            name: &tool.name,
            description: tool.description.as_deref().unwrap_or_default(),
            input_schema: Some(&schema),
            annotations: annotations.as_ref(),
            previous_description,
        },
        ctx,
    )
}

impl App {
    /// What the scanner knows besides a tool of `server`: the other servers' offered tools.
    pub(super) fn scan_context(&self, server: &str) -> ScanContext {
        self.catalog.scan_context(server)
    }

    fn overrides(&self, server: &str) -> BTreeMap<String, ScanOverride> {
        self.note(server, NOTE_OVERRIDES).unwrap_or_default()
    }

    /// Scan the discovered `tools` of `server` (`previous`: pinned descriptions of changed
    /// tools) and keep the results; the names held back by `block` findings.
    pub(super) fn scan_discovered(
        &self,
        server: &str,
        tools: &[rmcp::model::Tool],
        previous: &HashMap<String, String>,
    ) -> BTreeSet<String> {
        let ctx = self.scan_context(server);
        let overrides = self.overrides(server);
        let scans: BTreeMap<String, ToolScan> = tools
            .iter()
            .map(|t| {
                let findings =
                    scan_mcp_tool(t, previous.get(t.name.as_ref()).map(String::as_str), &ctx);
                let key = scan_key(
                    t.description.as_deref().unwrap_or_default(),
                    &Value::Object((*t.input_schema).clone()),
                );
                let override_ = overrides
                    .get(t.name.as_ref())
                    .filter(|o| o.key == key)
                    .cloned();
                (
                    t.name.to_string(),
                    ToolScan {
                        findings,
                        override_,
                    },
                )
            })
            .collect();
        let held: BTreeSet<String> = scans
            .iter()
            .filter(|(_, s)| s.held())
            .map(|(n, _)| n.clone())
            .collect();
        for name in &held {
            slog::warn!(self.log, "tool held back by the tool-poisoning scanner"; "server" => server, "tool" => name);
        }
        if let Ok(mut by_server) = self.scans.by_server.write() {
            by_server.insert(server.to_string(), Arc::new(scans));
        }
        held
    }

    /// The scans of `server`'s tools at their last cataloguing.
    pub fn tool_scans(&self, server: &str) -> Arc<BTreeMap<String, ToolScan>> {
        self.scans
            .by_server
            .read()
            .ok()
            .and_then(|m| m.get(server).cloned())
            .unwrap_or_default()
    }

    /// Every catalogued server's scans, sorted by server.
    pub fn all_tool_scans(&self) -> Vec<(String, Arc<BTreeMap<String, ToolScan>>)> {
        let mut all: Vec<_> = self
            .scans
            .by_server
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Record a person's override of the `block` findings of `tools` (name → the
    /// description and schema they saw).
    pub(super) fn record_overrides<'a>(
        &self,
        server: &str,
        tools: impl IntoIterator<Item = (&'a str, String)>,
        reason: &str,
    ) {
        let mut overrides = self.overrides(server);
        for (name, key) in tools {
            slog::info!(self.log, "scanner findings overridden by a person"; "server" => server, "tool" => name, "reason" => reason);
            overrides.insert(
                name.to_string(),
                ScanOverride {
                    key,
                    reason: reason.to_string(),
                    at: Utc::now(),
                },
            );
        }
        self.set_note(
            server,
            NOTE_OVERRIDES,
            serde_json::to_value(&overrides).ok(),
        );
    }

    /// Forget the overrides and scans of `server` (removed, or added anew under its name).
    pub(super) fn forget_overrides(&self, server: &str) {
        self.set_note(server, NOTE_OVERRIDES, None);
        if let Ok(mut by_server) = self.scans.by_server.write() {
            by_server.remove(server);
        }
    }

    /// Of `wanted` tools of `server` (`None`: all), those the scanner holds back. With
    /// some held and no reason, [`AppError::ScanBlocked`]; the reason, trimmed, otherwise.
    pub(super) fn held_among(
        &self,
        server: &str,
        wanted: Option<&[String]>,
        reason: Option<&str>,
    ) -> Result<(Vec<String>, Option<String>), AppError> {
        let held: Vec<String> = self
            .tool_scans(server)
            .iter()
            .filter(|(n, s)| s.held() && wanted.is_none_or(|w| w.iter().any(|x| x == *n)))
            .map(|(n, _)| n.clone())
            .collect();
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        match (held.is_empty(), reason) {
            (false, None) => Err(AppError::ScanBlocked {
                server: server.to_string(),
                tools: held,
            }),
            (_, reason) => Ok((held, reason.map(str::to_string))),
        }
    }

    /// Record `reason` as the override of the `held` tools of `server` as they are now.
    pub(super) fn override_held(&self, server: &str, held: &[String], reason: &str) {
        let live = self.upstreams.tools(server).unwrap_or_default();
        let keys: Vec<(&str, String)> = live
            .iter()
            .filter(|t| held.iter().any(|h| h == t.name.as_ref()))
            .map(|t| {
                (
                    t.name.as_ref(),
                    scan_key(
                        t.description.as_deref().unwrap_or_default(),
                        &Value::Object((*t.input_schema).clone()),
                    ),
                )
            })
            .collect();
        self.record_overrides(server, keys, reason);
    }
}
