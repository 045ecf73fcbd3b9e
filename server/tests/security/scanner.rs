//! The tool-poisoning scanner has a say (issue 17): a poisoned upstream (the official Python
//! SDK, `tests/python/poisoned_upstream.py`) stays quarantined with a `block` finding until a
//! person approves it with a reason; on an approved server the scanner runs at discovery and
//! holds the poisoned tool back from agents until a person overrides; `review` findings show
//! in `GET /api/v1/servers/{name}/tools`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// Generous: the Python SDK starts slowly on a loaded machine.
const WITHIN: Duration = Duration::from_secs(60);

fn poisoned(quarantined: bool) -> Value {
    let python = harness_file("venv/bin/python", "Python MCP SDK");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/poisoned_upstream.py");
    json!([{
        "name": "poisoned", "command": python.display().to_string(),
        "args": [script.display().to_string()], "enabled": true, "quarantined": quarantined,
    }])
}

async fn request(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = raw()
        .request(method, format!("{}/api/v1/{path}", server.url()))
        .timeout(WITHIN)
        .header("X-API-Key", KEY);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    request(server, reqwest::Method::POST, path, Some(body)).await
}

/// The server's tools once the scanner has seen all three.
async fn scanned_tools(server: &TestServer) -> Vec<Value> {
    eventually(WITHIN, "the scanned tools of poisoned", || async {
        let (status, body) =
            request(server, reqwest::Method::GET, "servers/poisoned/tools", None).await;
        let tools = body["data"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (status == 200 && tools.len() == 3 && tools.iter().all(|t| t["findings"].is_array()))
            .then_some(tools)
    })
    .await
}

fn tool<'a>(tools: &'a [Value], name: &str) -> &'a Value {
    tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {tools:?}"))
}

