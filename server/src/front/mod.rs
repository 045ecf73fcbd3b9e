//! The front door: the hyper server on the public TCP port and on the unix socket.
//!
//! Why it exists: dropshot serves the REST API from the generated `ProxyApi` trait, but it
//! cannot see a connection's transport (TCP or the owner's socket), answers its own router
//! errors in its own shape, parses a path its own way and reads a body before any of our code
//! runs. So dropshot listens only on a private loopback port, and every request arrives here
//! first and takes one loopback hop to it. What this module decides: Host/Origin and CORS,
//! the canonical path and its route family (one decision, made on exactly the path dropshot
//! will route), who the caller is (the API key, or the socket's peer), connection limits,
//! the body's media type, and `/mcp`, which never reaches dropshot. What dropshot decides:
//! which operation a path and method are, parameter and body parsing, and the handlers —
//! whose generated bodies check the security again, accepting only the per-process internal
//! credential ([`crate::api::INTERNAL_HEADER`]) that this module attaches to a request it
//! has authenticated, so a local process that calls the private port directly, key or not,
//! is refused. Every refusal here is an [`ApiError`] in the API's envelope
//! ([`crate::api::error`], the one REST mapping).
//!
//! Per request, in order:
//! 1. on TCP, [`boundary`]: `Host` and `Origin` (403), and the preflight
//!    answer (204) for origins listed in `cors_allowed_origins` — nothing else answers
//!    `OPTIONS` here;
//! 2. [`route`]: the path is canonicalised the way dropshot will read it
//!    (400 for dot-segments or bad encoding) and classified; a path outside the proxy's
//!    route families is refused (404), never forwarded;
//! 3. `/mcp` goes to the MCP endpoint; for the rest, authentication by the spec's declared
//!    security on the canonical path (the API key on TCP, the peer's uid on the socket);
//! 4. a request body must be `application/json` (415) — an empty one where the spec makes
//!    it optional reads as `{}`;
//! 5. the request goes to dropshot on a private loopback port at exactly the canonical path,
//!    as HTTP/1.1 whatever the client spoke; only a request that needed the key and passed
//!    (or came over the socket) carries the per-process internal secret. HEAD is served
//!    from the GET route when dropshot has no HEAD route. Dropshot's own router errors come
//!    back rewritten into the API's error envelope. WebSocket upgrades are spliced through.
//!
//! Responses carry `nosniff`, HTML ones a Content-Security-Policy and `X-Frame-Options:
//! DENY`, and CORS headers only for a listed origin. It owns no application state.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mcpproxy_api::{ApiError, Security, codes};
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;

mod boundary;
mod conn;
pub mod metrics_port;
mod route;

pub use boundary::Boundary;
use boundary::Caller;
use conn::Cap;
pub use conn::Limits;
use route::{PathError, Route};

use crate::api::error::{self, Body};
use crate::api::{INTERNAL_HEADER, keys_match, presented_key};

/// Error bodies larger than this are passed through untouched.
const MAX_REWRITE_BYTES: usize = 64 * 1024;

/// The policy of HTML pages that bring none of their own (Swagger UI; the web UI sets a
/// stricter one): own scripts only, no framing.
const HTML_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// How a connection reached us.
#[derive(Clone)]
enum Via {
    /// The TCP port: Host/Origin checked, the API key required.
    Tcp(Arc<Boundary>),
    /// The owner's unix socket: trusted, no browser can reach it.
    Socket,
}

