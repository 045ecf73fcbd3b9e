//! Upstreams that speak garbage on stdout: junk lines, invalid UTF-8, a 20 MiB line, 64 MiB
//! without a newline, answers with wrong ids, 100k-deep nesting, notification floods,
//! requests to the client, a banner before the handshake, a death mid-call. The proxy
//! answers every call promptly (the answer, or a clean error naming the cause), keeps
//! serving the other server, keeps its memory bounded and reconnects the junk server.
//!
//! The junk server is `data/junk_upstream.py` (stdlib Python, run with `python3`).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::proc::*;

type Client = rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>;

/// A call through `call_tool_read`, bounded: (is_error, text, how long it took).
async fn call(client: &Client, name: &str, args: serde_json::Value) -> (bool, String, Duration) {
    let started = Instant::now();
    let params = rmcp::model::CallToolRequestParams::new("call_tool_read").with_arguments(
        json!({"name": name, "args": args})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let result = tokio::time::timeout(Duration::from_secs(15), client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer in 15 s"))
        .unwrap_or_else(|e| panic!("{name}: protocol error {e}"));
    (
        result.is_error == Some(true),
        text_of(&result),
        started.elapsed(),
    )
}

pub fn junk_server(name: &str, extra: &[&str]) -> serde_json::Value {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/robustness/data/junk_upstream.py");
    let mut args = vec!["-u".to_string(), script.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    json!({ "name": name, "command": python(), "args": args, "enabled": true })
}

/// A proxy over `servers` (each ready) with `call_tool_timeout` = `timeout`, and an MCP
/// client of its `/mcp`.
async fn proxy_with(servers: serde_json::Value, timeout: &str) -> (TestServer, Client) {
    let names: Vec<String> = servers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect();
    let mut config = config_with(servers);
    config["call_tool_timeout"] = json!(timeout);
    let server = TestServer::start(config).await;
    for name in &names {
        wait_ready(&server, name).await;
    }
    let client = mcp_client(&server).await;
    (server, client)
}

/// The proxy did not panic; the client and the proxy are closed.
async fn close(server: TestServer, client: Client) {
    let stderr = server.stderr_text();
    assert!(!stderr.contains("panicked"), "{stderr}");
    client.cancel().await.expect("close");
    server.stop().await;
}

/// `junk:echo` answers again (after a death, once reconnected).
async fn junk_echo_works(client: &Client) {
    poll(
        Duration::from_secs(20),
        "junk:echo to work again",
        || async {
            let (err, text, _) = call(client, "junk:echo", json!({"message": "again"})).await;
            (!err && text == "Echo: again").then_some(())
        },
    )
    .await;
}

/// Answers that arrive after (or among) garbage get through. The call timeout is roomy:
/// this test is about what gets through, not how fast (20,000 notifications cross three
/// debug-built processes, and CI runs this beside the load tests on two cores; the 2 s
/// limit the timeout test below needs failed here once under that load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_upstream_answers_after_garbage_get_through() {
    let (server, client) = proxy_with(
        json!([
            junk_server("junk", &[]),
            junk_server("banner", &["--banner"])
        ]),
        "12s",
    )
    .await;

    for (tool, expect) in [
        ("junk:garbage_then_answer", "ok after garbage"),
        ("junk:huge_line_then_answer", "ok after a huge line"),
        ("junk:flood_then_answer", "ok after a flood"),
        ("banner:echo", "Echo: hi"),
    ] {
        let (err, text, took) = call(&client, tool, json!({"message": "hi"})).await;
        assert!(
            !err && text == expect,
            "{tool}: {err} {text:.200} ({took:?})"
        );
    }
    let (err, text, _) = call(&client, "junk:huge_answer", json!({})).await;
    assert!(
        !err && text.contains("truncated by mcpproxy"),
        "{text:.200}"
    );
    close(server, client).await;
}

/// Answers the proxy cannot read, and a death mid-call, are clean errors within the call
/// timeout while the other server answers at once; memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_upstream_garbage_gets_clean_errors_and_others_keep_working() {
    let (server, client) = proxy_with(
        json!([fixture_server("fx"), junk_server("junk", &[])]),
        "2s",
    )
    .await;
    let pid = pid_of(&server);
    let rss_before = status_field(pid, "VmRSS");

    // Answers the proxy cannot read time out cleanly, while fx answers at once.
    for tool in [
        "junk:invalid_utf8_answer",
        "junk:wrong_id_only",
        "junk:nested_answer",
        "junk:no_newline_forever",
    ] {
        let pending = call(&client, tool, json!({}));
        let other = async {
            let (err, text, took) = call(&client, "fx:echo", json!({"message": "side"})).await;
            assert!(!err && text == "Echo: side", "fx while {tool}: {text}");
            assert!(
                took < Duration::from_secs(2),
                "fx took {took:?} while {tool}"
            );
        };
        let ((err, text, took), ()) = tokio::join!(pending, other);
        assert!(err, "{tool} should fail: {text:.200}");
        assert!(
            text.contains("junk") && text.contains("timed out"),
            "{tool}: {text:.300}"
        );
        assert!(took < Duration::from_secs(8), "{tool} took {took:?}");
        junk_echo_works(&client).await;
    }

    // A death mid-call is a clean error, then the server comes back.
    let (err, text, took) = call(&client, "junk:die_with_garbage", json!({})).await;
    assert!(err && text.contains("junk"), "{text}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    junk_echo_works(&client).await;

    let rss_after = status_field(pid, "VmRSS");
    assert!(
        rss_after < rss_before + 200 * 1024,
        "VmRSS grew from {rss_before} kB to {rss_after} kB"
    );
    close(server, client).await;
}

/// Progress notifications an upstream writes in one burst reach the client all, in order.
/// rmcp hands each notification to a task of its own and tokio does not run tasks spawned
/// back to back in order, so before the proxy stamped their arrival order, a burst came out
/// shuffled and every value overtaken by a later one was dropped as stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_upstream_progress_read_in_one_burst_arrives_in_order() {
    let count: u32 = 100;
    let expected: Vec<String> = (1..=count).map(|i| format!("progress {i}")).collect();
    burst_rounds("progress_burst", count, &expected).await;
}

/// Log messages and progress an upstream writes interleaved in one burst reach the client
/// all, in the order written, before the answer (each kind used to be handed to a task of
/// its own, and the answer could overtake tasks that had not run yet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_upstream_log_and_progress_read_in_one_burst_arrive_in_order() {
    let count: u32 = 50;
    let expected: Vec<String> = (1..=count)
        .flat_map(|i| [format!("log step {i}"), format!("progress {i}")])
        .collect();
    burst_rounds("mixed_burst", count, &expected).await;
}

