//! `/api/v1/connect`: other MCP clients' files pointed at the proxy (`config::connect`), on
//! the wire. The files are the daemon user's (`$HOME`), the URL the proxy's `/mcp`.

use std::path::PathBuf;

use mcpproxy_api::{ApiError, types};

use crate::app::Endpoints;
use crate::config::connect::{self, ConnectPlan};
use crate::config::import::CLIENTS;

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The endpoint clients are pointed at.
fn mcp_url(endpoints: &Endpoints) -> String {
    super::status::mcp_endpoints(endpoints).default
}

fn plan_view(plan: ConnectPlan, action: &str) -> types::ConnectResponse {
    types::ConnectResponse {
        success: true,
        data: types::ConnectPlan {
            client: plan.client,
            path: plan.path.display().to_string(),
            exists: plan.exists,
            connected: plan.connected,
            entry: plan.entry,
            after: plan.after,
            backup: plan.backup.display().to_string(),
            action: action.into(),
        },
    }
}

/// `GET /api/v1/connect`.
pub fn list(endpoints: &Endpoints) -> types::ConnectListResponse {
    let url = mcp_url(endpoints);
    let clients = CLIENTS
        .iter()
        .map(|client| match connect::plan(client, &home(), &url) {
            Ok(plan) => types::ConnectClient {
                client: client.to_string(),
                path: plan.path.display().to_string(),
                exists: plan.exists,
                connected: plan.connected,
                error: None,
            },
            Err(e) => types::ConnectClient {
                client: client.to_string(),
                path: crate::config::import::client_path(client, &home())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                exists: true,
                connected: false,
                error: Some(e.to_string()),
            },
        })
        .collect();
    types::ConnectListResponse {
        success: true,
        data: types::ConnectList {
            mcp_url: url,
            clients,
        },
    }
}

/// `GET /api/v1/connect/{client}/preview`.
pub fn preview(endpoints: &Endpoints, client: &str) -> Result<types::ConnectResponse, ApiError> {
    Ok(plan_view(
        connect::plan(client, &home(), &mcp_url(endpoints))?,
        "preview",
    ))
}

/// `POST /api/v1/connect/{client}`.
pub fn apply(endpoints: &Endpoints, client: &str) -> Result<types::ConnectResponse, ApiError> {
    let plan = connect::plan(client, &home(), &mcp_url(endpoints))?;
    connect::apply(&plan)?;
    let action = if plan.connected {
        "already_connected"
    } else {
        "connected"
    };
    Ok(plan_view(plan, action))
}

/// `POST /api/v1/connect/{client}/undo`.
pub fn undo(client: &str) -> Result<types::ConnectUndoResponse, ApiError> {
    let path = connect::undo(client, &home())?;
    Ok(types::ConnectUndoResponse {
        success: true,
        data: types::ConnectUndone {
            client: client.to_string(),
            path: path.display().to_string(),
            action: "undone".into(),
        },
    })
}
