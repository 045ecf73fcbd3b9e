//! Section 8 of the proxy benchmark: what forwarding costs on a plain `tools/call`.
//!
//! For each upstream transport (the fixture over stdio, then over HTTP), the lean raw JSON-RPC
//! client, c=1 latency with every path alternating in blocks (so drift hits all alike) and
//! c=16 calls/s (16 sessions per path, the paths taking turns in slices):
//! - direct: `tools/call echo` on the fixture itself (its pipes, or its HTTP endpoint);
//! - `/mcp`: `call_tool {name: fx:echo}` (the retrieve-tools surface);
//! - `/mcp/servers/fx`: `tools/call echo` on the transparent per-server endpoint, when the
//!   build has it (otherwise the row says unavailable);
//! - the same two through a second build when `BENCH_PROXY_B=<path>` is set (the A/B: e.g.
//!   a build before the issue-12 relay against this one, in the same run and on the same
//!   upstream, so the difference is the forwarding and not the machine's drift).
//!
//! A module of `benches/proxy.rs`: it uses that bench's harness (`Proxy`, `Call`, `warm`,
//! `interleaved`, `throughput`, `Stats`, `Report`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, json};

use crate::environment::Env;
use crate::lean::{Lean, LeanHttp, LeanStdio};
use crate::report::{Report, Stats, r1, ratio, us};
use crate::targets::{Call, fixture_http, interleaved, throughput_interleaved, warm};
use crate::under_test::{Proxy, proxy_bin};

/// The section's row label.
const SECTION: &str = "8 forward";
/// Sessions for the c=16 figures.
const SESSIONS: usize = 16;
/// Slices the c=16 window is cut into, the paths taking turns (drift hits each alike).
const ROUNDS: usize = 5;

/// One path a call can take through a proxy build.
struct Route {
    /// e.g. "A /mcp call_tool".
    label: String,
    /// The proxy URL this path's sessions open.
    url: String,
    /// `Some(tool)`: `tools/call tool` (transparent); `None`: `call_tool fx:echo` on `/mcp`.
    transparent: Option<&'static str>,
    call: Call,
    /// The proxy process serving it (for its CPU time per call).
    pid: u32,
}

impl Route {
    /// Another session on the same path (for c=16).
    async fn session(&self) -> Result<Call> {
        let lean = Lean::Http(LeanHttp::connect(&self.url).await?);
        Ok(match self.transparent {
            Some(tool) => Call::LeanDirect(lean, tool),
            None => Call::LeanProxied(lean, "fx:echo"),
        })
    }
}

/// The builds to compare: this one (A) and `BENCH_PROXY_B` (B) when set.
fn builds() -> Vec<(&'static str, PathBuf)> {
    let mut builds = vec![("A", proxy_bin())];
    if let Some(b) = std::env::var_os("BENCH_PROXY_B") {
        builds.push(("B", PathBuf::from(b)));
    }
    builds
}

/// Both upstream transports, one after the other; results under `forward` in the JSON.
pub(super) async fn bench_forward(env: &Env, rep: &mut Report) -> Result<()> {
    let mut all = Map::new();
    for http in [false, true] {
        let (kind, result) = bench_forward_on(env, rep, http).await?;
        all.insert(kind.into(), result);
    }
    rep.json.insert("forward".into(), all.into());
    Ok(())
}

