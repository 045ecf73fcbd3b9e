//! A real `mcpproxy` process for tests: its own temp config and data dir, an ephemeral
//! port, the generated client over TCP and over the unix socket.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The kit's [`poll`] under the name this suite has used (kept so in-flight work merges).
pub use mcpproxy_testkit::poll as eventually;
#[allow(
    unused_imports,
    reason = "the kit as the suites sharing this module know it; each uses part of it"
)]
pub use mcpproxy_testkit::{
    ClosedPort, alive, everything_js, exists, fixture_bin, harness_file, poll, text_of,
    wait_listening,
};

/// The API key the test configs carry.
pub const KEY: &str = "test-key-0123456789";

/// A running proxy.
pub struct TestServer {
    child: Option<Child>,
    /// Temp dir holding config and data.
    pub dir: Arc<tempfile::TempDir>,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// Everything the process wrote to stderr.
    pub stderr: Arc<Mutex<Vec<String>>>,
}

/// Write `config` to `path` 0600, as the proxy itself writes it: a file holding the key that
/// others can read is a diagnostics warning of its own.
pub fn write_config(path: &Path, config: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(config).expect("json")).expect("write config");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod config");
}

/// `listen` for a test server: loopback, port 0; the server says which port it bound in its
/// ready line ([`TestServer::addr`]).
pub const LISTEN: &str = "127.0.0.1:0";

/// A config document with the test key, the given servers and [`LISTEN`].
pub fn config_with(servers: Value) -> Value {
    json!({ "listen": LISTEN, "api_key": KEY, "mcpServers": servers })
}

impl TestServer {
    /// Start with `config` written to `<tmp>/mcp_config.json` and data in `<tmp>/data`.
    pub async fn start(config: Value) -> Self {
        Self::start_with(config, &[]).await
    }

    /// Start with `config` and extra environment variables for the process.
    pub async fn start_with(config: Value, env: &[(&str, &str)]) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        write_config(&dir.path().join("mcp_config.json"), &config);
        Self::start_in(dir, env).await
    }

    /// Start (again) over an existing directory.
    pub async fn start_in(dir: Arc<tempfile::TempDir>, env: &[(&str, &str)]) -> Self {
        let (child, stderr) = spawn(dir.path(), env);
        let mut server = Self {
            child: Some(child),
            dir,
            addr: String::new(),
            stderr,
        };
        server.addr = server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) -> String {
        let ready = mcpproxy_testkit::try_poll(
            Duration::from_secs(20),
            mcpproxy_testkit::poll::EVERY,
            "mcpproxy ready",
            || {
                let addr = mcpproxy_testkit::ready_addr(&self.stderr_text());
                if addr.is_none()
                    && let Some(child) = self.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    panic!("mcpproxy exited early ({status}):\n{}", self.stderr_text());
                }
                async move { addr }
            },
        )
        .await;
        ready.unwrap_or_else(|_| panic!("mcpproxy not ready in 20 s:\n{}", self.stderr_text()))
    }

    /// All stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("mcp_config.json")
    }

    /// The unix socket.
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("data").join("mcpproxy.sock")
    }

    /// The config file as JSON.
    pub fn config_on_disk(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.config_path()).expect("read config"))
            .expect("config json")
    }

    /// The generated client with the API key.
    pub fn client(&self) -> mcpproxy_client::Client {
        mcpproxy_client::Client::with_api_key(&self.url(), KEY).expect("client")
    }

    /// The generated client over the unix socket, no key.
    pub fn socket_client(&self) -> mcpproxy_client::Client {
        mcpproxy_client::Client::over_unix_socket(&self.socket_path()).expect("socket client")
    }

    /// The process id, while it runs.
    #[allow(
        dead_code,
        reason = "used by the robustness suite, which shares this module"
    )]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// SIGTERM and wait; returns the exit code.
    pub async fn stop(mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .expect("exits in 15 s")
            .ok()?;
        status.code()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// `mcpproxy serve` over `dir`'s config and data, with a clean environment; the caller
/// sets up stdio and spawns.
pub fn serve_command(dir: &Path) -> Command {
    mcpproxy_testkit::serve_command(Path::new(env!("CARGO_BIN_EXE_mcpproxy")), dir)
}

/// Spawn the binary over `dir`, collecting stderr lines.
pub fn spawn(dir: &Path, env: &[(&str, &str)]) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut cmd = serve_command(dir);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn mcpproxy");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let stderr = child.stderr.take().expect("stderr");
    tokio::spawn(async move {
        let mut reader = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if let Ok(mut l) = sink.lock() {
                l.push(line);
            }
        }
    });
    (child, lines)
}

