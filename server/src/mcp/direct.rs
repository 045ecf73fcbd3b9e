//! The direct surface (`/mcp/all`): every tool of every server the caller reaches, named
//! `server__tool`, called through the same path as `call_tool` (quarantine, pinning, the
//! token's tier, history). Refusals and upstream failures are tool results with `isError`
//! (as `call_tool` gives them); a name that is no tool is a protocol error.

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolRequestParams, CallToolResponse, Tool};

use super::result::tool_error;
use super::surface::{joined, split_joined};
use crate::app::{App, CallError, CallOrigin, Intent, PendingRecord};
use crate::upstream::CallLink;

/// Every offered tool of the servers `origin` reaches, as `server__tool`.
pub fn list(app: &App, origin: &CallOrigin) -> Vec<Tool> {
    let grant = origin.token.as_deref();
    let mut tools = Vec::new();
    for server in app.reachable_servers(grant) {
        for mut tool in app.offered_tools(&server) {
            tool.name = joined(&server, &tool.name).into();
            tools.push(tool);
        }
    }
    tools
}

/// The offered tool `server__tool` of a server that is reachable at all, as listed.
pub fn tool(app: &App, name: &str) -> Option<Tool> {
    let servers = app.reachable_servers(None);
    let (server, bare) = split_joined(name, &servers)?;
    let mut tool = app.offered_tool(server, bare)?;
    tool.name = name.to_string().into();
    Some(tool)
}

/// Call `server__tool` for `origin`; the call's history record, to be stored (none when
/// nothing was recorded), and the server's whole answer (a 2026-07-28 client gets an input-required
/// result as it is).
pub async fn call(
    app: &App,
    origin: &CallOrigin,
    request: CallToolRequestParams,
    link: &CallLink,
) -> Result<(Option<PendingRecord>, CallToolResponse), McpError> {
    let name = request.name.to_string();
    let name = name.as_str();
    let servers = app.reachable_servers(origin.token.as_deref());
    let Some((server, tool)) = split_joined(name, &servers) else {
        return Err(McpError::invalid_params(
            format!("tool '{name}' not found (tools here are named server__tool)"),
            None,
        ));
    };
    let routed = format!("{server}:{tool}");
    let recorded = app
        .call_and_record_response(&routed, request, Intent::Any, origin, None, link)
        .await;
    let record = recorded.record;
    match recorded.outcome {
        Ok(response) => Ok((record, response)),
        Err(error @ CallError::UnknownTool { .. }) => {
            Err(McpError::invalid_params(error.to_string(), None))
        }
        Err(error) => Ok((record, tool_error(&format!("{name}: {error}")).into())),
    }
}
