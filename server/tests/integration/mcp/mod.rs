//! `/mcp` end to end with a real MCP client (rmcp) through the proxy to real upstreams, by
//! concern: the tools, the security around them, the transport.

use serde_json::Value;

use crate::common::*;

mod security;
mod tools;
mod transport;

/// A tool result's text content as JSON.
fn parsed(result: &rmcp::model::CallToolResult) -> Value {
    serde_json::from_str(&text_of(result)).expect("JSON text content")
}

/// End MCP session `sid` with DELETE, which must succeed.
pub(super) async fn delete_session(server: &TestServer, sid: &str) {
    let deleted = raw()
        .delete(format!("{}/mcp", server.url()))
        .header("mcp-session-id", sid)
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{}", deleted.status());
}

/// One POST to `/mcp` on `session`: (status, content type, the JSON-RPC response).
pub(super) async fn mcp_post(
    server: &TestServer,
    session: Option<&str>,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, String, Value) {
    let mut req = raw()
        .post(format!("{}/mcp", server.url()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.json(&body).send().await.expect("send");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.expect("body");
    let message = if content_type.starts_with("text/event-stream") {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .rfind(|m| m.get("id").is_some())
            .unwrap_or(Value::Null)
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    (status, content_type, message)
}
