//! Sections 1 and 2 of the proxy benchmark: added latency per `tools/call` and calls/s at
//! c=1 and c=16, through `/mcp` against direct, with the fixture over stdio and over HTTP,
//! with the rmcp client and the lean client, and through `mcpproxy serve --stdio`.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use crate::environment::Env;
use crate::lean::{Lean, LeanHttp, LeanStdio};
use crate::process::proc_status_kb;
use crate::report::{Report, Stats, goal, r1, ratio, us};
use crate::targets::{
    Call, fixture_http, fixture_stdio_client, http_client, interleaved, throughput, warm,
};
use crate::under_test::{KEY, Proxy, proxy_bin};

pub(crate) async fn bench_calls(env: &Env, rep: &mut Report, http_mode: bool) -> Result<()> {
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
pub(crate) async fn bench_stdio_front(
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
pub(crate) fn latency_rows(
    rep: &mut Report,
    http_mode: bool,
    client: &str,
    stats: [&Stats; 4],
    limit: f64,
) {
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
pub(crate) fn c16_row(
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