/// Run the binary to completion (for exit-code tests).
pub async fn run_to_exit(dir: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = serve_command(dir);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    // `output` reads stderr to its end: no wait for a reader to catch up.
    let output = tokio::time::timeout(Duration::from_secs(15), cmd.output())
        .await
        .expect("exits")
        .expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = stderr.lines().collect::<Vec<_>>().join("\n");
    (output.status.code(), text)
}

/// A fixture server entry (stdio) for configs.
pub fn fixture_server(name: &str) -> Value {
    json!({ "name": name, "command": fixture_bin().display().to_string(), "args": ["stdio"], "enabled": true })
}

/// A raw HTTP client for long-lived streams (no overall timeout).
pub fn streaming() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest")
}

/// A raw HTTP client without the key.
pub fn raw() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest")
}

/// Debian's Chromium (`CHROMIUM` overrides) and the playwright-core module that drives it,
/// for the browser tests.
#[allow(
    dead_code,
    reason = "used by the UI and security suites, not by the integration suite"
)]
pub fn browser_harness() -> (PathBuf, PathBuf) {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        chromium.exists(),
        "{} missing: run .ci/install-test-deps",
        chromium.display()
    );
    let playwright = harness_file(
        "ui-test/node_modules/playwright-core/index.js",
        "playwright-core",
    );
    (chromium, playwright)
}

/// Start the OAuth-protected MCP upstream (`tests/sdk/oauth_upstream.py`, the official
/// Python SDK with an in-test authorization server that approves at once), its access
/// tokens living `ttl_secs`, recording what it issues in `marker`; the child and its MCP URL.
#[allow(
    dead_code,
    reason = "used by the UI and security suites, not by the integration suite"
)]
pub async fn oauth_upstream(marker: &Path, ttl_secs: u64) -> (Child, String) {
    let python = harness_file("venv/bin/python", "Python MCP SDK");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/oauth_upstream.py");
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .arg("--marker")
        .arg(marker)
        .args(["--ttl", &ttl_secs.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the OAuth upstream");
    let url = announced_url(&mut child, Duration::from_secs(30))
        .await
        .expect("the OAuth upstream announced READY");
    (child, url)
}

/// A server-everything entry (stdio) for configs.
pub fn everything_server(name: &str) -> Value {
    json!({ "name": name, "command": "node", "args": [everything_js().display().to_string(), "stdio"], "enabled": true })
}

/// Wait until `name` is ready with tools and its tools are searchable.
pub async fn wait_ready(server: &TestServer, name: &str) {
    let client = &server.client();
    let last = &Mutex::new(None);
    let ready = mcpproxy_testkit::try_poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        "ready",
        || async move {
            let list = client.server_list().await.expect("list").into_inner();
            let s = list
                .data
                .servers
                .into_iter()
                .find(|s| s.name == name)
                .expect("server configured");
            let up = s.status == "ready" && s.tool_count > 0;
            if let Ok(mut last) = last.lock() {
                *last = Some(s);
            }
            if !up {
                return None;
            }
            let tools = client
                .tool_search(Some(1000), None)
                .await
                .expect("tools")
                .into_inner();
            tools.tools.iter().any(|t| t.server == name).then_some(())
        },
    )
    .await;
    if ready.is_err() {
        panic!(
            "{name} not ready in 30 s: {:?}",
            last.lock().ok().and_then(|l| l.clone())
        );
    }
}

/// An MCP client session to the proxy's `/mcp`, identifying as `it-client 1.2.3`.
pub async fn mcp_client(
    server: &TestServer,
) -> rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig> {
    use rmcp::ServiceExt;
    let transport =
        rmcp::transport::StreamableHttpClientTransport::from_uri(format!("{}/mcp", server.url()));
    let info = rmcp::model::ClientConfig::new(
        rmcp::model::ClientCapabilities::default(),
        rmcp::model::Implementation::new("it-client", "1.2.3"),
    );
    info.serve(transport).await.expect("MCP session")
}

/// Call a built-in tool of the proxy.
pub async fn mcp_call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>,
    tool: &str,
    args: Value,
) -> rmcp::model::CallToolResult {
    let params = rmcp::model::CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    client.call_tool(params).await.expect("tools/call")
}

