//! Resources, prompts and completion on every surface.
//!
//! On `/mcp/servers/{name}` each request goes to that server as it is. On the aggregated
//! surfaces (`/mcp`, `/mcp/call`, `/mcp/all`) the lists are the union over every server the
//! caller reaches:
//! - **resources keep their URIs** (a `resource_link` a tool returns must be readable
//!   through the proxy as it is); a read goes to the server that listed the URI, or whose
//!   template it matches, or else to each server with resources until one has it;
//! - **prompts are named `server__prompt`**, as tools are on `/mcp/all`;
//! - **completion** follows the prompt's name or the resource template's server.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ClientRequest, CompleteRequest, CompleteRequestParams, CompleteResult, ContentBlock, ErrorCode,
    GetPromptRequest, GetPromptRequestParams, GetPromptResponse, ListPromptsRequest,
    ListPromptsResult, ListResourceTemplatesRequest, ListResourceTemplatesResult,
    ListResourcesRequest, ListResourcesResult, PaginatedRequestParams, ReadResourceRequest,
    ReadResourceRequestParams, ReadResourceResponse, Reference, ServerCapabilities, ServerResult,
};

use super::errors::to_mcp;
use super::surface::{Surface, joined, split_joined};
use crate::app::{App, Grant};
use crate::upstream::CallLink;

/// Pages of one server's list read for an aggregated listing, at most.
const MAX_PAGES: usize = 50;

/// Which server each URI and URI template came from.
#[derive(Default)]
pub struct Routes {
    uris: RwLock<HashMap<String, String>>,
    templates: RwLock<Vec<(String, String)>>,
}

impl Routes {
    /// `uri` belongs to `server` (listed, or returned by one of its tools).
    pub fn learn(&self, uri: &str, server: &str) {
        if let Ok(mut uris) = self.uris.write() {
            uris.insert(uri.to_string(), server.to_string());
        }
    }

    fn learn_template(&self, template: &str, server: &str) {
        if let Ok(mut templates) = self.templates.write() {
            templates.retain(|(t, _)| t != template);
            templates.push((template.to_string(), server.to_string()));
        }
    }

    /// Learn the resource URIs in a tool result of `server`.
    pub fn learn_from(&self, server: &str, content: &[ContentBlock]) {
        for item in content {
            if let Some(link) = item.as_resource_link() {
                self.learn(&link.uri, server);
            }
        }
    }

    /// The server that owns `uri`, as far as known.
    fn server_of(&self, uri: &str) -> Option<String> {
        if let Some(server) = self.uris.read().ok()?.get(uri) {
            return Some(server.clone());
        }
        let templates = self.templates.read().ok()?;
        templates
            .iter()
            .filter(|(template, _)| template_matches(template, uri))
            .max_by_key(|(template, _)| literal_prefix(template).len())
            .map(|(_, server)| server.clone())
    }

    fn server_of_template(&self, template: &str) -> Option<String> {
        let templates = self.templates.read().ok()?;
        templates
            .iter()
            .find(|(t, _)| t == template)
            .map(|(_, s)| s.clone())
    }
}

/// The part of an RFC 6570 template before its first expression.
fn literal_prefix(template: &str) -> &str {
    template.split('{').next().unwrap_or(template)
}

/// Whether `uri` could come from `template`: its literal parts appear in order.
fn template_matches(template: &str, uri: &str) -> bool {
    let mut rest = uri;
    let mut first = true;
    for (i, literal) in template.split(['{', '}']).enumerate() {
        // Even pieces are literals, odd pieces are expressions.
        if i % 2 == 1 {
            first = false;
            continue;
        }
        if literal.is_empty() {
            continue;
        }
        if first {
            let Some(after) = rest.strip_prefix(literal) else {
                return false;
            };
            rest = after;
        } else {
            let Some(at) = rest.find(literal) else {
                return false;
            };
            rest = &rest[at + literal.len()..];
        }
        first = false;
    }
    true
}

/// Resources, prompts and completion over the application.
pub struct Catalog {
    app: Arc<App>,
    routes: Arc<Routes>,
}

