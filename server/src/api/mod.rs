//! The REST API: the dropshot implementation of the generated `ProxyApi` trait, the event
//! stream and Swagger UI, served behind the front door ([`crate::front`]) on the TCP port
//! and the unix socket. Domain errors become HTTP errors in one place, [`error`].
//!
//! Handlers are thin: take the input, make one call into `app`, convert the result with
//! `wire` (one file per spec tag). Authorization happens before them — in the front door, and again in the
//! generated endpoint bodies through [`ProxyBackend::authorize`].

mod activity;
mod auth;
pub(crate) mod error;
mod events;
mod metrics;
mod swagger;
mod wire;

use std::sync::Arc;

use dropshot::RequestContext;
use mcpproxy_api::{ApiError, ProxyApi, ProxyBackend, Security, params, types};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::storage::ActivityKind;

pub(crate) use auth::{
    INTERNAL_HEADER, VIA_API_KEY, VIA_HEADER, VIA_SOCKET, api_key_header, keys_match, presented_key,
};
pub use wire::status::{display_listen, web_ui_url};

/// Everything a request handler can reach.
pub struct ServerCtx {
    /// The application core.
    pub app: Arc<App>,
    /// Per-process secret the front door attaches to requests it has authenticated.
    pub internal_secret: String,
    /// Cancelled at shutdown; ends open event streams.
    pub shutdown: CancellationToken,
    /// The built-in MCP tools, which `POST /api/v1/tools/call` also takes by name.
    pub builtins: Arc<crate::mcp::Builtins>,
}

/// The type that ties the generated trait to [`ServerCtx`].
pub enum ApiImpl {}

impl ProxyApi for ApiImpl {
    type Context = ServerCtx;
}

