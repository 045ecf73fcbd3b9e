//! Transport selection and connection: turns a server's configuration into a running MCP
//! client session (handshake done). One file per transport; `auto` with a URL tries
//! streamable HTTP and falls back to legacy SSE when the server's 4xx says it is an old one.
//! Which MCP lifecycle (`server/discover` or `initialize`) opens the session is
//! [`lifecycle`]'s choice; the attempts of its plan run here, each on a fresh connection.

mod http;
pub(crate) mod http_lane;
pub(crate) mod lifecycle;
mod lines;
mod listen;
mod modern;
mod ordered;
pub(crate) mod process;
mod sse;
mod stdio;

use std::sync::Arc;

use rmcp::{RoleClient, service::RunningService};
use tokio_util::sync::CancellationToken;

use super::{
    client::Handler,
    error::{UpstreamError, suggests_legacy_sse},
    logs::ServerLog,
};
use crate::config::{DockerIsolation, EnvironmentConfig, ServerConfig, Transport};
use lifecycle::Attempt;
pub(crate) use modern::{Companion, InlineProbe, Modern};
use process::ProcessGroup;
pub(super) use sse::SseError;

/// A successful JSON-RPC response with nothing else in it, its result unread: what both
/// hot paths (stdio's [`lines`] and HTTP's [`http_lane`]) read an answer as in one pass,
/// leaving anything else (an error, an extra member) to the whole-message reading. `Id` is
/// the id as the path compares it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlainResponse<'a, Id> {
    #[expect(dead_code, reason = "checked by its type: exactly \"2.0\"")]
    jsonrpc: rmcp::model::JsonRpcVersion2_0,
    /// The request's id.
    pub id: Id,
    /// The result, as the server wrote it.
    #[serde(borrow)]
    pub result: &'a serde_json::value::RawValue,
}

/// A connected MCP client session to one upstream server.
pub(crate) type Client = RunningService<RoleClient, Handler>;

/// What a successful connection hands back.
pub(crate) struct Connected {
    /// The MCP session (handshake complete).
    pub client: Client,
    /// The child process group, for stdio servers.
    pub process: Option<ProcessGroup>,
    /// Which transport was used: stdio, streamable-http or sse.
    pub transport: &'static str,
    /// The direct lane for tool calls, on streamable HTTP.
    pub direct: Option<Arc<http_lane::HttpLane>>,
    /// How a 2025 session serves 2026-07-28 clients.
    pub modern: Option<Arc<Modern>>,
}

/// Everything a transport needs to connect.
pub(crate) struct Context<'a> {
    /// Server name.
    pub name: &'a str,
    /// Its configuration.
    pub config: &'a ServerConfig,
    /// Environment settings for stdio servers.
    pub env: &'a EnvironmentConfig,
    /// Global Docker isolation settings for stdio servers.
    pub docker: &'a DockerIsolation,
    /// Its log.
    pub log: &'a ServerLog,
    /// The client handler of this session.
    pub handler: Handler,
    /// Cancels the session.
    pub ct: CancellationToken,
    /// The protocol revision the previous connection negotiated.
    pub last_revision: Option<String>,
    /// OAuth bearer tokens for HTTP transports.
    pub auth: Option<Arc<dyn crate::oauth::BearerSource>>,
}

impl Context<'_> {
    fn again(&self) -> Self {
        Context {
            name: self.name,
            config: self.config,
            env: self.env,
            docker: self.docker,
            log: self.log,
            handler: self.handler.clone(),
            ct: self.ct.clone(),
            last_revision: self.last_revision.clone(),
            auth: self.auth.clone(),
        }
    }
}

/// The MCP handshake over a network transport (no child process to own), as `attempt` says.
pub(crate) async fn handshake<T, E, A>(
    ctx: Context<'_>,
    transport: T,
    kind: &'static str,
    attempt: Attempt,
) -> Result<Connected, UpstreamError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let client = serve(ctx.handler, transport, attempt, ctx.ct)
        .await
        .map_err(|e| super::error::from_initialize(ctx.name, &e))?;
    Ok(Connected {
        client,
        process: None,
        transport: kind,
        direct: None,
        modern: None,
    })
}

/// rmcp's client over `transport`, opened with `attempt`'s lifecycle.
pub(crate) async fn serve<T, E, A>(
    handler: Handler,
    transport: T,
    attempt: Attempt,
    ct: CancellationToken,
) -> Result<Client, rmcp::service::ClientInitializeError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    // Progress keeps its arrival order through rmcp's task per notification.
    let transport = ordered::Ordered::new(transport.into_transport(), handler.relay.clone());
    rmcp::service::serve_client_with_lifecycle_and_ct(handler, transport, attempt.mode(), ct).await
}

/// Run `lifecycle::plan`'s attempts in order with `connect_once` until one connects; the
/// error of the last one otherwise. Authentication problems and cancellation end it at once.
async fn negotiate<'a, F, Fut>(
    ctx: Context<'a>,
    connect_once: F,
) -> Result<Connected, UpstreamError>
where
    F: Fn(Context<'a>, Attempt) -> Fut,
    Fut: Future<Output = Result<Connected, UpstreamError>>,
{
    let attempts = lifecycle::plan(ctx.config.handshake_name(), ctx.last_revision.as_deref());
    let mut last = None;
    for (i, &attempt) in attempts.iter().enumerate() {
        if i > 0 {
            ctx.log
                .info(&format!("trying {} instead", attempt.describe()));
        }
        let started = std::time::Instant::now();
        match connect_once(ctx.again(), attempt).await {
            Ok(connected) => {
                let revision = connected
                    .client
                    .peer()
                    .peer_info()
                    .map(|info| info.protocol_version.to_string())
                    .unwrap_or_default();
                ctx.log.info(&format!(
                    "handshake: {} negotiated {revision} in {} ms",
                    attempt.describe(),
                    started.elapsed().as_millis()
                ));
                listen::start(connected.client.peer(), &ctx.handler, ctx.log, &ctx.ct).await;
                return Ok(connected);
            }
            Err(error) => {
                ctx.log.info(&format!(
                    "handshake: {} failed: {error}",
                    attempt.describe()
                ));
                if matches!(error, UpstreamError::Auth { .. }) || ctx.ct.is_cancelled() {
                    return Err(error);
                }
                last = Some(error);
            }
        }
    }
    Err(last.unwrap_or_else(|| UpstreamError::Transport {
        server: ctx.name.to_string(),
        message: "no handshake to try".into(),
    }))
}

pub(crate) async fn connect(ctx: Context<'_>) -> Result<Connected, UpstreamError> {
    let url = ctx.config.url.clone().unwrap_or_default();
    let need_url = || UpstreamError::Transport {
        server: ctx.name.to_string(),
        message: "no url configured".into(),
    };
    match ctx.config.transport() {
        Transport::Stdio => negotiate(ctx, stdio::connect).await,
        Transport::StreamableHttp if !url.is_empty() => {
            negotiate(ctx, |ctx, attempt| http::connect(ctx, &url, attempt)).await
        }
        Transport::Sse if !url.is_empty() => sse::connect(ctx, &url).await,
        Transport::HttpAuto if !url.is_empty() => match negotiate(ctx.again(), |ctx, attempt| {
            http::connect(ctx, &url, attempt)
        })
        .await
        {
            Err(error) if suggests_legacy_sse(&error) => {
                ctx.log.info(&format!(
                    "streamable HTTP refused ({error}); trying legacy SSE"
                ));
                sse::connect(ctx, &url).await
            }
            other => other,
        },
        _ => Err(need_url()),
    }
}
