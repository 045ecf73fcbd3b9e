//! The front door: the hyper server on the public TCP port and on the unix socket.
//!
//! Per request, in order: CORS preflight (`OPTIONS` → 200 before auth); authentication by
//! the spec's declared security ([`mcpproxy_api::required_security`]: the API key on TCP,
//! the peer's uid on the socket; deny by default under `/api/` and `/events`); then the
//! request goes to dropshot on a private loopback port, marked with the per-process internal
//! secret. Dropshot's own router errors (unknown route, wrong method) come back rewritten
//! into the API's error envelope. WebSocket upgrades are spliced through.
//!
//! It owns no application state: it authenticates and forwards, nothing else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mcpproxy_api::{Security, codes, required_security};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;

use super::auth::{INTERNAL_HEADER, keys_match, presented_key};

type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// Error bodies larger than this are passed through untouched.
const MAX_REWRITE_BYTES: usize = 64 * 1024;

/// Where a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The TCP port: the API key is required.
    Tcp,
    /// The owner's unix socket: trusted.
    Socket,
}

/// Shared state of the front door.
pub struct FrontDoor {
    mcp: crate::mcp::McpEndpoint,
    api_key: String,
    internal_secret: String,
    backend: SocketAddr,
    client: Client<HttpConnector, Body>,
    shutdown: CancellationToken,
}

/// Why the unix socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Another process is serving on it.
    #[error("socket {0} is in use by another process")]
    InUse(PathBuf),
    /// Filesystem trouble.
    #[error("cannot set up socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl FrontDoor {
    /// A front door forwarding to dropshot at `backend`.
    pub fn new(
        mcp: crate::mcp::McpEndpoint,
        api_key: String,
        internal_secret: String,
        backend: SocketAddr,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Arc::new(Self {
            mcp,
            api_key,
            internal_secret,
            backend,
            client,
            shutdown,
        })
    }

    /// Accept TCP connections until shutdown.
    pub async fn serve_tcp(self: Arc<Self>, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            self.clone()
                .spawn_connection(TokioIo::new(stream), Origin::Tcp);
        }
    }

    /// Accept unix-socket connections from our own uid until shutdown.
    pub async fn serve_unix(self: Arc<Self>, listener: UnixListener) {
        let uid = crate::config::current_uid();
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == uid => {}
                _ => continue, // another user: close without a word
            }
            self.clone()
                .spawn_connection(TokioIo::new(stream), Origin::Socket);
        }
    }

    fn spawn_connection<I>(self: Arc<Self>, io: I, origin: Origin)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let this = self.clone();
                async move { Ok::<_, Infallible>(this.handle(req, origin).await) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder.serve_connection_with_upgrades(io, service).await;
        });
    }

    async fn handle(&self, req: Request<Incoming>, origin: Origin) -> Response<Body> {
        if req.method() == http::Method::OPTIONS {
            return with_cors(
                Response::builder()
                    .status(StatusCode::OK)
                    .body(empty())
                    .unwrap_or_default(),
            );
        }
        if req.uri().path() == "/mcp" || req.uri().path().starts_with("/mcp/") {
            let mut req = req;
            if origin == Origin::Socket {
                req.extensions_mut().insert(crate::mcp::OwnerSocket);
            }
            return self.serve_mcp(req).await;
        }
        let security = required_security(req.method().as_str(), req.uri().path());
        let authorized = match (security, origin) {
            (Security::None, _) | (_, Origin::Socket) => true,
            (Security::ApiKey, Origin::Tcp) => presented_key(req.headers(), req.uri().query())
                .is_some_and(|key| keys_match(&key, &self.api_key)),
        };
        if !authorized {
            return error_response(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHORIZED,
                "Invalid or missing API key",
            );
        }
        let is_upgrade = req.headers().contains_key(header::UPGRADE);
        let mut req = req;
        req.headers_mut().remove(INTERNAL_HEADER);
        if let Ok(secret) = HeaderValue::from_str(&self.internal_secret) {
            req.headers_mut().insert(INTERNAL_HEADER, secret);
        }
        if is_upgrade {
            return self.forward_upgrade(req).await;
        }
        self.forward(req).await
    }

    /// `/mcp` is the MCP endpoint's own business (it checks Host and Origin itself).
    async fn serve_mcp(&self, req: Request<Incoming>) -> Response<Body> {
        let resp = self.mcp.handle(req).await;
        with_cors(resp.map(|b| b.map_err(|never| match never {}).boxed()))
    }

    fn backend_uri(&self, uri: &http::Uri) -> Option<http::Uri> {
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        format!("http://{}{}", self.backend, path).parse().ok()
    }

    async fn forward(&self, req: Request<Incoming>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let Some(uri) = self.backend_uri(&parts.uri) else {
            return error_response(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                "malformed request URI",
            );
        };
        parts.uri = uri;
        // Where the spec makes the body optional (quarantine: "quarantine it", as in the Go
        // original), an empty one reads as `{}`. Nowhere else: an empty `config/apply` read
        // as `{}` would be an empty configuration that drops every server.
        let body: Body = if mcpproxy_api::find_operation(parts.method.as_str(), parts.uri.path())
            .is_some_and(|op| op.empty_body_is_empty_object)
            && body_is_empty(&parts.headers)
        {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("2"));
            parts.headers.remove(header::TRANSFER_ENCODING);
            full(Bytes::from_static(b"{}"))
        } else {
            body.map_err(Into::into).boxed()
        };
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(resp) => with_cors(normalize_error(resp).await),
            Err(e) => error_response(
                StatusCode::BAD_GATEWAY,
                codes::INTERNAL_ERROR,
                &format!("API backend unavailable: {e}"),
            ),
        }
    }

    async fn forward_upgrade(&self, mut req: Request<Incoming>) -> Response<Body> {
        let client_upgrade = hyper::upgrade::on(&mut req);
        let Some(uri) = self.backend_uri(req.uri()) else {
            return error_response(
                StatusCode::BAD_REQUEST,
                codes::BAD_REQUEST,
                "malformed request URI",
            );
        };
        let (mut parts, _) = req.into_parts();
        parts.uri = uri;
        let outgoing = Request::from_parts(parts, empty());
        let stream = match tokio::net::TcpStream::connect(self.backend).await {
            Ok(s) => s,
            Err(e) => {
                return error_response(
                    StatusCode::BAD_GATEWAY,
                    codes::INTERNAL_ERROR,
                    &format!("API backend unavailable: {e}"),
                );
            }
        };
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(pair) => pair,
                Err(e) => {
                    return error_response(
                        StatusCode::BAD_GATEWAY,
                        codes::INTERNAL_ERROR,
                        &format!("API backend handshake failed: {e}"),
                    );
                }
            };
        tokio::spawn(conn.with_upgrades());
        let mut resp = match sender.send_request(outgoing).await {
            Ok(r) => r,
            Err(e) => {
                return error_response(
                    StatusCode::BAD_GATEWAY,
                    codes::INTERNAL_ERROR,
                    &format!("API backend failed: {e}"),
                );
            }
        };
        if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
            let backend_upgrade = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(client), Ok(backend)) = (client_upgrade.await, backend_upgrade.await) {
                    let _ = tokio::io::copy_bidirectional(
                        &mut TokioIo::new(client),
                        &mut TokioIo::new(backend),
                    )
                    .await;
                }
            });
        }
        resp.map(|b| b.map_err(Into::into).boxed())
    }
}

