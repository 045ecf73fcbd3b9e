//! What the proxy benchmark calls: one `Call` per way of reaching the echo tool (direct,
//! through the proxy, MCP ping; rmcp or the lean client), and the loops that time them
//! (`warm`, `interleaved`, `throughput`), with the fixture's stdio and HTTP clients.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, ClientRequest, Implementation,
    RequestNoParam,
};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::environment::Env;
use crate::lean::Lean;
use crate::process::{Managed, clk_tck, cpu_ticks, poll};

pub(crate) type Client = RunningService<RoleClient, ClientConfig>;

pub(crate) fn client_info() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("mcpproxy-bench", "0.1.0"),
    )
}

/// One way of calling the echo tool.
#[derive(Clone)]
pub(crate) enum Call {
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
    pub(crate) async fn echo(&self) -> Result<String> {
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
pub(crate) async fn warm(call: &Call, n: usize) -> Result<()> {
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
pub(crate) async fn interleaved(
    calls: &[&Call],
    total: usize,
    block: usize,
) -> Result<Vec<Vec<f64>>> {
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
pub(crate) async fn throughput(calls: Vec<Call>, secs: f64, cap: u64) -> Result<(f64, u64)> {
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

/// One set's share of [`throughput_interleaved`].
pub(crate) struct Turns {
    /// Calls per second over the set's own slices.
    pub(crate) calls_per_s: f64,
    /// CPU time (user + system) of the process serving the set, per call, in µs: how much
    /// work a call costs it, which the machine's noise moves much less than calls/s.
    pub(crate) cpu_us_per_call: Option<f64>,
}

/// calls/s of each set of concurrent callers, the sets taking turns in `rounds` slices of
/// `secs / rounds` each, so the machine's drift hits every set alike (as `interleaved` does for
/// latency); with the pid of the process serving each set, its CPU time per call too.
pub(crate) async fn throughput_interleaved(
    sets: &[(Vec<Call>, Option<u32>)],
    secs: f64,
    cap: u64,
    rounds: usize,
) -> Result<Vec<Turns>> {
    let slice = secs / rounds.max(1) as f64;
    // Per set: calls, seconds, CPU ticks (None once a reading failed).
    let mut done = vec![(0u64, 0f64, Some(0u64)); sets.len()];
    for _ in 0..rounds.max(1) {
        for ((calls, pid), total) in sets.iter().zip(done.iter_mut()) {
            let before = pid.and_then(cpu_ticks);
            let start = Instant::now();
            let (_, n) = throughput(calls.clone(), slice, cap).await?;
            total.0 += n;
            total.1 += start.elapsed().as_secs_f64();
            let after = pid.and_then(cpu_ticks);
            total.2 = match (total.2, before, after) {
                (Some(sum), Some(b), Some(a)) => Some(sum + a.saturating_sub(b)),
                _ => None,
            };
        }
    }
    let tick_us = 1e6 / clk_tck();
    Ok(done
        .into_iter()
        .map(|(n, t, ticks)| Turns {
            calls_per_s: n as f64 / t,
            cpu_us_per_call: ticks
                .filter(|_| n > 0)
                .map(|k| k as f64 * tick_us / n as f64),
        })
        .collect())
}

pub(crate) async fn fixture_stdio_client(env: &Env, extra: &[&str]) -> Result<Client> {
    let mut cmd = Command::new(&env.fixture);
    cmd.arg("stdio").args(extra);
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::null())
        .spawn()?;
    Ok(client_info().serve(transport).await?)
}

pub(crate) async fn http_client(url: &str) -> Result<Client> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    Ok(client_info().serve(transport).await?)
}

/// Start the fixture in `http` mode; returns it and its `/mcp` URL.
pub(crate) async fn fixture_http(env: &Env, extra: &[&str]) -> Result<(Managed, String)> {
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
