//! The proxy's own MCP server under `/mcp` (streamable HTTP, on the same port as the API).
//! Each path is a [`surface`]: `/mcp/call` (and `/mcp` by default) has the built-in tools
//! agents use — `retrieve_tools`, `call_tool` and its read/write/destructive variants,
//! `describe_tool`, `upstream_servers`, `quarantine_security`, `read_cache` — with the Go
//! original's names and argument names (results are JSON text content; failures are tool
//! results with `isError`, naming the server and the cause); `/mcp/all` lists every
//! upstream tool as `server__tool`; `/mcp/servers/{name}` is one upstream, transparent.
//! Resources, prompts and completion come from the [`catalog`] on every surface; what an
//! upstream says about a request (progress, log messages, sampling, elicitation, roots)
//! reaches the client that made it ([`client_link`]), and list changes reach every session
//! that can see them ([`notices`]).
//!
//! Host and Origin are checked by the front door for every route, `/mcp` included
//! (`front::boundary`), before a request gets here; then [`auth`] decides who the caller is
//! (nobody, the API key, or an agent token whose grant limits what it sees and calls; a
//! session keeps the credential that opened it). Simple requests on initialized sessions
//! are answered with one JSON body by the [`fast`] path; everything else — the handshake,
//! sessions, the GET stream, DELETE, progress — is rmcp's `StreamableHttpService`. Both
//! dispatch through the same [`dispatch::Builtins`]. Sessions idle for
//! [`sessions::IDLE_LIMIT`] are closed.
//!
//! The same handler also serves MCP on the process's stdin/stdout ([`stdio`]) when the
//! proxy is spawned by an agent as a stdio server.

mod abort;
mod auth;
mod builtin;
mod catalog;
mod client_link;
mod direct;
mod dispatch;
mod errors;
mod fast;
mod handler;
mod malformed;
mod manage;
mod notices;
mod parked;
mod result;
#[cfg(test)]
mod retrieve_tokens;
mod search;
mod sessions;
mod stdio;
mod surface;
mod tasks;
mod truncate;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::app::App;

pub use auth::OwnerSocket;
pub use dispatch::Builtins;
pub use handler::ProxyMcp;
pub use search::typical_answer_tokens;
pub use stdio::{StdioError, serve_stdio};
pub use surface::{McpPath, Surface};
pub use truncate::{Cut, ResponseCache};

/// A `/mcp` response body.
pub type McpBody = BoxBody<Bytes, Infallible>;

/// How often idle sessions are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The `/mcp` endpoint.
#[derive(Clone)]
pub struct McpEndpoint {
    inner: Arc<Inner>,
}

struct Inner {
    app: Arc<App>,
    builtins: Arc<dispatch::Builtins>,
    catalog: Arc<catalog::Catalog>,
    config: StreamableHttpServerConfig,
    /// rmcp's service of each surface, made when first asked for.
    served: Mutex<HashMap<Surface, Served>>,
    fast: fast::FastPath,
    sessions: Arc<sessions::Sessions>,
    parked: Arc<parked::Parked>,
}

/// rmcp's streamable HTTP service of one surface, and its sessions.
#[derive(Clone)]
struct Served {
    rmcp: StreamableHttpService<ProxyMcp, LocalSessionManager>,
    manager: Arc<LocalSessionManager>,
}

/// Build the `/mcp` endpoint. Idle sessions are swept until `shutdown`.
pub fn endpoint(
    app: Arc<App>,
    cache: Arc<ResponseCache>,
    shutdown: CancellationToken,
) -> McpEndpoint {
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = shutdown.clone();
    // The front door checked Host and Origin with the proxy's own lists (which know the
    // bound port); rmcp's copy of the check would only disagree with them.
    config.allowed_hosts = Vec::new();
    config.allowed_origins = Vec::new();
    let sessions = Arc::new(sessions::Sessions::default());
    let builtins = Arc::new(dispatch::Builtins::new(app.clone(), cache));
    let catalog = Arc::new(catalog::Catalog::new(app.clone(), Arc::default()));
    let inner = Arc::new(Inner {
        app,
        builtins: builtins.clone(),
        catalog,
        config,
        served: Mutex::new(HashMap::new()),
        fast: fast::FastPath::new(builtins, sessions.clone()),
        sessions,
        parked: Arc::default(),
    });
    tokio::spawn(sweep_idle(inner.clone(), shutdown));
    McpEndpoint { inner }
}

impl Inner {
    /// rmcp's service for `surface`.
    fn served(&self, surface: &Surface) -> Served {
        let mut served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = served.get(surface) {
            return found.clone();
        }
        // rmcp does not see fast-path traffic, so its own idle timer would close busy
        // sessions; the sweeper expires sessions by their real last activity instead.
        let mut manager = LocalSessionManager::default();
        manager.session_config.keep_alive = None;
        let manager = Arc::new(manager);
        let rmcp = {
            let (app, builtins, catalog, sessions, parked, surface) = (
                self.app.clone(),
                self.builtins.clone(),
                self.catalog.clone(),
                self.sessions.clone(),
                self.parked.clone(),
                surface.clone(),
            );
            StreamableHttpService::new(
                move || {
                    Ok(ProxyMcp::new(
                        app.clone(),
                        builtins.clone(),
                        catalog.clone(),
                        sessions.clone(),
                        parked.clone(),
                        surface.clone(),
                    ))
                },
                manager.clone(),
                self.config.clone(),
            )
        };
        let made = Served { rmcp, manager };
        served.insert(surface.clone(), made.clone());
        made
    }