/// Shared state of the front door.
pub struct FrontDoor {
    mcp: crate::mcp::McpEndpoint,
    api_key: String,
    internal_secret: String,
    backend: SocketAddr,
    client: Client<HttpConnector, Body>,
    limits: Limits,
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
        limits: Limits,
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
            limits,
            shutdown,
        })
    }

    /// Accept TCP connections until shutdown; `boundary` holds this port's Host/Origin lists.
    pub async fn serve_tcp(self: Arc<Self>, listener: TcpListener, boundary: Boundary) {
        let via = Via::Tcp(Arc::new(boundary));
        let cap = Cap::new(&self.limits);
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let Some(permit) = cap.admit() else {
                conn::refuse_busy(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (this, via) = (self.clone(), via.clone());
            tokio::spawn(async move {
                if conn::first_bytes_arrive(&stream, this.limits.first_byte_timeout).await {
                    this.serve_connection(TokioIo::new(stream), via).await;
                }
                drop(permit);
            });
        }
    }

    /// Accept unix-socket connections from our own uid until shutdown.
    pub async fn serve_unix(self: Arc<Self>, listener: UnixListener) {
        let uid = crate::os::current_uid();
        let cap = Cap::new(&self.limits);
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
            let Some(permit) = cap.admit() else {
                conn::refuse_busy(stream);
                continue;
            };
            let this = self.clone();
            tokio::spawn(async move {
                this.serve_connection(TokioIo::new(stream), Via::Socket)
                    .await;
                drop(permit);
            });
        }
    }

    async fn serve_connection<I>(self: Arc<Self>, io: I, via: Via)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let builder = conn::builder(&self.limits);
        let service = hyper::service::service_fn(move |req| {
            let (this, via) = (self.clone(), via.clone());
            async move { Ok::<_, Infallible>(this.handle(req, &via).await) }
        });
        let _ = builder.serve_connection_with_upgrades(io, service).await;
    }

    async fn handle(&self, req: Request<Incoming>, via: &Via) -> Response<Body> {
        let caller = match via {
            Via::Tcp(boundary) => match boundary.check(req.uri(), req.headers()) {
                Ok(caller) => caller,
                Err(refusal) => {
                    return decorate(
                        error::response(&ApiError::forbidden(refusal.to_string())),
                        &Caller::SameOrigin,
                    );
                }
            },
            Via::Socket => Caller::SameOrigin,
        };
        if boundary::is_preflight(req.method(), req.headers())
            && matches!(caller, Caller::Listed(_))
        {
            let mut resp = Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(empty())
                .unwrap_or_default();
            boundary::add_cors(resp.headers_mut(), &caller, true);
            return resp;
        }
        let resp = self.route(req, via).await;
        decorate(resp, &caller)
    }

    async fn route(&self, req: Request<Incoming>, via: &Via) -> Response<Body> {
        let (path, security) = match route::classify(req.method(), req.uri().path()) {
            Ok(Route::Mcp(path)) => {
                let mut req = req;
                if matches!(via, Via::Socket) {
                    req.extensions_mut().insert(crate::mcp::OwnerSocket);
                }
                return self.serve_mcp(req, &path).await;
            }
            Ok(Route::Api { path, security }) => (path, security),
            Err(e @ PathError::Unknown) => {
                return error::response(&ApiError::not_found(e.to_string()));
            }
            Err(e) => {
                return error::response(&ApiError::bad_request(e.to_string()));
            }
        };
        let credentialed = match (security, via) {
            (Security::None, _) => false,
            (Security::ApiKey, Via::Socket) => true,
            (Security::ApiKey, Via::Tcp(_)) => {
                let ok = presented_key(req.headers(), req.uri().query())
                    .is_some_and(|key| keys_match(&key, &self.api_key));
                if !ok {
                    return error::response(&ApiError::unauthorized());
                }
                true
            }
        };
        let (mut parts, body) = req.into_parts();
        let Some(uri) = self.backend_uri(&path, parts.uri.query()) else {
            return error::response(&ApiError::bad_request("malformed request URI"));
        };
        parts.uri = uri;
        parts.headers.remove(INTERNAL_HEADER);
        parts.headers.remove(crate::api::VIA_HEADER);
        if credentialed && let Ok(secret) = HeaderValue::from_str(&self.internal_secret) {
            parts.headers.insert(INTERNAL_HEADER, secret);
            let via = match via {
                Via::Socket => crate::api::VIA_SOCKET,
                Via::Tcp(_) => crate::api::VIA_API_KEY,
            };
            parts
                .headers
                .insert(crate::api::VIA_HEADER, HeaderValue::from_static(via));
        }
        // The backend speaks HTTP/1.1; an HTTP/2 client is served the same answer.
        parts.version = http::Version::HTTP_11;
        if parts.headers.contains_key(header::UPGRADE) {
            return self.forward_upgrade(Request::from_parts(parts, body)).await;
        }
        let body = match json_body(&mut parts, body, &path).await {
            Ok(body) => body,
            Err(resp) => return resp,
        };
        let resp = if parts.method == Method::HEAD {
            self.forward_head(parts).await
        } else {
            self.forward(Request::from_parts(parts, body)).await
        };
        allow_from_spec(resp, &path)
    }

    /// `/mcp` is the MCP endpoint's business (Host and Origin were checked above).
    async fn serve_mcp(
        &self,
        req: Request<Incoming>,
        path: &crate::mcp::McpPath,
    ) -> Response<Body> {
        let resp =
            crate::telemetry::trace::mcp_request(req, |req| self.mcp.handle(req, path)).await;
        resp.map(|b| b.map_err(|never| match never {}).boxed())
    }

    fn backend_uri(&self, path: &str, query: Option<&str>) -> Option<http::Uri> {
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        format!("http://{}{path}{query}", self.backend).parse().ok()
    }

    async fn forward(&self, req: Request<Body>) -> Response<Body> {
        match self.client.request(req).await {
            Ok(resp) => normalize_error(resp).await,
            Err(e) => error::response(&error::backend_unavailable(format!(
                "API backend unavailable: {e}"
            ))),
        }
    }

    /// HEAD: the route's own HEAD if dropshot has one, else the GET answer without its body.
    async fn forward_head(&self, parts: http::request::Parts) -> Response<Body> {
        let head = Request::from_parts(parts.clone(), empty());
        let resp = self.forward(head).await;
        if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
            return resp;
        }
        let mut get = Request::from_parts(parts, empty());
        *get.method_mut() = Method::GET;
        let (parts, _) = self.forward(get).await.into_parts();
        Response::from_parts(parts, empty())
    }

    async fn forward_upgrade(&self, mut req: Request<Incoming>) -> Response<Body> {
        let client_upgrade = hyper::upgrade::on(&mut req);
        let (parts, _) = req.into_parts();
        let outgoing = Request::from_parts(parts, empty());
        let stream = match tokio::net::TcpStream::connect(self.backend).await {
            Ok(s) => s,
            Err(e) => {
                return error::response(&error::backend_unavailable(format!(
                    "API backend unavailable: {e}"
                )));
            }
        };
        let (mut sender, conn) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(pair) => pair,
                Err(e) => {
                    return error::response(&error::backend_unavailable(format!(
                        "API backend handshake failed: {e}"
                    )));
                }
            };
        tokio::spawn(conn.with_upgrades());
        let mut resp = match sender.send_request(outgoing).await {
            Ok(r) => r,
            Err(e) => {
                return error::response(&error::backend_unavailable(format!(
                    "API backend failed: {e}"
                )));
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

/// The request body as forwarded. A body must be `application/json` (415 otherwise: a
/// browser's cross-site "simple request" cannot send that type); an empty one where the spec
/// makes the body optional (quarantine: "quarantine it", as in the Go original) reads as
/// `{}` — nowhere else, as an empty `config/apply` read as `{}` would drop every server.
async fn json_body(
    parts: &mut http::request::Parts,
    body: Incoming,
    path: &str,
) -> Result<Body, Response<Body>> {
    if body.is_end_stream() {
        let optional = mcpproxy_api::find_operation(parts.method.as_str(), path)
            .is_some_and(|op| op.empty_body_is_empty_object);
        if !optional {
            return Ok(empty());
        }
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("2"));
        parts.headers.remove(header::TRANSFER_ENCODING);
        return Ok(full(Bytes::from_static(b"{}")));
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(error::response(&error::from_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE.as_u16(),
            "request body must be sent with Content-Type: application/json",
        )));
    }
    object_body(body).await
}

