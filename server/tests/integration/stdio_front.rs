//! MCP over the proxy's own stdin/stdout (`listen: ":0"`, or `serve --stdio`): an agent
//! spawns the proxy, a real MCP client (rmcp) talks to it over the pipes, the REST API
//! stays on the unix socket, and closing stdin ends the process cleanly with the history
//! stored.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::json;
use tokio::process::Child;

use crate::common::*;

/// Spawn the proxy over `dir` with MCP on its pipes; `extra` are more `serve` arguments.
fn spawn_stdio(dir: &std::path::Path, extra: &[&str]) -> Child {
    serve_command(dir)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcpproxy")
}

async fn stdio_session(
    child: &mut Child,
) -> rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig> {
    let stdout = child.stdout.take().expect("stdout");
    let stdin = child.stdin.take().expect("stdin");
    let info = rmcp::model::ClientConfig::new(
        rmcp::model::ClientCapabilities::default(),
        rmcp::model::Implementation::new("stdio-agent", "4.5.6"),
    );
    tokio::time::timeout(Duration::from_secs(20), info.serve((stdout, stdin)))
        .await
        .expect("handshake within 20 s")
        .expect("MCP session over stdio")
}

async fn exits_cleanly(child: &mut Child) {
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of stdin closing")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test]
async fn test_stdio_mode_serves_mcp_on_the_pipes_and_stops_when_stdin_closes() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let mut config = config_with(json!([fixture_server("fx")]));
    config["listen"] = json!(":0"); // the Go original's spelling of stdio mode
    let write_config = |config: &serde_json::Value| {
        std::fs::write(
            dir.path().join("mcp_config.json"),
            serde_json::to_vec_pretty(config).expect("json"),
        )
        .expect("write config")
    };
    write_config(&config);
    let mut child = spawn_stdio(dir.path(), &[]);
    let client = stdio_session(&mut child).await;
    let names: Vec<String> = client
        .list_tools(None)
        .await
        .expect("tools/list")
        .tools
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(names.iter().any(|n| n == "retrieve_tools"), "{names:?}");

    // The upstream connects in the background; search finds it once it is indexed.
    let found = eventually(Duration::from_secs(30), "fx indexed", || async {
        let r = mcp_call(
            &client,
            "retrieve_tools",
            json!({"query": "echo a message"}),
        )
        .await;
        let text = text_of(&r);
        text.contains("fx:echo").then_some(text)
    })
    .await;
    assert!(found.contains("call_with"), "{found}");
    let r = mcp_call(
        &client,
        "call_tool_read",
        json!({"name": "fx:echo", "args": {"message": "over pipes"}}),
    )
    .await;
    assert_eq!(text_of(&r), "Echo: over pipes");

    // No public port, but the REST API answers on the unix socket, and it sees the
    // session with the client's name.
    let socket = dir.path().join("data").join("mcpproxy.sock");
    let rest = mcpproxy_client::Client::over_unix_socket(&socket).expect("socket client");
    let session = session_of(&rest, "stdio-agent").await;
    assert!(session.id.starts_with("stdio-"), "{}", session.id);
    assert_eq!(session.client_version.as_deref(), Some("4.5.6"));
    assert_eq!(session.tool_call_count, 1);

    client.cancel().await.expect("close");
    exits_cleanly(&mut child).await;
    assert!(!socket.exists(), "socket file removed on exit");

    // The same data over TCP: the call and the closed session were kept.
    config["listen"] = json!(LISTEN);
    write_config(&config);
    let server = TestServer::start_in(dir.clone(), &[]).await;
    let calls = server
        .client()
        .tool_call_list(None, None, Some(&session.id))
        .await
        .expect("calls")
        .into_inner();
    assert_eq!(calls.data.total, 1);
    assert_eq!(
        calls.data.tool_calls[0].arguments,
        json!({"message": "over pipes"})
    );
    assert_eq!(
        calls.data.tool_calls[0].mcp_client_name.as_deref(),
        Some("stdio-agent")
    );
    let stored = server
        .client()
        .session_get(&session.id)
        .await
        .expect("session kept")
        .into_inner();
    assert_eq!(stored.data.session.status, "closed");
    server.stop().await;
}

