//! Inspection of a server, the person's way and the agent's way.
//!
//! - [`App::inspection_plan`] never connects: it says exactly what connecting would run or
//!   contact (command, arguments, environment names, working directory, URL, header names,
//!   Docker isolation and image), the last connection settings a person approved when they
//!   differ, and the last tools known (from a person's inspection, or the pinned tools of the
//!   last approved connection). This is all an agent gets (`inspect_quarantined`).
//! - [`App::inspect_server`] connects once — a person's action (REST, CLI), never an
//!   agent's — in isolation (its own connection manager and bus, so nothing reaches the index
//!   or agents; inside Docker when isolation applies), lists the tools with scanner warnings,
//!   disconnects, and keeps the tools as the last known ones.
//!
//! Agent edits that change a server's connection settings send it back to quarantine
//! ([`App::agent_edit_server`]); the settings a person last approved are kept durably as a
//! server note so the plan can show before and after.
//!
//! Values shown go through the configuration's masking (`config::mask_config`).

use serde::Serialize;
use serde_json::Value;

use super::{App, AppError};
use crate::config::{Config, ConnectionSettings, ServerConfig, Transport, mask_config};
use crate::upstream::ConnectionState;

/// Server note: the connection settings a person last approved.
const NOTE_APPROVED: &str = "approved_connection";
/// Server note: the tools a person's inspection found.
const NOTE_INSPECTED: &str = "inspected_tools";

/// How long a person's inspection waits for the server to become ready.
const INSPECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A tool as a reviewer sees it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct KnownTool {
    /// Bare tool name.
    pub name: String,
    /// Description (empty when none).
    pub description: String,
    /// Input JSON Schema.
    pub input_schema: Value,
    /// What the scanner found suspicious, one line per finding.
    pub warnings: Vec<String>,
    /// The scanner's findings (absent in notes kept before the scanner had tiers).
    #[serde(default)]
    pub findings: Vec<crate::security::Finding>,
}

impl KnownTool {
    fn new(
        name: String,
        description: String,
        input_schema: Value,
        findings: Vec<crate::security::Finding>,
    ) -> Self {
        Self {
            warnings: findings
                .iter()
                .map(crate::security::Finding::summary)
                .collect(),
            name,
            description,
            input_schema,
            findings,
        }
    }

    /// A pinned tool, scanned.
    fn scanned(
        name: String,
        description: String,
        input_schema: Value,
        ctx: &crate::security::ScanContext,
    ) -> Self {
        let findings = crate::security::scan_tool(
            &crate::security::ToolText {
                name: &name,
                description: &description,
                input_schema: Some(&input_schema),
                ..Default::default()
            },
            ctx,
        );
        Self::new(name, description, input_schema, findings)
    }

    /// An MCP tool, scanned (annotations included).
    fn of(tool: &rmcp::model::Tool, ctx: &crate::security::ScanContext) -> Self {
        Self::new(
            tool.name.to_string(),
            tool.description.as_deref().unwrap_or_default().to_string(),
            Value::Object((*tool.input_schema).clone()),
            super::scan::scan_mcp_tool(tool, None, ctx),
        )
    }

    /// Whether a `block` finding needs a person's override.
    fn blocks(&self) -> bool {
        crate::security::verdict(&self.findings) == Some(crate::security::Tier::Block)
    }
}

/// What connecting to a server would do, and what is known of it — built without connecting.
#[derive(Debug, Clone, Serialize)]
pub struct InspectionPlan {
    /// The server.
    pub server_name: String,
    /// Whether it awaits a person's approval.
    pub quarantined: bool,
    /// `stdio`, `streamable-http`, `sse` or `auto` (streamable HTTP, falling back to SSE).
    pub transport: String,
    /// stdio: the command (masked).
    pub command: Option<String>,
    /// stdio: the arguments (masked).
    pub args: Vec<String>,
    /// stdio: the variables set beyond the inherited allow-list (names only).
    pub env_names: Vec<String>,
    /// stdio: the working directory.
    pub working_dir: Option<String>,
    /// http/sse: the URL (masked).
    pub url: Option<String>,
    /// http/sse: the headers sent (names only).
    pub header_names: Vec<String>,
    /// Whether the stdio command would run inside `docker run`.
    pub docker_isolation: bool,
    /// The image, when isolated.
    pub docker_image: Option<String>,
    /// stdio: the exact program and arguments that would be spawned (masked).
    pub runs: Vec<String>,
    /// The connection settings a person last approved, when they differ from the current
    /// ones (masked).
    pub approved_connection: Option<ConnectionSettings>,
    /// The current connection settings (masked).
    pub current_connection: ConnectionSettings,
    /// Fields changed since a person last approved the server.
    pub changed_since_approval: Vec<String>,
    /// The last tools known, if any.
    pub last_known_tools: Vec<KnownTool>,
    /// Where they come from: `inspection` (a person's) or `pinned` (the last approved
    /// connection); absent when none are known.
    pub last_known_tools_source: Option<String>,
    /// [`ConnectionSettings::fingerprint`] of the settings this plan describes.
    pub fingerprint: String,
}

