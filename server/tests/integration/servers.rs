//! Server administration: enable, disable, quarantine, bulk operations, persistence.

use mcpproxy_client::types;
use serde_json::json;

use crate::common::*;

fn expect_status<T: std::fmt::Debug>(
    result: Result<T, mcpproxy_client::Error<types::ErrorResponse>>,
    status: u16,
) -> types::ErrorResponse {
    match result {
        Err(mcpproxy_client::Error::ErrorResponse(resp)) => {
            assert_eq!(resp.status().as_u16(), status);
            let body = resp.into_inner();
            assert!(!body.success);
            body
        }
        other => panic!("expected HTTP {status}, got {other:?}"),
    }
}

#[tokio::test]
async fn test_servers_list_carries_seed_and_go_fields() {
    let server = TestServer::start(config_with(json!([
        fixture_server("alpha"),
        {"name": "off", "command": "true"},
        {"name": "held", "url": "http://127.0.0.1:9/mcp", "protocol": "http", "enabled": true, "quarantined": true}
    ])))
    .await;
    let list = server
        .client()
        .server_list()
        .await
        .expect("list")
        .into_inner();
    assert!(list.success);
    let by_name = |n: &str| {
        list.data
            .servers
            .iter()
            .find(|s| s.name == n)
            .expect("server listed")
            .clone()
    };
    let off = by_name("off");
    assert_eq!(
        (off.id.as_str(), off.enabled, off.connected),
        ("off", false, false)
    );
    assert_eq!(off.health.admin_state, types::AdminState::Disabled);
    assert_eq!(
        (off.health.summary.as_str(), off.health.action.as_str()),
        ("Disabled", "enable")
    );
    let held = by_name("held");
    assert_eq!(held.protocol, "http");
    assert_eq!(held.url.as_deref(), Some("http://127.0.0.1:9/mcp"));
    assert_eq!(held.health.admin_state, types::AdminState::Quarantined);
    assert_eq!(held.health.action, "approve");
    assert_eq!(
        by_name("alpha").command.as_deref(),
        Some(fixture_bin().display().to_string().as_str())
    );
    assert_eq!(list.data.stats.total_servers, 3);
    assert_eq!(list.data.stats.quarantined_servers, 1);
    server.stop().await;
}

#[tokio::test]
async fn test_servers_enable_disable_persist_across_restart() {
    let server = TestServer::start(config_with(json!([
        {"name": "a", "command": "true"},
        {"name": "b", "command": "true", "enabled": true}
    ])))
    .await;
    let client = server.client();
    let done = client
        .server_enable("a")
        .await
        .expect("enable")
        .into_inner();
    assert_eq!(
        (
            done.data.server.as_str(),
            done.data.action.as_str(),
            done.data.success
        ),
        ("a", "enable", true)
    );
    client.server_disable("b").await.expect("disable");
    assert_eq!(server.config_on_disk()["mcpServers"][0]["enabled"], true);
    assert_eq!(server.config_on_disk()["mcpServers"][1]["enabled"], false);

    let dir = server.dir.clone();
    assert_eq!(server.stop().await, Some(0));
    let again = TestServer::start_in(dir, &[]).await;
    let list = again
        .client()
        .server_list()
        .await
        .expect("list")
        .into_inner();
    let enabled: Vec<(String, bool)> = list
        .data
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.enabled))
        .collect();
    assert_eq!(
        enabled,
        vec![("a".to_string(), true), ("b".to_string(), false)]
    );
    again.stop().await;
}

#[tokio::test]
async fn test_servers_unknown_server_is_404_everywhere() {
    let server = TestServer::start(config_with(json!([]))).await;
    let client = server.client();
    let before = std::fs::read(server.config_path()).expect("config");
    for err in [
        expect_status(client.server_enable("ghost").await, 404),
        expect_status(client.server_disable("ghost").await, 404),
        expect_status(
            client
                .server_unquarantine("ghost", &types::ReviewRequest::default())
                .await,
            404,
        ),
        expect_status(
            client
                .server_quarantine(
                    "ghost",
                    &types::QuarantineRequest {
                        quarantined: true,
                        fingerprint: None,
                    },
                )
                .await,
            404,
        ),
    ] {
        assert_eq!(err.code, "NOT_FOUND");
        assert!(err.error.contains("ghost"), "{}", err.error);
    }
    assert_eq!(
        std::fs::read(server.config_path()).expect("config"),
        before,
        "404s must not touch the file"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_servers_quarantine_body_and_empty_body() {
    let server = TestServer::start(config_with(
        json!([{"name": "a", "command": "true", "enabled": true}]),
    ))
    .await;
    let client = server.client();
    client
        .server_quarantine(
            "a",
            &types::QuarantineRequest {
                quarantined: true,
                fingerprint: None,
            },
        )
        .await
        .expect("quarantine");
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true
    );
    client
        .server_quarantine(
            "a",
            &types::QuarantineRequest {
                quarantined: false,
                fingerprint: None,
            },
        )
        .await
        .expect("release");
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        false
    );
    // No body at all means quarantine.
    let resp = raw()
        .post(format!("{}/api/v1/servers/a/quarantine", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true
    );
    client
        .server_unquarantine("a", &types::ReviewRequest::default())
        .await
        .expect("unquarantine");
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        false
    );
    server.stop().await;
}

