//! Processes the proxy benchmark starts: each is a `Managed` child stopped with its
//! descendants on `stop` or drop, a watchdog that ends an overrunning run, and what the
//! bench reads of a process from `/proc` (RSS, CPU ticks, the port it listens on).

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mcpproxy_testkit::{alive, try_poll, wait_listening};
use tokio::process::{Child, Command};

/// Every top-level pid started, for the watchdog.
pub(crate) static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

pub(crate) fn kill(signal: &str, pid: u32) {
    let _ = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// All live descendants of `pid` (children of every thread, recursively).
pub(crate) fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for c in children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                if !out.contains(&c) {
                    out.push(c);
                    stack.push(c);
                }
            }
        }
    }
    out
}

/// A process we started; stopped (with descendants) on `stop` or drop.
pub(crate) struct Managed {
    pub(crate) name: String,
    pub(crate) child: Option<Child>,
    pub(crate) pid: u32,
    pub(crate) log: PathBuf,
}

impl Managed {
    pub(crate) fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Self> {
        let file = std::fs::File::create(&log)?;
        cmd.stdin(Stdio::null())
            .stderr(Stdio::from(file.try_clone()?))
            .kill_on_drop(true);
        let child = cmd.spawn().with_context(|| format!("spawn {name}"))?;
        let pid = child.id().context("pid")?;
        STARTED.lock().map(|mut s| s.push(pid)).ok();
        Ok(Self {
            name: name.to_string(),
            child: Some(child),
            pid,
            log,
        })
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub(crate) fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{} exited early ({status}); log tail:\n{}",
                self.name,
                self.log_tail()
            )),
            _ => None,
        }
    }

    /// SIGTERM, wait up to 10 s, then SIGKILL; then kill any descendant left behind.
    pub(crate) async fn stop(mut self) -> Option<i32> {
        let family = descendants(self.pid);
        let mut code = None;
        if let Some(mut child) = self.child.take() {
            kill("-TERM", self.pid);
            match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
                Ok(Ok(status)) => code = status.code(),
                _ => {
                    let _ = child.start_kill();
                    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                }
            }
        }
        reap_family(&family).await;
        code
    }
}

pub(crate) async fn reap_family(family: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    while family.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for p in family.iter().filter(|p| alive(**p)) {
        kill("-KILL", *p);
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let family = descendants(self.pid);
            let _ = child.start_kill();
            for p in family {
                kill("-KILL", p);
            }
        }
    }
}

/// End the whole run if it overruns: kill everything started, then exit.
pub(crate) fn start_watchdog(secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!("bench: watchdog: the run exceeded {secs} s; killing what it started");
        let pids: Vec<u32> = STARTED.lock().map(|s| s.clone()).unwrap_or_default();
        for pid in pids {
            for d in descendants(pid) {
                kill("-KILL", d);
            }
            kill("-KILL", pid);
        }
        std::process::exit(3);
    });
}

/// The port `m` listens on once it does (it was told to bind port 0), or why not.
pub(crate) async fn listening_port(m: &mut Managed, what: &str) -> Result<u16> {
    match wait_listening(m.pid, Duration::from_secs(30)).await {
        Some(port) => Ok(port),
        None => match m.exited() {
            Some(e) => bail!(e),
            None => bail!("{what} not listening in 30 s:\n{}", m.log_tail()),
        },
    }
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// Poll `f` every `every` until it returns `Some`, or fail after `limit`.
pub(crate) async fn poll<T, F, Fut>(limit: Duration, every: Duration, what: &str, f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    Ok(try_poll(limit, every, what, f).await?)
}

pub(crate) fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(&format!("{field}:")))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of `pid` in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

pub(crate) fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
