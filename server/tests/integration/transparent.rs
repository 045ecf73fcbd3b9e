//! The MCP surfaces and what passes through them, with real clients and server-everything
//! behind the proxy: the official Python SDK on `/mcp/servers/everything` (its own names)
//! and `/mcp/all` (`server__tool`) gets progress, sampling, elicitation, resources (also
//! through a `resource_link` a tool returned), templates, prompts, completion and
//! cancellation; an rmcp client hears list changes and log messages, and a client that
//! cannot answer sampling makes the upstream fail at once instead of hanging.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, ClientCapabilities, Implementation};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

use super::common::{
    TestServer, config_with, eventually, everything_server, python_script, text_of, wait_ready,
};

/// Check what the Python pass-through client saw on a surface whose names carry `prefix`.
fn assert_passed_through(seen: &Value, prefix: &str) {
    assert_eq!(seen["echo"], "Echo: hi", "{seen}");
    assert_eq!(
        seen["progress"],
        json!([1.0, 2.0, 3.0]),
        "every progress notification reaches the client that asked: {seen}"
    );
    assert_eq!(seen["sampling_asked"], 1, "{seen}");
    assert!(
        seen["sampling"]
            .as_str()
            .is_some_and(|s| s.contains("SAMPLED-BY-CLIENT")),
        "the client's sampling answer went back to the upstream: {seen}"
    );
    assert_eq!(seen["elicitation_asked"], 1, "{seen}");
    assert!(
        seen["elicitation"]
            .as_str()
            .is_some_and(|s| s.contains("ELICITED")),
        "the client's elicitation answer went back to the upstream: {seen}"
    );
    assert!(seen["resources"].as_u64().is_some_and(|n| n >= 5), "{seen}");
    assert!(seen["read"].as_u64().is_some_and(|n| n > 100), "{seen}");
    assert!(
        seen["templates"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("demo://resource/dynamic/text/{resourceId}"))),
        "{seen}"
    );
    assert!(
        seen["read_dynamic"]
            .as_str()
            .is_some_and(|s| s.starts_with("Resource 1")),
        "a URI of a template is read through the proxy: {seen}"
    );
    assert_eq!(
        seen["links"].as_array().map(Vec::len),
        Some(2),
        "resource links keep their URIs: {seen}"
    );
    assert_eq!(
        seen["link_read"], 1,
        "a resource_link a tool returned is readable through the proxy: {seen}"
    );
    assert!(
        seen["prompts"]
            .as_array()
            .is_some_and(|p| p.contains(&json!(format!("{prefix}args-prompt")))),
        "{seen}"
    );
    assert!(
        seen["prompt"].as_str().is_some_and(|p| p.contains("Paris")),
        "{seen}"
    );
    assert_eq!(seen["completion"], json!(["Engineering"]), "{seen}");
    assert_eq!(seen["cancelled_after_progress"], true, "{seen}");
    assert_eq!(seen["after_cancel"], "Echo: after", "{seen}");
}

/// The history records the cancelled call as cancelled, not as a success of its full length.
async fn assert_cancel_recorded(server: &TestServer) {
    let calls = server
        .client()
        .tool_call_list(Some(50), None, None)
        .await
        .expect("history")
        .into_inner();
    let cancelled = calls
        .data
        .tool_calls
        .iter()
        .find(|c| {
            c.tool_name == "trigger-long-running-operation"
                && c.error
                    .as_deref()
                    .is_some_and(|e| e.contains("cancelled by the client"))
        })
        .unwrap_or_else(|| panic!("no cancelled call recorded: {:?}", calls.data.tool_calls));
    assert!(cancelled.is_error);
    assert!(
        cancelled.duration_ms < 15_000.0,
        "recorded when it was cancelled, not after its 20 s: {}",
        cancelled.duration_ms
    );
}

#[tokio::test]
async fn the_python_sdk_gets_everything_an_upstream_offers_through_its_transparent_endpoint() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let url = format!("{}/mcp/servers/everything", server.url());
    let (seen, stderr) = python_script("passthrough_client.py", &[&url, ""], &[]).await;
    assert_passed_through(&seen, "");
    assert!(
        seen["tools"].as_array().is_some_and(
            |t| t.contains(&json!("echo")) && t.contains(&json!("trigger-sampling-request"))
        ),
        "the upstream's own names, and the tools it offers clients that can sample: {seen}\n{stderr}"
    );
    assert_cancel_recorded(&server).await;
}

#[tokio::test]
async fn the_direct_surface_prefixes_tools_and_prompts_with_their_server() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let url = format!("{}/mcp/all", server.url());
    let (seen, _) = python_script("passthrough_client.py", &[&url, "everything__"], &[]).await;
    assert_passed_through(&seen, "everything__");
    assert!(
        seen["tools"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("everything__echo"))
                && !t.iter().any(|n| n == "retrieve_tools")),
        "{seen}"
    );
    assert_cancel_recorded(&server).await;
}

