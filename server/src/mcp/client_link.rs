//! The downstream end of the relay: one client request of a session, as the upstream layer
//! sees it ([`Downstream`]). Progress goes back under the client's own progress token (only
//! when it asked for progress), log messages as far as the session's logging level lets
//! them, and a server→client request (sampling, elicitation, roots) on the stream of the
//! client's request — or at once an error when the client did not declare the capability,
//! so an upstream never waits for an answer that cannot come.

#![expect(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but today's servers use them"
)]

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use rmcp::model::{
    ClientCapabilities, ClientResult, ErrorCode, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam, ProgressToken, RequestId, ServerRequest,
};
use rmcp::service::{OriginatingRequestId, Peer, RequestContext};
use rmcp::{ErrorData, RoleServer};

use crate::upstream::{Downstream, is_legacy_revision};

/// What a session chose: its logging level (none chosen: everything its requests cause).
#[derive(Debug, Default)]
pub struct SessionLevel(Mutex<Option<LoggingLevel>>);

impl SessionLevel {
    /// The client asked for `level` and above.
    pub fn set(&self, level: LoggingLevel) {
        if let Ok(mut chosen) = self.0.lock() {
            *chosen = Some(level);
        }
    }

    /// The level chosen, if any.
    pub fn chosen(&self) -> Option<LoggingLevel> {
        self.0.lock().ok().and_then(|l| *l)
    }

    /// Whether a message at `level` goes to the client (`default` when it chose nothing).
    pub fn admits(&self, level: LoggingLevel, default: bool) -> bool {
        match self.chosen() {
            Some(chosen) => rank(level) >= rank(chosen),
            None => default,
        }
    }
}

/// Severity order of the syslog levels MCP uses.
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// One client request, as the relay's [`Downstream`].
pub struct ClientLink {
    peer: Peer<RoleServer>,
    /// The client request, when it has a stream of its own (not on the JSON fast path).
    request: Option<RequestId>,
    progress: Option<ProgressToken>,
    capabilities: Option<ClientCapabilities>,
    level: Arc<SessionLevel>,
    /// Whether the client's session is on a 2025 revision (takes server→client requests).
    legacy: bool,
    /// The log level this request asked for (2026-07-28 `_meta`), over the session's.
    request_level: Option<LoggingLevel>,
    /// Whether log messages go to a client that chose no level (the transparent surface:
    /// as the server itself would; elsewhere only to clients that asked, so a chatty
    /// server does not flood an agent that never wanted its log).
    logs_by_default: bool,
}

impl ClientLink {
    /// The request of `context`, in a session whose logging level is `level`.
    pub fn of(
        context: &RequestContext<RoleServer>,
        level: Arc<SessionLevel>,
        logs_by_default: bool,
    ) -> Self {
        Self {
            peer: context.peer.clone(),
            request: Some(context.id.clone()),
            progress: context.meta.get_progress_token(),
            capabilities: context.client_capabilities(),
            legacy: context
                .protocol_version()
                .is_none_or(|v| is_legacy_revision(v.as_str())),
            request_level: context.meta.log_level(),
            level,
            logs_by_default,
        }
    }

    /// The same request with its declared capabilities passed through `change`.
    pub fn map_capabilities(
        mut self,
        change: impl FnOnce(ClientCapabilities) -> ClientCapabilities,
    ) -> Self {
        self.capabilities = self.capabilities.map(change);
        self
    }

    /// A request of the session behind `peer` answered without a stream of its own (the
    /// JSON fast path, which never carries progress): what the upstream asks goes on the
    /// session's standalone stream.
    pub fn session(peer: Peer<RoleServer>, level: Arc<SessionLevel>) -> Self {
        let info = peer.peer_info();
        let capabilities = info.as_ref().map(|info| info.capabilities.clone());
        let legacy = info.is_none_or(|info| is_legacy_revision(info.protocol_version.as_str()));
        Self {
            peer,
            request: None,
            progress: None,
            capabilities,
            legacy,
            request_level: None,
            level,
            logs_by_default: false,
        }
    }

