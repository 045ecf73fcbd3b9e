//! The one path every upstream tool call takes, from MCP (`call_tool*`) and from REST
//! (`POST /api/v1/tools/call`): parse `server:tool`, refuse servers outside an agent token's
//! reach, quarantined and disabled servers, changed (unapproved) tools, calls whose intent
//! does not match the tool's annotations and calls above the token's tier, then route to the
//! upstream with `call_tool_timeout`.

use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, Tool};

use super::App;
use super::catalog::Offer;
use super::tokens::{Grant, Tier};
use crate::config::Settings;
use crate::upstream::{CallLink, UpstreamError};

/// What the caller says the call will do (the `call_tool_read|write|destructive` variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Legacy `call_tool`: no claim.
    Any,
    /// `call_tool_read`: must not reach a tool annotated destructive.
    Read,
    /// `call_tool_write`: must not reach a tool annotated destructive.
    Write,
    /// `call_tool_destructive`: anything.
    Destructive,
}

impl Intent {
    fn name(self) -> &'static str {
        super::Builtin::for_intent(self).as_str()
    }

    /// The tier a call needs: the variant's, or the tool's kind when that is higher (so
    /// `call_tool_read` cannot reach a writing tool with a read token). `kind` is `None`
    /// when the tool is not known yet, which needs the highest tier (fail closed).
    pub fn needs(self, kind: Option<Tier>) -> Tier {
        let kind = kind.unwrap_or(Tier::Destructive);
        let variant = match self {
            Self::Any | Self::Read => Tier::Read,
            Self::Write => Tier::Write,
            Self::Destructive => Tier::Destructive,
        };
        variant.max(kind)
    }
}

/// What a tool does, from its annotations: destructive, read-only, or (neither) write.
pub fn tool_kind(tool: &Tool) -> Tier {
    let annotations = tool.annotations.as_ref();
    if annotations.and_then(|a| a.destructive_hint) == Some(true) {
        Tier::Destructive
    } else if annotations.and_then(|a| a.read_only_hint) == Some(true) {
        Tier::Read
    } else {
        Tier::Write
    }
}

/// Who made a call: the MCP session and client, when it came over `/mcp`.
#[derive(Debug, Clone, Default)]
pub struct CallOrigin {
    /// `Mcp-Session-Id`.
    pub session_id: Option<String>,
    /// `clientInfo.name`.
    pub client_name: Option<String>,
    /// `clientInfo.version`.
    pub client_version: Option<String>,
    /// The agent token the session authenticated with; `None` means no limits (no
    /// credential, or the API key).
    pub token: Option<Arc<Grant>>,
    /// The span the call continues (the `/mcp` request's, or the client's `_meta` one);
    /// `None` when tracing is off.
    pub trace: Option<crate::telemetry::TraceParent>,
}

impl CallOrigin {
    /// The token's name, for records.
    pub fn token_name(&self) -> Option<String> {
        self.token.as_ref().map(|g| g.name.clone())
    }
}

/// Why a call did not reach the upstream, or failed there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Not `server:tool`.
    #[error("Invalid tool name format: {0} (expected server:tool for upstream tools)")]
    BadName(String),
    /// No such server in the configuration.
    #[error("server '{0}' not found")]
    UnknownServer(String),
    /// The server awaits approval.
    #[error(
        "server '{0}' is quarantined — approve it first (POST /api/v1/servers/{0}/unquarantine)"
    )]
    Quarantined(String),
    /// The server is disabled.
    #[error("server '{0}' is disabled — enable it first")]
    Disabled(String),
    /// The server is up but has no such tool.
    #[error("tool '{tool}' not found on server '{server}'")]
    UnknownTool {
        /// Server.
        server: String,
        /// Tool.
        tool: String,
    },
    /// The tool's description or schema changed since approval.
    #[error(
        "tool '{server}:{tool}' changed since it was approved and is blocked until a person approves it (POST /api/v1/servers/{server}/tools/approve)"
    )]
    Changed {
        /// Server.
        server: String,
        /// Tool.
        tool: String,
    },
    /// The tool-poisoning scanner found `block`-tier findings in the tool and no person has
    /// overridden them.
    #[error(
        "tool '{server}:{tool}' {state} held back by the tool-poisoning scanner (block-tier findings: {categories}); review them (GET /api/v1/servers/{server}/tools) and, to offer it anyway, approve it with a reason: mcpproxy upstream approve {server} --tool {tool} --reason \"…\" (or POST /api/v1/servers/{server}/tools/approve with {{\"tools\": [\"{tool}\"], \"reason\": \"…\"}})"
    )]
    HeldByScanner {
        /// Server.
        server: String,
        /// Tool.
        tool: String,
        /// The categories of its `block` findings, comma-separated.
        categories: String,
        /// `is`, or `changed since it was approved and is` when it changed as well.
        state: &'static str,
    },
    /// A read/write call aimed at a destructive tool.
    #[error(
        "{intent} may not call '{server}:{tool}', which is annotated destructive; use call_tool_destructive"
    )]
    IntentMismatch {
        /// The variant used.
        intent: &'static str,
        /// Server.
        server: String,
        /// Tool.
        tool: String,
    },
    /// The agent token does not reach this server.
    #[error("server '{server}' is not in scope for agent token '{token}'")]
    OutOfScope {
        /// The token's name.
        token: String,
        /// Server.
        server: String,
    },
    /// The call needs a higher tier than the agent token has.
    #[error(
        "agent token '{token}' (tier {has}) may not {intent} '{server}:{tool}': that needs the {needs} tier"
    )]
    AboveTier {
        /// The token's name.
        token: String,
        /// Its tier.
        has: &'static str,
        /// The tier the call needs.
        needs: &'static str,
        /// The variant used.
        intent: &'static str,
        /// Server.
        server: String,
        /// Tool.
        tool: String,
    },
    /// The upstream failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// `tools/call` parameters with `arguments` (the name is set when the call is routed).