fn body_is_empty(headers: &http::HeaderMap) -> bool {
    match headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
    {
        Some(len) => len.trim() == "0",
        None => !headers.contains_key(header::TRANSFER_ENCODING),
    }
}

fn empty() -> Body {
    full(Bytes::new())
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn with_cors(mut resp: Response<Body>) -> Response<Body> {
    let headers = resp.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "Content-Type, Authorization, X-API-Key, Mcp-Session-Id, Mcp-Protocol-Version",
        ),
    );
    resp
}

/// The API's error envelope.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "success": false, "error": message, "code": code }).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(full(Bytes::from(body)))
        .unwrap_or_default()
}

/// Rewrite dropshot's router errors (`{"request_id","message"}`) into the envelope.
async fn normalize_error(resp: Response<Incoming>) -> Response<Body> {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let small = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n <= MAX_REWRITE_BYTES);
    if !(status.is_client_error() || status.is_server_error()) || !is_json || !small {
        return resp.map(|b| b.map_err(Into::into).boxed());
    }
    let (parts, body) = resp.into_parts();
    let Ok(collected) = body.collect().await else {
        return error_response(status, codes::INTERNAL_ERROR, "API backend error");
    };
    let bytes = collected.to_bytes();
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if v.get("success").is_none() => {
            let message = v
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("request failed");
            let code = match status.as_u16() {
                404 => codes::NOT_FOUND,
                405 => codes::METHOD_NOT_ALLOWED,
                400 => codes::BAD_REQUEST,
                s if s >= 500 => codes::INTERNAL_ERROR,
                _ => codes::BAD_REQUEST,
            };
            let mut rewritten = error_response(status, code, message);
            if let Some(allow) = parts.headers.get(header::ALLOW) {
                rewritten.headers_mut().insert(header::ALLOW, allow.clone());
            }
            rewritten
        }
        _ => Response::from_parts(parts, full(bytes)),
    }
}

/// Bind the unix socket: parent dir 0700, a stale file replaced, a live one refused, 0600.
pub async fn bind_unix_socket(path: &Path) -> Result<UnixListener, SocketError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    if path.exists() {
        let probe = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            tokio::net::UnixStream::connect(path),
        )
        .await;
        if matches!(probe, Ok(Ok(_))) {
            return Err(SocketError::InUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}
