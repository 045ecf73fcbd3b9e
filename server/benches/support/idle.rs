//! Section 7 of the proxy benchmark: RSS and idle CPU of the proxy with 30 idle stdio
//! upstreams.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::environment::Env;
use crate::process::{clk_tck, cpu_ticks, descendants, proc_status_kb};
use crate::report::{Report, goal, r1};
use crate::under_test::Proxy;

pub(crate) async fn bench_idle(env: &Env, rep: &mut Report) -> Result<()> {
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
