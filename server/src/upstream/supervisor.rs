//! One supervisor task per server: connect → discover → ready, watch the session (transport
//! closed, child exited, tool list changed), and on failure retry with capped exponential
//! backoff — except after an authentication failure, which waits for an explicit restart.
//! Also owns teardown: close the session and terminate the child's process group.

use std::{pin::pin, sync::Arc, time::Duration};

use chrono::Utc;
use rmcp::{RoleClient, service::Peer};
use tokio::{
    sync::{Notify, mpsc, oneshot},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use super::{
    backoff,
    client::{self, Handler},
    error::{UpstreamError, error_chain},
    status::Shared,
    transport::{self, Connected, Context, process::TERM_GRACE},
};

/// Longest a connection attempt (spawn/connect + handshake + first tool list) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a tool list may take.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a closing session gets before the process group is terminated.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// How often a network session is pinged to notice a dead server (stdio servers are
/// watched through their process instead).
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may take before the session counts as lost.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Someone waiting for the outcome of the next attempt.
pub(crate) type Waiter = oneshot::Sender<Result<(), UpstreamError>>;

/// Messages to a supervisor.
pub(crate) enum Control {
    /// Tear down and connect again now, resetting the backoff; report the outcome.
    Restart(Option<Waiter>),
    /// A caller saw session `session`'s transport fail.
    Broken {
        /// The session the caller used.
        session: u64,
        /// What it saw.
        message: String,
    },
}

/// Why a ready session ended.
enum End {
    Cancelled,
    Restart(Option<Waiter>),
    Lost(String),
}

/// The per-server task.
/// How [`Supervisor::watch`] ended.
enum Watched<T> {
    /// The work finished.
    Done(T),
    /// A restart was requested (with its waiter).
    Restart(Option<Waiter>),
    /// Cancelled, or the manager is gone.
    Stop,
}

pub(crate) struct Supervisor {
    pub shared: Arc<Shared>,
    pub control: mpsc::UnboundedReceiver<Control>,
    pub cancel: CancellationToken,
}

fn reply(waiters: &mut Vec<Waiter>, result: &Result<(), UpstreamError>) {
    for waiter in waiters.drain(..) {
        let _ = waiter.send(result.clone());
    }
}

impl Supervisor {
    /// Run until cancelled. `previous` is an earlier supervisor of the same server that is
    /// still stopping; it is awaited (bounded) first so two never overlap.
    pub(crate) async fn run(mut self, previous: Option<tokio::task::JoinHandle<()>>) {
        if let Some(previous) = previous {
            let _ = tokio::time::timeout(Duration::from_secs(10), previous).await;
        }
        let mut failures: u32 = 0;
        let mut waiters: Vec<Waiter> = Vec::new();
        'outer: loop {
            if self.cancel.is_cancelled() {
                break;
            }
            // --- one attempt
            self.shared.connecting();
            let tools_changed = Arc::new(Notify::new());
            let session_ct = CancellationToken::new();
            let shared = self.shared.clone();
            let attempt = tokio::time::timeout(
                CONNECT_TIMEOUT,
                attempt(&shared, tools_changed.clone(), session_ct.clone()),
            );
            let outcome = match self.watch(attempt).await {
                Watched::Stop => break 'outer,
                Watched::Restart(waiter) => {
                    self.restart_requested(&mut waiters, waiter, &mut failures);
                    continue 'outer;
                }
                Watched::Done(result) => result.unwrap_or_else(|_| {
                    Err(UpstreamError::Transport {
                        server: self.shared.name.clone(),
                        message: format!("connection attempt timed out after {CONNECT_TIMEOUT:?}"),
                    })
                }),
            };
            // --- ready: serve until the session ends
            let error = match outcome {
                Ok((connected, tools)) => {
                    let peer = connected.client.peer().clone();
                    let link = super::status::Link {
                        peer: peer.clone(),
                        direct: connected.direct.clone(),
                        modern: connected.modern.clone(),
                    };
                    let session = self.shared.ready(link, tools, connected.transport);
                    reply(&mut waiters, &Ok(()));
                    let ready_at = Instant::now();
                    match self
                        .serve(connected, peer, session, session_ct, tools_changed)
                        .await
                    {
                        End::Cancelled => break 'outer,
                        End::Restart(waiter) => {
                            self.restart_requested(&mut waiters, waiter, &mut failures);
                            continue 'outer;
                        }
                        End::Lost(message) => {
                            if ready_at.elapsed() >= backoff::STABLE_AFTER {
                                failures = 0;
                            }
                            UpstreamError::Transport {
                                server: self.shared.name.clone(),
                                message,
                            }
                        }
                    }
                }
                Err(error) => error,
            };
            // --- failed: wait for the retry (or, after an auth failure, for a restart)
            let result = Err(error.clone());
            let delay = (!error.is_auth()).then(|| {
                failures = failures.saturating_add(1);
                backoff::delay(failures)
            });
            let next_retry_at = delay
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| Utc::now() + d);
            self.shared.failed(&error, next_retry_at);
            reply(&mut waiters, &result);
            let sleep = async {
                match delay {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => std::future::pending().await,
                }
            };
            match self.watch(sleep).await {
                Watched::Stop => break 'outer,
                Watched::Restart(waiter) => {
                    self.restart_requested(&mut waiters, waiter, &mut failures)
                }
                Watched::Done(()) => {}
            }
        }
        self.shared.stopped();
        let shutting = UpstreamError::ShuttingDown {
            server: self.shared.name.clone(),
        };
        reply(&mut waiters, &Err(shutting));
    }

    /// Run `work` while watching for shutdown and control messages (a broken-session report
    /// about an earlier session is ignored here).
    async fn watch<T>(&mut self, work: impl Future<Output = T>) -> Watched<T> {
        let mut work = pin!(work);
        loop {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Watched::Stop,
                control = self.control.recv() => match control {
                    Some(Control::Restart(waiter)) => return Watched::Restart(waiter),
                    Some(Control::Broken { .. }) => continue,
                    None => return Watched::Stop,
                },
                out = &mut work => return Watched::Done(out),
            }
        }
    }

    /// A restart was asked for: it will answer `waiter`, and backoff starts over.
    fn restart_requested(
        &self,
        waiters: &mut Vec<Waiter>,
        waiter: Option<Waiter>,
        failures: &mut u32,
    ) {
        waiters.extend(waiter);
        *failures = 0;
        self.shared.log.info("restart requested");
    }

    /// Serve a ready session until it ends; then tear it down.
    async fn serve(
        &mut self,
        connected: Connected,
        peer: Peer<RoleClient>,
        session: u64,
        session_ct: CancellationToken,
        tools_changed: Arc<Notify>,
    ) -> End {
        let Connected {
            client,
            mut process,
            modern,
            ..
        } = connected;
        let mut waiting = pin!(client.waiting());
        let mut closed = false;
        let watch_with_ping = process.is_none();
        let mut ping_timer =
            tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        ping_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let end = loop {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => break End::Cancelled,
                control = self.control.recv() => match control {
                    Some(Control::Restart(waiter)) => break End::Restart(waiter),
                    Some(Control::Broken { session: s, message }) if s == session => break End::Lost(message),
                    Some(Control::Broken { .. }) => continue,
                    None => break End::Cancelled,
                },
                status = exited(&mut process) => break End::Lost(format!("process exited ({status})")),
                reason = &mut waiting => {
                    closed = true;
                    break End::Lost(match reason {
                        Ok(reason) => format!("connection closed ({reason:?})"),
                        Err(error) => format!("connection task failed: {error}"),
                    });
                }
                _ = ping_timer.tick(), if watch_with_ping => {
                    let pinged = tokio::select! {
                        () = self.cancel.cancelled() => break End::Cancelled,
                        pinged = tokio::time::timeout(PING_TIMEOUT, ping(&peer)) => pinged,
                    };
                    match pinged {
                        Ok(Ok(())) => {}
                        Ok(Err(message)) => break End::Lost(format!("ping failed: {message}")),
                        Err(_) => break End::Lost(format!("ping timed out after {PING_TIMEOUT:?}")),
                    }
                }
                () = tools_changed.notified() => {
                    let listed = tokio::select! {
                        () = self.cancel.cancelled() => break End::Cancelled,
                        listed = tokio::time::timeout(LIST_TIMEOUT, client::list_tools(&peer)) => listed,
                    };
                    match listed {
                        Ok(Ok(tools)) => {
                            // The companion first: a call admitted by the new list must
                            // find the companion listing again.
                            if let Some(modern) = modern.as_deref() {
                                modern.tools_changed();
                            }
                            self.shared.tools_refreshed(tools);
                        }
                        Ok(Err(error)) => self.shared.log.error(&format!("tools/list after list_changed failed: {}", error_chain(&error))),
                        Err(_) => self.shared.log.error("tools/list after list_changed timed out"),
                    }
                }
            }
        };
        // A dead child is the better explanation for a lost session.
        let end = match (end, process.as_mut()) {
            (End::Lost(message), Some(process)) => {
                match process.exit_within(Duration::from_millis(300)).await {
                    Some(status) => End::Lost(format!("process exited ({status})")),
                    None => End::Lost(message),
                }
            }
            (end, _) => end,
        };
        // Teardown: refuse new calls, close the session, then make sure the process group is gone.
        self.shared.drop_peer();
        session_ct.cancel();
        if !closed {
            let _ = tokio::time::timeout(CLOSE_WAIT, &mut waiting).await;
        }
        if let Some(process) = process.as_mut() {
            process.terminate(TERM_GRACE).await;
        }
        if let End::Lost(message) = &end {
            self.shared.log.info(&format!("session ended: {message}"));
        }
        end
    }
}

