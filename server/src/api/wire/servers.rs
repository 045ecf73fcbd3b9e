//! Domain values → the generated wire types.

use mcpproxy_api::{ApiError, types};

use crate::app::{App, ApplyOutcome, BulkOutcome, ServerView};
use crate::config::{Problem, mask_config};
use crate::mcp::McpPath;
use crate::upstream::{AdminState, Level};

/// A collection size as the API's `uint64`.
pub(super) fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The MCP endpoints, as URLs on the address a browser or agent can reach.
pub fn mcp_endpoints(app: &App) -> types::McpEndpoints {
    let base = format!("http://{}", display_listen(&app.resolved().listen));
    let config = app.config();
    let url = |path: &McpPath| format!("{base}{}", path.path());
    types::McpEndpoints {
        routing_mode: config.routing_mode.clone(),
        default: url(&McpPath::Default),
        call: url(&McpPath::Call),
        all: url(&McpPath::All),
        servers: config
            .servers
            .iter()
            .map(|s| types::McpServerEndpoint {
                name: s.name.clone(),
                url: url(&McpPath::Server(s.name.clone())),
                available: s.should_connect(),
            })
            .collect(),
    }
}

/// `GET /api/v1/status`.
pub fn status(app: &App, version: &str) -> types::StatusResponse {
    let counts = app.counts();
    types::StatusResponse {
        success: true,
        status: "running".into(),
        version: version.into(),
        uptime: app.uptime_secs(),
        servers: types::StatusServerCounts {
            total: count(counts.total),
            connected: count(counts.connected),
            quarantined: count(counts.quarantined),
        },
        tools: types::StatusToolCounts {
            total: count(counts.tools),
        },
        data: types::StatusData {
            running: true,
            listen_addr: app.resolved().listen.clone(),
            phase: if app.is_ready() {
                "Running"
            } else {
                "Initializing"
            }
            .into(),
            timestamp: chrono::Utc::now().timestamp(),
            upstream_stats: types::UpstreamStats {
                total_servers: count(counts.total),
                connected_servers: count(counts.connected),
                connecting_servers: count(counts.connecting),
                quarantined_servers: count(counts.quarantined),
                total_tools: count(counts.tools),
            },
        },
        mcp: mcp_endpoints(app),
    }
}

/// The address a browser can reach: `0.0.0.0`/`::`/empty hosts become `127.0.0.1`.
pub fn display_listen(listen: &str) -> String {
    match listen.rsplit_once(':') {
        Some(("" | "0.0.0.0" | "[::]" | "::", port)) => format!("127.0.0.1:{port}"),
        _ => listen.to_string(),
    }
}

/// The web UI URL printed at start and returned by `/info`.
pub fn web_ui_url(listen: &str, api_key: &str) -> String {
    format!("http://{}/ui/?apikey={api_key}", display_listen(listen))
}

/// `GET /api/v1/info`.
pub fn info(app: &App, version: &str) -> types::InfoResponse {
    let resolved = app.resolved();
    let listen = display_listen(&resolved.listen);
    types::InfoResponse {
        success: true,
        data: types::InfoData {
            version: version.into(),
            web_ui_url: web_ui_url(&resolved.listen, &resolved.api_key),
            listen_addr: listen.clone(),
            endpoints: types::InfoEndpoints {
                http: listen,
                socket: resolved
                    .socket_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                mcp: mcp_endpoints(app),
            },
            update: None,
        },
    }
}

fn server(view: ServerView) -> types::Server {
    let ServerView {
        config,
        state,
        last_error,
        tool_count,
        reconnect_count,
        health,
        protocol_version,
    } = view;
    types::Server {
        id: config.name.clone(),
        protocol: config.protocol_name().to_string(),
        name: config.name,
        url: config.url,
        command: config.command,
        args: config.args,
        working_dir: config.working_dir,
        enabled: config.enabled,
        quarantined: config.quarantined,
        connected: state == crate::upstream::ConnectionState::Ready,
        connecting: state.is_connecting(),
        status: state.as_str().to_string(),
        last_error,
        protocol_version,
        tool_count: count(tool_count),
        reconnect_count: u64::from(reconnect_count),
        created: config.created,
        updated: config.updated,
        health: types::HealthStatus {
            level: match health.level {
                Level::Healthy => types::HealthLevel::Healthy,
                Level::Degraded => types::HealthLevel::Degraded,
                Level::Unhealthy => types::HealthLevel::Unhealthy,
            },
            admin_state: match health.admin_state {
                AdminState::Enabled => types::AdminState::Enabled,
                AdminState::Disabled => types::AdminState::Disabled,
                AdminState::Quarantined => types::AdminState::Quarantined,
            },
            summary: health.summary,
            detail: health.detail,
            action: health.action.to_string(),
        },
    }
}

/// `GET /api/v1/servers`.
pub fn server_list(app: &App) -> types::ServerListResponse {
    let counts = app.counts();
    types::ServerListResponse {
        success: true,
        data: types::ServerListData {
            servers: app.servers().into_iter().map(server).collect(),
            stats: types::ServerStats {
                total_servers: count(counts.total),
                connected_servers: count(counts.connected),
                quarantined_servers: count(counts.quarantined),
                total_tools: count(counts.tools),
                docker_containers: 0,
            },
        },
    }
}

/// A per-server action's answer.
pub fn action(server: String, action: &str) -> types::ServerActionResponse {
    types::ServerActionResponse {
        success: true,
        data: types::ServerAction {
            server,
            action: action.into(),
            success: true,
        },
    }
}

