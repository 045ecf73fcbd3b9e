//! The mcpproxy under test: `mcpproxy serve` on a config the bench writes (port 0, the
//! bench's API key), waited for by its ready line, `/readyz` and its server list.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use mcpproxy_testkit::{ready_addr, serve_command};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

use crate::environment::Env;
use crate::process::{Managed, http, proc_status_kb};
use crate::targets::{Client, client_info};

pub(crate) const KEY: &str = "bench-key-0123456789abcdef";
/// The proxy binary under test: this build's, or `BENCH_PROXY` (to compare two builds).
pub(crate) fn proxy_bin() -> PathBuf {
    std::env::var_os("BENCH_PROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mcpproxy")))
}

pub(crate) struct Proxy {
    pub(crate) proc: Managed,
    pub(crate) addr: String,
    pub(crate) spawned: Instant,
}

impl Proxy {
    /// Write a config with `servers` and start `mcpproxy serve` (does not wait).
    pub(crate) fn spawn(env: &Env, servers: Value) -> Result<Self> {
        Self::spawn_bin(env, &proxy_bin(), servers)
    }

    /// As [`Proxy::spawn`], with the mcpproxy binary `bin` (section 8 compares two builds).
    pub(crate) fn spawn_bin(env: &Env, bin: &Path, servers: Value) -> Result<Self> {
        let dir = env.dir("proxy")?;
        // Port 0: the ready line in its log says which port it bound.
        let config = json!({"listen": "127.0.0.1:0", "api_key": KEY, "mcpServers": servers});
        std::fs::write(
            dir.join("mcp_config.json"),
            serde_json::to_vec_pretty(&config)?,
        )?;
        let mut cmd = serve_command(bin, &dir);
        cmd.stdout(Stdio::null());
        let spawned = Instant::now();
        let proc = Managed::spawn("mcpproxy", cmd, dir.join("stderr.log"))?;
        Ok(Self {
            proc,
            addr: String::new(),
            spawned,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Wait for the ready line (the bound address) and `/readyz` 200; returns the time
    /// since spawn.
    pub(crate) async fn wait_readyz(&mut self) -> Result<Duration> {
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

    pub(crate) async fn servers(&self, client: &reqwest::Client) -> Option<Vec<Value>> {
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
    pub(crate) async fn wait_servers_ready(
        &mut self,
        n: usize,
        limit: Duration,
    ) -> Result<Duration> {
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

    pub(crate) async fn mcp(&self) -> Result<Client> {
        let transport = StreamableHttpClientTransport::from_uri(self.url("/mcp"));
        Ok(client_info().serve(transport).await?)
    }

    pub(crate) fn rss_kb(&self) -> Option<u64> {
        proc_status_kb(self.proc.pid, "VmRSS")
    }

    pub(crate) async fn stop(self) -> Option<i32> {
        self.proc.stop().await
    }
}
