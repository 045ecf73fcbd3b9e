//! The one mapping from the proxy's call errors to MCP: what a client sees as a JSON-RPC
//! error when a request cannot be served. Refusals by policy keep the proxy's wording (it
//! names the server and what a person can do); an upstream's own JSON-RPC error passes as
//! the upstream sent it.

use rmcp::ErrorData as McpError;
use rmcp::model::ErrorCode;

use crate::app::CallError;
use crate::upstream::UpstreamError;

/// The JSON-RPC error for `error`.
pub fn to_mcp(error: CallError) -> McpError {
    let message = error.to_string();
    match error {
        CallError::BadName(_)
        | CallError::UnknownServer(_)
        | CallError::UnknownTool { .. }
        | CallError::OutOfScope { .. } => McpError::invalid_params(message, None),
        CallError::Quarantined(_)
        | CallError::Disabled(_)
        | CallError::Changed { .. }
        | CallError::HeldByScanner { .. }
        | CallError::IntentMismatch { .. }
        | CallError::AboveTier { .. } => McpError::invalid_request(message, None),
        CallError::Upstream(UpstreamError::Refused { error, .. }) => error,
        CallError::Upstream(UpstreamError::ToolCall {
            code: Some(code),
            data,
            ..
        }) => McpError::new(ErrorCode(code), message, data),
        CallError::Upstream(_) => McpError::internal_error(message, None),
    }
}
