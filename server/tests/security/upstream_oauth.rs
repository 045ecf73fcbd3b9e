//! Upstream OAuth end to end, against a real OAuth-protected MCP server written with the
//! official Python SDK's auth support (`tests/sdk/oauth_upstream.py`: its token verifier,
//! and an in-test authorization server): the server waits for a login; `mcpproxy auth
//! login NAME --no-browser` prints the URL, headless Chromium (Debian's, through
//! playwright-core) opens it, the test authorization server approves at once and the
//! browser lands on the proxy's loopback listener; a call succeeds, the short-lived token is refreshed once
//! for concurrent calls, the tokens survive a restart of the proxy, `auth status` shows it,
//! `auth logout` revokes them and the server waits for a login again. And the tokens never
//! show up where they must not: the config (API and file), the server list, the auth
//! status, the events, the server's log, the proxy's own log and the call history. Last,
//! a login without a browser: the callback address pasted back to the CLI.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{
    KEY, TestServer, browser_harness, config_with, eventually, oauth_upstream, raw,
};
use futures::StreamExt;
use serde_json::{Value, json};

/// Lifetime of the test server's access tokens: short, so the test sees a refresh.
const TOKEN_TTL_SECS: u64 = 4;
/// The server's name in the proxy.
const NAME: &str = "guarded";

/// Start the OAuth upstream (common::oauth_upstream); the child and its MCP URL.
async fn upstream(marker: &Path) -> (tokio::process::Child, String) {
    oauth_upstream(marker, TOKEN_TTL_SECS).await
}

