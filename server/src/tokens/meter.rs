//! The counting thread, what it has counted, and the catalogue-cost cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolResult, Tool};
use serde_json::json;

use super::count_json;
use crate::storage::Storage;

/// Answers waiting to be counted, at most (each is the JSON of what the agent received, cut
/// to `tool_response_limit` on the built-in surface).
const QUEUE: usize = 1024;
/// Answers up to this many bytes of JSON are counted on the spot ([`TokenMeter::count_now`]):
/// a few microseconds, less than handing them to the thread and writing the count back.
const COUNT_NOW_UP_TO: usize = 512;
/// Sessions' new tokens are written to storage at least this often while answers come.
const PERSIST_EVERY: Duration = Duration::from_millis(500);
/// After the first answer of a batch the thread sleeps this long and then takes everything
/// queued: a busy proxy wakes it a few dozen times a second, not once per answer (each
/// wake-up is a futex call by the answering worker and a context switch).
const GATHER: Duration = Duration::from_millis(20);

/// One server's offered tools by bare name (the application's catalogue entry).
pub type Catalogue = Arc<HashMap<String, Tool>>;

/// What an answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `retrieve_tools` answer.
    Retrieve,
    /// An upstream tool's result, as the agent got it (after truncation).
    ToolResult,
    /// Any other built-in tool's answer (`describe_tool`, `read_cache`, management).
    OtherBuiltin,
}

/// Answers of one kind and their tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Answers counted.
    pub answers: u64,
    /// Their tokens.
    pub tokens: u64,
}

impl Tally {
    fn add(&mut self, tokens: u64) {
        self.answers += 1;
        self.tokens = self.tokens.saturating_add(tokens);
    }
}

/// Everything counted since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenTotals {
    /// `retrieve_tools` answers.
    pub retrieve: Tally,
    /// Upstream tool results.
    pub tool_results: Tally,
    /// The other built-in tools' answers.
    pub other: Tally,
    /// Answers dropped uncounted because the queue was full.
    pub uncounted: u64,
}

/// An answer as it is counted: its JSON, as every revision receives it (without
/// 2026-07-28's `resultType` marker).
#[derive(Debug)]
pub struct Answer(String);

impl Answer {
    /// `result`'s JSON.
    pub fn of(result: &CallToolResult) -> Self {
        let text = if result.result_type.is_some() {
            let mut bare = result.clone();
            bare.result_type = None;
            serde_json::to_string(&bare)
        } else {
            serde_json::to_string(result)
        };
        Self(text.unwrap_or_default())
    }
}

enum Job {
    Answer {
        session: Option<String>,
        /// The history record of the call that answered, whose `tokens` the count fills.
        call: Option<String>,
        kind: Kind,
        answer: Answer,
    },
    Catalogue {
        server: String,
        tools: Catalogue,
    },
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Default)]
struct Shared {
    totals: TokenTotals,
    /// Tokens counted for sessions and not yet stored.
    sessions: HashMap<String, u64>,
    /// Catalogue cost by server, with the catalogue it was counted of.
    catalogues: HashMap<String, (Catalogue, u64)>,
}

impl Shared {
    /// `tokens` more of `kind`, received by `session`.
    fn add(&mut self, session: Option<String>, kind: Kind, tokens: u64) {
        let tally = match kind {
            Kind::Retrieve => &mut self.totals.retrieve,
            Kind::ToolResult => &mut self.totals.tool_results,
            Kind::OtherBuiltin => &mut self.totals.other,
        };
        tally.add(tokens);
        if let Some(session) = session {
            *self.sessions.entry(session).or_default() += tokens;
        }
    }
}

/// Counts tokens of answers and catalogues on a thread of its own.
pub struct TokenMeter {
    jobs: mpsc::SyncSender<Job>,
    shared: Arc<Mutex<Shared>>,
    /// The counting thread, woken early by [`TokenMeter::flush`].
    thread: Option<std::thread::Thread>,
}

impl std::fmt::Debug for TokenMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenMeter").finish_non_exhaustive()
    }
}

