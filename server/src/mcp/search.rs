//! `retrieve_tools` and `describe_tool`: ranked search over the live catalogue (each hit in
//! full, or compact: name, one line, argument names), and full definitions by name.

use rmcp::model::{CallToolResult, Tool};
use serde_json::{Map, Value, json};

use super::result::{json_result, tool_error};
use crate::app::{App, Builtin, Grant, split_name, tool_kind};

/// The call_tool variant that fits a tool's annotations.
pub fn call_with(tool: &Tool) -> &'static str {
    Builtin::for_tier(tool_kind(tool)).as_str()
}

/// How much of each tool a `retrieve_tools` answer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Description, input schema, annotations and score (the default, as the Go original).
    Full,
    /// Name, a one-line description and the argument names; `describe_tool` gives the rest.
    Compact,
}

impl Detail {
    /// `args.detail`: absent means [`Detail::Full`].
    fn of(args: &Map<String, Value>) -> Result<Self, String> {
        match args.get("detail") {
            None | Some(Value::Null) => Ok(Self::Full),
            Some(Value::String(s)) if s == "full" => Ok(Self::Full),
            Some(Value::String(s)) if s == "compact" => Ok(Self::Compact),
            Some(other) => Err(format!(
                "`detail` must be \"compact\" or \"full\", not {other}"
            )),
        }
    }
}

/// What a compact answer tells the agent about its entries.
const COMPACT_HINT: &str = "args: the tool's argument names, * = required. Call describe_tool with the names for full schemas before calling a tool whose arguments are not obvious.";

/// The longest one-line description a compact entry shows, in characters.
const ONE_LINE: usize = 160;

/// `retrieve_tools {query, limit, detail}`: with an agent token, only its servers' tools.
pub fn retrieve(app: &App, args: &Map<String, Value>, grant: Option<&Grant>) -> CallToolResult {
    let Some(query) = args.get("query").and_then(Value::as_str) else {
        return tool_error("missing required argument `query`");
    };
    let detail = match Detail::of(args) {
        Ok(d) => d,
        Err(message) => return tool_error(&message),
    };
    let default_limit = app.settings().tools_limit;
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
        .map(|(hit, tool)| entry(&hit.server, &tool, hit.score, detail))
        .collect();
    json_result(answer(query, tools, detail))
}

/// A `retrieve_tools` answer of `tools` (entries made by [`entry`]).
pub fn answer(query: &str, tools: Vec<Value>, detail: Detail) -> Value {
    let mut answer = json!({ "total": tools.len(), "query": query, "tools": &tools });
    if detail == Detail::Compact && !tools.is_empty() {
        answer["hint"] = Value::from(COMPACT_HINT);
    }
    answer
}

/// One tool of a `retrieve_tools` answer.
pub fn entry(server: &str, tool: &Tool, score: f64, detail: Detail) -> Value {
    let name = format!("{server}:{}", tool.name);
    let description = tool.description.as_deref().unwrap_or_default();
    if detail == Detail::Compact {
        return json!({
            "name": name,
            "description": one_line(description),
            "args": arg_names(tool),
            "call_with": call_with(tool),
        });
    }
    let mut entry = json!({
        "name": name,
        "server": server,
        "description": description,
        "inputSchema": Value::Object((*tool.input_schema).clone()),
        "score": score,
        "call_with": call_with(tool),
    });
    if let Some(a) = tool
        .annotations
        .as_ref()
        .and_then(|a| serde_json::to_value(a).ok())
    {
        entry["annotations"] = a;
    }
    entry
}

/// The first line (or sentence) of `text`, at most [`ONE_LINE`] characters.
fn one_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default().trim();
    let sentence = line
        .match_indices(". ")
        .next()
        .map_or(line, |(at, _)| &line[..=at]);
    if sentence.chars().count() <= ONE_LINE {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(ONE_LINE - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The names of `tool`'s arguments, required ones marked with `*`.
fn arg_names(tool: &Tool) -> Vec<String> {
    let required: Vec<&str> = tool
        .input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    tool.input_schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .keys()
                .map(|k| {
                    if required.contains(&k.as_str()) {
                        format!("{k}*")
                    } else {
                        k.clone()
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Tokens of a typical full `retrieve_tools` answer: the first `tools_limit` offered tools
/// (the Go original's estimate, before any real answer was counted).
pub fn typical_answer_tokens(app: &App) -> u64 {
    let limit = app.settings().tools_limit;
    let tools = app
        .all_tools(limit)
        .into_iter()
        .map(|(hit, tool)| entry(&hit.server, &tool, hit.score, Detail::Full))
        .collect();
    let answer = answer("example query", tools, Detail::Full);
    crate::tokens::count(&answer.to_string())
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