pub fn with_arguments(
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
) -> CallToolRequestParams {
    let mut params = CallToolRequestParams::new(String::new());
    params.arguments = arguments;
    params
}

/// The result of a complete answer to the call of `name`; any other answer is an error for
/// a caller that cannot pass it on.
pub fn complete_only(name: &str, response: CallToolResponse) -> Result<CallToolResult, CallError> {
    match response {
        CallToolResponse::Complete(result) => Ok(result),
        _ => {
            let (server, tool) = split_name(name)?;
            Err(CallError::Upstream(UpstreamError::needs_a_client(
                server, tool,
            )))
        }
    }
}

/// Split `server:tool` on the first colon.
pub fn split_name(name: &str) -> Result<(&str, &str), CallError> {
    match name.split_once(':') {
        Some((server, tool)) if !server.is_empty() && !tool.is_empty() => Ok((server, tool)),
        _ => Err(CallError::BadName(name.to_string())),
    }
}

/// Whether a caller with `grant` may reach `server` under `settings`: configured, approved
/// (not quarantined), enabled and in the token's scope.
pub(crate) fn admit(
    settings: &Settings,
    server: &str,
    grant: Option<&Grant>,
) -> Result<(), CallError> {
    if let Some(grant) = grant
        && !grant.allows_server(server)
    {
        return Err(CallError::OutOfScope {
            token: grant.name.clone(),
            server: server.to_string(),
        });
    }
    let Some(entry) = settings.servers.get(server) else {
        return Err(CallError::UnknownServer(server.to_string()));
    };
    if entry.quarantined {
        return Err(CallError::Quarantined(server.to_string()));
    }
    if !entry.enabled {
        return Err(CallError::Disabled(server.to_string()));
    }
    Ok(())
}

impl App {
    /// Whether a caller with `grant` may reach `server`: configured, approved (not
    /// quarantined), enabled and in the token's scope.
    pub fn admit(&self, server: &str, grant: Option<&Grant>) -> Result<(), CallError> {
        admit(&self.settings(), server, grant)
    }

    /// Why a blocked tool is refused: held by the scanner's `block` findings, or changed
    /// since it was approved.
    fn blocked_error(&self, server: &str, tool: &str) -> CallError {
        let scans = self.tool_scans(server);
        match scans.get(tool).filter(|s| s.held()) {
            Some(scan) => {
                let mut categories: Vec<&str> = scan
                    .findings
                    .iter()
                    .filter(|f| f.tier == crate::security::Tier::Block)
                    .map(|f| f.category.as_str())
                    .collect();
                categories.sort_unstable();
                categories.dedup();
                let changed = self
                    .tool_approvals(server)
                    .get(tool)
                    .is_some_and(|a| a.status == crate::storage::ApprovalStatus::Changed);
                CallError::HeldByScanner {
                    server: server.to_string(),
                    tool: tool.to_string(),
                    categories: categories.join(", "),
                    state: match changed {
                        true => "changed since it was approved and is",
                        false => "is",
                    },
                }
            }
            None => CallError::Changed {
                server: server.to_string(),
                tool: tool.to_string(),
            },
        }
    }

