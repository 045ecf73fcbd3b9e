//! `ProxyMcp`: the rmcp `ServerHandler` behind `/mcp`, one instance per MCP session. It
//! learns who the session is (and registers it for the fast path), lists the built-in
//! tools and hands calls to the shared [`Builtins`] dispatcher, limited by the request's
//! agent token (see [`super::auth`]) when it has one.

use std::sync::{Arc, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use super::auth::caller_of;
use super::dispatch::Builtins;
use super::sessions::Sessions;
use crate::app::{App, CallOrigin};

/// The MCP handler of one session.
pub struct ProxyMcp {
    app: Arc<App>,
    builtins: Arc<Builtins>,
    sessions: Arc<Sessions>,
    session: OnceLock<CallOrigin>,
    /// The session id when the transport has no `Mcp-Session-Id` (stdio).
    fixed_id: Option<String>,
}

impl ProxyMcp {
    /// A handler for a new session.
    pub fn new(app: Arc<App>, builtins: Arc<Builtins>, sessions: Arc<Sessions>) -> Self {
        Self {
            app,
            builtins,
            sessions,
            session: OnceLock::new(),
            fixed_id: None,
        }
    }

    /// The same handler for a transport without session headers (stdio): the whole
    /// connection is the session `id`.
    pub fn with_session_id(mut self, id: String) -> Self {
        self.fixed_id = Some(id);
        self
    }

    /// Learn the session id and client info from the first request that carries them.
    fn note_session(
        &self,
        extensions: &rmcp::model::Extensions,
        peer: &rmcp::service::Peer<RoleServer>,
    ) {
        if let Some(known) = self.session.get() {
            if let Some(id) = &known.session_id {
                self.sessions.touch(id);
            }
            return;
        }
        let found = self.fixed_id.clone().or_else(|| {
            extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.headers.get("mcp-session-id"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        let Some(id) = found else { return };
        // get_or_init: a concurrent request waits until the session is open, so none of its
        // calls can be recorded against a session storage has not seen yet.
        self.session.get_or_init(|| {
            let info = peer.peer_info();
            let client = info.as_ref().map(|i| &i.client_info);
            let session = CallOrigin {
                session_id: Some(id.clone()),
                client_name: client.map(|c| c.name.clone()),
                client_version: client.map(|c| c.version.clone()),
                token: caller_of(extensions).and_then(|c| c.grant()),
            };
            self.app.open_session(&id, &session);
            self.sessions.register(session.clone());
            session
        });
    }

    /// The session, as far as known.
    pub fn session(&self) -> &CallOrigin {
        static UNKNOWN: CallOrigin = CallOrigin {
            session_id: None,
            client_name: None,
            client_version: None,
            token: None,
        };
        self.session.get().unwrap_or(&UNKNOWN)
    }

    /// Who makes this request: the session, limited by the request's own credential (the
    /// same as the session's, which the endpoint checked; sessionless requests have only
    /// theirs).
    fn origin(&self, extensions: &rmcp::model::Extensions) -> CallOrigin {
        let mut origin = self.session().clone();
        origin.token = caller_of(extensions).and_then(|c| c.grant());
        origin
    }
}

impl Drop for ProxyMcp {
    /// rmcp drops a session's handler when the session ends (DELETE, expiry, shutdown).
    fn drop(&mut self) {
        if let Some(id) = self.session.get().and_then(|s| s.session_id.as_deref()) {
            self.sessions.remove(id);
            self.app.close_session(id);
        }
    }
}

impl ServerHandler for ProxyMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("mcpproxy", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "mcpproxy fronts many MCP servers. Find tools with retrieve_tools, then call them by `server:tool` name with call_tool_read / call_tool_write / call_tool_destructive (as retrieve_tools' call_with says).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.note_session(&context.extensions, &context.peer);
        let origin = self.origin(&context.extensions);
        Ok(ListToolsResult::with_all_items(self.builtins.list(&origin)))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.builtins
            .list(&CallOrigin::default())
            .into_iter()
            .find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.note_session(&context.extensions, &context.peer);
        let args = request.arguments.unwrap_or_default();
        let origin = self.origin(&context.extensions);
        let mut result = self.builtins.call(&origin, &request.name, args).await?;
        // Upstream results from older servers carry no resultType; 2026-07-28 clients require
        // it (rmcp strips it again for peers on older revisions).
        if result.result_type.is_none() {
            result.result_type = Some(rmcp::model::ResultType::COMPLETE);
        }
        Ok(result.into())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.note_session(&context.extensions, &context.peer);
    }
}
