//! Token accounting against a running proxy and the fixture upstream: `GET
//! /api/v1/stats/tokens` and the sessions' `total_tokens` / `has_roots` / `has_sampling`
//! through the generated client, and `retrieve_tools`' compact detail against full.

use std::collections::BTreeSet;

use mcpproxy::tokens::count_json;
use mcpproxy_client::types::QuerySizeSource as Source;
use rmcp::ServiceExt;
use rmcp::model::{CallToolResult, ClientCapabilities, ClientConfig, Implementation};
use serde_json::{Value, json};

use crate::common::{
    TestServer, config_with, fixture_server, mcp_call, mcp_client, session_of, text_of, wait_ready,
};

/// Tokens of an answer as the proxy counts it: the result without 2026-07-28's
/// `resultType` marker (which a 2025-11-25 client does not receive).
fn tokens(result: &CallToolResult) -> u64 {
    let mut counted = result.clone();
    counted.result_type = None;
    count_json(&counted)
}

#[tokio::test]
async fn test_stats_tokens_count_answers_and_sessions_carry_tokens_and_capabilities() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let rest = server.client();

    let before = rest.stats_tokens().await.expect("stats").into_inner().data;
    let fx = before.per_server_tool_list_sizes["fx"];
    assert!(fx > 50, "the fixture's catalogue costs tokens: {before:?}");
    assert_eq!(before.total_server_tool_list_size, fx);
    assert_eq!(before.average_query_result_source, Source::Estimate);
    assert!(before.average_query_result_size > 0);
    assert_eq!(before.retrieve_tools.answers, 0);
    assert_eq!(before.encoding, "cl100k_base");

    // A client that declares roots and sampling.
    let transport =
        rmcp::transport::StreamableHttpClientTransport::from_uri(format!("{}/mcp", server.url()));
    // As the client sends them (the builder's roots/sampling setters are deprecated by
    // SEP-2577; 2025-11-25 clients still declare both).
    let caps: ClientCapabilities =
        serde_json::from_value(json!({"roots": {"listChanged": true}, "sampling": {}}))
            .expect("capabilities");
    let declaring = ClientConfig::new(caps, Implementation::new("tok-client", "0.1.0"))
        .serve(transport)
        .await
        .expect("MCP session");
    let full = mcp_call(&declaring, "retrieve_tools", json!({"query": "echo"})).await;
    let compact = mcp_call(
        &declaring,
        "retrieve_tools",
        json!({"query": "echo", "detail": "compact"}),
    )
    .await;
    let echo = mcp_call(
        &declaring,
        "call_tool_read",
        json!({"name": "fx:echo", "args": {"message": "count me"}}),
    )
    .await;
    assert_eq!(text_of(&echo), "Echo: count me");
    let (full_t, compact_t, echo_t) = (tokens(&full), tokens(&compact), tokens(&echo));

    let stats = rest.stats_tokens().await.expect("stats").into_inner().data;
    assert_eq!(stats.retrieve_tools.answers, 2);
    assert_eq!(stats.retrieve_tools.tokens, full_t + compact_t);
    assert_eq!(stats.tool_results.answers, 1);
    assert_eq!(stats.tool_results.tokens, echo_t);
    assert_eq!(stats.uncounted_answers, 0);
    assert_eq!(stats.average_query_result_source, Source::Observed);
    assert_eq!(stats.average_query_result_size, (full_t + compact_t) / 2);
    assert_eq!(
        stats.saved_tokens,
        stats
            .total_server_tool_list_size
            .saturating_sub(stats.average_query_result_size)
    );

    let session = session_of(&rest, "tok-client").await;
    assert_eq!(session.total_tokens, full_t + compact_t + echo_t);
    assert!(session.has_roots && session.has_sampling, "{session:?}");
    assert_eq!(stats.per_session_tokens[&session.id], session.total_tokens);
    let detail = rest
        .session_get(&session.id)
        .await
        .expect("session")
        .into_inner();
    assert_eq!(detail.data.session.total_tokens, session.total_tokens);

    // A client that declares neither.
    let plain = mcp_client(&server).await;
    mcp_call(&plain, "retrieve_tools", json!({"query": "echo"})).await;
    let other = session_of(&rest, "it-client").await;
    assert!(!other.has_roots && !other.has_sampling, "{other:?}");
    assert!(other.total_tokens > 0);

    // Upstream results on the direct surface are counted too.
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(format!(
        "{}/mcp/all",
        server.url()
    ));
    let direct = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("direct-client", "0.1.0"),
    )
    .serve(transport)
    .await
    .expect("MCP session on /mcp/all");
    let direct_echo = mcp_call(&direct, "fx__echo", json!({"message": "direct"})).await;
    assert_eq!(text_of(&direct_echo), "Echo: direct");
    let after = rest.stats_tokens().await.expect("stats").into_inner().data;
    assert_eq!(after.tool_results.answers, 2);
    assert_eq!(after.tool_results.tokens, echo_t + tokens(&direct_echo));
    let direct_session = session_of(&rest, "direct-client").await;
    assert_eq!(direct_session.total_tokens, tokens(&direct_echo));
    direct.cancel().await.ok();

    declaring.cancel().await.ok();
    plain.cancel().await.ok();
    server.stop().await;
}