impl TokenMeter {
    /// A meter writing sessions' totals to `storage`; its thread ends when the meter is
    /// dropped (after writing what it still holds).
    pub fn start(storage: Arc<Storage>, log: slog::Logger) -> Self {
        let (jobs, queue) = mpsc::sync_channel(QUEUE);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let worker = Worker {
            shared: shared.clone(),
            storage,
            log: log.clone(),
            last_persist: Instant::now(),
        };
        let thread = match std::thread::Builder::new()
            .name("token-meter".into())
            .spawn(move || worker.run(&queue))
        {
            Ok(handle) => Some(handle.thread().clone()),
            Err(e) => {
                slog::error!(log, "cannot start the token counter; nothing will be counted"; "error" => %e);
                None
            }
        };
        Self {
            jobs,
            shared,
            thread,
        }
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        crate::sync::lock(&self.shared)
    }

    /// Count `answer`, which `session` received, now if it is small: its tokens, added to
    /// its kind's tally and the session's total. A larger one comes back, for
    /// [`Self::count_later`].
    pub fn count_now(
        &self,
        session: Option<&str>,
        kind: Kind,
        answer: Answer,
    ) -> Result<u64, Answer> {
        if answer.0.len() > COUNT_NOW_UP_TO {
            return Err(answer);
        }
        let tokens = super::count(&answer.0);
        self.shared().add(session.map(str::to_string), kind, tokens);
        Ok(tokens)
    }

    /// Count `answer`, which `session` received, on the counting thread. With `call`, the
    /// id of the tool call's history record (stored by then), the count is also stored as
    /// that record's `tokens` (through the storage writer's next batch).
    pub fn count_later(
        &self,
        session: Option<&str>,
        call: Option<String>,
        kind: Kind,
        answer: Answer,
    ) {
        let job = Job::Answer {
            session: session.map(str::to_string),
            call,
            kind,
            answer,
        };
        if self.jobs.try_send(job).is_err() {
            self.shared().totals.uncounted += 1;
        }
    }

    /// Count `server`'s catalogue ahead of a stats request (later, on the counting thread).
    pub fn precount(&self, server: &str, tools: Catalogue) {
        let _ = self.jobs.try_send(Job::Catalogue {
            server: server.to_string(),
            tools,
        });
    }

    /// Wait until everything observed before is counted and sessions' totals are stored.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.clone();
        // `send` blocks while the queue is full: off the async workers.
        let sent = tokio::task::spawn_blocking(move || jobs.send(Job::Flush(done)).is_ok()).await;
        if matches!(sent, Ok(true)) {
            // It may be gathering a batch: no need to wait out the window.
            if let Some(thread) = &self.thread {
                thread.unpark();
            }
            let _ = wait.await;
        }
    }

    /// What has been counted since start.
    pub fn totals(&self) -> TokenTotals {
        self.shared().totals.clone()
    }

    /// Tokens of `tools` as a `tools/list` result: cached while the catalogue is the same.
    pub fn catalogue_cost(&self, server: &str, tools: &Catalogue) -> u64 {
        if let Some((seen, cost)) = self.shared().catalogues.get(server)
            && Arc::ptr_eq(seen, tools)
        {
            return *cost;
        }
        let cost = catalogue_tokens(tools);
        self.shared()
            .catalogues
            .insert(server.to_string(), (tools.clone(), cost));
        cost
    }

    /// Forget servers no longer offering tools.
    pub fn retain_catalogues(&self, keep: impl Fn(&str) -> bool) {
        self.shared().catalogues.retain(|server, _| keep(server));
    }
}

/// Tokens of `tools` (sorted by name) as a `tools/list` result.
fn catalogue_tokens(tools: &Catalogue) -> u64 {
    let mut list: Vec<&Tool> = tools.values().collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    count_json(&json!({ "tools": list }))
}

struct Worker {
    shared: Arc<Mutex<Shared>>,
    storage: Arc<Storage>,
    log: slog::Logger,
    last_persist: Instant,
}