/// One request's caller: the surface, the token's grant and the client link.
pub struct Asker<'a> {
    /// The session's surface.
    pub surface: &'a Surface,
    /// The agent token's grant, if any.
    pub grant: Option<&'a Grant>,
    /// The client.
    pub link: &'a CallLink,
}

impl Catalog {
    /// A catalog over `app`, remembering URIs in `routes`.
    pub fn new(app: Arc<App>, routes: Arc<Routes>) -> Self {
        Self { app, routes }
    }

    /// The routes learned.
    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    /// Forward `request` to `server` as it is.
    pub async fn forward(
        &self,
        server: &str,
        request: ClientRequest,
        asker: &Asker<'_>,
    ) -> Result<ServerResult, McpError> {
        let mut result = self
            .app
            .forward(server, request, asker.grant, asker.link)
            .await
            .map_err(to_mcp)?;
        mark_complete(&mut result);
        Ok(result)
    }

    /// An aggregated listing: every page of a list request on each server the caller
    /// reaches that is ready and offers `has`, with the server of each item. A server that
    /// fails is left out (it shows in the server list as unhealthy).
    async fn gather<T>(
        &self,
        asker: &Asker<'_>,
        has: impl Fn(&ServerCapabilities) -> bool,
        request: impl Fn(PaginatedRequestParams) -> ClientRequest,
        page: impl Fn(ServerResult) -> Option<(Vec<T>, Option<String>)>,
    ) -> Vec<(String, T)> {
        let grant = asker.grant;
        let servers = self
            .app
            .reachable_servers(grant)
            .into_iter()
            .filter(|s| self.app.capabilities_of(s, grant).is_some_and(|c| has(&c)));
        let mut items = Vec::new();
        for server in servers {
            let mut cursor = None;
            for _ in 0..MAX_PAGES {
                let params = PaginatedRequestParams::default().with_cursor(cursor.take());
                let Ok(result) = self.forward(&server, request(params), asker).await else {
                    break;
                };
                let Some((more, next)) = page(result) else {
                    break;
                };
                items.extend(more.into_iter().map(|item| (server.clone(), item)));
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        items
    }

    /// `resources/list`.
    pub async fn list_resources(
        &self,
        params: Option<PaginatedRequestParams>,
        asker: &Asker<'_>,
    ) -> Result<ListResourcesResult, McpError> {
        if let Surface::Server(server) = asker.surface {
            let request = ClientRequest::ListResourcesRequest(ListResourcesRequest {
                params,
                ..Default::default()
            });
            return match self.forward(server, request, asker).await? {
                ServerResult::ListResourcesResult(result) => {
                    for resource in &result.resources {
                        self.routes.learn(&resource.uri, server);
                    }
                    Ok(result)
                }
                _ => Err(unexpected("resources/list")),
            };
        }
        let mut all = Vec::new();
        let listed = self
            .gather(
                asker,
                |c| c.resources.is_some(),
                |p| ClientRequest::ListResourcesRequest(ListResourcesRequest::with_param(p)),
                |r| match r {
                    ServerResult::ListResourcesResult(r) => Some((r.resources, r.next_cursor)),
                    _ => None,
                },
            )
            .await;
        for (server, resource) in listed {
            self.routes.learn(&resource.uri, &server);
            all.push(resource);
        }
        Ok(ListResourcesResult::with_all_items(all))
    }

    /// `resources/templates/list`.
    pub async fn list_templates(
        &self,
        params: Option<PaginatedRequestParams>,
        asker: &Asker<'_>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        if let Surface::Server(server) = asker.surface {
            let request =
                ClientRequest::ListResourceTemplatesRequest(ListResourceTemplatesRequest {
                    params,
                    ..Default::default()
                });
            return match self.forward(server, request, asker).await? {
                ServerResult::ListResourceTemplatesResult(result) => Ok(result),
                _ => Err(unexpected("resources/templates/list")),
            };
        }
        let mut all = Vec::new();
        let listed = self
            .gather(
                asker,
                |c| c.resources.is_some(),
                |p| {
                    ClientRequest::ListResourceTemplatesRequest(
                        ListResourceTemplatesRequest::with_param(p),
                    )
                },
                |r| match r {
                    ServerResult::ListResourceTemplatesResult(r) => {
                        Some((r.resource_templates, r.next_cursor))
                    }
                    _ => None,
                },
            )
            .await;
        for (server, template) in listed {
            self.routes.learn_template(&template.uri_template, &server);
            all.push(template);
        }
        Ok(ListResourceTemplatesResult::with_all_items(all))
    }

    /// The server a request about `uri` goes to on an aggregated surface: the known owner,
    /// else (after listing everything once) the owner found by the listing.
    async fn owner_of(&self, uri: &str, asker: &Asker<'_>) -> Option<String> {
        let reachable = self.app.reachable_servers(asker.grant);
        let known = |routes: &Routes| routes.server_of(uri).filter(|s| reachable.contains(s));
        if let Some(server) = known(&self.routes) {
            return Some(server);
        }
        // Learn the URIs and templates there are, then look again.
        let _ = self.list_resources(None, asker).await;
        let _ = self.list_templates(None, asker).await;
        known(&self.routes)
    }

    /// `resources/read`.
    pub async fn read(
        &self,
        mut params: ReadResourceRequestParams,
        asker: &Asker<'_>,
    ) -> Result<ReadResourceResponse, McpError> {
        let server = match asker.surface {
            Surface::Server(server) => server.clone(),
            _ => self
                .owner_of(&params.uri, asker)
                .await
                .ok_or_else(|| not_found(&params.uri))?,
        };
        params.meta = None;
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params));
        match self.forward(&server, request, asker).await? {
            ServerResult::ReadResourceResult(result) => Ok(ReadResourceResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(ReadResourceResponse::InputRequired(result))
            }
            _ => Err(unexpected("resources/read")),
        }
    }

    /// The server `resources/subscribe` or `unsubscribe` for `uri` goes to.
    pub async fn subscription_server(
        &self,
        uri: &str,
        asker: &Asker<'_>,
    ) -> Result<String, McpError> {
        match asker.surface {
            Surface::Server(server) => Ok(server.clone()),
            _ => self
                .owner_of(uri, asker)
                .await
                .ok_or_else(|| not_found(uri)),
        }
    }

    /// `prompts/list`.
    pub async fn list_prompts(
        &self,
        params: Option<PaginatedRequestParams>,
        asker: &Asker<'_>,
    ) -> Result<ListPromptsResult, McpError> {
        if let Surface::Server(server) = asker.surface {
            let request = ClientRequest::ListPromptsRequest(ListPromptsRequest {
                params,
                ..Default::default()
            });
            return match self.forward(server, request, asker).await? {
                ServerResult::ListPromptsResult(result) => Ok(result),
                _ => Err(unexpected("prompts/list")),
            };
        }
        let mut all = Vec::new();
        let listed = self
            .gather(
                asker,
                |c| c.prompts.is_some(),
                |p| ClientRequest::ListPromptsRequest(ListPromptsRequest::with_param(p)),
                |r| match r {
                    ServerResult::ListPromptsResult(r) => Some((r.prompts, r.next_cursor)),
                    _ => None,
                },
            )
            .await;
        for (server, mut prompt) in listed {
            prompt.name = joined(&server, &prompt.name);
            all.push(prompt);
        }
        Ok(ListPromptsResult::with_all_items(all))
    }

    /// Which server and bare name a prompt name means on the caller's surface.
    fn prompt_target(&self, name: &str, asker: &Asker<'_>) -> Result<(String, String), McpError> {
        match asker.surface {
            Surface::Server(server) => Ok((server.clone(), name.to_string())),
            _ => {
                let servers = self.app.reachable_servers(asker.grant);
                split_joined(name, &servers)
                    .map(|(s, n)| (s.to_string(), n.to_string()))
                    .ok_or_else(|| {
                        McpError::invalid_params(
                            format!(
                                "unknown prompt: {name} (prompts here are named server__prompt)"
                            ),
                            None,
                        )
                    })
            }
        }
    }

    /// `prompts/get`.
    pub async fn get_prompt(
        &self,
        mut params: GetPromptRequestParams,
        asker: &Asker<'_>,
    ) -> Result<GetPromptResponse, McpError> {
        let (server, name) = self.prompt_target(&params.name, asker)?;
        params.name = name;
        params.meta = None;
        let request = ClientRequest::GetPromptRequest(GetPromptRequest::new(params));
        match self.forward(&server, request, asker).await? {
            ServerResult::GetPromptResult(result) => Ok(GetPromptResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(GetPromptResponse::InputRequired(result))
            }
            _ => Err(unexpected("prompts/get")),
        }
    }

    /// `completion/complete`.
    pub async fn complete(
        &self,
        mut params: CompleteRequestParams,
        asker: &Asker<'_>,
    ) -> Result<CompleteResult, McpError> {
        let server = match &mut params.r#ref {
            Reference::Prompt(prompt) => {
                let (server, name) = self.prompt_target(&prompt.name, asker)?;
                prompt.name = name;
                server
            }
            Reference::Resource(resource) => match asker.surface {
                Surface::Server(server) => server.clone(),
                _ => {
                    if self.routes.server_of_template(&resource.uri).is_none() {
                        let _ = self.list_templates(None, asker).await;
                    }
                    self.routes
                        .server_of_template(&resource.uri)
                        .or_else(|| self.routes.server_of(&resource.uri))
                        .ok_or_else(|| not_found(&resource.uri))?
                }
            },
            _ => {
                return Err(McpError::invalid_params(
                    "completion for this kind of reference is not supported",
                    None,
                ));
            }
        };
        params.meta = None;
        let request = ClientRequest::CompleteRequest(CompleteRequest::new(params));
        match self.forward(&server, request, asker).await? {
            ServerResult::CompleteResult(result) => Ok(result),
            _ => Err(unexpected("completion/complete")),
        }
    }
}

