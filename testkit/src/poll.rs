//! Poll-until with a deadline: how a test or bench waits for something to become true
//! instead of sleeping a fixed time and hoping.

use std::future::Future;
use std::time::Duration;

/// How often [`poll`] asks.
pub const EVERY: Duration = Duration::from_millis(20);

/// What [`try_poll`] returns when `within` passed first.
#[derive(Debug, Clone, thiserror::Error)]
#[error("timed out after {within:?} waiting for {what}")]
pub struct TimedOut {
    /// How long it waited.
    pub within: Duration,
    /// What it waited for.
    pub what: String,
}

/// Ask `check` every `every` until it returns `Some`, or fail after `within`.
pub async fn try_poll<T, F, Fut>(
    within: Duration,
    every: Duration,
    what: &str,
    mut check: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TimedOut {
                within,
                what: what.to_string(),
            });
        }
        tokio::time::sleep(every).await;
    }
}

/// Ask `check` every [`EVERY`] until it returns `Some`; panics after `within` naming `what`.
pub async fn poll<T, F, Fut>(within: Duration, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll_every(within, EVERY, what, check).await
}

/// As [`poll`], asking every `every`.
pub async fn poll_every<T, F, Fut>(within: Duration, every: Duration, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    match try_poll(within, every, what, check).await {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