fn tiers(t: &Value) -> Vec<String> {
    t["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["tier"].as_str().map(str::to_string))
        .collect()
}

async fn call_add(server: &TestServer) -> (u16, Value) {
    post(
        server,
        "tools/call",
        json!({"tool_name": "poisoned:add", "arguments": {"a": 2, "b": 3}}),
    )
    .await
}

/// The refusal of a tool the scanner holds: the scanner, the category of its block finding
/// and both ways to override.
fn assert_held_wording(error: &str) {
    for part in [
        "poisoned:add",
        "held back by the tool-poisoning scanner",
        "tool_poisoning",
        "mcpproxy upstream approve poisoned --tool add --reason",
        "POST /api/v1/servers/poisoned/tools/approve",
    ] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    assert!(!error.contains("changed since"), "{error}");
}

async fn quarantined(server: &TestServer) -> bool {
    server_view(server, "poisoned").await.quarantined
}

#[tokio::test]
async fn test_scanner_a_poisoned_server_stays_quarantined_until_a_person_overrides_with_a_reason() {
    let server = TestServer::start(config_with(poisoned(true))).await;
    // A person inspects: the poisoned tool carries a block finding with its span and reason.
    let (status, body) = post(&server, "servers/poisoned/inspect", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let tools = body["data"]["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let add = tool(&tools, "add");
    let block = add["findings"]
        .as_array()
        .and_then(|f| {
            f.iter()
                .find(|f| f["tier"] == "block" && f["rule"] == "secrets.exfiltrate")
        })
        .unwrap_or_else(|| panic!("a block finding on add: {add}"));
    assert_eq!(block["field"], "description");
    assert_eq!(block["category"], "tool_poisoning");
    let (start, end) = (
        block["start"].as_u64().unwrap_or(0) as usize,
        block["end"].as_u64().unwrap_or(0) as usize,
    );
    assert_eq!(
        &add["description"].as_str().unwrap_or_default()[start..end],
        block["matched"].as_str().unwrap_or("?")
    );
    assert_eq!(tiers(tool(&tools, "key_lister")), ["review"], "{tools:?}");
    assert!(tiers(tool(&tools, "echo")).is_empty(), "{tools:?}");

    // Approving without a reason is refused and the server stays quarantined — on both routes.
    for (path, body) in [
        ("servers/poisoned/unquarantine", json!({})),
        ("servers/poisoned/quarantine", json!({"quarantined": false})),
    ] {
        let (status, answer) = post(&server, path, body).await;
        assert_eq!(status, 409, "{path}: {answer}");
        assert_eq!(answer["code"], "CONFLICT", "{answer}");
        assert!(
            answer["error"].as_str().unwrap_or_default().contains("add"),
            "{answer}"
        );
        assert!(quarantined(&server).await, "{path}");
    }
    let (status, answer) = post(
        &server,
        "servers/poisoned/unquarantine",
        json!({"override_reason": "   "}),
    )
    .await;
    assert_eq!(status, 409, "a blank reason is no reason: {answer}");

    // With a reason the server is approved, and the override covers the tool as inspected.
    let (status, answer) = post(
        &server,
        "servers/poisoned/unquarantine",
        json!({"override_reason": "our own test server; the description is a fixture"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(!quarantined(&server).await);
    let tools = scanned_tools(&server).await;
    let add = tool(&tools, "add");
    assert!(tiers(add).contains(&"block".to_string()), "{add}");
    assert_eq!(
        add["scan_override"]["reason"], "our own test server; the description is a fixture",
        "{add}"
    );
    let (status, answer) = eventually(WITHIN, "add offered", || async {
        let (status, answer) = call_add(&server).await;
        (status == 200).then_some((status, answer))
    })
    .await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn test_scanner_at_discovery_holds_a_poisoned_tool_back_until_overridden_and_shows_review_findings()
 {
    // Approved from the start (e.g. by editing the file): nobody inspected it.
    let server = TestServer::start(config_with(poisoned(false))).await;
    let tools = scanned_tools(&server).await;
    let add = tool(&tools, "add");
    assert!(tiers(add).contains(&"block".to_string()), "{add}");
    assert!(add["scan_override"].is_null(), "{add}");
    assert_eq!(tiers(tool(&tools, "key_lister")), ["review"], "{tools:?}");
    let review = &tool(&tools, "key_lister")["findings"][0];
    assert_eq!(review["rule"], "secrets.mention", "{review}");
    assert_eq!(review["matched"], "~/.ssh/id_rsa", "{review}");

    // Held back from agents, and the refusal says why and how to override (not the
    // "changed since approved" text of a changed tool); the clean tool is offered.
    let (status, answer) = call_add(&server).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["code"], "FORBIDDEN", "{answer}");
    assert_held_wording(answer["error"].as_str().unwrap_or_default());
    let mcp = mcp_client(&server).await;
    let refused = mcp_call(
        &mcp,
        "call_tool_read",
        json!({"name": "poisoned:add", "args": {"a": 2, "b": 3}}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true), "{}", text_of(&refused));
    assert_held_wording(&text_of(&refused));
    mcp.cancel().await.expect("close the MCP session");
    let (status, answer) = post(
        &server,
        "tools/call",
        json!({"tool_name": "poisoned:echo", "arguments": {"text": "hi"}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    // Diagnostics name the held tool.
    let (_, diag) = request(&server, reqwest::Method::GET, "diagnostics", None).await;
    let issues = diag["data"]["issues"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        issues.iter().any(|i| i["category"] == "security"
            && i["severity"] == "error"
            && i["message"].as_str().unwrap_or_default().contains("add")),
        "{diag}"
    );

    // Approving the tool needs a reason.
    let (status, answer) = post(
        &server,
        "servers/poisoned/tools/approve",
        json!({"tools": ["add"]}),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = call_add(&server).await;
    assert_eq!(status, 403, "still held: {answer}");
    let (status, answer) = post(
        &server,
        "servers/poisoned/tools/approve",
        json!({"tools": ["add"], "reason": "reviewed: fixture text"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["approved"], json!(["add"]), "{answer}");
    let (status, answer) = call_add(&server).await;
    assert_eq!(status, 200, "{answer}");
    let tools = scanned_tools(&server).await;
    assert_eq!(
        tool(&tools, "add")["scan_override"]["reason"],
        "reviewed: fixture text"
    );
    server.stop().await;
}
