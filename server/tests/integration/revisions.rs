//! The upstream side speaks both protocol revisions: 2026-07-28 (`server/discover`) and
//! 2025-11-25 (`initialize`), over stdio and streamable HTTP, against the in-tree fixture's
//! `--protocol 2025|2026|both`. The negotiated revision shows in `GET /api/v1/servers`, a
//! 2025 server pays no probe timeout, the revision that worked is remembered, and 2026
//! requests carry the standard headers (`--log-headers` shows what the fixture received).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpproxy_client::types;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{
    TestServer, config_with, eventually, fixture_bin, server_log, server_view, wait_ready,
};

/// A fixture serving streamable HTTP with `args`; its stderr lines are kept. Killed on drop.
pub struct HttpFixture {
    _child: tokio::process::Child,
    /// `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    /// What it wrote to stderr.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl HttpFixture {
    pub async fn start(args: &[&str]) -> Self {
        let mut child = tokio::process::Command::new(fixture_bin())
            .args(["http", "--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the fixture");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock().expect("lines").push(line);
            }
        });
        let mut stdout = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .expect("fixture listening in 20 s")
            .expect("read")
            .expect("a line");
        let addr = line.strip_prefix("LISTENING ").expect("LISTENING line");
        Self {
            _child: child,
            url: format!("http://{addr}/mcp"),
            stderr: lines,
        }
    }

    /// The stderr lines containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.stderr
            .lock()
            .expect("lines")
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }
}

/// A stdio fixture entry speaking `protocol`.
fn stdio_fixture(name: &str, protocol: &str) -> Value {
    json!({ "name": name, "command": fixture_bin().display().to_string(),
            "args": ["stdio", "--protocol", protocol], "enabled": true })
}

fn http_server(name: &str, url: &str) -> Value {
    json!({ "name": name, "url": url, "enabled": true })
}

