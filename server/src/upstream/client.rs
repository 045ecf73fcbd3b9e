//! The MCP client side of one session: the rmcp `ClientHandler` — who we are and what we
//! can honour for the server (sampling, elicitation and roots, answered by the client the
//! request is for, through the [`Relay`]), progress and log messages routed to that client,
//! list changes and resource updates announced as [`Notice`]s, a
//! `notifications/tools/list_changed` wake-up — and discovery (server identity and the full
//! tool list, following `nextCursor`).

#![expect(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but today's servers use them"
)]

use std::sync::Arc;

use rmcp::{
    ClientHandler, ErrorData, RoleClient,
    model::{
        ClientCapabilities, ClientConfig, ClientResult, CreateMessageRequest,
        CreateMessageRequestParams, CreateMessageResult, ElicitRequest, ElicitRequestParams,
        ElicitResult, Implementation, ListRootsRequest, ListRootsResult,
        LoggingMessageNotificationParam, ProgressNotificationParam,
        ResourceUpdatedNotificationParam, ServerRequest, Tool,
    },
    service::{InboundStreamOrigin, MaybeSendFuture, NotificationContext, Peer, RequestContext},
};
use tokio::sync::{Notify, broadcast};

use super::logs::ServerLog;
use super::relay::{Arrival, Downstream, Notice, Relay};

/// The handler of one client session.
#[derive(Clone)]
pub(crate) struct Handler {
    /// The server's name.
    pub server: String,
    /// Woken when the server says its tool list changed.
    pub tools_changed: Arc<Notify>,
    /// Where server log notifications go.
    pub log: ServerLog,
    /// The requests in flight on this connection and their clients.
    pub relay: Arc<Relay>,
    /// Where notices for every session go.
    pub notices: broadcast::Sender<Notice>,
}

impl Handler {
    /// The client `request`, raised on `context`, is for: the request whose stream it
    /// arrived on, else the latest one in flight whose client can answer it.
    fn client_of(
        &self,
        request: &ServerRequest,
        context: &RequestContext<RoleClient>,
    ) -> Option<Arc<dyn Downstream>> {
        match context.extensions.get::<InboundStreamOrigin>() {
            Some(InboundStreamOrigin::OutboundRequest(id)) => self.relay.by_request(id),
            _ => None,
        }
        .or_else(|| self.relay.latest_for(request))
    }

    /// Ask the client of `context` to answer `request`; an error at once when there is none.
    async fn ask(
        &self,
        request: ServerRequest,
        context: &RequestContext<RoleClient>,
    ) -> Result<ClientResult, ErrorData> {
        match self.client_of(&request, context) {
            Some(client) => client.request(request).await,
            None => Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                "mcpproxy: no client is waiting on this server, so no one can answer",
                None,
            )),
        }
    }

    fn notice(&self, notice: Notice) {
        // Nobody listening is fine.
        let _ = self.notices.send(notice);
    }
}

/// The answer was not of the kind asked for.
fn unexpected(kind: &str) -> ErrorData {
    ErrorData::internal_error(
        format!("the client answered {kind} with something else"),
        None,
    )
}

/// Who the proxy says it is to upstream servers.
pub(crate) fn identity_of_proxy() -> Implementation {
    Implementation::new("mcpproxy", env!("CARGO_PKG_VERSION"))
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        let capabilities = ClientCapabilities::builder()
            .enable_roots()
            .enable_sampling()
            .enable_elicitation()
            .build();
        // The revision `initialize` asks for; 2026-07-28 is reached with `server/discover`.
        ClientConfig::new(capabilities, identity_of_proxy())
            .with_protocol_version(rmcp::model::ProtocolVersion::LATEST_WITH_INITIALIZE)
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.ask(request, &context).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(unexpected("sampling")),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.ask(request, &context).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(unexpected("elicitation")),
        }
    }

    async fn list_roots(
        &self,
        context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        let Some(client) = self.client_of(&request, &context) else {
            return Ok(ListRootsResult::default());
        };
        match client.request(request).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(unexpected("roots/list")),
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        context: NotificationContext<RoleClient>,
    ) {
        let arrival = context.extensions.get::<Arrival>().copied();
        self.relay.progress(params, arrival).await;
    }

    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.tools_changed.notify_one();
        std::future::ready(())
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.notice(Notice::ResourcesChanged {
            server: self.server.clone(),
        });
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.notice(Notice::PromptsChanged {
            server: self.server.clone(),
        });
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.notice(Notice::ResourceUpdated {
            server: self.server.clone(),
            uri: params.uri,
        });
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        context: NotificationContext<RoleClient>,
    ) {
        let line = match &params.data {
            serde_json::Value::String(s) => format!("[{:?}] {s}", params.level),
            other => format!("[{:?}] {other}", params.level),
        };
        // A message on a request's stream is that request's client's; otherwise it is for
        // whoever follows the server's log. Delivered first: the request may be answered
        // right after.
        let origin = match context.extensions.get::<InboundStreamOrigin>() {
            Some(InboundStreamOrigin::OutboundRequest(id)) => Some(id),
            _ => None,
        };
        let arrival = context.extensions.get::<Arrival>().copied();
        if let Err(message) = self.relay.log(origin, params, arrival).await {
            self.notice(Notice::Log {
                server: self.server.clone(),
                message,
            });
        }
        self.log.write("SERVER", &line);
    }
}

/// Who the server said it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerIdentity {
    pub name: Option<String>,
    pub version: Option<String>,
    pub protocol_version: Option<String>,
    /// Whether it advertised the tools capability.
    pub has_tools: bool,
}

/// The identity negotiated during the handshake.
pub(crate) fn identity(peer: &Peer<RoleClient>) -> ServerIdentity {
    let Some(info) = peer.peer_info() else {
        return ServerIdentity {
            has_tools: true,
            ..Default::default()
        };
    };
    ServerIdentity {
        name: info.server_info.as_ref().map(|i| i.name.clone()),
        version: info.server_info.as_ref().map(|i| i.version.clone()),
        protocol_version: Some(info.protocol_version.to_string()),
        has_tools: info.capabilities.tools.is_some(),
    }
}

/// Every tool, following pagination (`nextCursor`).
pub(crate) async fn list_tools(peer: &Peer<RoleClient>) -> Result<Vec<Tool>, rmcp::ServiceError> {
    peer.list_all_tools().await
}
