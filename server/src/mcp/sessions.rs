//! The registry of initialized `/mcp` sessions: who is on the other end (the session id and
//! the client's name and version, as calls record them) and when they were last heard from.
//!
//! It also holds each session's credential ([`Caller`]), bound when `initialize` creates the
//! session; every later request of the session must present the same one.
//!
//! A session enters when its handler first learns its id (the `initialized` notification
//! or its first request) and leaves when rmcp drops the handler (DELETE, shutdown) or when
//! it has been idle longer than [`IDLE_LIMIT`]. The JSON fast path serves only sessions
//! found here, so a request on a session this registry has not seen yet takes rmcp's path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::auth::Caller;
use super::client_link::ClientLink;
use crate::app::CallOrigin;

/// A session unheard from for this long is closed.
pub const IDLE_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What the fast path needs to link a call to its session's client: only sessions of the
/// built-in tools' surface have it. Made once, when the session registers: a fast-path call
/// has no stream of its own, so its link to the client is the session's.
#[derive(Clone)]
pub struct FastLink {
    /// The session's client, as every fast-path call reaches it.
    pub client: Arc<ClientLink>,
}

impl std::fmt::Debug for FastLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastLink").finish_non_exhaustive()
    }
}

/// One live session.
#[derive(Debug)]
pub struct LiveSession {
    /// What is known about it.
    pub info: CallOrigin,
    /// Set when the fast path may answer it.
    pub fast: Option<FastLink>,
    /// Milliseconds since the registry's epoch at the last request.
    last_seen_ms: AtomicU64,
}

/// Live sessions by id.
#[derive(Debug)]
pub struct Sessions {
    epoch: Instant,
    live: RwLock<HashMap<String, Arc<LiveSession>>>,
    /// The credential of every session rmcp created, and when it was bound (ms).
    bound: RwLock<HashMap<String, (Caller, u64)>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            live: RwLock::default(),
            bound: RwLock::default(),
        }
    }
}

impl Sessions {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Add a session whose id is `info.session_id`.
    pub fn register(&self, info: CallOrigin, fast: Option<FastLink>) {
        let Some(id) = info.session_id.clone() else {
            return;
        };
        let session = Arc::new(LiveSession {
            info,
            fast,
            last_seen_ms: AtomicU64::new(self.now_ms()),
        });
        if let Ok(mut live) = self.live.write() {
            live.insert(id, session);
        }
    }

    /// The live session `id`, marked as heard from now.
    pub fn touch(&self, id: &str) -> Option<Arc<LiveSession>> {
        let session = self.live.read().ok()?.get(id).cloned()?;
        session.last_seen_ms.store(self.now_ms(), Ordering::Relaxed);
        Some(session)
    }

    /// Forget `id` (the session ended).
    pub fn remove(&self, id: &str) {
        if let Ok(mut live) = self.live.write() {
            live.remove(id);
        }
        if let Ok(mut bound) = self.bound.write() {
            bound.remove(id);
        }
    }

    /// Session `id` was created by `caller`.
    pub fn bind(&self, id: String, caller: Caller) {
        let now = self.now_ms();
        if let Ok(mut bound) = self.bound.write() {
            bound.insert(id, (caller, now));
        }
    }

    /// The credential session `id` was created with; `None` for a session never created.
    pub fn caller(&self, id: &str) -> Option<Caller> {
        Some(self.bound.read().ok()?.get(id)?.0.clone())
    }

    /// Ids of the sessions unheard from for longer than `limit` (and of created sessions
    /// that never became live within it).
    pub fn idle(&self, limit: Duration) -> Vec<String> {
        let now = self.now_ms();
        let limit = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        let Ok(live) = self.live.read() else {
            return Vec::new();
        };
        let mut idle: Vec<String> = live
            .iter()
            .filter(|(_, s)| now.saturating_sub(s.last_seen_ms.load(Ordering::Relaxed)) > limit)
            .map(|(id, _)| id.clone())
            .collect();
        if let Ok(bound) = self.bound.read() {
            idle.extend(
                bound
                    .iter()
                    .filter(|(id, (_, at))| {
                        !live.contains_key(*id) && now.saturating_sub(*at) > limit
                    })
                    .map(|(id, _)| id.clone()),
            );
        }
        idle
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.live.read().map(|l| l.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> CallOrigin {
        CallOrigin {
            session_id: Some(id.into()),
            client_name: Some("c".into()),
            ..CallOrigin::default()
        }
    }

    #[test]
    fn register_touch_remove() {
        let sessions = Sessions::default();
        assert!(sessions.touch("a").is_none());
        sessions.register(info("a"), None);
        sessions.register(CallOrigin::default(), None); // no id: ignored
        assert_eq!(sessions.len(), 1);
        let live = sessions.touch("a").expect("registered");
        assert_eq!(live.info.client_name.as_deref(), Some("c"));
        sessions.remove("a");
        assert!(sessions.touch("a").is_none());
        assert_eq!(sessions.len(), 0);
    }

    #[test]
    fn a_session_keeps_its_credential_until_removed() {
        let sessions = Sessions::default();
        assert!(sessions.caller("a").is_none());
        sessions.bind("a".into(), Caller::ApiKey);
        assert!(
            sessions
                .caller("a")
                .is_some_and(|c| c.same_as(&Caller::ApiKey))
        );
        assert!(!Caller::ApiKey.same_as(&Caller::Anonymous));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(
            sessions.idle(Duration::from_millis(15)),
            vec!["a"],
            "a created session that never became live is swept too"
        );
        sessions.remove("a");
        assert!(sessions.caller("a").is_none());
    }

    #[test]
    fn idle_lists_only_sessions_past_the_limit() {
        let sessions = Sessions::default();
        sessions.register(info("old"), None);
        std::thread::sleep(Duration::from_millis(30));
        sessions.register(info("new"), None);
        assert_eq!(sessions.idle(Duration::from_millis(15)), vec!["old"]);
        sessions.touch("old");
        assert!(sessions.idle(Duration::from_millis(15)).is_empty());
    }
}