#[tokio::test]
async fn test_stdio_flag_overrides_a_tcp_listen_and_keeps_stdout_for_mcp() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A TCP address in the file; --stdio wins, and no port is opened.
    let config = config_with(json!([]));
    let port = config["listen"]
        .as_str()
        .and_then(|l| l.rsplit_once(':'))
        .map(|(_, p)| p.to_string())
        .expect("port");
    std::fs::write(
        dir.path().join("mcp_config.json"),
        serde_json::to_vec_pretty(&config).expect("json"),
    )
    .expect("write config");
    let mut child = spawn_stdio(dir.path(), &["--stdio"]);
    // Every byte on stdout must be MCP: the handshake parses, and a ping answers.
    let client = stdio_session(&mut child).await;
    client
        .send_request(rmcp::model::ClientRequest::PingRequest(Default::default()))
        .await
        .expect("ping");
    assert!(
        std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err(),
        "no TCP listener in stdio mode"
    );
    client.cancel().await.expect("close");
    exits_cleanly(&mut child).await;
}

#[tokio::test]
async fn test_stdio_mode_works_with_the_official_python_sdk_stdio_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config_with(json!([everything_server("everything")]));
    config["listen"] = json!("");
    let config_path = dir.path().join("mcp_config.json");
    std::fs::write(
        &config_path,
        serde_json::to_vec_pretty(&config).expect("json"),
    )
    .expect("write config");
    let command = json!([
        env!("CARGO_BIN_EXE_mcpproxy"),
        "serve",
        "--config",
        config_path,
        "--data-dir",
        dir.path().join("data"),
    ]);
    let home = dir.path().display().to_string();
    let (seen, _) = python_sdk_client(
        &[&command.to_string(), "stdio"],
        &[
            ("HOME", &home),
            ("MCPPROXY_DISABLE_AUTO_UPDATE", "true"),
            // Empty values count as unset: the file's `listen: ""` (stdio) stays in force.
            ("MCPPROXY_LISTEN", ""),
            ("MCPPROXY_DATA", ""),
            ("MCPPROXY_API_KEY", ""),
        ],
    )
    .await;
    assert_eq!(seen["first"], "everything:echo", "{seen}");
    assert_eq!(seen["echo"], "Echo: hi", "{seen}");
    assert!(
        seen["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .any(|t| t == "call_tool_read"),
        "{seen}"
    );
}

/// Right after start the upstream is still connecting: the first call and the first search
/// wait for it and succeed at once, while servers that failed, are quarantined or are
/// disabled are never waited for.
#[tokio::test]
async fn test_stdio_first_call_and_search_wait_for_a_server_coming_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut quarantined = fixture_server("held");
    quarantined["quarantined"] = json!(true);
    let mut disabled = fixture_server("off");
    disabled["enabled"] = json!(false);
    let mut broken = fixture_server("broken");
    broken["args"] = json!(["stdio", "--fail-start"]);
    // fx takes 1.5 s to come up: the first call and search arrive long before.
    let mut fx = fixture_server("fx");
    fx["args"] = json!(["stdio", "--slow-start-ms", "1500"]);
    let mut config = config_with(json!([fx, quarantined, disabled, broken]));
    config["listen"] = json!(":0");
    std::fs::write(
        dir.path().join("mcp_config.json"),
        serde_json::to_vec_pretty(&config).expect("json"),
    )
    .expect("write config");
    let mut child = spawn_stdio(dir.path(), &[]);
    let client = stdio_session(&mut child).await;
    // Both at once, the moment the session is up.
    let (r, found) = tokio::join!(
        mcp_call(
            &client,
            "call_tool_read",
            json!({"name": "fx:echo", "args": {"message": "first"}}),
        ),
        mcp_call(
            &client,
            "retrieve_tools",
            json!({"query": "echo a message"}),
        ),
    );
    assert_eq!(text_of(&r), "Echo: first", "{r:?}");
    let found = text_of(&found);
    assert!(found.contains("fx:echo"), "{found}");
    // Nothing left coming up: a search answers without waiting for the others.
    let started = std::time::Instant::now();
    let again =
        text_of(&mcp_call(&client, "retrieve_tools", json!({"query": "add numbers"})).await);
    assert!(again.contains("fx:add"), "{again}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a failed, quarantined or disabled server is not waited for: {:?}",
        started.elapsed()
    );
    let broken = mcp_call(
        &client,
        "call_tool",
        json!({"name": "broken:anything", "args": {}}),
    )
    .await;
    assert_eq!(broken.is_error, Some(true), "{broken:?}");
    client.cancel().await.expect("close");
    exits_cleanly(&mut child).await;
}