/// Call `server:echo` through REST; its text.
async fn echo(server: &TestServer, name: &str) -> String {
    let called = server
        .client()
        .tool_call(&types::ToolCallRequest {
            tool_name: format!("{name}:echo"),
            arguments: Some(serde_json::from_value(json!({"message": name})).expect("map")),
        })
        .await
        .unwrap_or_else(|e| panic!("{name}:echo: {e}"))
        .into_inner();
    called.data["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The handshake lines of `name`'s log, oldest first.
async fn handshakes(server: &TestServer, name: &str) -> Vec<String> {
    server_log(server, name)
        .await
        .into_iter()
        .filter(|l| l.contains("handshake:") || l.contains("instead"))
        .collect()
}

/// The milliseconds a successful handshake line reports.
fn handshake_ms(line: &str) -> u64 {
    line.rsplit(" in ")
        .next()
        .and_then(|r| r.strip_suffix(" ms"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no time in {line:?}"))
}

#[tokio::test]
async fn test_revisions_2025_and_2026_upstreams_connect_over_stdio_and_http() {
    let h25 = HttpFixture::start(&["--protocol", "2025"]).await;
    let h26 = HttpFixture::start(&["--protocol", "2026"]).await;
    let hboth = HttpFixture::start(&[]).await;
    let server = TestServer::start(config_with(json!([
        stdio_fixture("s25", "2025"),
        stdio_fixture("s26", "2026"),
        stdio_fixture("sboth", "both"),
        http_server("h25", &h25.url),
        http_server("h26", &h26.url),
        http_server("hboth", &hboth.url),
    ])))
    .await;
    let expected = [
        ("s25", "2025-11-25"),
        ("s26", "2026-07-28"),
        ("sboth", "2026-07-28"),
        ("h25", "2025-11-25"),
        ("h26", "2026-07-28"),
        ("hboth", "2026-07-28"),
    ];
    for (name, revision) in expected {
        wait_ready(&server, name).await;
        let view = server_view(&server, name).await;
        assert_eq!(view.protocol_version.as_deref(), Some(revision), "{name}");
        assert_eq!(echo(&server, name).await, format!("Echo: {name}"));
        // One handshake on one connection: discover, and for a 2025 server `initialize`
        // right after its refusal, never a second connection or rmcp's 10 s probe timeout.
        let lines = handshakes(&server, name).await;
        let done = lines
            .iter()
            .find(|l| l.contains("negotiated"))
            .unwrap_or_else(|| panic!("{name}: no handshake line in {lines:?}"));
        eprintln!("{name}: {done}");
        assert!(
            done.contains("server/discover (initialize as fallback)")
                && done.contains(&format!("negotiated {revision}")),
            "{name}: {lines:?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("failed")),
            "{name}: {lines:?}"
        );
        let ms = handshake_ms(done);
        assert!(ms < 5_000, "{name}: the handshake took {ms} ms");
    }
    server.stop().await;
}

#[tokio::test]
async fn test_revisions_remembered_and_configured_handshakes() {
    let server = TestServer::start(config_with(json!([
        stdio_fixture("old", "2025"),
        // Configured: initialize only, against a 2026-only server: refused with its -32022.
        {"name": "pinned", "command": fixture_bin().display().to_string(),
         "args": ["stdio", "--protocol", "2026"], "handshake": "initialize", "enabled": true},
        // Configured: discover only against a both-revisions server.
        {"name": "modern", "command": fixture_bin().display().to_string(),
         "args": ["stdio"], "handshake": "discover", "enabled": true},
        // Configured: the reverse order against a 2026-only server: falls back to discover.
        {"name": "reverse", "command": fixture_bin().display().to_string(),
         "args": ["stdio", "--protocol", "2026"], "handshake": "initialize-first", "enabled": true},
    ])))
    .await;
    wait_ready(&server, "old").await;
    wait_ready(&server, "modern").await;
    wait_ready(&server, "reverse").await;
    assert_eq!(
        server_view(&server, "modern")
            .await
            .protocol_version
            .as_deref(),
        Some("2026-07-28")
    );
    let reverse = handshakes(&server, "reverse").await;
    assert!(
        reverse.iter().any(|l| l.contains("initialize failed"))
            && reverse
                .iter()
                .any(|l| l.contains("server/discover negotiated 2026-07-28")),
        "{reverse:?}"
    );
    let pinned = eventually(Duration::from_secs(20), "pinned refused", || async {
        let view = server_view(&server, "pinned").await;
        view.last_error.filter(|_| view.status == "error")
    })
    .await;
    assert!(
        pinned.contains("-32022") || pinned.to_lowercase().contains("unsupported protocol"),
        "{pinned}"
    );
    assert_eq!(server_view(&server, "pinned").await.protocol_version, None);

    // The 2025 server spoke 2025 last time: a restart opens it with `initialize` at once.
    server
        .client()
        .server_restart("old")
        .await
        .expect("restart");
    let again = eventually(Duration::from_secs(20), "reconnected", || async {
        let lines = handshakes(&server, "old").await;
        (lines.iter().filter(|l| l.contains("negotiated")).count() >= 2).then_some(lines)
    })
    .await;
    let last = again
        .iter()
        .rev()
        .find(|l| l.contains("negotiated"))
        .expect("a handshake");
    assert!(
        last.contains("handshake: initialize negotiated 2025-11-25"),
        "{again:?}"
    );
    wait_ready(&server, "old").await;
    assert_eq!(echo(&server, "old").await, "Echo: old");
    server.stop().await;
}

#[tokio::test]
async fn test_revisions_2026_http_requests_carry_the_standard_headers() {
    let up = HttpFixture::start(&["--protocol", "2026", "--log-headers"]).await;
    let server = TestServer::start(config_with(json!([http_server("up", &up.url)]))).await;
    wait_ready(&server, "up").await;
    assert_eq!(echo(&server, "up").await, "Echo: up");
    let calls = up.lines_with("headers tools/call");
    let call = calls.last().expect("the fixture saw the call");
    for header in [
        "mcp-method=tools/call",
        "mcp-name=echo",
        "mcp-protocol-version=2026-07-28",
    ] {
        assert!(call.contains(header), "{header} missing: {call}");
    }
    let lists = up.lines_with("headers tools/list");
    let list = lists.last().expect("the fixture saw the listing");
    assert!(
        list.contains("mcp-method=tools/list") && list.contains("mcp-protocol-version=2026-07-28"),
        "{list}"
    );
    server.stop().await;
}
