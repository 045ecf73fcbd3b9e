//! Requests other than tool calls that reach one upstream on a client's behalf —
//! resources, prompts, completion, logging level, tasks — under the same admission as a
//! tool call (configured, approved, enabled, in the agent token's scope), waiting for a
//! server still coming up within the call timeout. Results and the server's own errors
//! come back as they are.

use rmcp::model::{ClientRequest, ServerCapabilities, ServerResult, Tool};

use super::calls::CallError;
use super::{App, Grant};
use crate::upstream::CallLink;

impl App {
    /// Forward `request` to `server` for a caller with `grant`; `link` is the client the
    /// server's messages about it go to.
    pub async fn forward(
        &self,
        server: &str,
        request: ClientRequest,
        grant: Option<&Grant>,
        link: &CallLink,
    ) -> Result<ServerResult, CallError> {
        let settings = self.settings();
        super::calls::admit(&settings, server, grant)?;
        let timeout = settings.call_tool_timeout;
        let started = tokio::time::Instant::now();
        self.settle(|s| s == server, timeout).await;
        let left = timeout.saturating_sub(started.elapsed());
        Ok(self.upstreams.forward(server, request, left, link).await?)
    }

    /// What `server` said it can do, when it is ready and `grant` reaches it.
    pub fn capabilities_of(
        &self,
        server: &str,
        grant: Option<&Grant>,
    ) -> Option<ServerCapabilities> {
        self.admit(server, grant).ok()?;
        self.upstreams.capabilities(server)
    }

    /// The servers a caller with `grant` reaches, by name.
    pub fn reachable_servers(&self, grant: Option<&Grant>) -> Vec<String> {
        let (config, settings) = self.running();
        config
            .servers
            .iter()
            .filter(|s| super::calls::admit(&settings, &s.name, grant).is_ok())
            .map(|s| s.name.clone())
            .collect()
    }

    /// The tools `server` offers right now (approved, not blocked), by name.
    pub fn offered_tools(&self, server: &str) -> Vec<Tool> {
        self.catalog.offered_tools(server)
    }
}
