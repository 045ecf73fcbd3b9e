//! Upstream connections against real servers over real pipes and sockets: the in-tree
//! `mcp-fixture` (stdio, streamable HTTP, legacy SSE) and the reference
//! `@modelcontextprotocol/server-everything` (stdio, streamable HTTP, SSE).
//!
//! Nothing sleeps blindly: tests poll the manager's state with a deadline. The two
//! exceptions are observation windows that *are* the assertion (a dead server's attempts in
//! 10 s, an auth failure not being retried for 3 s).

use std::{
    collections::BTreeSet,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use mcpproxy::{
    config::{EnvironmentConfig, ServerConfig},
    events::{Event, EventBus, ServerChange, kinds},
    upstream::{
        ConnectionState, LogLine, LogStart, UpstreamError, UpstreamManager, UpstreamSnapshot,
    },
};
use mcpproxy_testkit::{
    alive, everything_js, exists, fixture_bin, poll::EVERY, text_of, try_poll, wait_listening,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------- harness

struct Harness {
    manager: UpstreamManager,
    bus: EventBus,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = EventBus::new();
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let manager = UpstreamManager::new(bus.clone(), dir.path().join("logs"), logger);
    Harness {
        manager,
        bus,
        _dir: dir,
    }
}

impl Harness {
    fn apply(&self, servers: &[ServerConfig]) {
        self.manager.apply(servers, &EnvironmentConfig::default());
    }

    /// Poll until `done` holds for the server, or fail with its snapshot and log.
    async fn wait_for(
        &self,
        name: &str,
        within: Duration,
        what: &str,
        done: impl Fn(&UpstreamSnapshot) -> bool,
    ) -> UpstreamSnapshot {
        let found = try_poll(within, EVERY, what, || {
            let found = self.manager.snapshot(name).filter(|s| done(s));
            async move { found }
        })
        .await;
        found.unwrap_or_else(|_| {
            let snapshot = self.manager.snapshot(name);
            let log = self.manager.logs(name, LogStart::Tail, 40);
            let log: Vec<String> = log
                .unwrap_or_default()
                .lines
                .iter()
                .map(|l| format!("{} {} {}", l.timestamp, l.level, l.message))
                .collect();
            panic!(
                "`{name}` never became {what} within {within:?}; last {snapshot:#?}\nlog:\n{}",
                log.join("\n")
            )
        })
    }

    async fn ready(&self, name: &str) -> UpstreamSnapshot {
        self.wait_for(name, Duration::from_secs(30), "ready", |s| {
            s.state == ConnectionState::Ready
        })
        .await
    }

    fn tool_names(&self, name: &str) -> BTreeSet<String> {
        self.manager
            .tools(name)
            .unwrap_or_default()
            .iter()
            .map(|t| t.name.to_string())
            .collect()
    }

    async fn call_text(&self, server: &str, tool: &str, args: Value) -> String {
        let args = args.as_object().cloned();
        let result = self
            .manager
            .call_tool(
                server,
                tool,
                args,
                Duration::from_secs(20),
                &mcpproxy::upstream::CallLink::default(),
            )
            .await
            .expect("tool call");
        text_of(&result)
    }

    async fn pid(&self, server: &str) -> u32 {
        self.call_text(server, "pid", json!({}))
            .await
            .trim()
            .parse()
            .expect("pid")
    }

    /// Log lines containing `needle`.
    fn log_lines(&self, server: &str, needle: &str) -> Vec<LogLine> {
        self.manager
            .logs(server, LogStart::Tail, 10_000)
            .expect("logs")
            .lines
            .into_iter()
            .filter(|l| l.message.contains(needle))
            .collect()
    }

    fn attempts(&self, server: &str) -> Vec<DateTime<Utc>> {
        self.log_lines(server, "connecting (attempt")
            .iter()
            .map(|l| l.timestamp)
            .collect()
    }
}

fn server(value: Value) -> ServerConfig {
    let mut value = value;
    value["enabled"] = json!(value.get("enabled").cloned().unwrap_or(json!(true)));
    serde_json::from_value(value).expect("server config")
}

fn fixture_stdio(name: &str, extra: &[&str]) -> ServerConfig {
    let mut args = vec!["stdio".to_string(), "--name".into(), name.into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    server(json!({"name": name, "command": fixture_bin(), "args": args}))
}

fn kill9(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// A server process the test owns (HTTP/SSE); killed when dropped.
struct Process {
    child: Child,
    port: u16,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `mcp-fixture <mode> --port 0 …` and read its `LISTENING 127.0.0.1:<port>` line.
fn spawn_fixture_http(mode: &str, extra: &[&str]) -> Process {
    let mut child = Command::new(fixture_bin())
        .args([mode, "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fixture");
    let stdout = child.stdout.take().expect("stdout");
    let line = mcpproxy_testkit::announced_blocking(stdout, "LISTENING ");
    let port = line
        .as_deref()
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no LISTENING line from the fixture: {line:?}"));
    Process { child, port }
}

/// `PORT=0 node index.js <mode>`; its port read from its sockets once it listens.
async fn spawn_everything_http(mode: &str) -> Process {
    let child = Command::new("node")
        .arg(everything_js())
        .arg(mode)
        .env("PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node (is Node.js installed?)");
    let port = wait_listening(child.id(), Duration::from_secs(30)).await;
    let process = Process {
        child,
        port: port.unwrap_or(0),
    };
    assert!(port.is_some(), "server-everything {mode} never listened");
    process
}

// ---------------------------------------------------------------- transports

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_stdio_reaches_ready_with_its_tools_and_publishes_each_state() {
    let h = harness();
    let mut events = h.bus.subscribe();
    h.apply(&[fixture_stdio("fx", &["--tools", "3"])]);
    let snap = h.ready("fx").await;
    assert_eq!(snap.server_name.as_deref(), Some("fx"));
    assert!(
        snap.protocol_version.is_some() && snap.connected_at.is_some() && snap.last_error.is_none()
    );
    let names = h.tool_names("fx");
    for tool in [
        "echo",
        "add",
        "slow",
        "hang",
        "crash",
        "pid",
        "toggle_extra_tool",
        "synthetic_1",
        "synthetic_3",
    ] {
        assert!(names.contains(tool), "missing {tool} in {names:?}");
    }
    assert_eq!(snap.tool_count, names.len());
    // Annotations and output schemas survive discovery.
    let tools = h.manager.tools("fx").expect("tools");
    let delete = tools
        .iter()
        .find(|t| t.name == "delete_everything")
        .expect("delete_everything");
    assert_eq!(
        delete.annotations.as_ref().and_then(|a| a.destructive_hint),
        Some(true)
    );
    assert!(
        tools.iter().any(|t| t.output_schema.is_some()),
        "no output schema kept"
    );
    assert_eq!(
        h.call_text("fx", "echo", json!({"message": "hi"})).await,
        "Echo: hi"
    );

    let mut states = Vec::new();
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.kind(), kinds::SERVERS_CHANGED);
        if let Event::ServersChanged(ServerChange::StateChanged { server, state, .. }) =
            &event.event
            && server == "fx"
        {
            states.push(state.to_string());
        }
    }
    assert_eq!(states, ["connecting", "discovering", "ready"]);
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_streamable_http_reaches_ready() {
    let upstream = spawn_fixture_http("http", &["--name", "fxh"]);
    let h = harness();
    let url = format!("http://127.0.0.1:{}/mcp", upstream.port);
    h.apply(&[server(json!({"name": "h", "protocol": "http", "url": url}))]);
    let snap = h.ready("h").await;
    assert_eq!(snap.server_name.as_deref(), Some("fxh"));
    assert!(h.tool_names("h").contains("echo"));
    assert_eq!(
        h.call_text("h", "echo", json!({"message": "over http"}))
            .await,
        "Echo: over http"
    );
    // `auto` (no protocol) with a URL picks streamable HTTP first.
    h.apply(&[
        server(json!({"name": "h", "protocol": "http", "url": url})),
        server(json!({"name": "h-auto", "url": url})),
    ]);
    h.ready("h-auto").await;
    h.wait_for(
        "h-auto",
        Duration::from_secs(5),
        "logged as streamable-http",
        |_| {
            !h.log_lines("h-auto", "ready via streamable-http")
                .is_empty()
        },
    )
    .await;
    assert!(h.log_lines("h-auto", "legacy SSE").is_empty());
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_legacy_sse_reaches_ready() {
    let upstream = spawn_fixture_http("sse", &["--name", "fxs"]);
    let h = harness();
    let url = format!("http://127.0.0.1:{}/sse", upstream.port);
    h.apply(&[server(json!({"name": "s", "protocol": "sse", "url": url}))]);
    let snap = h.ready("s").await;
    assert_eq!(snap.server_name.as_deref(), Some("fxs"));
    assert!(h.tool_names("s").contains("echo"));
    assert_eq!(
        h.call_text("s", "echo", json!({"message": "over sse"}))
            .await,
        "Echo: over sse"
    );
    // list_changed arrives over the event stream too.
    h.call_text("s", "toggle_extra_tool", json!({})).await;
    h.wait_for("s", Duration::from_secs(10), "refreshed", |_| {
        h.tool_names("s").contains("extra_tool")
    })
    .await;
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_from_streamable_http_to_legacy_sse() {
    let upstream = spawn_fixture_http("sse", &["--name", "old"]);
    let h = harness();
    let url = format!("http://127.0.0.1:{}/sse", upstream.port);
    h.apply(&[server(json!({"name": "auto", "url": url}))]);
    h.ready("auto").await;
    h.wait_for("auto", Duration::from_secs(5), "logged as sse", |_| {
        !h.log_lines("auto", "ready via sse").is_empty()
    })
    .await;
    assert!(!h.log_lines("auto", "trying legacy SSE").is_empty());
    assert_eq!(
        h.call_text("auto", "echo", json!({"message": "x"})).await,
        "Echo: x"
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_stdio_reaches_ready() {
    let js = everything_js();
    let h = harness();
    h.apply(&[server(
        json!({"name": "ev", "command": "node", "args": [js, "stdio"]}),
    )]);
    let snap = h.ready("ev").await;
    let names = h.tool_names("ev");
    for tool in ["echo", "get-sum", "get-env"] {
        assert!(names.contains(tool), "missing {tool} in {names:?}");
    }
    assert!(snap.server_name.is_some());
    assert_eq!(
        h.call_text("ev", "echo", json!({"message": "hello"})).await,
        "Echo: hello"
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_streamable_http_reaches_ready() {
    let upstream = spawn_everything_http("streamableHttp").await;
    let h = harness();
    let url = format!("http://127.0.0.1:{}/mcp", upstream.port);
    h.apply(&[server(
        json!({"name": "evh", "protocol": "streamable-http", "url": url}),
    )]);
    h.ready("evh").await;
    assert!(h.tool_names("evh").contains("get-sum"));
    assert_eq!(
        h.call_text("evh", "echo", json!({"message": "hey"})).await,
        "Echo: hey"
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_legacy_sse_reaches_ready() {
    let upstream = spawn_everything_http("sse").await;
    let h = harness();
    let url = format!("http://127.0.0.1:{}/sse", upstream.port);
    h.apply(&[server(
        json!({"name": "evs", "protocol": "sse", "url": url}),
    )]);
    h.ready("evs").await;
    assert!(h.tool_names("evs").contains("get-sum"));
    assert_eq!(
        h.call_text("evs", "echo", json!({"message": "old"})).await,
        "Echo: old"
    );
    h.manager.shutdown().await;
}

// ---------------------------------------------------------------- failure and recovery

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_goes_to_error_then_reconnects_with_growing_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let down = dir.path().join("down");
    // Refuses to start while the `down` file exists; the path reaches it through `env`.
    let script = format!(
        "if [ -e \"$DOWN\" ]; then echo 'down on purpose' >&2; exit 1; fi; exec '{}' stdio --name k",
        fixture_bin().display()
    );
    let config = server(
        json!({"name": "k", "command": "sh", "args": ["-c", script], "env": {"DOWN": down}}),
    );
    let h = harness();
    h.apply(&[config]);
    h.ready("k").await;
    let pid = h.pid("k").await;
    std::fs::write(&down, "").expect("down file");
    let killed_at = Utc::now();
    kill9(pid);
    let snap = h
        .wait_for("k", Duration::from_secs(5), "error", |s| {
            s.state == ConnectionState::Error
        })
        .await;
    let detected = Utc::now() - killed_at;
    assert!(
        snap.last_error
            .as_deref()
            .is_some_and(|e| e.contains("exited") || e.contains("closed")),
        "{snap:?}"
    );
    // Two failed retries, then let it come back.
    h.wait_for("k", Duration::from_secs(20), "retried twice", |_| {
        h.attempts("k").len() >= 3 && h.log_lines("k", "retry at").len() >= 3
    })
    .await;
    std::fs::remove_file(&down).expect("rm down");
    h.wait_for("k", Duration::from_secs(20), "ready again", |s| {
        s.state == ConnectionState::Ready && h.attempts("k").len() >= 4
    })
    .await;
    let new_pid = h.pid("k").await;
    assert_ne!(pid, new_pid);
    assert!(!alive(pid));

    let lost = h.log_lines("k", "session ended")[0].timestamp;
    let attempts = h.attempts("k");
    let marks: Vec<DateTime<Utc>> = std::iter::once(lost)
        .chain(attempts[1..].iter().copied())
        .collect();
    let gaps: Vec<f64> = marks
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds() as f64 / 1000.0)
        .collect();
    eprintln!(
        "kill -9 detected after {} ms; lost at {lost}; attempts {:?}; gaps {gaps:?} s",
        detected.num_milliseconds(),
        &attempts[1..]
    );
    assert!(
        detected < chrono::Duration::seconds(3),
        "slow detection: {detected}"
    );
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    assert!(
        gaps[0] < gaps[1] && gaps[1] < gaps[2],
        "gaps do not grow: {gaps:?}"
    );
    assert!(
        (0.7..1.5).contains(&gaps[0])
            && (1.5..3.0).contains(&gaps[1])
            && (3.0..5.5).contains(&gaps[2]),
        "{gaps:?}"
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_call_returns_a_clean_error_and_reconnects() {
    let h = harness();
    h.apply(&[fixture_stdio("c", &[])]);
    h.ready("c").await;
    let pid = h.pid("c").await;
    let error = h
        .manager
        .call_tool(
            "c",
            "crash",
            None,
            Duration::from_secs(10),
            &mcpproxy::upstream::CallLink::default(),
        )
        .await
        .expect_err("crash must fail");
    assert!(
        matches!(error, UpstreamError::Transport { .. }),
        "{error:?}"
    );
    let snap = h
        .wait_for(
            "c",
            Duration::from_secs(15),
            "ready with a new process",
            |s| {
                s.state == ConnectionState::Ready
                    && s.retry_count == 0
                    && h.attempts("c").len() >= 2
            },
        )
        .await;
    assert_eq!(snap.last_error, None);
    assert_ne!(h.pid("c").await, pid);
    assert!(
        !h.log_lines("c", "exit status: 42").is_empty(),
        "exit status not logged"
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_time_out_and_are_refused_when_not_connected() {
    let h = harness();
    h.apply(&[fixture_stdio("t", &[]), {
        let mut off = fixture_stdio("off", &[]);
        off.enabled = false;
        off
    }]);
    h.ready("t").await;
    let error = h
        .manager
        .call_tool(
            "t",
            "hang",
            None,
            Duration::from_millis(300),
            &mcpproxy::upstream::CallLink::default(),
        )
        .await
        .expect_err("timeout");
    assert!(matches!(error, UpstreamError::Timeout { .. }), "{error:?}");
    // The connection is still fine afterwards.
    assert_eq!(
        h.call_text("t", "echo", json!({"message": "still"})).await,
        "Echo: still"
    );
    let failed = h
        .manager
        .call_tool(
            "t",
            "fail",
            json!({"message": "nope"}).as_object().cloned(),
            Duration::from_secs(5),
            &mcpproxy::upstream::CallLink::default(),
        )
        .await
        .expect("fail returns a result");
    assert_eq!(failed.is_error, Some(true));
    assert!(matches!(
        h.manager
            .call_tool(
                "nope",
                "echo",
                None,
                Duration::from_secs(1),
                &mcpproxy::upstream::CallLink::default()
            )
            .await,
        Err(UpstreamError::NotFound { .. })
    ));
    assert!(matches!(
        h.manager
            .call_tool(
                "off",
                "echo",
                None,
                Duration::from_secs(1),
                &mcpproxy::upstream::CallLink::default()
            )
            .await,
        Err(UpstreamError::Disabled { .. })
    ));
    assert_eq!(
        h.manager.snapshot("off").map(|s| s.state),
        Some(ConnectionState::Disconnected)
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_gets_a_bounded_number_of_attempts() {
    let h = harness();
    h.apply(&[fixture_stdio("dead", &["--fail-start"])]);
    let started = Utc::now();
    // The observation window is the assertion: 10 s of a server that always fails.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let attempts = h.attempts("dead");
    let offsets: Vec<f64> = attempts
        .iter()
        .map(|t| (*t - started).num_milliseconds() as f64 / 1000.0)
        .collect();
    eprintln!(
        "dead server: {} attempts in 10 s at {offsets:?} s",
        attempts.len()
    );
    assert!((2..=5).contains(&attempts.len()), "{offsets:?}");
    let snap = h.manager.snapshot("dead").expect("snapshot");
    assert!(
        matches!(
            snap.state,
            ConnectionState::Error | ConnectionState::Connecting
        ),
        "{snap:?}"
    );
    assert!(snap.next_retry_at.is_some() || snap.state == ConnectionState::Connecting);
    let error = h.log_lines("dead", "exited")[0].message.clone();
    assert!(
        error.contains("failing on purpose"),
        "stderr not in the error: {error}"
    );
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_goes_to_pending_auth_and_is_not_retried() {
    let upstream = spawn_fixture_http("http", &["--require-auth", "s3cret"]);
    let h = harness();
    let url = format!("http://127.0.0.1:{}/mcp", upstream.port);
    let mut config = server(json!({"name": "a", "protocol": "http", "url": url}));
    h.apply(std::slice::from_ref(&config));
    let snap = h
        .wait_for("a", Duration::from_secs(15), "pending auth", |s| {
            s.state == ConnectionState::PendingAuth
        })
        .await;
    assert!(snap.next_retry_at.is_none(), "{snap:?}");
    // The observation window is the assertion: no automatic retry.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(h.attempts("a").len(), 1);
    assert_eq!(
        h.manager.snapshot("a").map(|s| s.state),
        Some(ConnectionState::PendingAuth)
    );
    // restart() retries (and still fails the same way)…
    let error = h
        .manager
        .restart("a")
        .await
        .expect_err("still unauthorized");
    assert!(error.is_auth(), "{error:?}");
    assert_eq!(h.attempts("a").len(), 2);
    // …and a config change with the token connects.
    config
        .headers
        .insert("Authorization".into(), "Bearer s3cret".into());
    h.apply(std::slice::from_ref(&config));
    h.ready("a").await;
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_auth_failure_is_pending_auth_too() {
    let upstream = spawn_fixture_http("sse", &["--require-auth", "tok"]);
    let h = harness();
    let url = format!("http://127.0.0.1:{}/sse", upstream.port);
    h.apply(&[server(json!({"name": "sa", "protocol": "sse", "url": url}))]);
    h.wait_for("sa", Duration::from_secs(15), "pending auth", |s| {
        s.state == ConnectionState::PendingAuth
    })
    .await;
    h.manager.shutdown().await;
}

// ---------------------------------------------------------------- tools, restart, logs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_refreshes_the_tools() {
    // The fixture speaks both revisions: a 2026-07-28 session, whose changes arrive on the
    // `subscriptions/listen` stream the proxy opens.
    list_changed_refreshes_the_tools_of(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_changed_refreshes_the_tools_at_2025_11_25() {
    // Changes a 2025 server sends unasked.
    list_changed_refreshes_the_tools_of(&["--protocol", "2025"]).await;
}

async fn list_changed_refreshes_the_tools_of(args: &[&str]) {
    let h = harness();
    let mut events = h.bus.subscribe();
    h.apply(&[fixture_stdio("lc", args)]);
    let before = h.ready("lc").await.tool_count;
    assert!(!h.tool_names("lc").contains("extra_tool"));
    h.call_text("lc", "toggle_extra_tool", json!({})).await;
    let snap = h
        .wait_for("lc", Duration::from_secs(10), "refreshed", |s| {
            s.tool_count == before + 1
        })
        .await;
    assert!(h.tool_names("lc").contains("extra_tool"));
    assert_eq!(snap.state, ConnectionState::Ready);
    let mut refreshed = None;
    while let Ok(event) = events.try_recv() {
        let payload = event.event.payload();
        if payload["reason"] == "tools_changed" {
            refreshed = Some(payload);
        }
    }
    assert_eq!(
        refreshed,
        Some(json!({"reason": "tools_changed", "server": "lc", "tool_count": before + 1}))
    );
    h.call_text(
        "lc",
        "set_description",
        json!({"tool": "echo", "description": "changed"}),
    )
    .await;
    h.wait_for(
        "lc",
        Duration::from_secs(10),
        "description refreshed",
        |_| {
            h.manager
                .tools("lc")
                .unwrap_or_default()
                .iter()
                .any(|t| t.name == "echo" && t.description.as_deref() == Some("changed"))
        },
    )
    .await;
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_reconnect_all_replace_the_processes() {
    let h = harness();
    h.apply(&[fixture_stdio("r1", &[]), fixture_stdio("r2", &[])]);
    h.ready("r1").await;
    h.ready("r2").await;
    let (p1, p2) = (h.pid("r1").await, h.pid("r2").await);
    h.manager.restart("r1").await.expect("restart");
    assert_eq!(
        h.manager.snapshot("r1").map(|s| s.state),
        Some(ConnectionState::Ready)
    );
    let q1 = h.pid("r1").await;
    assert_ne!(p1, q1);
    assert!(!alive(p1), "the old process survived a restart");
    assert_eq!(h.pid("r2").await, p2, "restart touched another server");
    assert!(matches!(
        h.manager.restart("nope").await,
        Err(UpstreamError::NotFound { .. })
    ));

    let results = h.manager.reconnect_all().await;
    let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["r1", "r2"]);
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");
    let (r1, r2) = (h.pid("r1").await, h.pid("r2").await);
    assert!(r1 != q1 && r2 != p2);
    assert!(!alive(q1) && !alive(p2));
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_starts_stops_and_restarts_only_what_changed() {
    let h = harness();
    let a = fixture_stdio("a", &[]);
    let mut b = fixture_stdio("b", &[]);
    h.apply(&[a.clone(), b.clone()]);
    h.ready("a").await;
    h.ready("b").await;
    let (pa, pb) = (h.pid("a").await, h.pid("b").await);

    // Admin-only change on a, connection change on b: only b restarts.
    let mut a2 = a.clone();
    a2.updated = Some(Utc::now());
    b.args.extend(["--tools".to_string(), "2".to_string()]);
    h.apply(&[a2.clone(), b.clone()]);
    h.wait_for(
        "b",
        Duration::from_secs(15),
        "restarted with new tools",
        |s| s.state == ConnectionState::Ready && h.tool_names("b").contains("synthetic_2"),
    )
    .await;
    assert_eq!(h.pid("a").await, pa);
    assert!(!alive(pb));

    // Disable a, quarantine b: both stop and their processes go away.
    let pb = h.pid("b").await;
    let mut a3 = a2.clone();
    a3.enabled = false;
    let mut b3 = b.clone();
    b3.quarantined = true;
    h.apply(&[a3.clone(), b3]);
    h.wait_for("a", Duration::from_secs(10), "disconnected", |s| {
        s.state == ConnectionState::Disconnected
    })
    .await;
    h.wait_for("b", Duration::from_secs(10), "disconnected", |s| {
        s.state == ConnectionState::Disconnected
    })
    .await;
    let gone = try_poll(Duration::from_secs(5), EVERY, "both gone", || {
        let gone = !alive(pa) && !alive(pb);
        async move { gone.then_some(()) }
    })
    .await;
    assert!(gone.is_ok() && !alive(pa) && !alive(pb));

    // Re-enable a, remove b.
    h.apply(&[a2]);
    h.ready("a").await;
    assert!(h.manager.snapshot("b").is_none());
    assert_eq!(h.manager.snapshots().len(), 1);
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_return_the_servers_stderr() {
    let h = harness();
    h.apply(&[fixture_stdio("lg", &["--stderr-lines", "5"])]);
    h.ready("lg").await;
    h.wait_for("lg", Duration::from_secs(5), "logged", |_| {
        h.log_lines("lg", "fixture stderr line").len() == 5
    })
    .await;
    let lines = h.log_lines("lg", "fixture stderr line");
    let messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        messages,
        (1..=5)
            .map(|i| format!("fixture stderr line {i}"))
            .collect::<Vec<_>>()
    );
    assert!(lines.iter().all(|l| l.level == "STDERR"));
    assert!(lines.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    // Tool-driven stderr, and tail returns exactly the last lines.
    h.call_text("lg", "log", json!({"message": "from the tool", "lines": 3}))
        .await;
    h.wait_for("lg", Duration::from_secs(5), "tool stderr logged", |_| {
        h.log_lines("lg", "from the tool").len() == 3
    })
    .await;
    let tail = h.manager.logs("lg", LogStart::Tail, 2).expect("logs").lines;
    assert_eq!(tail.len(), 2);
    assert!(
        tail.iter().all(|l| l.message == "from the tool"),
        "{tail:?}"
    );
    let all = h
        .manager
        .logs("lg", LogStart::Tail, 1000)
        .expect("logs")
        .lines;
    assert_eq!(all[0].level, "INFO");
    assert!(all[0].message.starts_with("connecting"));
    assert!(matches!(
        h.manager.logs("nope", LogStart::Tail, 5),
        Err(UpstreamError::NotFound { .. })
    ));
    h.manager.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_child_gets_the_filtered_environment() {
    let h = harness();
    let mut config = fixture_stdio("env", &[]);
    config
        .env
        .insert("FROM_SERVER".into(), "server-value".into());
    let mut environment = EnvironmentConfig::default();
    environment
        .custom_vars
        .insert("FROM_CUSTOM".into(), "custom-value".into());
    h.manager.apply(&[config], &environment);
    h.ready("env").await;
    assert_eq!(
        h.call_text("env", "get_env", json!({"name": "FROM_SERVER"}))
            .await,
        "server-value"
    );
    assert_eq!(
        h.call_text("env", "get_env", json!({"name": "FROM_CUSTOM"}))
            .await,
        "custom-value"
    );
    assert_eq!(
        h.call_text("env", "get_env", json!({"name": "CARGO_MANIFEST_DIR"}))
            .await,
        "<unset>"
    );
    assert_eq!(
        h.call_text("env", "get_env", json!({"name": "HOME"})).await,
        std::env::var("HOME").unwrap_or_else(|_| "<unset>".into())
    );
    h.manager.shutdown().await;
}

// ---------------------------------------------------------------- scale and shutdown

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_stdio_servers_connect_in_parallel() {
    let h = harness();
    let servers: Vec<ServerConfig> = (0..50)
        .map(|i| fixture_stdio(&format!("p{i:02}"), &[]))
        .collect();
    let started = Instant::now();
    h.apply(&servers);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "apply blocked for {:?}",
        started.elapsed()
    );
    for s in &servers {
        h.wait_for(&s.name, Duration::from_secs(120), "ready", |s| {
            s.state == ConnectionState::Ready
        })
        .await;
    }
    eprintln!("50 stdio servers ready in {:?}", started.elapsed());
    let mut pids = Vec::new();
    for s in &servers {
        pids.push(h.pid(&s.name).await);
    }
    h.manager.shutdown().await;
    let left: Vec<u32> = pids.into_iter().filter(|p| exists(*p)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_no_process_behind_not_even_grandchildren() {
    let h = harness();
    // `sh` leads the group and runs the fixture as a child (no exec), so the fixture is a
    // grandchild of the proxy.
    let nested = format!(
        "'{}' stdio --name nested; echo done",
        fixture_bin().display()
    );
    let dead = fixture_stdio("dying", &["--fail-start"]);
    h.apply(&[
        fixture_stdio("s1", &[]),
        fixture_stdio("s2", &["--slow-start-ms", "100"]),
        server(json!({"name": "nested", "command": "sh", "args": ["-c", nested]})),
        dead,
    ]);
    let mut pids = Vec::new();
    for name in ["s1", "s2", "nested"] {
        h.ready(name).await;
        pids.push(h.pid(name).await);
    }
    let started = Instant::now();
    h.manager.shutdown().await;
    eprintln!("shutdown took {:?}", started.elapsed());

    // The fixtures are direct children (reaped, so gone from /proc) except `nested`'s, a
    // grandchild that only init may reap: it must at least be dead.
    let left: Vec<u32> = pids[..2].iter().copied().filter(|p| exists(*p)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!alive(pids[2]), "grandchild {} left behind", pids[2]);
    for name in ["s1", "s2", "nested", "dying"] {
        assert_eq!(
            h.manager.snapshot(name).map(|s| s.state),
            Some(ConnectionState::Disconnected),
            "{name}"
        );
    }
    // Nothing starts after shutdown.
    h.apply(&[fixture_stdio("late", &[])]);
    assert!(h.manager.snapshot("late").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_that_dies_is_noticed_and_reconnected_when_back() {
    let upstream = spawn_fixture_http("http", &["--name", "first"]);
    let port = upstream.port;
    let h = harness();
    let url = format!("http://127.0.0.1:{port}/mcp");
    h.apply(&[server(
        json!({"name": "hd", "protocol": "http", "url": url}),
    )]);
    h.ready("hd").await;

    // Idle session: the liveness ping (every 10 s) notices.
    drop(upstream);
    let died = Instant::now();
    let snap = h
        .wait_for("hd", Duration::from_secs(20), "error", |s| {
            s.state == ConnectionState::Error
        })
        .await;
    eprintln!(
        "idle http server death noticed after {:?}: {:?}",
        died.elapsed(),
        snap.last_error
    );
    assert!(
        snap.last_error
            .as_deref()
            .is_some_and(|e| e.contains("ping")),
        "{snap:?}"
    );

    // Back on the same port: the backoff schedule reconnects on its own.
    let upstream = spawn_fixture_http("http", &["--name", "second", "--port", &port.to_string()]);
    let snap = h
        .wait_for("hd", Duration::from_secs(30), "ready again", |s| {
            s.state == ConnectionState::Ready
        })
        .await;
    assert_eq!(snap.server_name.as_deref(), Some("second"));

    // Busy session: the failing call reports a clean error and triggers the reconnect at once.
    drop(upstream);
    let died = Instant::now();
    let call = h
        .manager
        .call_tool(
            "hd",
            "echo",
            json!({"message": "x"}).as_object().cloned(),
            Duration::from_secs(5),
            &mcpproxy::upstream::CallLink::default(),
        )
        .await;
    assert!(
        matches!(call, Err(UpstreamError::Transport { .. })),
        "{call:?}"
    );
    let snap = h
        .wait_for("hd", Duration::from_secs(5), "error", |s| {
            s.state == ConnectionState::Error
        })
        .await;
    eprintln!(
        "busy http server death noticed after {:?}: {:?}",
        died.elapsed(),
        snap.last_error
    );
    h.manager.shutdown().await;
}