/// Refuse when `reviewed` (a plan's fingerprint) no longer matches `server`'s settings.
pub(super) fn check_reviewed(
    server: &ServerConfig,
    reviewed: Option<&str>,
) -> Result<(), AppError> {
    match reviewed {
        Some(fingerprint) if fingerprint != ConnectionSettings::of(server).fingerprint() => {
            Err(AppError::ReviewOutdated(server.name.clone()))
        }
        _ => Ok(()),
    }
}

/// What a person's inspection found, with what it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// What was run or contacted.
    pub plan: InspectionPlan,
    /// The tools the server offers.
    pub tools: Vec<KnownTool>,
}

/// What a person approved when they took a server out of quarantine (secrets masked).
#[derive(Debug, Clone)]
pub struct Approval {
    /// The connection settings now approved.
    pub approved: ConnectionSettings,
    /// Fields an agent changed since the previous approval.
    pub changed: Vec<String>,
    /// The settings approved before, when they differ.
    pub previously_approved: Option<ConnectionSettings>,
}

/// `server` as configuration views show it (secrets masked), and with every env and header
/// value hidden but `${…}` references: the plan reaches agents, and a value whose name does
/// not look secret (`DATABASE_URL`) may still be one.
fn masked(server: &ServerConfig) -> ServerConfig {
    let single = Config {
        servers: vec![server.clone()],
        ..Config::default()
    };
    let mut shown = mask_config(&single)
        .servers
        .pop()
        .unwrap_or_else(|| server.clone());
    for value in shown.env.values_mut().chain(shown.headers.values_mut()) {
        if !(value.starts_with("${") && value.ends_with('}')) {
            *value = HIDDEN.to_string();
        }
    }
    shown
}

/// What a hidden value shows.
const HIDDEN: &str = "****";

fn transport_name(server: &ServerConfig) -> &'static str {
    match server.transport() {
        Transport::Stdio => "stdio",
        Transport::StreamableHttp => "streamable-http",
        Transport::Sse => "sse",
        Transport::HttpAuto => "auto",
    }
}

impl App {
    pub(super) fn note<T: serde::de::DeserializeOwned>(
        &self,
        server: &str,
        kind: &str,
    ) -> Option<T> {
        match self.storage.server_note(server, kind) {
            Ok(value) => value.and_then(|v| serde_json::from_value(v).ok()),
            Err(e) => {
                slog::warn!(self.log, "server note unreadable"; "server" => server, "kind" => kind, "error" => %e);
                None
            }
        }
    }

    pub(super) fn set_note(&self, server: &str, kind: &str, value: Option<Value>) {
        if let Err(e) = self.storage.set_server_note(server, kind, value.as_ref()) {
            slog::warn!(self.log, "server note not saved"; "server" => server, "kind" => kind, "error" => %e);
        }
    }

    /// Forget every review note of `server` (it was removed, added anew or approved).
    pub(super) fn forget_review(&self, server: &str, approved_too: bool) {
        self.set_note(server, NOTE_INSPECTED, None);
        if approved_too {
            self.set_note(server, NOTE_APPROVED, None);
        }
    }