/// One upstream transport: the fixture over stdio or over HTTP.
async fn bench_forward_on(
    env: &Env,
    rep: &mut Report,
    http: bool,
) -> Result<(&'static str, serde_json::Value)> {
    let s = &env.settings;
    let kind = if http { "http" } else { "stdio" };
    let mut upstream = None;
    let (entry, direct) = if http {
        let (m, url) = fixture_http(env, &[]).await?;
        upstream = Some(m);
        (
            json!({"name": "fx", "url": url, "protocol": "http", "enabled": true}),
            Lean::Http(LeanHttp::connect(&url).await?),
        )
    } else {
        (
            env.fixture_stdio("fx", &[]),
            Lean::Stdio(LeanStdio::spawn(&env.fixture, &["stdio"]).await?),
        )
    };
    let direct = Call::LeanDirect(direct, "echo");
    warm(&direct, s.warmup).await?;

    let mut proxies = Vec::new();
    let mut paths: Vec<Route> = Vec::new();
    let mut unavailable = Vec::new();
    for (build, bin) in builds() {
        let mut proxy = Proxy::spawn_bin(env, &bin, json!([entry.clone()]))?;
        proxy.wait_readyz().await?;
        proxy.wait_servers_ready(1, Duration::from_secs(30)).await?;
        let on_mcp = Route {
            label: format!("{build} {kind} /mcp call_tool"),
            url: proxy.url("/mcp"),
            transparent: None,
            pid: proxy.proc.pid,
            call: Call::LeanProxied(
                Lean::Http(LeanHttp::connect(&proxy.url("/mcp")).await?),
                "fx:echo",
            ),
        };
        warm(&on_mcp.call, s.warmup).await?;
        paths.push(on_mcp);
        // The server is ready and answers on /mcp: one failed call here means the build has
        // no transparent endpoint, not that it is still starting.
        let url = proxy.url("/mcp/servers/fx");
        let transparent = match LeanHttp::connect(&url).await {
            Ok(lean) => {
                let call = Call::LeanDirect(Lean::Http(lean), "echo");
                call.echo().await.map(|_| call)
            }
            Err(e) => Err(e),
        };
        match transparent {
            Ok(call) => {
                warm(&call, s.warmup).await?;
                paths.push(Route {
                    label: format!("{build} {kind} /mcp/servers/fx"),
                    url,
                    transparent: Some("echo"),
                    pid: proxy.proc.pid,
                    call,
                });
            }
            Err(e) => {
                unavailable.push((format!("{build} {kind} /mcp/servers/fx"), format!("{e:#}")))
            }
        }
        proxies.push(proxy);
    }

    // c=1 latency: direct and every path, alternating in blocks.
    let mut calls = vec![&direct];
    calls.extend(paths.iter().map(|p| &p.call));
    let samples = interleaved(&calls, s.latency_calls, s.block).await?;
    let d = Stats::of(&samples[0]);
    let mut json_paths = Map::new();
    // Per path label: p50 at c=1, calls/s at c=16, CPU µs per call at c=16.
    let mut measured = BTreeMap::new();
    rep.row(
        SECTION,
        &format!("direct (fixture {kind}) tools/call p50 / p99 (c=1)"),
        format!("{} / {}", us(d.p50), us(d.p99)),
        String::new(),
        String::new(),
        "lean client; all paths alternate in blocks".into(),
    );
    // c=16: 16 sessions per path, each one call at a time; the paths take turns in slices.
    let mut sets = Vec::new();
    for path in &paths {
        let mut sessions = Vec::new();
        for _ in 0..SESSIONS {
            let c = path.session().await?;
            warm(&c, 5).await?;
            sessions.push(c);
        }
        sets.push((sessions, Some(path.pid)));
    }
    let turns = throughput_interleaved(&sets, s.throughput_secs, s.throughput_cap, ROUNDS).await?;
    for ((path, samples), turn) in paths.iter().zip(&samples[1..]).zip(turns) {
        let p = Stats::of(samples);
        let c16 = turn.calls_per_s;
        let cpu = turn.cpu_us_per_call;
        rep.row(
            SECTION,
            &format!("{}: p50 / p99 (c=1); calls/s c=16", path.label),
            format!("{} / {}; {c16:.0}/s", us(p.p50), us(p.p99)),
            format!("direct {}", us(d.p50)),
            ratio(p.p50, d.p50),
            format!(
                "added p50 +{}; proxy CPU {} per call at c=16",
                us(p.p50 - d.p50),
                cpu.map_or("–".into(), us)
            ),
        );
        measured.insert(path.label.clone(), (p.p50, c16, cpu));
        json_paths.insert(
            path.label.clone(),
            json!({"latency": p.json(), "added_p50_us": r1(p.p50 - d.p50), "c16_calls_per_s": c16.round(),
                   "c16_cpu_us_per_call": cpu.map(r1)}),
        );
    }
    for (label, why) in &unavailable {
        rep.row(
            SECTION,
            label,
            "unavailable".into(),
            String::new(),
            String::new(),
            why.chars().take(80).collect(),
        );
        json_paths.insert(label.clone(), json!({"unavailable": why}));
    }
    // The A/B the issue asks for: the same path through both builds.
    let mut ab = Map::new();
    for (a, b) in paths
        .iter()
        .filter(|p| p.label.starts_with("A "))
        .filter_map(|a| {
            let twin = format!("B {}", &a.label[2..]);
            paths.iter().find(|p| p.label == twin).map(|b| (a, b))
        })
    {
        let ((pa, ta, ca), (pb, tb, cb)) = (measured[&a.label], measured[&b.label]);
        let cpu_ratio = match (ca, cb) {
            (Some(ca), Some(cb)) => ratio(ca, cb),
            _ => "–".into(),
        };
        rep.row(
            SECTION,
            &format!("A/B {}", &a.label[2..]),
            format!("A {}; {ta:.0}/s", us(pa)),
            format!("B {}; {tb:.0}/s", us(pb)),
            format!(
                "{} p50; {} c=16; {cpu_ratio} CPU/call",
                ratio(pa, pb),
                ratio(ta, tb)
            ),
            "A = this build, B = BENCH_PROXY_B".into(),
        );
        ab.insert(
            a.label[2..].to_string(),
            json!({"a_p50_us": r1(pa), "b_p50_us": r1(pb),
                   "a_c16_calls_per_s": ta.round(), "b_c16_calls_per_s": tb.round(),
                   "a_c16_cpu_us_per_call": ca.map(r1), "b_c16_cpu_us_per_call": cb.map(r1)}),
        );
    }
    let result = json!({"direct": d.json(), "paths": json_paths, "ab": ab,
           "b": std::env::var("BENCH_PROXY_B").ok(),
           "method": format!("lean raw JSON-RPC client, fixture over {kind}, c=1 {} calls per path after {} warm-up alternating in blocks of {}; c=16: {SESSIONS} sessions per path for {} s, the paths taking turns in {ROUNDS} slices", d.n, s.warmup, s.block, s.throughput_secs)});
    for p in proxies {
        p.stop().await;
    }
    if let Some(u) = upstream {
        u.stop().await;
    }
    Ok((kind, result))
}
