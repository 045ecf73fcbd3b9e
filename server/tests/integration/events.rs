//! `/events` (SSE and WebSocket): every client gets every event; a client that never
//! reads does not hold up the others.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::common::*;

#[tokio::test]
async fn test_events_every_client_gets_servers_changed_while_a_stuck_one_never_reads() {
    let server = TestServer::start(config_with(
        json!([{"name": "a", "command": "true", "enabled": true}]),
    ))
    .await;

    // The stuck client: asks for the stream and never reads a byte.
    let mut stuck = tokio::net::TcpStream::connect(&server.addr)
        .await
        .expect("connect");
    stuck
        .write_all(
            format!(
                "GET /events?apikey={KEY} HTTP/1.1\r\nHost: {}\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        )
        .await
        .expect("request");

    let mut readers = Vec::new();
    for _ in 0..2 {
        let resp = streaming()
            .get(format!("{}/events", server.url()))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("sse");
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let mut body = resp.bytes_stream();
        let mut buf = String::new();
        let status = wait_for_event(&mut body, &mut buf, |k, _| k == "status").await;
        assert_eq!(status["running"], true);
        assert!(buf.is_empty() || !buf.contains("event: status"));
        readers.push((body, buf));
    }
    // Flood the bus so the stuck client's buffer overflows, then one last change.
    for i in 0..100 {
        let enabled = i % 2 == 0;
        let path = if enabled { "disable" } else { "enable" };
        let resp = raw()
            .post(format!("{}/api/v1/servers/a/{path}", server.url()))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("toggle");
        assert_eq!(resp.status(), 200);
    }
    server.client().server_disable("a").await.expect("disable");
    for (body, buf) in readers.iter_mut() {
        // The first toggle arrives, and so does the very last one.
        let first = wait_for_event(body, buf, |k, d| {
            k == "servers.changed" && d["payload"]["reason"] == "enable_toggle"
        })
        .await;
        assert_eq!(first["payload"]["server"], "a");
        assert!(first["timestamp"].as_i64().is_some());
        let mut seen = 1;
        loop {
            let event = wait_for_event(body, buf, |k, _| k == "servers.changed").await;
            if event["payload"]["reason"] == "enable_toggle" {
                seen += 1;
            }
            if seen == 101 {
                assert_eq!(event["payload"]["enabled"], false);
                break;
            }
        }
    }
    drop(stuck);
    server.stop().await;
}

#[tokio::test]
async fn test_events_head_answers_headers_at_once_and_needs_the_key() {
    let server = TestServer::start(config_with(json!([]))).await;
    let resp = raw()
        .head(format!("{}/events?apikey={KEY}", server.url()))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let resp = raw()
        .head(format!("{}/events", server.url()))
        .send()
        .await
        .expect("head");
    assert_eq!(resp.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn test_events_websocket_carries_the_same_events() {
    let server = TestServer::start(config_with(json!([{"name": "a", "command": "true"}]))).await;
    let url = format!("ws://{}/events/ws?apikey={KEY}", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    let next_json = |msg: tokio_tungstenite::tungstenite::Message| -> serde_json::Value {
        serde_json::from_str(msg.to_text().expect("text")).expect("json")
    };
    let first = next_json(
        tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("msg")
            .expect("open")
            .expect("ok"),
    );
    assert_eq!(first["type"], "status");
    server.client().server_enable("a").await.expect("enable");
    loop {
        let msg = next_json(
            tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .expect("msg")
                .expect("open")
                .expect("ok"),
        );
        if msg["type"] == "servers.changed" {
            assert_eq!(msg["data"]["payload"]["server"], "a");
            break;
        }
    }
    let unauthorized =
        tokio_tungstenite::connect_async(format!("ws://{}/events/ws", server.addr)).await;
    assert!(unauthorized.is_err(), "no key, no websocket");
    server.stop().await;
}