impl Worker {
    fn run(mut self, queue: &mpsc::Receiver<Job>) {
        loop {
            match queue.recv_timeout(PERSIST_EVERY) {
                Ok(job) => {
                    let flushed = matches!(job, Job::Flush(_));
                    self.handle(job);
                    if !flushed && !self.gather(queue) {
                        self.persist();
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.persist(),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.persist();
                    return;
                }
            }
            if self.last_persist.elapsed() >= PERSIST_EVERY {
                self.persist();
            }
        }
    }

    /// Sleep up to [`GATHER`] (senders never wake a sleeping thread; a flush does) and
    /// handle everything queued meanwhile, until a flush. `false` once the meter is gone.
    fn gather(&mut self, queue: &mpsc::Receiver<Job>) -> bool {
        let deadline = Instant::now() + GATHER;
        loop {
            loop {
                match queue.try_recv() {
                    Ok(job @ Job::Flush(_)) => {
                        self.handle(job);
                        return true;
                    }
                    Ok(job) => self.handle(job),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return false,
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::Answer {
                session,
                call,
                kind,
                answer,
            } => {
                let tokens = super::count_long(&answer.0);
                self.lock().add(session, kind, tokens);
                if let Some(id) = call {
                    self.storage.record_call_tokens(&id, tokens);
                }
            }
            Job::Catalogue { server, tools } => {
                let fresh = self
                    .lock()
                    .catalogues
                    .get(&server)
                    .is_some_and(|(seen, _)| Arc::ptr_eq(seen, &tools));
                if !fresh {
                    let cost = catalogue_tokens(&tools);
                    self.lock().catalogues.insert(server, (tools, cost));
                }
            }
            Job::Flush(done) => {
                self.persist();
                let _ = done.send(());
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        crate::sync::lock(&self.shared)
    }

    fn persist(&mut self) {
        self.last_persist = Instant::now();
        let batch: Vec<(String, u64)> = self.lock().sessions.drain().collect();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.storage.add_session_tokens(&batch) {
            slog::warn!(self.log, "cannot store sessions' token totals"; "error" => %e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Retention, SessionRecord};
    use crate::tokens::count;
    use rmcp::model::ContentBlock;

    /// A database in `dir` with one session, `s`.
    fn storage_with_session(dir: &std::path::Path) -> Arc<Storage> {
        let storage =
            Arc::new(Storage::open(&dir.join("t.db"), Retention::default()).expect("open"));
        storage
            .upsert_session(&SessionRecord::active("s".into(), chrono::Utc::now()))
            .expect("session");
        storage
    }

    /// A meter on `storage`, an answer, and the answer as it is counted (no 2026 marker).
    fn meter_and_answer(storage: &Arc<Storage>) -> (TokenMeter, CallToolResult, CallToolResult) {
        let meter = TokenMeter::start(
            storage.clone(),
            slog::Logger::root(slog::Discard, slog::o!()),
        );
        let answer = CallToolResult::success(vec![ContentBlock::text("hello world")]);
        let mut bare = answer.clone();
        bare.result_type = None;
        (meter, answer, bare)
    }

    #[tokio::test]
    async fn answers_add_to_their_kind_and_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = storage_with_session(dir.path());
        let (meter, answer, bare) = meter_and_answer(&storage);
        let each = count_json(&bare);
        assert!(each < count_json(&answer), "the 2026 marker is not counted");
        // Small answers are counted on the spot, others on the thread: the same tallies.
        let now = meter.count_now(Some("s"), Kind::Retrieve, Answer::of(&answer));
        assert_eq!(now.ok(), Some(each));
        meter.count_later(Some("s"), None, Kind::ToolResult, Answer::of(&answer));
        meter.count_later(None, None, Kind::ToolResult, Answer::of(&answer));
        meter.flush().await;
        let totals = meter.totals();
        assert_eq!(
            totals.retrieve,
            Tally {
                answers: 1,
                tokens: each
            }
        );
        assert_eq!(
            totals.tool_results,
            Tally {
                answers: 2,
                tokens: 2 * each
            }
        );
        assert_eq!(totals.uncounted, 0);
        let stored = storage.get_session("s").expect("get").expect("present");
        assert_eq!(stored.total_tokens, 2 * each);
    }

    #[tokio::test]
    async fn a_tool_results_count_becomes_its_call_records_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage =
            Arc::new(Storage::open(&dir.path().join("t.db"), Retention::default()).expect("open"));
        storage.record_call(crate::storage::ToolCallRecord::bare("c1"));
        let (meter, answer, bare) = meter_and_answer(&storage);
        meter.count_later(
            None,
            Some("c1".into()),
            Kind::ToolResult,
            Answer::of(&answer),
        );
        meter.count_later(
            None,
            Some("gone".into()),
            Kind::ToolResult,
            Answer::of(&answer),
        );
        meter.flush().await;
        storage.flush().await;
        let stored = storage.get_call("c1").expect("get").expect("present");
        assert_eq!(stored.tokens, Some(count_json(&bare)));
        assert!(storage.get_call("gone").expect("get").is_none());
        assert_eq!(storage.writer_stats().failed, 0);
    }

    #[tokio::test]
    async fn a_burst_gathered_in_batches_is_all_counted_by_the_next_flush() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = storage_with_session(dir.path());
        let (meter, answer, bare) = meter_and_answer(&storage);
        let each = count_json(&bare);
        // The first answer wakes the thread; the rest arrive while it gathers.
        let burst = 500u64;
        for _ in 0..burst {
            meter.count_later(Some("s"), None, Kind::ToolResult, Answer::of(&answer));
        }
        meter.flush().await;
        let totals = meter.totals();
        assert_eq!(
            totals.tool_results,
            Tally {
                answers: burst,
                tokens: burst * each
            }
        );
        assert_eq!(totals.uncounted, 0);
        let stored = storage.get_session("s").expect("get").expect("present");
        assert_eq!(stored.total_tokens, burst * each);
    }

    #[tokio::test]
    async fn only_small_answers_are_counted_on_the_spot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = storage_with_session(dir.path());
        let (meter, _, _) = meter_and_answer(&storage);
        let large = CallToolResult::success(vec![ContentBlock::text("word ".repeat(200))]);
        let back = meter
            .count_now(Some("s"), Kind::ToolResult, Answer::of(&large))
            .expect_err("a large answer goes to the thread");
        assert_eq!(
            meter.totals().tool_results,
            Tally::default(),
            "nothing counted yet"
        );
        meter.count_later(Some("s"), None, Kind::ToolResult, back);
        meter.flush().await;
        let mut bare = large.clone();
        bare.result_type = None;
        let tokens = count_json(&bare);
        assert_eq!(meter.totals().tool_results, Tally { answers: 1, tokens });
        let stored = storage.get_session("s").expect("get").expect("present");
        assert_eq!(stored.total_tokens, tokens);
    }

    #[test]
    fn catalogue_cost_is_cached_per_catalogue() {
        let tool = |name: &str| {
            let schema: rmcp::model::JsonObject =
                serde_json::from_value(json!({"type": "object"})).expect("schema");
            Tool::new(name.to_string(), "does things", Arc::new(schema))
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let storage =
            Arc::new(Storage::open(&dir.path().join("t.db"), Retention::default()).expect("open"));
        let meter = TokenMeter::start(storage, slog::Logger::root(slog::Discard, slog::o!()));
        let one: Catalogue = Arc::new([("a".to_string(), tool("a"))].into_iter().collect());
        let cost = meter.catalogue_cost("srv", &one);
        assert_eq!(cost, count_json(&json!({"tools": [tool("a")]})));
        let two: Catalogue = Arc::new(
            [("a".to_string(), tool("a")), ("b".to_string(), tool("b"))]
                .into_iter()
                .collect(),
        );
        assert!(
            meter.catalogue_cost("srv", &two) > cost,
            "a new catalogue is counted again"
        );
        assert!(count("x") > 0);
    }
}
