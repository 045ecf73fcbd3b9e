//! The built-in tools at work: one dispatcher shared by both ways a `tools/call` reaches
//! the proxy — rmcp's session transport ([`super::ProxyMcp`]) and the JSON fast path
//! ([`super::fast`]). Proxied calls go through `App::call_and_record`, the same path REST
//! uses; over-long results are truncated and cached for `read_cache`.
//!
//! An agent token (the caller's [`Grant`]) limits what is offered: the management tools are
//! not (they reach every server and its configuration), nor are the call variants above the
//! token's tier; searches and definitions cover only its servers, and every call is checked
//! by `App::call_tool`.

use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock, TextContent, Tool};
use serde_json::{Map, Value, json};

use super::result::{json_result, tool_error};
use super::truncate::{Cut, ResponseCache, head};
use super::{builtin, manage, search};
use crate::app::{
    App, Builtin, CallError, CallOrigin, Grant, Intent, PendingRecord, SEARCH_WAIT, Tier,
    UnknownBuiltin,
};
use crate::storage::{ActivityKind, Actor};
use crate::tokens::Kind;
use crate::upstream::CallLink;

/// Whether built-in tool `name` is offered to an agent token with `grant`.
fn offered_to(grant: &Grant, name: &str) -> bool {
    match name.parse::<Builtin>() {
        Ok(Builtin::CallToolWrite) => grant.allows(Tier::Write),
        Ok(Builtin::CallToolDestructive) => grant.allows(Tier::Destructive),
        Ok(other) => !other.is_management(),
        Err(_) => false,
    }
}

/// The built-in tools, bound to the application.
pub struct Builtins {
    app: Arc<App>,
    cache: Arc<ResponseCache>,
}

impl Builtins {
    /// Tools over `app`, caching truncated responses in `cache`.
    pub fn new(app: Arc<App>, cache: Arc<ResponseCache>) -> Self {
        Self { app, cache }
    }

    /// The tools offered to `origin` under the current configuration.
    pub fn list(&self, origin: &CallOrigin) -> Vec<Tool> {
        let tools = builtin::tools(&self.app.settings());
        match origin.token.as_deref() {
            None => tools,
            Some(grant) => tools
                .into_iter()
                .filter(|t| offered_to(grant, &t.name))
                .collect(),
        }
    }

    /// Records what a management tool changed in the activity log, with the MCP session that
    /// asked (reads such as `list` or `tail_log` are not actions; agent tokens never get here).
    async fn audit(
        &self,
        session: &CallOrigin,
        args: &Map<String, Value>,
        result: &CallToolResult,
    ) {
        let Some(action) = args
            .get("operation")
            .and_then(Value::as_str)
            .and_then(manage::audited_action)
        else {
            return;
        };
        let actor = Actor::McpSession {
            id: session
                .session_id
                .clone()
                .unwrap_or_else(|| "(no session id)".to_string()),
        };
        let error = (result.is_error == Some(true)).then(|| {
            result
                .content
                .iter()
                .find_map(|c| c.as_text().map(|t| t.text.clone()))
                .unwrap_or_default()
        });
        self.app
            .record_action(
                &actor,
                ActivityKind::ServerChange,
                action,
                args.get("name").and_then(Value::as_str),
                error,
            )
            .await;
    }

    /// Run built-in tool `name` for `session`. An unknown (or hidden) tool is a protocol
    /// error; everything else, failures included, is a tool result.
    pub async fn call(
        &self,
        session: &CallOrigin,
        name: &str,
        args: Map<String, Value>,
        link: &CallLink,
    ) -> Result<CallToolResult, McpError> {
        // One snapshot of the settings for the whole call.
        let settings = self.app.settings();
        let management = !settings.disable_management;
        let grant = session.token.as_deref();
        let builtin = name
            .parse::<Builtin>()
            .map_err(|unknown| McpError::invalid_params(unknown.to_string(), None))?;
        if let Some(grant) = grant
            && builtin.is_management()
        {
            return Ok(tool_error(&format!(
                "{name} is not available to agent tokens (token '{}'); a person manages servers through the REST API or the CLI",
                grant.name
            )));
        }
        if matches!(builtin, Builtin::RetrieveTools | Builtin::DescribeTool) {
            // Servers still coming up (right after start) are waited for, briefly.
            let covers = |server: &str| grant.is_none_or(|g| g.allows_server(server));
            self.app.settle(covers, SEARCH_WAIT).await;
        }
        // The history record of a proxied call, stored with the answer's tokens.
        let mut recorded = None;
        let result = match builtin {
            Builtin::RetrieveTools => search::retrieve(&self.app, &args, grant),
            Builtin::DescribeTool => search::describe(&self.app, &args, grant),
            Builtin::CallTool
            | Builtin::CallToolRead
            | Builtin::CallToolWrite
            | Builtin::CallToolDestructive => {
                let intent = builtin.intent().unwrap_or(Intent::Any);
                let (record, result) = self
                    .proxy(session, &args, intent, link, settings.tool_response_limit)
                    .await;
                recorded = record;
                result
            }
            Builtin::ReadCache => self.read_cache(&args, settings.tool_response_limit),
            Builtin::UpstreamServers if management => {
                let result = manage::upstream_servers(&self.app, &args).await;
                self.audit(session, &args, &result).await;
                result
            }
            Builtin::QuarantineSecurity if management => {
                let result = manage::quarantine_security(&self.app, &args).await;
                self.audit(session, &args, &result).await;
                result
            }
            Builtin::UpstreamServers | Builtin::QuarantineSecurity => {
                return Err(McpError::invalid_params(
                    UnknownBuiltin(name.to_string()).to_string(),
                    None,
                ));
            }
        };
        let kind = match builtin {
            Builtin::RetrieveTools => Kind::Retrieve,
            b if b.intent().is_some() => Kind::ToolResult,
            _ => Kind::OtherBuiltin,
        };
        self.app
            .account(session.session_id.as_deref(), recorded, kind, &result);
        Ok(result)
    }