/// What an rmcp test client heard.
#[derive(Clone, Default)]
struct Heard {
    tools_changed: Arc<Mutex<usize>>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Heard {
    fn get_info(&self) -> rmcp::model::ClientConfig {
        // No sampling, elicitation or roots: this client cannot be asked anything.
        rmcp::model::ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("heard-client", "1"),
        )
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        if let Ok(mut n) = self.tools_changed.lock() {
            *n += 1;
        }
    }

    #[expect(
        deprecated,
        reason = "logging is deprecated by SEP-2577 but servers still send it"
    )]
    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if let Ok(mut logs) = self.logs.lock() {
            logs.push(params.data.to_string());
        }
    }
}

async fn heard_client(url: String, heard: &Heard) -> RunningService<RoleClient, Heard> {
    let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url);
    heard.clone().serve(transport).await.expect("MCP session")
}

async fn call(
    client: &RunningService<RoleClient, Heard>,
    tool: &str,
    args: Value,
) -> Result<rmcp::model::CallToolResult, rmcp::ServiceError> {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    client.call_tool(params).await
}

/// A proxy with two server-everything upstreams, `everything` and `other`, both ready.
async fn two_servers() -> TestServer {
    let server = TestServer::start(config_with(json!([
        everything_server("everything"),
        everything_server("other")
    ])))
    .await;
    wait_ready(&server, "everything").await;
    wait_ready(&server, "other").await;
    server
}

#[tokio::test]
async fn sessions_hear_list_changes_and_upstream_log_messages() {
    let server = two_servers().await;
    let heard = Heard::default();
    let client = heard_client(format!("{}/mcp/servers/everything", server.url()), &heard).await;
    let all_heard = Heard::default();
    let all = heard_client(format!("{}/mcp/all", server.url()), &all_heard).await;
    let listed = all.list_all_tools().await.expect("tools");
    assert!(listed.iter().any(|t| t.name == "other__echo"));

    // Log messages outside any request reach the transparent session.
    let toggled = call(&client, "toggle-simulated-logging", json!({}))
        .await
        .expect("toggle");
    assert!(!toggled.is_error.unwrap_or(false), "{toggled:?}");
    eventually(Duration::from_secs(30), "a simulated log message", || {
        let logs = heard.logs.clone();
        async move { (!logs.lock().map(|l| l.is_empty()).unwrap_or(true)).then_some(()) }
    })
    .await;

    // Disabling a server changes what /mcp/all lists: its session is told.
    let rest = server.client();
    rest.server_disable("other").await.expect("disable");
    eventually(
        Duration::from_secs(20),
        "tools/list_changed on /mcp/all",
        || {
            let n = all_heard.tools_changed.clone();
            async move { (*n.lock().map_err(|_| ()).ok()? > 0).then_some(()) }
        },
    )
    .await;
    let listed = all.list_all_tools().await.expect("tools");
    assert!(
        !listed.iter().any(|t| t.name.starts_with("other__")),
        "a disabled server's tools are gone"
    );
    assert!(listed.iter().any(|t| t.name == "everything__echo"));
    client.cancel().await.ok();
    all.cancel().await.ok();
}

#[tokio::test]
async fn an_upstream_asking_a_client_that_cannot_sample_fails_at_once() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let heard = Heard::default();
    let client = heard_client(format!("{}/mcp/servers/everything", server.url()), &heard).await;
    let started = Instant::now();
    let outcome = call(
        &client,
        "trigger-sampling-request",
        json!({"prompt": "hello", "maxTokens": 5}),
    )
    .await;
    let took = started.elapsed();
    let failed = match &outcome {
        Err(_) => true,
        Ok(result) => {
            result.is_error == Some(true) || text_of(result).to_lowercase().contains("error")
        }
    };
    assert!(
        failed,
        "the upstream learns the client cannot sample: {outcome:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "no wait for an answer that cannot come: {took:?}"
    );
    client.cancel().await.ok();
}

#[tokio::test]
async fn unknown_and_quarantined_servers_are_not_served() {
    let mut quarantined = everything_server("held");
    quarantined["quarantined"] = json!(true);
    let server = TestServer::start(config_with(json!([quarantined]))).await;
    let raw = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}});
    let unknown = raw
        .post(format!("{}/mcp/servers/nope", server.url()))
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), 404, "no server of that name");
    let other = raw
        .post(format!("{}/mcp/elsewhere", server.url()))
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(other.status(), 404, "no such surface");
    let heard = Heard::default();
    let client = heard_client(format!("{}/mcp/servers/held", server.url()), &heard).await;
    let listed = client.list_all_tools().await;
    let refused = listed.expect_err("a quarantined server lists nothing");
    assert!(refused.to_string().contains("quarantined"), "{refused}");
    client.cancel().await.ok();
}

