//! Load: 200 concurrent MCP sessions, each initializing and calling a tool through the
//! proxy; 100 `/events` clients, one of which never reads, while events pour out.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::common::*;
use crate::proc::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_load_200_concurrent_mcp_sessions_all_succeed() {
    const SESSIONS: usize = 200;
    let server = TestServer::start(config_with(json!([fixture_server("fx")]))).await;
    wait_ready(&server, "fx").await;
    let pid = pid_of(&server);
    let fds_before = fd_count(pid);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..SESSIONS)
        .map(|i| {
            let server_url = server.url();
            tokio::spawn(async move {
                let session = RawSession::open_at(&server_url).await;
                let answer = session
                    .call(
                        1,
                        "call_tool_read",
                        json!({"name": "fx:echo", "args": {"message": format!("s{i}")}}),
                    )
                    .await;
                assert_eq!(answer_text(&answer), format!("Echo: s{i}"), "{answer}");
                session.id
            })
        })
        .collect();
    let ids = tokio::time::timeout(Duration::from_secs(90), futures::future::join_all(tasks))
        .await
        .expect("200 sessions within 90 s");
    let ids: std::collections::HashSet<String> =
        ids.into_iter().map(|r| r.expect("session task")).collect();
    assert_eq!(ids.len(), SESSIONS, "distinct session ids");
    eprintln!(
        "{SESSIONS} sessions in {:?}; fds {fds_before} -> {}",
        started.elapsed(),
        fd_count(pid)
    );
    let calls = server
        .client()
        .tool_call_list(Some(1), None, None)
        .await
        .expect("calls")
        .into_inner();
    assert_eq!(calls.data.total, SESSIONS as u64);
    // Still serving.
    let session = RawSession::open(&server).await;
    session.assert_alive(1).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_load_100_event_clients_one_never_reads() {
    const CLIENTS: usize = 99;
    const TOGGLES: usize = 600;
    let marker = json!({"name": "marker", "command": "true", "enabled": false});
    let server = TestServer::start(config_with(json!([fixture_server("fx"), marker]))).await;
    wait_ready(&server, "fx").await;
    // The one that never reads: a raw socket with a tiny receive buffer that sends the
    // request and then sits.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(1024).expect("SO_RCVBUF");
    let mut stuck = socket
        .connect(server.addr.parse().expect("addr"))
        .await
        .expect("connect");
    stuck
        .write_all(
            format!(
                "GET /events HTTP/1.1\r\nHost: {}\r\nX-API-Key: {KEY}\r\nAccept: text/event-stream\r\n\r\n",
                server.addr
            )
            .as_bytes(),
        )
        .await
        .expect("request");
    let http = streaming();
    let mut streams = Vec::new();
    for _ in 0..CLIENTS {
        let resp = http
            .get(format!("{}/events", server.url()))
            .header("X-API-Key", KEY)
            .send()
            .await
            .expect("events");
        assert_eq!(resp.status(), 200);
        streams.push(resp.bytes_stream());
    }
    // Readers: each waits for the one `enable_toggle` event, published last. A reader is
    // stuck when nothing reaches it for `QUIET` while events pour out (and after the last
    // one); the whole read is capped at `CAP`. The time the 600 saves take is the writer's
    // (each is a config file write and an audit record, fsynced) and depends on the disk,
    // so it is not part of a reader's limit.
    const QUIET: Duration = Duration::from_secs(60);
    const CAP: Duration = Duration::from_secs(300);
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut seen = String::new();
                let cap = tokio::time::Instant::now() + CAP;
                let mut events = 0;
                while !seen.contains("enable_toggle") {
                    let quiet = tokio::time::Instant::now() + QUIET;
                    let chunk = tokio::time::timeout_at(quiet.min(cap), stream.next())
                        .await
                        .expect("the next event in time")
                        .expect("stream open")
                        .expect("chunk");
                    let text = String::from_utf8_lossy(&chunk);
                    events += text.matches("event: ").count();
                    seen.push_str(&text);
                    if seen.len() > 64 * 1024 {
                        seen.drain(..seen.len() - 1024);
                    }
                }
                events
            })
        })
        .collect();
    // Pour out events: quarantine toggles of a disabled server (saved and announced, never
    // connected), from 4 tasks at once.
    let toggles: Vec<_> = (0..4)
        .map(|t| {
            let url = format!("{}/api/v1/servers/marker/quarantine", server.url());
            tokio::spawn(async move {
                let http = raw();
                for i in 0..TOGGLES / 4 {
                    let resp = http
                        .post(&url)
                        .header("X-API-Key", KEY)
                        .json(&json!({"quarantined": (i + t) % 2 == 0}))
                        .send()
                        .await
                        .expect("toggle");
                    assert_eq!(resp.status(), 200);
                }
            })
        })
        .collect();
    let pouring = std::time::Instant::now();
    for t in futures::future::join_all(toggles).await {
        t.expect("toggles");
    }
    eprintln!(
        "{TOGGLES} toggles saved and announced in {:?}",
        pouring.elapsed()
    );
    server
        .client()
        .server_enable("marker")
        .await
        .expect("the last event");
    let mut least = usize::MAX;
    for r in futures::future::join_all(readers).await {
        least = least.min(r.expect("reader got every event it needed"));
    }
    assert!(least >= TOGGLES, "a reader saw only {least} events");
    // The server is still responsive with the stuck client attached.
    let status = tokio::time::timeout(Duration::from_secs(5), server.client().status_get())
        .await
        .expect("status in time");
    assert!(status.is_ok());
    drop(stuck);
    server.stop().await;
}
