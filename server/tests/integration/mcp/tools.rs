//! `/mcp` tools end to end: retrieve and call through the proxy to real upstreams, intent
//! tiers, truncation and the read cache, and the same tools over REST.

use mcpproxy_client::types;
use serde_json::json;

use super::parsed;
use crate::common::*;

#[tokio::test]
async fn test_mcp_retrieve_ranks_everything_echo_first_and_call_tool_echoes() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let client = mcp_client(&server).await;
    let tools = client.list_tools(None).await.expect("tools/list");
    let names: Vec<&str> = tools.tools.iter().map(|t| t.name.as_ref()).collect();
    for builtin in [
        "retrieve_tools",
        "call_tool",
        "call_tool_read",
        "call_tool_write",
        "call_tool_destructive",
        "describe_tool",
        "read_cache",
        "upstream_servers",
        "quarantine_security",
    ] {
        assert!(names.contains(&builtin), "{builtin} missing from {names:?}");
    }
    let found = parsed(
        &mcp_call(
            &client,
            "retrieve_tools",
            json!({"query": "echo a message back", "limit": 5}),
        )
        .await,
    );
    assert_eq!(found["tools"][0]["name"], "everything:echo", "{found}");
    assert_eq!(found["tools"][0]["call_with"], "call_tool_read");
    assert!(found["tools"][0]["inputSchema"]["properties"]["message"].is_object());

    let echoed = mcp_call(
        &client,
        "call_tool",
        json!({"name": "everything:echo", "args_json": "{\"message\":\"hi\"}"}),
    )
    .await;
    assert_eq!(text_of(&echoed), "Echo: hi");
    assert_ne!(echoed.is_error, Some(true));
    let described = parsed(
        &mcp_call(
            &client,
            "describe_tool",
            json!({"names": ["everything:echo", "everything:nope"]}),
        )
        .await,
    );
    assert_eq!(described["tools"][0]["name"], "everything:echo");
    assert_eq!(described["not_found"], json!(["everything:nope"]));
    client.cancel().await.expect("close");
    server.stop().await;
}

#[tokio::test]
async fn test_mcp_intent_read_cannot_reach_destructive_tools_and_errors_name_the_cause() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    let refused = mcp_call(
        &client,
        "call_tool_read",
        json!({"name": "fx:delete_everything", "args": {"target": "x"}}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        text_of(&refused).contains("destructive"),
        "{}",
        text_of(&refused)
    );
    let done = mcp_call(
        &client,
        "call_tool_destructive",
        json!({"name": "fx:delete_everything", "args": {"target": "x"}}),
    )
    .await;
    assert_eq!(text_of(&done), "deleted x");
    // Upstream isError and structuredContent pass through.
    let failed = mcp_call(
        &client,
        "call_tool_write",
        json!({"name": "fx:fail", "args": {"message": "boom"}}),
    )
    .await;
    assert_eq!(
        (failed.is_error, text_of(&failed)),
        (Some(true), "boom".to_string())
    );
    let structured = mcp_call(
        &client,
        "call_tool_read",
        json!({"name": "fx:structured", "args": {}}),
    )
    .await;
    assert_eq!(
        structured.structured_content,
        Some(json!({"temperature": 21.5, "unit": "C"}))
    );
    let unknown = mcp_call(
        &client,
        "call_tool",
        json!({"name": "ghost:echo", "args": {}}),
    )
    .await;
    assert_eq!(unknown.is_error, Some(true));
    assert!(text_of(&unknown).contains("ghost"));
    let bad = mcp_call(&client, "call_tool", json!({"name": "no-colon"})).await;
    assert!(text_of(&bad).contains("server:tool"));
    client.cancel().await.expect("close");
    server.stop().await;
}

#[tokio::test]
async fn test_mcp_truncation_and_read_cache_rebuild_the_payload() {
    let mut config = config_with(json!([fixture_server("fx")]));
    config["tool_response_limit"] = json!(3000);
    let server = TestServer::start(config).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    let cut = text_of(
        &mcp_call(
            &client,
            "call_tool_read",
            json!({"name": "fx:big", "args": {"records": 700}}),
        )
        .await,
    );
    assert!(
        cut.len() < 4000 && cut.contains("truncated by mcpproxy"),
        "{}",
        &cut[..cut.len().min(300)]
    );
    let key = cut
        .split("key=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("cache key");
    let mut ids = Vec::new();
    let mut offset = 0;
    loop {
        let page = parsed(
            &mcp_call(
                &client,
                "read_cache",
                json!({"key": key, "offset": offset, "limit": 250}),
            )
            .await,
        );
        assert_eq!(page["meta"]["total_records"], 700);
        let records = page["records"].as_array().expect("records").clone();
        if records.is_empty() {
            break;
        }
        offset += records.len();
        ids.extend(records.iter().map(|r| r["id"].as_u64().expect("id")));
    }
    assert_eq!(ids, (0..700).collect::<Vec<u64>>());
    client.cancel().await.expect("close");
    server.stop().await;
}

#[tokio::test]
async fn test_tools_rest_search_index_search_and_call() {
    let mut fx = fixture_server("held");
    fx["quarantined"] = json!(true);
    let server = TestServer::start(config_with(json!([fixture_server("fx"), fx]))).await;
    wait_ready(&server, "fx").await;
    let client = server.client();
    let found = client
        .tool_search(Some(3), Some("add two numbers"))
        .await
        .expect("search")
        .into_inner();
    assert_eq!(found.tools[0].name, "fx:add");
    assert!(found.tools[0].score > 0.0);
    let missing_q = raw()
        .get(format!("{}/api/v1/index/search", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(missing_q.status(), 400);
    let blank = client
        .index_search(None, " ")
        .await
        .expect("blank query")
        .into_inner();
    assert!(blank.data.results.is_empty());
    let legacy = client
        .index_search(None, "echo")
        .await
        .expect("index search")
        .into_inner();
    assert_eq!(legacy.data.results[0].tool.name, "echo");
    assert_eq!(legacy.data.results[0].tool.server_name, "fx");
    let called = client
        .tool_call(&types::ToolCallRequest {
            tool_name: "fx:echo".into(),
            arguments: Some(serde_json::from_value(json!({"message": "rest"})).expect("map")),
        })
        .await
        .expect("call")
        .into_inner();
    assert_eq!(called.data["content"][0]["text"], "Echo: rest");
    let blocked = client
        .tool_call(&types::ToolCallRequest {
            tool_name: "held:echo".into(),
            arguments: None,
        })
        .await;
    assert!(matches!(blocked, Err(mcpproxy_client::Error::ErrorResponse(r)) if r.status() == 403));
    server.stop().await;
}
