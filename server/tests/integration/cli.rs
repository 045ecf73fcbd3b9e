//! The `mcpproxy` CLI against a running daemon: over the unix socket (no key) and over
//! `--url` with a key; tables, `-o json`, exit codes and the no-daemon message.

use serde_json::{Value, json};

use crate::common::*;

/// Run `mcpproxy ARGS` and return (exit code, stdout, stderr).
pub async fn cli(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"));
    cmd.args(args)
        .env_remove("MCPPROXY_API_KEY")
        .env_remove("MCPPROXY_DATA")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn cli");
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).await.expect("stdin");
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("cli finished")
        .expect("cli output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn test_cli_every_command_against_a_running_daemon() {
    let mut held = json!({"name": "held", "command": "true", "enabled": true, "quarantined": true});
    held["env"] = json!({});
    let server = TestServer::start(config_with(json!([fixture_server("fx"), held]))).await;
    wait_ready(&server, "fx").await;
    let data = server.dir.path().join("data").display().to_string();
    let sock = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--data-dir".to_string(), data.clone()];
        all.extend(args.iter().map(|s| s.to_string()));
        all
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&refs, None).await
    };

    let (code, out, _) = run(sock(&["status"])).await;
    assert_eq!(code, 0);
    assert!(out.contains("running") && out.contains("STATUS"), "{out}");
    let (code, out, _) = run(sock(&["-o", "json", "status"])).await;
    assert_eq!(code, 0);
    let status: Value = serde_json::from_str(&out).expect("json");
    // `-o json` is the API envelope on every command: the answer under `data`.
    assert_eq!(status["success"], true);
    assert_eq!(status["data"]["servers"]["total"], 2);

    let (code, out, _) = run(sock(&["info"])).await;
    assert_eq!(
        (code, out.contains(env!("CARGO_PKG_VERSION"))),
        (0, true),
        "{out}"
    );

    let (code, out, _) = run(sock(&["upstream", "list"])).await;
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("fx") && l.contains("ready")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("held") && l.contains("quarantined")),
        "{out}"
    );

    let (code, out, _) = run(sock(&["upstream", "restart", "fx"])).await;
    assert_eq!((code, out.trim()), (0, "fx: restart done"));
    wait_ready(&server, "fx").await;
    let (code, out, _) = run(sock(&["upstream", "logs", "fx", "--tail", "5"])).await;
    assert_eq!(code, 0);
    assert!(out.lines().count() >= 1 && out.contains("ready"), "{out}");

    let (code, out, _) = run(sock(&[
        "tools",
        "search",
        "add two numbers",
        "--limit",
        "3",
    ]))
    .await;
    assert_eq!(code, 0);
    assert!(
        out.lines().nth(1).is_some_and(|l| l.starts_with("fx:add")),
        "{out}"
    );

    let (code, out, _) = run(sock(&[
        "call",
        "tool",
        "--tool-name",
        "fx:echo",
        "--json_args",
        "{\"message\":\"hi\"}",
    ]))
    .await;
    assert_eq!((code, out.trim()), (0, "Echo: hi"));
    let (code, _, err) = run(sock(&[
        "call",
        "tool",
        "--tool-name",
        "fx:echo",
        "--json_args",
        "{nope",
    ]))
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("not valid JSON"), "{err}");
    let (code, _, err) = run(sock(&["call", "tool", "--tool-name", "held:anything"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("quarantined"), "{err}");

    let (code, out, _) = run(sock(&["doctor"])).await;
    assert_eq!(code, 1, "issues found → non-zero: {out}");
    assert!(out.contains("held") && out.contains("quarantined"), "{out}");

    let (code, out, _) = run(sock(&["upstream", "disable", "fx"])).await;
    assert_eq!((code, out.trim()), (0, "fx: disable done"));
    assert_eq!(server.config_on_disk()["mcpServers"][0]["enabled"], false);
    let (code, _, _) = run(sock(&["upstream", "enable", "fx"])).await;
    assert_eq!(code, 0);
    let (code, _, err) = run(sock(&["upstream", "enable", "ghost"])).await;
    assert_eq!(code, 1);
    assert!(err.contains("ghost") && err.contains("404"), "{err}");

    // Secrets: the value goes in over stdin and never comes back out.
    let args = sock(&["secrets", "set", "cli-token"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, _) = cli(&refs, Some("s3cr3t-value\n")).await;
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(sock(&["secrets", "list"])).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("cli-token") && !out.contains("s3cr3t"),
        "{out}"
    );
    let (code, out, _) = run(sock(&["-o", "json", "secrets", "get", "cli-token"])).await;
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("json")["data"]["is_set"],
        true
    );
    let (code, _, _) = run(sock(&["secrets", "del", "cli-token"])).await;
    assert_eq!(code, 0);
    let (code, _, _) = run(sock(&["secrets", "get", "cli-token"])).await;
    assert_eq!(code, 1);

    // Over TCP with a key, too.
    let (code, out, _) = cli(&["--url", &server.url(), "--api-key", KEY, "status"], None).await;
    assert_eq!((code, out.contains("running")), (0, true));
    let (code, _, err) = cli(
        &["--url", &server.url(), "--api-key", "wrong", "status"],
        None,
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("UNAUTHORIZED"), "{err}");
    // The client metadata document to host, as served (no envelope for people).
    let (code, out, _) = run(sock(&[
        "auth",
        "client-metadata",
        "--url",
        "https://example.com/mcpproxy.json",
    ]))
    .await;
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).expect("the document is JSON");
    assert_eq!(doc["client_id"], "https://example.com/mcpproxy.json");
    assert_eq!(doc["client_name"], "mcpproxy");
    server.stop().await;
}