    /// Check and route one call. `arguments` is the tool's argument object; `grant` limits
    /// an agent token's call; `link` is the client the upstream's messages about it go to.
    /// Only a complete result is a success (see [`Self::call`] for the whole answer).
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Option<serde_json::Map<String, serde_json::Value>>,
        intent: Intent,
        grant: Option<&Grant>,
        link: &CallLink,
    ) -> Result<CallToolResult, CallError> {
        let response = self
            .call(name, with_arguments(arguments), intent, grant, link)
            .await?;
        complete_only(name, response)
    }

    /// Check and route one call of `name` (`server:tool`) with `params` (arguments and, on
    /// a 2026-07-28 retry, the client's input responses and request state; its name is
    /// set here); the server's whole answer: complete, input required, or a task.
    pub async fn call(
        &self,
        name: &str,
        mut params: CallToolRequestParams,
        intent: Intent,
        grant: Option<&Grant>,
        link: &CallLink,
    ) -> Result<CallToolResponse, CallError> {
        let (server, tool) = split_name(name)?;
        params.name = tool.to_string().into();
        // The client's protocol metadata is its own; the upstream session has its own.
        params.meta = None;
        // Only the proxy's own trace context goes on (when tracing is on).
        params.meta = crate::telemetry::trace::upstream_meta();
        // One snapshot of the settings for the whole call.
        let settings = self.settings();
        admit(&settings, server, grant)?;
        // A server still coming up is waited for, within the call's timeout.
        let started = tokio::time::Instant::now();
        let configured = settings.call_tool_timeout;
        self.settle(|s| s == server, configured).await;
        let timeout = configured.saturating_sub(started.elapsed());
        let kind = match self.catalog.offer(server, tool, tool_kind) {
            Offer::NoCatalogue => None,
            Offer::NotOffered => {
                return Err(if self.is_blocked(server, tool) {
                    self.blocked_error(server, tool)
                } else {
                    CallError::UnknownTool {
                        server: server.to_string(),
                        tool: tool.to_string(),
                    }
                });
            }
            Offer::Offered(found) => Some(found),
        };
        if kind == Some(Tier::Destructive) && matches!(intent, Intent::Read | Intent::Write) {
            return Err(CallError::IntentMismatch {
                intent: intent.name(),
                server: server.to_string(),
                tool: tool.to_string(),
            });
        }
        if let Some(grant) = grant {
            let needs = intent.needs(kind);
            if !grant.allows(needs) {
                return Err(CallError::AboveTier {
                    token: grant.name.clone(),
                    has: grant.tier.as_str(),
                    needs: needs.as_str(),
                    intent: intent.name(),
                    server: server.to_string(),
                    tool: tool.to_string(),
                });
            }
        }
        match self.upstreams.call(server, params, timeout, link).await {
            // The caller's timeout is the configured one, whatever part of it the wait for a
            // server coming up took.
            Err(UpstreamError::Timeout { server, tool, .. }) => {
                Err(CallError::from(UpstreamError::Timeout {
                    server,
                    tool,
                    after: configured,
                }))
            }
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_needs_the_higher_of_its_variant_and_its_tool_kind() {
        assert_eq!(Intent::Read.needs(Some(Tier::Read)), Tier::Read);
        assert_eq!(
            Intent::Read.needs(Some(Tier::Write)),
            Tier::Write,
            "call_tool_read cannot reach a writing tool with a read token"
        );
        assert_eq!(Intent::Any.needs(Some(Tier::Read)), Tier::Read);
        assert_eq!(Intent::Any.needs(Some(Tier::Write)), Tier::Write);
        assert_eq!(Intent::Write.needs(Some(Tier::Read)), Tier::Write);
        assert_eq!(
            Intent::Destructive.needs(Some(Tier::Read)),
            Tier::Destructive
        );
        assert_eq!(
            Intent::Read.needs(None),
            Tier::Destructive,
            "a tool not known yet is treated as destructive"
        );
    }

    #[test]
    fn tool_kind_follows_the_annotations() {
        let tool = |a: Option<rmcp::model::ToolAnnotations>| {
            let t = Tool::new("t", "d", std::sync::Arc::new(serde_json::Map::new()));
            match a {
                Some(a) => t.with_annotations(a),
                None => t,
            }
        };
        use rmcp::model::ToolAnnotations;
        assert_eq!(tool_kind(&tool(None)), Tier::Write);
        assert_eq!(
            tool_kind(&tool(Some(ToolAnnotations::new().read_only(true)))),
            Tier::Read
        );
        assert_eq!(
            tool_kind(&tool(Some(
                ToolAnnotations::new().read_only(true).destructive(true)
            ))),
            Tier::Destructive
        );
    }
}
