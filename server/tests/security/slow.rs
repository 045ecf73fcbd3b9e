//! §6 of the boundary issue: slow and odd clients — slowloris connections are closed within
//! the header timeout, idle keep-alive connections too, silent new ones within the
//! first-byte timeout, silent HTTP/2 ones once they leave a ping unanswered, connections past
//! the cap get a 503,
//! HTTP/2 cleartext reaches the REST routes, HEAD answers what GET would.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;
use crate::proc::poll;
use crate::raw;

/// The header timeout the tests configure, to stay fast.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Allowance on top of it for a loaded CI machine.
const MARGIN: Duration = Duration::from_secs(2);

async fn start(extra: serde_json::Value) -> TestServer {
    let mut config = config_with(json!([]));
    config["http_header_timeout"] = json!("1s");
    config["http_first_byte_timeout"] = json!("1s");
    if let Some(map) = extra.as_object() {
        for (k, v) in map {
            config[k] = v.clone();
        }
    }
    TestServer::start(config).await
}

/// Read until the server closes the connection; how long that took.
async fn closed_after(mut stream: TcpStream, since: Instant) -> Duration {
    let mut sink = [0u8; 1024];
    let limit = TIMEOUT + MARGIN + Duration::from_secs(5);
    loop {
        match tokio::time::timeout(limit, stream.read(&mut sink)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return since.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the connection stayed open for {limit:?}"),
        }
    }
}

