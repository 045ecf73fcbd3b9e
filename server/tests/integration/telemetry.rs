//! Metrics and traces, checked by the real consumers: Debian's Prometheus server scrapes
//! `/metrics` (with the API key as a scrape parameter, and without it on the separate
//! `metrics_listen` port) and its query API must return the calls just made; an OTLP/HTTP receiver built on the official `opentelemetry-proto`
//! package must receive the spans of proxied calls in the client's trace, and the HTTP
//! upstreams must receive that trace in their `traceparent` header.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{
    KEY, TestServer, config_with, eventually, fixture_server, harness_file, mcp_call, raw, text_of,
    wait_listening, wait_ready,
};
use crate::revisions::HttpFixture;

/// Generous: a loaded 2-core machine, Prometheus' own start-up and scrape interval.
const PATIENCE: Duration = Duration::from_secs(90);

/// A child process killed on drop, with its stdout lines collected.
struct Helper {
    child: tokio::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Helper {
    fn spawn(mut command: tokio::process::Command, what: &str) -> Self {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({e}): run .ci/install-test-deps"));
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                sink.lock().expect("lines").push(line);
            }
        });
        Self { child, lines }
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("helper runs")
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }
}

/// Call `server:echo` through the proxy's `call_tool` on an MCP session.
async fn echo(
    client: &rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>,
    server: &str,
) {
    let result = mcp_call(
        client,
        "call_tool",
        json!({"name": format!("{server}:echo"), "args": {"message": "hi"}}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{}", text_of(&result));
}

#[tokio::test]
async fn test_telemetry_metrics_need_the_key() {
    let server = TestServer::start(config_with(json!([]))).await;
    let url = format!("{}/metrics", server.url());
    let refused = raw().get(&url).send().await.expect("GET /metrics");
    assert_eq!(refused.status(), 401);
    let envelope: Value = refused.json().await.expect("envelope");
    assert_eq!(envelope["success"], false);
    let served = raw()
        .get(&url)
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(served.status(), 200);
    assert!(
        served
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        served.headers()
    );
    let text = served.text().await.expect("text");
    // Labelled series appear with their first value; the plain ones at once.
    for line in [
        "# TYPE mcpproxy_mcp_sessions gauge",
        "# TYPE mcpproxy_search_duration_seconds histogram",
        "mcpproxy_index_tools 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    server.stop().await;
}

/// `host:port` of the server's `metrics_listen` port, from its ready line.
fn metrics_port_of(server: &TestServer) -> String {
    mcpproxy_testkit::ready_field(&server.stderr_text(), "metrics").unwrap_or_else(|| {
        panic!(
            "no metrics address in the ready line:\n{}",
            server.stderr_text()
        )
    })
}

/// The `metrics_listen` port serves `GET /metrics` without the key and nothing else: other
/// paths are 404, other methods 405, a foreign `Host` 403 (all in the error envelope),
/// while `/metrics` on the main port still needs the key.
#[tokio::test]
async fn test_telemetry_metrics_port_serves_only_metrics_without_the_key() {
    let mut config = config_with(json!([]));
    config["metrics_listen"] = json!("127.0.0.1:0");
    let server = TestServer::start(config).await;
    let base = format!("http://{}", metrics_port_of(&server));
    let served = raw()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(served.status(), 200);
    let text = served.text().await.expect("text");
    assert!(
        text.lines()
            .any(|l| l == "# TYPE mcpproxy_mcp_sessions gauge"),
        "{text}"
    );
    for (request, status) in [
        (raw().get(format!("{base}/api/v1/servers")), 404),
        (raw().post(format!("{base}/metrics")), 405),
        (
            raw()
                .get(format!("{base}/metrics"))
                .header("Host", "attacker.example"),
            403,
        ),
    ] {
        let answer = request.send().await.expect("request");
        assert_eq!(answer.status(), status);
        let envelope: Value = answer.json().await.expect("envelope");
        assert_eq!(envelope["success"], false, "{envelope}");
    }
    let refused = raw()
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .expect("GET /metrics on the main port");
    assert_eq!(refused.status(), 401);
    server.stop().await;
}

#[tokio::test]
async fn test_telemetry_prometheus_scrapes_the_call_count() {
    let mut config = config_with(json!([fixture_server("fx")]));
    config["metrics_listen"] = json!("127.0.0.1:0");
    let server = TestServer::start(config).await;
    wait_ready(&server, "fx").await;
    let metrics_port = metrics_port_of(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    // Two jobs: the main port with the key as a parameter, the metrics port without one.
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: main_port\n    \
         scrape_interval: 1s\n    metrics_path: /metrics\n    params:\n      apikey: ['{KEY}']\n    \
         static_configs:\n      - targets: ['{}']\n  - job_name: metrics_port\n    \
         scrape_interval: 1s\n    metrics_path: /metrics\n    \
         static_configs:\n      - targets: ['{metrics_port}']\n",
        server.addr
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write prometheus.yml");
    let mut command = tokio::process::Command::new("prometheus");
    command
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg("--web.listen-address=127.0.0.1:0");
    let prometheus = Helper::spawn(command, "prometheus (Debian package `prometheus`)");
    let port = wait_listening(prometheus.pid(), PATIENCE)
        .await
        .expect("prometheus listens");
    let web = format!("127.0.0.1:{port}");

    let client = crate::common::mcp_client(&server).await;
    for _ in 0..3 {
        echo(&client, "fx").await;
    }
    // What Prometheus' query API answers for `promql`, once it equals `expected`.
    let scraped = |promql: &'static str, expected: &'static str| {
        let web = web.clone();
        async move {
            let what = format!("Prometheus to answer {promql} = {expected}");
            eventually(PATIENCE, &what, || async {
                let answer: Value = raw()
                    .get(format!("http://{web}/api/v1/query"))
                    .query(&[("query", promql)])
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                let value = answer["data"]["result"][0]["value"][1].as_str()?;
                (value == expected).then_some(())
            })
            .await;
        }
    };
    scraped(
        r#"mcpproxy_tool_calls_total{job="main_port",server="fx",tool="echo",status="success"}"#,
        "3",
    )
    .await;
    scraped(
        r#"mcpproxy_tool_calls_total{job="metrics_port",server="fx",tool="echo",status="success"}"#,
        "3",
    )
    .await;
    scraped(
        r#"mcpproxy_tool_call_duration_seconds_count{job="main_port",server="fx"}"#,
        "3",
    )
    .await;
    scraped(
        r#"mcpproxy_upstream_state{job="main_port",server="fx",state="ready"}"#,
        "1",
    )
    .await;
    scraped(r#"mcpproxy_mcp_sessions{job="main_port"}"#, "1").await;
    let _ = client.cancel().await;
    server.stop().await;
}

/// A `traceparent` of trace `trace` (32 hex digits).
fn traceparent(trace: &str) -> String {
    format!("00-{trace}-00f067aa0ba902b7-01")
}

/// The received spans (JSON lines of the receiver).
fn spans(receiver: &Helper) -> Vec<Value> {
    receiver
        .lines()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The last `tools/call` headers line of `fixture` carries a traceparent of `trace`.
fn upstream_saw(fixture: &HttpFixture, trace: &str) -> bool {
    fixture
        .lines_with("headers tools/call")
        .last()
        .is_some_and(|l| l.contains(&format!("traceparent=00-{trace}-")))
}

#[tokio::test]
async fn test_telemetry_spans_carry_the_clients_trace_id() {
    let python = harness_file("venv-otel/bin/python", "opentelemetry-proto (Python)");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/otlp_receiver.py");
    let mut command = tokio::process::Command::new(python);
    command.arg(script);
    let receiver = Helper::spawn(command, "the OTLP receiver");
    let endpoint = eventually(PATIENCE, "the OTLP receiver to listen", || async {
        receiver
            .lines()
            .iter()
            .find_map(|l| l.strip_prefix("LISTENING ").map(|a| format!("http://{a}")))
    })
    .await;
    // A 2025 upstream (tool calls on the direct lane) and a 2026-07-28 one (through rmcp).
    let old = HttpFixture::start(&["--protocol", "2025", "--log-headers"]).await;
    let new = HttpFixture::start(&["--protocol", "2026", "--log-headers"]).await;
    let mut config = config_with(json!([
        {"name": "old", "url": old.url, "enabled": true},
        {"name": "new", "url": new.url, "enabled": true},
    ]));
    config["otel"] = json!({"endpoint": endpoint, "service_name": "mcpproxy-test"});
    let server = TestServer::start_with(config, &[("OTEL_BSP_SCHEDULE_DELAY", "100")]).await;
    wait_ready(&server, "old").await;
    wait_ready(&server, "new").await;

    // The client's trace in the traceparent header of every /mcp request of its session.
    let header_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut headers = std::collections::HashMap::new();
    headers.insert(
        http::HeaderName::from_static("traceparent"),
        http::HeaderValue::from_str(&traceparent(header_trace)).expect("header"),
    );
    let transport = rmcp::transport::StreamableHttpClientTransport::from_config(
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            format!("{}/mcp", server.url()),
        )
        .custom_headers(headers),
    );
    let client = rmcp::ServiceExt::serve(
        rmcp::model::ClientConfig::new(
            rmcp::model::ClientCapabilities::default(),
            rmcp::model::Implementation::new("traced-client", "1.0.0"),
        ),
        transport,
    )
    .await
    .expect("MCP session");
    echo(&client, "old").await;
    assert!(
        upstream_saw(&old, header_trace),
        "{:?}\n{}",
        old.lines_with("tools/call"),
        server.stderr_text()
    );
    echo(&client, "new").await;
    assert!(
        upstream_saw(&new, header_trace),
        "{:?}",
        new.lines_with("tools/call")
    );

    // A request's own `_meta.traceparent` (the 2026-07-28 way) wins for its call.
    let meta_trace = "0af7651916cd43dd8448eb211c80319c";
    let mut meta = rmcp::model::MetaObject::new();
    meta.set_traceparent(traceparent(meta_trace));
    let mut params = rmcp::model::CallToolRequestParams::new("call_tool").with_arguments(
        json!({"name": "old:echo", "args": {"message": "meta"}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    params.meta = Some(rmcp::model::RequestMetaObject(meta));
    let result = client.call_tool(params).await.expect("tools/call");
    assert_eq!(result.is_error, Some(false), "{}", text_of(&result));
    assert!(
        upstream_saw(&old, meta_trace),
        "{:?}",
        old.lines_with("tools/call")
    );

    // The receiver gets the /mcp request spans and the upstream call spans of both traces;
    // an upstream call is a child of its /mcp request.
    let received = eventually(PATIENCE, "the spans of both traces", || async {
        let spans = spans(&receiver);
        let call = |trace: &str, name: &str| {
            spans
                .iter()
                .find(|s| s["trace_id"] == trace && s["name"] == name)
                .cloned()
        };
        let header_old = call(header_trace, "tools/call old:echo")?;
        call(header_trace, "tools/call new:echo")?;
        call(meta_trace, "tools/call old:echo")?;
        let parent = spans
            .iter()
            .find(|s| s["span_id"] == header_old["parent_span_id"])?
            .clone();
        Some((header_old, parent))
    })
    .await;
    let (call, parent) = received;
    assert_eq!(parent["name"], "POST /mcp", "{parent}");
    assert_eq!(parent["trace_id"], header_trace);
    assert_eq!(call["service"], "mcpproxy-test");
    let _ = client.cancel().await;
    server.stop().await;
}