    /// Why the client cannot be asked `request`, if it cannot.
    fn refusal(&self, request: &ServerRequest) -> Option<String> {
        if !self.legacy && !matches!(request, ServerRequest::PingRequest(_)) {
            return Some(
                "the client speaks 2026-07-28, which takes no requests from servers (a 2026 server asks with an input-required result)".into(),
            );
        }
        self.missing_capability(request)
    }

    /// Why the client cannot answer `request` whatever its revision: it did not declare
    /// the capability `request` needs.
    pub fn missing_capability(&self, request: &ServerRequest) -> Option<String> {
        let caps = self.capabilities.clone().unwrap_or_default();
        let (needed, declared) = match request {
            ServerRequest::CreateMessageRequest(_) => ("sampling", caps.sampling.is_some()),
            ServerRequest::ElicitRequest(_) => ("elicitation", caps.elicitation.is_some()),
            ServerRequest::ListRootsRequest(_) => ("roots", caps.roots.is_some()),
            _ => return None,
        };
        (!declared).then(|| {
            format!("the client did not declare the {needed} capability, so mcpproxy cannot ask it")
        })
    }
}

impl Downstream for ClientLink {
    fn capabilities(&self) -> Option<ClientCapabilities> {
        self.capabilities.clone()
    }

    fn takes_requests(&self) -> bool {
        self.legacy
    }

    fn wants_progress(&self) -> bool {
        self.progress.is_some()
    }

    fn can_answer(&self, request: &ServerRequest) -> bool {
        self.refusal(request).is_none()
    }

    fn log_level(&self) -> Option<LoggingLevel> {
        self.request_level.or_else(|| self.level.chosen())
    }

    fn listens(&self) -> bool {
        self.progress.is_some() || self.logs_by_default || self.log_level().is_some()
    }

    fn progress(&self, mut progress: ProgressNotificationParam) -> BoxFuture<'static, ()> {
        let Some(token) = self.progress.clone() else {
            return Box::pin(async {});
        };
        progress.progress_token = token;
        let peer = self.peer.clone();
        Box::pin(async move {
            // A client that went away takes no progress.
            let _ = peer.notify_progress(progress).await;
        })
    }

    fn log(&self, message: LoggingMessageNotificationParam) -> BoxFuture<'static, ()> {
        let admitted = match self.request_level {
            Some(asked) => rank(message.level) >= rank(asked),
            None => self.level.admits(message.level, self.logs_by_default),
        };
        if !admitted {
            return Box::pin(async {});
        }
        let peer = self.peer.clone();
        Box::pin(async move {
            let _ = peer.notify_logging_message(message).await;
        })
    }

    fn request(
        &self,
        mut request: ServerRequest,
    ) -> BoxFuture<'static, Result<ClientResult, ErrorData>> {
        if let Some(refusal) = self.refusal(&request) {
            return Box::pin(async move {
                Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, refusal, None))
            });
        }
        // On the client request's own stream (SEP-2260).
        if let Some(id) = &self.request {
            rmcp::model::GetExtensions::extensions_mut(&mut request)
                .insert(OriginatingRequestId(id.clone()));
        }
        let peer = self.peer.clone();
        Box::pin(async move {
            // A task of its own: the caller runs in the upstream connection's handler,
            // whose originating-request marker would otherwise replace ours.
            let asked = tokio::spawn(async move { peer.send_request(request).await });
            match asked.await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(rmcp::ServiceError::McpError(error))) => Err(error),
                Ok(Err(error)) => Err(ErrorData::internal_error(
                    format!("the client did not answer: {error}"),
                    None,
                )),
                Err(_) => Err(ErrorData::internal_error(
                    "the client request was lost",
                    None,
                )),
            }
        })
    }
}
