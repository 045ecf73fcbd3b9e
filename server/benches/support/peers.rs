//! Sections 4 and 5 of the proxy benchmark: REST `GET /api/v1/servers` at c=32 against
//! mcp-hub's `GET /api/servers`, and the echo tool of server-everything through each peer
//! proxy (mcp-hub, mcp-proxy) and ours, with one Python `mcp` SDK client and with rmcp.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use mcpproxy_testkit::listening_ports;
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Map, Value, json};
use tokio::process::Command;

use crate::environment::Env;
use crate::load::{have_wrk, rust_load, wrk};
use crate::process::{Managed, http, listening_port, proc_status_kb};
use crate::report::{Report, Stats, r1, ratio, us};
use crate::targets::{Call, client_info, interleaved, warm};
use crate::under_test::{KEY, Proxy};

/// Ports mcp-hub is offered, below the kernel's ephemeral range. mcp-hub 4.2.1 refuses
/// `--port 0` ("Cannot register workspace: no port specified"), so the bench names a port
/// and moves on to the next one when mcp-hub itself reports it taken (`EADDRINUSE`);
/// nothing binds a port to release it for mcp-hub.
const HUB_PORTS: Range<u16> = 20_000..30_000;

/// Taken ports tried before mcp-hub is reported unavailable.
const HUB_PORT_TRIES: usize = 20;

pub(crate) async fn start_hub(
    env: &Env,
    hub_js: &Path,
    everything: &Path,
) -> Result<(Managed, u16)> {
    let dir = env.dir("mcp-hub")?;
    let cfg = json!({"mcpServers": {"everything": {"command": "node", "args": [everything.display().to_string(), "stdio"]}}});
    std::fs::write(
        dir.join("hub-config.json"),
        serde_json::to_vec_pretty(&cfg)?,
    )?;
    let span = usize::from(HUB_PORTS.end - HUB_PORTS.start);
    // Runs side by side start at different ports.
    let first = std::process::id() as usize % span;
    let mut started = None;
    for i in 0..HUB_PORT_TRIES {
        let port = HUB_PORTS.start + ((first + i) % span) as u16;
        if let Some(m) = spawn_hub_on(env, hub_js, &dir, port).await? {
            started = Some((m, port));
            break;
        }
    }
    let Some((mut m, port)) = started else {
        bail!(
            "mcp-hub: {HUB_PORT_TRIES} ports tried from {}, all taken",
            HUB_PORTS.start + first as u16
        );
    };
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

/// Start mcp-hub on `port`: `Some` once it listens there, `None` when mcp-hub reports the
/// port taken (it logs `EADDRINUSE` and exits).
async fn spawn_hub_on(env: &Env, hub_js: &Path, dir: &Path, port: u16) -> Result<Option<Managed>> {
    let mut cmd = Command::new("node");
    cmd.arg(hub_js)
        .arg("--port")
        .arg(port.to_string())
        .arg("--config")
        .arg(dir.join("hub-config.json"))
        .env("HOME", dir)
        .env("NODE_OPTIONS", env.loopback_preload())
        .stdout(Stdio::null());
    let mut m = Managed::spawn("mcp-hub", cmd, dir.join(format!("stderr-{port}.log")))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if listening_ports(m.pid).contains(&port) {
            return Ok(Some(m));
        }
        // Read before asking whether it exited: its error line is written before it exits.
        if std::fs::read_to_string(&m.log).is_ok_and(|log| log.contains("EADDRINUSE")) {
            m.stop().await;
            return Ok(None);
        }
        if let Some(e) = m.exited() {
            bail!(e);
        }
        if Instant::now() > deadline {
            bail!(
                "mcp-hub not listening on port {port} in 30 s:\n{}",
                m.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn start_mcp_proxy(
    env: &Env,
    bin: &Path,
    everything: &Path,
) -> Result<(Managed, u16)> {
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

pub(crate) async fn start_everything_http(
    env: &Env,
    everything: &Path,
) -> Result<(Managed, String)> {
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
pub(crate) async fn py_calls(
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

pub(crate) async fn bench_peers(env: &Env, rep: &mut Report) -> Result<()> {
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