/// Most blank bytes read ahead of a body's first character.
const MAX_LEADING_BLANKS: usize = 64 * 1024;

/// The body as it came, once its first character shows it is a JSON object. Every request
/// body of the API is one (the spec says so), and serde would read a struct from a JSON
/// array (`[null, null]` as a two-field struct), so an array or a scalar is refused here,
/// before any handler sees it. Only the frames up to that first character are held.
async fn object_body(mut body: Incoming) -> Result<Body, Response<Body>> {
    let refuse = |message: &str| error::response(&ApiError::bad_request(message));
    let mut read: Vec<Bytes> = Vec::new();
    let mut blanks = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| refuse(&format!("cannot read the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let first = data.iter().copied().find(|b| !b.is_ascii_whitespace());
        blanks += data.len();
        read.push(data);
        match first {
            Some(b'{') => break,
            Some(_) => return Err(refuse("request body must be a JSON object")),
            None if blanks > MAX_LEADING_BLANKS => {
                return Err(refuse("request body must be a JSON object"));
            }
            None => {}
        }
    }
    let head = futures::stream::iter(
        read.into_iter()
            .map(|data| Ok::<_, hyper::Error>(hyper::body::Frame::data(data))),
    );
    let rest = http_body_util::BodyStream::new(body);
    let stream = futures::StreamExt::chain(head, rest);
    Ok(http_body_util::StreamBody::new(stream)
        .map_err(Into::into)
        .boxed())
}

fn empty() -> Body {
    full(Bytes::new())
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A 405 lists the methods the spec declares for the path (dropshot's `Allow` names only
/// one of them).
fn allow_from_spec(mut resp: Response<Body>, path: &str) -> Response<Body> {
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
        return resp;
    }
    let methods = mcpproxy_api::allowed_methods(path);
    if let Ok(allow) = HeaderValue::from_str(&methods.join(", "))
        && !methods.is_empty()
    {
        resp.headers_mut().insert(header::ALLOW, allow);
    }
    resp
}

/// The headers every answer gets: `nosniff`; on HTML, a CSP, no framing and no referrer
/// (the page URL may carry `?apikey=`); CORS only for a listed origin.
fn decorate(mut resp: Response<Body>, caller: &Caller) -> Response<Body> {
    let headers = resp.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/html"));
    if is_html {
        // A page that brings its own (stricter) policy keeps it: the web UI's.
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(HTML_CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    boundary::add_cors(headers, caller, false);
    resp
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
        return error::response(&ApiError::new(
            dropshot::ErrorStatusCode::from_u16(status.as_u16())
                .unwrap_or(dropshot::ErrorStatusCode::INTERNAL_SERVER_ERROR),
            codes::INTERNAL_ERROR,
            "API backend error",
        ));
    };
    let bytes = collected.to_bytes();
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(v) if v.get("success").is_none() => {
            let message = v
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("request failed");
            let mut rewritten = error::response(&error::from_status(status.as_u16(), message));
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
