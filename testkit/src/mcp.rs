//! MCP bodies as tests read them: the text of a tool result, and the JSON-RPC messages of a
//! raw streamable-HTTP `/mcp` response (one JSON document, a batch, or an SSE stream).

use serde_json::Value;

/// The first text content of a tool result (empty when it has none).
pub fn text_of(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| match c {
            rmcp::model::ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The JSON-RPC messages of a `/mcp` response body: one JSON document (an array is a
/// batch), or the `data:` lines of an SSE stream.
pub fn messages_of(text: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return match v {
            Value::Array(items) => items,
            other => vec![other],
        };
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}
