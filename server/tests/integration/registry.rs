//! Registries against a local HTTP server that plays the official MCP Registry API
//! (`GET /v0/servers?search=&limit=`): list from the config, search (REST through the
//! generated client, and `mcpproxy registry search`), and adding a listed server, which lands
//! quarantined. No internet.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::cli;
use crate::common::*;

/// What the registry lists (the MCP Registry API's answer shape).
fn listing() -> Value {
    json!({
        "servers": [
            {"server": {"name": "io.github.acme/weather", "description": "Weather forecasts for any city", "version": "1.2.0",
                        "packages": [{"registryType": "npm", "identifier": "@acme/weather-mcp", "version": "1.2.0"}]},
             "_meta": {"tags": ["weather", "api"]}},
            {"server": {"name": "com.example/notes", "description": "Take notes", "version": "0.3.1",
                        "remotes": [{"type": "streamable-http", "url": "https://notes.example.com/mcp"}]},
             "_meta": {"tags": ["productivity"]}},
            {"server": {"name": "org.py/search", "description": "Web search", "packages": [{"registryType": "pypi", "identifier": "py-search-mcp"}]}}
        ],
        "metadata": {"count": 3}
    })
}

/// A local registry: answers every GET with `body` (status `status`) and records the
/// request lines.
async fn registry_server(status: u16, body: Value) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.to_string();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf);
                if let Ok(mut l) = log.lock() {
                    l.push(text.lines().next().unwrap_or_default().to_string());
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/v0/servers"), seen)
}

#[tokio::test]
async fn test_registries_list_search_and_add_quarantined() {
    let (servers_url, seen) = registry_server(200, listing()).await;
    let (broken_url, _) = registry_server(500, json!({"error": "down"})).await;
    let mut config = config_with(json!([]));
    config["registries"] = json!([
        {"id": "local", "name": "Local registry", "description": "plays the MCP Registry API",
         "url": "https://registry.example", "servers_url": servers_url, "tags": ["test"], "protocol": "mcp/v0", "count": 3},
        {"id": "down", "name": "Broken", "servers_url": broken_url, "protocol": "mcp/v0"}
    ]);
    let server = TestServer::start(config).await;
    let client = server.client();

    let list = client.registry_list().await.expect("list").into_inner();
    assert_eq!(list.data.total, 2);
    assert_eq!(list.data.registries[0].id, "local");
    assert_eq!(list.data.registries[0].protocol, "mcp/v0");
    assert!(
        seen.lock().expect("seen").is_empty(),
        "listing contacts no registry"
    );

    let found = client
        .registry_servers("local", Some(10), Some("weather"), None)
        .await
        .expect("search")
        .into_inner()
        .data;
    assert_eq!(found.total, 1);
    let weather = &found.servers[0];
    assert_eq!(
        (weather.id.as_str(), weather.name.as_str()),
        ("io.github.acme/weather", "weather")
    );
    assert_eq!(weather.command.as_deref(), Some("npx"));
    assert_eq!(weather.args, ["-y", "@acme/weather-mcp"]);
    let request = seen
        .lock()
        .expect("seen")
        .last()
        .cloned()
        .unwrap_or_default();
    assert!(
        request.starts_with("GET /v0/servers?")
            && request.contains("search=weather")
            && request.contains("limit=10"),
        "{request}"
    );
    let tagged = client
        .registry_servers("local", None, None, Some("productivity"))
        .await
        .expect("tag")
        .into_inner()
        .data;
    assert_eq!(tagged.servers.len(), 1);
    assert_eq!(
        tagged.servers[0].url.as_deref(),
        Some("https://notes.example.com/mcp")
    );
    assert_eq!(tagged.servers[0].protocol.as_deref(), Some("http"));

    // Unknown registry 404; a registry that fails 502; both in the error envelope.
    for (id, status) in [("nope", 404), ("down", 502)] {
        match client.registry_servers(id, None, None, None).await {
            Err(mcpproxy_client::Error::ErrorResponse(r)) => {
                assert_eq!(r.status().as_u16(), status, "{id}");
                assert!(!r.into_inner().success);
            }
            other => panic!("{id}: expected {status}, got {other:?}"),
        }
    }

    // Adding a listed server lands it quarantined.
    let added = client
        .registry_server_add("local", "io.github.acme/weather")
        .await
        .expect("add")
        .into_inner();
    assert!(added.data.quarantined && !added.async_);
    let view = server_view(&server, "weather").await;
    assert!(view.quarantined && !view.connected);
    match client.registry_server_add("local", "weather").await {
        Err(mcpproxy_client::Error::ErrorResponse(r)) => assert_eq!(r.status().as_u16(), 409),
        other => panic!("expected 409, got {other:?}"),
    }

    // The CLI: list, search, add.
    let data = server.dir.path().join("data").display().to_string();
    let (code, out, err) = cli(&["--data-dir", &data, "registry", "list"], None).await;
    assert!(
        code == 0 && out.contains("local") && out.contains("Broken"),
        "{out} {err}"
    );
    let (code, out, err) = cli(
        &[
            "--data-dir",
            &data,
            "-o",
            "json",
            "registry",
            "search",
            "local",
            "search",
        ],
        None,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let searched: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(searched["data"]["servers"][0]["command"], "uvx");
    let (code, out, err) = cli(
        &["--data-dir", &data, "registry", "add", "local", "notes"],
        None,
    )
    .await;
    assert!(code == 0 && out.contains("quarantined"), "{out} {err}");
    let notes = server_view(&server, "notes").await;
    assert!(notes.quarantined);
    assert_eq!(notes.url.as_deref(), Some("https://notes.example.com/mcp"));
}
