//! Optional authentication on `/mcp` and agent tokens (issue §3, last bullet): a token sees
//! and calls only its servers' tools up to its tier, revoked and expired tokens are refused,
//! a session keeps the credential that opened it, `require_mcp_auth` demands a credential,
//! every recorded call names its token, and the secret is never stored or listed in clear.

use std::time::Duration;

use mcpproxy_client::types;
use rmcp::ServiceExt;
use rmcp::model::CallToolResult;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::common::*;

type McpClient = rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>;

/// Create a token through the API; returns its secret.
async fn create_token(
    server: &TestServer,
    name: &str,
    servers: Option<&[&str]>,
    permissions: &[types::TokenPermission],
    expires_in: Option<&str>,
) -> String {
    let created = server
        .client()
        .token_create(&types::TokenCreateRequest {
            name: name.into(),
            allowed_servers: servers.map(|s| s.iter().map(|s| s.to_string()).collect()),
            permissions: Some(permissions.to_vec()),
            expires_in: expires_in.map(str::to_string),
        })
        .await
        .expect("token created");
    assert_eq!(created.status().as_u16(), 201);
    let token = created.into_inner().data.token;
    assert!(
        token.starts_with("mcp_agt_") && token.len() == 72,
        "{token}"
    );
    token
}

/// An rmcp client session on `/mcp` sending `Authorization: Bearer <secret>`.
async fn mcp_with(server: &TestServer, secret: &str) -> McpClient {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.url()))
        .auth_header(secret.to_string());
    let info = rmcp::model::ClientConfig::new(
        rmcp::model::ClientCapabilities::default(),
        rmcp::model::Implementation::new("token-agent", "1.0"),
    );
    info.serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("MCP session with a token")
}

fn parsed(result: &CallToolResult) -> Value {
    serde_json::from_str(&text_of(result)).expect("JSON text content")
}

fn refused(result: &CallToolResult, says: &str) {
    assert_eq!(result.is_error, Some(true), "{}", text_of(result));
    assert!(text_of(result).contains(says), "{}", text_of(result));
}

