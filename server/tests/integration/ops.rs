//! Operations: config hot reload, the update check in `/info`, diagnostics/doctor and
//! Docker isolation (through a stand-in `docker` client, and the real "unavailable" path).

use std::path::Path;
use std::time::Duration;

use mcpproxy_client::types;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

/// Replace the config file the way editors do: write a temp file, rename it over.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("json.tmp-edit");
    std::fs::write(&tmp, text).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename");
}

/// Replace the config file with `doc` and wait for the `config.reloaded` event.
async fn edit_and_wait(server: &TestServer, events: &mut EventStream, doc: &Value) -> Value {
    replace_file(
        &server.config_path(),
        &serde_json::to_string_pretty(doc).expect("json"),
    );
    events
        .next_matching(|kind, _| kind == "config.reloaded")
        .await
}

async fn diagnostics(server: &TestServer) -> types::Diagnostics {
    server
        .client()
        .diagnostics_get()
        .await
        .expect("diagnostics")
        .into_inner()
        .data
}

fn categories(d: &types::Diagnostics) -> Vec<String> {
    d.issues.iter().map(|i| i.category.to_string()).collect()
}

#[tokio::test]
async fn test_hot_reload_applies_valid_edits_and_keeps_the_config_on_invalid_ones() {
    let server = TestServer::start(config_with(json!([fixture_server("a")]))).await;
    wait_connected(&server, "a").await;
    let mut events = EventStream::open(&server).await;

    // A valid edit, written by replacing the file: b is added, a is left alone.
    let mut doc = server.config_on_disk();
    doc["mcpServers"]
        .as_array_mut()
        .expect("servers")
        .push(fixture_server("b"));
    doc["tools_limit"] = json!(30);
    let reloaded = edit_and_wait(&server, &mut events, &doc).await;
    assert_eq!(reloaded["payload"]["source"], "file");
    assert_eq!(
        reloaded["payload"]["changed_fields"],
        json!(["mcpServers", "tools_limit"])
    );
    assert_eq!(
        reloaded["payload"]["path"],
        server.config_path().display().to_string()
    );
    wait_connected(&server, "b").await;
    let starts = server_log(&server, "a")
        .await
        .iter()
        .filter(|l| l.starts_with("started `"))
        .count();
    assert_eq!(starts, 1, "a was not restarted");

    // An invalid edit (in place this time): reported, and the running config is kept.
    std::fs::write(
        server.config_path(),
        "{\"mcpServers\": [{\"name\": \"\"}], \"tools_limit\": 0}",
    )
    .expect("write");
    let invalid = events
        .next_matching(|kind, _| kind == "config.invalid")
        .await;
    let fields: Vec<&str> = invalid["payload"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(fields.contains(&"tools_limit"), "{invalid}");
    let report = diagnostics(&server).await;
    let config_issue = report
        .issues
        .iter()
        .find(|i| i.category == types::DiagnosticCategory::Config)
        .expect("config issue");
    assert!(config_issue.message.contains("invalid"), "{config_issue:?}");
    assert_eq!(report.runtime_warnings.len(), 1);
    let running = server
        .client()
        .config_get()
        .await
        .expect("config")
        .into_inner();
    let running = serde_json::to_value(running.data.config).expect("json");
    assert_eq!(running["tools_limit"], 30);
    assert_eq!(running["mcpServers"].as_array().map(Vec::len), Some(2));
    assert!(server_view(&server, "b").await.connected);

    // Unparsable JSON is reported too.
    std::fs::write(server.config_path(), "{ not json").expect("write");
    let broken = events
        .next_matching(|kind, _| kind == "config.invalid")
        .await;
    assert!(
        broken["payload"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a valid configuration")),
        "{broken}"
    );

    // Fixing the file clears the problem; removing b stops only b.
    doc["mcpServers"] = json!([fixture_server("a")]);
    let fixed = edit_and_wait(&server, &mut events, &doc).await;
    assert_eq!(fixed["payload"]["changed_fields"], json!(["mcpServers"]));
    eventually(Duration::from_secs(10), "config issue cleared", || async {
        let d = diagnostics(&server).await;
        (!categories(&d).contains(&"config".to_string())).then_some(())
    })
    .await;

    // The proxy's own write (via the API) is not reloaded from the file.
    server.client().server_disable("a").await.expect("disable");
    server.client().server_enable("a").await.expect("enable");
    wait_connected(&server, "a").await;
    let reloads = server
        .stderr_text()
        .matches("configuration reloaded from file")
        .count();
    assert!(
        reloads <= 2,
        "only the two file edits were reloads: {reloads}"
    );
    server.stop().await;
}

/// A one-route HTTP server playing the GitHub releases API: every request gets `body` with
/// `status`.
async fn releases_server(status: u16, body: Value) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.to_string();
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let _ = socket.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn update_of(server: &TestServer) -> types::UpdateInfo {
    eventually(Duration::from_secs(15), "an update check", || async {
        server
            .client()
            .info_get()
            .await
            .expect("info")
            .into_inner()
            .data
            .update
    })
    .await
}

#[tokio::test]
async fn test_info_shows_the_update_check_against_a_local_releases_server() {
    let base = releases_server(
        200,
        json!({"tag_name": "v99.1.0", "html_url": "https://example.test/releases/v99.1.0", "prerelease": false}),
    )
    .await;
    let env = [
        ("MCPPROXY_DISABLE_AUTO_UPDATE", "false"),
        ("MCPPROXY_UPDATE_API_BASE", base.as_str()),
        ("MCPPROXY_UPDATE_REPO", "example/mcpproxy-rs"),
    ];
    let server = TestServer::start_with(config_with(json!([])), &env).await;
    let update = update_of(&server).await;
    assert!(update.available);
    assert_eq!(update.latest_version.as_deref(), Some("v99.1.0"));
    assert_eq!(
        update.release_url.as_deref(),
        Some("https://example.test/releases/v99.1.0")
    );
    assert_eq!(update.is_prerelease, Some(false));
    assert!(update.checked_at.is_some() && update.check_error.is_none());
    server.stop().await;

    // Unreachable: never fails start-up, says why in check_error.
    let closed_port = ClosedPort::new();
    let closed = closed_port.url();
    let env = [
        ("MCPPROXY_DISABLE_AUTO_UPDATE", "false"),
        ("MCPPROXY_UPDATE_API_BASE", closed.as_str()),
        ("MCPPROXY_UPDATE_REPO", "example/mcpproxy-rs"),
    ];
    let server = TestServer::start_with(config_with(json!([])), &env).await;
    let update = update_of(&server).await;
    assert!(!update.available);
    assert!(
        update
            .check_error
            .as_deref()
            .is_some_and(|e| e.contains("GitHub API request failed")),
        "{update:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_info_update_is_null_when_the_check_is_off() {
    let server = TestServer::start(config_with(json!([]))).await;
    let info = server.client().info_get().await.expect("info").into_inner();
    assert!(info.data.update.is_none());
    server.stop().await;
}

#[tokio::test]
async fn test_diagnostics_list_missing_secrets_upstream_errors_and_quarantine() {
    let mut needs = fixture_server("needs-secret");
    needs["env"] = json!({"TOKEN": "${keyring:diag-absent-secret}"});
    let server = TestServer::start(config_with(json!([
        needs,
        {"name": "broken", "command": "/nonexistent/mcpproxy-test-server", "enabled": true},
        {"name": "held", "command": "true", "enabled": true, "quarantined": true},
    ])))
    .await;
    let report = eventually(
        Duration::from_secs(15),
        "the broken server's error",
        || async {
            let d = diagnostics(&server).await;
            (!d.upstream_errors.is_empty()).then_some(d)
        },
    )
    .await;
    assert_eq!(report.upstream_errors[0].server_name, "broken");
    assert!(
        report.upstream_errors[0]
            .error_message
            .contains("cannot start"),
        "{:?}",
        report.upstream_errors
    );
    assert_eq!(report.missing_secrets.len(), 1);
    assert_eq!(report.missing_secrets[0].secret_name, "diag-absent-secret");
    assert_eq!(report.missing_secrets[0].type_, "keyring");
    assert_eq!(report.missing_secrets[0].used_by, ["needs-secret"]);
    let mut cats = categories(&report);
    cats.sort();
    assert_eq!(cats, ["missing_secret", "quarantined", "upstream_error"]);
    assert_eq!(report.total_issues, 3);
    assert!(report.docker_status.is_none(), "isolation is off");
    for issue in &report.issues {
        assert!(
            !issue.message.is_empty() && !issue.action.is_empty(),
            "{issue:?}"
        );
    }
    let doctor = server
        .client()
        .doctor_get()
        .await
        .expect("doctor")
        .into_inner()
        .data;
    assert_eq!(categories(&doctor), categories(&report));

    // The held server is an error with the missing secret as its health, never started.
    let held = server_view(&server, "needs-secret").await;
    assert_eq!(held.status, "error");
    assert_eq!(held.health.summary, "Missing secret: diag-absent-secret");
    assert_eq!(held.health.action, "set_secret");
    assert!(!held.connected);
    assert!(
        server_log(&server, "needs-secret")
            .await
            .iter()
            .all(|l| !l.starts_with("started `")),
        "never spawned with the placeholder"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_docker_isolation_runs_stdio_servers_through_the_docker_client() {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("tempdir"));
    let (bin, record) = stand_in_docker(dir.path());
    let mut boxed = fixture_server("boxed");
    boxed["env"] = json!({"GREETING": "hello from the box"});
    let mut config = config_with(json!([boxed]));
    config["docker_isolation"] = json!({"enabled": true, "memory_limit": "256m"});
    write_config(&dir.path().join("mcp_config.json"), &config);
    let bin_text = bin.display().to_string();
    let server =
        TestServer::start_in(dir.clone(), &[("MCPPROXY_DOCKER_BIN", bin_text.as_str())]).await;
    wait_connected(&server, "boxed").await;

    let run = docker_calls(&record)
        .into_iter()
        .find(|c| c.first().map(String::as_str) == Some("run"))
        .expect("a docker run");
    assert_eq!(run[..3], ["run", "--rm", "-i"]);
    let name = run
        .windows(2)
        .find(|w| w[0] == "--name")
        .map(|w| w[1].clone())
        .expect("--name");
    assert!(name.starts_with("mcpproxy-boxed-"), "{name}");
    assert!(run.windows(2).any(|w| w == ["--memory", "256m"]));
    assert!(
        run.windows(2)
            .any(|w| w == ["-e", "GREETING=hello from the box"])
    );
    assert!(
        run.windows(2)
            .any(|w| w == ["--label", "mcpproxy.server=boxed"])
    );
    let fixture = fixture_bin().display().to_string();
    assert!(
        run.ends_with(&["alpine:3.18".to_string(), fixture, "stdio".to_string()]),
        "{run:?}"
    );

    let status = server
        .client()
        .docker_status()
        .await
        .expect("docker status")
        .into_inner()
        .data;
    assert!(status.isolation_enabled && status.docker_available);
    assert_eq!(status.version.as_deref(), Some("27.0.1-standin"));
    assert!(!status.recovery_mode);
    assert_eq!(status.failure_count, 0);
    let report = diagnostics(&server).await;
    assert_eq!(
        report.docker_status.as_ref().map(|d| d.available),
        Some(true)
    );
    assert!(report.issues.is_empty(), "{:?}", report.issues);

    // Stopping the server removes its container.
    server
        .client()
        .server_disable("boxed")
        .await
        .expect("disable");
    eventually(Duration::from_secs(15), "docker rm -f", || async {
        docker_calls(&record)
            .iter()
            .any(|c| *c == ["rm", "-f", name.as_str()])
            .then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn test_docker_unavailable_is_reported_for_real() {
    // The machine's own docker client (no engine runs here), or none at all.
    let mut boxed = fixture_server("boxed");
    boxed["env"] = json!({"A": "b"});
    let mut config = config_with(json!([boxed]));
    config["docker_isolation"] = json!({"enabled": true});
    let server = TestServer::start(config).await;
    let status = server
        .client()
        .docker_status()
        .await
        .expect("docker status")
        .into_inner()
        .data;
    assert!(status.isolation_enabled);
    assert!(!status.docker_available, "{status:?}");
    assert!(status.recovery_mode);
    assert!(status.failure_count >= 1);
    assert!(status.last_error.as_deref().is_some_and(|e| !e.is_empty()));
    assert!(status.last_attempt.is_some() && status.last_successful_at.is_none());

    let report = diagnostics(&server).await;
    assert_eq!(
        report.docker_status.as_ref().map(|d| d.available),
        Some(false)
    );
    let docker = report
        .issues
        .iter()
        .find(|i| i.category == types::DiagnosticCategory::Docker)
        .expect("docker issue");
    assert!(
        docker.message.contains("Docker is unavailable"),
        "{docker:?}"
    );
    // The isolated server cannot start without Docker.
    eventually(Duration::from_secs(15), "boxed fails", || async {
        let view = server_view(&server, "boxed").await;
        (view.status == "error").then_some(())
    })
    .await;
    server.stop().await;
}
