//! The streamable HTTP transport (`http`, `streamable-http`): rmcp's reqwest client with the
//! server's `headers` on every request, and the direct lane for tool calls beside it.

use std::collections::HashMap;

use http::{HeaderName, HeaderValue};
use rmcp::transport::{
    StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
};

use std::sync::Arc;

use super::{Companion, Connected, Context, Modern, lifecycle::Attempt};
use crate::upstream::error::UpstreamError;

/// Parse the configured headers.
pub(crate) fn header_map(
    server: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<HashMap<HeaderName, HeaderValue>, UpstreamError> {
    headers
        .iter()
        .map(|(name, value)| {
            let parsed_name = HeaderName::try_from(name.as_str());
            let parsed_value = HeaderValue::from_str(value);
            match (parsed_name, parsed_value) {
                (Ok(n), Ok(v)) => Ok((n, v)),
                _ => Err(UpstreamError::Transport {
                    server: server.to_string(),
                    message: format!("invalid header `{name}`"),
                }),
            }
        })
        .collect()
}

/// Connect with streamable HTTP and run the MCP handshake.
pub(crate) async fn connect(
    ctx: Context<'_>,
    url: &str,
    attempt: Attempt,
) -> Result<Connected, UpstreamError> {
    let headers = header_map(ctx.name, &ctx.config.headers)?;
    let config = StreamableHttpClientTransportConfig::with_uri(url).custom_headers(headers.clone());
    let (client, lane) = super::http_lane::pair(url, ctx.auth.clone());
    let transport = StreamableHttpClientTransport::with_client(client, config);
    let companion =
        Companion::new(url, headers, &ctx.handler, ctx.log, &ctx.ct).with_auth(ctx.auth.clone());
    let mut connected = super::handshake(ctx, transport, "streamable-http", attempt).await?;
    connected.direct = Some(lane);
    let legacy = connected
        .client
        .peer()
        .peer_info()
        .is_some_and(|info| super::lifecycle::is_legacy(info.protocol_version.as_str()));
    if legacy {
        connected.modern = Some(Arc::new(Modern::Companion(Box::new(companion))));
    }
    Ok(connected)
}