/// One raw POST to `/mcp`: (status, headers, body).
async fn post(
    server: &TestServer,
    session: Option<&str>,
    credential: &[(&str, &str)],
    body: Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = raw()
        .post(format!("{}/mcp", server.url()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-06-18");
    }
    for (k, v) in credential {
        req = req.header(*k, *v);
    }
    let resp = req.json(&body).send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

fn tools_list(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}

/// Initialize with `credential`; the session id.
async fn open_session(server: &TestServer, credential: &[(&str, &str)]) -> String {
    let (status, headers, body) = post(server, None, credential, initialize()).await;
    assert_eq!(status, 200, "initialize: {body}");
    let sid = headers["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let (status, _, body) = post(
        server,
        Some(&sid),
        credential,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert!(status < 300, "initialized: {status} {body}");
    sid
}

/// A 401 in the error envelope with `WWW-Authenticate: Bearer`.
fn assert_unauthorized(status: u16, headers: &reqwest::header::HeaderMap, body: &str, says: &str) {
    assert_eq!(status, 401, "{body}");
    let challenge = headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{challenge:?}");
    let envelope: Value = serde_json::from_str(body).expect("JSON error envelope");
    assert_eq!(envelope["success"], false);
    assert_eq!(envelope["code"], "UNAUTHORIZED");
    assert!(
        envelope["error"].as_str().is_some_and(|e| e.contains(says)),
        "{envelope}"
    );
}

#[tokio::test]
async fn a_read_token_for_one_server_sees_and_calls_only_that() {
    let server = TestServer::start(config_with(json!([
        fixture_server("alpha"),
        fixture_server("beta")
    ])))
    .await;
    wait_ready(&server, "alpha").await;
    wait_ready(&server, "beta").await;
    let secret = create_token(
        &server,
        "reader",
        Some(&["alpha"]),
        &[types::TokenPermission::Read],
        None,
    )
    .await;
    let agent = mcp_with(&server, &secret).await;

    // tools/list: no management tools, no call variants above the tier.
    let listed = agent.list_tools(None).await.expect("tools/list");
    let names: Vec<&str> = listed.tools.iter().map(|t| t.name.as_ref()).collect();
    for shown in [
        "retrieve_tools",
        "describe_tool",
        "call_tool",
        "call_tool_read",
        "read_cache",
    ] {
        assert!(names.contains(&shown), "{shown} missing from {names:?}");
    }
    for hidden in [
        "call_tool_write",
        "call_tool_destructive",
        "upstream_servers",
        "quarantine_security",
    ] {
        assert!(!names.contains(&hidden), "{hidden} offered: {names:?}");
    }

    // retrieve_tools and describe_tool: alpha's tools only.
    let found = parsed(
        &mcp_call(
            &agent,
            "retrieve_tools",
            json!({"query": "echo a message", "limit": 50}),
        )
        .await,
    );
    let servers: Vec<&str> = found["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["server"].as_str())
        .collect();
    assert!(servers.contains(&"alpha"), "{found}");
    assert!(servers.iter().all(|s| *s == "alpha"), "{found}");
    let described = parsed(
        &mcp_call(
            &agent,
            "describe_tool",
            json!({"names": ["alpha:echo", "beta:echo"]}),
        )
        .await,
    );
    assert_eq!(described["tools"][0]["name"], "alpha:echo", "{described}");
    assert_eq!(described["not_found"], json!(["beta:echo"]));

    // Calls: the tier and the server list are enforced.
    let echoed = mcp_call(
        &agent,
        "call_tool_read",
        json!({"name": "alpha:echo", "args": {"message": "hi"}}),
    )
    .await;
    assert_eq!(text_of(&echoed), "Echo: hi");
    assert_ne!(echoed.is_error, Some(true));
    refused(
        &mcp_call(
            &agent,
            "call_tool_read",
            json!({"name": "beta:echo", "args": {"message": "hi"}}),
        )
        .await,
        "not in scope for agent token 'reader'",
    );
    refused(
        &mcp_call(
            &agent,
            "call_tool_write",
            json!({"name": "alpha:echo", "args": {"message": "hi"}}),
        )
        .await,
        "needs the write tier",
    );
    // A tool without annotations writes: call_tool (and call_tool_read) cannot reach it.
    for variant in ["call_tool", "call_tool_read"] {
        refused(
            &mcp_call(
                &agent,
                variant,
                json!({"name": "alpha:slow", "args": {"ms": 1}}),
            )
            .await,
            "needs the write tier",
        );
    }
    let legacy = mcp_call(
        &agent,
        "call_tool",
        json!({"name": "alpha:add", "args_json": "{\"a\":1,\"b\":2}"}),
    )
    .await;
    assert_ne!(legacy.is_error, Some(true), "{}", text_of(&legacy));
    refused(
        &mcp_call(&agent, "upstream_servers", json!({"operation": "list"})).await,
        "not available to agent tokens",
    );
    // The same limits on rmcp's own path (a call asking for progress leaves the JSON fast
    // path) and on sessionless 2026-07-28 requests, which carry only their own credential.
    let bearer = format!("Bearer {secret}");
    let sid = open_session(&server, &[("authorization", bearer.as_str())]).await;
    let beta_call = |meta: Value| {
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "call_tool_read", "arguments": {"name": "beta:echo", "args": {"message": "x"}},
            "_meta": meta}})
    };
    let (status, _, body) = post(
        &server,
        Some(&sid),
        &[("authorization", bearer.as_str())],
        beta_call(json!({"progressToken": 1})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("not in scope"), "{body}");
    let stateless = raw()
        .post(format!("{}/mcp", server.url()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "call_tool_read")
        .header("authorization", bearer.as_str())
        .json(&beta_call(json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "stateless", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}
        })))
        .send()
        .await
        .expect("stateless call");
    let body = stateless.text().await.expect("body");
    assert!(
        body.contains("not in scope") && !body.contains("Echo: x"),
        "{body}"
    );

    // Every recorded call names the token; the session too.
    let calls = server
        .client()
        .tool_call_list(Some(100), None, None)
        .await
        .expect("history")
        .into_inner()
        .data
        .tool_calls;
    let echo = calls
        .iter()
        .find(|c| c.server_name == "alpha" && c.tool_name == "echo" && !c.is_error)
        .expect("the echo call is recorded");
    assert_eq!(echo.token_name.as_deref(), Some("reader"));
    let out_of_scope = calls
        .iter()
        .find(|c| c.server_name == "beta")
        .expect("the refused call to beta is recorded");
    assert!(out_of_scope.is_error);
    assert_eq!(out_of_scope.token_name.as_deref(), Some("reader"));
    let session_id = echo.mcp_session_id.clone().expect("session id");
    let session = server
        .client()
        .session_get(&session_id)
        .await
        .expect("session")
        .into_inner()
        .data
        .session;
    assert_eq!(session.token_name.as_deref(), Some("reader"));
    agent.cancel().await.expect("close");

    // Without a token nothing changes: beta and the management tools are there.
    let open = mcp_client(&server).await;
    let echoed = mcp_call(
        &open,
        "call_tool_read",
        json!({"name": "beta:echo", "args": {"message": "hi"}}),
    )
    .await;
    assert_eq!(text_of(&echoed), "Echo: hi");
    let listed = open.list_tools(None).await.expect("tools/list");
    assert!(listed.tools.iter().any(|t| t.name == "upstream_servers"));
    let calls = server
        .client()
        .tool_call_list(Some(100), None, None)
        .await
        .expect("history")
        .into_inner()
        .data
        .tool_calls;
    assert!(
        calls
            .iter()
            .any(|c| c.server_name == "beta" && !c.is_error && c.token_name.is_none())
    );
    open.cancel().await.expect("close");
    server.stop().await;
}

