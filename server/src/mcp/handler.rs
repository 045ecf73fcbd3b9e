//! `ProxyMcp`: the rmcp `ServerHandler` behind every MCP surface, one instance per session.
//! It learns who the session is (and registers it for the fast path and for notices),
//! serves the session's [`Surface`] — the built-in tools, every tool as `server__tool`, or
//! one upstream transparently — with resources, prompts, completion and logging from the
//! [`Catalog`], and links each request to the upstream request it causes ([`ClientLink`]),
//! limited by the request's agent token (see [`super::auth`]) when it has one.

#![expect(
    deprecated,
    reason = "logging and resources/subscribe are deprecated by SEP-2577 but today's clients use them"
)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientRequest,
    CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResponse,
    GetTaskParams, GetTaskResult, Implementation, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ServerCapabilities, ServerConfig, SetLevelRequest, SetLevelRequestParams,
    SubscribeRequest, SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams,
    UpdateTaskParams,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

use super::auth::caller_of;
use super::catalog::{Asker, Catalog};
use super::client_link::{ClientLink, SessionLevel};
use super::dispatch::Builtins;
use super::errors::to_mcp;
use super::notices::{self, Sink, Subscriptions};
use super::parked::Parked;
use super::result::tool_error;
use super::sessions::{FastLink, Sessions};
use super::surface::Surface;
use crate::app::{App, CallError, CallOrigin, Intent, PendingRecord};
use crate::upstream::{CallLink, Downstream};

/// What the session's surface is for, in a sentence the agent reads.
const RETRIEVE_INSTRUCTIONS: &str = "mcpproxy fronts many MCP servers. Find tools with retrieve_tools, then call them by `server:tool` name with call_tool_read / call_tool_write / call_tool_destructive (as retrieve_tools' call_with says).";
const ALL_INSTRUCTIONS: &str = "mcpproxy fronts many MCP servers. Every tool of every server is listed here as `server__tool`; prompts are `server__prompt`; resources keep their URIs.";

/// The MCP handler of one session.
pub struct ProxyMcp {
    app: Arc<App>,
    builtins: Arc<Builtins>,
    catalog: Arc<Catalog>,
    sessions: Arc<Sessions>,
    parked: Arc<Parked>,
    surface: Surface,
    level: Arc<SessionLevel>,
    subscriptions: Arc<Subscriptions>,
    session: OnceLock<CallOrigin>,
    /// The session id when the transport has no `Mcp-Session-Id` (stdio).
    fixed_id: Option<String>,
    /// Ends the session's notices.
    stop: CancellationToken,
    /// The client capabilities recorded for the session so far ([`ROOTS`] | [`SAMPLING`]).
    declared: AtomicU8,
}

/// `declared` bits.
const ROOTS: u8 = 1;
const SAMPLING: u8 = 2;

impl ProxyMcp {
    /// A handler for a new session on `surface`.
    pub fn new(
        app: Arc<App>,
        builtins: Arc<Builtins>,
        catalog: Arc<Catalog>,
        sessions: Arc<Sessions>,
        parked: Arc<Parked>,
        surface: Surface,
    ) -> Self {
        Self {
            app,
            builtins,
            catalog,
            sessions,
            parked,
            surface,
            level: Arc::default(),
            subscriptions: Arc::default(),
            session: OnceLock::new(),
            fixed_id: None,
            stop: CancellationToken::new(),
            declared: AtomicU8::new(0),
        }
    }

    /// The same handler for a transport without session headers (stdio): the whole
    /// connection is the session `id`.
    pub fn with_session_id(mut self, id: String) -> Self {
        self.fixed_id = Some(id);
        self
    }

