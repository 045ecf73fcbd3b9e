//! `/mcp` as a transport: sessions listed and kept across restarts, the official Python
//! SDK in both negotiation modes, JSON vs SSE answers on one session.

use std::time::Duration;

use mcpproxy_client::types;
use serde_json::{Value, json};

use super::{delete_session, mcp_post};
use crate::common::*;

#[tokio::test]
async fn test_mcp_session_is_listed_and_history_survives_a_restart() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    for i in 0..3 {
        let r = mcp_call(
            &client,
            "call_tool_read",
            json!({"name": "fx:echo", "args": {"message": format!("m{i}")}}),
        )
        .await;
        assert_eq!(text_of(&r), format!("Echo: m{i}"));
    }
    let session = session_of(&server.client(), "it-client").await;
    assert_eq!(session.client_version.as_deref(), Some("1.2.3"));
    assert_eq!(session.status, "active");
    assert_eq!(session.tool_call_count, 3);
    let calls = server
        .client()
        .tool_call_list(None, None, Some(&session.id))
        .await
        .expect("calls")
        .into_inner();
    assert_eq!(calls.data.total, 3);
    let newest = &calls.data.tool_calls[0];
    assert_eq!(
        (newest.server_name.as_str(), newest.tool_name.as_str()),
        ("fx", "echo")
    );
    assert_eq!(newest.arguments, json!({"message": "m2"}));
    assert_eq!(newest.mcp_client_name.as_deref(), Some("it-client"));
    let one = server
        .client()
        .tool_call_get(&newest.id)
        .await
        .expect("get")
        .into_inner();
    assert_eq!(one.data.tool_call.id, newest.id);
    let replay = server
        .client()
        .tool_call_replay(
            &newest.id,
            &types::ReplayRequest {
                arguments: Some(serde_json::from_value(json!({"message": "again"})).expect("map")),
            },
        )
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(
        replay.data.new_tool_call.replayed_from.as_deref(),
        Some(newest.id.as_str())
    );
    let id = newest.id.clone();
    client.cancel().await.expect("close");

    let dir = server.dir.clone();
    server.stop().await;
    let again = TestServer::start_in(dir, &[]).await;
    let kept = again
        .client()
        .tool_call_get(&id)
        .await
        .expect("history kept")
        .into_inner();
    assert_eq!(kept.data.tool_call.arguments, json!({"message": "m2"}));
    let all = again
        .client()
        .tool_call_list(Some(100), None, None)
        .await
        .expect("calls")
        .into_inner();
    assert_eq!(all.data.total, 4);
    let stored = again
        .client()
        .session_get(&session.id)
        .await
        .expect("session kept")
        .into_inner();
    assert_eq!(stored.data.session.status, "closed");
    assert_eq!(stored.data.session.tool_call_count, 3);
    let missing = again.client().tool_call_get("nope").await;
    assert!(matches!(missing, Err(mcpproxy_client::Error::ErrorResponse(r)) if r.status() == 404));
    again.stop().await;
}