/// `credential` is refused with 401 saying `says`, on its session `sid` and for a new one.
async fn refused_everywhere(
    server: &TestServer,
    sid: &str,
    credential: &[(&str, &str)],
    says: &str,
) {
    let (status, headers, body) = post(server, Some(sid), credential, tools_list(7)).await;
    assert_unauthorized(status, &headers, &body, says);
    let (status, headers, body) = post(server, None, credential, initialize()).await;
    assert_unauthorized(status, &headers, &body, says);
}

/// `GET /api/v1/tokens/{name}`.
async fn token_info(server: &TestServer, name: &str) -> types::TokenInfo {
    server
        .client()
        .token_get(name)
        .await
        .expect("get")
        .into_inner()
        .data
}

#[tokio::test]
async fn wrong_revoked_and_expired_credentials_are_refused_and_sessions_keep_theirs() {
    let server = TestServer::start(config_with(json!([]))).await;
    let secret = create_token(&server, "t1", None, &[types::TokenPermission::Read], None).await;
    let bearer = format!("Bearer {secret}");
    let with_token = [("authorization", bearer.as_str())];
    let sid = open_session(&server, &with_token).await;
    let (status, _, body) = post(&server, Some(&sid), &with_token, tools_list(2)).await;
    assert_eq!(status, 200, "{body}");

    // The session id alone, or with another credential, is not enough.
    let (status, headers, body) = post(&server, Some(&sid), &[], tools_list(3)).await;
    assert_unauthorized(status, &headers, &body, "different credential");
    let (status, headers, body) =
        post(&server, Some(&sid), &[("x-api-key", KEY)], tools_list(4)).await;
    assert_unauthorized(status, &headers, &body, "different credential");
    let other = create_token(&server, "t2", None, &[types::TokenPermission::Read], None).await;
    let other_bearer = format!("Bearer {other}");
    let (status, headers, body) = post(
        &server,
        Some(&sid),
        &[("authorization", other_bearer.as_str())],
        tools_list(5),
    )
    .await;
    assert_unauthorized(status, &headers, &body, "different credential");
    let (status, _, _) = post(&server, Some("no-such-session"), &with_token, tools_list(6)).await;
    assert_eq!(status, 404);

    // A presented but wrong credential is refused even though none is required.
    let forged = format!("Bearer mcp_agt_{}", "0".repeat(64));
    let (status, headers, body) = post(
        &server,
        None,
        &[("authorization", forged.as_str())],
        initialize(),
    )
    .await;
    assert_unauthorized(status, &headers, &body, "unknown token");
    let (status, headers, body) =
        post(&server, None, &[("x-api-key", "not-the-key")], initialize()).await;
    assert_unauthorized(status, &headers, &body, "Invalid API key");

    // Revoked: the open session and new sessions are refused at once.
    let revoked = server.client().token_revoke("t1").await.expect("revoke");
    assert_eq!(revoked.status().as_u16(), 204);
    refused_everywhere(&server, &sid, &with_token, "revoked").await;
    let gone = server
        .client()
        .token_get("t1")
        .await
        .expect_err("no longer listed");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
    assert!(
        server
            .client()
            .token_list()
            .await
            .expect("list")
            .into_inner()
            .data
            .tokens
            .iter()
            .all(|t| t.name != "t1")
    );

    // Expired.
    let short = create_token(
        &server,
        "short",
        None,
        &[types::TokenPermission::Read],
        Some("2s"),
    )
    .await;
    let short_bearer = format!("Bearer {short}");
    let with_short = [("authorization", short_bearer.as_str())];
    let short_sid = open_session(&server, &with_short).await;
    {
        let server = &server;
        poll(
            Duration::from_secs(10),
            "the short token to expire",
            || async move { token_info(server, "short").await.expired.then_some(()) },
        )
        .await;
    }
    refused_everywhere(&server, &short_sid, &with_short, "expired").await;
    let listed = token_info(&server, "short").await;
    assert!(listed.expired);

    // The API refuses bad requests with clear 4xx.
    let client = server.client();
    fn status_of<T>(r: Result<T, mcpproxy_client::Error<types::ErrorResponse>>) -> u16 {
        match r {
            Ok(_) => 200,
            Err(mcpproxy_client::Error::ErrorResponse(e)) => e.status().as_u16(),
            Err(other) => panic!("{other}"),
        }
    }
    let request = |name: &str, servers: Option<Vec<String>>, perms, expires: Option<&str>| {
        types::TokenCreateRequest {
            name: name.into(),
            allowed_servers: servers,
            permissions: perms,
            expires_in: expires.map(str::to_string),
        }
    };
    assert_eq!(
        status_of(client.token_create(&request("t2", None, None, None)).await),
        409,
        "a live token's name"
    );
    assert_eq!(
        status_of(
            client
                .token_create(&request("x", Some(vec!["nope".into()]), None, None))
                .await
        ),
        400
    );
    assert_eq!(
        status_of(
            client
                .token_create(&request("x", None, None, Some("400d")))
                .await
        ),
        400
    );
    assert_eq!(
        status_of(
            client
                .token_create(&request("bad\nname", None, None, None))
                .await
        ),
        400
    );
    // The highest tier listed is the token's; a tier includes those below it.
    let top = client
        .token_create(&request(
            "top",
            None,
            Some(vec![types::TokenPermission::Destructive]),
            None,
        ))
        .await
        .expect("create")
        .into_inner()
        .data;
    assert_eq!(
        top.permissions,
        vec![
            types::TokenPermission::Read,
            types::TokenPermission::Write,
            types::TokenPermission::Destructive
        ]
    );
    assert_eq!(status_of(client.token_revoke("nope").await), 404);
    assert_eq!(
        status_of(client.token_revoke("t1").await),
        404,
        "already revoked"
    );
    // A revoked token's name can be used again, for a new secret.
    let again = create_token(&server, "t1", None, &[types::TokenPermission::Read], None).await;
    assert_ne!(again, secret);
    let (status, headers, body) = post(&server, None, &with_token, initialize()).await;
    assert_unauthorized(status, &headers, &body, "unknown token");
    server.stop().await;
}

