//! The application's side of the scrape-time gauges (`telemetry::metrics`): what is running
//! right now, read when `/metrics` is scraped.

use super::App;
use crate::telemetry::Gauges;

impl App {
    /// Upstream states, index size, open sessions, event-bus subscribers and the storage
    /// queue, as of now.
    pub fn gauges(&self) -> Gauges {
        Gauges {
            upstreams: self
                .upstreams
                .snapshots()
                .into_iter()
                .map(|s| (s.name, s.state))
                .collect(),
            index_tools: self.with_index(|index| index.len()),
            sessions: self.sessions.lock().map(|open| open.len()).unwrap_or(0),
            bus_subscribers: self.bus.subscribers(),
            storage_queue: self.storage.queued(),
        }
    }
}
