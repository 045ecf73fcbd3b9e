//! The live feed of server log lines: every line a server's log writes (already redacted,
//! as in the file) is also offered here, for `/events?logs=<server>` clients. Only those
//! clients subscribe, so `/events` stays cheap for everyone else: with no subscriber a
//! write costs one counter read. A follower that falls behind misses lines (it is told
//! how many, and re-reads the file's tail); writers never wait.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast;

/// Lines buffered per follower before it falls behind.
const FEED_BUFFER: usize = 1024;

/// One fed line: which server wrote it, and the line as the log file has it.
#[derive(Debug, Clone, Serialize)]
pub struct FedLine {
    /// The server whose log it is.
    pub server: Arc<str>,
    /// When it was written.
    pub timestamp: DateTime<Utc>,
    /// INFO, WARN, ERROR or STDERR.
    pub level: String,
    /// The redacted text.
    pub message: String,
}

/// A cloneable handle to the feed of every server's log lines.
#[derive(Clone)]
pub struct LogFeed {
    sender: broadcast::Sender<Arc<FedLine>>,
}

impl Default for LogFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(FEED_BUFFER).0,
        }
    }
}

impl LogFeed {
    /// Offer a line to the followers; builds nothing when nobody follows.
    pub(crate) fn offer(&self, line: impl FnOnce() -> FedLine) {
        if self.sender.receiver_count() > 0 {
            let _ = self.sender.send(Arc::new(line()));
        }
    }

    /// Follow every server's lines from now on (filter by [`FedLine::server`]).
    pub fn follow(&self) -> broadcast::Receiver<Arc<FedLine>> {
        self.sender.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(server: &str) -> FedLine {
        FedLine {
            server: server.into(),
            timestamp: Utc::now(),
            level: "INFO".into(),
            message: "m".into(),
        }
    }

    #[tokio::test]
    async fn lines_reach_followers_and_cost_nothing_without_them() {
        let feed = LogFeed::default();
        let mut built = false;
        feed.offer(|| {
            built = true;
            line("a")
        });
        assert!(!built, "no follower: the line is not even built");
        let mut follower = feed.follow();
        feed.offer(|| line("b"));
        let got = follower.recv().await.expect("a line");
        assert_eq!(&*got.server, "b");
    }
}