#[tokio::test]
async fn test_servers_bulk_enable_and_disable_all() {
    let server = TestServer::start(config_with(json!([
        {"name": "a", "command": "true"},
        {"name": "b", "command": "true", "enabled": true},
        {"name": "c", "command": "true"}
    ])))
    .await;
    let client = server.client();
    let enabled = client
        .servers_bulk(types::BulkAction::EnableAll, &Default::default())
        .await
        .expect("enable_all")
        .into_inner();
    assert_eq!(
        (
            enabled.data.total,
            enabled.data.successful,
            enabled.data.failed
        ),
        (2, 2, 0)
    );
    let disabled = client
        .servers_bulk(types::BulkAction::DisableAll, &Default::default())
        .await
        .expect("disable_all")
        .into_inner();
    assert_eq!(disabled.data.total, 3);
    let on_disk = server.config_on_disk();
    assert!(
        on_disk["mcpServers"]
            .as_array()
            .expect("servers")
            .iter()
            .all(|s| s["enabled"] == false)
    );
    server.stop().await;
}

#[tokio::test]
async fn test_servers_restart_reconnect_tools_and_logs_with_a_live_upstream() {
    let mut fx = fixture_server("fx");
    fx["args"] = json!(["stdio", "--stderr-lines", "3"]);
    let server =
        TestServer::start(config_with(json!([fx, {"name": "off", "command": "true"}]))).await;
    wait_ready(&server, "fx").await;
    let client = server.client();
    let status = client.status_get().await.expect("status").into_inner();
    assert_eq!(status.servers.connected, 1);
    assert!(status.tools.total >= 10);

    let tools = client.server_tools("fx").await.expect("tools").into_inner();
    let echo = tools
        .data
        .tools
        .iter()
        .find(|t| t.name == "echo")
        .expect("echo");
    assert_eq!(echo.id, "fx:echo");
    assert_eq!(
        echo.annotations
            .as_ref()
            .and_then(|a| a.get("readOnlyHint")),
        Some(&json!(true))
    );
    let structured = tools
        .data
        .tools
        .iter()
        .find(|t| t.name == "structured")
        .expect("structured");
    assert!(
        structured.output_schema.is_some(),
        "output schemas are kept"
    );

    let logs = client
        .server_logs("fx", None, Some(50))
        .await
        .expect("logs")
        .into_inner();
    let stderr: Vec<&str> = logs
        .data
        .logs
        .iter()
        .filter(|l| l.level == "STDERR")
        .map(|l| l.message.as_str())
        .collect();
    assert!(stderr.contains(&"fixture stderr line 3"), "{stderr:?}");

    let restarted = client
        .server_restart("fx")
        .await
        .expect("restart")
        .into_inner();
    assert_eq!(restarted.data.action, "restart");
    let off = client.server_restart("off").await;
    assert!(
        matches!(off, Err(mcpproxy_client::Error::ErrorResponse(r)) if r.status().is_client_error())
    );
    for action in [types::BulkAction::Reconnect, types::BulkAction::RestartAll] {
        let bulk = client
            .servers_bulk(action, &Default::default())
            .await
            .expect("bulk")
            .into_inner();
        assert_eq!(
            (bulk.data.total, bulk.data.successful, bulk.data.failed),
            (1, 1, 0)
        );
    }
    wait_ready(&server, "fx").await;
    let unknown = client.server_logs("ghost", None, None).await;
    assert!(matches!(unknown, Err(mcpproxy_client::Error::ErrorResponse(r)) if r.status() == 404));
    server.stop().await;
}

#[tokio::test]
async fn test_servers_restart_racing_a_disable_is_a_conflict_not_a_503() {
    // Found by schemathesis: a restart still waiting for its attempt when the server is
    // disabled said "the proxy is shutting down" (503).
    let mut slow = fixture_server("slow");
    slow["args"] = json!(["stdio", "--slow-start-ms", "3000"]);
    let server = TestServer::start(config_with(json!([slow]))).await;
    let client = server.client();
    let restart = {
        let client = server.client();
        tokio::spawn(async move { client.server_restart("slow").await })
    };
    // Kept: the restart must be in flight (waiting for its attempt) when the disable lands,
    // and nothing outside shows that; the slow start (3 s) keeps it waiting past this.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    client.server_disable("slow").await.expect("disable");
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(20), restart)
        .await
        .expect("restart answered")
        .expect("task");
    match outcome {
        Err(mcpproxy_client::Error::ErrorResponse(resp)) => {
            assert_eq!(resp.status().as_u16(), 403, "{:?}", resp.into_inner())
        }
        other => panic!("expected 403, got {other:?}"),
    }
    server.stop().await;
}

/// Every request body of the API is a JSON object; serde alone would read a struct from an
/// array (`[null, null]` filled a two-field body and approved a server), so anything else
/// is a 400 in the API's envelope and changes nothing.
#[tokio::test]
async fn test_a_body_that_is_not_a_json_object_is_refused() {
    let mut quarantined = fixture_server("held");
    quarantined["quarantined"] = json!(true);
    let server = TestServer::start(config_with(json!([quarantined]))).await;
    let http = reqwest::Client::new();
    for body in ["[null, null]", "  [\"x\"]", "42", "\"text\"", "null"] {
        let resp = http
            .post(format!("{}/api/v1/servers/held/unquarantine", server.url()))
            .header("X-API-Key", KEY)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 400, "{body}");
        let answer: serde_json::Value = resp.json().await.expect("envelope");
        assert_eq!(answer["success"], false, "{body}: {answer}");
    }
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true,
        "still quarantined"
    );
    server.stop().await;
}
