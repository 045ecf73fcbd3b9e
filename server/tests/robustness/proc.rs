//! Helpers shared by the robustness tests: `/proc` probes of a process, polling (the kit's) with a
//! deadline, raw `/mcp` sessions over HTTP, the Python interpreter for script upstreams.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use mcpproxy_testkit::messages_of;
#[allow(
    unused_imports,
    reason = "the security suite imports `proc::poll`; the robustness suite has it from `common`"
)]
pub use mcpproxy_testkit::poll;

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A field of `/proc/<pid>/status` in kB (e.g. `VmRSS`) or as a count (`Threads`).
pub fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(&format!("{field}:")))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The proxy's pid.
pub fn pid_of(server: &TestServer) -> u32 {
    server.pid().expect("proxy is running")
}

/// A raw streamable-HTTP MCP session (initialize + initialized done).
pub struct RawSession {
    /// `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    /// `Mcp-Session-Id`.
    pub id: String,
    http: reqwest::Client,
}

/// What one POST to `/mcp` produced.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The JSON-RPC messages in the body (JSON or SSE `data:` lines).
    pub messages: Vec<Value>,
    /// The raw body, lossy.
    pub text: String,
}

impl Reply {
    /// The message answering `id`, if any.
    pub fn answer(&self, id: &Value) -> Option<&Value> {
        self.messages.iter().find(|m| &m["id"] == id)
    }
}

impl RawSession {
    /// Initialize a session against `server`'s `/mcp`.
    pub async fn open(server: &TestServer) -> Self {
        Self::open_at(&server.url()).await
    }

    /// Initialize a session against `<base>/mcp`.
    pub async fn open_at(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(2)
            .build()
            .expect("reqwest");
        let url = format!("{base}/mcp");
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "robust", "version": "1"}}});
        let resp = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .json(&init)
            .send()
            .await
            .expect("initialize");
        assert_eq!(resp.status(), 200, "initialize");
        let id = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("mcp-session-id")
            .to_string();
        let text = resp.text().await.expect("body");
        assert!(text.contains("\"result\""), "initialize: {text}");
        let session = Self { url, id, http };
        let ack = session
            .post_bytes(
                br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_vec(),
                Duration::from_secs(10),
            )
            .await;
        assert!(ack.status < 300, "initialized: {ack:?}");
        session
    }

    /// POST raw bytes in this session; panics if no answer within `within`.
    pub async fn post_bytes(&self, body: Vec<u8>, within: Duration) -> Reply {
        self.try_post_bytes(body, within)
            .await
            .unwrap_or_else(|e| panic!("/mcp request: {e}"))
    }

    /// POST raw bytes; an error if the connection failed. Panics if no answer within
    /// `within`.
    pub async fn try_post_bytes(&self, body: Vec<u8>, within: Duration) -> Result<Reply, String> {
        let fut = async {
            let resp = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-session-id", &self.id)
                .header("mcp-protocol-version", "2025-06-18")
                .body(body)
                .send()
                .await?;
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(within, fut)
            .await
            .unwrap_or_else(|_| panic!("/mcp did not answer within {within:?}"))
            .map_err(|e| format!("{e:?}"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Reply {
            status,
            messages: messages_of(&text),
            text,
        })
    }

    /// POST a JSON value.
    pub async fn post(&self, body: &Value, within: Duration) -> Reply {
        self.post_bytes(body.to_string().into_bytes(), within).await
    }

    /// `tools/call` of a built-in tool; returns the JSON-RPC answer.
    pub async fn call(&self, id: u64, tool: &str, args: Value) -> Value {
        let reply = self
            .post(
                &json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": tool, "arguments": args}}),
                Duration::from_secs(20),
            )
            .await;
        reply
            .answer(&json!(id))
            .cloned()
            .unwrap_or_else(|| panic!("no answer to {tool}: {reply:?}"))
    }

    /// A valid `tools/list` works (the server and the session are alive).
    pub async fn assert_alive(&self, id: u64) {
        let reply = self
            .post(
                &json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
                Duration::from_secs(10),
            )
            .await;
        let answer = reply
            .answer(&json!(id))
            .unwrap_or_else(|| panic!("tools/list after abuse: {} {}", reply.status, reply.text));
        assert!(
            answer["result"]["tools"]
                .as_array()
                .is_some_and(|t| t.len() >= 7),
            "{answer}"
        );
    }
}

/// The real Python interpreter (not a version-manager shim, which may depend on `HOME`).
pub fn python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 is installed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// The text of a JSON-RPC `tools/call` answer's first content item.
pub fn answer_text(answer: &Value) -> String {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