/// Results of servers on older revisions carry no `resultType`; 2026-07-28 clients require
/// it (rmcp strips it again for clients on older revisions).
fn mark_complete(result: &mut ServerResult) {
    let result_type = match result {
        ServerResult::CompleteResult(r) => &mut r.result_type,
        ServerResult::GetPromptResult(r) => &mut r.result_type,
        ServerResult::ListPromptsResult(r) => &mut r.result_type,
        ServerResult::ListResourcesResult(r) => &mut r.result_type,
        ServerResult::ListResourceTemplatesResult(r) => &mut r.result_type,
        ServerResult::ReadResourceResult(r) => &mut r.result_type,
        ServerResult::ListToolsResult(r) => &mut r.result_type,
        ServerResult::CallToolResult(r) => &mut r.result_type,
        _ => return,
    };
    result_type.get_or_insert(rmcp::model::ResultType::COMPLETE);
}

fn unexpected(method: &str) -> McpError {
    McpError::internal_error(
        format!("the server answered {method} with a result of another kind"),
        None,
    )
}

fn not_found(uri: &str) -> McpError {
    McpError::new(
        ErrorCode::RESOURCE_NOT_FOUND,
        format!("no server behind the proxy offers resource {uri}"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_by_their_literal_parts() {
        assert!(template_matches(
            "test://template/{id}/data",
            "test://template/7/data"
        ));
        assert!(!template_matches(
            "test://template/{id}/data",
            "test://template/7/other"
        ));
        assert!(!template_matches("file:///{path}", "test://x"));
        assert!(template_matches("{+uri}", "anything"));
    }

    #[test]
    fn the_most_specific_template_owns_a_uri() {
        let routes = Routes::default();
        routes.learn_template("test://{x}", "broad");
        routes.learn_template("test://template/{id}/data", "narrow");
        routes.learn("test://static-text", "listed");
        assert_eq!(
            routes.server_of("test://template/1/data").as_deref(),
            Some("narrow")
        );
        assert_eq!(
            routes.server_of("test://static-text").as_deref(),
            Some("listed")
        );
        assert_eq!(routes.server_of("test://other").as_deref(), Some("broad"));
        assert_eq!(routes.server_of("file:///x"), None);
    }
}