/// Three rounds of `tool` (writing `count` steps in one burst) on the junk upstream through
/// `/mcp/servers/junk`: the notifications the client gets, as `progress N` / `log TEXT`,
/// are `expected`, and the answer comes last.
async fn burst_rounds(tool: &str, count: u32, expected: &[String]) {
    let server = TestServer::start(config_with(json!([junk_server("junk", &[])]))).await;
    wait_ready(&server, "junk").await;
    for round in 0..3 {
        let params = json!({
            "name": tool, "arguments": {"count": count},
            "_meta": {"progressToken": format!("burst-{round}")}});
        let text = mcpproxy_testkit::post_2026(
            &format!("{}/mcp/servers/junk", server.url()),
            "tools/call",
            Some(tool),
            params,
            ("burst-test", json!({})),
            &[],
        )
        .await;
        let messages = mcpproxy_testkit::messages_of(&text);
        let seen: Vec<String> = messages
            .iter()
            .filter_map(|m| match m["method"].as_str() {
                Some("notifications/progress") => m["params"]["progress"]
                    .as_f64()
                    .map(|p| format!("progress {p}")),
                Some("notifications/message") => m["params"]["data"]
                    .as_str()
                    .map(|data| format!("log {data}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            seen, expected,
            "round {round}: every notification, in order: {text:.500}"
        );
        let answer = messages.last().expect("an answer");
        assert_eq!(
            answer["result"]["content"][0]["text"]
                .as_str()
                .map(|t| t.ends_with(&format!("burst of {count}"))),
            Some(true),
            "{answer}"
        );
    }
    server.stop().await;
}