/// The full dropshot API: the generated operations plus the unpublished endpoints.
pub fn api_description() -> Result<dropshot::ApiDescription<ServerCtx>, String> {
    let mut api =
        mcpproxy_api::proxy_api_mod::api_description::<ApiImpl>().map_err(|e| e.to_string())?;
    events::register(&mut api).map_err(|e| e.to_string())?;
    swagger::register(&mut api).map_err(|e| e.to_string())?;
    metrics::register(&mut api).map_err(|e| e.to_string())?;
    activity::register(&mut api).map_err(|e| e.to_string())?;
    Ok(api)
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

impl ProxyBackend for ServerCtx {
    fn authorize(rqctx: &RequestContext<Self>, security: Security) -> Result<(), ApiError> {
        auth::authorize(rqctx.context(), &rqctx.request, security)
    }

    async fn health_live(_: &RequestContext<Self>) -> Result<types::HealthzResponse, ApiError> {
        Ok(types::HealthzResponse {
            status: "ok".into(),
        })
    }

    async fn oauth_client_metadata(
        rqctx: &RequestContext<Self>,
        query: params::OauthClientMetadataQuery,
    ) -> Result<types::ClientMetadataDocument, ApiError> {
        let own = || {
            let listen = display_listen(&rqctx.context().app.listen_addr());
            format!(
                "http://{listen}{}",
                crate::oauth::client_metadata::DOCUMENT_PATH
            )
        };
        let client_id = query.url.unwrap_or_else(own);
        let document = crate::oauth::client_metadata::document(&client_id)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(wire::oauth::client_metadata_document(document))
    }

    async fn health_ready(rqctx: &RequestContext<Self>) -> Result<types::ReadyzResponse, ApiError> {
        match rqctx.context().app.is_ready() {
            true => Ok(types::ReadyzResponse { ready: true }),
            false => Err(ApiError::not_ready("not ready")),
        }
    }

    async fn status_get(rqctx: &RequestContext<Self>) -> Result<types::StatusResponse, ApiError> {
        Ok(wire::status::status(
            &rqctx.context().app.status_overview(),
            VERSION,
        ))
    }

    async fn info_get(rqctx: &RequestContext<Self>) -> Result<types::InfoResponse, ApiError> {
        let app = &rqctx.context().app;
        let mut info = wire::status::info(&app.info_overview(), VERSION);
        info.data.update = wire::ops::update(app.update_info());
        Ok(info)
    }

    async fn routing_get(rqctx: &RequestContext<Self>) -> Result<types::RoutingResponse, ApiError> {
        Ok(types::RoutingResponse {
            success: true,
            data: wire::status::mcp_endpoints(&rqctx.context().app.mcp_endpoints()),
        })
    }

    async fn secret_list(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::SecretListResponse, ApiError> {
        Ok(wire::ops::secret_list(rqctx.context().app.secrets()?))
    }

    async fn secret_store(
        rqctx: &RequestContext<Self>,
        body: types::SecretStoreRequest,
    ) -> Result<types::SecretStoreResponse, ApiError> {
        if body.name.trim().is_empty() {
            return Err(ApiError::bad_request("Secret name is required"));
        }
        if body.value.is_empty() {
            return Err(ApiError::bad_request("Secret value is required"));
        }
        let app = &rqctx.context().app;
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::Config,
            "secret_set",
            None,
            async { app.store_secret(&body.name, &body.value) },
        )
        .await?;
        Ok(wire::ops::secret_stored(body.name))
    }

    async fn secret_get(
        rqctx: &RequestContext<Self>,
        path: params::SecretGetPath,
    ) -> Result<types::SecretResponse, ApiError> {
        Ok(wire::ops::secret_get(
            rqctx.context().app.secret(&path.name)?,
        ))
    }

    async fn secret_delete(
        rqctx: &RequestContext<Self>,
        path: params::SecretDeletePath,
    ) -> Result<types::SecretDeleteResponse, ApiError> {
        let app = &rqctx.context().app;
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::Config,
            "secret_delete",
            None,
            async { app.delete_secret(&path.name) },
        )
        .await?;
        Ok(wire::ops::secret_deleted(path.name))
    }

    async fn docker_status(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::DockerStatusResponse, ApiError> {
        Ok(wire::ops::docker_status(
            rqctx.context().app.docker_state().await,
        ))
    }

    async fn diagnostics_get(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::DiagnosticsResponse, ApiError> {
        Ok(wire::ops::diagnostics(
            rqctx.context().app.diagnostics().await,
        ))
    }

    async fn doctor_get(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::DiagnosticsResponse, ApiError> {
        Ok(wire::ops::diagnostics(
            rqctx.context().app.diagnostics().await,
        ))
    }

    async fn server_list(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::ServerListResponse, ApiError> {
        Ok(wire::servers::server_list(
            rqctx.context().app.server_list(),
        ))
    }

    async fn connect_list(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::ConnectListResponse, ApiError> {
        Ok(wire::connect::list(&rqctx.context().app.mcp_endpoints()))
    }

    async fn connect_preview(
        rqctx: &RequestContext<Self>,
        path: params::ConnectPreviewPath,
    ) -> Result<types::ConnectResponse, ApiError> {
        wire::connect::preview(&rqctx.context().app.mcp_endpoints(), &path.client)
    }

    async fn connect_apply(
        rqctx: &RequestContext<Self>,
        path: params::ConnectApplyPath,
    ) -> Result<types::ConnectResponse, ApiError> {
        wire::connect::apply(&rqctx.context().app.mcp_endpoints(), &path.client)
    }

    async fn connect_undo(
        _rqctx: &RequestContext<Self>,
        path: params::ConnectUndoPath,
    ) -> Result<types::ConnectUndoResponse, ApiError> {
        wire::connect::undo(&path.client)
    }

    async fn registry_list(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::RegistryListResponse, ApiError> {
        Ok(wire::registries::list(rqctx.context().app.registries()))
    }

    async fn registry_servers(
        rqctx: &RequestContext<Self>,
        path: params::RegistryServersPath,
        query: params::RegistryServersQuery,
    ) -> Result<types::RegistryServersResponse, ApiError> {
        let servers = rqctx
            .context()
            .app
            .search_registry(
                &path.id,
                query.q.as_deref(),
                query.tag.as_deref(),
                query.limit.map(|l| l as usize),
            )
            .await?;
        Ok(types::RegistryServersResponse {
            success: true,
            data: types::RegistryServers {
                registry_id: path.id,
                query: query.q,
                tag: query.tag,
                total: wire::count(servers.len()),
                servers: servers.into_iter().map(wire::registries::server).collect(),
            },
        })
    }

    async fn registry_server_add(
        rqctx: &RequestContext<Self>,
        path: params::RegistryServerAddPath,
    ) -> Result<types::ServerChangeResponse, ApiError> {
        let app = &rqctx.context().app;
        let wanted = path.server.as_str();
        let short = wanted.rsplit('/').next().unwrap_or(wanted);
        let listed = app
            .search_registry(&path.id, Some(short), None, Some(100))
            .await?;
        let found = listed
            .into_iter()
            .find(|s| s.id == wanted || s.name == wanted)
            .ok_or_else(|| {
                ApiError::not_found(format!("registry {} lists no server {wanted}", path.id))
            })?;
        let server = found.to_config().ok_or_else(|| {
            ApiError::bad_request(format!(
                "{wanted} has neither a package nor a remote mcpproxy can run"
            ))
        })?;
        add_server_audited(rqctx, server).await
    }

    async fn server_add(
        rqctx: &RequestContext<Self>,
        body: types::ServerAddRequest,
    ) -> Result<types::ServerChangeResponse, ApiError> {
        let server = wire::server_edits::new_server(body)?;
        add_server_audited(rqctx, server).await
    }

    async fn server_update(
        rqctx: &RequestContext<Self>,
        path: params::ServerUpdatePath,
        body: types::ServerPatchRequest,
    ) -> Result<types::ServerChangeResponse, ApiError> {
        let (server, changed) = rqctx
            .context()
            .app
            .update_server(&path.name, |server| {
                wire::server_edits::apply(server, body);
                Ok(())
            })
            .await?;
        Ok(wire::server_edits::change(&server, "update", &changed))
    }

    async fn server_delete(
        rqctx: &RequestContext<Self>,
        path: params::ServerDeletePath,
    ) -> Result<types::ServerChangeResponse, ApiError> {
        let app = &rqctx.context().app;
        let server = app.configured(&path.name)?;
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::ServerChange,
            "server_remove",
            Some(&path.name),
            app.remove_server(&path.name),
        )
        .await?;
        Ok(wire::server_edits::change(&server, "remove", &[]))
    }

    async fn servers_bulk(
        rqctx: &RequestContext<Self>,
        path: params::ServersBulkPath,
        body: types::ServersImportRequest,
    ) -> Result<types::BulkOperationResponse, ApiError> {
        let app = &rqctx.context().app;
        let outcome = match path.name {
            types::BulkAction::Import => {
                let content = body
                    .content
                    .filter(|c| !c.trim().is_empty())
                    .ok_or_else(|| {
                        ApiError::bad_request("`content` (the file's text) is required")
                    })?;
                let parsed = crate::config::import::parse(&content, body.format.as_deref())
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                let outcome = app
                    .import_servers(
                        parsed,
                        body.server_names.as_deref(),
                        body.preview != Some(true),
                    )
                    .await?;
                return Ok(wire::server_edits::imported(outcome));
            }
            types::BulkAction::EnableAll => app.set_all_enabled(true).await?,
            types::BulkAction::DisableAll => app.set_all_enabled(false).await?,
            types::BulkAction::RestartAll | types::BulkAction::Reconnect => app.restart_all().await,
        };
        Ok(wire::servers::bulk(outcome))
    }

    async fn server_enable(
        rqctx: &RequestContext<Self>,
        path: params::ServerEnablePath,
    ) -> Result<types::ServerActionResponse, ApiError> {
        let app = &rqctx.context().app;
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::ServerChange,
            "enable",
            Some(&path.name),
            app.set_enabled(&path.name, true),
        )
        .await?;
        Ok(wire::servers::action(path.name, "enable"))
    }

    async fn server_disable(
        rqctx: &RequestContext<Self>,
        path: params::ServerDisablePath,
    ) -> Result<types::ServerActionResponse, ApiError> {
        let app = &rqctx.context().app;
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::ServerChange,
            "disable",
            Some(&path.name),
            app.set_enabled(&path.name, false),
        )
        .await?;
        Ok(wire::servers::action(path.name, "disable"))
    }

    async fn server_quarantine(
        rqctx: &RequestContext<Self>,
        path: params::ServerQuarantinePath,
        body: types::QuarantineRequest,
    ) -> Result<types::ServerActionResponse, ApiError> {
        let app = &rqctx.context().app;
        let action = if body.quarantined {
            "quarantine"
        } else {
            "unquarantine"
        };
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::ServerChange,
            action,
            Some(&path.name),
            async {
                if body.quarantined {
                    app.set_quarantined_reviewed(&path.name, true, body.fingerprint.as_deref())
                        .await
                } else {
                    // An approval like unquarantine's: the scanner's block findings need a reason.
                    app.approve_server(&path.name, body.fingerprint.as_deref(), None)
                        .await
                        .map(drop)
                }
            },
        )
        .await?;
        Ok(wire::servers::action(path.name, action))
    }

    async fn server_unquarantine(
        rqctx: &RequestContext<Self>,
        path: params::ServerUnquarantinePath,
        body: types::ReviewRequest,
    ) -> Result<types::UnquarantineResponse, ApiError> {
        let app = &rqctx.context().app;
        let approval = app
            .audited(
                &auth::actor(&rqctx.request),
                ActivityKind::ServerChange,
                "unquarantine",
                Some(&path.name),
                app.approve_server(
                    &path.name,
                    body.fingerprint.as_deref(),
                    body.override_reason.as_deref(),
                ),
            )
            .await?;
        Ok(wire::inspect::approval_response(path.name, approval))
    }

    async fn server_restart(
        rqctx: &RequestContext<Self>,
        path: params::ServerRestartPath,
    ) -> Result<types::ServerActionResponse, ApiError> {
        rqctx.context().app.restart(&path.name).await?;
        Ok(wire::servers::action(path.name, "restart"))
    }

    async fn server_login(
        rqctx: &RequestContext<Self>,
        path: params::ServerLoginPath,
    ) -> Result<types::ServerLoginResponse, ApiError> {
        let app = &rqctx.context().app;
        let started = app
            .audited(
                &auth::actor(&rqctx.request),
                ActivityKind::Auth,
                "login",
                Some(&path.name),
                app.auth_login(&path.name),
            )
            .await?;
        Ok(wire::oauth::login(path.name, started))
    }

    async fn server_logout(
        rqctx: &RequestContext<Self>,
        path: params::ServerLogoutPath,
    ) -> Result<types::ServerActionResponse, ApiError> {
        let app = &rqctx.context().app;
        app.audited(
            &auth::actor(&rqctx.request),
            ActivityKind::Auth,
            "logout",
            Some(&path.name),
            app.auth_logout(&path.name),
        )
        .await?;
        Ok(wire::servers::action(path.name, "logout"))
    }

    async fn server_auth(
        rqctx: &RequestContext<Self>,
        path: params::ServerAuthPath,
    ) -> Result<types::ServerAuthResponse, ApiError> {
        let view = rqctx.context().app.auth_status(&path.name)?;
        Ok(wire::oauth::auth(path.name, view))
    }

    async fn server_tools(
        rqctx: &RequestContext<Self>,
        path: params::ServerToolsPath,
    ) -> Result<types::ServerToolsResponse, ApiError> {
        let app = &rqctx.context().app;
        let tools = app.server_tools(&path.name)?;
        let approvals = app.tool_approvals(&path.name);
        let scans = app.tool_scans(&path.name);
        Ok(wire::servers::server_tools(
            path.name, tools, approvals, &scans,
        ))
    }

    async fn server_inspect_plan(
        rqctx: &RequestContext<Self>,
        path: params::ServerInspectPlanPath,
    ) -> Result<types::InspectionPlanResponse, ApiError> {
        let plan = rqctx.context().app.inspection_plan(&path.name)?;
        Ok(wire::inspect::plan_response(plan))
    }

    async fn server_inspect(
        rqctx: &RequestContext<Self>,
        path: params::ServerInspectPath,
        body: types::ReviewRequest,
    ) -> Result<types::InspectionResponse, ApiError> {
        let inspection = rqctx
            .context()
            .app
            .inspect_server(&path.name, body.fingerprint.as_deref())
            .await?;
        Ok(wire::inspect::inspection_response(inspection))
    }

    async fn server_logs(
        rqctx: &RequestContext<Self>,
        path: params::ServerLogsPath,
        query: params::ServerLogsQuery,
    ) -> Result<types::ServerLogsResponse, ApiError> {
        let tail = query.tail.map_or(100, |t| {
            (t as usize).clamp(1, crate::upstream::MAX_LINES_PER_READ)
        });
        let start =
            match query.after.as_deref() {
                None => crate::upstream::LogStart::Tail,
                Some(after) => crate::upstream::LogStart::After(after.parse().map_err(
                    |e: crate::upstream::BadCursor| ApiError::bad_request(e.to_string()),
                )?),
            };
        let read = rqctx.context().app.server_logs(&path.name, start, tail)?;
        Ok(wire::servers::server_logs(path.name, read))
    }

    async fn server_tools_approve(
        rqctx: &RequestContext<Self>,
        path: params::ServerToolsApprovePath,
        body: types::ApproveToolsRequest,
    ) -> Result<types::ApproveToolsResponse, ApiError> {
        let tools = match (body.tools, body.approve_all) {
            (_, Some(true)) => None,
            (Some(tools), _) if !tools.is_empty() => Some(tools),
            _ => {
                return Err(ApiError::bad_request(
                    "Either 'tools' array or 'approve_all: true' required",
                ));
            }
        };
        let app = &rqctx.context().app;
        let approved = app
            .audited(
                &auth::actor(&rqctx.request),
                ActivityKind::Approval,
                "approve_tools",
                Some(&path.name),
                async { app.approve_tools(&path.name, tools.as_deref(), body.reason.as_deref()) },
            )
            .await?;
        Ok(types::ApproveToolsResponse {
            success: true,
            data: types::ApprovedTools {
                server_name: path.name,
                approved,
            },
        })
    }

    async fn server_tool_calls(
        rqctx: &RequestContext<Self>,
        path: params::ServerToolCallsPath,
        query: params::ServerToolCallsQuery,
    ) -> Result<types::ServerToolCallsResponse, ApiError> {
        let app = &rqctx.context().app;
        app.server_tools(&path.name)?;
        let page = app
            .tool_calls(&crate::storage::CallQuery {
                server: Some(path.name.clone()),
                limit: query.limit.map(|l| l as usize),
                ..Default::default()
            })
            .await?;
        Ok(types::ServerToolCallsResponse {
            success: true,
            data: types::ServerToolCalls {
                server_name: path.name,
                total: wire::count(page.total),
                tool_calls: page
                    .calls
                    .into_iter()
                    .map(|r| wire::tools::call_record(r, app.config_path()))
                    .collect(),
            },
        })
    }

    async fn tool_search(
        rqctx: &RequestContext<Self>,
        query: params::ToolSearchQuery,
    ) -> Result<types::ToolSearchResponse, ApiError> {
        let limit = query.limit.map_or(15, |l| l.clamp(1, 1000) as usize);
        let app = &rqctx.context().app;
        let hits = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => app.search_tools(q, limit),
            None => app.all_tools(limit),
        };
        Ok(wire::tools::tool_search(
            hits,
            wire::tools::tool_stats(app.tool_counts()),
        ))
    }

    async fn tool_call(
        rqctx: &RequestContext<Self>,
        body: types::ToolCallRequest,
    ) -> Result<types::ToolCallResponse, ApiError> {
        let ctx = rqctx.context();
        let origin = crate::app::CallOrigin::default();
        let link = crate::upstream::CallLink::default();
        let is_builtin = ctx
            .builtins
            .list(&origin)
            .iter()
            .any(|t| t.name == body.tool_name);
        let data = if is_builtin {
            let args = body.arguments.unwrap_or_default();
            let result = ctx
                .builtins
                .call(&origin, &body.tool_name, args, &link)
                .await
                .map_err(|e| ApiError::bad_request(e.message.to_string()))?;
            wire::tools::result_object(result)?
        } else {
            let recorded = ctx
                .app
                .call_and_record(
                    &body.tool_name,
                    body.arguments,
                    crate::app::Intent::Any,
                    &origin,
                    None,
                    &link,
                )
                .await;
            wire::tools::call_result(recorded)?
        };
        Ok(types::ToolCallResponse {
            success: true,
            data,
        })
    }

    async fn index_search(
        rqctx: &RequestContext<Self>,
        query: params::IndexSearchQuery,
    ) -> Result<types::IndexSearchResponse, ApiError> {
        // A missing `q` never gets here (the spec requires it; dropshot answers 400).
        let q = query.q;
        let limit = query.limit.map_or(10, |l| l.clamp(1, 100) as usize);
        let started = std::time::Instant::now();
        let hits = if q.trim().is_empty() {
            Vec::new()
        } else {
            rqctx.context().app.search_tools(&q, limit)
        };
        Ok(wire::tools::index_search(q, hits, started.elapsed()))
    }

    async fn activity_list(
        rqctx: &RequestContext<Self>,
        query: params::ActivityListQuery,
    ) -> Result<types::ActivityListResponse, ApiError> {
        activity::list(rqctx, query).await
    }

    async fn tool_call_list(
        rqctx: &RequestContext<Self>,
        query: params::ToolCallListQuery,
    ) -> Result<types::ToolCallListResponse, ApiError> {
        let page = rqctx
            .context()
            .app
            .tool_calls(&crate::storage::CallQuery {
                session_id: query.session_id,
                limit: query.limit.map(|l| l as usize),
                offset: query.offset.unwrap_or(0) as usize,
                ..Default::default()
            })
            .await?;
        Ok(types::ToolCallListResponse {
            success: true,
            data: types::ToolCallPage {
                total: wire::count(page.total),
                limit: wire::count(page.limit),
                offset: wire::count(page.offset),
                tool_calls: page
                    .calls
                    .into_iter()
                    .map(|r| wire::tools::call_record(r, rqctx.context().app.config_path()))
                    .collect(),
            },
        })
    }

    async fn tool_call_get(
        rqctx: &RequestContext<Self>,
        path: params::ToolCallGetPath,
    ) -> Result<types::ToolCallDetailResponse, ApiError> {
        let record = rqctx.context().app.tool_call(&path.id).await?;
        Ok(types::ToolCallDetailResponse {
            success: true,
            data: types::ToolCallDetail {
                tool_call: wire::tools::call_record(record, rqctx.context().app.config_path()),
            },
        })
    }

    async fn tool_call_replay(
        rqctx: &RequestContext<Self>,
        path: params::ToolCallReplayPath,
        body: types::ReplayRequest,
    ) -> Result<types::ReplayResponse, ApiError> {
        let record = rqctx.context().app.replay(&path.id, body.arguments).await?;
        Ok(types::ReplayResponse {
            success: true,
            data: types::ReplayResult {
                success: !record.is_error,
                new_call_id: record.id.clone(),
                replayed_from: path.id,
                new_tool_call: wire::tools::call_record(record, rqctx.context().app.config_path()),
            },
        })
    }

    async fn session_list(
        rqctx: &RequestContext<Self>,
        query: params::SessionListQuery,
    ) -> Result<types::SessionListResponse, ApiError> {
        let limit = query.limit.map_or(10, |l| l.clamp(1, 100) as usize);
        let offset = query.offset.unwrap_or(0) as usize;
        let (sessions, total) = rqctx.context().app.session_page(limit, offset).await?;
        Ok(types::SessionListResponse {
            success: true,
            data: types::SessionPage {
                total: wire::count(total),
                limit: wire::count(limit),
                offset: wire::count(offset),
                sessions: sessions.into_iter().map(wire::tools::session).collect(),
            },
        })
    }

    async fn session_get(
        rqctx: &RequestContext<Self>,
        path: params::SessionGetPath,
    ) -> Result<types::SessionDetailResponse, ApiError> {
        let session = rqctx.context().app.session(&path.id).await?;
        Ok(types::SessionDetailResponse {
            success: true,
            data: types::SessionDetail {
                session: wire::tools::session(session),
            },
        })
    }

    async fn stats_tokens(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::TokenStatsResponse, ApiError> {
        let app = &rqctx.context().app;
        let stats = app
            .token_stats(|| crate::mcp::typical_answer_tokens(app))
            .await?;
        Ok(wire::tools::token_stats(stats))
    }

    async fn token_list(
        rqctx: &RequestContext<Self>,
    ) -> Result<types::TokenListResponse, ApiError> {
        Ok(wire::tokens::list(rqctx.context().app.tokens()))
    }

    async fn token_create(
        rqctx: &RequestContext<Self>,
        body: types::TokenCreateRequest,
    ) -> Result<types::TokenCreateResponse, ApiError> {
        let created = rqctx
            .context()
            .app
            .create_token(wire::tokens::new_token(body))?;
        Ok(wire::tokens::created(created))
    }

    async fn token_get(
        rqctx: &RequestContext<Self>,
        path: params::TokenGetPath,
    ) -> Result<types::TokenResponse, ApiError> {
        let token = rqctx.context().app.token(&path.name)?;
        Ok(types::TokenResponse {
            success: true,
            data: wire::tokens::info(token),
        })
    }

    async fn token_revoke(
        rqctx: &RequestContext<Self>,
        path: params::TokenRevokePath,
    ) -> Result<(), ApiError> {
        Ok(rqctx.context().app.revoke_token(&path.name)?)
    }

    async fn config_get(rqctx: &RequestContext<Self>) -> Result<types::ConfigResponse, ApiError> {
        let app = &rqctx.context().app;
        wire::config::config_view(app.masked_config(), app.config_path())
    }

    async fn config_validate(
        rqctx: &RequestContext<Self>,
        body: types::ConfigDocument,
    ) -> Result<types::ValidateConfigResponse, ApiError> {
        let problems = rqctx.context().app.validate_document(body.0);
        Ok(wire::config::validation(problems))
    }

    async fn config_apply(
        rqctx: &RequestContext<Self>,
        body: types::ConfigDocument,
    ) -> Result<types::ConfigApplyResponse, ApiError> {
        let app = &rqctx.context().app;
        let outcome = app
            .audited(
                &auth::actor(&rqctx.request),
                ActivityKind::Config,
                "config_apply",
                None,
                app.apply_document(body.0),
            )
            .await?;
        Ok(wire::config::apply(outcome))
    }
}

/// Add `server` (from the REST form or a registry entry), recorded in the activity log with
/// who asked; the answer shows the server as configured.
async fn add_server_audited(
    rqctx: &RequestContext<ServerCtx>,
    server: crate::config::ServerConfig,
) -> Result<types::ServerChangeResponse, ApiError> {
    let app = &rqctx.context().app;
    let name = server.name.clone();
    app.audited(
        &auth::actor(&rqctx.request),
        ActivityKind::ServerChange,
        "server_add",
        Some(&name),
        app.add_server(server),
    )
    .await?;
    Ok(wire::server_edits::change(
        &app.configured(&name)?,
        "add",
        &[],
    ))
}