#[tokio::test]
async fn require_mcp_auth_refuses_requests_without_a_credential() {
    let mut config = config_with(json!([fixture_server("fx")]));
    config["require_mcp_auth"] = json!(true);
    let server = TestServer::start(config).await;
    wait_ready(&server, "fx").await;
    let (status, headers, body) = post(&server, None, &[], initialize()).await;
    assert_unauthorized(status, &headers, &body, "Authentication required");

    // The API key, as X-API-Key or as a bearer token, opens a session with full rights.
    let bearer = format!("Bearer {KEY}");
    for credential in [("x-api-key", KEY), ("authorization", bearer.as_str())] {
        let sid = open_session(&server, &[credential]).await;
        let (status, _, body) = post(
            &server,
            Some(&sid),
            &[credential],
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "upstream_servers", "arguments": {"operation": "list"}}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("fx") && !body.contains("isError\":true"),
            "{body}"
        );
        let (status, headers, body) = post(&server, Some(&sid), &[], tools_list(3)).await;
        assert_unauthorized(status, &headers, &body, "Authentication required");
    }

    // Over the owner's unix socket no credential is needed (the OS vouches).
    let socket = reqwest::Client::builder()
        .unix_socket(server.socket_path())
        .build()
        .expect("socket client");
    let over_socket = socket
        .post("http://localhost/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .json(&initialize())
        .send()
        .await
        .expect("initialize over the socket");
    assert_eq!(over_socket.status(), 200);

    // An agent token works too, within its grant.
    let secret = create_token(
        &server,
        "agent",
        None,
        &[types::TokenPermission::Read],
        None,
    )
    .await;
    let agent = mcp_with(&server, &secret).await;
    let echoed = mcp_call(
        &agent,
        "call_tool_read",
        json!({"name": "fx:echo", "args": {"message": "ok"}}),
    )
    .await;
    assert_eq!(text_of(&echoed), "Echo: ok");
    agent.cancel().await.expect("close");
    server.stop().await;
}

