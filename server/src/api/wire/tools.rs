//! Domain values → wire types for tools, search, calls, history, sessions and token stats.

use mcpproxy_api::{ApiError, types};
use serde_json::{Map, Value};

use super::count;
use crate::app::{QuerySizeSource, RecordedCall, TokenStats};
use crate::index::SearchHit;
use crate::storage::{SessionRecord, ToolCallRecord};

/// A server's identity hash in call records: the first 16 hex characters of the SHA-256 of
/// its name (stable across restarts and edits, as the Go original's `server_id` is for a name).
fn server_id(server: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(server.as_bytes()))[..16].to_string()
}

/// A recorded call on the wire; `config_path` is the file the proxy runs with.
pub fn call_record(r: ToolCallRecord, config_path: &std::path::Path) -> types::ToolCallRecord {
    // Whole nanoseconds of the measured wall time (milliseconds with a fraction).
    let duration = (r.duration_ms * 1_000_000.0).round() as i64;
    types::ToolCallRecord {
        duration,
        server_id: server_id(&r.server),
        config_path: config_path.display().to_string(),
        id: r.id,
        server_name: r.server,
        tool_name: r.tool,
        arguments: r.arguments,
        response: r.response,
        error: r.error,
        is_error: r.is_error,
        duration_ms: r.duration_ms,
        timestamp: r.timestamp,
        mcp_session_id: r.session_id,
        mcp_client_name: r.client_name,
        mcp_client_version: r.client_version,
        replayed_from: r.replayed_from,
        token_name: r.token_name,
    }
}

/// A session on the wire.
pub fn session(s: SessionRecord) -> types::Session {
    types::Session {
        id: s.id,
        client_name: s.client_name,
        client_version: s.client_version,
        status: s.status,
        start_time: s.start_time,
        last_activity: s.last_activity,
        end_time: s.end_time,
        tool_call_count: s.tool_call_count,
        token_name: s.token_name,
        total_tokens: s.total_tokens,
        has_roots: s.has_roots,
        has_sampling: s.has_sampling,
    }
}

/// `GET /api/v1/stats/tokens`.
pub fn token_stats(s: TokenStats) -> types::TokenStatsResponse {
    let tally = |t: crate::tokens::Tally| types::TokenTally {
        answers: t.answers,
        tokens: t.tokens,
    };
    types::TokenStatsResponse {
        success: true,
        data: types::TokenStats {
            total_server_tool_list_size: s.total_list,
            average_query_result_size: s.average_query,
            saved_tokens: s.saved(),
            saved_tokens_percentage: s.saved_percentage(),
            average_query_result_source: match s.average_source {
                QuerySizeSource::Observed => types::QuerySizeSource::Observed,
                QuerySizeSource::Estimate => types::QuerySizeSource::Estimate,
            },
            encoding: crate::tokens::ENCODING.into(),
            model: crate::tokens::MODEL.into(),
            retrieve_tools: tally(s.totals.retrieve),
            tool_results: tally(s.totals.tool_results),
            other_builtins: tally(s.totals.other),
            uncounted_answers: s.totals.uncounted,
            per_server_tool_list_sizes: s.per_server.into_iter().collect(),
            per_session_tokens: s.per_session.into_iter().collect(),
        },
    }
}

/// `GET /api/v1/tools`: the seed's `tools` and the Go envelope with the same list.
pub fn tool_search(
    hits: Vec<(SearchHit, rmcp::model::Tool)>,
    stats: types::ToolStats,
) -> types::ToolSearchResponse {
    let tools: Vec<types::ToolSearchHit> = hits
        .into_iter()
        .map(|(hit, tool)| types::ToolSearchHit {
            name: format!("{}:{}", hit.server, hit.name),
            server: hit.server,
            description: tool.description.as_deref().unwrap_or_default().to_string(),
            score: hit.score,
            matched_fields: hit.matched_fields.iter().map(|f| f.to_string()).collect(),
        })
        .collect();
    types::ToolSearchResponse {
        success: true,
        data: types::ToolSearchData {
            tools: tools.clone(),
            stats,
        },
        tools,
    }
}

/// Counters over every tool of every connected server: those waiting for approval of a
/// change, and the others.
pub fn tool_stats(counts: crate::app::ToolCounts) -> types::ToolStats {
    let (total, pending) = (counts.total, counts.pending_approval);
    types::ToolStats {
        total: count(total),
        enabled: count(total - pending),
        disabled: 0,
        pending_approval: count(pending),
    }
}

/// `GET /api/v1/index/search`.
pub fn index_search(
    query: String,
    hits: Vec<(SearchHit, rmcp::model::Tool)>,
    took: std::time::Duration,
) -> types::IndexSearchResponse {
    let results: Vec<types::IndexSearchResult> = hits
        .into_iter()
        .map(|(hit, tool)| types::IndexSearchResult {
            tool: types::IndexedTool {
                name: hit.name,
                server_name: hit.server,
                description: tool.description.as_deref().unwrap_or_default().to_string(),
            },
            score: hit.score,
            matches: 0,
        })
        .collect();
    types::IndexSearchResponse {
        success: true,
        data: types::IndexSearchData {
            query,
            total: count(results.len()),
            results,
            took: format!("{:.2}ms", took.as_secs_f64() * 1000.0),
        },
    }
}

/// The result of a call: the upstream CallToolResult as an object.
pub fn call_result(recorded: RecordedCall) -> Result<Map<String, Value>, ApiError> {
    result_object(recorded.outcome.map_err(ApiError::from)?)
}

/// A CallToolResult (an upstream's or a built-in tool's) as an object.
pub fn result_object(result: rmcp::model::CallToolResult) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(result) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::internal("cannot serialize the tool result")),
    }
}

/// A tool's pinning state on the wire.
pub fn approval(a: crate::storage::ToolApproval) -> types::ToolApproval {
    types::ToolApproval {
        status: a.status.as_str().to_string(),
        approved_hash: a.approved_hash,
        current_hash: a.current_hash,
        approved_at: a.approved_at,
        approved_description: a.approved.description,
        approved_input_schema: a
            .approved
            .input_schema
            .as_object()
            .cloned()
            .unwrap_or_default(),
    }
}
