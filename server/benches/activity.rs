//! Activity-log benchmark (`harness = false`, issue 16 §1): fills a real database file with
//! tool-call records through the storage API (`Storage::record_call`, the writer's group
//! commits, flushed every [`FILL_CHUNK`]), then, each in a fresh child process so that its
//! peak RSS (`VmHWM`) is its own, measures:
//!
//! - `open`: opening the database and nothing else (the baseline RSS);
//! - `export`: every record as JSON lines through `Storage::export_activity` (the paging
//!   loop the `/api/v1/activity/export` route streams from), written to a byte counter;
//! - `server_page`: the first page (100) of one server's records (read through the
//!   `tool_calls_by_server` index);
//! - `server_all`: every record of that server (a tenth of the history), exported;
//! - `text_page`: a free-text filter that matches one record in 10,000, so the page scans
//!   the whole history.
//!
//! It does so at [`SMALL`] and at [`LARGE`] records (the second fill extends the first), and
//! prints one JSON line per measurement:
//! `{"bench":"activity","records":N,"op":..,"secs":..,"matched":..,"bytes":..,
//! "peak_rss_kb":..,"open_rss_kb":..}` plus, per size, the export's peak RSS over the
//! `open` baseline. Constant memory means the export's peak does not grow with the history
//! (compare the two sizes); what it does hold is one page plus redb's page cache, which is
//! capped (64 MiB, `storage::CACHE_BYTES`).
//!
//! `BENCH_QUICK=1` uses 2,000 and 20,000 records (CI smoke: the harness, not the numbers).
//! `BENCH_ACTIVITY_DIR` (default `target/bench/activity`) holds the database; it is removed
//! at the end. Run with `cargo bench -p mcpproxy --bench activity` (in release through
//! `just bench`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mcpproxy::storage::{ActivityQuery, EXPORT_PAGE, Retention, Storage, ToolCallRecord};
use serde_json::{Value, json};

/// History sizes of a full run.
const SMALL: usize = 100_000;
const LARGE: usize = 1_000_000;
/// History sizes of a quick run.
const QUICK_SMALL: usize = 2_000;
const QUICK_LARGE: usize = 20_000;
/// Records handed to the writer between two flushes (its queue holds 65,536).
const FILL_CHUNK: usize = 20_000;
/// Servers the calls are spread over (`server_*` ask for one of them).
const SERVERS: usize = 10;
/// One record in this many holds the needle the text filter looks for.
const NEEDLE_EVERY: usize = 10_000;
const NEEDLE: &str = "needle-7f3a";
/// Page size of the filtered queries.
const PAGE: usize = 100;
/// The child-process mode: `BENCH_ACTIVITY_CHILD=<op>` with the database path as argument.
const CHILD_ENV: &str = "BENCH_ACTIVITY_CHILD";
const OPS: [&str; 5] = ["open", "export", "server_page", "server_all", "text_page"];

fn unlimited() -> Retention {
    Retention {
        max_calls: 0,
        max_age: Duration::ZERO,
        max_sessions: 0,
    }
}

/// Peak resident set size of this process so far, in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Call `i` of a history whose newest record is at `newest`.
fn record(i: usize, newest: DateTime<Utc>, total: usize) -> ToolCallRecord {
    let server = format!("srv-{}", i % SERVERS);
    let text = if i % NEEDLE_EVERY == 7 {
        format!("result {i}: {NEEDLE}")
    } else {
        format!("result {i}: {}", "lorem ipsum dolor sit amet ".repeat(6))
    };
    ToolCallRecord {
        id: format!("call-{i:08}"),
        server,
        tool: format!("tool_{}", i % 20),
        arguments: json!({"query": format!("find item {i}"), "limit": 10}),
        response: Some(json!({"content": [{"type": "text", "text": text}]})),
        error: None,
        is_error: i.is_multiple_of(50),
        duration_ms: (i % 300) as f64 + 0.5,
        timestamp: newest - chrono::Duration::milliseconds((total - i) as i64),
        session_id: Some(format!("session-{}", i % 100)),
        client_name: Some("bench".into()),
        client_version: Some("1.0".into()),
        replayed_from: None,
        token_name: None,
        tokens: Some(120),
    }
}