#[tokio::test]
async fn test_mcp_python_sdk_clients_work_in_both_negotiation_modes() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let url = format!("{}/mcp", server.url());
    for (mode, client_name) in [("legacy", "python-sdk-legacy"), ("auto", "python-sdk-auto")] {
        let (seen, stderr) = python_sdk_client(&[&url, mode], &[]).await;
        // The SDK closes its session with DELETE and warns unless that is a 200/204.
        assert!(
            !stderr.contains("Session termination failed"),
            "{mode}: {stderr}"
        );
        assert_eq!(seen["first"], "everything:echo", "{mode}: {seen}");
        assert_eq!(seen["echo"], "Echo: hi", "{mode}: {seen}");
        assert!(
            seen["tools"]
                .as_array()
                .expect("tools")
                .iter()
                .any(|t| t == "retrieve_tools")
        );
        if mode == "legacy" {
            let sessions = server
                .client()
                .session_list(Some(100), None)
                .await
                .expect("sessions")
                .into_inner();
            assert!(
                sessions
                    .data
                    .sessions
                    .iter()
                    .any(|s| s.client_name.as_deref() == Some(client_name)),
                "{mode}: session not listed"
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn test_mcp_simple_requests_on_a_session_get_one_json_answer_and_the_rest_stays_sse() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "json-path-test", "version": "7"}}});
    let resp = raw()
        .post(format!("{}/mcp", server.url()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .json(&init)
        .send()
        .await
        .expect("initialize");
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let (status, _, _) = mcp_post(
        &server,
        Some(&sid),
        &[],
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(status, 202);
    let version = [("mcp-protocol-version", "2025-06-18")];
    let call = |id: u64, meta: Option<Value>| {
        let mut params = json!({"name": "call_tool", "arguments": {"name": "fx:echo", "args": {"message": "hi"}}});
        if let Some(m) = meta {
            params["_meta"] = m;
        }
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
    };

    // Once the session is registered, a plain call is answered with one JSON body.
    // The `initialized` notification is handled asynchronously; until then rmcp answers
    // with a stream.
    let echoes = &std::sync::atomic::AtomicUsize::new(0);
    let answered = {
        let (server, sid, version, call) = (&server, &sid, &version, &call);
        eventually(
            Duration::from_secs(10),
            "an answer in JSON",
            || async move {
                let (status, content_type, message) =
                    mcp_post(server, Some(sid), version, call(2, None)).await;
                echoes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                assert_eq!(status, 200, "{message}");
                content_type
                    .starts_with("application/json")
                    .then_some(message)
            },
        )
        .await
    };
    let echoes = echoes.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(answered["id"], 2);
    assert_eq!(answered["result"]["content"][0]["text"], "Echo: hi");
    assert_eq!(answered["result"]["isError"], false);
    assert!(
        answered["result"].get("resultType").is_none(),
        "a 2025-06-18 session gets no resultType: {answered}"
    );
    let (_, content_type, pong) = mcp_post(
        &server,
        Some(&sid),
        &version,
        json!({"jsonrpc": "2.0", "id": "p", "method": "ping"}),
    )
    .await;
    assert!(content_type.starts_with("application/json"));
    assert_eq!(pong, json!({"jsonrpc": "2.0", "id": "p", "result": {}}));
    let (_, content_type, listed) = mcp_post(
        &server,
        Some(&sid),
        &version,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    )
    .await;
    assert!(content_type.starts_with("application/json"));
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"retrieve_tools") && names.contains(&"call_tool_destructive"));
    // An unknown built-in is the same protocol error rmcp gives.
    let (_, _, unknown) = mcp_post(
        &server,
        Some(&sid),
        &version,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "nope"}}),
    )
    .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");

    // A call that asks for progress takes rmcp's streaming path, with the same result.
    let (status, content_type, streamed) = mcp_post(
        &server,
        Some(&sid),
        &version,
        call(5, Some(json!({"progressToken": "t1"}))),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert_eq!(streamed["result"]["content"][0]["text"], "Echo: hi");

    // The guard runs before the fast path.
    let (status, _, _) = mcp_post(
        &server,
        Some(&sid),
        &[("origin", "http://evil.example.com")],
        call(6, None),
    )
    .await;
    assert_eq!(status, 403);

    // A session is its surface's: on another surface the fast path does not answer it
    // either (rmcp, whose sessions are per surface, does not know it there).
    for surface in ["all", "servers/fx"] {
        let elsewhere = raw()
            .post(format!("{}/mcp/{surface}", server.url()))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &sid)
            .json(&call(8, None))
            .send()
            .await
            .expect("post");
        assert_eq!(elsewhere.status(), 404, "/mcp/{surface}");
    }

    // Fast-path calls are history like any other, with the session's client.
    let calls = server
        .client()
        .tool_call_list(Some(10), None, Some(&sid))
        .await
        .expect("history")
        .into_inner()
        .data
        .tool_calls;
    assert_eq!(calls.len(), echoes + 1, "every echo and the streamed one");
    assert!(
        calls
            .iter()
            .all(|c| c.mcp_client_name.as_deref() == Some("json-path-test"))
    );

    // After DELETE the session is gone for both paths at once.
    delete_session(&server, &sid).await;
    let (status, _, _) = mcp_post(&server, Some(&sid), &version, call(7, None)).await;
    assert_eq!(status, 404);
    server.stop().await;
}