/// The marker file's lines.
fn marker(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every access and refresh token the authorization server issued.
fn issued(path: &Path) -> Vec<String> {
    marker(path)
        .iter()
        .filter(|l| l.starts_with("token "))
        .flat_map(|l| l.split(' ').skip(2).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// `GET path` on the proxy's API; the body as text.
async fn get_text(server: &TestServer, path: &str) -> String {
    raw()
        .get(format!("{}{path}", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body")
}

/// `POST path` with `body`; status and JSON.
async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let response = raw()
        .post(format!("{}{path}", server.url()))
        .header("X-API-Key", KEY)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn auth_state(server: &TestServer) -> String {
    let body: Value =
        serde_json::from_str(&get_text(server, &format!("/api/v1/servers/{NAME}/auth")).await)
            .expect("auth json");
    body["data"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn status(server: &TestServer) -> String {
    let body: Value =
        serde_json::from_str(&get_text(server, "/api/v1/servers").await).expect("servers json");
    body["data"]["servers"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == NAME))
        .map(|s| s["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

async fn wait_status(server: &TestServer, want: &str) {
    eventually(
        Duration::from_secs(60),
        &format!("{NAME} {want}"),
        || async { (status(server).await == want).then_some(()) },
    )
    .await;
}

/// Call the upstream's tool through the REST API; its status and body.
async fn call(server: &TestServer) -> (u16, Value) {
    post(
        server,
        "/api/v1/tools/call",
        json!({"tool_name": format!("{NAME}:whoami"), "arguments": {}}),
    )
    .await
}

/// Record the proxy's `/events` stream into a string until the task is dropped.
fn record_events(server: &TestServer) -> (Arc<Mutex<String>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(String::new()));
    let sink = seen.clone();
    let url = format!("{}/events", server.url());
    let task = tokio::spawn(async move {
        let Ok(response) = crate::common::streaming()
            .get(url)
            .header("X-API-Key", KEY)
            .send()
            .await
        else {
            return;
        };
        let mut body = response.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            if let Ok(mut text) = sink.lock() {
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
    });
    (seen, task)
}

/// The browser step up to the redirect: the authorization server approves at once and
/// sends the browser to the proxy's loopback callback; that URL.
async fn authorize(auth_url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let approved = client.get(auth_url).send().await.expect("authorize");
    assert_eq!(approved.status(), 302, "the test AS approves at once");
    let callback = approved
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("redirect to the callback")
        .to_string();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    callback
}

/// `mcpproxy --data-dir DATA ARGS` (the CLI over the daemon's socket), spawned with pipes.
fn cli(data: &str, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
        .args(["--data-dir", data])
        .args(args)
        .env_remove("MCPPROXY_API_KEY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the CLI")
}

/// Run the CLI to its end; exit code and stdout.
async fn cli_output(data: &str, args: &[&str]) -> (i32, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), cli(data, args).wait_with_output())
        .await
        .expect("the CLI finished")
        .expect("CLI output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// How the browser step of a login is done.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BrowserStep {
    /// Headless Chromium opens the URL and follows the redirect to the proxy's loopback
    /// listener itself.
    Chromium,
    /// The URL is opened elsewhere and the address the browser ended up at is pasted back
    /// to the CLI (`--no-browser` on a headless machine).
    Paste,
}

/// The browser step in headless Chromium (Debian's, driven by playwright-core,
/// `browser_step.mjs`): the test authorization server approves at once and redirects to
/// the proxy's loopback listener. The page it ends on: (URL, text).
async fn chromium_step(auth_url: &str) -> (String, String) {
    let (chromium, playwright) = browser_harness();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/security/browser_step.mjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .arg(auth_url)
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser step finishes")
        .expect("node runs");
    assert!(
        out.status.success(),
        "the browser step failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).expect("the browser step's JSON");
    (
        page["url"].as_str().unwrap_or_default().to_string(),
        page["text"].as_str().unwrap_or_default().to_string(),
    )
}

/// `mcpproxy auth login NAME --no-browser`: the URL is printed, the browser step is done
/// (`step`), and the CLI waits until the daemon says the server is signed in. Its exit code
/// and stdout.
async fn cli_login(data: &str, step: BrowserStep) -> (i32, String) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut child = cli(data, &["auth", "login", NAME, "--no-browser"]);
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let auth_url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = stderr.next_line().await {
            if let Some(url) = line.trim().strip_prefix("http") {
                return Some(format!("http{url}"));
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .expect("the CLI printed the authorization URL");
    assert!(
        auth_url.contains("code_challenge_method=S256"),
        "{auth_url}"
    );
    let rest = tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let mut stdin = child.stdin.take().expect("stdin");
    match step {
        BrowserStep::Chromium => {
            let (url, text) = chromium_step(&auth_url).await;
            assert!(url.starts_with("http://127.0.0.1:"), "{url}");
            assert!(text.contains("signed in"), "{text}");
        }
        BrowserStep::Paste => {
            let callback = authorize(&auth_url).await;
            stdin
                .write_all(format!("{callback}\n").as_bytes())
                .await
                .expect("paste the callback");
        }
    }
    let out = match tokio::time::timeout(Duration::from_secs(60), child.wait_with_output()).await {
        Ok(out) => out.expect("CLI output"),
        Err(_) => panic!("the CLI did not finish: {}", rest.await.unwrap_or_default()),
    };
    drop(stdin);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn test_upstream_oauth_login_call_refresh_restart_logout_and_no_token_leaks() {
    let work = tempfile::tempdir().expect("tempdir");
    let marker_path = work.path().join("marker.txt");
    let (_upstream, url) = upstream(&marker_path).await;
    let config = config_with(json!([
        {"name": NAME, "url": url, "protocol": "streamable-http", "enabled": true}
    ]));
    let server = TestServer::start(config).await;
    let (events, recorder) = record_events(&server);

    // The server answers 401 with resource metadata: pending auth, waiting for a login.
    wait_status(&server, "pending auth").await;
    assert_eq!(auth_state(&server).await, "needs_login");
    let (code, _) = call(&server).await;
    assert!(code >= 400, "a call before the login fails");

    // Login from the CLI: discovery, registration, the browser step, the code exchange, a
    // reconnect.
    let data = server.dir.path().join("data").display().to_string();
    let (code, out) = cli_login(&data, BrowserStep::Chromium).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("authenticated"), "{out}");
    wait_status(&server, "ready").await;
    assert_eq!(auth_state(&server).await, "authenticated");
    let (code, answer) = call(&server).await;
    assert_eq!(code, 200, "{answer}");
    assert!(answer.to_string().contains("signed in"), "{answer}");
    let status: Value =
        serde_json::from_str(&get_text(&server, &format!("/api/v1/servers/{NAME}/auth")).await)
            .expect("json");
    assert_eq!(status["data"]["scopes"], json!(["mcp:tools"]), "{status}");
    assert!(status["data"]["issuer"].as_str().is_some(), "{status}");

    // The token lives TOKEN_TTL_SECS: later calls still succeed, through one refresh even
    // when several calls find the token expired at once.
    // Kept: the passing of the token's lifetime is the point.
    tokio::time::sleep(Duration::from_secs(TOKEN_TTL_SECS + 1)).await;
    let answers = futures::future::join_all((0..4).map(|_| call(&server))).await;
    for (code, answer) in answers {
        assert_eq!(code, 200, "{answer}");
    }
    let refreshes = marker(&marker_path)
        .iter()
        .filter(|l| l.starts_with("token refresh_token "))
        .count();
    assert_eq!(refreshes, 1, "{:?}", marker(&marker_path));

    // The tokens survive a restart of the proxy: no second login.
    let first_stderr = server.stderr_text();
    let first_events = events.lock().map(|e| e.clone()).unwrap_or_default();
    recorder.abort();
    let dir = server.dir.clone();
    server.stop().await;
    let server = TestServer::start_in(dir, &[]).await;
    let (events, recorder) = record_events(&server);
    wait_status(&server, "ready").await;
    let (code, answer) = call(&server).await;
    assert_eq!(code, 200, "{answer}");
    let authorizations = marker(&marker_path)
        .iter()
        .filter(|l| l.starts_with("authorize"))
        .count();
    assert_eq!(authorizations, 1, "{:?}", marker(&marker_path));

    // `auth status` shows every server; logout (from the CLI) revokes and deletes the
    // tokens; the server waits for a login again.
    let data = server.dir.path().join("data").display().to_string();
    let (code, out) = cli_output(&data, &["auth", "status"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(NAME) && out.contains("authenticated"), "{out}");
    let (code, out) = cli_output(&data, &["auth", "logout", "--server", NAME]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        marker(&marker_path).iter().any(|l| l.starts_with("revoke")),
        "{:?}",
        marker(&marker_path)
    );
    wait_status(&server, "pending auth").await;
    let (code, _) = call(&server).await;
    assert!(code >= 400, "a call after the logout fails");

    // No token anywhere it must not be.
    let tokens = issued(&marker_path);
    assert!(tokens.len() >= 4, "{tokens:?}");
    let mut places = vec![
        (
            "GET /api/v1/config",
            get_text(&server, "/api/v1/config").await,
        ),
        (
            "GET /api/v1/servers",
            get_text(&server, "/api/v1/servers").await,
        ),
        (
            "GET /api/v1/servers/NAME/auth",
            get_text(&server, &format!("/api/v1/servers/{NAME}/auth")).await,
        ),
        (
            "GET /api/v1/servers/NAME/logs",
            get_text(&server, &format!("/api/v1/servers/{NAME}/logs?tail=10000")).await,
        ),
        (
            "GET /api/v1/tool-calls",
            get_text(&server, "/api/v1/tool-calls?limit=1000").await,
        ),
        (
            "GET /api/v1/diagnostics",
            get_text(&server, "/api/v1/diagnostics").await,
        ),
        ("events (first run)", first_events),
        (
            "events (second run)",
            events.lock().map(|e| e.clone()).unwrap_or_default(),
        ),
        ("stderr (first run)", first_stderr),
        ("stderr (second run)", server.stderr_text()),
    ];
    recorder.abort();
    for file in files_under(server.dir.path()) {
        // The secret store is where the tokens belong (and logout emptied it).
        if file.file_name().is_some_and(|n| n == "secrets.json") {
            continue;
        }
        if let Ok(text) = std::fs::read(&file) {
            places.push((
                "a file under the proxy's directory",
                format!("{}: {}", file.display(), String::from_utf8_lossy(&text)),
            ));
        }
    }
    assert!(
        places[6].1.contains("auth.changed"),
        "the events were recorded"
    );
    assert!(!places[8].1.is_empty(), "the proxy's log was captured");
    for (place, text) in &places {
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "a token shows in {place}");
        }
    }
    let secrets =
        std::fs::read_to_string(server.dir.path().join("data/secrets.json")).unwrap_or_default();
    for token in &tokens {
        assert!(
            !secrets.contains(token.as_str()),
            "logout left a token in the store"
        );
    }

    // Signing in again on a machine without a browser: the callback address pasted back.
    let (code, out) = cli_login(&data, BrowserStep::Paste).await;
    assert_eq!(code, 0, "{out}");
    wait_status(&server, "ready").await;
    let (code, answer) = call(&server).await;
    assert_eq!(code, 200, "{answer}");
}