/// A started login.
pub fn login(server: String, started: crate::oauth::LoginStarted) -> types::ServerLoginResponse {
    types::ServerLoginResponse {
        success: true,
        data: types::ServerLogin {
            server,
            auth_url: started.auth_url,
            expires_at: started.expires_at,
        },
    }
}

/// A server's OAuth state (never its tokens).
pub fn auth(server: String, view: crate::oauth::AuthView) -> types::ServerAuthResponse {
    use crate::oauth::AuthState;
    let state = match view.state {
        AuthState::None => types::ServerAuthState::None,
        AuthState::NeedsLogin => types::ServerAuthState::NeedsLogin,
        AuthState::InProgress => types::ServerAuthState::InProgress,
        AuthState::Authenticated => types::ServerAuthState::Authenticated,
        AuthState::Failed => types::ServerAuthState::Failed,
    };
    types::ServerAuthResponse {
        success: true,
        data: types::ServerAuth {
            server,
            state,
            issuer: view.issuer,
            scopes: view.scopes,
            expires_at: view.expires_at,
            last_error: view.last_error,
        },
    }
}

/// A bulk action's answer.
pub fn bulk(outcome: BulkOutcome) -> types::BulkOperationResponse {
    types::BulkOperationResponse {
        success: true,
        data: types::BulkOperationResult {
            total: count(outcome.total),
            successful: count(outcome.successful),
            failed: count(outcome.errors.len()),
            errors: outcome.errors.into_iter().collect(),
            format: None,
            preview: None,
            imported: None,
            skipped: None,
        },
    }
}

/// `GET /api/v1/config`, secrets masked.
pub fn config_view(app: &App) -> Result<types::ConfigResponse, ApiError> {
    let masked = mask_config(&app.config());
    let serde_json::Value::Object(map) = serde_json::to_value(masked)
        .map_err(|e| ApiError::internal(format!("cannot serialize config: {e}")))?
    else {
        return Err(ApiError::internal("configuration is not an object"));
    };
    Ok(types::ConfigResponse {
        success: true,
        data: types::ConfigView {
            config: types::ConfigDocument(map),
            config_path: app.config_path().display().to_string(),
        },
    })
}

/// `POST /api/v1/config/validate`.
pub fn validation(problems: Vec<Problem>) -> types::ValidateConfigResponse {
    types::ValidateConfigResponse {
        success: true,
        data: types::ValidationReport {
            valid: problems.is_empty(),
            errors: problems
                .into_iter()
                .map(|p| types::ValidationError {
                    field: p.field,
                    message: p.message,
                })
                .collect(),
        },
    }
}

/// `POST /api/v1/config/apply`.
pub fn apply(outcome: ApplyOutcome) -> types::ConfigApplyResponse {
    types::ConfigApplyResponse {
        success: true,
        data: types::ConfigApplyResult {
            success: true,
            applied_immediately: outcome.applied_immediately,
            requires_restart: outcome.requires_restart,
            restart_reason: outcome.restart_reason,
            changed_fields: outcome.changed_fields,
        },
    }
}

/// `GET /api/v1/servers/{name}/tools`.
pub fn server_tools(
    server: String,
    tools: Vec<rmcp::model::Tool>,
    mut approvals: std::collections::HashMap<String, crate::storage::ToolApproval>,
    scans: &std::collections::BTreeMap<String, crate::app::ToolScan>,
) -> types::ServerToolsResponse {
    let tools: Vec<types::Tool> = tools
        .into_iter()
        .map(|t| {
            let (findings, scan_override) =
                super::scan_convert::tool_scan(scans.get(t.name.as_ref()));
            types::Tool {
                findings,
                scan_override,
                id: format!("{server}:{}", t.name),
                name: t.name.to_string(),
                server_name: server.clone(),
                description: t.description.as_deref().unwrap_or_default().to_string(),
                input_schema: (*t.input_schema).clone(),
                output_schema: t.output_schema.as_deref().cloned(),
                approval: approvals
                    .remove(t.name.as_ref())
                    .map(super::tools_convert::approval),
                annotations: t
                    .annotations
                    .as_ref()
                    .and_then(|a| match serde_json::to_value(a) {
                        Ok(serde_json::Value::Object(map)) => Some(map),
                        _ => None,
                    }),
            }
        })
        .collect();
    types::ServerToolsResponse {
        success: true,
        data: types::ServerTools {
            server_name: server,
            count: count(tools.len()),
            tools,
        },
    }
}

/// `GET /api/v1/servers/{name}/logs`.
pub fn server_logs(server: String, read: crate::upstream::LogRead) -> types::ServerLogsResponse {
    let logs: Vec<types::LogEntry> = read
        .lines
        .into_iter()
        .map(|l| types::LogEntry {
            timestamp: l.timestamp,
            level: l.level,
            message: l.message,
        })
        .collect();
    types::ServerLogsResponse {
        success: true,
        data: types::ServerLogs {
            server_name: server,
            count: count(logs.len()),
            logs,
            cursor: read.cursor.to_string(),
            gap: read.gap,
        },
    }
}

/// `GET /oauth/client-metadata.json`.
pub fn client_metadata_document(
    doc: crate::oauth::client_metadata::Document,
) -> types::ClientMetadataDocument {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    types::ClientMetadataDocument {
        client_id: doc.client_id,
        client_name: doc.client_name.into(),
        client_uri: doc.client_uri.into(),
        redirect_uris: doc.redirect_uris,
        grant_types: strings(doc.grant_types),
        response_types: strings(doc.response_types),
        token_endpoint_auth_method: doc.token_endpoint_auth_method.into(),
        software_id: doc.client_name.into(),
        software_version: doc.software_version.into(),
    }
}
