//! How a 2025 upstream session serves 2026-07-28 clients ([`Modern`]).
//!
//! A server that speaks both revisions is kept on 2025-11-25 ([`super::lifecycle`]): that
//! one session carries what 2025 clients need. A 2026-07-28 client must see the server as
//! 2026-07-28 — input-required results, -32021 for a capability it lacks — so its requests
//! go out as 2026-07-28 requests when the server takes them:
//!
//! - Streamable HTTP: a session cannot mix revisions (its `MCP-Protocol-Version` header is
//!   one for every request), so they go out on a [`Companion`]: a second client to the same
//!   URL, opened with `server/discover` the first time such a client needs it. 2026-07-28
//!   over HTTP has no session state: it costs one discovery request, no process, no stream.
//! - stdio: the request carries its own revision, capabilities and log level in `_meta`
//!   (inline negotiation, SEP-2575) on the same pipe — when the server accepts that on a
//!   session opened with `initialize`, which some SDKs refuse. [`InlineProbe`] asks once
//!   with `server/discover` on the session.
//!
//! A server that answers neither is 2025-only: that is remembered, and its 2026-07-28
//! clients use the 2025 session (what it asks them is translated, see `mcp::parked`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::{
    RoleClient,
    model::{ClientCapabilities, ProtocolVersion, RequestMetaObject},
    service::Peer,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::{Client, lifecycle::Attempt};
use crate::upstream::{client::Handler, logs::ServerLog, relay::Relay};

/// An open companion: rmcp's client and the relay of its requests.
pub(crate) struct Opened {
    /// Kept so the session lives as long as the companion.
    client: Client,
    /// The requests in flight on it and their clients.
    pub relay: Arc<Relay>,
}

impl Opened {
    /// rmcp's client.
    pub(crate) fn peer(&self) -> &Peer<RoleClient> {
        self.client.peer()
    }
}

/// The way a 2025 session serves 2026-07-28 clients.
pub(crate) enum Modern {
    /// A second session to the same URL (streamable HTTP).
    Companion(Box<Companion>),
    /// 2026-07-28 requests on the same session, if the server takes them (stdio).
    Inline(InlineProbe),
}

impl Modern {
    /// The server said its tool list changed (on the 2025 session): a companion lists the
    /// tools again before its next request.
    pub(crate) fn tools_changed(&self) {
        if let Self::Companion(companion) = self {
            companion.stale.store(true, Ordering::Release);
        }
    }
}

/// Whether a 2025 session takes 2026-07-28 requests inline; asked once.
#[derive(Default)]
pub(crate) struct InlineProbe {
    answer: OnceCell<bool>,
}

/// Longest the probe waits for the server's answer.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl InlineProbe {
    /// Whether the server of `peer` answers a 2026-07-28 `server/discover` on this session
    /// listing that revision.
    pub(crate) async fn accepts(&self, peer: &Peer<RoleClient>, log: &ServerLog) -> bool {
        *self
            .answer
            .get_or_init(|| async {
                let meta = RequestMetaObject::with_client_context(
                    ProtocolVersion::LATEST,
                    crate::upstream::client::identity_of_proxy(),
                    ClientCapabilities::default(),
                );
                let answer = tokio::time::timeout(PROBE_TIMEOUT, Box::pin(peer.discover(meta))).await;
                let accepts = matches!(
                    &answer,
                    Ok(Ok(result)) if result.supported_versions.contains(&ProtocolVersion::LATEST)
                );
                log.info(if accepts {
                    "the server takes 2026-07-28 requests on this session: 2026-07-28 clients are served at that revision"
                } else {
                    "the server takes no 2026-07-28 requests on this session: its 2026-07-28 clients use the 2025 session"
                });
                accepts
            })
            .await
    }
}