    /// `call_tool*`: route `args.name` upstream with `args.args` / `args.args_json`; a
    /// result longer than `limit` characters is truncated (0: never). Returns the call's
    /// history record, to be stored (none when nothing was recorded), and the answer.
    async fn proxy(
        &self,
        session: &CallOrigin,
        args: &Map<String, Value>,
        intent: Intent,
        link: &CallLink,
        limit: usize,
    ) -> (Option<PendingRecord>, CallToolResult) {
        let Some(name) = args.get("name").and_then(Value::as_str) else {
            return (
                None,
                tool_error("missing required argument `name` (`server:tool`)"),
            );
        };
        let arguments = match call_arguments(args) {
            Ok(a) => a,
            Err(message) => return (None, tool_error(&message)),
        };
        let recorded = self
            .app
            .call_and_record(name, arguments, intent, session, None, link)
            .await;
        let answer = match recorded.outcome {
            Ok(result) => self.limit(name, result, limit),
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
        };
        (recorded.record, answer)
    }

    /// Truncate an over-long result and cache the whole for `read_cache`. A result of text
    /// items keeps its shape: the tool's own text (the items joined by newlines) is cut, the
    /// items past the cut are dropped and the notice ends the last one shown (structured
    /// content, which would carry everything again, is dropped too). Any other result
    /// (images, audio, resources, or a large structured part) is cut as its JSON.
    fn limit(&self, name: &str, result: CallToolResult, limit: usize) -> CallToolResult {
        if limit == 0 || surely_within(&result, limit) {
            return result;
        }
        let texts: Option<Vec<&TextContent>> =
            result.content.iter().map(ContentBlock::as_text).collect();
        if let Some(texts) = texts {
            let joined = texts
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            if let Some(cut) = self.cache.truncate(name, &joined, limit) {
                let mut shown = CallToolResult::success(cut_items(&texts, &cut));
                shown.is_error = result.is_error;
                return shown;
            }
            if result.structured_content.is_none() && result.meta.is_none() {
                return result;
            }
        }
        let Ok(text) = serde_json::to_string(&result) else {
            return result;
        };
        match self.cache.truncate(name, &text, limit) {
            None => result,
            Some(cut) => {
                let mut shown = CallToolResult::success(vec![ContentBlock::text(cut.apply(&text))]);
                shown.is_error = result.is_error;
                shown
            }
        }
    }

    /// `read_cache`; a text page is at most `limit` characters by default
    /// (`tool_response_limit`).
    fn read_cache(&self, args: &Map<String, Value>, limit: usize) -> CallToolResult {
        let Some(key) = args.get("key").and_then(Value::as_str) else {
            return tool_error("missing required argument `key`");
        };
        let offset = args.get("offset").and_then(Value::as_i64).unwrap_or(0);
        let asked = args.get("limit").and_then(Value::as_i64);
        match self.cache.read(key, offset, asked, limit) {
            Ok(page) => json_result(page),
            Err(e) => tool_error(&e.to_string()),
        }
    }
}

/// The text items shown for `cut` of their joined text: whole items up to the cut, then the
/// cut item (annotations kept) ending with the notice.
fn cut_items(texts: &[&TextContent], cut: &Cut) -> Vec<ContentBlock> {
    let mut items = Vec::new();
    let mut left = cut.kept;
    for item in texts {
        let len = item.text.chars().count();
        if len >= left {
            let mut last = (*item).clone();
            last.text = format!("{}{}", head(&item.text, left), cut.notice);
            items.push(ContentBlock::Text(last));
            break;
        }
        items.push(ContentBlock::Text((*item).clone()));
        // The item and the newline that joined it to the next.
        left -= len + 1;
    }
    items
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
    fn a_cut_keeps_the_text_items_up_to_the_cut() {
        let texts = [
            TextContent::new("first"),
            TextContent::new("second item"),
            TextContent::new("third"),
        ];
        let refs: Vec<&TextContent> = texts.iter().collect();
        // "first\nsecond item\nthird": 9 characters reach into "second item".
        let cut = Cut {
            kept: 9,
            notice: "[more]".into(),
            key: "k".into(),
        };
        let items = cut_items(&refs, &cut);
        let shown: Vec<&str> = items
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect();
        assert_eq!(shown, ["first", "sec[more]"]);
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
