//! `retrieve_tools` and `describe_tool`: ranked search over the live catalogue, and full
//! definitions by name.

use rmcp::model::{CallToolResult, Tool};
use serde_json::{Map, Value, json};

use super::dispatch::{json_result, tool_error};
use crate::app::{App, Grant, Tier, split_name, tool_kind};

/// The call_tool variant that fits a tool's annotations.
pub fn call_with(tool: &Tool) -> &'static str {
    match tool_kind(tool) {
        Tier::Destructive => "call_tool_destructive",
        Tier::Read => "call_tool_read",
        Tier::Write => "call_tool_write",
    }
}

/// `retrieve_tools {query, limit}`: with an agent token, only its servers' tools.
pub fn retrieve(app: &App, args: &Map<String, Value>, grant: Option<&Grant>) -> CallToolResult {
    let Some(query) = args.get("query").and_then(Value::as_str) else {
        return tool_error("missing required argument `query`");
    };
    let default_limit = usize::try_from(app.config().tools_limit).unwrap_or(15);
    let limit = args
        .get("limit")
        .and_then(Value::as_f64)
        .filter(|l| *l >= 1.0)
        .map_or(default_limit, |l| l as usize)
        .min(100);
    // A token sees a subset: rank everything, keep its servers', then cut.
    let ranked = match grant {
        None => app.search_tools(query, limit),
        Some(_) => app.search_tools(query, app.with_index(|i| i.len())),
    };
    let tools: Vec<Value> = ranked
        .into_iter()
        .filter(|(hit, _)| grant.is_none_or(|g| g.allows_server(&hit.server)))
        .take(limit)
        .map(|(hit, tool)| {
            let mut entry = json!({
                "name": format!("{}:{}", hit.server, hit.name),
                "server": hit.server,
                "description": tool.description.as_deref().unwrap_or_default(),
                "inputSchema": Value::Object((*tool.input_schema).clone()),
                "score": hit.score,
                "call_with": call_with(&tool),
            });
            if let Some(a) = tool
                .annotations
                .as_ref()
                .and_then(|a| serde_json::to_value(a).ok())
            {
                entry["annotations"] = a;
            }
            entry
        })
        .collect();
    json_result(json!({ "total": tools.len(), "query": query, "tools": tools }))
}

/// `describe_tool {names}`: up to five full definitions (an agent token's servers' only; the
/// others are "not found").
pub fn describe(app: &App, args: &Map<String, Value>, grant: Option<&Grant>) -> CallToolResult {
    let names: Vec<&str> = match args.get("names") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(one)) => vec![one.as_str()],
        _ => {
            return tool_error(
                "missing required argument `names` (an array of `server:tool` names)",
            );
        }
    };
    if names.is_empty() || names.len() > 5 {
        return tool_error("`names` takes between 1 and 5 `server:tool` names");
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match split_name(name)
            .ok()
            .filter(|(server, _)| grant.is_none_or(|g| g.allows_server(server)))
            .and_then(|(server, tool)| app.offered_tool(server, tool).map(|t| (server, t)))
        {
            Some((server, tool)) => found.push(json!({
                "name": name,
                "server": server,
                "description": tool.description.as_deref().unwrap_or_default(),
                "inputSchema": Value::Object((*tool.input_schema).clone()),
                "outputSchema": tool.output_schema.as_deref().map(|s| Value::Object(s.clone())),
                "annotations": tool.annotations.as_ref().and_then(|a| serde_json::to_value(a).ok()),
                "call_with": call_with(&tool),
            })),
            None => missing.push(name),
        }
    }
    json_result(json!({ "tools": found, "not_found": missing }))
}