    /// Every surface's session manager.
    fn managers(&self) -> Vec<Arc<LocalSessionManager>> {
        let served = self.served.lock().unwrap_or_else(|e| e.into_inner());
        served.values().map(|s| s.manager.clone()).collect()
    }
}

impl McpEndpoint {
    /// Serve one request on `path` under `/mcp`.
    pub async fn handle(&self, mut req: Request<Incoming>, path: &McpPath) -> Response<McpBody> {
        let inner = &self.inner;
        let settings = inner.app.settings();
        let surface = path.surface(&settings.routing_mode);
        if let Surface::Server(name) = &surface
            && !settings.has_server(name)
        {
            return plain(
                StatusCode::NOT_FOUND,
                format!("Not Found: no server named '{name}'"),
            );
        }
        let owner = req.extensions().get::<OwnerSocket>().is_some();
        let caller = match auth::identify(req.headers(), owner, &inner.app, &settings) {
            Ok(caller) => caller,
            Err(refusal) => return auth::refuse(&refusal),
        };
        let session = session_id(req.headers());
        if let Some(id) = &session {
            match inner.sessions.caller(id) {
                Some(bound) if bound.same_as(&caller) => {}
                Some(_) => return auth::refuse(&auth::Refusal::OtherCredential),
                // Never created (or ended): no credential may pick it up.
                None => {
                    return plain(StatusCode::NOT_FOUND, "Not Found: Session not found".into());
                }
            }
        }
        req.extensions_mut().insert(caller.clone());
        let is_delete = req.method() == Method::DELETE;
        if is_delete && let Some(id) = &session {
            // Gone for the fast path at once; rmcp ends the session below.
            inner.sessions.remove(id);
        }
        // A malformed body is answered with a JSON-RPC error here, never by rmcp's 415.
        let read = match inner.fast.try_answer(req, &surface).await {
            fast::Fast::Answered(resp) => return resp.map(|b| b.boxed()),
            fast::Fast::Untouched(req) => match malformed::check(req).await {
                malformed::Checked::Untouched(req) => {
                    let mut rmcp = inner.served(&surface).rmcp;
                    let Ok(resp) = rmcp.call(req).await;
                    return self.finish(resp, session, caller, is_delete);
                }
                malformed::Checked::Read(req) => req,
                malformed::Checked::Answered(resp) => {
                    // An oversized body left unread must close the connection (finish).
                    return self.finish(resp, session, caller, is_delete);
                }
            },
            fast::Fast::Declined(req) => match malformed::check_bytes(req.body()) {
                Some(resp) => return self.finish(resp, session, caller, is_delete),
                None => req,
            },
        };
        let served = inner.served(&surface);
        let abort = abort::request_id(read.body()).map(|id| {
            let (body, headers) = abort::cancellation(&id, read.headers());
            let (uri, caller) = (read.uri().clone(), caller.clone());
            let rmcp = served.rmcp.clone();
            move || {
                let mut cancel = Request::new(Full::new(body));
                *cancel.method_mut() = Method::POST;
                *cancel.uri_mut() = uri;
                *cancel.headers_mut() = headers;
                cancel.extensions_mut().insert(caller);
                let mut rmcp = rmcp;
                tokio::spawn(async move {
                    // Nothing to do if the session ended meanwhile.
                    let _ = rmcp.call(cancel).await;
                });
            }
        });
        let Ok(mut resp) = served.rmcp.clone().call(read.map(Full::new)).await;
        if let Some(abort) = abort {
            resp = resp.map(|body| abort::AbortWatch::watch(body, Box::new(abort)));
        }
        self.finish(resp, session, caller, is_delete)
    }

    /// What every rmcp answer gets: the session bound to its credential, the DELETE status
    /// clients expect, and a closed connection after an oversized body.
    fn finish(
        &self,
        mut resp: Response<McpBody>,
        session: Option<String>,
        caller: auth::Caller,
        is_delete: bool,
    ) -> Response<McpBody> {
        let inner = &self.inner;
        if session.is_none()
            && let Some(id) = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            // `initialize` created a session: it belongs to this credential.
            inner.sessions.bind(id.to_string(), caller);
        }
        // rmcp acknowledges a session DELETE with 202; the official Python SDK counts only
        // 200/204 as "terminated" and warns otherwise. The session is gone either way.
        if is_delete && resp.status() == StatusCode::ACCEPTED {
            *resp.status_mut() = StatusCode::OK;
        }
        // rmcp stops reading an oversized body; the rest of it is still on the wire, so this
        // connection cannot carry another request. Say so, or the client's pool reuses it.
        if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

fn session_id(headers: &http::HeaderMap) -> Option<String> {
    Some(headers.get("mcp-session-id")?.to_str().ok()?.to_string())
}

/// A plain-text answer (what rmcp sends for an unknown session).
fn plain(status: StatusCode, message: String) -> Response<McpBody> {
    let mut resp = Response::new(Full::new(Bytes::from(message)).boxed());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Close sessions unheard from for [`sessions::IDLE_LIMIT`].
async fn sweep_idle(inner: Arc<Inner>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
        let idle = inner.sessions.idle(sessions::IDLE_LIMIT);
        if idle.is_empty() {
            continue;
        }
        let managers = inner.managers();
        for id in idle {
            inner.sessions.remove(&id);
            // The session lives in the manager of its surface; the others do not know it.
            for manager in &managers {
                let _ = manager.close_session(&id.clone().into()).await;
            }
        }
    }
}
