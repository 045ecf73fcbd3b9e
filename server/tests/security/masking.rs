//! Secrets never leave in the clear (issue 11 §4): every view of the configuration — REST
//! config, servers, diagnostics, logs, and the agents' MCP management tools — is searched raw
//! for each secret of a configuration holding them in every field; references and plain
//! arguments stay readable. A masked document applied back never puts a mask on disk.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// What every masked value shows (the server's `config::MASK`).
const MASK: &str = "********";

/// Every secret of [`config`], as substrings no response body may contain.
const SECRETS: [&str; 10] = [
    "hunter2",
    "s3cret",
    "x=1",
    "AKIA123456",
    "pw123456",
    "u:p@h",
    "T000/B000/XXXX",
    "Bearer abc",
    "ghp_agent_value",
    KEY,
];

/// A port nothing listens on (held closed for the test's length), so `web` fails (and its
/// error may quote its URL).
fn closed_port() -> ClosedPort {
    ClosedPort::new()
}

fn web_url(port: u16) -> String {
    format!("https://user:hunter2@127.0.0.1:{port}/path?key=s3cret&x=1")
}

fn config(port: u16) -> Value {
    let mut config = config_with(json!([
        {"name": "web", "url": web_url(port), "enabled": true,
         "headers": {"Authorization": "Bearer abc", "X-Custom": "v"}},
        {"name": "cli", "command": "true", "enabled": true, "quarantined": true,
         "args": ["--api-key", "AKIA123456", "--password=pw123456", "--port", "8080"],
         "env": {"DATABASE_URL": "postgres://u:p@h/db",
                 "SLACK_WEBHOOK": "https://hooks.slack.com/services/T000/B000/XXXX",
                 "PASS": "hunter2", "REF": "${env:HOME}"}},
        {"name": "webq", "url": web_url(port), "enabled": true, "quarantined": true,
         "headers": {"Authorization": "Bearer abc"}}
    ]));
    config["environment"] = json!({"custom_vars": {"AGENT_TOKEN": "ghp_agent_value"}});
    config
}

fn assert_clean(what: &str, body: &str) {
    for secret in SECRETS {
        assert!(
            !body.contains(secret),
            "{what} shows the secret {secret:?}:\n{body}"
        );
    }
}