#[tokio::test]
async fn test_cli_config_validate_and_no_daemon_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        json!({"top_k": 0, "mcpServers": [{"name": "x", "protocol": "http"}]}).to_string(),
    )
    .expect("write");
    let data = dir.path().join("nodaemon").display().to_string();
    let (code, out, _) = cli(
        &[
            "--data-dir",
            &data,
            "config",
            "validate",
            &bad.display().to_string(),
        ],
        None,
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        out.contains("top_k") && out.contains("mcpServers[0].url"),
        "{out}"
    );
    let good = dir.path().join("good.json");
    std::fs::write(&good, "{}").expect("write");
    let (code, out, _) = cli(
        &[
            "--data-dir",
            &data,
            "-o",
            "json",
            "config",
            "validate",
            &good.display().to_string(),
        ],
        None,
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("json")["data"]["valid"],
        true
    );

    let (code, _, err) = cli(&["--data-dir", &data, "status"], None).await;
    assert_eq!(code, 1);
    assert!(err.contains("no mcpproxy daemon is running"), "{err}");
}

/// The CLI looks for the daemon where the daemon listens: with `tray_endpoint` in the file,
/// its socket is there, not in the data directory (both resolve it with the same code).
#[tokio::test]
async fn test_cli_finds_the_daemon_on_the_tray_endpoint_socket() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let socket = elsewhere.path().join("api.sock");
    let mut config = config_with(json!([]));
    config["tray_endpoint"] = json!(format!("unix://{}", socket.display()));
    let server = TestServer::start(config).await;
    let config_path = server.config_path().display().to_string();
    let data = server.dir.path().join("data").display().to_string();
    let (code, out, err) = cli(
        &[
            "--config",
            &config_path,
            "--data-dir",
            &data,
            "-o",
            "json",
            "status",
        ],
        None,
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let status: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(status["success"], true);
    assert!(!server.socket_path().exists());
    server.stop().await;
}

/// `upstream logs --follow` prints every line the log gains while it runs, once and in
/// order: three restarts of a server that prints 40 stderr lines each write well over a
/// poll's worth of lines between two polls.
#[tokio::test]
async fn test_upstream_logs_follow_prints_every_line_once() {
    use tokio::io::AsyncBufReadExt;
    let mut fx = fixture_server("fx");
    fx["args"] = json!(["stdio", "--stderr-lines", "40"]);
    let server = TestServer::start(config_with(json!([fx]))).await;
    wait_ready(&server, "fx").await;
    let data = server.dir.path().join("data").display().to_string();
    let mut follower = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
        .args(["--data-dir", &data, "-o", "json", "upstream", "logs", "fx"])
        .args(["--tail", "1", "--follow"])
        .env_remove("MCPPROXY_API_KEY")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn follower");
    let stdout = follower.stdout.take().expect("stdout");
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let entry: Value = serde_json::from_str(&line).expect("a JSON line per log line");
            let message = entry["data"]["message"].as_str().unwrap_or_default();
            let _ = sender.send(message.to_string());
        }
    });
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), received.recv())
        .await
        .expect("the tail is printed")
        .expect("a line");
    let before = server_log(&server, "fx").await;
    assert_eq!(
        before.last(),
        Some(&first),
        "the tail's last line is printed first"
    );
    let client = server.client();
    for _ in 0..3 {
        client.server_restart("fx").await.expect("restart");
        wait_ready(&server, "fx").await;
    }
    let log = server_log(&server, "fx").await;
    let expected: Vec<String> = log[before.len()..].to_vec();
    assert!(
        expected.len() >= 120,
        "three restarts wrote {} lines",
        expected.len()
    );
    let mut followed: Vec<String> = Vec::new();
    while followed.len() < expected.len() {
        match tokio::time::timeout(std::time::Duration::from_secs(30), received.recv()).await {
            Ok(Some(line)) => followed.push(line),
            _ => break,
        }
    }
    assert_eq!(followed, expected, "followed lines differ from the log");
    server.stop().await;
}