/// A second, 2026-07-28 client beside a 2025 streamable-HTTP session, opened on first use.
/// It has a [`Relay`] of its own (its request ids are its own) and closes with the
/// session it stands beside.
pub(crate) struct Companion {
    url: String,
    headers: std::collections::HashMap<http::HeaderName, http::HeaderValue>,
    handler: Handler,
    log: ServerLog,
    ct: CancellationToken,
    opened: OnceCell<Option<Opened>>,
    /// OAuth tokens for its requests, as on the main session.
    auth: Option<Arc<dyn crate::oauth::BearerSource>>,
    /// Set when the server's tools changed since the companion listed them.
    stale: AtomicBool,
}

impl Companion {
    /// The companion of the session at `url` (with the server's `headers`), whose handler is
    /// `handler` and which ends with `ct`.
    pub(crate) fn new(
        url: &str,
        headers: std::collections::HashMap<http::HeaderName, http::HeaderValue>,
        handler: &Handler,
        log: &ServerLog,
        ct: &CancellationToken,
    ) -> Self {
        let handler = Handler {
            relay: Arc::default(),
            ..handler.clone()
        };
        Self {
            url: url.to_string(),
            headers,
            handler,
            log: log.clone(),
            ct: ct.child_token(),
            opened: OnceCell::new(),
            auth: None,
            stale: AtomicBool::new(false),
        }
    }

    /// Its requests carry the OAuth tokens of `auth` (as the main session's do).
    pub(crate) fn with_auth(mut self, auth: Option<Arc<dyn crate::oauth::BearerSource>>) -> Self {
        self.auth = auth;
        self
    }

    /// The open companion; opened on first use, its tools listed again when they changed
    /// since. `None` when the server does not speak 2026-07-28 (asked once).
    pub(crate) async fn get(&self) -> Option<&Opened> {
        let opened = self.opened().await?;
        // Boxed like the opening: this sits inside every call's future.
        if self.stale.swap(false, Ordering::AcqRel)
            && !Box::pin(self.list_tools(opened.peer())).await
        {
            // Try again on the next request.
            self.stale.store(true, Ordering::Release);
        }
        Some(opened)
    }

    async fn opened(&self) -> Option<&Opened> {
        self.opened
            .get_or_init(|| async {
                // Boxed: rmcp's handshake future is deep, and this sits inside every call's.
                match Box::pin(self.open()).await {
                    Ok(opened) => {
                        self.log
                            .info("opened a 2026-07-28 session beside the 2025 one for 2026-07-28 clients");
                        Some(opened)
                    }
                    Err(error) => {
                        self.log.info(&format!(
                            "the server does not speak 2026-07-28 ({error}); its 2026-07-28 clients use the 2025 session"
                        ));
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    async fn open(&self) -> Result<Opened, rmcp::service::ClientInitializeError> {
        match &self.auth {
            Some(auth) => {
                let (http, _) = super::http_lane::pair(&self.url, Some(auth.clone()));
                self.open_on(http).await
            }
            None => self.open_on(reqwest::Client::new()).await,
        }
    }

    async fn open_on<C>(&self, http: C) -> Result<Opened, rmcp::service::ClientInitializeError>
    where
        C: rmcp::transport::streamable_http_client::StreamableHttpClient<Error = reqwest::Error>
            + Send
            + Sync
            + 'static,
    {
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str())
            .custom_headers(self.headers.clone());
        let transport = StreamableHttpClientTransport::with_client(http, config);
        let relay = self.handler.relay.clone();
        let client = super::serve(
            self.handler.clone(),
            transport,
            Attempt::Discover,
            self.ct.clone(),
        )
        .await?;
        self.list_tools(client.peer()).await;
        Ok(Opened { client, relay })
    }

    /// List the server's tools on the companion; false when that failed (logged).
    /// rmcp computes each call's `Mcp-Param-*` headers from the tool schemas it listed
    /// on this client; without a listing a tool with `x-mcp-header` arguments is refused.
    async fn list_tools(&self, peer: &Peer<RoleClient>) -> bool {
        match crate::upstream::client::list_tools(peer).await {
            Ok(_) => true,
            Err(error) => {
                self.log.info(&format!(
                    "tools/list on the 2026-07-28 session failed: {error}"
                ));
                false
            }
        }
    }
}

impl Drop for Companion {
    fn drop(&mut self) {
        self.ct.cancel();
    }
}