async fn rest(server: &TestServer, path: &str) -> String {
    let response = raw()
        .get(format!("{}{path}", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.text().await.expect("body")
}

async fn rest_post(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let response = raw()
        .post(format!("{}{path}", server.url()))
        .header("X-API-Key", KEY)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

async fn masked_config(server: &TestServer) -> Value {
    let view: Value = serde_json::from_str(&rest(server, "/api/v1/config").await).expect("json");
    view["data"]["config"].clone()
}

fn disk_has_no_mask(server: &TestServer) {
    let text = std::fs::read_to_string(server.config_path()).expect("config file");
    assert!(!text.contains(MASK), "a mask reached the file:\n{text}");
}

#[tokio::test]
async fn every_view_masks_every_secret_and_keeps_references_readable() {
    let closed = closed_port();
    let server = TestServer::start(config(closed.port)).await;
    // `web` fails to connect; its error is part of every view below.
    eventually(Duration::from_secs(20), "web failed", || async {
        let body: Value = serde_json::from_str(&rest(&server, "/api/v1/servers").await).ok()?;
        body["data"]["servers"]
            .as_array()?
            .iter()
            .any(|s| s["name"] == "web" && s["last_error"].is_string())
            .then_some(())
    })
    .await;

    let config_body = rest(&server, "/api/v1/config").await;
    assert_clean("GET /api/v1/config", &config_body);
    let view: Value = serde_json::from_str(&config_body).expect("json");
    let servers = &view["data"]["config"]["mcpServers"];
    let port = servers[0]["url"]
        .as_str()
        .and_then(|u| u.split("127.0.0.1:").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("url keeps its host and port")
        .to_string();
    assert_eq!(
        servers[0]["url"],
        format!("https://{MASK}:{MASK}@127.0.0.1:{port}/path?key={MASK}&x={MASK}")
    );
    assert_eq!(servers[0]["headers"]["X-Custom"], MASK);
    assert_eq!(servers[0]["headers"]["Authorization"], MASK);
    assert_eq!(
        servers[1]["args"],
        json!([
            "--api-key",
            MASK,
            format!("--password={MASK}"),
            "--port",
            "8080"
        ])
    );
    for name in ["DATABASE_URL", "SLACK_WEBHOOK", "PASS"] {
        assert_eq!(servers[1]["env"][name], MASK, "{name}");
    }
    assert_eq!(
        servers[1]["env"]["REF"], "${env:HOME}",
        "references stay visible"
    );
    assert_eq!(view["data"]["config"]["api_key"], MASK);

    let servers_body = rest(&server, "/api/v1/servers").await;
    assert_clean("GET /api/v1/servers", &servers_body);
    assert!(servers_body.contains("\"8080\""), "{servers_body}");
    for path in [
        "/api/v1/diagnostics",
        "/api/v1/doctor",
        "/api/v1/servers/web/logs?lines=500",
    ] {
        assert_clean(path, &rest(&server, path).await);
    }

    // The live events carry the error of a new attempt.
    let mut events = EventStream::open(&server).await;
    let _ = raw()
        .post(format!("{}/api/v1/servers/web/restart", server.url()))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("restart");
    let failed = events
        .next_matching(|kind, data| {
            kind == "servers.changed"
                && data["payload"]["server"] == "web"
                && data["payload"]["last_error"].is_string()
        })
        .await;
    assert_clean("/events servers.changed", &failed.to_string());

    let mcp = mcp_client(&server).await;
    for (tool, args) in [
        ("upstream_servers", json!({"operation": "list"})),
        (
            "quarantine_security",
            json!({"operation": "list_quarantined"}),
        ),
        (
            "quarantine_security",
            json!({"operation": "inspect_quarantined", "name": "cli"}),
        ),
        (
            "quarantine_security",
            json!({"operation": "inspect_quarantined", "name": "webq"}),
        ),
        (
            "upstream_servers",
            json!({"operation": "tail_log", "name": "web", "lines": 500}),
        ),
    ] {
        let result = mcp_call(&mcp, tool, args.clone()).await;
        let body = serde_json::to_string(&result).expect("json");
        assert_clean(&format!("MCP {tool} {args}"), &body);
    }
    let listed = text_of(&mcp_call(&mcp, "upstream_servers", json!({"operation": "list"})).await);
    assert!(
        listed.contains("--port") && listed.contains("8080"),
        "plain args stay readable: {listed}"
    );
    let _ = mcp.cancel().await;
    server.stop().await;
}

#[tokio::test]
async fn a_masked_config_applied_back_keeps_the_real_secrets_on_disk() {
    let closed = closed_port();
    let server = TestServer::start(config(closed.port)).await;
    let before = server.config_on_disk();

    // Unchanged but for one setting: the secrets on disk are the real ones.
    let mut document = masked_config(&server).await;
    document["tools_limit"] = json!(21);
    let (status, body) = rest_post(&server, "/api/v1/config/apply", &document).await;
    assert_eq!(status, 200, "{body}");
    let on_disk = server.config_on_disk();
    assert_eq!(on_disk["tools_limit"], 21);
    for (i, server) in before["mcpServers"]
        .as_array()
        .expect("servers")
        .iter()
        .enumerate()
    {
        for field in ["name", "url", "args", "env", "headers"] {
            assert_eq!(
                on_disk["mcpServers"][i][field], server[field],
                "{i} {field}"
            );
        }
    }
    assert_eq!(on_disk["api_key"], KEY);
    assert_eq!(
        on_disk["environment"]["custom_vars"],
        before["environment"]["custom_vars"]
    );
    disk_has_no_mask(&server);

    // Renamed in the masked view: the secrets follow the server (same command, url, args).
    let mut renamed = masked_config(&server).await;
    renamed["mcpServers"][1]["name"] = json!("cli-renamed");
    renamed["mcpServers"][0]["name"] = json!("web-renamed");
    let (status, body) = rest_post(&server, "/api/v1/config/apply", &renamed).await;
    assert_eq!(status, 200, "{body}");
    let on_disk = server.config_on_disk();
    assert_eq!(on_disk["mcpServers"][1]["name"], "cli-renamed");
    for (i, field) in [(1, "env"), (1, "args"), (0, "url"), (0, "headers")] {
        assert_eq!(
            on_disk["mcpServers"][i][field], before["mcpServers"][i][field],
            "{i} {field}"
        );
    }
    disk_has_no_mask(&server);
    server.stop().await;
}

#[tokio::test]
async fn a_mask_with_no_real_value_is_refused_naming_the_fields() {
    let closed = closed_port();
    let server = TestServer::start(config(closed.port)).await;
    let before = std::fs::read(server.config_path()).expect("config");

    // Renamed *and* changed: no server of that identity, so its masks resolve to nothing.
    let mut document = masked_config(&server).await;
    document["mcpServers"][1]["name"] = json!("other");
    document["mcpServers"][1]["args"][4] = json!("9090");
    // The same password must not follow the server to another host.
    document["mcpServers"][0]["url"] = json!(format!(
        "https://{MASK}:{MASK}@evil.example/path?key={MASK}&x={MASK}"
    ));
    let (status, body) = rest_post(&server, "/api/v1/config/apply", &document).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["success"], false);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for field in [
        "mcpServers[0].url",
        "mcpServers[1].args[1]",
        "mcpServers[1].args[2]",
        "mcpServers[1].env.DATABASE_URL",
        "mcpServers[1].env.PASS",
        "mcpServers[1].env.SLACK_WEBHOOK",
    ] {
        assert!(fields.contains(&field), "{field} not named: {body}");
    }
    assert!(
        !fields.iter().any(|f| f.contains("REF")),
        "a reference is not a mask: {body}"
    );
    assert_eq!(std::fs::read(server.config_path()).expect("config"), before);

    // validate says the same, and writes nothing.
    let (status, report) = rest_post(&server, "/api/v1/config/validate", &document).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["data"]["valid"], false, "{report}");
    assert!(
        report["data"]["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e["field"] == "mcpServers[1].env.DATABASE_URL"),
        "{report}"
    );

    // An agent passing a mask along: the shown env goes back to the real values, a mask
    // under a new name is refused, and the file never holds a mask.
    let mcp = mcp_client(&server).await;
    let patch_env = |env: Value| {
        let args = json!({"operation": "patch", "name": "cli", "env_json": env.to_string()});
        mcp_call(&mcp, "upstream_servers", args)
    };
    let shown = json!({"DATABASE_URL": MASK, "SLACK_WEBHOOK": MASK, "PASS": MASK,
                       "REF": "${env:HOME}"});
    let result = patch_env(shown).await;
    assert_ne!(result.is_error, Some(true), "{}", text_of(&result));
    let on_disk = server.config_on_disk();
    assert_eq!(on_disk["mcpServers"][1]["env"]["PASS"], "hunter2");
    let result = patch_env(json!({"NEW_SECRET": MASK})).await;
    assert_eq!(result.is_error, Some(true), "{}", text_of(&result));
    let text = text_of(&result);
    assert!(text.contains("mcpServers[1].env.NEW_SECRET"), "{text}");
    disk_has_no_mask(&server);
    let _ = mcp.cancel().await;
    server.stop().await;
}
