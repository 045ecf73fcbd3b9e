//! The built-in tools' definitions: names, descriptions, input schemas and annotations.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::app::Builtin;
use crate::config::Settings;

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

fn call_schema(what: &str) -> Arc<JsonObject> {
    schema(json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": format!("The tool to call, as `server:tool` (from retrieve_tools). {what}")},
            "args": {"type": "object", "description": "Arguments for the tool, as an object."},
            "args_json": {"type": "string", "description": "Arguments as a JSON string (legacy; `args` wins when both are given)."}
        },
        "required": ["name"]
    }))
}

/// The built-in tools offered under `config` (management tools are hidden by
/// `disable_management`; `read_only_mode` limits them to listing).
pub fn tools(settings: &Settings) -> Vec<Tool> {
    let mut tools = vec![
        Tool::new(
            Builtin::RetrieveTools.as_str(),
            "Search every upstream tool by what you want to do and get the best matches, ranked (BM25), each with its `server:tool` name, description, input schema and the call_tool variant to use (`call_with`). Call this first, then call a tool by name.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "What you want to do, in plain words, e.g. \"create a github issue\"."},
                    "limit": {"type": "integer", "description": "How many tools to return (default tools_limit, at most 100)."},
                    "detail": {"type": "string", "enum": ["compact", "full"], "description": "full (default): each tool's description, input schema and annotations; compact: its name, a one-line description and its argument names (* = required) — far fewer tokens; describe_tool gives a tool's full schema."}
                },
                "required": ["query"]
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true)),
        Tool::new(
            Builtin::CallTool.as_str(),
            "Call an upstream tool by its `server:tool` name with arguments. Prefer call_tool_read / call_tool_write / call_tool_destructive, which state the call's intent.",
            call_schema("Any tool."),
        ),
        Tool::new(
            Builtin::CallToolRead.as_str(),
            "Call an upstream tool that only reads (retrieve_tools says call_with: call_tool_read). Refused for tools annotated destructive.",
            call_schema("Read-only tools."),
        ),
        Tool::new(
            Builtin::CallToolWrite.as_str(),
            "Call an upstream tool that changes something but is not destructive. Refused for tools annotated destructive.",
            call_schema("Tools that write."),
        ),
        Tool::new(
            Builtin::CallToolDestructive.as_str(),
            "Call an upstream tool annotated destructive (deletes or overwrites). Make sure the user wants this.",
            call_schema("Destructive tools."),
        ),
        Tool::new(
            Builtin::DescribeTool.as_str(),
            "Full definitions (input and output schemas, annotations) of up to 5 upstream tools by `server:tool` name.",
            schema(json!({
                "type": "object",
                "properties": {"names": {"type": "array", "items": {"type": "string"}, "description": "Up to 5 `server:tool` names."}},
                "required": ["names"]
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true)),
        Tool::new(
            Builtin::ReadCache.as_str(),
            "Page through a tool response that was too long and was truncated; the truncation notice gives the key and where to go on. A response holding JSON records is paged by records ({records, meta}); any other text by characters ({text, meta}, meta.next_offset is where the next page starts).",
            schema(json!({
                "type": "object",
                "properties": {
                    "key": {"type": "string", "description": "The cache key from the truncation notice."},
                    "offset": {"type": "integer", "description": "First record, or first character of a text (default 0)."},
                    "limit": {"type": "integer", "description": "Records per page, 1..1000 (default 50); for a text, characters per page, 1..1000000 (default tool_response_limit)."}
                },
                "required": ["key"]
            })),
        )
        .with_annotations(ToolAnnotations::new().read_only(true)),
    ];
    if !settings.disable_management {
        tools.push(Tool::new(
            Builtin::UpstreamServers.as_str(),
            "Manage upstream MCP servers: list, add, remove, update, patch, enable, disable, restart, tail_log. A server you add is quarantined until a person approves it; an update or patch that changes what a server runs or connects to (command, args, env, url, headers, protocol, working_dir, isolation) sends it back to quarantine, stopped, until a person approves the change. Fields use the config file's names (`args` array, `env` and `headers` objects, `isolation` object) or the `*_json` string forms; any other argument is refused. In read-only mode only list works.",
            schema(json!({
                "type": "object",
                "properties": {
                    "operation": {"type": "string", "enum": ["list", "add", "remove", "update", "patch", "enable", "disable", "restart", "tail_log"]},
                    "name": {"type": "string", "pattern": crate::config::SERVER_NAME_PATTERN, "description": "Server name (all operations but list): letters, digits, '.', '_', '-', at most 64."},
                    "command": {"type": "string", "description": "stdio: the command."},
                    "args": {"type": "array", "items": {"type": "string"}, "description": "stdio: the arguments (replaces them on update/patch)."},
                    "args_json": {"type": "string", "description": "stdio: the arguments as a JSON array string (the Go original's form)."},
                    "env": {"type": "object", "additionalProperties": {"type": "string"}, "description": "stdio: environment variables (replaces them on update/patch)."},
                    "env_json": {"type": "string", "description": "stdio: environment as a JSON object string."},
                    "url": {"type": "string", "description": "http/sse: the server URL."},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "http/sse: HTTP headers (replaces them on update/patch)."},
                    "headers_json": {"type": "string", "description": "http/sse: headers as a JSON object string."},
                    "protocol": {"type": "string", "enum": ["stdio", "http", "sse", "streamable-http", "auto"]},
                    "working_dir": {"type": "string"},
                    "isolation": {"type": "object", "description": "Per-server Docker isolation settings (image, network_mode, …)."},
                    "isolation_json": {"type": "string", "description": "Docker isolation settings as a JSON object string."},
                    "enabled": {"type": "boolean", "description": "add/update/patch: enabled flag (default true on add)."},
                    "lines": {"type": "integer", "description": "tail_log: how many lines (default 50, at most 500)."}
                },
                "required": ["operation"],
                "additionalProperties": false
            })),
        ));
        tools.push(Tool::new(
            Builtin::QuarantineSecurity.as_str(),
            "Review quarantined servers: list_quarantined; inspect_quarantined, which never starts or contacts the server — it shows what connecting would run (command, args, URL; secrets masked), the settings a person last approved if they changed, and the last tools known with warnings about suspicious descriptions; quarantine_server. Connecting to inspect and approving are a person's actions (REST API, CLI or UI).",
            schema(json!({
                "type": "object",
                "properties": {
                    "operation": {"type": "string", "enum": ["list_quarantined", "inspect_quarantined", "quarantine_server"]},
                    "name": {"type": "string", "description": "Server name (inspect_quarantined, quarantine_server)."}
                },
                "required": ["operation"],
                "additionalProperties": false
            })),
        ));
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(tool: &str) -> Vec<String> {
        let tools = tools(&Settings::default());
        let found = tools
            .iter()
            .find(|t| t.name == tool)
            .unwrap_or_else(|| panic!("{tool} is offered"));
        let mut keys: Vec<String> = found.input_schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    #[test]
    fn management_schemas_list_exactly_the_accepted_arguments() {
        for (tool, accepted) in [
            (
                Builtin::UpstreamServers.as_str(),
                &super::super::manage::UPSTREAM_SERVERS_ARGS[..],
            ),
            (
                Builtin::QuarantineSecurity.as_str(),
                &super::super::manage::QUARANTINE_SECURITY_ARGS[..],
            ),
        ] {
            let mut accepted: Vec<String> = accepted.iter().map(|s| s.to_string()).collect();
            accepted.sort();
            assert_eq!(properties(tool), accepted, "{tool}");
        }
    }
}
