//! A person managing servers over REST: add, update and remove (`/api/v1/servers`), and the
//! built-in tools through `POST /api/v1/tools/call`, against a running daemon with the
//! fixture as the real upstream.

use mcpproxy_client::types;
use serde_json::{Value, json};

use crate::common::*;

fn status_of<T: std::fmt::Debug>(
    result: Result<T, mcpproxy_client::Error<types::ErrorResponse>>,
) -> (u16, types::ErrorResponse) {
    match result {
        Err(mcpproxy_client::Error::ErrorResponse(resp)) => {
            let status = resp.status().as_u16();
            (status, resp.into_inner())
        }
        other => panic!("expected an error answer, got {other:?}"),
    }
}

fn add_request(body: Value) -> types::ServerAddRequest {
    serde_json::from_value(body).expect("add request")
}

fn patch_request(body: Value) -> types::ServerPatchRequest {
    serde_json::from_value(body).expect("patch request")
}

#[tokio::test]
async fn test_person_adds_updates_and_removes_a_server() {
    let server = TestServer::start(config_with(json!([]))).await;
    let client = server.client();
    let mut events = EventStream::open(&server).await;
    let fixture = fixture_bin().display().to_string();

    let added = client
        .server_add(&add_request(
            json!({"name": "fx", "command": fixture, "args": ["stdio"], "env": {"TOKEN": "s3cret"}}),
        ))
        .await
        .expect("add")
        .into_inner();
    assert!(added.success);
    assert_eq!(
        (added.server.as_str(), added.action.as_str()),
        ("fx", "add")
    );
    // A person's add is trusted: enabled, not quarantined, connecting in the background.
    assert!(added.async_);
    assert!(added.data.enabled && !added.data.quarantined);
    events
        .next_matching(|kind, data| {
            kind == "servers.changed" && data["payload"]["reason"] == "added"
        })
        .await;
    wait_ready(&server, "fx").await;
    let on_disk = server.config_on_disk();
    assert_eq!(on_disk["mcpServers"][0]["name"], "fx");
    assert_eq!(on_disk["mcpServers"][0]["env"]["TOKEN"], "s3cret");
    assert_eq!(on_disk["mcpServers"][0]["quarantined"], false);

    // The same name again: 409 in the error envelope; nothing changes.
    let (status, body) = status_of(
        client
            .server_add(&add_request(json!({"name": "fx", "command": "true"})))
            .await,
    );
    assert_eq!(status, 409);
    assert_eq!(body.code, "CONFLICT");
    // Invalid settings: 400 naming the field, as the config file's validation does.
    let (status, body) = status_of(
        client
            .server_add(&add_request(
                json!({"name": "bad", "protocol": "carrier-pigeon", "command": "x"}),
            ))
            .await,
    );
    assert_eq!(status, 400);
    assert!(
        body.errors
            .iter()
            .flatten()
            .any(|e| e.field.contains("protocol")),
        "{body:?}"
    );
    let (status, _) = status_of(
        client
            .server_add(&add_request(json!({"name": "bad name!", "command": "x"})))
            .await,
    );
    assert_eq!(status, 400);
    assert_eq!(
        server.config_on_disk()["mcpServers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A flag change restarts nothing; the masked env sent back keeps the real secret.
    let before = server_view(&server, "fx").await;
    let updated = client
        .server_update(
            "fx",
            &patch_request(json!({"env": {"TOKEN": "********"}, "enabled": true})),
        )
        .await
        .expect("patch")
        .into_inner();
    assert_eq!(updated.action, "update");
    assert!(updated.data.changed.is_empty(), "{updated:?}");
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["env"]["TOKEN"],
        "s3cret"
    );
    // A connection change restarts that server with the new settings.
    let updated = client
        .server_update("fx", &patch_request(json!({"env": {"TOKEN": "other"}})))
        .await
        .expect("patch env")
        .into_inner();
    assert_eq!(updated.data.changed, ["env"]);
    assert!(
        !updated.data.quarantined,
        "a person's edit is not quarantined"
    );
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["env"]["TOKEN"],
        "other"
    );
    events
        .next_matching(|kind, data| {
            kind == "servers.changed" && data["payload"]["reason"] == "updated"
        })
        .await;
    wait_ready(&server, "fx").await;
    assert_eq!(before.name, "fx");
    // Unknown fields and unknown servers are refused.
    let raw_patch = raw()
        .patch(format!("{}/api/v1/servers/fx", server.url()))
        .header("X-API-Key", KEY)
        .json(&json!({"comand": "typo"}))
        .send()
        .await
        .expect("raw patch");
    assert_eq!(raw_patch.status(), 400);
    let (status, body) = status_of(
        client
            .server_update("nope", &patch_request(json!({"enabled": false})))
            .await,
    );
    assert_eq!((status, body.code.as_str()), (404, "NOT_FOUND"));
    // An update that makes the entry invalid is refused and nothing is saved.
    let (status, _) = status_of(
        client
            .server_update("fx", &patch_request(json!({"protocol": "nonsense"})))
            .await,
    );
    assert_eq!(status, 400);
    assert!(
        server.config_on_disk()["mcpServers"][0]
            .get("protocol")
            .is_none()
    );

    let removed = client
        .server_delete("fx")
        .await
        .expect("delete")
        .into_inner();
    assert_eq!((removed.action.as_str(), removed.async_), ("remove", false));
    events
        .next_matching(|kind, data| {
            kind == "servers.changed" && data["payload"]["reason"] == "removed"
        })
        .await;
    assert_eq!(server.config_on_disk()["mcpServers"], json!([]));
    let (status, _) = status_of(client.server_delete("fx").await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn test_person_add_can_ask_for_quarantine() {
    let server = TestServer::start(config_with(json!([]))).await;
    let added = server
        .client()
        .server_add(&add_request(json!({
            "name": "review-me", "url": "http://127.0.0.1:9/mcp", "protocol": "http", "quarantined": true
        })))
        .await
        .expect("add")
        .into_inner();
    assert!(added.data.quarantined && !added.async_);
    let view = server_view(&server, "review-me").await;
    assert!(view.quarantined && !view.connected);
}

async fn call_builtin(server: &TestServer, tool: &str, arguments: Value) -> Value {
    let answer = server
        .client()
        .tool_call(&types::ToolCallRequest {
            tool_name: tool.into(),
            arguments: arguments.as_object().cloned(),
        })
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e:?}"))
        .into_inner();
    assert!(answer.success);
    let text = answer.data["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{tool}: text content in {:?}", answer.data));
    serde_json::from_str(text)
        .unwrap_or_else(|_| json!({"text": text, "isError": answer.data["isError"]}))
}