    /// Learn the session id and client info from the first request that carries them;
    /// from then on the session hears about changes.
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
                trace: None,
            };
            self.app.open_session(&id, &session);
            // Only the built-in tools are answered on the fast path.
            let fast = (self.surface == Surface::Retrieve).then(|| FastLink {
                client: Arc::new(ClientLink::session(peer.clone(), self.level.clone())),
            });
            self.sessions.register(session.clone(), fast);
            let sink = Sink::Session {
                peer: peer.clone(),
                level: self.level.clone(),
                subscriptions: self.subscriptions.clone(),
            };
            tokio::spawn(notices::follow(
                self.app.clone(),
                self.surface.clone(),
                session.clone(),
                sink,
                self.stop.clone(),
            ));
            session
        });
        self.note_capabilities(peer.peer_info().map(|i| i.capabilities.clone()));
    }

    /// Record the roots / sampling capabilities the client declares (at `initialize`, or in
    /// this 2026-07-28 request's `_meta`) the first time the session declares each.
    fn note_capabilities(&self, caps: Option<rmcp::model::ClientCapabilities>) {
        let Some(id) = self.session().session_id.as_deref() else {
            return;
        };
        let Some(caps) = caps else {
            return;
        };
        let bits = if caps.roots.is_some() { ROOTS } else { 0 }
            | if caps.sampling.is_some() { SAMPLING } else { 0 };
        let before = self.declared.fetch_or(bits, Ordering::AcqRel);
        if bits & !before != 0 {
            self.app
                .note_client_capabilities(id, bits & ROOTS != 0, bits & SAMPLING != 0);
        }
    }

    /// The session, as far as known.
    pub fn session(&self) -> &CallOrigin {
        static UNKNOWN: CallOrigin = CallOrigin {
            session_id: None,
            client_name: None,
            client_version: None,
            token: None,
            trace: None,
        };
        self.session.get().unwrap_or(&UNKNOWN)
    }

    /// Who makes this request: the session, limited by the request's own credential (the
    /// same as the session's, which the endpoint checked; sessionless requests have only
    /// theirs).
    fn origin(&self, extensions: &rmcp::model::Extensions) -> CallOrigin {
        let mut origin = self.session().clone();
        origin.token = caller_of(extensions).and_then(|c| c.grant());
        origin.trace = crate::telemetry::trace::of_request(extensions);
        origin
    }

    /// The request's origin and its link to the client, after noting the session.
    fn start(&self, context: &RequestContext<RoleServer>) -> (CallOrigin, CallLink) {
        let (origin, client) = self.client_of(context);
        (origin, CallLink::new(client, context.ct.clone()))
    }

    /// The request's origin and its client, after noting the session.
    fn client_of(&self, context: &RequestContext<RoleServer>) -> (CallOrigin, Arc<ClientLink>) {
        self.note_session(&context.extensions, &context.peer);
        self.note_capabilities(context.client_capabilities());
        let origin = self.origin(&context.extensions);
        let transparent = matches!(self.surface, Surface::Server(_));
        let mut client = ClientLink::of(context, self.level.clone(), transparent);
        if !transparent {
            // Only the transparent surface carries tasks (see `super::tasks`).
            client = client.map_capabilities(super::tasks::without_tasks);
        }
        (origin, Arc::new(client))
    }

    /// What a tool call needs of this handler, owned.
    fn tool_calls(&self) -> ToolCalls {
        ToolCalls {
            app: self.app.clone(),
            builtins: self.builtins.clone(),
            catalog: self.catalog.clone(),
            surface: self.surface.clone(),
        }
    }

    fn capabilities(&self) -> ServerCapabilities {
        let aggregate = || {
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_resources_list_changed()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_logging()
                .enable_completions()
                .build()
        };
        match &self.surface {
            Surface::Retrieve | Surface::All => aggregate(),
            Surface::Server(name) => match self.app.capabilities_of(name, None) {
                // The upstream's own, with list changes announced by the proxy (which also
                // tells the client when quarantine or pinning changes what it sees).
                Some(mut own) => {
                    if let Some(tools) = own.tools.as_mut() {
                        tools.list_changed = Some(true);
                    }
                    own
                }
                None => aggregate(),
            },
        }
    }
}

impl Drop for ProxyMcp {
    /// rmcp drops a session's handler when the session ends (DELETE, expiry, shutdown).
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(id) = self.session.get().and_then(|s| s.session_id.as_deref()) {
            self.sessions.remove(id);
            self.app.close_session(id);
        }
    }
}

