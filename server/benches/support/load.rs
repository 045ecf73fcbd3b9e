//! HTTP load for the proxy benchmark's REST section: `wrk -t2 -c32` and its parsed output,
//! or a loop of 32 Rust tasks when wrk is not installed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::report::Stats;

pub(crate) struct Wrk {
    pub(crate) rps: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) non2xx: u64,
    pub(crate) errors: String,
}

pub(crate) fn parse_dur_us(s: &str) -> f64 {
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

pub(crate) async fn wrk(url: &str, header: Option<&str>, secs: u64) -> Result<Wrk> {
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
pub(crate) async fn rust_load(url: &str, header: Option<(&str, &str)>, secs: u64) -> Result<Wrk> {
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

pub(crate) fn have_wrk() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}
