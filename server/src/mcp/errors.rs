//! The one mapping from the proxy's domain errors to MCP: what a client sees as a JSON-RPC
//! error when a request cannot be served ([`to_mcp`]), and what an agent reads in a failed
//! built-in tool's result ([`app_error`]). Refusals by policy keep the proxy's wording (it
//! names the server and what a person can do); an upstream's own JSON-RPC error passes as
//! the upstream sent it.
//!
//! | call error | JSON-RPC error |
//! |---|---|
//! | bad name, unknown server or tool, outside the token's servers | -32602 invalid params |
//! | quarantined, disabled, changed, held by the scanner, wrong intent, above the tier | -32600 invalid request |
//! | the upstream's own JSON-RPC error | passed on (code, message, data) |
//! | any other upstream failure | -32603 internal error |

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ErrorCode};

use super::result::tool_error;
use crate::app::{AppError, CallError};
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

/// A failed management action as the tool error an agent reads: the field problems of an
/// invalid configuration listed, anything else in the domain error's own words.
pub fn app_error(e: AppError) -> CallToolResult {
    match e {
        AppError::Invalid(problems) => tool_error(&format!(
            "invalid server configuration: {}",
            problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        other => tool_error(&other.to_string()),
    }
}