#[tokio::test]
async fn status_info_and_routing_list_the_endpoints_and_routing_mode_switches_mcp() {
    let mut config = config_with(json!([everything_server("everything")]));
    config["routing_mode"] = json!("direct");
    let server = TestServer::start(config).await;
    wait_ready(&server, "everything").await;
    let rest = server.client();
    let base = server.url();
    let routing = rest.routing_get().await.expect("routing").into_inner().data;
    assert_eq!(routing.routing_mode, "direct");
    assert_eq!(routing.default, format!("{base}/mcp"));
    assert_eq!(routing.call, format!("{base}/mcp/call"));
    assert_eq!(routing.all, format!("{base}/mcp/all"));
    assert_eq!(routing.servers.len(), 1);
    assert_eq!(
        routing.servers[0].url,
        format!("{base}/mcp/servers/everything")
    );
    assert!(routing.servers[0].available);
    let status = rest.status_get().await.expect("status").into_inner();
    let json = |v: &mcpproxy_client::types::McpEndpoints| serde_json::to_value(v).expect("json");
    assert_eq!(json(&status.mcp), json(&routing));
    let info = rest.info_get().await.expect("info").into_inner();
    assert_eq!(json(&info.data.endpoints.mcp), json(&routing));

    // In direct mode /mcp lists every tool as server__tool; /mcp/call keeps the built-ins.
    let heard = Heard::default();
    let default = heard_client(format!("{base}/mcp"), &heard).await;
    let tools = default.list_all_tools().await.expect("tools");
    assert!(tools.iter().any(|t| t.name == "everything__echo"));
    assert!(!tools.iter().any(|t| t.name == "retrieve_tools"));
    let call = heard_client(format!("{base}/mcp/call"), &heard).await;
    let tools = call.list_all_tools().await.expect("tools");
    assert!(tools.iter().any(|t| t.name == "retrieve_tools"));
    assert!(!tools.iter().any(|t| t.name == "everything__echo"));
    default.cancel().await.ok();
    call.cancel().await.ok();
}

/// POST a JSON-RPC message to `url`, giving up after `within`.
async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: Value,
    within: Duration,
) -> Result<reqwest::Response, reqwest::Error> {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Accept", "application/json, text/event-stream")
        .timeout(within)
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    // Read the whole (SSE) body: this is where giving up happens.
    let status = response.status();
    let text = response.text().await?;
    panic!("the call finished although the client gave up: {status} {text}");
}

/// The recorded calls of `tool`, newest first.
async fn calls_of(server: &TestServer, tool: &str) -> Vec<mcpproxy_client::types::ToolCallRecord> {
    let calls = server
        .client()
        .tool_call_list(Some(50), None, None)
        .await
        .expect("history")
        .into_inner();
    calls
        .data
        .tool_calls
        .into_iter()
        .filter(|c| c.tool_name == tool)
        .collect()
}

#[tokio::test]
async fn a_client_that_drops_its_request_cancels_the_upstream_call_at_both_revisions() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let url = format!("{}/mcp/servers/everything", server.url());
    let long = json!({"name": "trigger-long-running-operation", "arguments": {"duration": 15, "steps": 15}});

    // 2025-11-25: a session, then a call whose stream the client closes after 2 s.
    let init = reqwest::Client::new()
        .post(&url)
        .header("Accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "dropper", "version": "1"}}}),
        )
        .send()
        .await
        .expect("initialize");
    let session = init
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("session id")
        .to_string();
    drop(init.text().await);
    let headers = [
        ("Mcp-Session-Id", session.as_str()),
        ("MCP-Protocol-Version", "2025-11-25"),
    ];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let _ = reqwest::Client::new()
        .post(&url)
        .header("Accept", "application/json, text/event-stream")
        .header("Mcp-Session-Id", &session)
        .header("MCP-Protocol-Version", "2025-11-25")
        .json(&initialized)
        .send()
        .await
        .expect("initialized");
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": long});
    let gave_up = post(&url, &headers, call, Duration::from_secs(2)).await;
    assert!(gave_up.is_err());

    // 2026-07-28: no session; the client aborts the request after 2 s.
    let mut params = long.clone();
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "aborter", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let headers = [
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "trigger-long-running-operation"),
    ];
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params});
    let gave_up = post(&url, &headers, call, Duration::from_secs(2)).await;
    assert!(gave_up.is_err());

    let cancelled = eventually(Duration::from_secs(10), "both calls recorded", || async {
        let calls = calls_of(&server, "trigger-long-running-operation").await;
        (calls.len() >= 2).then_some(calls)
    })
    .await;
    for call in &cancelled {
        assert!(
            call.error
                .as_deref()
                .is_some_and(|e| e.contains("cancelled by the client")),
            "recorded as cancelled: {call:?}"
        );
        assert!(
            call.duration_ms < 10_000.0,
            "cancelled when the client gave up, not after 15 s: {call:?}"
        );
    }
    assert!(
        cancelled
            .iter()
            .any(|c| c.mcp_session_id.as_deref() == Some(session.as_str())),
        "the 2025 session's call is among them"
    );
}

