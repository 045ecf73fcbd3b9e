//! `ProxyMcp`: the rmcp `ServerHandler` behind `/mcp`, one instance per MCP session. It
//! lists the built-in tools and dispatches calls to them; the proxying itself goes through
//! `App::call_tool`, the same path REST uses.

use std::sync::{Arc, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use super::truncate::{ResponseCache, Truncated};
use super::{builtin, manage, search};
use crate::app::{App, CallError, CallOrigin, Intent};

/// Who is on the other end of a session.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    /// `Mcp-Session-Id`.
    pub id: Option<String>,
    /// `clientInfo.name` from initialize.
    pub client_name: Option<String>,
    /// `clientInfo.version` from initialize.
    pub client_version: Option<String>,
}

/// The MCP handler of one session.
pub struct ProxyMcp {
    app: Arc<App>,
    cache: Arc<ResponseCache>,
    session: OnceLock<SessionInfo>,
}

impl ProxyMcp {
    /// A handler for a new session.
    pub fn new(app: Arc<App>, cache: Arc<ResponseCache>) -> Self {
        Self {
            app,
            cache,
            session: OnceLock::new(),
        }
    }

    /// Learn the session id and client info from the first request that carries them.
    fn note_session(
        &self,
        extensions: &rmcp::model::Extensions,
        peer: &rmcp::service::Peer<RoleServer>,
    ) {
        if self.session.get().is_some() {
            return;
        }
        let found = extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.headers.get("mcp-session-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let Some(id) = found else { return };
        // get_or_init: a concurrent request waits until the session is open, so none of its
        // calls can be recorded against a session storage has not seen yet.
        self.session.get_or_init(|| {
            let info = peer.peer_info();
            let client = info.as_ref().map(|i| &i.client_info);
            let session = SessionInfo {
                id: Some(id.clone()),
                client_name: client.map(|c| c.name.clone()),
                client_version: client.map(|c| c.version.clone()),
            };
            self.app.open_session(
                &id,
                session.client_name.clone(),
                session.client_version.clone(),
            );
            session
        });
    }

    /// The session, as far as known.
    pub fn session(&self) -> SessionInfo {
        self.session.get().cloned().unwrap_or_default()
    }

    async fn call(&self, args: &Map<String, Value>, intent: Intent) -> CallToolResult {
        let Some(name) = args.get("name").and_then(Value::as_str) else {
            return tool_error("missing required argument `name` (`server:tool`)");
        };
        let arguments = match call_arguments(args) {
            Ok(a) => a,
            Err(message) => return tool_error(&message),
        };
        let session = self.session();
        let origin = CallOrigin {
            session_id: session.id,
            client_name: session.client_name,
            client_version: session.client_version,
        };
        match self
            .app
            .call_and_record(name, arguments, intent, &origin, None)
            .await
            .outcome
        {
            Ok(result) => self.limit(name, result),
            Err(CallError::Quarantined(server)) => {
                let mut blocked = json_result(json!({
                    "status": "QUARANTINED_SERVER_BLOCKED",
                    "serverName": server,
                    "toolName": name,
                    "message": format!("server '{server}' is quarantined — approve it first. Quarantined servers are never connected; a person must review and approve it (POST /api/v1/servers/{server}/unquarantine)."),
                }));
                blocked.is_error = Some(true);
                blocked
            }
            Err(e) => tool_error(&format!("{name}: {e}")),
        }
    }

    /// Truncate an over-long result and cache the whole for `read_cache`.
    fn limit(&self, name: &str, result: CallToolResult) -> CallToolResult {
        let limit = usize::try_from(self.app.config().tool_response_limit).unwrap_or(0);
        if limit == 0 || surely_within(&result, limit) {
            return result;
        }
        let Ok(text) = serde_json::to_string(&result) else {
            return result;
        };
        match self.cache.truncate(name, text, limit) {
            Truncated::Whole(_) => result,
            Truncated::Cut { text, .. } => {
                let mut cut = CallToolResult::success(vec![ContentBlock::text(text)]);
                cut.is_error = result.is_error;
                cut
            }
        }
    }

    fn read_cache(&self, args: &Map<String, Value>) -> CallToolResult {
        let Some(key) = args.get("key").and_then(Value::as_str) else {
            return tool_error("missing required argument `key`");
        };
        let offset = args.get("offset").and_then(Value::as_i64).unwrap_or(0);
        let limit = args.get("limit").and_then(Value::as_i64).unwrap_or(50);
        match self.cache.read(key, offset, limit) {
            Ok(page) => json_result(page),
            Err(e) => tool_error(&e.to_string()),
        }
    }
}

/// Whether `result`'s JSON certainly fits in `limit` characters, judged without
/// serializing it: text items only, each escaping to at most 6 characters per byte.
fn surely_within(result: &CallToolResult, limit: usize) -> bool {
    if result.structured_content.is_some() || result.meta.is_some() {
        return false;
    }
    let mut bound = 256usize;
    for item in &result.content {
        match item {
            ContentBlock::Text(t) => {
                bound = bound.saturating_add(t.text.len().saturating_mul(6) + 64)
            }
            _ => return false,
        }
    }
    bound <= limit
}

/// `args` (object) wins over `args_json` (a JSON object in a string); neither means none.
fn call_arguments(args: &Map<String, Value>) -> Result<Option<Map<String, Value>>, String> {
    match (args.get("args"), args.get("args_json")) {
        (Some(Value::Object(map)), _) => Ok(Some(map.clone())),
        (Some(Value::Null) | None, Some(Value::String(text))) if !text.trim().is_empty() => {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                Ok(_) => Err("args_json must be a JSON object".into()),
                Err(e) => Err(format!("args_json is not valid JSON: {e}")),
            }
        }
        (Some(Value::Null) | None, _) => Ok(None),
        (Some(_), _) => Err("args must be an object".into()),
    }
}

