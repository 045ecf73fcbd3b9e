//! `subscriptions/listen` on 2026-07-28 upstreams. A 2026 server sends change notifications
//! (`tools/list_changed` and the prompt and resource ones) only on a stream the client opened
//! with `subscriptions/listen`; a 2025 session gets them unasked. After a 2026 handshake this
//! opens one stream for the list changes the server declares, and gives each notification
//! on it the effect the session's handler gives one that arrives the 2025 way (rmcp routes a
//! stream's notifications to the stream, not to the handler, and a `NotificationContext`
//! cannot be made outside rmcp).

use std::time::Duration;

use rmcp::model::{ServerCapabilities, ServerNotification, SubscriptionFilter};
use rmcp::{Peer, RoleClient};
use tokio_util::sync::CancellationToken;

use super::super::{client::Handler, logs::ServerLog, relay::Notice};
use super::lifecycle::is_legacy;

/// How long the server has to acknowledge the stream.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The list changes `capabilities` says the server announces; `None` when there are none.
fn filter_for(capabilities: &ServerCapabilities) -> Option<SubscriptionFilter> {
    let tools = capabilities
        .tools
        .as_ref()
        .and_then(|t| t.list_changed)
        .unwrap_or(false);
    let prompts = capabilities
        .prompts
        .as_ref()
        .and_then(|p| p.list_changed)
        .unwrap_or(false);
    let resources = capabilities
        .resources
        .as_ref()
        .and_then(|r| r.list_changed)
        .unwrap_or(false);
    if !(tools || prompts || resources) {
        return None;
    }
    let mut filter = SubscriptionFilter::default();
    filter.tools_list_changed = tools.then_some(true);
    filter.prompts_list_changed = prompts.then_some(true);
    filter.resources_list_changed = resources.then_some(true);
    Some(filter)
}

/// On a 2026 session whose server announces list changes, open the stream (waiting for its
/// acknowledgment) and relay it to `handler` until the session ends (`ct`).
pub(crate) async fn start(
    peer: &Peer<RoleClient>,
    handler: &Handler,
    log: &ServerLog,
    ct: &CancellationToken,
) {
    let Some(info) = peer.peer_info() else { return };
    if is_legacy(info.protocol_version.as_str()) {
        return;
    }
    let Some(filter) = filter_for(&info.capabilities) else {
        return;
    };
    let mut subscription = match tokio::time::timeout(ACK_TIMEOUT, peer.listen(filter)).await {
        Ok(Ok(subscription)) => subscription,
        Ok(Err(error)) => {
            log.info(&format!("subscriptions/listen refused: {error}"));
            return;
        }
        Err(_) => {
            log.info(&format!(
                "subscriptions/listen not acknowledged in {ACK_TIMEOUT:?}"
            ));
            return;
        }
    };
    log.info("subscriptions/listen: list changes will arrive");
    let (handler, log, ct) = (handler.clone(), log.clone(), ct.clone());
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                () = ct.cancelled() => return,
                next = subscription.next() => next,
            };
            match next {
                Ok(Some(notification)) => relay(&handler, notification),
                Ok(None) | Err(_) => {
                    log.info(&format!(
                        "subscriptions/listen ended ({:?})",
                        subscription.end()
                    ));
                    return;
                }
            }
        }
    });
}

/// What the handler does with a list change that arrived the 2025 way.
fn relay(handler: &Handler, notification: ServerNotification) {
    let server = handler.server.clone();
    let notice = match notification {
        ServerNotification::ToolListChangedNotification(_) => {
            handler.tools_changed.notify_one();
            return;
        }
        ServerNotification::PromptListChangedNotification(_) => Notice::PromptsChanged { server },
        ServerNotification::ResourceListChangedNotification(_) => {
            Notice::ResourcesChanged { server }
        }
        ServerNotification::ResourceUpdatedNotification(updated) => Notice::ResourceUpdated {
            server,
            uri: updated.params.uri,
        },
        _ => return,
    };
    // Nobody listening is fine.
    let _ = handler.notices.send(notice);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_asks_only_for_what_the_server_announces() {
        let none = ServerCapabilities::builder().enable_tools().build();
        assert_eq!(filter_for(&none), None);
        let tools = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .build();
        let filter = filter_for(&tools).expect("a filter");
        assert_eq!(filter.tools_list_changed, Some(true));
        assert_eq!(filter.prompts_list_changed, None);
        assert_eq!(filter.resources_list_changed, None);
    }
}
