//! End-to-end proxy benchmark (`harness = false`), driven by `just bench` (`bench/run`).
//!
//! Starts real processes on loopback only: `mcpproxy serve` (release build), the in-tree
//! `mcp-fixture`, npm `server-everything`, and the peer proxies `mcp-hub` (npm) and
//! `mcp-proxy` (PyPI) when they are installed under `.harness/`. Measures, each against a
//! baseline in the same run, and prints one table plus `target/bench/results.json`:
//!
//! 1. added latency per `tools/call` through `/mcp` vs direct (fixture over stdio and HTTP);
//! 2. calls/s at c=1 and c=16 (proxy vs direct);
//! 3. `retrieve_tools` at 1k and 10k tools, the same queries on a bare `ToolIndex`, and
//!    the start cost of indexing 10k tools;
//! 4. REST `GET /api/v1/servers` req/s at c=32 (wrk) vs mcp-hub's `GET /api/servers`;
//! 5. peers on server-everything's `echo` with one client (Python `mcp` SDK);
//! 6. start to ready with N = 1, 10, 50 stdio upstreams;
//! 7. RSS and idle CPU with 30 idle upstreams;
//! 8. a plain `tools/call` forwarded through `/mcp/servers/{name}` vs `call_tool` on `/mcp`
//!    vs direct, and the same paths through a second build (`support/forward.rs`).
//!
//! `BENCH_PROXY=<path>` benches another mcpproxy binary (an older build, to compare);
//! `BENCH_PROXY_B=<path>` adds that build next to this one in section 8 (A/B in one run).
//! `BENCH_QUICK=1` shortens every count and window (CI smoke). Every loop is bounded in
//! count and time, a watchdog ends the run if it overruns, and every process started is
//! stopped (with its descendants). A missing peer is reported as unavailable; the exit
//! code is non-zero only when our own harness breaks.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use mcpproxy::index::{ToolDoc, ToolIndex};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ClientRequest, Implementation,
    RequestNoParam,
};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[path = "support/lean.rs"]
mod lean;

#[path = "support/forward.rs"]
mod forward;

use lean::{Lean, LeanHttp, LeanStdio};
use mcpproxy_testkit::{alive, ready_addr, try_poll, wait_listening};

const KEY: &str = "bench-key-0123456789abcdef";
/// The proxy binary under test: this build's, or `BENCH_PROXY` (to compare two builds).
fn proxy_bin() -> PathBuf {
    std::env::var_os("BENCH_PROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mcpproxy")))
}

type Client = RunningService<RoleClient, ClientConfig>;

// ---------------------------------------------------------------------------------------
// Settings

/// Counts and windows; `BENCH_QUICK=1` shrinks them all.
#[derive(Clone, Debug)]
struct Settings {
    quick: bool,
    warmup: usize,
    latency_calls: usize,
    block: usize,
    throughput_secs: f64,
    throughput_cap: u64,
    retrieve_queries: usize,
    index_queries: usize,
    wrk_secs: u64,
    peer_calls: usize,
    peer_reps: usize,
    start_reps: usize,
    settle_secs: u64,
    idle_secs: u64,
    watchdog_secs: u64,
}