/// A successful result whose one text item is `value` as JSON.
pub fn json_result(value: Value) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(value.to_string())])
}

/// A tool-level error the agent can read.
pub fn tool_error(message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.to_string())])
}

impl Drop for ProxyMcp {
    /// rmcp drops a session's handler when the session ends (DELETE, expiry, shutdown).
    fn drop(&mut self) {
        if let Some(id) = self.session.get().and_then(|s| s.id.as_deref()) {
            self.app.close_session(id);
        }
    }
}

impl ServerHandler for ProxyMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("mcpproxy", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "mcpproxy fronts many MCP servers. Find tools with retrieve_tools, then call them by `server:tool` name with call_tool_read / call_tool_write / call_tool_destructive (as retrieve_tools' call_with says).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.note_session(&context.extensions, &context.peer);
        Ok(ListToolsResult::with_all_items(builtin::tools(
            &self.app.config(),
        )))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        builtin::tools(&self.app.config())
            .into_iter()
            .find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.note_session(&context.extensions, &context.peer);
        let args = request.arguments.unwrap_or_default();
        let config = self.app.config();
        let result = match request.name.as_ref() {
            "retrieve_tools" => search::retrieve(&self.app, &args),
            "describe_tool" => search::describe(&self.app, &args),
            "call_tool" => self.call(&args, Intent::Any).await,
            "call_tool_read" => self.call(&args, Intent::Read).await,
            "call_tool_write" => self.call(&args, Intent::Write).await,
            "call_tool_destructive" => self.call(&args, Intent::Destructive).await,
            "read_cache" => self.read_cache(&args),
            "upstream_servers" if !config.disable_management => {
                manage::upstream_servers(&self.app, &args).await
            }
            "quarantine_security" if !config.disable_management => {
                manage::quarantine_security(&self.app, &args).await
            }
            other => {
                return Err(McpError::invalid_params(
                    format!("unknown tool: {other}"),
                    None,
                ));
            }
        };
        let mut result = result;
        // Upstream results from older servers carry no resultType; 2026-07-28 clients require
        // it (rmcp strips it again for peers on older revisions).
        if result.result_type.is_none() {
            result.result_type = Some(rmcp::model::ResultType::COMPLETE);
        }
        Ok(result.into())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.note_session(&context.extensions, &context.peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_precheck_is_a_safe_upper_bound() {
        let small = CallToolResult::success(vec![ContentBlock::text("Echo: hi")]);
        assert!(surely_within(&small, 20_000));
        assert!(serde_json::to_string(&small).expect("json").len() <= 20_000);
        // Worst-case escaping: control characters become \u00XX (6 chars per byte).
        let nasty = CallToolResult::success(vec![ContentBlock::text("\u{1}".repeat(3000))]);
        let real = serde_json::to_string(&nasty).expect("json").chars().count();
        assert!(
            !surely_within(&nasty, real - 1),
            "the bound must never claim a fit it lacks"
        );
        let structured = CallToolResult::structured(json!({"a": 1}));
        assert!(
            !surely_within(&structured, 1_000_000),
            "unknown sizes are measured"
        );
    }

    #[test]
    fn args_object_wins_and_args_json_is_parsed() {
        let both: Map<String, Value> =
            serde_json::from_value(json!({"args": {"a": 1}, "args_json": "{\"a\":2}"}))
                .expect("map");
        assert_eq!(
            call_arguments(&both),
            Ok(Some(serde_json::from_value(json!({"a": 1})).expect("map")))
        );
        let text: Map<String, Value> =
            serde_json::from_value(json!({"args_json": "{\"a\":2}"})).expect("map");
        assert_eq!(
            call_arguments(&text),
            Ok(Some(serde_json::from_value(json!({"a": 2})).expect("map")))
        );
        let bad: Map<String, Value> =
            serde_json::from_value(json!({"args_json": "{nope"})).expect("map");
        assert!(call_arguments(&bad).is_err());
        let list: Map<String, Value> =
            serde_json::from_value(json!({"args_json": "[1]"})).expect("map");
        assert!(call_arguments(&list).is_err());
        assert_eq!(call_arguments(&Map::new()), Ok(None));
    }
}
