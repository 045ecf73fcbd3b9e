//! Transport selection and connection: turns a server's configuration into a running MCP
//! client session (handshake done). One file per transport; `auto` with a URL tries
//! streamable HTTP and falls back to legacy SSE when the server's 4xx says it is an old one.

mod http;
pub(crate) mod http_lane;
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
use crate::config::{DockerIsolationConfig, EnvironmentConfig, ServerConfig, Transport};
use process::ProcessGroup;

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
    pub docker: &'a DockerIsolationConfig,
    /// Its log.
    pub log: &'a ServerLog,
    /// The client handler of this session.
    pub handler: Handler,
    /// Cancels the session.
    pub ct: CancellationToken,
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
        }
    }
}

/// Connect with the configured (or inferred) transport.
/// The MCP handshake over a network transport (no child process to own).
pub(crate) async fn handshake<T, E, A>(
    ctx: Context<'_>,
    transport: T,
    kind: &'static str,
) -> Result<Connected, UpstreamError>
where
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    use rmcp::ServiceExt;
    let client = ctx
        .handler
        .serve_with_ct(transport, ctx.ct)
        .await
        .map_err(|e| super::error::from_initialize(ctx.name, &e))?;
    Ok(Connected {
        client,
        process: None,
        transport: kind,
        direct: None,
    })
}

pub(crate) async fn connect(ctx: Context<'_>) -> Result<Connected, UpstreamError> {
    let url = ctx.config.url.clone().unwrap_or_default();
    let need_url = || UpstreamError::Transport {
        server: ctx.name.to_string(),
        message: "no url configured".into(),
    };
    match ctx.config.transport() {
        Transport::Stdio => stdio::connect(ctx).await,
        Transport::StreamableHttp if !url.is_empty() => http::connect(ctx, &url).await,
        Transport::Sse if !url.is_empty() => sse::connect(ctx, &url).await,
        Transport::HttpAuto if !url.is_empty() => match http::connect(ctx.again(), &url).await {
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
