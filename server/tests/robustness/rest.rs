//! REST regressions found by schemathesis, pinned as plain tests so they fail fast and
//! without Python.

use serde_json::{Value, json};

use crate::common::*;

/// An empty `POST /api/v1/config/apply` used to be read as `{}` and applied: every server
/// was dropped from the file. Now a missing document is refused and nothing is written;
/// quarantine keeps reading no body as "quarantine it" (the Go original's shape).
#[tokio::test]
async fn test_rest_empty_body_is_refused_where_the_document_is_required() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    let before = std::fs::read(server.config_path()).expect("config");
    for path in [
        "/api/v1/config/apply",
        "/api/v1/config/validate",
        "/api/v1/tool-calls/nope/replay",
    ] {
        let resp = raw()
            .post(format!("{}{path}", server.url()))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 400, "{path}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["success"], false, "{path}: {body}");
    }
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);
    let quarantined = raw()
        .post(format!("{}/api/v1/servers/fx/quarantine", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(quarantined.status(), 200);
    assert_eq!(
        server.config_on_disk()["mcpServers"][0]["quarantined"],
        true
    );
    server.stop().await;
}

/// Query integers are `uint32`: values up to u32::MAX are served, larger ones (which
/// schemathesis sent as "valid" before the spec said `maximum`) are a clean 400.
#[tokio::test]
async fn test_rest_query_integers_at_and_past_u32_max() {
    let server = TestServer::start(config_with(json!([]))).await;
    let get = |path: String| {
        raw()
            .get(format!("{}{path}", server.url()))
            .header("X-API-Key", KEY)
            .send()
    };
    for path in [
        "/api/v1/tools?limit=4294967295",
        "/api/v1/tool-calls?limit=4294967295&offset=4294967295",
        "/api/v1/sessions?limit=4294967295&offset=4294967295",
        "/api/v1/index/search?q=x&limit=4294967295",
    ] {
        let resp = get(path.to_string()).await.expect("send");
        assert_eq!(resp.status(), 200, "{path}");
    }
    let resp = get("/api/v1/tools?limit=4294967296".into())
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let served: serde_yaml::Value = serde_yaml::from_str(
        &get("/swagger/swagger.yaml".into())
            .await
            .expect("spec")
            .text()
            .await
            .expect("text"),
    )
    .expect("yaml");
    let limit = &served["paths"]["/api/v1/tools"]["get"]["parameters"][1]["schema"];
    assert_eq!(
        limit["maximum"].as_u64(),
        Some(u64::from(u32::MAX)),
        "{limit:?}"
    );
    server.stop().await;
}

/// `index/search`: the spec now requires `q` (the server always did); a blank one finds
/// nothing instead of a 400 for a schema-valid request.
#[tokio::test]
async fn test_rest_index_search_blank_query_finds_nothing() {
    let server = TestServer::start(config_with(json!([]))).await;
    let found = server
        .client()
        .index_search(None, "  ")
        .await
        .expect("blank q is fine")
        .into_inner();
    assert!(found.data.results.is_empty());
    server.stop().await;
}

/// Restarting a disabled server is a state conflict (403, as calling it is), not a
/// malformed request (400).
#[tokio::test]
async fn test_rest_restart_of_a_disabled_server_is_403() {
    let mut fx = fixture_server("fx");
    fx["enabled"] = json!(false);
    let server = TestServer::start(config_with(json!([fx]))).await;
    let resp = raw()
        .post(format!("{}/api/v1/servers/fx/restart", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "FORBIDDEN");
    server.stop().await;
}

/// An upstream that refuses the arguments (JSON-RPC invalid params) makes `tools/call` a
/// 400 naming the cause, not a 502 (schemathesis: `{"tool_name": "everything:echo"}`).
#[tokio::test]
async fn test_rest_tool_call_with_arguments_the_upstream_refuses_is_400() {
    let server = TestServer::start(config_with(json!([fixture_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let resp = raw()
        .post(format!("{}/api/v1/tools/call", server.url()))
        .header("X-API-Key", KEY)
        .json(&json!({"tool_name": "everything:echo"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("message")),
        "{body}"
    );
    server.stop().await;
}