fn answer(result: &CallToolResult) -> Value {
    serde_json::from_str(&text_of(result)).expect("retrieve_tools answers JSON")
}

#[tokio::test]
async fn test_retrieve_tools_compact_is_smaller_and_describe_tool_gives_the_rest() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    let query = json!({"query": "echo message", "limit": 5});
    let full_result = mcp_call(&client, "retrieve_tools", query.clone()).await;
    let mut compact_query = query.clone();
    compact_query["detail"] = json!("compact");
    let compact_result = mcp_call(&client, "retrieve_tools", compact_query).await;
    let mut default_query = query;
    default_query["detail"] = json!("full");
    let explicit_full = mcp_call(&client, "retrieve_tools", default_query).await;
    assert_eq!(
        answer(&explicit_full),
        answer(&full_result),
        "full is the default"
    );

    let (full, compact) = (answer(&full_result), answer(&compact_result));
    let full_tools = full["tools"].as_array().expect("tools");
    let compact_tools = compact["tools"].as_array().expect("tools");
    assert!(!full_tools.is_empty());
    assert_eq!(full_tools.len(), compact_tools.len());
    assert!(tokens(&compact_result) < tokens(&full_result));
    assert!(
        compact["hint"]
            .as_str()
            .is_some_and(|h| h.contains("describe_tool"))
    );

    let names: Vec<&str> = compact_tools
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    for (f, c) in full_tools.iter().zip(compact_tools) {
        assert_eq!(f["name"], c["name"], "same ranking");
        let keys: BTreeSet<&str> = c
            .as_object()
            .expect("entry")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["args", "call_with", "description", "name"])
        );
        let line = c["description"].as_str().expect("description");
        assert!(!line.contains('\n'));
        assert!(
            f["description"]
                .as_str()
                .expect("description")
                .starts_with(line.trim_end_matches('…'))
        );
        assert_eq!(f["call_with"], c["call_with"]);
        // The argument names are the schema's properties, required ones starred.
        let schema = &f["inputSchema"];
        let args: Vec<&str> = c["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("name"))
            .collect();
        let names: BTreeSet<&str> = args.iter().map(|a| a.trim_end_matches('*')).collect();
        let starred: BTreeSet<&str> = args.iter().filter_map(|a| a.strip_suffix('*')).collect();
        let properties: BTreeSet<&str> = schema["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.keys().map(String::as_str))
            .collect();
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flat_map(|r| r.iter().filter_map(Value::as_str))
            .collect();
        assert_eq!((names, starred), (properties, required), "{}", c["name"]);
    }
    let echo = compact_tools
        .iter()
        .find(|t| t["name"] == "fx:echo")
        .expect("echo found");
    assert_eq!(echo["args"], json!(["message*"]));

    // describe_tool gives what compact left out.
    let described = answer(
        &mcp_call(
            &client,
            "describe_tool",
            json!({"names": names.iter().take(5).collect::<Vec<_>>()}),
        )
        .await,
    );
    for (d, f) in described["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .zip(full_tools)
    {
        assert_eq!(d["name"], f["name"]);
        assert_eq!(d["inputSchema"], f["inputSchema"]);
        assert_eq!(d["description"], f["description"]);
    }

    // A detail that is neither is the agent's error, not a protocol failure.
    let bad = mcp_call(
        &client,
        "retrieve_tools",
        json!({"query": "echo", "detail": "tiny"}),
    )
    .await;
    assert_eq!(bad.is_error, Some(true));
    assert!(
        text_of(&bad).contains("`detail` must be"),
        "{}",
        text_of(&bad)
    );

    client.cancel().await.ok();
    server.stop().await;
}
