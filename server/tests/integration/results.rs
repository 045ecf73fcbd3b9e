//! Results and start-up (issue 12 §4): an over-long plain-text result is cut in the tool's
//! own text and paged back by characters with `read_cache`; a call made right after start
//! waits for its server instead of failing "not connected"; malformed JSON on `/mcp` is a
//! JSON-RPC parse error and DELETE of an unknown session is 404.

use serde_json::{Value, json};

use crate::common::*;

/// The cache key and the offset to go on from, out of a text truncation notice.
fn notice_position(text: &str) -> (String, u64) {
    let rest = text.split("key=\"").nth(1).expect("notice with a key");
    let key = rest.split('"').next().expect("key").to_string();
    let offset = rest
        .split("offset=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|o| o.parse().ok())
        .expect("offset");
    (key, offset)
}

#[tokio::test]
async fn test_plain_text_over_the_limit_is_cut_in_its_own_text_and_paged_back() {
    // fx takes a second to come up; the first call below arrives before it is ready.
    let mut fx = fixture_server("fx");
    fx["args"] = json!(["stdio", "--slow-start-ms", "1000"]);
    let mut config = config_with(json!([fx]));
    config["tool_response_limit"] = json!(1000);
    let server = TestServer::start(config).await;
    let client = mcp_client(&server).await;
    // Lines with multi-byte characters: paging counts characters, never splits one.
    let message: String = (0..600).map(|i| format!("ligne {i} — é\n")).collect();
    let full = format!("Echo: {message}");
    // No wait_ready: the first call right after start waits for fx to come up.
    let cut = mcp_call(
        &client,
        "call_tool_read",
        json!({"name": "fx:echo", "args": {"message": message}}),
    )
    .await;
    assert_ne!(cut.is_error, Some(true), "{:.300}", text_of(&cut));
    assert_eq!(cut.content.len(), 1, "still one text item");
    let shown = text_of(&cut);
    assert!(
        !shown.contains("cache not available") && !shown.starts_with("{\"content\""),
        "the tool's own text is cut, not the JSON of the result: {shown:.300}"
    );
    assert!(shown.contains("truncated by mcpproxy"), "{shown:.300}");
    assert!(shown.chars().count() <= 1000, "{}", shown.chars().count());
    let (key, mut offset) = notice_position(&shown);
    let head: String = full.chars().take(offset as usize).collect();
    assert!(shown.starts_with(&head), "{shown:.300}");

    // read_cache pages the rest by characters; head + pages = the whole text.
    let mut rebuilt = head;
    loop {
        let page: Value = serde_json::from_str(&text_of(
            &mcp_call(
                &client,
                "read_cache",
                json!({"key": key, "offset": offset, "limit": 700}),
            )
            .await,
        ))
        .expect("JSON page");
        assert_eq!(page["meta"]["total_chars"], full.chars().count(), "{page}");
        let text = page["text"].as_str().expect("text page");
        assert!(text.chars().count() <= 700);
        rebuilt.push_str(text);
        match page["meta"]["next_offset"].as_u64() {
            Some(next) => offset = next,
            None => break,
        }
    }
    assert_eq!(rebuilt, full);

    // JSON records are still paged by records, from a cut made in the tool's own text.
    let records = text_of(
        &mcp_call(
            &client,
            "call_tool_read",
            json!({"name": "fx:big", "args": {"records": 300}}),
        )
        .await,
    );
    assert!(records.starts_with("{\"items\":["), "{records:.200}");
    let (key, _) = notice_position(&records);
    let page: Value = serde_json::from_str(&text_of(
        &mcp_call(&client, "read_cache", json!({"key": key, "limit": 1000})).await,
    ))
    .expect("JSON page");
    assert_eq!(page["meta"]["total_records"], 300, "{page}");
    assert_eq!(page["meta"]["record_path"], ".items");
    client.cancel().await.expect("close");
    server.stop().await;
}

/// A raw `/mcp` answer.
struct Answer {
    status: u16,
    content_type: String,
    session: Option<String>,
    body: String,
}

/// POST `body` (raw bytes, JSON or not) to `/mcp`.
async fn post_raw(server: &TestServer, session: Option<&str>, body: &str) -> Answer {
    let mut req = raw()
        .post(format!("{}/mcp", server.url()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(id) = session {
        req = req.header("mcp-session-id", id);
    }
    let resp = req.send().await.expect("send");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (content_type, session) = (
        header("content-type").unwrap_or_default(),
        header("mcp-session-id"),
    );
    Answer {
        status: resp.status().as_u16(),
        content_type,
        session,
        body: resp.text().await.expect("body"),
    }
}

async fn delete(server: &TestServer, session: &str) -> u16 {
    raw()
        .delete(format!("{}/mcp", server.url()))
        .header("mcp-session-id", session)
        .send()
        .await
        .expect("delete")
        .status()
        .as_u16()
}

#[tokio::test]
async fn test_malformed_json_is_a_parse_error_and_unknown_sessions_are_404_on_delete() {
    let server = TestServer::start(config_with(json!([]))).await;
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let sid = post_raw(&server, None, &init.to_string())
        .await
        .session
        .expect("initialize opens a session");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    assert_eq!(
        post_raw(&server, Some(&sid), &initialized).await.status,
        202
    );

    for (session, body, code) in [
        (None, "{bad", -32700),
        (Some(sid.as_str()), "{bad", -32700),
        (Some(sid.as_str()), "", -32700),
        (
            Some(sid.as_str()),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/li"#,
            -32700,
        ),
        (Some(sid.as_str()), r#"{"a":1}"#, -32600),
        (None, "[1, 2]", -32600),
    ] {
        let answer = post_raw(&server, session, body).await;
        assert_eq!(
            answer.status, 400,
            "{body:?} (session {session:?}): {}",
            answer.body
        );
        assert!(
            answer.content_type.starts_with("application/json"),
            "{body:?}: {}",
            answer.content_type
        );
        let answer: Value = serde_json::from_str(&answer.body).expect("JSON-RPC error body");
        assert_eq!(answer["jsonrpc"], "2.0");
        assert_eq!(answer["id"], Value::Null);
        assert_eq!(answer["error"]["code"], code, "{body:?}: {answer}");
    }
    // The session is unharmed.
    let ping = json!({"jsonrpc": "2.0", "id": 7, "method": "ping"}).to_string();
    let pong = post_raw(&server, Some(&sid), &ping).await;
    assert_eq!(pong.status, 200, "{}", pong.body);

    assert_eq!(delete(&server, "mcp-session-never-issued").await, 404);
    assert_eq!(delete(&server, &sid).await, 200);
    assert_eq!(delete(&server, &sid).await, 404, "already ended");
    server.stop().await;
}
