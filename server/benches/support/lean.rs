//! A lean MCP client for the benchmark: raw JSON-RPC over a child's pipes or over one
//! HTTP/1.1 keep-alive connection, no SDK. Its own cost per call is a few microseconds, so
//! "through the proxy" minus "direct" is the proxy's cost rather than a client's — the rmcp
//! client rows show what an SDK adds on top. Handles both answers the streamable HTTP
//! transport allows: one `application/json` body or an SSE stream.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Mutex, oneshot};

const PROTOCOL: &str = "2025-06-18";

/// A request message; `Value::Null` params are left out.
fn request_message(id: u64, method: &str, params: Value) -> Value {
    let mut m = json!({"jsonrpc": "2.0", "id": id, "method": method});
    if !params.is_null() {
        m["params"] = params;
    }
    m
}

fn initialize(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "mcpproxy-bench-lean", "version": "0.1.0"}}})
}

/// The `result` of a JSON-RPC response, or its error.
fn result_of(message: Value) -> Result<Value> {
    match message {
        Value::Object(mut m) => {
            if let Some(e) = m.remove("error") {
                bail!("JSON-RPC error: {e}");
            }
            m.remove("result").context("response without result")
        }
        other => bail!("not a JSON-RPC response: {other}"),
    }
}

type Pending = Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A server spawned as a child and spoken to over its stdin/stdout; many calls may be in
/// flight (answers are matched by id).
pub struct LeanStdio {
    stdin: Mutex<ChildStdin>,
    pending: Pending,
    next: AtomicU64,
    _child: Child,
}

impl LeanStdio {
    /// Spawn `program args…` and complete the MCP handshake.
    pub async fn spawn(program: &Path, args: &[&str]) -> Result<Arc<Self>> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawn {}", program.display()))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let pending: Pending = Arc::default();
        {
            let pending = pending.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let Ok(message) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    let Some(id) = message.get("id").and_then(Value::as_u64) else {
                        continue; // a notification or a server request: not ours to answer
                    };
                    let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id));
                    if let Some(tx) = waiter {
                        let _ = tx.send(message);
                    }
                }
            });
        }
        let this = Arc::new(Self {
            stdin: Mutex::new(stdin),
            pending,
            next: AtomicU64::new(1),
            _child: child,
        });
        this.exchange(initialize(0), 0).await?;
        this.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(this)
    }

    async fn send(&self, message: &Value) -> Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        stdin.write_all(&line).await?;
        stdin.flush().await?;
        Ok(())
    }

    async fn exchange(&self, message: Value, id: u64) -> Result<Value> {
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .insert(id, tx);
        self.send(&message).await?;
        result_of(rx.await.context("server closed its stdout")?)
    }

    /// One request; its `result`.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.exchange(request_message(id, method, params), id).await
    }
}

/// One MCP session over one HTTP/1.1 keep-alive connection (one request at a time).
pub struct LeanHttp {
    sender: Mutex<SendRequest<Full<Bytes>>>,
    authority: String,
    path: String,
    session: Option<String>,
    next: AtomicU64,
}

impl LeanHttp {
    /// Connect to `url` (`http://host:port/path`) and complete the MCP handshake.
    pub async fn connect(url: &str) -> Result<Arc<Self>> {
        let uri: http::Uri = url.parse()?;
        let authority = uri.authority().context("url without host")?.to_string();
        let stream = tokio::net::TcpStream::connect(&authority).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let mut this = Self {
            sender: Mutex::new(sender),
            authority,
            path: uri.path().to_string(),
            session: None,
            next: AtomicU64::new(1),
        };
        let (_, session) = this.post(&initialize(0)).await?;
        this.session = session;
        this.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(Arc::new(this))
    }

    /// POST one message; the response message (if any) and the session id header.
    async fn post(&self, message: &Value) -> Result<(Option<Value>, Option<String>)> {
        let mut req = http::Request::post(&self.path)
            .header(http::header::HOST, &self.authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL);
        if let Some(session) = &self.session {
            req = req.header("mcp-session-id", session);
        }
        let req = req.body(Full::new(Bytes::from(serde_json::to_vec(message)?)))?;
        let resp = {
            let mut sender = self.sender.lock().await;
            sender.ready().await?;
            sender.send_request(req).await?
        };
        let status = resp.status();
        let session = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let sse = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let body = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        if body.is_empty() {
            return Ok((None, session));
        }
        let message = if sse {
            // The request's stream ends after its response: the last data line with an id.
            std::str::from_utf8(&body)?
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .rfind(|m| m.get("id").is_some())
                .context("SSE answer without a response")?
        } else {
            serde_json::from_slice(&body)?
        };
        Ok((Some(message), session))
    }

    /// One request; its `result`.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (message, _) = self.post(&request_message(id, method, params)).await?;
        result_of(message.context("no response to a request")?)
    }
}

/// Either lean transport.
#[derive(Clone)]
pub enum Lean {
    /// Over a child's pipes.
    Stdio(Arc<LeanStdio>),
    /// Over HTTP.
    Http(Arc<LeanHttp>),
}

impl Lean {
    /// One request; its `result`.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value> {
        match self {
            Lean::Stdio(c) => c.request(method, params).await,
            Lean::Http(c) => c.request(method, params).await,
        }
    }
}
