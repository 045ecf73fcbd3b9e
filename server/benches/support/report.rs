//! The proxy benchmark's report: latency statistics, the printed table's rows and cells,
//! the JSON written to `target/bench/results.json`, and the machine it ran on.

use serde_json::{Map, Value, json};

#[derive(Clone, Copy, Debug)]
pub(crate) struct Stats {
    pub(crate) n: usize,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) mean: f64,
}

impl Stats {
    pub(crate) fn of(samples: &[f64]) -> Self {
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

    pub(crate) fn json(&self) -> Value {
        json!({"n": self.n, "p50_us": r1(self.p50), "p99_us": r1(self.p99), "mean_us": r1(self.mean)})
    }
}

pub(crate) fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn us(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} ms", x / 1e3)
    } else if x >= 1_000.0 {
        format!("{:.2} ms", x / 1e3)
    } else {
        format!("{x:.0} µs")
    }
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() && b.is_finite() {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}

#[derive(Default)]
pub(crate) struct Report {
    pub(crate) rows: Vec<[String; 6]>,
    pub(crate) json: Map<String, Value>,
    pub(crate) harness_errors: Vec<String>,
}

impl Report {
    pub(crate) fn row(
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

    pub(crate) fn print(&self, header: &str) {
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

pub(crate) fn goal(met: bool, text: &str) -> String {
    format!("{} {text}", if met { "MET" } else { "NOT MET" })
}

pub(crate) fn machine() -> Value {
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

pub(crate) fn proc_meminfo_kb(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
