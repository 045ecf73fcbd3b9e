//! Waiting, briefly, for servers still coming up. Right after start (and after an enable,
//! an approval or a restart) a server that will serve is still connecting, or is ready but
//! not catalogued yet; a call or a search at that moment would fail with "not connected" or
//! find nothing. Calls wait for their server (within the call timeout) and searches for
//! every server they cover (within [`SEARCH_WAIT`]).
//!
//! Only servers on their way up are waited for: enabled and approved, and either not
//! started yet, connecting without a failure since they were last ready, or ready with tools
//! the catalogue does not reflect yet. A server that failed (error, pending auth, retrying),
//! is quarantined or disabled is never waited for.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::App;
use crate::config::Admission;
use crate::upstream::ConnectionState;

/// The longest a search waits for servers still coming up.
pub const SEARCH_WAIT: Duration = Duration::from_secs(5);

/// How often the states are looked at again when no event arrives.
const RECHECK: Duration = Duration::from_millis(50);

impl App {
    /// Whether `server` (with `admission`) is on its way to offering its tools (see the
    /// module doc).
    fn coming_up(&self, server: &str, admission: &Admission) -> bool {
        if !admission.should_connect() {
            return false;
        }
        let Some(arrival) = self.upstreams.arrival(server) else {
            // Configured but not handed to the manager yet.
            return true;
        };
        match arrival.state {
            ConnectionState::Disconnected => !arrival.attempted,
            state if state.is_connecting() => arrival.retry_count == 0,
            ConnectionState::Ready => {
                arrival.tool_count > 0 && !self.offers_tools(server) && !self.any_blocked(server)
            }
            _ => false,
        }
    }

    /// Whether some server that `covers` is coming up.
    fn any_coming_up(&self, covers: &impl Fn(&str) -> bool) -> bool {
        self.settings()
            .servers
            .iter()
            .any(|(name, admission)| covers(name) && self.coming_up(name, admission))
    }

    /// Whether some tool of `server` is held back as changed (so an empty catalogue entry
    /// is the indexer's verdict, not its lag).
    fn any_blocked(&self, server: &str) -> bool {
        self.upstreams
            .tools(server)
            .unwrap_or_default()
            .iter()
            .any(|t| self.is_blocked(server, &t.name))
    }

    /// Wait until no server that `covers` is coming up, or `within` has passed. Returns
    /// whether they all settled.
    pub async fn settle(&self, covers: impl Fn(&str) -> bool, within: Duration) -> bool {
        // The usual case, every server up: no subscription to the bus (whose lock every
        // call would otherwise take twice).
        if !self.any_coming_up(&covers) {
            return true;
        }
        let deadline = Instant::now() + within;
        // Subscribe before looking again, so no change between the look and the wait is missed.
        let mut events = self.bus.subscribe_changes();
        loop {
            if !self.any_coming_up(&covers) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let nap = (deadline - now).min(RECHECK);
            match tokio::time::timeout(nap, events.recv()).await {
                Ok(Ok(_) | Err(RecvError::Lagged(_))) | Err(_) => {}
                Ok(Err(RecvError::Closed)) => tokio::time::sleep(nap).await,
            }
        }
    }
}
