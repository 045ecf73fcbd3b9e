//! The two shapes of a built-in tool's answer: a JSON value, or an error the agent can read.
//! A leaf: the dispatcher and every built-in tool (`manage`, `search`, …) use it, and it
//! uses none of them.

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// A successful result whose one text item is `value` as JSON.
pub fn json_result(value: Value) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(value.to_string())])
}

/// A tool-level error the agent can read.
pub fn tool_error(message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.to_string())])
}
