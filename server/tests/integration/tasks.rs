//! The tasks extension (SEP-2663) through the proxy, and the 2026-07-28 companion session
//! keeping up with an upstream whose tools change. The upstream is the in-tree fixture
//! over streamable HTTP (a real process); the client speaks raw 2026-07-28 HTTP, the
//! revision tasks belong to.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

use super::common::{TestServer, config_with, eventually, fixture_bin, wait_ready};

/// What a client that declared the tasks extension puts in its capabilities.
fn with_tasks() -> Value {
    json!({"extensions": {"io.modelcontextprotocol/tasks": {}}})
}

/// The fixture over streamable HTTP (`extra` are more flags, e.g. `--conformance`), and
/// its MCP URL. The process ends when the child is dropped.
async fn http_fixture(extra: &[&str]) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(fixture_bin())
        .args(["http", "--port", "0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the fixture");
    let stdout = child.stdout.take().expect("fixture stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let address = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(address) = line.strip_prefix("LISTENING ") {
                return Some(address.to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("the fixture announced its address");
    (child, format!("http://{address}/mcp"))
}

/// A proxy whose one upstream `fixture` is the fixture at `url`, ready.
async fn proxy_of(url: &str) -> TestServer {
    let server = TestServer::start(config_with(json!([
        {"name": "fixture", "url": url, "protocol": "http", "enabled": true}
    ])))
    .await;
    wait_ready(&server, "fixture").await;
    server
}

/// One 2026-07-28 request: `method` with `params` on `url`, as a client declaring
/// `capabilities`, with the routing headers (`Mcp-Name` when `name` is given, and
/// `headers`); the JSON-RPC response (the last SSE `data:` line, or the JSON body).
async fn rpc(
    url: &str,
    method: &str,
    name: Option<&str>,
    params: Value,
    capabilities: Value,
    headers: &[(&str, &str)],
) -> Value {
    let text = mcpproxy_testkit::post_2026(
        url,
        method,
        name,
        params,
        ("tasks-test", capabilities),
        headers,
    )
    .await;
    mcpproxy_testkit::last_message(&text)
}

async fn call_tool(url: &str, tool: &str, args: Value, capabilities: Value) -> Value {
    let params = json!({"name": tool, "arguments": args});
    rpc(url, "tools/call", Some(tool), params, capabilities, &[]).await
}

async fn task_request(url: &str, method: &str, task: &str, more: Value) -> Value {
    let mut params = json!({"taskId": task});
    if let (Some(params), Some(more)) = (params.as_object_mut(), more.as_object()) {
        params.extend(more.clone());
    }
    rpc(url, method, Some(task), params, with_tasks(), &[]).await
}

/// `tasks/get` until the task's status is `status`.
async fn wait_status(url: &str, task: &str, status: &str) -> Value {
    eventually(
        Duration::from_secs(30),
        &format!("task {task} {status}"),
        || async {
            let got = task_request(url, "tasks/get", task, json!({})).await;
            (got["result"]["status"] == status).then_some(got)
        },
    )
    .await
}

#[tokio::test]
async fn tasks_pass_through_the_transparent_endpoint_and_not_the_aggregated_ones() {
    let (_fixture, upstream) = http_fixture(&["--conformance"]).await;
    let server = proxy_of(&upstream).await;
    let url = format!("{}/mcp/servers/fixture", server.url());

    // A task-capable tool makes a task for a client that declared the extension.
    let created = call_tool(&url, "slow_compute", json!({"seconds": 60}), with_tasks()).await;
    assert_eq!(created["result"]["resultType"], "task", "{created}");
    let task = created["result"]["taskId"]
        .as_str()
        .expect("taskId")
        .to_string();
    let got = task_request(&url, "tasks/get", &task, json!({})).await;
    assert_eq!(got["result"]["taskId"], task.as_str(), "{got}");
    assert_eq!(got["result"]["status"], "working", "{got}");

    // Cancelled upstream: acknowledged, then observed.
    let ack = task_request(&url, "tasks/cancel", &task, json!({})).await;
    assert_eq!(ack["result"], json!({"resultType": "complete"}), "{ack}");
    wait_status(&url, &task, "cancelled").await;

    // Input through tasks/update reaches the upstream's task.
    let created = call_tool(
        &url,
        "confirm_delete",
        json!({"filename": "a.txt"}),
        with_tasks(),
    )
    .await;
    let task = created["result"]["taskId"]
        .as_str()
        .expect("taskId")
        .to_string();
    let asked = wait_status(&url, &task, "input_required").await;
    let keys: Vec<String> = asked["result"]["inputRequests"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["confirm"], "{asked}");
    let answers =
        json!({"inputResponses": {"confirm": {"action": "accept", "content": {"confirm": true}}}});
    let ack = task_request(&url, "tasks/update", &task, answers).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    let done = wait_status(&url, &task, "completed").await;
    assert_eq!(
        done["result"]["result"]["content"][0]["text"], "Deleted a.txt",
        "{done}"
    );

    // The upstream's own errors: an unknown task, a client without the extension.
    let unknown = task_request(&url, "tasks/get", "no-such-task", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let params = json!({"taskId": task});
    let undeclared = rpc(&url, "tasks/get", Some(&task), params, json!({}), &[]).await;
    assert_eq!(undeclared["error"]["code"], -32021, "{undeclared}");

    // The aggregated surface carries no tasks: the tool runs synchronously there, and
    // the methods do not exist.
    let all = format!("{}/mcp/all", server.url());
    let sync = call_tool(
        &all,
        "fixture__slow_compute",
        json!({"seconds": 0, "label": "x"}),
        with_tasks(),
    )
    .await;
    assert_eq!(sync["result"]["resultType"], "complete", "{sync}");
    assert_eq!(sync["result"]["content"][0]["text"], "Computed x", "{sync}");
    let missing = task_request(&all, "tasks/get", &task, json!({})).await;
    assert_eq!(missing["error"]["code"], -32601, "{missing}");
}

/// A 2026-07-28 client of a 2025 HTTP session goes out on the companion session, which
/// lists the tools so rmcp can send their `Mcp-Param-*` headers. A tool with such a
/// header that appears later (the upstream says list_changed on its 2025 session) is
/// listed again on the companion before the next call, or the upstream refuses the call
/// for the missing header.
#[tokio::test]
async fn the_companion_lists_the_tools_again_after_the_upstream_changed_them() {
    let (_fixture, upstream) = http_fixture(&[]).await;
    let server = proxy_of(&upstream).await;
    let url = format!("{}/mcp/servers/fixture", server.url());

    // The companion opens (and lists the tools, without extra_tool).
    let echo = call_tool(&url, "echo", json!({"message": "hi"}), json!({})).await;
    assert_eq!(echo["result"]["content"][0]["text"], "Echo: hi", "{echo}");
    let added = call_tool(&url, "toggle_extra_tool", json!({}), json!({})).await;
    assert_eq!(
        added["result"]["content"][0]["text"], "extra_tool added",
        "{added}"
    );

    let answer = eventually(
        Duration::from_secs(30),
        "extra_tool called through the proxy",
        || async {
            let params = json!({"name": "extra_tool", "arguments": {"tag": "t1"}});
            let headers = [("Mcp-Param-Tag", "t1")];
            let answer = rpc(
                &url,
                "tools/call",
                Some("extra_tool"),
                params,
                json!({}),
                &headers,
            )
            .await;
            // Until the proxy's own list has the tool, it is unknown here.
            let unknown = answer.to_string().contains("not found");
            (!unknown).then_some(answer)
        },
    )
    .await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "extra t1",
        "{answer}"
    );
}
