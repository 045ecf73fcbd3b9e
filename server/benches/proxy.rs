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
//!
//! Layout (`benches/support/`): `environment.rs` (settings and paths), `process.rs` (the
//! processes started and the watchdog), `under_test.rs` (the mcpproxy under test),
//! `targets.rs` (the ways of calling and the timing loops), `report.rs` (statistics, table,
//! JSON), `lean.rs` (the lean client), `load.rs` (wrk); one file per section: `calls.rs`
//! (1+2), `retrieve.rs` (3), `peers.rs` (4+5), `start.rs` (6), `idle.rs` (7),
//! `forward.rs` (8). This file runs the sections and writes the report.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde_json::{Value, json};

#[path = "support/calls.rs"]
mod calls;
#[path = "support/environment.rs"]
mod environment;
#[path = "support/forward.rs"]
mod forward;
#[path = "support/idle.rs"]
mod idle;
#[path = "support/lean.rs"]
mod lean;
#[path = "support/load.rs"]
mod load;
#[path = "support/peers.rs"]
mod peers;
#[path = "support/process.rs"]
mod process;
#[path = "support/report.rs"]
mod report;
#[path = "support/retrieve.rs"]
mod retrieve;
#[path = "support/start.rs"]
mod start;
#[path = "support/targets.rs"]
mod targets;
#[path = "support/under_test.rs"]
mod under_test;

use environment::Env;
use process::start_watchdog;
use report::{Report, machine, r1};

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
            calls::bench_calls(e, &mut rep, false)
        );
        section!(
            rep,
            "1+2 http upstream: latency and throughput",
            calls::bench_calls(e, &mut rep, true)
        );
        section!(
            rep,
            "3 retrieve_tools at 1k / 10k",
            retrieve::bench_retrieve(e, &mut rep)
        );
        section!(
            rep,
            "4+5 REST listing and peers",
            peers::bench_peers(e, &mut rep)
        );
        section!(rep, "6 start to ready", start::bench_start(e, &mut rep));
        section!(
            rep,
            "7 RSS and idle CPU, 30 upstreams",
            idle::bench_idle(e, &mut rep)
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
