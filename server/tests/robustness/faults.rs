//! Faults: an upstream killed mid-call, one that never answers, one flooding stderr; the
//! proxy SIGKILLed while it saves the configuration and while it records history.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::proc::*;
use crate::upstream_fuzz::junk_server;

type Client = rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>;

/// `call_tool` bounded at 20 s: (is_error, text, elapsed).
async fn call(client: &Client, name: &str, args: serde_json::Value) -> (bool, String, Duration) {
    let started = Instant::now();
    let params = rmcp::model::CallToolRequestParams::new("call_tool").with_arguments(
        json!({"name": name, "args": args})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    let result = tokio::time::timeout(Duration::from_secs(20), client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer in 20 s"))
        .unwrap_or_else(|e| panic!("{name}: protocol error {e}"));
    (
        result.is_error == Some(true),
        text_of(&result),
        started.elapsed(),
    )
}

fn kill(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Whether `pid` is gone or a zombie.
fn dead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with(['Z', 'X']))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_fault_upstream_killed_mid_call_is_a_clean_error_then_reconnects() {
    let server = TestServer::start(config_with(json!([
        fixture_server("fx"),
        fixture_server("other")
    ])))
    .await;
    wait_ready(&server, "fx").await;
    wait_ready(&server, "other").await;
    let client = mcp_client(&server).await;
    let (_, pid, _) = call(&client, "fx:pid", json!({})).await;
    let pid: u32 = pid.parse().expect("pid");
    let slow = call(&client, "fx:slow", json!({"ms": 30_000}));
    let killer = async {
        // The fixture logs each call on stderr, which lands in the server log.
        poll(Duration::from_secs(10), "fx:slow to start", || async {
            let log = std::fs::read_to_string(server.dir.path().join("data/logs/server-fx.log"))
                .unwrap_or_default();
            log.contains("fixture: call slow").then_some(())
        })
        .await;
        kill(pid, "-KILL");
        let (err, text, took) = call(&client, "other:echo", json!({"message": "fine"})).await;
        assert!(!err && text == "Echo: fine" && took < Duration::from_secs(2));
    };
    let ((err, text, took), ()) = tokio::join!(slow, killer);
    assert!(err, "the killed call must fail: {text}");
    assert!(text.contains("fx"), "names the server: {text}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let new_pid = poll(Duration::from_secs(20), "fx to reconnect", || async {
        let (err, text, _) = call(&client, "fx:pid", json!({})).await;
        (!err).then(|| text.parse::<u32>().ok()).flatten()
    })
    .await;
    assert_ne!(new_pid, pid);
    assert!(dead(pid));
    client.cancel().await.expect("close");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_fault_upstream_that_never_answers_times_out_without_leaking() {
    let mut config = config_with(json!([fixture_server("fx")]));
    config["call_tool_timeout"] = json!("2s");
    let server = TestServer::start(config).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    let pid = pid_of(&server);
    // Warm up (first-call allocations, the history writer, ...).
    let (err, text, _) = call(&client, "fx:hang", json!({})).await;
    assert!(err && text.contains("timed out"), "{text}");
    let fds_before = fd_count(pid);
    let threads_before = status_field(pid, "Threads");
    for round in 0..4 {
        let calls = (0..5).map(|_| call(&client, "fx:hang", json!({})));
        for (err, text, took) in futures::future::join_all(calls).await {
            assert!(err, "round {round}: {text}");
            assert!(text.contains("timed out after 2s"), "{text}");
            assert!(
                took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
                "took {took:?}"
            );
        }
        let (err, text, took) = call(&client, "fx:echo", json!({"message": "ok"})).await;
        assert!(!err && text == "Echo: ok" && took < Duration::from_secs(2));
    }
    let fds_after = fd_count(pid);
    let threads_after = status_field(pid, "Threads");
    assert!(
        fds_after <= fds_before + 3,
        "fds grew {fds_before} -> {fds_after}"
    );
    assert!(
        threads_after <= threads_before + 4,
        "threads grew {threads_before} -> {threads_after}"
    );
    client.cancel().await.expect("close");
    server.stop().await;
}

/// Sizes of the server log and its backup.
fn log_sizes(server: &TestServer, name: &str) -> (u64, u64) {
    let log = server
        .dir
        .path()
        .join(format!("data/logs/server-{name}.log"));
    let size = |p: std::path::PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    (size(log.clone()), size(log.with_extension("log.1")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_fault_upstream_flooding_stderr_keeps_memory_and_logs_bounded() {
    const LIMIT: u64 = 5 * 1024 * 1024;
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let client = mcp_client(&server).await;
    let pid = pid_of(&server);
    let rss_before = status_field(pid, "VmRSS");
    // 30 MB of stderr in 150k lines.
    let line = "flood ".repeat(33);
    let (err, text, _) = call(
        &client,
        "fx:log",
        json!({"message": line, "lines": 150_000}),
    )
    .await;
    assert!(!err && text == "logged", "{text}");
    // A 64 MiB stderr "line" without a newline, from another server.
    let flood = junk_server("flood", &["--stderr-flood-mb", "64"]);
    server
        .client()
        .config_apply(
            &serde_json::from_value(json!({
                "listen": server.config_on_disk()["listen"],
                "api_key": KEY,
                "mcpServers": [fixture_server("fx"), flood],
            }))
            .expect("config document"),
        )
        .await
        .expect("apply");
    wait_ready(&server, "flood").await;
    poll(
        Duration::from_secs(20),
        "the flood to be logged",
        || async {
            let log = std::fs::read_to_string(server.dir.path().join("data/logs/server-flood.log"))
                .unwrap_or_default();
            log.contains("stderr flood done").then_some(())
        },
    )
    .await;
    let (err, text, _) = call(&client, "flood:echo", json!({"message": "x"})).await;
    assert!(!err && text == "Echo: x", "{text}");
    let rss_after = status_field(pid, "VmRSS");
    for name in ["fx", "flood"] {
        let (current, backup) = log_sizes(&server, name);
        assert!(
            current <= LIMIT && backup <= LIMIT,
            "{name}: log {current} bytes, backup {backup} bytes"
        );
    }
    assert!(
        rss_after < rss_before + 64 * 1024,
        "VmRSS grew from {rss_before} kB to {rss_after} kB"
    );
    client.cancel().await.expect("close");
    server.stop().await;
}

/// SIGKILL the proxy after `after` while `work` runs, then restart it over the same
/// directory. Returns the restarted server and how much work was acknowledged.
async fn kill_during<F, Fut>(server: TestServer, after: Duration, work: F) -> (TestServer, usize)
where
    F: Fn(mcpproxy_client::Client, Arc<AtomicBool>, Arc<AtomicUsize>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| tokio::spawn(work(server.client(), stop.clone(), done.clone())))
        .collect();
    poll(Duration::from_secs(20), "some work done", || async {
        (done.load(Ordering::Relaxed) >= 5).then_some(())
    })
    .await;
    // Kept: the delay is the point (the kill lands `after` into the load).
    tokio::time::sleep(after).await;
    let pid = pid_of(&server);
    kill(pid, "-KILL");
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(20), w).await;
    }
    poll(Duration::from_secs(10), "the proxy to die", || async {
        dead(pid).then_some(())
    })
    .await;
    let dir = server.dir.clone();
    drop(server);
    (
        TestServer::start_in(dir, &[]).await,
        done.load(Ordering::Relaxed),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_fault_sigkill_during_config_saves_leaves_a_readable_config() {
    let mut server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    for after in [
        Duration::from_millis(0),
        Duration::from_millis(37),
        Duration::from_millis(151),
    ] {
        (server, _) = kill_during(server, after, |client, stop, done| async move {
            let mut enable = false;
            while !stop.load(Ordering::Relaxed) {
                let r = if enable {
                    client.server_enable("fx").await.map(|_| ())
                } else {
                    client.server_disable("fx").await.map(|_| ())
                };
                if r.is_err() {
                    break; // the proxy is gone
                }
                enable = !enable;
                done.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
        // It started, so the file parsed; it is also complete JSON with our server.
        let on_disk = server.config_on_disk();
        assert_eq!(on_disk["mcpServers"][0]["name"], "fx", "{on_disk}");
        let config = server
            .client()
            .config_get()
            .await
            .expect("config")
            .into_inner();
        assert_eq!(config.data.config["mcpServers"][0]["name"], "fx");
        let leftovers: Vec<_> = std::fs::read_dir(server.dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("mcp_config") && n != "mcp_config.json")
            .collect();
        assert!(leftovers.len() <= 1, "temp files pile up: {leftovers:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_fault_sigkill_during_history_writes_leaves_a_readable_database() {
    let mut server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    let mut acknowledged = 0;
    for after in [Duration::from_millis(0), Duration::from_millis(83)] {
        wait_ready(&server, "fx").await;
        let done;
        (server, done) = kill_during(server, after, |client, stop, done| async move {
            while !stop.load(Ordering::Relaxed) {
                let call = client
                    .tool_call(&mcpproxy_client::types::ToolCallRequest {
                        tool_name: "fx:echo".into(),
                        arguments: Some(
                            serde_json::from_value(json!({"message": "x".repeat(2000)}))
                                .expect("map"),
                        ),
                    })
                    .await;
                if call.is_err() {
                    break;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
        let calls = server
            .client()
            .tool_call_list(Some(10), None, None)
            .await
            .expect("history lists after SIGKILL")
            .into_inner();
        assert!(calls.data.tool_calls.len() <= 10);
        // Every call whose result reached the client is in the history: the journal keeps
        // what the killed process had not committed yet.
        acknowledged += done;
        assert!(
            calls.data.total as usize >= acknowledged,
            "{} calls acknowledged before the kills, {} in history",
            acknowledged,
            calls.data.total
        );
        server
            .client()
            .session_list(None, None)
            .await
            .expect("sessions list after SIGKILL");
    }
    // And it records again.
    wait_ready(&server, "fx").await;
    let before = server
        .client()
        .tool_call_list(Some(1), None, None)
        .await
        .expect("calls")
        .into_inner()
        .data
        .total;
    server
        .client()
        .tool_call(&mcpproxy_client::types::ToolCallRequest {
            tool_name: "fx:echo".into(),
            arguments: Some(serde_json::from_value(json!({"message": "after"})).expect("map")),
        })
        .await
        .expect("call after restart");
    let after = server
        .client()
        .tool_call_list(Some(1), None, None)
        .await
        .expect("calls")
        .into_inner()
        .data
        .total;
    assert_eq!(after, before + 1);
    server.stop().await;
}