/// An open `/events` stream, past its initial `status` event.
pub struct EventStream {
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl EventStream {
    /// Subscribe to `server`'s events.
    pub async fn open(server: &TestServer) -> Self {
        Self::open_query(server, "").await
    }

    /// Subscribe to `server`'s events with a query string (`logs=fx`).
    pub async fn open_query(server: &TestServer, query: &str) -> Self {
        let resp = streaming()
            .get(format!("{}/events?{query}", server.url()))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("sse");
        assert_eq!(resp.status(), 200);
        let mut stream = Self {
            body: Box::pin(resp.bytes_stream()),
            buf: String::new(),
        };
        stream.next_matching(|kind, _| kind == "status").await;
        stream
    }

    /// The data of the next event for which `pred(kind, data)` holds (10 s deadline).
    pub async fn next_matching(&mut self, pred: impl Fn(&str, &Value) -> bool) -> Value {
        wait_for_event(&mut self.body, &mut self.buf, pred).await
    }
}

/// The MCP session whose client called itself `client_name`.
pub async fn session_of(
    rest: &mcpproxy_client::Client,
    client_name: &str,
) -> mcpproxy_client::types::Session {
    let sessions = rest
        .session_list(None, None)
        .await
        .expect("sessions")
        .into_inner();
    sessions
        .data
        .sessions
        .into_iter()
        .find(|s| s.client_name.as_deref() == Some(client_name))
        .unwrap_or_else(|| panic!("no session of {client_name}"))
}

/// Run `tests/python/mcp_sdk_client.py` (the official Python MCP SDK) with `args` and
/// extra environment; what the client saw (its JSON), and its stderr. Panics when it fails.
pub async fn python_sdk_client(args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    python_script("mcp_sdk_client.py", args, env).await
}

/// Run `tests/python/<script>` with the harness's Python (the official MCP SDK installed);
/// the JSON it printed, and its stderr. Panics when it fails.
pub async fn python_script(script: &str, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let python = harness_file("venv/bin/python", "Python MCP SDK");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let mut cmd = Command::new(python);
    cmd.arg(script).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("python client finished in 90 s")
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{args:?}: {stderr}");
    let seen = serde_json::from_slice(&output.stdout).expect("json from the python client");
    (seen, stderr)
}

/// The server named `name` in the server list.
pub async fn server_view(server: &TestServer, name: &str) -> mcpproxy_client::types::Server {
    server
        .client()
        .server_list()
        .await
        .expect("servers")
        .into_inner()
        .data
        .servers
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no server {name}"))
}

/// Wait until server `name` is connected (20 s).
pub async fn wait_connected(server: &TestServer, name: &str) {
    eventually(
        Duration::from_secs(20),
        &format!("{name} connected"),
        || async { server_view(server, name).await.connected.then_some(()) },
    )
    .await;
}

/// The messages of server `name`'s log.
pub async fn server_log(server: &TestServer, name: &str) -> Vec<String> {
    server
        .client()
        .server_logs(name, None, Some(1000))
        .await
        .expect("logs")
        .into_inner()
        .data
        .logs
        .into_iter()
        .map(|l| l.message)
        .collect()
}

/// Reads SSE frames from a streaming response until `pred` matches one.
pub async fn wait_for_event(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    pred: impl Fn(&str, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let kind = frame
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("");
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap_or("null");
            let data: serde_json::Value =
                serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
            if pred(kind, &data) {
                return data;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, futures::StreamExt::next(body))
            .await
            .expect("event in time")
            .expect("stream open")
            .expect("chunk");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// A stand-in `docker` client: records each call's arguments (one per line, `--` after each
/// call), answers `info` with a version, `rm` with success, and plays `run` by running the
/// wrapped command itself with the `-e` variables.
pub fn stand_in_docker(dir: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("docker");
    let record = dir.join("docker-calls.txt");
    let script = format!(
        r#"#!/bin/sh
{{ printf '%s\n' "$@"; printf -- '--\n'; }} >> "{record}"
case "$1" in
  info) echo 27.0.1-standin; exit 0 ;;
  rm) exit 0 ;;
  run) shift ;;
  *) echo "unknown command: $1" >&2; exit 125 ;;
esac
while [ $# -gt 0 ]; do
  case "$1" in
    --rm|-i) shift ;;
    -e) export "$2"; shift 2 ;;
    --name|--label|--log-driver|--log-opt|--network|--memory|--cpus|--workdir) shift 2 ;;
    *) break ;;
  esac
done
shift
exec "$@"
"#,
        record = record.display()
    );
    let tmp = dir.join("docker.tmp");
    std::fs::write(&tmp, script).expect("script");
    std::fs::set_permissions(
        &tmp,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::rename(&tmp, &bin).expect("install");
    (bin, record)
}

pub fn docker_calls(record: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .split("--\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().map(str::to_string).collect())
        .collect()
}

/// The URL a test upstream announces with a `READY <url>` line on its stdout (taken from
/// `child`), within `within`.
#[allow(
    dead_code,
    reason = "used by the security and SDK-matrix suites, not by the integration suite"
)]
pub async fn announced_url(child: &mut Child, within: Duration) -> Option<String> {
    mcpproxy_testkit::announced(child.stdout.take()?, "READY ", within).await
}
