//! MCP bodies as tests read them: the text of a tool result, the JSON-RPC messages of a
//! raw streamable-HTTP `/mcp` response (one JSON document, a batch, or an SSE stream), and
//! a raw stateless 2026-07-28 request.

use std::time::Duration;

use serde_json::{Value, json};

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

/// One stateless 2026-07-28 request `method` with `params` to `url`, from a client named
/// `client` declaring `capabilities` (the revision's `_meta` keys join any already in
/// `params`), with `Mcp-Name` for `name` and any `headers`; the response body as it came
/// (read it with [`messages_of`]). Panics when the request fails.
pub async fn post_2026(
    url: &str,
    method: &str,
    name: Option<&str>,
    mut params: Value,
    (client, capabilities): (&str, Value),
    headers: &[(&str, &str)],
) -> String {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": client, "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": capabilities
    });
    match params["_meta"].as_object_mut() {
        Some(existing) => existing.extend(meta.as_object().cloned().unwrap_or_default()),
        None => params["_meta"] = meta,
    }
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", method)
        .timeout(Duration::from_secs(60))
        .json(&body);
    if let Some(name) = name {
        request = request.header("Mcp-Name", name);
    }
    for (header, value) in headers {
        request = request.header(*header, *value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("{method} body: {e}"))
}

/// The JSON-RPC answer in a response body: its last SSE `data:` line, or the body itself.
/// Panics when that is not JSON.
pub fn last_message(text: &str) -> Value {
    let last = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .rfind(|l| !l.trim().is_empty())
        .map_or(text, str::trim);
    serde_json::from_str(last).unwrap_or_else(|e| panic!("JSON-RPC answer ({e}): {text}"))
}
