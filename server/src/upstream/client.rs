//! The MCP client side of one session: the rmcp `ClientHandler` (who we are, and a
//! `notifications/tools/list_changed` wake-up), and discovery (server identity and the full
//! tool list, following `nextCursor`).

use std::sync::Arc;

use rmcp::{
    ClientHandler, RoleClient,
    model::{ClientCapabilities, ClientConfig, Implementation, Tool},
    service::{MaybeSendFuture, NotificationContext, Peer},
};
use tokio::sync::Notify;

use super::logs::ServerLog;

/// The handler of one client session.
#[derive(Clone)]
pub(crate) struct Handler {
    /// Woken when the server says its tool list changed.
    pub tools_changed: Arc<Notify>,
    /// Where server log notifications go.
    pub log: ServerLog,
}

impl ClientHandler for Handler {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("mcpproxy", env!("CARGO_PKG_VERSION")),
        )
    }

    fn on_tool_list_changed(
        &self,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.tools_changed.notify_one();
        std::future::ready(())
    }

    // Logging is deprecated by SEP-2577, but today's servers still send it.
    #[allow(deprecated)]
    fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        let data = match &params.data {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.log
            .write("SERVER", &format!("[{:?}] {data}", params.level));
        std::future::ready(())
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