    /// What connecting to `name` would run or contact, and what is known of it. Never
    /// connects and never spawns anything.
    pub fn inspection_plan(&self, name: &str) -> Result<InspectionPlan, AppError> {
        let (config, settings) = self.running();
        let server = self.configured(name)?;
        let shown = masked(&server);
        let current = ConnectionSettings::of(&shown);
        // Only a quarantined server awaits a decision; for an approved one (also approved by
        // editing the file, which leaves no trace here) the current settings are the approved.
        let approved: Option<ConnectionSettings> = server
            .quarantined
            .then(|| self.note(name, NOTE_APPROVED))
            .flatten();
        let changed: Vec<String> = approved
            .as_ref()
            .map(|a| {
                a.changed_fields(&ConnectionSettings::of(&server))
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let approved = approved
            .filter(|_| !changed.is_empty())
            .map(|a| ConnectionSettings::of(&masked(&a.applied_to(&server))));
        let stdio = server.transport() == Transport::Stdio;
        let mut env_names: Vec<String> = if stdio {
            config
                .environment
                .custom_vars
                .keys()
                .chain(server.env.keys())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        env_names.sort();
        env_names.dedup();
        let wrapped = stdio
            .then(|| {
                let mut inside = shown.clone();
                inside.env = config
                    .environment
                    .custom_vars
                    .keys()
                    .chain(server.env.keys())
                    .map(|k| (k.clone(), HIDDEN.to_string()))
                    .collect();
                crate::docker::wrap_command(&inside, &settings.docker)
            })
            .flatten();
        let runs = match (&wrapped, stdio) {
            (Some(w), _) => std::iter::once(w.program.clone())
                .chain(w.display_args())
                .collect(),
            (None, true) => shown
                .command
                .iter()
                .cloned()
                .chain(shown.args.iter().cloned())
                .collect(),
            (None, false) => Vec::new(),
        };
        let (last_known_tools, source) = self.last_known_tools(&server);
        Ok(InspectionPlan {
            server_name: server.name.clone(),
            quarantined: server.quarantined,
            transport: transport_name(&server).to_string(),
            command: shown.command.clone().filter(|_| stdio),
            args: if stdio {
                shown.args.clone()
            } else {
                Vec::new()
            },
            env_names,
            working_dir: shown.working_dir.clone().filter(|_| stdio),
            url: shown.url.clone().filter(|_| !stdio),
            header_names: if stdio {
                Vec::new()
            } else {
                shown.headers.keys().cloned().collect()
            },
            docker_isolation: wrapped.is_some(),
            docker_image: wrapped.map(|w| w.image),
            runs,
            approved_connection: approved,
            current_connection: current,
            changed_since_approval: changed,
            last_known_tools,
            last_known_tools_source: source.map(str::to_string),
            fingerprint: ConnectionSettings::of(&server).fingerprint(),
        })
    }

    /// The last tools known of `server`: a person's inspection while it is quarantined,
    /// else the pinned tools of its last approved connection.
    fn last_known_tools(&self, server: &ServerConfig) -> (Vec<KnownTool>, Option<&'static str>) {
        if server.quarantined
            && let Some(tools) = self.note::<Vec<KnownTool>>(&server.name, NOTE_INSPECTED)
        {
            return (tools, Some("inspection"));
        }
        let ctx = self.scan_context(&server.name);
        let mut pinned: Vec<KnownTool> = self
            .tool_approvals(&server.name)
            .into_values()
            .map(|a| {
                KnownTool::scanned(a.tool, a.current.description, a.current.input_schema, &ctx)
            })
            .collect();
        pinned.sort_by(|a, b| a.name.cmp(&b.name));
        match pinned.is_empty() {
            true => (Vec::new(), None),
            false => (pinned, Some("pinned")),
        }
    }

    /// Change a server on an agent's behalf. A change to its connection settings sends it
    /// back to quarantine (it stops and is not restarted with the new settings); the
    /// settings a person last approved are kept for the review. Returns the new entry and
    /// the connection fields that changed.
    pub async fn agent_edit_server(
        &self,
        name: &str,
        edit: impl FnOnce(&mut ServerConfig) -> Result<(), AppError>,
    ) -> Result<(ServerConfig, Vec<&'static str>), AppError> {
        let mut before = None;
        let updated = self
            .edit_server_with(name, |server| {
                let old = server.clone();
                edit(server)?;
                if old.connection_differs(server) {
                    server.quarantined = true;
                }
                before = Some(old);
                Ok(())
            })
            .await?;
        let changed = before
            .as_ref()
            .map(|b| ConnectionSettings::of(b).changed_fields(&ConnectionSettings::of(&updated)))
            .unwrap_or_default();
        if let Some(before) = before
            && !changed.is_empty()
        {
            // What a person approved is what ran until now; a server already quarantined
            // keeps the approval it had (if any).
            if !before.quarantined {
                self.set_note(
                    name,
                    NOTE_APPROVED,
                    serde_json::to_value(ConnectionSettings::of(&before)).ok(),
                );
            }
            self.forget_review(name, false);
        }
        Ok((updated, changed))
    }

    /// Take `name` out of quarantine — a person's action — and say what was approved,
    /// against what was approved before.
    /// With `reviewed` (the fingerprint of the plan the person reviewed), settings changed
    /// since are refused ([`AppError::ReviewOutdated`]) and nothing is approved.
    /// When the tools of the last inspection have `block` findings, the server stays
    /// quarantined ([`AppError::ScanBlocked`]) unless `override_reason` says why; the reason
    /// is then recorded as the override of those tools as inspected.
    pub async fn approve_server(
        &self,
        name: &str,
        reviewed: Option<&str>,
        override_reason: Option<&str>,
    ) -> Result<Approval, AppError> {
        let plan = self.inspection_plan(name)?;
        let blocking: Vec<&KnownTool> = match plan.last_known_tools_source.as_deref() {
            Some("inspection") => plan
                .last_known_tools
                .iter()
                .filter(|t| t.blocks())
                .collect(),
            _ => Vec::new(),
        };
        let reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
        if plan.quarantined && !blocking.is_empty() && reason.is_none() {
            return Err(AppError::ScanBlocked {
                server: name.to_string(),
                tools: blocking.iter().map(|t| t.name.clone()).collect(),
            });
        }
        let reviewed = reviewed.or(Some(plan.fingerprint.as_str()));
        check_reviewed(&self.configured(name)?, reviewed)?;
        // Before the approval: the first cataloguing after it must see the override.
        if let Some(reason) = reason.filter(|_| !blocking.is_empty()) {
            self.record_overrides(
                name,
                blocking.iter().map(|t| {
                    (
                        t.name.as_str(),
                        super::scan::scan_key(&t.description, &t.input_schema),
                    )
                }),
                reason,
            );
        }
        self.set_quarantined_reviewed(name, false, reviewed).await?;
        Ok(Approval {
            approved: plan.current_connection,
            changed: plan.changed_since_approval,
            previously_approved: plan.approved_connection,
        })
    }

    /// Connect `name` once, in isolation, list its tools and disconnect — a person's action.
    /// The tools are kept as the last known ones.
    /// With `reviewed`, settings changed since that plan are refused and nothing runs.
    pub async fn inspect_server(
        &self,
        name: &str,
        reviewed: Option<&str>,
    ) -> Result<Inspection, AppError> {
        let plan = self.inspection_plan(name)?;
        let configured = self.configured(name)?;
        // What runs is `configured`: the plan must describe exactly it.
        check_reviewed(&configured, reviewed.or(Some(plan.fingerprint.as_str())))?;
        let mut server =
            crate::secrets::resolve_server(&configured, self.secret_store()).map_err(|e| {
                AppError::Held {
                    server: name.to_string(),
                    reason: e.to_string(),
                }
            })?;
        server.enabled = true;
        server.quarantined = false;
        let (config, settings) = self.running();
        let manager = crate::upstream::UpstreamManager::new(
            crate::events::EventBus::new(),
            self.resolved.log_dir.clone(),
            self.log
                .new(slog::o!("component" => "inspect", "server" => name.to_string())),
        );
        manager.apply_with(
            std::slice::from_ref(&server),
            &config.environment,
            &settings.docker,
        );
        let deadline = tokio::time::Instant::now() + INSPECT_TIMEOUT;
        let outcome = loop {
            match manager.snapshot(name) {
                Some(s) if s.state == ConnectionState::Ready => {
                    break Ok(manager.tools(name).unwrap_or_default());
                }
                Some(s)
                    if matches!(
                        s.state,
                        ConnectionState::Error | ConnectionState::PendingAuth
                    ) =>
                {
                    break Err(AppError::Inspection(format!(
                        "could not connect to {name} for inspection: {}",
                        s.last_error.unwrap_or_default()
                    )));
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    break Err(AppError::Inspection(format!(
                        "{name} did not become ready within {} s",
                        INSPECT_TIMEOUT.as_secs()
                    )));
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        };
        manager.shutdown().await;
        let ctx = self.scan_context(name);
        let tools: Vec<KnownTool> = outcome?.iter().map(|t| KnownTool::of(t, &ctx)).collect();
        self.set_note(name, NOTE_INSPECTED, serde_json::to_value(&tools).ok());
        Ok(Inspection { plan, tools })
    }
}