/// Ping the server. A protocol error (e.g. a server without `ping`) still proves it is alive.
async fn ping(peer: &Peer<RoleClient>) -> Result<(), String> {
    match peer
        .send_request(rmcp::model::ClientRequest::PingRequest(Default::default()))
        .await
    {
        Ok(_) | Err(rmcp::ServiceError::McpError(_)) => Ok(()),
        Err(error) => Err(error_chain(&error)),
    }
}

/// Wait for the child to exit; never resolves for servers without a child.
async fn exited(process: &mut Option<transport::process::ProcessGroup>) -> String {
    match process {
        Some(process) => match process.exited().await {
            Ok(status) => status.to_string(),
            Err(error) => format!("wait failed: {error}"),
        },
        None => std::future::pending().await,
    }
}

/// Connect, then list tools.
async fn attempt(
    shared: &Shared,
    tools_changed: Arc<Notify>,
    ct: CancellationToken,
) -> Result<(Connected, Vec<rmcp::model::Tool>), UpstreamError> {
    let desired = shared.desired();
    if !desired.config.should_connect() {
        // Fail closed: a server that became disabled or quarantined while this attempt was
        // being scheduled is never spawned or contacted, even for an instant.
        return Err(UpstreamError::Disabled {
            server: shared.name.clone(),
        });
    }
    let handler = Handler {
        server: shared.name.clone(),
        tools_changed,
        log: shared.log.clone(),
        relay: shared.relay.clone(),
        notices: shared.notices.clone(),
    };
    let ctx = Context {
        name: &shared.name,
        config: &desired.config,
        env: &desired.env,
        docker: &desired.docker,
        log: &shared.log,
        handler,
        ct,
        last_revision: shared.last_revision(),
        auth: desired
            .auth
            .as_ref()
            .and_then(|provider| provider.source(&shared.name, &desired.config)),
    };
    let mut connected = transport::connect(ctx).await?;
    let peer = connected.client.peer().clone();
    let identity = client::identity(&peer);
    let has_tools = identity.has_tools;
    shared.discovering(identity);
    if !has_tools {
        return Ok((connected, Vec::new()));
    }
    match tokio::time::timeout(LIST_TIMEOUT, client::list_tools(&peer)).await {
        Ok(Ok(tools)) => Ok((connected, tools)),
        failure => {
            // A server may let the handshake through and demand a token for its tools.
            let (message, auth) = match failure {
                Ok(Err(error)) => (
                    format!("tools/list: {}", error_chain(&error)),
                    error.is_authorization_required()
                        || super::error::HttpFailure::of(&error).is_auth(),
                ),
                _ => (
                    format!("tools/list timed out after {LIST_TIMEOUT:?}"),
                    false,
                ),
            };
            let _ = connected.client.close_with_timeout(CLOSE_WAIT).await;
            if let Some(process) = connected.process.as_mut() {
                process.terminate(TERM_GRACE).await;
            }
            if auth {
                return Err(UpstreamError::Auth {
                    server: shared.name.clone(),
                    message,
                });
            }
            Err(UpstreamError::Transport {
                server: shared.name.clone(),
                message,
            })
        }
    }
}
