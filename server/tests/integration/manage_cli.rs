//! The management commands of the CLI against a running daemon (the built binary over the
//! unix socket): `upstream add|remove|approve|unquarantine`, `tools list|approve|diff`,
//! `config show|path|init`, `completion`, and the one `-o json` envelope.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::cli;
use crate::common::*;

/// Runs the CLI against `server`'s socket; (exit code, stdout, stderr).
async fn run(server: &TestServer, args: &[&str]) -> (i32, String, String) {
    let data = server.dir.path().join("data").display().to_string();
    let mut all = vec!["--data-dir", data.as_str()];
    all.extend_from_slice(args);
    cli(&all, None).await
}

/// Runs with `-o json` and parses stdout.
async fn run_json(server: &TestServer, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(server, &all).await;
    let value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out} {err}"));
    (code, value)
}

#[tokio::test]
async fn test_cli_upstream_add_remove_approve() {
    let server = TestServer::start(config_with(json!([]))).await;
    let fixture = fixture_bin().display().to_string();

    let (code, out, err) = run(
        &server,
        &[
            "upstream",
            "add",
            "fx",
            "--env",
            "MODE=test",
            "--",
            &fixture,
            "stdio",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("fx: add done"), "{out}");
    wait_ready(&server, "fx").await;
    let entry = &server.config_on_disk()["mcpServers"][0];
    assert_eq!(
        (entry["command"].as_str(), entry["args"].clone()),
        (Some(fixture.as_str()), json!(["stdio"]))
    );
    assert_eq!(entry["env"]["MODE"], "test");

    // The same name again: exit 1 and the error envelope on stdout.
    let (code, answer) = run_json(&server, &["upstream", "add", "fx", "--", "true"]).await;
    assert_eq!(code, 1);
    assert_eq!(answer["success"], false);
    assert_eq!(answer["code"], "CONFLICT");
    // Neither a command nor a URL, and a header without `=`: refused before any request.
    let (code, _, err) = run(&server, &["upstream", "add", "nothing"]).await;
    // (the URL as a second word is the Go original's form; `--url` is the same)
    assert_eq!(code, 1);
    assert!(err.contains("--url"), "{err}");
    let (code, _, err) = run(
        &server,
        &[
            "upstream",
            "add",
            "h",
            "--url",
            "http://127.0.0.1:9/mcp",
            "--header",
            "novalue",
        ],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("KEY=VALUE"), "{err}");

    let (code, added) = run_json(
        &server,
        &[
            "upstream",
            "add",
            "web",
            "--url",
            "http://127.0.0.1:9/mcp",
            "--protocol",
            "http",
            "--header",
            "Authorization=Bearer tok",
            "--quarantined",
        ],
    )
    .await;
    assert_eq!(code, 0, "{added}");
    assert_eq!(added["success"], true);
    assert_eq!(added["data"]["quarantined"], true);
    assert_eq!(added["data"]["enabled"], true);
    assert_eq!(
        server.config_on_disk()["mcpServers"][1]["headers"]["Authorization"],
        "Bearer tok"
    );
    let (code, approved) = run_json(&server, &["upstream", "unquarantine", "web"]).await;
    assert_eq!(code, 0, "{approved}");
    assert_eq!(approved["data"]["server"], "web");
    assert!(!server_view(&server, "web").await.quarantined);
    // approve is the same command; quarantine it again through REST and approve by name.
    server
        .client()
        .server_quarantine(
            "web",
            &mcpproxy_client::types::QuarantineRequest {
                quarantined: true,
                fingerprint: None,
            },
        )
        .await
        .expect("quarantine");
    let (code, out, _) = run(&server, &["upstream", "approve", "web"]).await;
    assert_eq!((code, out.contains("web: approved")), (0, true), "{out}");

    let (code, out, _) = run(&server, &["upstream", "remove", "web"]).await;
    assert_eq!(code, 0, "{out}");
    let (code, answer) = run_json(&server, &["upstream", "remove", "web"]).await;
    assert_eq!((code, answer["code"].as_str()), (1, Some("NOT_FOUND")));
    assert_eq!(
        server.config_on_disk()["mcpServers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // The Go original's form: the URL as the second word.
    let (code, out, err) = run(
        &server,
        &[
            "upstream",
            "add",
            "pos",
            "http://127.0.0.1:9/mcp",
            "--quarantined",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out} {err}");
    assert_eq!(
        server.config_on_disk()["mcpServers"][1]["url"],
        "http://127.0.0.1:9/mcp"
    );
    let (code, _, _) = run(&server, &["upstream", "remove", "pos"]).await;
    assert_eq!(code, 0);
    let (code, listed) = run_json(&server, &["upstream", "list"]).await;
    assert_eq!(code, 0);
    assert_eq!(listed["data"]["servers"][0]["name"], "fx");
    // Booleans are JSON booleans on every command.
    assert_eq!(listed["data"]["servers"][0]["enabled"], true);
}

#[tokio::test]
async fn test_cli_tools_list_diff_approve() {
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let (code, listed) = run_json(&server, &["tools", "list", "fx"]).await;
    assert_eq!(code, 0);
    let tools = listed["data"]["tools"].as_array().expect("tools").clone();
    assert_eq!(listed["data"]["total"], tools.len());
    assert!(tools.iter().any(|t| t["id"] == "fx:echo"), "{listed}");
    let (code, out, _) = run(&server, &["tools", "list"]).await;
    assert!(
        code == 0 && out.contains("fx:echo") && out.contains("approved"),
        "{out}"
    );
    let (code, out, _) = run(&server, &["tools", "diff", "fx"]).await;
    assert!(code == 0 && out.contains("no tool changed"), "{out}");

    // The upstream changes a description: diff shows before and after, approve clears it.
    let (code, out, err) = run(
        &server,
        &[
            "call",
            "tool",
            "--tool-name",
            "fx:set_description",
            "--json_args",
            r#"{"tool": "echo", "description": "Echo, now different"}"#,
        ],
    )
    .await;
    assert_eq!(code, 0, "{out} {err}");
    let diff = eventually(
        Duration::from_secs(20),
        "echo pinned as changed",
        || async {
            let (_, diff) = run_json(&server, &["tools", "diff", "fx", "echo"]).await;
            (diff["data"]["changed"].as_array().map(Vec::len) == Some(1)).then_some(diff)
        },
    )
    .await;
    let changed = &diff["data"]["changed"][0];
    assert_eq!(changed["tool"], "echo");
    assert_eq!(changed["current_description"], "Echo, now different");
    assert_ne!(changed["approved_description"], "Echo, now different");
    let (code, out, _) = run(&server, &["tools", "diff", "fx", "echo"]).await;
    assert!(code == 0 && out.contains("+ Echo, now different"), "{out}");
    let (code, answer) = run_json(&server, &["tools", "diff", "fx", "no-such-tool"]).await;
    assert_eq!((code, answer["success"].clone()), (1, json!(false)));

    let (code, approved) = run_json(&server, &["tools", "approve", "fx", "echo"]).await;
    assert_eq!(code, 0, "{approved}");
    assert_eq!(approved["data"]["approved"], json!(["echo"]));
    let (_, diff) = run_json(&server, &["tools", "diff", "fx"]).await;
    assert_eq!(diff["data"]["changed"], json!([]));
    let (code, approved) = run_json(&server, &["tools", "approve", "fx"]).await;
    assert_eq!(code, 0, "approve all with nothing left: {approved}");
}

#[tokio::test]
async fn test_cli_config_show_path_init_version_completion() {
    let server = TestServer::start(config_with(json!([
        {"name": "s", "command": "true", "env": {"API_TOKEN": "hunter2-secret"}}
    ])))
    .await;
    let config = server.config_path().display().to_string();
    let (code, shown) = run_json(&server, &["--config", &config, "config", "show"]).await;
    assert_eq!(code, 0);
    assert_eq!(shown["data"]["mcpServers"][0]["name"], "s");
    assert!(
        !shown.to_string().contains("hunter2"),
        "secrets masked: {shown}"
    );
    let (code, path) = run_json(&server, &["--config", &config, "config", "path"]).await;
    assert_eq!(
        (
            code,
            path["data"]["path"].as_str(),
            path["data"]["exists"].clone()
        ),
        (0, Some(config.as_str()), json!(true))
    );

    // Without a daemon: show reads the file (masked), init writes the defaults once.
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("new").join("mcp_config.json");
    let fresh_s = fresh.display().to_string();
    let nodaemon = dir.path().join("nodaemon").display().to_string();
    let init_args = [
        "--data-dir",
        nodaemon.as_str(),
        "--config",
        fresh_s.as_str(),
        "config",
        "init",
    ];
    let init = || cli(&init_args, None);
    let (code, out, _) = init().await;
    assert_eq!(code, 0, "{out}");
    let written: Value =
        serde_json::from_slice(&std::fs::read(&fresh).expect("written")).expect("json");
    assert!(written["mcpServers"].is_array());
    let before = std::fs::read(&fresh).expect("read");
    let (code, _, err) = init().await;
    assert_eq!(code, 1);
    assert!(err.contains("exists"), "{err}");
    assert_eq!(
        std::fs::read(&fresh).expect("read"),
        before,
        "kept as it was"
    );
    let (code, out, _) = cli(
        &[
            "--data-dir",
            &nodaemon,
            "--config",
            &config,
            "-o",
            "json",
            "config",
            "show",
        ],
        None,
    )
    .await;
    assert_eq!(code, 0);
    assert!(out.contains("\"s\"") && !out.contains("hunter2"), "{out}");

    let (code, out, _) = cli(&["-o", "json", "version"], None).await;
    assert_eq!(code, 0);
    let version: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        version,
        json!({"success": true, "data": {"version": env!("CARGO_PKG_VERSION")}})
    );
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef mcpproxy"),
        ("fish", "complete -c mcpproxy"),
    ] {
        let (code, out, _) = cli(&["completion", shell], None).await;
        assert_eq!(code, 0, "{shell}");
        assert!(
            out.contains(marker) && out.contains("upstream"),
            "{shell}: {}",
            &out[..out.len().min(300)]
        );
    }
}
