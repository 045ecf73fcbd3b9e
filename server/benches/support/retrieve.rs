//! Section 3 of the proxy benchmark: `retrieve_tools` at 1k and 10k tools, the same queries
//! on a bare `ToolIndex`, the start cost of indexing them, and the `search` and `scan`
//! micro-benches' lines for context.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures::StreamExt;
use mcpproxy::index::{ToolDoc, ToolIndex};
use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};
use tokio::process::Command;

use crate::environment::Env;
use crate::report::{Report, Stats, goal, r1, ratio, us};
use crate::targets::{Client, fixture_stdio_client};
use crate::under_test::{KEY, Proxy};

pub(crate) const QUERIES: &[&str] = &[
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

pub(crate) async fn retrieve_samples(client: &Client, n: usize) -> Result<(Vec<f64>, usize)> {
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
pub(crate) fn bare_index(tools: &[rmcp::model::Tool], servers: usize, n: usize) -> (Stats, f64) {
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
pub(crate) fn watch_indexed(
    proxy: &Proxy,
    want: usize,
) -> tokio::task::JoinHandle<Result<Instant>> {
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

pub(crate) async fn bench_retrieve(env: &Env, rep: &mut Report) -> Result<()> {
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
pub(crate) async fn json_lines_of(bin: std::ffi::OsString, what: &str) -> Result<Vec<Value>> {
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