#[tokio::test]
async fn test_tools_call_accepts_builtin_tool_names() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    // The Go web panel and e2e script manage servers this way.
    let listed = call_builtin(&server, "upstream_servers", json!({"operation": "list"})).await;
    assert_eq!(listed["servers"][0]["name"], "fx");
    let added = call_builtin(
        &server,
        "upstream_servers",
        json!({"operation": "add", "name": "via-tool", "url": "http://127.0.0.1:9/mcp", "protocol": "http"}),
    )
    .await;
    // As from any caller of the management tool: quarantined.
    assert_eq!(added["quarantined"], true);
    assert!(server_view(&server, "via-tool").await.quarantined);
    let quarantined = call_builtin(
        &server,
        "quarantine_security",
        json!({"operation": "list_quarantined"}),
    )
    .await;
    assert_eq!(quarantined["servers"][0]["name"], "via-tool");
    let found = call_builtin(&server, "retrieve_tools", json!({"query": "echo"})).await;
    assert!(
        found["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["server"] == "fx")),
        "{found}"
    );
    let echoed = call_builtin(
        &server,
        "call_tool",
        json!({"name": "fx:echo", "args_json": "{\"message\":\"hi\"}"}),
    )
    .await;
    assert!(echoed.to_string().contains("hi"), "{echoed}");
    let removed = call_builtin(
        &server,
        "upstream_servers",
        json!({"operation": "remove", "name": "via-tool"}),
    )
    .await;
    assert_eq!(removed["removed"], true);
    // A refused argument is a tool error, not a crash.
    let refused = server
        .client()
        .tool_call(&types::ToolCallRequest {
            tool_name: "upstream_servers".into(),
            arguments: json!({"operation": "list", "bogus": 1})
                .as_object()
                .cloned(),
        })
        .await
        .expect("answered")
        .into_inner();
    assert_eq!(refused.data["isError"], true);
    // Upstream calls still work as before.
    let upstream = server
        .client()
        .tool_call(&types::ToolCallRequest {
            tool_name: "fx:echo".into(),
            arguments: json!({"message": "direct"}).as_object().cloned(),
        })
        .await
        .expect("upstream call")
        .into_inner();
    assert!(upstream.data["content"].to_string().contains("direct"));
}

#[tokio::test]
async fn test_go_compat_fields_through_the_generated_client() {
    let mut fx = fixture_server("fx");
    fx["env"] = json!({"FX_TOKEN": "very-secret-value", "REF": "${env:HOME}"});
    fx["headers"] = json!({});
    let server = TestServer::start(config_with(json!([fx]))).await;
    wait_ready(&server, "fx").await;
    let client = server.client();
    client
        .tool_call(&types::ToolCallRequest {
            tool_name: "fx:echo".into(),
            arguments: json!({"message": "compat"}).as_object().cloned(),
        })
        .await
        .expect("call");
    let page = client
        .tool_call_list(None, None, None)
        .await
        .expect("calls")
        .into_inner();
    let record = page.data.tool_calls.first().expect("recorded").clone();
    // Go's fields beside the seed's: nanoseconds, the server identity hash, the config file.
    assert_eq!(
        record.duration,
        (record.duration_ms * 1_000_000.0).round() as i64
    );
    assert!(record.duration > 0);
    assert_eq!(record.server_id.len(), 16);
    assert!(record.server_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        record.config_path,
        server.config_path().display().to_string()
    );
    let replay = client
        .tool_call_replay(&record.id, &types::ReplayRequest { arguments: None })
        .await
        .expect("replay")
        .into_inner();
    assert!(replay.data.success);
    assert_eq!(replay.data.new_tool_call.server_id, record.server_id);

    // GET /api/v1/tools: the seed's `tools` and the Go envelope with the same list.
    let tools = client
        .tool_search(Some(1000), None)
        .await
        .expect("tools")
        .into_inner();
    assert!(tools.success);
    assert!(!tools.tools.is_empty());
    assert_eq!(
        serde_json::to_value(&tools.tools).expect("json"),
        serde_json::to_value(&tools.data.tools).expect("json")
    );
    let stats = &tools.data.stats;
    assert_eq!(stats.total, tools.tools.len() as u64);
    assert_eq!(
        (stats.enabled, stats.disabled, stats.pending_approval),
        (stats.total, 0, 0)
    );

    // upstream_servers list shows env and headers, masked.
    let listed = call_builtin(&server, "upstream_servers", json!({"operation": "list"})).await;
    let entry = &listed["servers"][0];
    assert_eq!(entry["env"]["FX_TOKEN"], "********");
    assert_eq!(entry["env"]["REF"], "${env:HOME}");
    assert!(entry["headers"].is_object());
    assert!(!listed.to_string().contains("very-secret-value"));
}
