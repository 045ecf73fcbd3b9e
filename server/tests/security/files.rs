//! The user's files and directories, and how the process starts: a config file a person is
//! editing is never overwritten, a shared data directory is refused rather than `chmod`ed,
//! logs are private and leave with their server, exposed settings are said out loud, exit
//! codes mean what the README says.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::proc::{RawSession, poll};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

async fn disable_over_rest(server: &TestServer, name: &str) -> (u16, Value) {
    let resp = raw()
        .post(format!("{}/api/v1/servers/{name}/disable", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("disable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn diagnostics_text(server: &TestServer) -> String {
    let resp = raw()
        .get(format!("{}/api/v1/diagnostics", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("diagnostics");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("body")
}

#[tokio::test]
async fn test_files_daemon_writes_are_refused_while_the_file_on_disk_is_invalid() {
    let server = TestServer::start(config_with(json!([
        {"name": "a", "command": "true", "enabled": true}
    ])))
    .await;
    let path = server.config_path();
    for edit in [
        // A person mid-edit: not JSON yet.
        "{\"listen\": \"127.0.0.1:1\", \"mcpServers\": [\n".to_string(),
        // JSON, but breaking the rules.
        json!({"api_key": KEY, "tools_limit": 0}).to_string(),
    ] {
        std::fs::write(&path, &edit).expect("edit");
        let (status, body) = disable_over_rest(&server, "a").await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "CONFLICT", "{body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(&path.display().to_string()) && message.contains("invalid"),
            "{message}"
        );
        let session = RawSession::open(&server).await;
        let answer = session
            .call(
                1,
                "upstream_servers",
                json!({"operation": "disable", "name": "a"}),
            )
            .await;
        assert_eq!(answer["result"]["isError"], true, "{answer}");
        assert!(
            answer.to_string().contains("invalid on disk"),
            "the agent is told why: {answer}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            edit,
            "the person's edit survives"
        );
        let servers = server
            .client()
            .server_list()
            .await
            .expect("list")
            .into_inner();
        assert!(
            servers
                .data
                .servers
                .iter()
                .any(|s| s.name == "a" && s.enabled),
            "the running state is kept"
        );
    }
    // Once the file is valid again, the same write goes through.
    std::fs::write(
        &path,
        serde_json::to_vec(&config_with(
            json!([{"name": "a", "command": "true", "enabled": true}]),
        ))
        .expect("json"),
    )
    .expect("fix");
    poll(
        Duration::from_secs(10),
        "the write after the fix",
        || async { (disable_over_rest(&server, "a").await.0 == 200).then_some(()) },
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn test_files_shared_data_dir_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(&dir.path().join("mcp_config.json"), &config_with(json!([])));
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let (code, text) = run_to_exit(dir.path(), &[]).await;
    assert_eq!(code, Some(5), "{text}");
    assert!(text.contains("writable by other users"), "{text}");
    assert_eq!(mode(&data), 0o1777, "never chmod-ed");

    // A missing one is created private.
    std::fs::remove_dir(&data).expect("rmdir");
    let server = TestServer::start_in(std::sync::Arc::new(dir), &[]).await;
    assert_eq!(mode(&server.dir.path().join("data")), 0o700);
    server.stop().await;
}

#[tokio::test]
async fn test_files_server_logs_are_private_and_removed_with_their_server() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    let logs = server.dir.path().join("data").join("logs");
    let log = logs.join("server-fx.log");
    poll(Duration::from_secs(15), "the server's log", || async {
        log.exists().then_some(())
    })
    .await;
    assert_eq!(mode(&logs), 0o700);
    assert_eq!(mode(&log), 0o600);

    let mut config = server.config_on_disk();
    config["mcpServers"] = json!([]);
    server
        .client()
        .config_apply(&serde_json::from_value(config).expect("document"))
        .await
        .expect("apply");
    poll(Duration::from_secs(10), "the log's removal", || async {
        (!log.exists()).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn test_files_exposed_settings_are_warned_about() {
    let config = config_with(json!([]));
    let mut all_interfaces = config.clone();
    // Every interface, port 0: the server says which port it bound.
    all_interfaces["listen"] = json!("0.0.0.0:0");
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("tempdir"));
    let path = dir.path().join("mcp_config.json");
    std::fs::write(&path, all_interfaces.to_string()).expect("config");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let server = TestServer::start_in(dir, &[("MCPPROXY_API_KEY", "short")]).await;
    // Every interface (as the Go original's ":PORT" does); loopback reaches it too.
    let port = server.addr.rsplit(':').next().expect("bound port");
    let url = format!("http://127.0.0.1:{port}");
    let resp = raw()
        .get(format!("{url}/api/v1/diagnostics"))
        .header("X-API-Key", "short")
        .send()
        .await
        .expect("diagnostics");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    for expected in [
        "readable by other users",
        "shorter than 16 characters",
        "every network interface",
    ] {
        assert!(
            text.contains(expected),
            "diagnostics lack {expected:?}: {text}"
        );
        assert!(
            server.stderr_text().contains(expected),
            "start-up log lacks {expected:?}"
        );
    }
    assert!(text.contains("\"security\""), "{text}");
    server.stop().await;

    // A private file (TestServer writes it 0600), a long key and loopback raise none of them.
    let server = TestServer::start(config).await;
    let text = diagnostics_text(&server).await;
    assert!(!text.contains("\"security\""), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn test_files_exit_codes_bad_listen_and_permission() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(&dir.path().join("mcp_config.json"), &config_with(json!([])));
    let (code, text) = run_to_exit(dir.path(), &[("MCPPROXY_LISTEN", "not an address")]).await;
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("invalid listen address"), "{text}");

    // A privileged port: binding it is a permission problem (exit 5). As root the proxy runs
    // as `nobody` for this, so the kernel says no.
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .unwrap_or(1024);
    assert!(
        start > 80,
        "this machine lets anyone bind port 80 (ip_unprivileged_port_start = {start}); the test needs a privileged port"
    );
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut config = config_with(json!([]));
    config["listen"] = json!("127.0.0.1:80");
    let config_path = home.path().join("mcp_config.json");
    std::fs::write(&config_path, config.to_string()).expect("config");
    let data = home.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let root = my_uid() == 0;
    let mut cmd = match root {
        true => {
            for p in [&config_path, &data] {
                let status = std::process::Command::new("chown")
                    .args(["nobody:nogroup", &p.display().to_string()])
                    .status()
                    .expect("chown");
                assert!(status.success());
            }
            let mut cmd = tokio::process::Command::new("setpriv");
            cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_mcpproxy"));
            cmd
        }
        false => tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy")),
    };
    cmd.arg("serve")
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(&data)
        .env("HOME", home.path())
        .env("MCPPROXY_DISABLE_AUTO_UPDATE", "true")
        .env_remove("MCPPROXY_LISTEN")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("exits")
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The uid of this test process, read from `/proc` (no `unsafe` needed).
fn my_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .expect("uid")
}

#[tokio::test]
async fn test_files_bare_command_prints_help_and_version_answers_locally() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &'static [&'static str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"));
        cmd.args(args)
            .env("HOME", home.path())
            .env_remove("MCPPROXY_LISTEN")
            .kill_on_drop(true);
        async move {
            tokio::time::timeout(Duration::from_secs(10), cmd.output())
                .await
                .expect("a bare command returns at once instead of serving")
                .expect("runs")
        }
    };
    let out = run(&[]).await;
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage:") && help.contains("serve"), "{help}");
    assert!(
        !home.path().join(".mcpproxy").exists(),
        "no config or data dir was created"
    );

    let out = run(&["version"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mcpproxy {}", env!("CARGO_PKG_VERSION"))
    );
    let out = run(&["-o", "json", "version"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    // `-o json` is the API envelope on every command.
    assert_eq!(v["data"]["version"], env!("CARGO_PKG_VERSION"));
}
