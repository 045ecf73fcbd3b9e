//! Tag `servers`: server views, actions, bulk outcomes, tools and logs → wire types.

use mcpproxy_api::types;

use super::count;
use crate::app::{BulkOutcome, ServerList, ServerView};
use crate::upstream::{AdminState, Level};

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
pub fn server_list(list: ServerList) -> types::ServerListResponse {
    let ServerList { servers, counts } = list;
    types::ServerListResponse {
        success: true,
        data: types::ServerListData {
            servers: servers.into_iter().map(server).collect(),
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
            let (findings, scan_override) = super::scan::tool_scan(scans.get(t.name.as_ref()));
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
                    .map(super::tools::approval),
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
