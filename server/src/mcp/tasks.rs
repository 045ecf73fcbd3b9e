//! The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`) through the proxy.
//!
//! - `/mcp/servers/{name}` (transparent): the surface declares the extension exactly when
//!   the upstream does (it shows the upstream's own capabilities), and `tasks/get`,
//!   `tasks/update` and `tasks/cancel` go to that upstream unchanged, on the session the
//!   client's revision uses, with the client's capabilities in `_meta`. A client that did
//!   not declare the extension gets -32021 (rmcp's gate, before these functions run); on an
//!   upstream that does not declare it the methods do not exist (-32601, as SEP-2663 says
//!   for a server without the extension).
//! - The aggregated surfaces (`/mcp`, `/mcp/call`, `/mcp/all`) do not declare it: a task
//!   id would have to name its upstream, and the retrieve-tools surface calls upstream
//!   tools from inside `call_tool`. Their clients' capabilities reach upstreams without
//!   the extension ([`without_tasks`]), so an upstream never creates a task the client
//!   could not poll: a task-capable tool runs synchronously, a task-only tool answers
//!   -32021 naming the extension.

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CancelTaskParams, CancelTaskRequest, ClientCapabilities, ClientRequest, GetTaskParams,
    GetTaskRequest, GetTaskResult, ServerResult, TASKS_EXTENSION_ID, UpdateTaskParams,
    UpdateTaskRequest,
};

use super::catalog::{Asker, Catalog};
use super::surface::Surface;

/// `capabilities` without the tasks extension (what an aggregated surface passes on).
pub fn without_tasks(mut capabilities: ClientCapabilities) -> ClientCapabilities {
    if let Some(extensions) = capabilities.extensions.as_mut() {
        extensions.remove(TASKS_EXTENSION_ID);
        if extensions.is_empty() {
            capabilities.extensions = None;
        }
    }
    capabilities
}

/// The upstream a tasks request on `surface` goes to; only the transparent surface has
/// one (rmcp answers -32601 elsewhere, since those surfaces do not declare the extension).
fn upstream(surface: &Surface) -> Result<&str, McpError> {
    match surface {
        Surface::Server(server) => Ok(server),
        Surface::Retrieve | Surface::All => {
            Err(McpError::method_not_found::<rmcp::model::GetTaskMethod>())
        }
    }
}

/// `tasks/get` on `surface`: the upstream's task, as it reports it.
pub async fn get(
    catalog: &Catalog,
    surface: &Surface,
    mut params: GetTaskParams,
    asker: &Asker<'_>,
) -> Result<GetTaskResult, McpError> {
    // The proxy sets the request's `_meta` for the session it goes out on.
    params.meta = None;
    let request = ClientRequest::GetTaskRequest(GetTaskRequest::new(params));
    match catalog.forward(upstream(surface)?, request, asker).await? {
        ServerResult::GetTaskResult(result) => Ok(result),
        other => Err(unexpected("tasks/get", &other)),
    }
}

/// `tasks/update` on `surface`: the client's answers, to the upstream.
pub async fn update(
    catalog: &Catalog,
    surface: &Surface,
    mut params: UpdateTaskParams,
    asker: &Asker<'_>,
) -> Result<(), McpError> {
    params.meta = None;
    let request = ClientRequest::UpdateTaskRequest(UpdateTaskRequest::new(params));
    acknowledged(catalog, surface, request, asker).await
}

/// `tasks/cancel` on `surface`: to the upstream, which acknowledges at once.
pub async fn cancel(
    catalog: &Catalog,
    surface: &Surface,
    mut params: CancelTaskParams,
    asker: &Asker<'_>,
) -> Result<(), McpError> {
    params.meta = None;
    let request = ClientRequest::CancelTaskRequest(CancelTaskRequest::new(params));
    acknowledged(catalog, surface, request, asker).await
}

/// Forward `request` (answered by an empty acknowledgement) to the surface's upstream.
async fn acknowledged(
    catalog: &Catalog,
    surface: &Surface,
    request: ClientRequest,
    asker: &Asker<'_>,
) -> Result<(), McpError> {
    catalog
        .forward(upstream(surface)?, request, asker)
        .await
        .map(|_| ())
}

/// An upstream answered `method` with a result of another kind.
fn unexpected(method: &str, result: &ServerResult) -> McpError {
    let kind = serde_json::to_value(result)
        .ok()
        .and_then(|v| v.get("resultType").cloned())
        .unwrap_or_default();
    McpError::internal_error(
        format!("the upstream answered {method} with an unexpected result (resultType {kind})"),
        None,
    )
}