/// Every file under `dir`, read whole.
fn all_bytes(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            all_bytes(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
}

#[tokio::test]
async fn the_secret_is_shown_once_and_never_kept_in_clear() {
    let server = TestServer::start(config_with(json!([]))).await;
    let data = server.dir.path().join("data").display().to_string();
    // Created with the CLI (over the unix socket): the secret is stdout's only line.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
        .args([
            "--data-dir",
            &data,
            "token",
            "create",
            "cli-agent",
            "--tier",
            "write",
            "--expires-in",
            "7d",
        ])
        .env_remove("MCPPROXY_API_KEY")
        .output()
        .await
        .expect("cli");
    assert!(out.status.success(), "{out:?}");
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        secret.starts_with("mcp_agt_") && secret.len() == 72,
        "{secret}"
    );
    let agent = mcp_with(&server, &secret).await;
    agent.list_tools(None).await.expect("the token works");
    agent.cancel().await.expect("close");

    // Listing (API and CLI) shows the prefix, never the secret or its hash.
    let listed = raw()
        .get(format!("{}/api/v1/tokens", server.url()))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("body");
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    assert!(
        listed.contains("cli-agent") && listed.contains(&secret[..12]),
        "{listed}"
    );
    assert!(
        !listed.contains(&secret[12..]) && !listed.contains(&hash),
        "{listed}"
    );
    assert!(
        listed.contains("\"permissions\":[\"read\",\"write\"]"),
        "{listed}"
    );
    assert!(
        listed.contains("\"last_used_at\":\""),
        "use is noted: {listed}"
    );
    let table = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
        .args(["--data-dir", &data, "token", "list"])
        .output()
        .await
        .expect("cli");
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains("cli-agent") && table.contains("active"),
        "{table}"
    );
    assert!(!table.contains(&secret[12..]), "{table}");
    let revoke = tokio::process::Command::new(env!("CARGO_BIN_EXE_mcpproxy"))
        .args(["--data-dir", &data, "token", "revoke", "cli-agent"])
        .output()
        .await
        .expect("cli");
    assert!(revoke.status.success(), "{revoke:?}");

    // Nothing in the data dir or the config holds the secret once the proxy has stopped.
    let dir = server.dir.clone();
    server.stop().await;
    let mut files = Vec::new();
    all_bytes(dir.path(), &mut files);
    assert!(files.iter().any(|(p, _)| p.ends_with("mcpproxy.db")));
    for (path, bytes) in &files {
        let found = bytes
            .windows(secret.len() - 12)
            .any(|w| w == &secret.as_bytes()[12..]);
        assert!(!found, "the secret is in {}", path.display());
    }
    assert!(
        files
            .iter()
            .any(|(_, b)| b.windows(hash.len()).any(|w| w == hash.as_bytes())),
        "the database keeps the hash"
    );
}