/// Records `from..to` (of a `total`-record history), in chunks the writer can queue.
fn fill(rt: &tokio::runtime::Runtime, path: &Path, from: usize, to: usize, total: usize) {
    let storage = Storage::open(path, unlimited()).expect("open the bench database");
    let newest = Utc::now();
    let mut i = from;
    while i < to {
        let end = (i + FILL_CHUNK).min(to);
        for n in i..end {
            storage.record_call(record(n, newest, total));
        }
        rt.block_on(storage.flush());
        i = end;
    }
    let stats = storage.writer_stats();
    assert_eq!(stats.dropped, 0, "the writer dropped records: {stats:?}");
    assert_eq!(stats.failed, 0, "a commit failed: {stats:?}");
}

/// Exports what `q` matches as JSON lines into a byte counter; (records, bytes).
fn export(storage: &Storage, q: &ActivityQuery) -> (usize, u64) {
    struct Counter(u64);
    impl Write for Counter {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len() as u64;
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Counter(0);
    let mut records = 0usize;
    let mut line = Vec::new();
    storage
        .export_activity(q, |page| {
            for r in page {
                line.clear();
                serde_json::to_writer(&mut line, &r).expect("encode");
                line.push(b'\n');
                out.write_all(&line).expect("write");
                records += 1;
            }
            true
        })
        .expect("export");
    (records, out.0)
}

/// The child: open, run `op`, print one JSON line with its time and peak RSS.
fn child(op: &str, path: &Path) {
    let storage = Storage::open(path, unlimited()).expect("open");
    let open_rss = peak_rss_kb();
    let server = Some("srv-3".to_string());
    let started = Instant::now();
    let (matched, bytes) = match op {
        "open" => (0, 0),
        "export" => export(
            &storage,
            &ActivityQuery {
                limit: EXPORT_PAGE,
                ..Default::default()
            },
        ),
        "server_all" => export(
            &storage,
            &ActivityQuery {
                server,
                limit: EXPORT_PAGE,
                ..Default::default()
            },
        ),
        "server_page" | "text_page" => {
            let q = ActivityQuery {
                server: server.filter(|_| op == "server_page"),
                text: (op == "text_page").then(|| NEEDLE.to_string()),
                limit: PAGE,
                ..Default::default()
            };
            let page = storage.activity_page(&q).expect("page");
            (page.records.len(), 0)
        }
        other => panic!("unknown op {other}"),
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({"op": op, "secs": secs, "matched": matched, "bytes": bytes,
               "peak_rss_kb": peak_rss_kb(), "open_rss_kb": open_rss})
    );
}

/// Runs `op` in a child process; its JSON line.
fn measure(op: &str, path: &Path) -> Value {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .env(CHILD_ENV, op)
        .arg(path)
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "{op} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("{op} printed no result"))
}

fn main() {
    // `cargo bench` passes `--bench`; the child gets the database path.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Ok(op) = std::env::var(CHILD_ENV) {
        let path = PathBuf::from(args.first().expect("database path"));
        child(&op, &path);
        return;
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let (small, large) = if quick {
        (QUICK_SMALL, QUICK_LARGE)
    } else {
        (SMALL, LARGE)
    };
    let dir = PathBuf::from(
        std::env::var("BENCH_ACTIVITY_DIR").unwrap_or_else(|_| "target/bench/activity".into()),
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let path = dir.join("mcpproxy.db");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut filled = 0;
    for size in [small, large] {
        let started = Instant::now();
        fill(&rt, &path, filled, size, large);
        filled = size;
        let fill_secs = started.elapsed().as_secs_f64();
        let db_mb = std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1e6);
        println!(
            "{}",
            json!({"bench": "activity", "records": size, "op": "fill", "secs": fill_secs,
                   "db_mb": db_mb})
        );
        let mut open_rss = 0;
        for op in OPS {
            let mut line = measure(op, &path);
            if op == "open" {
                open_rss = line["peak_rss_kb"].as_u64().unwrap_or(0);
            }
            line["bench"] = json!("activity");
            line["records"] = json!(size);
            if op == "export" && open_rss > 0 {
                let peak = line["peak_rss_kb"].as_u64().unwrap_or(0);
                line["rss_vs_open"] = json!(peak as f64 / open_rss as f64);
            }
            println!("{line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