#[tokio::test]
async fn a_2026_client_listening_hears_that_the_tools_changed() {
    let server = two_servers().await;
    let listen = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen", "params": {
    "notifications": {"toolsListChanged": true},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "listener", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    }}});
    let response = reqwest::Client::new()
        .post(format!("{}/mcp/all", server.url()))
        .header("Accept", "application/json, text/event-stream")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "subscriptions/listen")
        .json(&listen)
        .send()
        .await
        .expect("listen");
    assert_eq!(response.status(), 200);
    let mut body = Box::pin(response.bytes_stream());
    let mut seen = String::new();
    let mut next_until = async |what: &str, seen: &mut String| {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !seen.contains(what) {
            let chunk = tokio::time::timeout_at(deadline, body.next())
                .await
                .unwrap_or_else(|_| panic!("no {what} in 20 s: {seen}"))
                .unwrap_or_else(|| panic!("the stream ended before {what}: {seen}"))
                .expect("chunk");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    next_until("notifications/subscriptions/acknowledged", &mut seen).await;
    server
        .client()
        .server_disable("other")
        .await
        .expect("disable");
    next_until("notifications/tools/list_changed", &mut seen).await;
}

/// A 2026-07-28 `tools/call` on `url` with `params` (name, arguments and what else), as a
/// client declaring `capabilities`; the JSON-RPC response (the last SSE `data:` line).
async fn call_2026(url: &str, params: Value, capabilities: Value) -> Value {
    let name = params["name"].as_str().unwrap_or_default().to_string();
    let text = mcpproxy_testkit::post_2026(
        url,
        "tools/call",
        Some(&name),
        params,
        ("mrtr-test", capabilities),
        &[],
    )
    .await;
    mcpproxy_testkit::last_message(&text)
}

/// server-everything speaks 2025 only and asks for sampling with a request; a 2026-07-28
/// client gets that as an input-required result, and its retry with the proxy's
/// `requestState` answers the waiting upstream. The state is good once, for that tool only.
#[tokio::test]
async fn a_2025_upstream_asks_a_2026_client_with_an_input_required_result() {
    let server = TestServer::start(config_with(json!([everything_server("everything")]))).await;
    wait_ready(&server, "everything").await;
    let url = format!("{}/mcp/servers/everything", server.url());
    let sample = json!({"name": "trigger-sampling-request", "arguments": {"prompt": "hello", "maxTokens": 5}});
    let caps = json!({"sampling": {}});

    let asked = call_2026(&url, sample.clone(), caps.clone()).await;
    let result = &asked["result"];
    assert_eq!(result["resultType"], "input_required", "{asked}");
    let state = result["requestState"]
        .as_str()
        .expect("requestState")
        .to_string();
    let requests = result["inputRequests"].as_object().expect("inputRequests");
    assert_eq!(requests.len(), 1, "{asked}");
    let (key, request) = requests.iter().next().expect("one request");
    assert_eq!(request["method"], "sampling/createMessage", "{asked}");

    // A forged state and the right state for another tool are refused.
    let mut forged = sample.clone();
    forged["requestState"] = json!("mcpproxy-mrtr-forged");
    forged["inputResponses"] = json!({});
    let refused = call_2026(&url, forged, caps.clone()).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
    let mut other = json!({"name": "echo", "arguments": {"message": "hi"}});
    other["requestState"] = json!(state);
    let refused = call_2026(&url, other, caps.clone()).await;
    assert_eq!(refused["error"]["code"], -32602, "{refused}");

    // The answer reaches the upstream, whose result comes back.
    let mut retry = sample.clone();
    retry["requestState"] = json!(state);
    retry["inputResponses"] = json!({key.as_str(): {
        "role": "assistant", "model": "test-model",
        "content": {"type": "text", "text": "sampled-by-the-2026-client"}}});
    let done = call_2026(&url, retry.clone(), caps.clone()).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert!(
        done.to_string().contains("sampled-by-the-2026-client"),
        "the upstream got the client's answer: {done}"
    );

    // Good once.
    let again = call_2026(&url, retry, caps).await;
    assert_eq!(again["error"]["code"], -32602, "{again}");

    // A client that cannot sample is not asked: the upstream is refused at once.
    let started = Instant::now();
    let plain = call_2026(&url, sample, json!({})).await;
    assert_ne!(plain["result"]["resultType"], "input_required", "{plain}");
    assert!(started.elapsed() < Duration::from_secs(10));
}