impl ServerHandler for ProxyMcp {
    fn get_info(&self) -> ServerConfig {
        let config = ServerConfig::new(self.capabilities())
            .with_server_info(Implementation::new("mcpproxy", env!("CARGO_PKG_VERSION")));
        match &self.surface {
            Surface::Retrieve => config.with_instructions(RETRIEVE_INSTRUCTIONS),
            Surface::All => config.with_instructions(ALL_INSTRUCTIONS),
            Surface::Server(_) => config,
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.note_session(&context.extensions, &context.peer);
        let origin = self.origin(&context.extensions);
        let tools = match &self.surface {
            Surface::Retrieve => self.builtins.list(&origin),
            Surface::All => super::direct::list(&self.app, &origin),
            Surface::Server(server) => {
                let grant = origin.token.as_deref();
                self.app.admit(server, grant).map_err(to_mcp)?;
                // A server coming up is waited for (bounded), as a call would.
                self.app
                    .settle(|s| s == server, crate::app::SEARCH_WAIT)
                    .await;
                self.app.offered_tools(server)
            }
        };
        Ok(ListToolsResult::with_all_items(tools))
    }

    /// The tool a 2026-07-28 request names (rmcp checks its `Mcp-Param-*` headers).
    fn get_tool(&self, name: &str) -> Option<Tool> {
        match &self.surface {
            Surface::Retrieve => self
                .builtins
                .list(&CallOrigin::default())
                .into_iter()
                .find(|t| t.name == name),
            Surface::All => super::direct::tool(&self.app, name),
            Surface::Server(server) => self.app.offered_tool(server, name),
        }
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let (mut origin, client) = self.client_of(&context);
        // The request's own `_meta` trace context (rmcp keeps it in the context's meta).
        let meta = request.meta.as_deref().unwrap_or(&context.meta);
        if let Some(trace) = crate::telemetry::trace::from_meta(Some(meta)) {
            origin.trace = Some(trace);
        }
        let calls = self.tool_calls();
        let upstream_state =
            request.request_state.is_some() && !Parked::owns(request.request_state.as_ref());
        if client.takes_requests() || upstream_state {
            let link = CallLink::new(client, context.ct.clone());
            return calls.call(request, &origin, &link).await;
        }
        // A 2026-07-28 client: what a 2025 upstream asks becomes an input-required result.
        let (state, responses) = (
            request.request_state.clone(),
            request.input_responses.clone(),
        );
        let name = request.name.to_string();
        self.parked
            .call(
                &name,
                state.as_ref(),
                responses.as_ref(),
                client,
                &context.ct,
                move |link| Box::pin(async move { calls.call(request, &origin, &link).await }),
            )
            .await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        self.catalog.list_resources(request, &asker).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        self.catalog.list_templates(request, &asker).await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        self.catalog.read(request, &asker).await
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        let server = self
            .catalog
            .subscription_server(&request.uri, &asker)
            .await?;
        let uri = request.uri.clone();
        let subscribe = ClientRequest::SubscribeRequest(SubscribeRequest::new(
            SubscribeRequestParams::new(request.uri),
        ));
        self.catalog.forward(&server, subscribe, &asker).await?;
        self.subscriptions.add(&uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.note_session(&context.extensions, &context.peer);
        // The upstream subscription is shared by every session that subscribed; this
        // session simply stops hearing about the resource.
        self.subscriptions.remove(&request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        self.catalog.list_prompts(request, &asker).await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        self.catalog.get_prompt(request, &asker).await
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        self.catalog.complete(request, &asker).await
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let (origin, link) = self.start(&context);
        self.level.set(request.level);
        if let Surface::Server(server) = &self.surface {
            // The upstream's own level follows its transparent client (messages are still
            // filtered per session).
            let asker = self.asker(&origin, &link);
            let forward = ClientRequest::SetLevelRequest(SetLevelRequest::new(
                SetLevelRequestParams::new(request.level),
            ));
            let _ = self.catalog.forward(server, forward, &asker).await;
        }
        Ok(())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        super::tasks::get(&self.catalog, &self.surface, request, &asker).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        super::tasks::update(&self.catalog, &self.surface, request, &asker).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let (origin, link) = self.start(&context);
        let asker = self.asker(&origin, &link);
        super::tasks::cancel(&self.catalog, &self.surface, request, &asker).await
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let origin = self.origin(&context.request_context().extensions);
        let stop = CancellationToken::new();
        let follow = notices::follow(
            self.app.clone(),
            self.surface.clone(),
            origin,
            Sink::Listen(&context),
            stop.clone(),
        );
        tokio::select! {
            () = context.cancelled() => {}
            () = self.stop.cancelled() => {}
            () = follow => {}
        }
        stop.cancel();
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.note_session(&context.extensions, &context.peer);
    }
}

impl ProxyMcp {
    fn asker<'a>(&'a self, origin: &'a CallOrigin, link: &'a CallLink) -> Asker<'a> {
        Asker {
            surface: &self.surface,
            grant: origin.token.as_deref(),
            link,
        }
    }
}

/// What a tool call needs of its session's handler, owned: a 2026-07-28 client's call runs
/// on a task of its own ([`Parked`]).
#[derive(Clone)]
struct ToolCalls {
    app: Arc<App>,
    builtins: Arc<Builtins>,
    catalog: Arc<Catalog>,
    surface: Surface,
}

impl ToolCalls {
    /// `tools/call` on the surface: the built-in tools, `server__tool`, or one server's own.
    async fn call(
        &self,
        request: CallToolRequestParams,
        origin: &CallOrigin,
        link: &CallLink,
    ) -> Result<CallToolResponse, McpError> {
        let mut result = match &self.surface {
            Surface::Retrieve => {
                let args = request.arguments.unwrap_or_default();
                self.builtins
                    .call(origin, &request.name, args, link)
                    .await?
            }
            Surface::All => match super::direct::call(&self.app, origin, request, link).await? {
                (id, CallToolResponse::Complete(result)) => self.counted(origin, id, result),
                (_, other) => return Ok(other),
            },
            Surface::Server(server) => {
                match self.call_transparent(server, request, origin, link).await? {
                    (id, CallToolResponse::Complete(result)) => self.counted(origin, id, result),
                    (_, other) => return Ok(other),
                }
            }
        };
        // Upstream results from older servers carry no resultType; 2026-07-28 clients require
        // it (rmcp strips it again for peers on older revisions).
        if result.result_type.is_none() {
            result.result_type = Some(rmcp::model::ResultType::COMPLETE);
        }
        Ok(result.into())
    }

