//! The proxy benchmark's environment: its counts and windows (`Settings`, shrunk by
//! `BENCH_QUICK=1`) and where things are (`Env`: the workspace, the fixture, the peers
//! installed under `.harness/`, the run's temp dir).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// Counts and windows; `BENCH_QUICK=1` shrinks them all.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) quick: bool,
    pub(crate) warmup: usize,
    pub(crate) latency_calls: usize,
    pub(crate) block: usize,
    pub(crate) throughput_secs: f64,
    pub(crate) throughput_cap: u64,
    pub(crate) retrieve_queries: usize,
    pub(crate) index_queries: usize,
    pub(crate) wrk_secs: u64,
    pub(crate) peer_calls: usize,
    pub(crate) peer_reps: usize,
    pub(crate) start_reps: usize,
    pub(crate) settle_secs: u64,
    pub(crate) idle_secs: u64,
    pub(crate) watchdog_secs: u64,
}

impl Settings {
    pub(crate) fn from_env() -> Self {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        if quick {
            Self {
                quick,
                warmup: 50,
                latency_calls: 200,
                block: 50,
                throughput_secs: 1.0,
                throughput_cap: 200_000,
                retrieve_queries: 100,
                index_queries: 500,
                wrk_secs: 2,
                peer_calls: 60,
                peer_reps: 1,
                start_reps: 1,
                settle_secs: 1,
                idle_secs: 5,
                watchdog_secs: 600,
            }
        } else {
            Self {
                quick,
                warmup: 300,
                latency_calls: 3_000,
                block: 250,
                throughput_secs: 5.0,
                throughput_cap: 2_000_000,
                retrieve_queries: 1_000,
                index_queries: 5_000,
                wrk_secs: 10,
                peer_calls: 600,
                peer_reps: 3,
                start_reps: 3,
                settle_secs: 3,
                idle_secs: 60,
                watchdog_secs: 1_800,
            }
        }
    }
}

/// Where things are.
pub(crate) struct Env {
    pub(crate) root: PathBuf,
    pub(crate) fixture: PathBuf,
    pub(crate) harness: PathBuf,
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) settings: Settings,
}

impl Env {
    pub(crate) fn new() -> Result<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("workspace root")?
            .to_path_buf();
        let fixture = mcpproxy_testkit::fixture_bin();
        let harness = std::env::var_os("BENCH_HARNESS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".harness"));
        Ok(Self {
            root,
            fixture,
            harness,
            tmp: tempfile::Builder::new()
                .prefix("mcpproxy-bench")
                .tempdir()?,
            settings: Settings::from_env(),
        })
    }

    pub(crate) fn everything_js(&self) -> Option<PathBuf> {
        let p = self
            .harness
            .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        p.exists().then_some(p)
    }

    pub(crate) fn hub_js(&self) -> Option<PathBuf> {
        let p = self.harness.join("hub/node_modules/mcp-hub/dist/cli.js");
        p.exists().then_some(p)
    }

    pub(crate) fn mcp_proxy_bin(&self) -> Option<PathBuf> {
        let p = self.harness.join("venv-mcpproxy/bin/mcp-proxy");
        p.exists().then_some(p)
    }

    pub(crate) fn python(&self) -> Option<PathBuf> {
        let p = self.harness.join("venv-mcpproxy/bin/python");
        p.exists().then_some(p)
    }

    pub(crate) fn loopback_preload(&self) -> String {
        format!(
            "--require {}",
            self.root.join("bench/bind-loopback.cjs").display()
        )
    }

    /// A fresh directory under the run's temp dir.
    pub(crate) fn dir(&self, name: &str) -> Result<PathBuf> {
        static N: AtomicU64 = AtomicU64::new(0);
        let d = self
            .tmp
            .path()
            .join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    pub(crate) fn fixture_stdio(&self, name: &str, extra: &[&str]) -> Value {
        let mut args = vec!["stdio".to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        json!({"name": name, "command": self.fixture.display().to_string(), "args": args, "enabled": true})
    }
}