#[tokio::test]
async fn test_slow_slowloris_connections_are_closed_within_the_header_timeout() {
    let server = start(json!({})).await;
    let since = Instant::now();
    let mut tasks = Vec::new();
    // Five connections that dribble a header byte every 200 ms and never finish.
    for _ in 0..5 {
        let addr = server.addr.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(&addr).await.expect("connect");
            let (mut read, mut write) = stream.into_split();
            let dribble = tokio::spawn(async move {
                let head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
                for byte in head {
                    if write.write_all(&[*byte]).await.is_err() {
                        return;
                    }
                    // Kept: the slow client is the point.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            let mut sink = [0u8; 256];
            let limit = TIMEOUT + MARGIN + Duration::from_secs(5);
            let closed = loop {
                match tokio::time::timeout(limit, read.read(&mut sink)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break since.elapsed(),
                    Ok(Ok(_)) => {}
                    Err(_) => panic!("a slowloris connection stayed open for {limit:?}"),
                }
            };
            dribble.abort();
            closed
        }));
    }
    // And one that connects and says nothing at all.
    let silent = TcpStream::connect(&server.addr).await.expect("connect");
    let silent_closed = closed_after(silent, Instant::now()).await;
    assert!(
        silent_closed <= TIMEOUT + MARGIN,
        "silent: {silent_closed:?}"
    );
    for task in tasks {
        let closed = task.await.expect("task");
        assert!(
            closed >= TIMEOUT - Duration::from_millis(100) && closed <= TIMEOUT + MARGIN,
            "slowloris closed after {closed:?}"
        );
    }
    // The server still serves.
    let answer = raw::tcp(&server.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(answer.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn test_slow_a_silent_new_connection_has_its_own_longer_deadline() {
    // A client that connects ahead of time (a pool, a starved process) gets the first-byte
    // timeout, not the header timeout; once it starts a request the header timeout runs.
    let server = start(json!({"http_first_byte_timeout": "3s"})).await;
    let silent = TcpStream::connect(&server.addr).await.expect("connect");
    let since = Instant::now();
    let mut late = TcpStream::connect(&server.addr).await.expect("connect");
    // Kept: the delay is what the test measures (past the header timeout).
    tokio::time::sleep(Duration::from_millis(1800)).await;
    late.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("a request after the header timeout, within the first-byte timeout");
    let mut answer = Vec::new();
    late.read_to_end(&mut answer).await.expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let closed = closed_after(silent, since).await;
    assert!(
        closed >= Duration::from_millis(2900) && closed <= Duration::from_secs(3) + MARGIN,
        "silent connection closed after {closed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_slow_an_idle_keep_alive_connection_is_closed() {
    let server = start(json!({})).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).await.expect("read");
    assert!(
        buf.get(..n)
            .unwrap_or_default()
            .starts_with(b"HTTP/1.1 200")
    );
    let closed = closed_after(stream, Instant::now()).await;
    assert!(
        closed <= TIMEOUT + MARGIN,
        "idle connection closed after {closed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_slow_a_silent_http2_connection_is_closed() {
    let server = start(json!({})).await;
    let mut stream = TcpStream::connect(&server.addr).await.expect("connect");
    // The client preface and an empty SETTINGS frame, then nothing: no ping is ever answered.
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    stream.write_all(&hello).await.expect("write");
    let started = Instant::now();
    let closed = closed_after(stream, started).await;
    // One ping interval, then the ping's own timeout.
    assert!(
        closed <= TIMEOUT * 2 + MARGIN,
        "silent HTTP/2 connection closed after {closed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn test_slow_connections_past_the_cap_get_503() {
    let server = start(
        json!({"max_connections": 3, "http_header_timeout": "5s", "http_first_byte_timeout": "5s"}),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&server.addr).await.expect("connect"));
    }
    // Kept: the accept loop must have counted the three held connections, which nothing
    // outside shows (a probe would be a fourth).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let over = raw::tcp(&server.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(over.status, 503, "{over:?}");
    let envelope: serde_json::Value = serde_json::from_str(&over.body).expect("json");
    assert_eq!(envelope["success"], false);
    assert_eq!(envelope["code"], "BUSY");
    drop(held);
    let answer = poll(
        Duration::from_secs(5),
        "a slot after the held connections close",
        || {
            let addr = server.addr.clone();
            async move {
                let answer = raw::tcp(&addr, "GET", "/healthz", &[], b"").await;
                (answer.status == 200).then_some(answer)
            }
        },
    )
    .await;
    assert_eq!(answer.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn test_slow_h2c_prior_knowledge_reaches_the_rest_routes() {
    let server = start(json!({})).await;
    let stream = TcpStream::connect(&server.addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    for (path, key, expected) in [
        ("/api/v1/status", Some(KEY), 200),
        ("/api/v1/status", None, 401),
        ("/healthz", None, 200),
        ("//api/v1/servers", None, 401),
    ] {
        let mut request = http::Request::builder()
            .uri(format!("http://{}{path}", server.addr))
            .version(http::Version::HTTP_2);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        let request = request.body(Empty::<bytes::Bytes>::new()).expect("request");
        let resp = sender.send_request(request).await.expect("h2 request");
        assert_eq!(resp.status(), expected, "{path}");
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json body");
        if expected == 200 && path.starts_with("/api") {
            assert_eq!(json["success"], true, "{json}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn test_slow_head_answers_what_get_would_without_a_body() {
    let server = start(json!({})).await;
    for (path, headers) in [
        ("/healthz", vec![]),
        ("/readyz", vec![]),
        ("/swagger/", vec![]),
        ("/swagger/swagger-ui.css", vec![]),
        ("/swagger/swagger.yaml", vec![]),
        ("/api/v1/status", vec![("X-API-Key", KEY)]),
        ("/events", vec![("X-API-Key", KEY)]),
    ] {
        let get = raw::tcp(&server.addr, "GET", path, &headers, b"").await;
        let head = raw::tcp(&server.addr, "HEAD", path, &headers, b"").await;
        assert_eq!(head.status, get.status, "HEAD {path}: {head:?}");
        assert_eq!(head.status, 200, "HEAD {path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
        if path != "/api/v1/status" && path != "/events" {
            // Fixed content: the same length is announced.
            assert_eq!(
                head.header("content-length"),
                get.header("content-length"),
                "{path}"
            );
        }
        assert!(head.body.is_empty(), "HEAD {path} had a body");
    }
    let keyless = raw::tcp(&server.addr, "HEAD", "/api/v1/status", &[], b"").await;
    assert_eq!(keyless.status, 401);
    server.stop().await;
}