    /// `result`, an upstream tool's answer, after token accounting has counted it and
    /// stored its call's record (the built-in tools' answers are counted by
    /// [`Builtins::call`]).
    fn counted(
        &self,
        origin: &CallOrigin,
        recorded: Option<PendingRecord>,
        result: rmcp::model::CallToolResult,
    ) -> rmcp::model::CallToolResult {
        self.app.account(
            origin.session_id.as_deref(),
            recorded,
            crate::tokens::Kind::ToolResult,
            &result,
        );
        result
    }

    /// A call on the transparent surface: the upstream's own tool name; its history record,
    /// to be stored, and its whole answer (a 2026-07-28 input-required result and the client's retry
    /// pass through); policy refusals as tool errors, the upstream's protocol errors as they
    /// are.
    async fn call_transparent(
        &self,
        server: &str,
        request: CallToolRequestParams,
        origin: &CallOrigin,
        link: &CallLink,
    ) -> Result<(Option<PendingRecord>, CallToolResponse), McpError> {
        let name = format!("{server}:{}", request.name);
        let recorded = self
            .app
            .call_and_record_response(&name, request, Intent::Any, origin, None, link)
            .await;
        let record = recorded.record;
        match recorded.outcome {
            Ok(response) => {
                if let CallToolResponse::Complete(result) = &response {
                    self.catalog.routes().learn_from(server, &result.content);
                }
                Ok((record, response))
            }
            Err(
                error @ (CallError::UnknownTool { .. }
                | CallError::UnknownServer(_)
                | CallError::OutOfScope { .. }
                | CallError::Upstream(_)),
            ) => Err(to_mcp(error)),
            Err(refused) => Ok((record, tool_error(&refused.to_string()).into())),
        }
    }
}
