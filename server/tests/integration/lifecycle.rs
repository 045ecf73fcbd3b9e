//! Process lifecycle: key generation, exit codes, the unix socket, graceful shutdown.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn test_lifecycle_generated_key_is_printed_once_and_saved() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let listen = LISTEN;
    std::fs::write(
        dir.path().join("mcp_config.json"),
        json!({"listen": listen}).to_string(),
    )
    .expect("write");
    let server = TestServer::start_in(dir.clone(), &[]).await;
    let text = server.stderr_text();
    let line = text
        .lines()
        .find(|l| l.contains("\"api_key\": \""))
        .expect("key line printed");
    let key = line
        .split("\"api_key\": \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("key");
    assert_eq!(key.len(), 64);
    assert!(line.contains("web_ui_url"));
    assert_eq!(server.config_on_disk()["api_key"], key);
    let mode = std::fs::metadata(server.config_path())
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let db_mode = std::fs::metadata(server.dir.path().join("data/mcpproxy.db"))
        .expect("database")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(db_mode, 0o600, "history may hold secrets");
    let ok = mcpproxy_client::Client::with_api_key(&server.url(), key)
        .expect("client")
        .status_get()
        .await;
    assert!(ok.is_ok());
    server.stop().await;
    // A restart reuses the saved key and does not print it again.
    let again = TestServer::start_in(dir, &[]).await;
    assert!(!again.stderr_text().contains("\"api_key\": \""));
    again.stop().await;
}

#[tokio::test]
async fn test_lifecycle_env_key_overrides_the_file() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    std::fs::write(
        dir.path().join("mcp_config.json"),
        config_with(json!([])).to_string(),
    )
    .expect("write");
    let server = TestServer::start_in(dir, &[("MCPPROXY_API_KEY", "from-env-key")]).await;
    let env_client =
        mcpproxy_client::Client::with_api_key(&server.url(), "from-env-key").expect("client");
    assert!(env_client.status_get().await.is_ok());
    assert!(
        server.client().status_get().await.is_err(),
        "the file's key no longer works"
    );
    assert_eq!(
        server.config_on_disk()["api_key"],
        KEY,
        "env key is not persisted"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_lifecycle_exit_codes_for_port_in_use_and_bad_config() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = json!({"listen": busy.local_addr().expect("addr").to_string(), "api_key": KEY});
    std::fs::write(dir.path().join("mcp_config.json"), config.to_string()).expect("write");
    let (code, text) = run_to_exit(dir.path(), &[]).await;
    assert_eq!(code, Some(2), "{text}");

    std::fs::write(dir.path().join("mcp_config.json"), "{\"listen\": ").expect("write");
    let (code, text) = run_to_exit(dir.path(), &[]).await;
    assert_eq!(code, Some(4));
    assert!(text.contains("not a valid configuration"), "{text}");

    std::fs::write(
        dir.path().join("mcp_config.json"),
        json!({"tools_limit": 0}).to_string(),
    )
    .expect("write");
    let (code, text) = run_to_exit(dir.path(), &[]).await;
    assert_eq!(code, Some(4));
    assert!(text.contains("tools_limit"), "{text}");
}

#[tokio::test]
async fn test_lifecycle_unix_socket_is_private_trusted_and_exclusive() {
    let server = TestServer::start(config_with(json!([{"name": "a", "command": "true"}]))).await;
    let mode = std::fs::metadata(server.socket_path())
        .expect("socket")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // No key needed over the socket.
    let list = server
        .socket_client()
        .server_list()
        .await
        .expect("list over socket")
        .into_inner();
    assert_eq!(list.data.servers.len(), 1);
    server
        .socket_client()
        .server_enable("a")
        .await
        .expect("enable over socket");

    // A second proxy pointed at the same live socket refuses to take it over (exit 2) ...
    let other = tempfile::tempdir().expect("tempdir");
    let mut other_config = config_with(json!([]));
    other_config["tray_endpoint"] = json!(format!("unix://{}", server.socket_path().display()));
    std::fs::write(
        other.path().join("mcp_config.json"),
        other_config.to_string(),
    )
    .expect("write");
    let run = |data_dir: std::path::PathBuf| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"));
        cmd.arg("serve")
            .arg("--config")
            .arg(other.path().join("mcp_config.json"));
        cmd.arg("--data-dir").arg(data_dir);
        async move {
            tokio::time::timeout(Duration::from_secs(15), cmd.output())
                .await
                .expect("exits")
                .expect("output")
        }
    };
    let status = run(other.path().join("data")).await;
    assert_eq!(
        status.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // ... and one on the same data dir finds the database locked (exit 3).
    let status = run(server.dir.path().join("data")).await;
    assert_eq!(
        status.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        server.socket_client().status_get().await.is_ok(),
        "the first proxy still serves"
    );

    // Killed hard, it leaves a stale socket file, which the next start replaces.
    let dir = server.dir.clone();
    drop(server); // SIGKILL
    let socket = dir.path().join("data/mcpproxy.sock");
    eventually(
        Duration::from_secs(10),
        "the killed proxy's socket to refuse",
        || {
            let refused = std::os::unix::net::UnixStream::connect(&socket).is_err();
            async move { refused.then_some(()) }
        },
    )
    .await;
    assert!(
        dir.path().join("data/mcpproxy.sock").exists(),
        "stale socket left behind"
    );
    let again = TestServer::start_in(dir, &[]).await;
    assert!(again.socket_client().status_get().await.is_ok());
    again.stop().await;
}

#[tokio::test]
async fn test_lifecycle_shutdown_is_prompt_with_open_streams() {
    let server = TestServer::start(config_with(json!([]))).await;
    let resp = raw()
        .get(format!("{}/events", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.status(), 200);
    let socket = server.socket_path();
    let started = Instant::now();
    assert_eq!(server.stop().await, Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(!socket.exists(), "socket file removed on shutdown");
    drop(resp);
}