impl Settings {
    fn from_env() -> Self {
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
struct Env {
    root: PathBuf,
    fixture: PathBuf,
    harness: PathBuf,
    tmp: tempfile::TempDir,
    settings: Settings,
}

impl Env {
    fn new() -> Result<Self> {
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

    fn everything_js(&self) -> Option<PathBuf> {
        let p = self
            .harness
            .join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        p.exists().then_some(p)
    }

    fn hub_js(&self) -> Option<PathBuf> {
        let p = self.harness.join("hub/node_modules/mcp-hub/dist/cli.js");
        p.exists().then_some(p)
    }

    fn mcp_proxy_bin(&self) -> Option<PathBuf> {
        let p = self.harness.join("venv-mcpproxy/bin/mcp-proxy");
        p.exists().then_some(p)
    }

    fn python(&self) -> Option<PathBuf> {
        let p = self.harness.join("venv-mcpproxy/bin/python");
        p.exists().then_some(p)
    }

    fn loopback_preload(&self) -> String {
        format!(
            "--require {}",
            self.root.join("bench/bind-loopback.cjs").display()
        )
    }

    /// A fresh directory under the run's temp dir.
    fn dir(&self, name: &str) -> Result<PathBuf> {
        static N: AtomicU64 = AtomicU64::new(0);
        let d = self
            .tmp
            .path()
            .join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    fn fixture_stdio(&self, name: &str, extra: &[&str]) -> Value {
        let mut args = vec!["stdio".to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        json!({"name": name, "command": self.fixture.display().to_string(), "args": args, "enabled": true})
    }
}

// ---------------------------------------------------------------------------------------
// Processes

/// Every top-level pid started, for the watchdog.
static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn kill(signal: &str, pid: u32) {
    let _ = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// All live descendants of `pid` (children of every thread, recursively).
fn descendants(pid: u32) -> Vec<u32> {
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
struct Managed {
    name: String,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl Managed {
    fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Result<Self> {
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

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn exited(&mut self) -> Option<String> {
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
    async fn stop(mut self) -> Option<i32> {
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

async fn reap_family(family: &[u32]) {
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
fn start_watchdog(secs: u64) {
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
async fn listening_port(m: &mut Managed, what: &str) -> Result<u16> {
    match wait_listening(m.pid, Duration::from_secs(30)).await {
        Some(port) => Ok(port),
        None => match m.exited() {
            Some(e) => bail!(e),
            None => bail!("{what} not listening in 30 s:\n{}", m.log_tail()),
        },
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// Poll `f` every `every` until it returns `Some`, or fail after `limit`.
async fn poll<T, F, Fut>(limit: Duration, every: Duration, what: &str, f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    Ok(try_poll(limit, every, what, f).await?)
}

// ---------------------------------------------------------------------------------------
// mcpproxy

struct Proxy {
    proc: Managed,
    addr: String,
    spawned: Instant,
}

impl Proxy {
    /// Write a config with `servers` and start `mcpproxy serve` (does not wait).
    fn spawn(env: &Env, servers: Value) -> Result<Self> {
        Self::spawn_bin(env, &proxy_bin(), servers)
    }

    /// As [`Proxy::spawn`], with the mcpproxy binary `bin` (section 8 compares two builds).
    fn spawn_bin(env: &Env, bin: &Path, servers: Value) -> Result<Self> {
        let dir = env.dir("proxy")?;
        // Port 0: the ready line in its log says which port it bound.
        let config = json!({"listen": "127.0.0.1:0", "api_key": KEY, "mcpServers": servers});
        std::fs::write(
            dir.join("mcp_config.json"),
            serde_json::to_vec_pretty(&config)?,
        )?;
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--config")
            .arg(dir.join("mcp_config.json"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env_remove("MCPPROXY_API_KEY")
            .env_remove("MCPPROXY_LISTEN")
            .env_remove("MCPPROXY_DATA")
            .env("HOME", &dir)
            .stdout(Stdio::null());
        let spawned = Instant::now();
        let proc = Managed::spawn("mcpproxy", cmd, dir.join("stderr.log"))?;
        Ok(Self {
            proc,
            addr: String::new(),
            spawned,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Wait for the ready line (the bound address) and `/readyz` 200; returns the time
    /// since spawn.
    async fn wait_readyz(&mut self) -> Result<Duration> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.addr.is_empty()
                && let Some(addr) =
                    ready_addr(&std::fs::read_to_string(&self.proc.log).unwrap_or_default())
            {
                self.addr = addr;
            }
            if !self.addr.is_empty()
                && let Ok(r) = client.get(self.url("/readyz")).send().await
                && r.status() == 200
            {
                return Ok(self.spawned.elapsed());
            }
            if let Some(e) = self.proc.exited() {
                bail!(e);
            }
            if Instant::now() > deadline {
                bail!(
                    "mcpproxy /readyz not 200 in 30 s:\n{}",
                    self.proc.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn servers(&self, client: &reqwest::Client) -> Option<Vec<Value>> {
        let v: Value = client
            .get(self.url("/api/v1/servers"))
            .header("X-API-Key", KEY)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["data"]["servers"].as_array().cloned()
    }

    /// Wait until `n` servers are `ready` with tools; returns the time since spawn.
    async fn wait_servers_ready(&mut self, n: usize, limit: Duration) -> Result<Duration> {
        let client = http();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(list) = self.servers(&client).await {
                let ready = list
                    .iter()
                    .filter(|s| s["status"] == "ready" && s["tool_count"].as_u64() > Some(0))
                    .count();
                if ready >= n {
                    return Ok(self.spawned.elapsed());
                }
                if Instant::now() > deadline {
                    let states: Vec<String> = list
                        .iter()
                        .map(|s| format!("{}={}", s["name"], s["status"]))
                        .collect();
                    bail!(
                        "{ready}/{n} servers ready after {limit:?}: {}",
                        states.join(" ")
                    );
                }
            } else if Instant::now() > deadline {
                bail!("server list unavailable after {limit:?}");
            }
            if let Some(e) = self.proc.exited() {
                bail!(e);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn mcp(&self) -> Result<Client> {
        let transport = StreamableHttpClientTransport::from_uri(self.url("/mcp"));
        Ok(client_info().serve(transport).await?)
    }

    fn rss_kb(&self) -> Option<u64> {
        proc_status_kb(self.proc.pid, "VmRSS")
    }

    async fn stop(self) -> Option<i32> {
        self.proc.stop().await
    }
}

fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcpproxy-bench", "0.1.0"),
    )
}

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(&format!("{field}:")))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------
// MCP targets

/// One way of calling the echo tool.
#[derive(Clone)]
enum Call {
    /// `tools/call <tool>` straight to the upstream.
    Direct(Peer<RoleClient>, &'static str),
    /// `tools/call call_tool {name: server:tool, args}` through mcpproxy's `/mcp`.
    Proxied(Peer<RoleClient>, &'static str),
    /// MCP `ping`: the transport round trip alone (answers "hi" to satisfy `warm`).
    Ping(Peer<RoleClient>),
    /// As `Direct`, with the lean client.
    LeanDirect(Lean, &'static str),
    /// As `Proxied`, with the lean client.
    LeanProxied(Lean, &'static str),
    /// As `Ping`, with the lean client.
    LeanPing(Lean),
}

impl Call {
    async fn echo(&self) -> Result<String> {
        let lean = match self {
            Call::LeanPing(c) => Some((c, "ping", Value::Null)),
            Call::LeanDirect(c, tool) => Some((
                c,
                "tools/call",
                json!({"name": tool, "arguments": {"message": "hi"}}),
            )),
            Call::LeanProxied(c, name) => Some((
                c,
                "tools/call",
                json!({"name": "call_tool", "arguments": {"name": name, "args": {"message": "hi"}}}),
            )),
            _ => None,
        };
        if let Some((client, method, params)) = lean {
            let result =
                tokio::time::timeout(Duration::from_secs(10), client.request(method, params))
                    .await
                    .map_err(|_| anyhow!("{method} timed out (10 s)"))??;
            if method == "ping" {
                return Ok("hi".into());
            }
            let text = result["content"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if result["isError"] == json!(true) {
                bail!("tool error: {text}");
            }
            return Ok(text);
        }
        if let Call::Ping(peer) = self {
            let ping = ClientRequest::PingRequest(RequestNoParam {
                method: Default::default(),
                extensions: Default::default(),
            });
            tokio::time::timeout(Duration::from_secs(10), peer.send_request(ping))
                .await
                .map_err(|_| anyhow!("ping timed out (10 s)"))??;
            return Ok("hi".into());
        }
        let args = json!({"message": "hi"});
        let params = match self {
            Call::Ping(_) | Call::LeanPing(_) | Call::LeanDirect(..) | Call::LeanProxied(..) => {
                unreachable!("handled above")
            }
            Call::Direct(_, tool) => CallToolRequestParams::new(*tool)
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
            Call::Proxied(_, name) => {
                let mut m = Map::new();
                m.insert("name".into(), json!(name));
                m.insert("args".into(), args);
                CallToolRequestParams::new("call_tool").with_arguments(m)
            }
        };
        let peer = match self {
            Call::Direct(p, _) | Call::Proxied(p, _) | Call::Ping(p) => p,
            Call::LeanPing(_) | Call::LeanDirect(..) | Call::LeanProxied(..) => {
                unreachable!("handled above")
            }
        };
        let result = tokio::time::timeout(Duration::from_secs(10), peer.call_tool(params))
            .await
            .map_err(|_| anyhow!("tools/call timed out (10 s)"))??;
        let text = result
            .content
            .iter()
            .find_map(|c| c.as_text().map(|t| t.text.clone()))
            .unwrap_or_default();
        if result.is_error == Some(true) {
            bail!("tool error: {text}");
        }
        Ok(text)
    }
}

/// Retry the first call until it succeeds (the proxy may still be cataloguing), then warm up.
async fn warm(call: &Call, n: usize) -> Result<()> {
    let text = poll(
        Duration::from_secs(20),
        Duration::from_millis(50),
        "first echo",
        || {
            let call = call.clone();
            async move { call.echo().await.ok() }
        },
    )
    .await?;
    if !text.contains("hi") {
        bail!("unexpected echo reply {text:?}");
    }
    for _ in 0..n {
        call.echo().await?;
    }
    Ok(())
}

/// Latency samples (µs) of `calls` alternating in blocks, so drift hits all alike.
async fn interleaved(calls: &[&Call], total: usize, block: usize) -> Result<Vec<Vec<f64>>> {
    let mut out = vec![Vec::with_capacity(total); calls.len()];
    let deadline = Instant::now() + Duration::from_secs(300);
    while out[0].len() < total && Instant::now() < deadline {
        for (i, call) in calls.iter().enumerate() {
            for _ in 0..block.min(total - out[i].len()) {
                let t = Instant::now();
                call.echo().await?;
                out[i].push(t.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    Ok(out)
}

/// calls/s with `calls.len()` concurrent callers, each sequential, for `secs`.
async fn throughput(calls: Vec<Call>, secs: f64, cap: u64) -> Result<(f64, u64)> {
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for call in calls {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline && done.load(Ordering::Relaxed) < cap {
                call.echo().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let n = done.load(Ordering::Relaxed);
    Ok((n as f64 / start.elapsed().as_secs_f64(), n))
}

async fn fixture_stdio_client(env: &Env, extra: &[&str]) -> Result<Client> {
    let mut cmd = Command::new(&env.fixture);
    cmd.arg("stdio").args(extra);
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()?;
    Ok(client_info().serve(transport).await?)
}

async fn http_client(url: &str) -> Result<Client> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    Ok(client_info().serve(transport).await?)
}

/// Start the fixture in `http` mode; returns it and its `/mcp` URL.
async fn fixture_http(env: &Env, extra: &[&str]) -> Result<(Managed, String)> {
    let dir = env.dir("fixture-http")?;
    let mut cmd = Command::new(&env.fixture);
    cmd.arg("http")
        .arg("--port")
        .arg("0")
        .args(extra)
        .stdout(Stdio::piped());
    let mut m = Managed::spawn("mcp-fixture http", cmd, dir.join("stderr.log"))?;
    let stdout = m
        .child
        .as_mut()
        .and_then(|c| c.stdout.take())
        .context("fixture stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .context("fixture LISTENING line")??
        .context("fixture stdout closed")?;
    let addr = line
        .strip_prefix("LISTENING ")
        .with_context(|| format!("unexpected fixture line {line:?}"))?
        .to_string();
    // Keep draining stdout so the fixture never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((m, format!("http://{addr}/mcp")))
}

// ---------------------------------------------------------------------------------------
// Statistics and report

#[derive(Clone, Copy, Debug)]
struct Stats {
    n: usize,
    p50: f64,
    p99: f64,
    mean: f64,
}

impl Stats {
    fn of(samples: &[f64]) -> Self {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let pick = |p: f64| {
            if s.is_empty() {
                f64::NAN
            } else {
                s[((s.len() as f64 - 1.0) * p).round() as usize]
            }
        };
        Self {
            n: s.len(),
            p50: pick(0.5),
            p99: pick(0.99),
            mean: s.iter().sum::<f64>() / s.len().max(1) as f64,
        }
    }

    fn json(&self) -> Value {
        json!({"n": self.n, "p50_us": r1(self.p50), "p99_us": r1(self.p99), "mean_us": r1(self.mean)})
    }
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn us(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} ms", x / 1e3)
    } else if x >= 1_000.0 {
        format!("{:.2} ms", x / 1e3)
    } else {
        format!("{x:.0} µs")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}

#[derive(Default)]
struct Report {
    rows: Vec<[String; 6]>,
    json: Map<String, Value>,
    harness_errors: Vec<String>,
}

impl Report {
    fn row(
        &mut self,
        section: &str,
        metric: &str,
        ours: String,
        base: String,
        ratio: String,
        note: String,
    ) {
        self.rows
            .push([section.into(), metric.into(), ours, base, ratio, note]);
    }

    fn print(&self, header: &str) {
        let heads = [
            "#",
            "metric",
            "mcpproxy",
            "baseline / peer",
            "ratio",
            "goal / note",
        ];
        let mut width = heads.map(|h| h.chars().count());
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for (i, c) in cells.iter().enumerate() {
                let pad = width[i] - c.chars().count();
                s.push(' ');
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
                s.push_str(" |");
            }
            s
        };
        println!("\n{header}\n");
        println!("{}", line(&heads.map(String::from)));
        println!(
            "|{}",
            width
                .iter()
                .map(|w| format!("{}|", "-".repeat(w + 2)))
                .collect::<String>()
        );
        for r in &self.rows {
            println!("{}", line(r));
        }
        println!();
    }
}

fn goal(met: bool, text: &str) -> String {
    format!("{} {text}", if met { "MET" } else { "NOT MET" })
}

// ---------------------------------------------------------------------------------------
// 1 + 2: added latency and throughput, fixture over stdio and HTTP

async fn bench_calls(env: &Env, rep: &mut Report, http_mode: bool) -> Result<()> {
    let s = &env.settings;
    let label = if http_mode { "http" } else { "stdio" };
    let mut upstream = None;
    let mut upstream_url = String::new();
    let (direct_client, server_entry) = if http_mode {
        let (m, url) = fixture_http(env, &[]).await?;
        upstream = Some(m);
        upstream_url = url.clone();
        let c = http_client(&url).await?;
        (
            c,
            json!({"name": "fx", "url": url, "protocol": "http", "enabled": true}),
        )
    } else {
        (
            fixture_stdio_client(env, &[]).await?,
            env.fixture_stdio("fx", &[]),
        )
    };
    let mut proxy = Proxy::spawn(env, json!([server_entry]))?;
    proxy.wait_readyz().await?;
    proxy.wait_servers_ready(1, Duration::from_secs(30)).await?;
    let proxy_client = proxy.mcp().await?;
    let direct = Call::Direct(direct_client.peer().clone(), "echo");
    let proxied = Call::Proxied(proxy_client.peer().clone(), "fx:echo");
    warm(&direct, s.warmup).await?;
    warm(&proxied, s.warmup).await?;

    // 1. latency at c=1, interleaved blocks; MCP pings split transport from call path.
    let direct_ping = Call::Ping(direct_client.peer().clone());
    let proxy_ping = Call::Ping(proxy_client.peer().clone());
    warm(&direct_ping, s.warmup / 3).await?;
    warm(&proxy_ping, s.warmup / 3).await?;
    let samples = interleaved(
        &[&direct, &proxied, &direct_ping, &proxy_ping],
        s.latency_calls,
        s.block,
    )
    .await?;
    let (d, p) = (Stats::of(&samples[0]), Stats::of(&samples[1]));
    let (dp, pp) = (Stats::of(&samples[2]), Stats::of(&samples[3]));
    let added50 = p.p50 - d.p50;
    let added99 = p.p99 - d.p99;
    let limit = if http_mode { 60.0 } else { 25.0 };
    rep.json.insert(
        format!("latency_{label}"),
        json!({"direct": d.json(), "proxy": p.json(), "added_p50_us": r1(added50), "added_p99_us": r1(added99),
               "ping_direct": dp.json(), "ping_proxy": pp.json(),
               "call_minus_ping_p50_us": {"direct": r1(d.p50 - dp.p50), "proxy": r1(p.p50 - pp.p50)},
               "goal_added_p50_us": limit, "goal_met": added50 <= limit,
               "method": format!("rmcp client, c=1, {} calls each after {} warm-up, direct and proxy alternating in blocks of {}", d.n, s.warmup, s.block)}),
    );
    latency_rows(rep, http_mode, "rmcp client", [&d, &p, &dp, &pp], limit);

    // 2. throughput
    let c1_direct = throughput(vec![direct.clone()], s.throughput_secs, s.throughput_cap).await?;
    let c1_proxy = throughput(vec![proxied.clone()], s.throughput_secs, s.throughput_cap).await?;
    // c=16 through the proxy: 16 separate MCP sessions.
    let mut sessions = Vec::new();
    for _ in 0..16 {
        sessions.push(proxy.mcp().await?);
    }
    let calls: Vec<Call> = sessions
        .iter()
        .map(|c| Call::Proxied(c.peer().clone(), "fx:echo"))
        .collect();
    for c in &calls {
        warm(c, 5).await?;
    }
    let c16_proxy = throughput(calls, s.throughput_secs, s.throughput_cap).await?;
    // c=16 direct: stdio has one pipe, so 16 in-flight calls on one session; HTTP gets 16 sessions.
    let mut direct_sessions = Vec::new();
    let (c16_direct, direct_shape) = if http_mode {
        for _ in 0..16 {
            direct_sessions.push(http_client(&upstream_url).await?);
        }
        let calls: Vec<Call> = direct_sessions
            .iter()
            .map(|c| Call::Direct(c.peer().clone(), "echo"))
            .collect();
        (
            throughput(calls, s.throughput_secs, s.throughput_cap).await?,
            "16 sessions",
        )
    } else {
        (
            throughput(
                vec![direct.clone(); 16],
                s.throughput_secs,
                s.throughput_cap,
            )
            .await?,
            "16 in flight on 1 session",
        )
    };
    let rss_after = proxy.rss_kb();
    let hwm_after = proc_status_kb(proxy.proc.pid, "VmHWM");
    rep.json.insert(
        format!("throughput_{label}"),
        json!({"c1": {"proxy_calls_per_s": c1_proxy.0.round(), "direct_calls_per_s": c1_direct.0.round()},
               "c16": {"proxy_calls_per_s": c16_proxy.0.round(), "direct_calls_per_s": c16_direct.0.round(),
                       "proxy_shape": "16 MCP sessions, each one call at a time", "direct_shape": direct_shape},
               "seconds_each": s.throughput_secs, "goal_c16_calls_per_s": 10000, "goal_met": c16_proxy.0 >= 10_000.0,
               "proxy_rss_kb_after": rss_after, "proxy_vmhwm_kb_after": hwm_after,
               "note": "bench client, proxy and upstream share the same 2 cores"}),
    );
    let sec = if http_mode { "2 http" } else { "2 stdio" };
    rep.row(
        sec,
        "calls/s c=1",
        format!("{:.0}", c1_proxy.0),
        format!("direct {:.0}", c1_direct.0),
        ratio(c1_proxy.0, c1_direct.0),
        String::new(),
    );
    c16_row(
        rep,
        http_mode,
        "rmcp client",
        (c16_proxy.0, c16_direct.0),
        ["16 sessions", direct_shape],
    );

    for c in sessions.into_iter().chain(direct_sessions) {
        let _ = tokio::time::timeout(Duration::from_secs(5), c.cancel()).await;
    }

    // 1+2 again with the lean client, so the numbers are the proxy's cost, not an SDK's.
    let lean_direct = if http_mode {
        Lean::Http(LeanHttp::connect(&upstream_url).await?)
    } else {
        Lean::Stdio(LeanStdio::spawn(&env.fixture, &["stdio"]).await?)
    };
    let lean_proxy = Lean::Http(LeanHttp::connect(&proxy.url("/mcp")).await?);
    let ld = Call::LeanDirect(lean_direct.clone(), "echo");
    let lp = Call::LeanProxied(lean_proxy.clone(), "fx:echo");
    let ldp = Call::LeanPing(lean_direct.clone());
    let lpp = Call::LeanPing(lean_proxy.clone());
    for c in [&ld, &lp, &ldp, &lpp] {
        warm(c, s.warmup).await?;
    }
    let samples = interleaved(&[&ld, &lp, &ldp, &lpp], s.latency_calls, s.block).await?;
    let (d, p) = (Stats::of(&samples[0]), Stats::of(&samples[1]));
    let (dp, pp) = (Stats::of(&samples[2]), Stats::of(&samples[3]));
    let (added50, added99) = (p.p50 - d.p50, p.p99 - d.p99);
    let mut lean_sessions = Vec::new();
    for _ in 0..16 {
        lean_sessions.push(Call::LeanProxied(
            Lean::Http(LeanHttp::connect(&proxy.url("/mcp")).await?),
            "fx:echo",
        ));
    }
    // BENCH_PROFILE_SECS=N stretches this window (lean client, c=16, through the proxy) to N
    // seconds and prints the proxy's pid, for `perf record -p`.
    let (window, cap) = match std::env::var("BENCH_PROFILE_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
    {
        Some(secs) => {
            eprintln!(
                "bench: profile window: proxy pid {} for {secs} s (lean c=16, {label})",
                proxy.proc.pid
            );
            (secs, u64::MAX)
        }
        None => (s.throughput_secs, s.throughput_cap),
    };
    let c16_proxy = throughput(lean_sessions, window, cap).await?;
    let c16_direct = if http_mode {
        let mut direct = Vec::new();
        for _ in 0..16 {
            direct.push(Call::LeanDirect(
                Lean::Http(LeanHttp::connect(&upstream_url).await?),
                "echo",
            ));
        }
        throughput(direct, s.throughput_secs, s.throughput_cap).await?
    } else {
        throughput(vec![ld.clone(); 16], s.throughput_secs, s.throughput_cap).await?
    };
    rep.json.insert(
        format!("lean_{label}"),
        json!({"direct": d.json(), "proxy": p.json(), "added_p50_us": r1(added50), "added_p99_us": r1(added99),
               "ping_direct": dp.json(), "ping_proxy": pp.json(),
               "goal_added_p50_us": limit, "goal_met": added50 <= limit,
               "c16": {"proxy_calls_per_s": c16_proxy.0.round(), "direct_calls_per_s": c16_direct.0.round(),
                       "goal_met": c16_proxy.0 >= 10_000.0},
               "method": format!("lean raw JSON-RPC client (benches/support/lean.rs), c=1, {} calls each after {} warm-up, alternating in blocks of {}; c=16: 16 proxy sessions vs direct {direct_shape}", d.n, s.warmup, s.block)}),
    );
    latency_rows(rep, http_mode, "lean client", [&d, &p, &dp, &pp], limit);
    c16_row(
        rep,
        http_mode,
        "lean client",
        (c16_proxy.0, c16_direct.0),
        ["16 sessions", direct_shape],
    );
    if !http_mode {
        bench_stdio_front(env, rep, &server_entry, [&ld, &ldp], c16_direct.0).await?;
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), proxy_client.cancel()).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), direct_client.cancel()).await;
    proxy.stop().await;
    if let Some(u) = upstream {
        u.stop().await;
    }
    Ok(())
}

/// The proxy as an agent that spawns it sees it (`serve --stdio`): the lean client on the
/// proxy's pipes against the same client on the upstream's pipes (`direct`: call, ping).
async fn bench_stdio_front(
    env: &Env,
    rep: &mut Report,
    server_entry: &Value,
    direct: [&Call; 2],
    c16_direct: f64,
) -> Result<()> {
    let s = &env.settings;
    let dir = env.dir("proxy-stdio")?;
    let config = json!({"listen": ":0", "api_key": KEY, "mcpServers": [server_entry]});
    let config_path = dir.join("mcp_config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    let data = dir.join("data");
    let (config_arg, data_arg) = (
        config_path.display().to_string(),
        data.display().to_string(),
    );
    let front = Lean::Stdio(
        LeanStdio::spawn(
            &proxy_bin(),
            &[
                "serve",
                "--stdio",
                "--config",
                &config_arg,
                "--data-dir",
                &data_arg,
            ],
        )
        .await?,
    );
    let proxied = Call::LeanProxied(front.clone(), "fx:echo");
    let ping = Call::LeanPing(front);
    // warm() waits for the first echo, so the upstream is connected before timing starts.
    for c in [&proxied, &ping] {
        warm(c, s.warmup).await?;
    }
    let [ld, ldp] = direct;
    let samples = interleaved(&[ld, &proxied, ldp, &ping], s.latency_calls, s.block).await?;
    let (d, p) = (Stats::of(&samples[0]), Stats::of(&samples[1]));
    let (dp, pp) = (Stats::of(&samples[2]), Stats::of(&samples[3]));
    let c16 = throughput(
        vec![proxied.clone(); 16],
        s.throughput_secs,
        s.throughput_cap,
    )
    .await?;
    let limit = 25.0;
    rep.json.insert(
        "lean_stdio_front".into(),
        json!({"direct": d.json(), "proxy": p.json(), "added_p50_us": r1(p.p50 - d.p50), "added_p99_us": r1(p.p99 - d.p99),
               "ping_direct": dp.json(), "ping_proxy": pp.json(),
               "goal_added_p50_us": limit, "goal_met": p.p50 - d.p50 <= limit,
               "c16": {"proxy_calls_per_s": c16.0.round(), "direct_calls_per_s": c16_direct.round(),
                       "goal_met": c16.0 >= 10_000.0, "shape": "16 in flight on one pipe, both sides"},
               "method": format!("lean client spawning `mcpproxy serve --stdio` (the upstream is the fixture over stdio, spawned by the proxy) vs the same client spawning the fixture; c=1, {} calls each, alternating in blocks of {}", d.n, s.block)}),
    );
    latency_rows(
        rep,
        false,
        "lean client, proxy spawned over stdio",
        [&d, &p, &dp, &pp],
        limit,
    );
    let one_pipe = "16 in flight on 1 session";
    c16_row(
        rep,
        false,
        "lean client, proxy spawned over stdio",
        (c16.0, c16_direct),
        [one_pipe, one_pipe],
    );
    Ok(())
}

/// The c=1 rows of one client: call p50/p99 against direct, the added latency against
/// the goal, and ping (the transport alone) against direct.
fn latency_rows(rep: &mut Report, http_mode: bool, client: &str, stats: [&Stats; 4], limit: f64) {
    let [d, p, dp, pp] = stats;
    let sec = if http_mode { "1 http" } else { "1 stdio" };
    let added50 = p.p50 - d.p50;
    rep.row(
        sec,
        &format!("{client}: tools/call p50 / p99 (c=1)"),
        format!("{} / {}", us(p.p50), us(p.p99)),
        format!("direct {} / {}", us(d.p50), us(d.p99)),
        ratio(p.p50, d.p50),
        String::new(),
    );
    rep.row(
        sec,
        &format!("{client}: added p50 / p99"),
        format!("+{} / +{}", us(added50), us(p.p99 - d.p99)),
        String::new(),
        String::new(),
        goal(added50 <= limit, &format!("p50 ≤ {limit} µs")),
    );
    rep.row(
        sec,
        &format!("{client}: MCP ping p50 (transport only)"),
        us(pp.p50),
        format!("direct {}", us(dp.p50)),
        ratio(pp.p50, dp.p50),
        format!(
            "call − ping: proxy {}, direct {}",
            us(p.p50 - pp.p50),
            us(d.p50 - dp.p50)
        ),
    );
}

/// The c=16 row of one client, against the goal.
/// `shapes`: how the 16 calls in flight are spread, through the proxy and direct.
fn c16_row(
    rep: &mut Report,
    http_mode: bool,
    client: &str,
    (proxy, direct): (f64, f64),
    shapes: [&str; 2],
) {
    let [proxy_shape, direct_shape] = shapes;
    let sec = if http_mode { "2 http" } else { "2 stdio" };
    rep.row(
        sec,
        &format!("{client}: calls/s c=16"),
        format!("{proxy:.0}"),
        format!("direct {direct:.0}"),
        ratio(proxy, direct),
        format!(
            "{}; proxy: {proxy_shape}, direct: {direct_shape}",
            goal(proxy >= 10_000.0, "≥ 10,000/s")
        ),
    );
}

// ---------------------------------------------------------------------------------------
// 3: retrieve_tools at 1k and 10k, bare index, and start cost of indexing 10k

const QUERIES: &[&str] = &[
    "search github issues in a repository",
    "list jira tickets by status",
    "create a calendar event",
    "archive a slack message in a channel",
    "summarize customer invoices for a billing account",
    "export kubernetes deployments as csv",
    "validate a database table against rules",
    "count log entries per service",
    "fetch details of a pull request",
    "schedule a review of an employee record",
    "compare two versions of a recipe",
    "update a flight booking itinerary",
    "weather forecast for a city",
    "echo a message back",
    "track a shipment in a warehouse",
    "delete everything",
];

async fn retrieve_samples(client: &Client, n: usize) -> Result<(Vec<f64>, usize)> {
    let peer = client.peer().clone();
    let mut out = Vec::with_capacity(n);
    let mut hits = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    for i in 0..n {
        if Instant::now() > deadline {
            break;
        }
        let mut m = Map::new();
        m.insert("query".into(), json!(QUERIES[i % QUERIES.len()]));
        m.insert("limit".into(), json!(10));
        let t = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            peer.call_tool(CallToolRequestParams::new("retrieve_tools").with_arguments(m)),
        )
        .await
        .map_err(|_| anyhow!("retrieve_tools timed out"))??;
        out.push(t.elapsed().as_secs_f64() * 1e6);
        if i == 0 {
            let text = r
                .content
                .iter()
                .find_map(|c| c.as_text().map(|t| t.text.clone()))
                .unwrap_or_default();
            let v: Value = serde_json::from_str(&text).context("retrieve_tools JSON")?;
            hits = v["tools"].as_array().map_or(0, Vec::len);
        }
    }
    Ok((out, hits))
}

/// The same queries on a bare `ToolIndex` holding the same tools (`servers` copies).
fn bare_index(tools: &[rmcp::model::Tool], servers: usize, n: usize) -> (Stats, f64) {
    let started = Instant::now();
    let mut index = ToolIndex::new();
    for s in 0..servers {
        let docs = tools
            .iter()
            .map(|t| ToolDoc {
                server: String::new(),
                name: t.name.to_string(),
                description: t.description.as_deref().unwrap_or_default().to_string(),
                input_schema: Value::Object((*t.input_schema).clone()),
            })
            .collect();
        index.replace_server(&format!("fx{s}"), docs);
    }
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        std::hint::black_box(index.search(std::hint::black_box(QUERIES[i % QUERIES.len()]), 10));
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    (Stats::of(&lat), build_ms)
}

/// Follow `/events` and report when a `tools.indexed` event carries `total >= want`.
fn watch_indexed(proxy: &Proxy, want: usize) -> tokio::task::JoinHandle<Result<Instant>> {
    let url = proxy.url("/events");
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let resp = client.get(&url).header("X-API-Key", KEY).send().await?;
        if !resp.status().is_success() {
            bail!("/events answered {}", resp.status());
        }
        let mut stream = resp.bytes_stream();
        let mut buf = String::new();
        let mut event = String::new();
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk?));
            while let Some(pos) = buf.find('\n') {
                let line = buf[..pos].trim_end_matches('\r').to_string();
                buf.drain(..=pos);
                if let Some(e) = line.strip_prefix("event:") {
                    event = e.trim().to_string();
                } else if let Some(d) = line.strip_prefix("data:")
                    && event == "tools.indexed"
                    && let Ok(v) = serde_json::from_str::<Value>(d.trim())
                    && v["payload"]["total"].as_u64().unwrap_or(0) as usize >= want
                {
                    return Ok(Instant::now());
                }
            }
        }
        bail!("/events ended")
    })
}

async fn bench_retrieve(env: &Env, rep: &mut Report) -> Result<()> {
    let s = &env.settings;
    // The corpus, straight from a fixture.
    let lister = fixture_stdio_client(env, &["--tools", "1000"]).await?;
    let tools = lister.list_all_tools().await?;
    let _ = tokio::time::timeout(Duration::from_secs(5), lister.cancel()).await;
    let per_server = tools.len();

    let mut out = Map::new();
    for servers in [1usize, 10] {
        let total = per_server * servers;
        let entries: Vec<Value> = (0..servers)
            .map(|i| env.fixture_stdio(&format!("fx{i}"), &["--tools", "1000"]))
            .collect();
        let mut proxy = Proxy::spawn(env, Value::Array(entries))?;
        let readyz = proxy.wait_readyz().await?;
        let watcher = watch_indexed(&proxy, total);
        let ready = proxy
            .wait_servers_ready(servers, Duration::from_secs(60))
            .await?;
        let indexed = match tokio::time::timeout(Duration::from_secs(60), watcher).await {
            Ok(Ok(Ok(at))) => Some(at.duration_since(proxy.spawned)),
            _ => None,
        };
        let client = proxy.mcp().await?;
        // warm up (and make sure the index answers)
        retrieve_samples(&client, 20).await?;
        let (lat, hits) = retrieve_samples(&client, s.retrieve_queries).await?;
        let st = Stats::of(&lat);
        let (bare, build_ms) = bare_index(&tools, servers, s.index_queries);
        let goal_p99 = if servers == 1 { 1_000.0 } else { 5_000.0 };
        let key = if servers == 1 { "1k" } else { "10k" };
        out.insert(
            key.into(),
            json!({"tools": total, "servers": servers, "retrieve_tools": st.json(), "hits_first_query": hits,
                   "bare_index_same_corpus": bare.json(), "bare_index_build_ms": r1(build_ms),
                   "start": {"readyz_ms": r1(readyz.as_secs_f64()*1e3), "all_servers_ready_ms": r1(ready.as_secs_f64()*1e3),
                             "all_tools_indexed_ms": indexed.map(|d| r1(d.as_secs_f64()*1e3))},
                   "goal_p99_us": goal_p99, "goal_met": st.p99 < goal_p99}),
        );
        let label = format!("retrieve_tools {key} ({total} tools) p50/p99");
        rep.row(
            "3",
            &label,
            format!("{} / {}", us(st.p50), us(st.p99)),
            format!("bare index {} / {}", us(bare.p50), us(bare.p99)),
            ratio(st.p50, bare.p50),
            goal(st.p99 < goal_p99, &format!("p99 < {}", us(goal_p99))),
        );
        rep.row(
            "3",
            &format!("start → {total} tools indexed"),
            indexed.map_or("not seen on /events".into(), |d| us(d.as_secs_f64() * 1e6)),
            format!(
                "readyz {}, servers ready {}",
                us(readyz.as_secs_f64() * 1e6),
                us(ready.as_secs_f64() * 1e6)
            ),
            String::new(),
            format!("bare index build {}", us(build_ms * 1e3)),
        );
        let _ = tokio::time::timeout(Duration::from_secs(5), client.cancel()).await;
        proxy.stop().await;
    }
    // The search micro-bench (server/benches/search.rs), for context.
    if let Some(bin) = std::env::var_os("BENCH_SEARCH_BIN") {
        let lines = json_lines_of(bin, "search").await?;
        for l in &lines {
            rep.row(
                "3",
                &format!("search.rs bare index, {} synthetic tools", l["tools"]),
                format!(
                    "p50 {} / p99 {}",
                    us(l["p50_us"].as_f64().unwrap_or(f64::NAN)),
                    us(l["p99_us"].as_f64().unwrap_or(f64::NAN))
                ),
                String::new(),
                String::new(),
                format!("build {} ms", l["build_ms"]),
            );
        }
        out.insert("search_rs".into(), Value::Array(lines));
    }
    // The tool-poisoning scanner at start (server/benches/scan.rs): issue 17's goal.
    if let Some(bin) = std::env::var_os("BENCH_SCAN_BIN") {
        let lines = json_lines_of(bin, "scan").await?;
        for l in &lines {
            let median = l["median_ms"].as_f64().unwrap_or(f64::NAN);
            let goal_ms = l["goal_ms"].as_f64().unwrap_or(100.0);
            rep.row(
                "3",
                &format!("scan.rs: scanner over {} tools at start", l["tools"]),
                format!("{median:.1} ms (max {} ms)", l["max_ms"]),
                format!("{} µs per tool", l["per_tool_us"]),
                String::new(),
                goal(median < goal_ms, &format!("< {goal_ms} ms")),
            );
        }
        out.insert("scan_rs".into(), Value::Array(lines));
    }
    rep.json.insert("retrieve_tools".into(), Value::Object(out));
    Ok(())
}

/// Run a micro-bench binary (`harness = false`) and collect the JSON lines it prints.
async fn json_lines_of(bin: std::ffi::OsString, what: &str) -> Result<Vec<Value>> {
    let o = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(bin).kill_on_drop(true).output(),
    )
    .await
    .with_context(|| format!("{what} bench timed out"))??;
    Ok(String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

// ---------------------------------------------------------------------------------------
// 4 + 5: REST listing vs mcp-hub; peers on server-everything echo

struct Wrk {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    non2xx: u64,
    errors: String,
}

fn parse_dur_us(s: &str) -> f64 {
    let s = s.trim();
    let (num, mul) = if let Some(v) = s.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1e3)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1e6)
    } else {
        (s, f64::NAN)
    };
    num.parse::<f64>().map_or(f64::NAN, |n| n * mul)
}

async fn wrk(url: &str, header: Option<&str>, secs: u64) -> Result<Wrk> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        "-c32",
        &format!("-d{secs}s"),
        "--latency",
        "--timeout",
        "5s",
    ]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    cmd.arg(url).kill_on_drop(true);
    let o = tokio::time::timeout(Duration::from_secs(secs + 30), cmd.output())
        .await
        .context("wrk timed out")??;
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let mut w = Wrk {
        rps: f64::NAN,
        p50_us: f64::NAN,
        p99_us: f64::NAN,
        non2xx: 0,
        errors: String::new(),
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            w.rps = v.trim().parse().unwrap_or(f64::NAN);
        } else if let Some(v) = t.strip_prefix("50%") {
            w.p50_us = parse_dur_us(v);
        } else if let Some(v) = t.strip_prefix("99%") {
            w.p99_us = parse_dur_us(v);
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            w.non2xx = v.trim().parse().unwrap_or(0);
        } else if t.starts_with("Socket errors:") {
            w.errors = t.to_string();
        }
    }
    if !w.rps.is_finite() {
        bail!("could not parse wrk output: {text}");
    }
    Ok(w)
}

/// Fallback when wrk is missing: 32 tasks in a loop for `secs`.
async fn rust_load(url: &str, header: Option<(&str, &str)>, secs: u64) -> Result<Wrk> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(5))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = client.clone();
        let url = url.to_string();
        let header = header.map(|(k, v)| (k.to_string(), v.to_string()));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut bad = 0u64;
            while Instant::now() < deadline {
                let mut req = client.get(&url);
                if let Some((k, v)) = &header {
                    req = req.header(k, v);
                }
                let t = Instant::now();
                let r = req.send().await?;
                let ok = r.status().is_success();
                r.bytes().await?;
                lat.push(t.elapsed().as_secs_f64() * 1e6);
                bad += u64::from(!ok);
            }
            Ok::<_, anyhow::Error>((lat, bad))
        }));
    }
    let mut all = Vec::new();
    let mut bad = 0;
    for t in tasks {
        let (l, b) = t.await??;
        all.extend(l);
        bad += b;
    }
    let st = Stats::of(&all);
    Ok(Wrk {
        rps: all.len() as f64 / start.elapsed().as_secs_f64(),
        p50_us: st.p50,
        p99_us: st.p99,
        non2xx: bad,
        errors: String::new(),
    })
}

fn have_wrk() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

async fn start_hub(env: &Env, hub_js: &Path, everything: &Path) -> Result<(Managed, u16)> {
    let dir = env.dir("mcp-hub")?;
    let cfg = json!({"mcpServers": {"everything": {"command": "node", "args": [everything.display().to_string(), "stdio"]}}});
    std::fs::write(
        dir.join("hub-config.json"),
        serde_json::to_vec_pretty(&cfg)?,
    )?;
    let mut cmd = Command::new("node");
    cmd.arg(hub_js)
        .arg("--port")
        .arg("0")
        .arg("--config")
        .arg(dir.join("hub-config.json"))
        .env("HOME", &dir)
        .env("NODE_OPTIONS", env.loopback_preload())
        .stdout(Stdio::null());
    let mut m = Managed::spawn("mcp-hub", cmd, dir.join("stderr.log"))?;
    let port = listening_port(&mut m, "mcp-hub").await?;
    let client = http();
    let url = format!("http://127.0.0.1:{port}/api/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(&url).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["state"] == "ready"
            && v["servers"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["status"] == "connected"))
        {
            return Ok((m, port));
        }
        if let Some(e) = m.exited() {
            bail!(e);
        }
        if Instant::now() > deadline {
            bail!("mcp-hub not ready in 30 s:\n{}", m.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start_mcp_proxy(env: &Env, bin: &Path, everything: &Path) -> Result<(Managed, u16)> {
    let dir = env.dir("mcp-proxy")?;
    let cfg = json!({"mcpServers": {"everything": {"command": "node", "args": [everything.display().to_string(), "stdio"]}}});
    std::fs::write(dir.join("servers.json"), serde_json::to_vec_pretty(&cfg)?)?;
    let mut cmd = Command::new(bin);
    cmd.args([
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--named-server-config",
    ])
    .arg(dir.join("servers.json"))
    .env("HOME", &dir)
    .stdout(Stdio::null());
    let mut m = Managed::spawn("mcp-proxy", cmd, dir.join("stderr.log"))?;
    let port = listening_port(&mut m, "mcp-proxy").await?;
    let client = http();
    let url = format!("http://127.0.0.1:{port}/status");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            return Ok((m, port));
        }
        if let Some(e) = m.exited() {
            bail!(e);
        }
        if Instant::now() > deadline {
            bail!("mcp-proxy not ready in 30 s:\n{}", m.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start_everything_http(env: &Env, everything: &Path) -> Result<(Managed, String)> {
    let dir = env.dir("everything-http")?;
    let mut cmd = Command::new("node");
    cmd.arg(everything)
        .arg("streamableHttp")
        .env("PORT", "0")
        .env("NODE_OPTIONS", env.loopback_preload())
        .stdout(Stdio::null());
    let mut m = Managed::spawn("server-everything http", cmd, dir.join("stderr.log"))?;
    let port = listening_port(&mut m, "server-everything http").await?;
    Ok((m, format!("http://127.0.0.1:{port}/mcp")))
}

/// Run `bench/mcp_calls.py` once; returns latency samples (µs).
async fn py_calls(
    env: &Env,
    python: &Path,
    tool: &str,
    args: Value,
    n: usize,
    target: &[String],
) -> Result<Vec<f64>> {
    let mut cmd = Command::new(python);
    cmd.arg(env.root.join("bench/mcp_calls.py"))
        .args(["--tool", tool, "--args", &args.to_string()])
        .args([
            "--n",
            &n.to_string(),
            "--warmup",
            &(n / 10).max(10).to_string(),
        ])
        .args(["--deadline", "120"])
        .args(target)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let o = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .context("python client timed out")??;
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text.lines().find(|l| l.starts_with('{')).with_context(|| {
        format!(
            "no result from mcp_calls.py: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        )
    })?;
    let v: Value = serde_json::from_str(line)?;
    if v["errors"].as_u64().unwrap_or(0) > 0 {
        bail!(
            "{} tool errors; first reply {}",
            v["errors"],
            v["first_text"]
        );
    }
    if !v["first_text"].as_str().unwrap_or("").contains("hi") {
        bail!("unexpected reply {}", v["first_text"]);
    }
    Ok(v["samples_us"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default())
}

async fn bench_peers(env: &Env, rep: &mut Report) -> Result<()> {
    let s = &env.settings;
    let Some(everything) = env.everything_js() else {
        rep.row(
            "4/5",
            "server-everything",
            "unavailable".into(),
            String::new(),
            String::new(),
            "not installed (.ci/install-test-deps)".into(),
        );
        rep.json.insert(
            "peers".into(),
            json!({"unavailable": "server-everything not installed"}),
        );
        return Ok(());
    };
    let mut out = Map::new();

    // Ours, with server-everything over stdio.
    let mut ours = Proxy::spawn(
        env,
        json!([{"name": "everything", "command": "node",
        "args": [everything.display().to_string(), "stdio"], "enabled": true}]),
    )?;
    ours.wait_readyz().await?;
    ours.wait_servers_ready(1, Duration::from_secs(30)).await?;

    let hub = match env.hub_js() {
        Some(js) => start_hub(env, &js, &everything)
            .await
            .map_err(|e| format!("failed to start: {e:#}")),
        None => Err("not installed".into()),
    };
    let mcp_proxy = match env.mcp_proxy_bin() {
        Some(bin) => start_mcp_proxy(env, &bin, &everything)
            .await
            .map_err(|e| format!("failed to start: {e:#}")),
        None => Err("not installed".into()),
    };

    // 4. REST listing at c=32
    let use_wrk = have_wrk();
    let method = if use_wrk {
        "wrk -t2 -c32"
    } else {
        "32 Rust tasks (wrk unavailable)"
    };
    let load = |url: String, key: bool| async move {
        if use_wrk {
            wrk(
                &url,
                key.then_some(&*format!("X-API-Key: {KEY}")),
                s.wrk_secs,
            )
            .await
        } else {
            rust_load(&url, key.then_some(("X-API-Key", KEY)), s.wrk_secs).await
        }
    };
    let ours_url = ours.url("/api/v1/servers");
    let ours_bytes = http()
        .get(&ours_url)
        .header("X-API-Key", KEY)
        .send()
        .await?
        .bytes()
        .await?
        .len();
    let ours_rest = load(ours_url, true).await?;
    let mut rest = json!({"method": format!("{method}, {} s, GET with keep-alive", s.wrk_secs),
        "ours": {"url": "/api/v1/servers", "rps": ours_rest.rps.round(), "p50_us": r1(ours_rest.p50_us), "p99_us": r1(ours_rest.p99_us),
                 "non_2xx": ours_rest.non2xx, "socket_errors": ours_rest.errors, "body_bytes": ours_bytes}});
    match &hub {
        Ok((_, port)) => {
            let url = format!("http://127.0.0.1:{port}/api/servers");
            let bytes = http().get(&url).send().await?.bytes().await?.len();
            let h = load(url, false).await?;
            rest["mcp_hub"] = json!({"url": "/api/servers", "rps": h.rps.round(), "p50_us": r1(h.p50_us), "p99_us": r1(h.p99_us),
                                     "non_2xx": h.non2xx, "socket_errors": h.errors, "body_bytes": bytes});
            rep.row(
                "4",
                "REST server list req/s (c=32)",
                format!("{:.0}", ours_rest.rps),
                format!("mcp-hub {:.0}", h.rps),
                ratio(ours_rest.rps, h.rps),
                format!("{method}; body {ours_bytes} B vs {bytes} B"),
            );
            rep.row(
                "4",
                "REST server list p50 / p99 (c=32)",
                format!("{} / {}", us(ours_rest.p50_us), us(ours_rest.p99_us)),
                format!("mcp-hub {} / {}", us(h.p50_us), us(h.p99_us)),
                ratio(ours_rest.p50_us, h.p50_us),
                String::new(),
            );
        }
        Err(e) => {
            rest["mcp_hub"] = json!({"unavailable": e});
            rep.row(
                "4",
                "REST server list req/s (c=32)",
                format!("{:.0}", ours_rest.rps),
                "mcp-hub unavailable".into(),
                String::new(),
                e.clone(),
            );
        }
    }
    if ours_rest.non2xx > 0 {
        rep.harness_errors.push(format!(
            "our REST listing answered {} non-2xx responses",
            ours_rest.non2xx
        ));
    }
    out.insert("rest_list".into(), rest);

    // 5. echo through each, one Python `mcp` SDK client per target (same client everywhere).
    let mut peers = Map::new();
    let (ev_http, ev_url) = match start_everything_http(env, &everything).await {
        Ok((m, u)) => (Some(m), Some(u)),
        Err(e) => {
            peers.insert(
                "direct_http".into(),
                json!({"unavailable": format!("{e:#}")}),
            );
            (None, None)
        }
    };
    if let Some(python) = env.python() {
        let mut targets: Vec<(&str, &str, &str, Value, Vec<String>)> = vec![
            (
                "direct stdio",
                "stdio",
                "echo",
                json!({"message": "hi"}),
                vec![
                    "stdio".into(),
                    "--".into(),
                    "node".into(),
                    everything.display().to_string(),
                    "stdio".into(),
                ],
            ),
            (
                "mcpproxy /mcp (http)",
                "http",
                "call_tool",
                json!({"name": "everything:echo", "args": {"message": "hi"}}),
                vec!["http".into(), ours.url("/mcp")],
            ),
        ];
        if let Some(u) = &ev_url {
            targets.push((
                "direct http",
                "http",
                "echo",
                json!({"message": "hi"}),
                vec!["http".into(), u.clone()],
            ));
        }
        match &mcp_proxy {
            Ok((_, port)) => targets.push((
                "mcp-proxy (http)",
                "http",
                "echo",
                json!({"message": "hi"}),
                vec![
                    "http".into(),
                    format!("http://127.0.0.1:{port}/servers/everything/mcp"),
                ],
            )),
            Err(e) => {
                peers.insert("mcp-proxy (http)".into(), json!({"unavailable": e}));
            }
        }
        match &hub {
            Ok((_, port)) => targets.push((
                "mcp-hub /mcp (sse)",
                "sse",
                "everything__echo",
                json!({"message": "hi"}),
                vec!["sse".into(), format!("http://127.0.0.1:{port}/mcp")],
            )),
            Err(e) => {
                peers.insert("mcp-hub /mcp (sse)".into(), json!({"unavailable": e}));
            }
        }
        let mut samples: BTreeMap<&str, Result<Vec<f64>, String>> = BTreeMap::new();
        for _ in 0..s.peer_reps {
            for (name, _, tool, args, target) in &targets {
                if matches!(samples.get(name), Some(Err(_))) {
                    continue;
                }
                let r = py_calls(
                    env,
                    &python,
                    tool,
                    args.clone(),
                    s.peer_calls / s.peer_reps,
                    target,
                )
                .await;
                match r {
                    Ok(v) => {
                        if let Ok(all) = samples.entry(*name).or_insert_with(|| Ok(Vec::new())) {
                            all.extend(v);
                        }
                    }
                    Err(e) => {
                        samples.insert(*name, Err(format!("{e:#}")));
                    }
                }
            }
        }
        let base = samples
            .get("direct stdio")
            .and_then(|r| r.as_ref().ok())
            .map(|v| Stats::of(v));
        for (name, transport, _, _, _) in &targets {
            match samples.get(name) {
                Some(Ok(v)) => {
                    let st = Stats::of(v);
                    peers.insert(
                        (*name).into(),
                        json!({"transport": transport, "stats": st.json()}),
                    );
                    let b = base.map_or(f64::NAN, |b| b.p50);
                    rep.row(
                        "5",
                        &format!("echo via {name}, p50 / p99"),
                        if name.starts_with("mcpproxy") {
                            format!("{} / {}", us(st.p50), us(st.p99))
                        } else {
                            String::new()
                        },
                        if name.starts_with("mcpproxy") {
                            String::new()
                        } else {
                            format!("{} / {}", us(st.p50), us(st.p99))
                        },
                        format!("{} vs direct stdio", ratio(st.p50, b)),
                        "Python mcp SDK client".into(),
                    );
                }
                Some(Err(e)) => {
                    peers.insert((*name).into(), json!({"error": e}));
                    rep.row(
                        "5",
                        &format!("echo via {name}"),
                        String::new(),
                        "failed".into(),
                        String::new(),
                        e.chars().take(80).collect(),
                    );
                    if name.starts_with("mcpproxy") || name.starts_with("direct stdio") {
                        rep.harness_errors.push(format!("{name}: {e}"));
                    }
                }
                None => {}
            }
        }
        peers.insert("method".into(), json!(format!(
            "Python mcp SDK {} client (the mcp-proxy venv), one session per target, {} sequential calls after warm-up, {} rounds interleaved across targets; every proxy fronts server-everything over stdio",
            "1.x", s.peer_calls, s.peer_reps)));
    } else {
        peers.insert(
            "unavailable".into(),
            json!("Python venv .harness/venv-mcpproxy missing"),
        );
        rep.row(
            "5",
            "peers via Python mcp SDK",
            String::new(),
            "unavailable".into(),
            String::new(),
            "venv missing".into(),
        );
    }

    // The same echo with the Rust rmcp client: ours vs direct server-everything stdio.
    {
        let mut cmd = Command::new("node");
        cmd.arg(&everything).arg("stdio");
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::null())
            .spawn()?;
        let direct_client = client_info().serve(transport).await?;
        let proxy_client = ours.mcp().await?;
        let direct = Call::Direct(direct_client.peer().clone(), "echo");
        let proxied = Call::Proxied(proxy_client.peer().clone(), "everything:echo");
        warm(&direct, s.warmup / 3).await?;
        warm(&proxied, s.warmup / 3).await?;
        let sm = interleaved(&[&direct, &proxied], s.peer_calls, s.block).await?;
        let (d, p) = (Stats::of(&sm[0]), Stats::of(&sm[1]));
        peers.insert(
            "rmcp_client".into(),
            json!({"direct_stdio": d.json(), "mcpproxy_http": p.json(),
            "added_p50_us": r1(p.p50 - d.p50), "method": "Rust rmcp client, interleaved blocks"}),
        );
        rep.row(
            "5",
            "echo everything via mcpproxy (rmcp client)",
            format!("{} / {}", us(p.p50), us(p.p99)),
            format!("direct stdio {} / {}", us(d.p50), us(d.p99)),
            ratio(p.p50, d.p50),
            format!("added p50 +{}", us(p.p50 - d.p50)),
        );
        let _ = tokio::time::timeout(Duration::from_secs(5), proxy_client.cancel()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), direct_client.cancel()).await;
    }
    // RSS of each proxy process (children excluded) after the runs.
    let mut rss = json!({"mcpproxy_kb": ours.rss_kb()});
    if let Ok((m, _)) = &hub {
        rss["mcp_hub_kb"] = json!(proc_status_kb(m.pid, "VmRSS"));
    }
    if let Ok((m, _)) = &mcp_proxy {
        rss["mcp_proxy_kb"] = json!(proc_status_kb(m.pid, "VmRSS"));
    }
    rep.row(
        "5",
        "proxy RSS after the runs (children excluded)",
        format!("{:.1} MB", ours.rss_kb().unwrap_or(0) as f64 / 1024.0),
        format!(
            "mcp-hub {} · mcp-proxy {}",
            rss["mcp_hub_kb"]
                .as_u64()
                .map_or("–".into(), |k| format!("{:.1} MB", k as f64 / 1024.0)),
            rss["mcp_proxy_kb"]
                .as_u64()
                .map_or("–".into(), |k| format!("{:.1} MB", k as f64 / 1024.0))
        ),
        String::new(),
        String::new(),
    );
    peers.insert("rss_after".into(), rss);
    out.insert("echo".into(), Value::Object(peers));

    if let Ok((m, _)) = hub {
        m.stop().await;
    }
    if let Ok((m, _)) = mcp_proxy {
        m.stop().await;
    }
    if let Some(m) = ev_http {
        m.stop().await;
    }
    ours.stop().await;
    rep.json.insert("peers".into(), Value::Object(out));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 6 + 7: start to ready; RSS and idle CPU with 30 upstreams

async fn bench_start(env: &Env, rep: &mut Report) -> Result<()> {
    let mut out = Map::new();
    for n in [1usize, 10, 50] {
        let mut readyz = Vec::new();
        let mut all = Vec::new();
        for _ in 0..env.settings.start_reps {
            let servers: Vec<Value> = (0..n)
                .map(|i| env.fixture_stdio(&format!("fx{i}"), &[]))
                .collect();
            let mut proxy = Proxy::spawn(env, Value::Array(servers))?;
            readyz.push(proxy.wait_readyz().await?.as_secs_f64() * 1e3);
            all.push(
                proxy
                    .wait_servers_ready(n, Duration::from_secs(60))
                    .await?
                    .as_secs_f64()
                    * 1e3,
            );
            proxy.stop().await;
        }
        let (r, a) = (Stats::of(&readyz), Stats::of(&all));
        out.insert(n.to_string(), json!({"readyz_ms": readyz.iter().map(|x| r1(*x)).collect::<Vec<_>>(),
            "all_ready_ms": all.iter().map(|x| r1(*x)).collect::<Vec<_>>(), "readyz_median_ms": r1(r.p50), "all_ready_median_ms": r1(a.p50)}));
        rep.row(
            "6",
            &format!("start → /readyz, → {n} stdio upstreams ready"),
            format!("{:.1} ms, {:.1} ms", r.p50, a.p50),
            String::new(),
            String::new(),
            format!("median of {}", env.settings.start_reps),
        );
    }
    rep.json.insert("start".into(), Value::Object(out));
    Ok(())
}

async fn bench_idle(env: &Env, rep: &mut Report) -> Result<()> {
    let s = &env.settings;
    let servers: Vec<Value> = (0..30)
        .map(|i| env.fixture_stdio(&format!("fx{i}"), &[]))
        .collect();
    let mut proxy = Proxy::spawn(env, Value::Array(servers))?;
    proxy.wait_readyz().await?;
    proxy
        .wait_servers_ready(30, Duration::from_secs(60))
        .await?;
    tokio::time::sleep(Duration::from_secs(s.settle_secs)).await;
    let pid = proxy.proc.pid;
    let rss = proc_status_kb(pid, "VmRSS").unwrap_or(0);
    let hwm = proc_status_kb(pid, "VmHWM").unwrap_or(0);
    let children = descendants(pid);
    let child_rss: u64 = children
        .iter()
        .filter_map(|p| proc_status_kb(*p, "VmRSS"))
        .sum();
    let t0 = cpu_ticks(pid).context("cpu ticks")?;
    let w0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(s.idle_secs)).await;
    let t1 = cpu_ticks(pid).context("cpu ticks")?;
    let window = w0.elapsed().as_secs_f64();
    let cpu_pct = (t1 - t0) as f64 / clk_tck() / window * 100.0;
    let rss_mb = rss as f64 / 1024.0;
    rep.json.insert("idle_30".into(), json!({"rss_kb": rss, "vmhwm_kb": hwm, "children": children.len(), "children_rss_kb": child_rss,
        "cpu_ticks": t1 - t0, "window_s": r1(window), "cpu_percent_of_one_core": (cpu_pct * 1000.0).round() / 1000.0,
        "goal_rss_mb": 40, "goal_cpu_percent": 0.5, "rss_goal_met": rss_mb < 40.0, "cpu_goal_met": cpu_pct < 0.5}));
    rep.row(
        "7",
        "RSS, 30 idle stdio upstreams (children excl.)",
        format!("{rss_mb:.1} MB"),
        format!(
            "{} children {:.1} MB total",
            children.len(),
            child_rss as f64 / 1024.0
        ),
        String::new(),
        goal(rss_mb < 40.0, "< 40 MB"),
    );
    rep.row(
        "7",
        &format!("idle CPU over {window:.0} s"),
        format!("{cpu_pct:.3} %"),
        String::new(),
        String::new(),
        goal(cpu_pct < 0.5, "< 0.5 % of a core"),
    );
    proxy.stop().await;
    Ok(())
}

// ---------------------------------------------------------------------------------------

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
    });
    let mem = proc_meminfo_kb("MemTotal");
    let sh = |c: &str, a: &[&str]| {
        std::process::Command::new(c)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    json!({"nproc": std::thread::available_parallelism().map(|n| n.get()).ok(), "cpu": cpu, "mem_total_kb": mem,
           "kernel": sh("uname", &["-r"]), "rustc": sh("rustc", &["--version"]), "node": sh("node", &["--version"])})
}

fn proc_meminfo_kb(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn finish(rep: &mut Report, name: &str, started: Instant, result: Result<()>) {
    match result {
        Ok(()) => eprintln!(
            "bench: {name} done in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("bench: {name} FAILED: {e:#}");
            let short: String = format!("{e:#}").chars().take(100).collect();
            rep.row(
                "!",
                name,
                "harness error".into(),
                String::new(),
                String::new(),
                short,
            );
            rep.harness_errors.push(format!("{name}: {e:#}"));
        }
    }
}

/// `BENCH_ONLY=1,3` runs only the sections whose number is listed (all when unset).
fn selected(name: &str) -> bool {
    let Ok(only) = std::env::var("BENCH_ONLY") else {
        return true;
    };
    let numbers: Vec<&str> = name
        .split_whitespace()
        .next()
        .unwrap_or("")
        .split('+')
        .collect();
    only.split(',')
        .map(str::trim)
        .any(|wanted| numbers.contains(&wanted))
}

/// Run one section; its error becomes a row and a harness error, and the run goes on.
macro_rules! section {
    ($rep:expr, $name:expr, $fut:expr) => {{
        if !selected($name) {
            eprintln!("bench: {} skipped (BENCH_ONLY)", $name);
        } else {
            eprintln!("bench: {} …", $name);
            let started = Instant::now();
            let result = $fut.await;
            finish(&mut $rep, $name, started, result);
        }
    }};
}

fn main() -> std::process::ExitCode {
    let env = match Env::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("bench: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    start_watchdog(env.settings.watchdog_secs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = Instant::now();
    let rep = runtime.block_on(async {
        let mut rep = Report::default();
        let e = &env;
        section!(
            rep,
            "1+2 stdio upstream: latency and throughput",
            bench_calls(e, &mut rep, false)
        );
        section!(
            rep,
            "1+2 http upstream: latency and throughput",
            bench_calls(e, &mut rep, true)
        );
        section!(
            rep,
            "3 retrieve_tools at 1k / 10k",
            bench_retrieve(e, &mut rep)
        );
        section!(rep, "4+5 REST listing and peers", bench_peers(e, &mut rep));
        section!(rep, "6 start to ready", bench_start(e, &mut rep));
        section!(
            rep,
            "7 RSS and idle CPU, 30 upstreams",
            bench_idle(e, &mut rep)
        );
        section!(
            rep,
            "8 forwarding: /mcp/servers/{name} vs /mcp call_tool vs direct (A/B)",
            forward::bench_forward(e, &mut rep)
        );
        rep
    });
    let mut rep = rep;
    let total = started.elapsed().as_secs_f64();
    rep.json.insert("machine".into(), machine());
    rep.json.insert("quick".into(), json!(env.settings.quick));
    rep.json
        .insert("settings".into(), json!(format!("{:?}", env.settings)));
    rep.json.insert("run_seconds".into(), json!(r1(total)));
    rep.json
        .insert("timestamp".into(), json!(chrono::Utc::now().to_rfc3339()));
    rep.json
        .insert("harness_errors".into(), json!(rep.harness_errors));
    rep.print(&format!(
        "mcpproxy benchmark{} — {:.0} s; ratio = mcpproxy / baseline (latency: lower is better; rates: higher is better)",
        if env.settings.quick { " (BENCH_QUICK: short counts, numbers are noisy)" } else { "" },
        total
    ));
    let out = std::env::var_os("BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| env.root.join("target/bench/results.json"));
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match serde_json::to_vec_pretty(&Value::Object(rep.json.clone())) {
        Ok(bytes) => match std::fs::write(&out, bytes) {
            Ok(()) => println!("results: {}", out.display()),
            Err(e) => rep
                .harness_errors
                .push(format!("write {}: {e}", out.display())),
        },
        Err(e) => rep.harness_errors.push(format!("json: {e}")),
    }
    drop(runtime);
    if rep.harness_errors.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!(
            "bench: harness errors:\n  {}",
            rep.harness_errors.join("\n  ")
        );
        std::process::ExitCode::from(1)
    }
}
