//! The SDK matrix (issue 12, "Tests and evidence"): real SDK clients — the official Python
//! SDK (`mcp` 2.3.0) and the official TypeScript SDK (`@modelcontextprotocol/client` 2.4.0) —
//! against an upstream written with the Python SDK (`tests/sdk/upstream.py`), each cell
//! exercising progress, cancellation (the upstream records that it really stopped), sampling
//! and elicitation round trips, logging (the level the client asked for is honoured) and a
//! tools list_changed notification (`tests/sdk/client.py`, `tests/sdk/client.cjs`).
//!
//! - [`sdk_clients_against_the_upstream_directly`] proves the harness: every client script,
//!   both revisions, HTTP and stdio, straight to the upstream (no proxy).
//! - [`sdk_clients_through_the_proxy`]: client 2025-11-25 or 2026-07-28 × upstream 2025-11-25
//!   (`--legacy-only`) or 2026-07-28 × HTTP (`/mcp/servers/{name}`, the transparent endpoint)
//!   or stdio (`mcpproxy serve --stdio` with `routing_mode: direct`, tools as `up__tool`), for
//!   both SDKs. Each cell also checks which revision the upstream itself was spoken to with
//!   (a 2026 upstream cell sets `handshake: discover-first`: a server that speaks both is
//!   otherwise held on 2025-11-25).
//!
//! Cells run in parallel (bounded); the table (one row per cell, a mark per exercise, then
//! what failed) is printed on stderr, and in the assertion message on failure.
//! Needs `.ci/install-test-deps` (the Python venv and `.harness/sdk-ts`).
//! Run: `cargo test -p mcpproxy --test sdk_matrix`.

#[path = "integration/common.rs"]
#[allow(
    dead_code,
    reason = "shared with the integration suite; this suite uses part of it"
)]
mod common;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use common::{TestServer, config_with, harness_file};

/// The six exercises every client runs, in its report's order.
const EXERCISES: [&str; 6] = [
    "progress",
    "cancel",
    "sample",
    "elicit",
    "log",
    "list_changed",
];
/// Cells run at once: each is a client, an upstream and maybe a proxy on a 2-core machine.
const PARALLEL_CELLS: usize = 3;
/// One client run, all six exercises (each bounded at 30 s inside the scripts).
const CELL_TIMEOUT: Duration = Duration::from_secs(240);
/// The upstream's HTTP mode announces its address within this.
const UPSTREAM_READY: Duration = Duration::from_secs(30);
/// The name the upstream has in the proxy's config.
const UPSTREAM: &str = "up";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Sdk {
    Python,
    TypeScript,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Rev {
    R2025,
    R2026,
}

impl Rev {
    fn arg(self) -> &'static str {
        match self {
            Rev::R2025 => "2025",
            Rev::R2026 => "2026",
        }
    }
    fn full(self) -> &'static str {
        match self {
            Rev::R2025 => "2025-11-25",
            Rev::R2026 => "2026-07-28",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transport {
    Http,
    Stdio,
}

/// One cell: who talks to whom, at which revisions, over what.
#[derive(Clone, Copy, Debug)]
struct Cell {
    sdk: Sdk,
    client: Rev,
    upstream: Rev,
    transport: Transport,
    proxied: bool,
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<10} client {} upstream {} {:<5} {}",
            format!("{:?}", self.sdk),
            self.client.arg(),
            self.upstream.arg(),
            format!("{:?}", self.transport),
            if self.proxied { "via proxy" } else { "direct" }
        )
    }
}

/// What one cell produced: the client's JSON report (or why there is none) and the
/// revisions the upstream saw.
struct Outcome {
    cell: Cell,
    report: Result<Value, String>,
    upstream_saw: Vec<String>,
}

impl Outcome {
    /// Per exercise: passed, and the detail line. An exercise the client never reached fails.
    fn exercises(&self) -> Vec<(&'static str, bool, String)> {
        EXERCISES
            .iter()
            .map(|name| match &self.report {
                Ok(report) => {
                    let r = &report["results"][name];
                    (
                        *name,
                        r["ok"] == json!(true),
                        r["detail"].as_str().unwrap_or("not run").to_string(),
                    )
                }
                Err(e) => (*name, false, e.clone()),
            })
            .collect()
    }

    /// The checks beyond the exercises: the client negotiated its revision, the upstream was
    /// spoken to at its own.
    fn revisions(&self) -> Result<(), String> {
        let negotiated = self
            .report
            .as_ref()
            .ok()
            .and_then(|r| r["protocol"].as_str())
            .unwrap_or("none");
        if negotiated != self.cell.client.full() {
            return Err(format!(
                "client negotiated {negotiated}, want {}",
                self.cell.client.full()
            ));
        }
        let want = format!("protocol {}", self.cell.upstream.full());
        if self.upstream_saw.iter().any(|l| *l != want) || self.upstream_saw.is_empty() {
            return Err(format!(
                "upstream was called at {:?}, want only {}",
                self.upstream_saw,
                self.cell.upstream.full()
            ));
        }
        Ok(())
    }

    fn passed(&self) -> bool {
        self.exercises().iter().all(|(_, ok, _)| *ok) && self.revisions().is_ok()
    }
}

/// The table printed on failure: one line per cell with a mark per exercise, then the
/// details of what failed.
fn table(outcomes: &[Outcome]) -> String {
    let mut out = format!("{:<52} {}\n", "cell", EXERCISES.join(" "));
    let mut details = String::new();
    for o in outcomes {
        let marks: Vec<String> = o
            .exercises()
            .iter()
            .map(|(name, ok, _)| {
                format!(
                    "{:^width$}",
                    if *ok { "ok" } else { "FAIL" },
                    width = name.len()
                )
            })
            .collect();
        let rev = match o.revisions() {
            Ok(()) => "revisions ok".to_string(),
            Err(e) => format!("REVISIONS: {e}"),
        };
        out.push_str(&format!(
            "{:<52} {}  {rev}\n",
            o.cell.to_string(),
            marks.join(" ")
        ));
        for (name, ok, detail) in o.exercises() {
            if !ok {
                details.push_str(&format!("  {} / {name}: {detail}\n", o.cell));
            }
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    if !details.is_empty() {
        details.insert_str(0, "\nfailures:\n");
    }
    format!("{passed} of {} cells pass\n{out}{details}", outcomes.len())
}

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk")
}

fn python() -> PathBuf {
    harness_file("venv/bin/python", "Python MCP SDK")
}

/// The upstream's command line (`stdio` or `http`), as a list.
fn upstream_command(cell: &Cell, mode: &str, marker: &Path) -> Vec<String> {
    let mut cmd = vec![
        python().display().to_string(),
        sdk_dir().join("upstream.py").display().to_string(),
        mode.to_string(),
        "--marker".to_string(),
        marker.display().to_string(),
    ];
    if cell.upstream == Rev::R2025 {
        cmd.push("--legacy-only".to_string());
    }
    cmd
}

/// The upstream in HTTP mode: the child (killed on drop) and its `/mcp` URL.
async fn start_http_upstream(cell: &Cell, marker: &Path) -> Result<(Child, String), String> {
    let cmd = upstream_command(cell, "http", marker);
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn upstream: {e}"))?;
    let url = common::announced_url(&mut child, UPSTREAM_READY)
        .await
        .ok_or("the HTTP upstream did not announce READY")?;
    Ok((child, url))
}

/// Run one client script; its JSON report. The client's environment is the proxy's when it
/// spawns `mcpproxy serve --stdio`: no `MCPPROXY_*` from outside, no update check, and `home`
/// as `HOME` when given.
async fn run_client(
    sdk: Sdk,
    rev: Rev,
    marker: &Path,
    prefix: Option<&str>,
    home: Option<&Path>,
    target: &[String],
) -> Result<Value, String> {
    let mut cmd = match sdk {
        Sdk::Python => {
            let mut c = Command::new(python());
            c.arg(sdk_dir().join("client.py"));
            c
        }
        Sdk::TypeScript => {
            let mut c = Command::new("node");
            c.env(
                "NODE_PATH",
                harness_file("sdk-ts/node_modules", "TypeScript MCP SDK client"),
            )
            .arg(sdk_dir().join("client.cjs"));
            c
        }
    };
    cmd.arg("--revision")
        .arg(rev.arg())
        .arg("--marker")
        .arg(marker);
    if let Some(prefix) = prefix {
        cmd.arg("--prefix").arg(prefix);
    }
    cmd.args(target)
        .env_remove("MCPPROXY_API_KEY")
        .env_remove("MCPPROXY_LISTEN")
        .env_remove("MCPPROXY_DATA")
        .env("MCPPROXY_DISABLE_AUTO_UPDATE", "true")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(home) = home {
        cmd.env("HOME", home);
    }
    let output = tokio::time::timeout(CELL_TIMEOUT, cmd.output())
        .await
        .map_err(|_| format!("the client did not finish in {CELL_TIMEOUT:?}"))?
        .map_err(|e| format!("spawn client: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    let report: Value = serde_json::from_str(line).map_err(|_| {
        format!(
            "no JSON report (exit {:?}); stderr: {}",
            output.status.code(),
            tail(&String::from_utf8_lossy(&output.stderr))
        )
    })?;
    if let Some(err) = report["error"].as_str() {
        return Err(format!(
            "client failed: {err}; stderr: {}",
            tail(&String::from_utf8_lossy(&output.stderr))
        ));
    }
    Ok(report)
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(8)..].join(" | ")
}

/// The `protocol …` lines the upstream wrote to the marker file.
fn upstream_saw(marker: &Path) -> Vec<String> {
    std::fs::read_to_string(marker)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("protocol "))
        .map(str::to_string)
        .collect()
}

/// A cell straight to the upstream.
async fn direct(cell: Cell) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("marker");
    let report = match cell.transport {
        Transport::Stdio => {
            let mut target = vec!["stdio".to_string()];
            target.extend(upstream_command(&cell, "stdio", &marker));
            run_client(cell.sdk, cell.client, &marker, None, None, &target).await
        }
        Transport::Http => match start_http_upstream(&cell, &marker).await {
            Ok((_child, url)) => {
                run_client(
                    cell.sdk,
                    cell.client,
                    &marker,
                    None,
                    None,
                    &["http".into(), url],
                )
                .await
            }
            Err(e) => Err(e),
        },
    };
    Outcome {
        cell,
        report,
        upstream_saw: upstream_saw(&marker),
    }
}

/// A cell through the proxy: the upstream is configured as `up` (stdio child of the proxy,
/// or its HTTP URL); the client reaches it on `/mcp/servers/up` (HTTP) or on
/// `mcpproxy serve --stdio` serving every upstream tool as `up__tool` (stdio).
async fn proxied(cell: Cell) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("marker");
    let report = proxied_report(&cell, &marker).await;
    Outcome {
        cell,
        report,
        upstream_saw: upstream_saw(&marker),
    }
}

async fn proxied_report(cell: &Cell, marker: &Path) -> Result<Value, String> {
    let (_upstream, entry) = match cell.transport {
        Transport::Http => {
            let (child, url) = start_http_upstream(cell, marker).await?;
            (
                Some(child),
                json!({ "name": UPSTREAM, "url": url, "protocol": "http", "enabled": true }),
            )
        }
        Transport::Stdio => {
            let cmd = upstream_command(cell, "stdio", marker);
            (
                None,
                json!({ "name": UPSTREAM, "command": cmd[0], "args": cmd[1..], "enabled": true }),
            )
        }
    };
    let mut entry = entry;
    if cell.upstream == Rev::R2026 {
        // A server that speaks both revisions is held on 2025-11-25 unless told otherwise;
        // this cell is about a 2026-07-28 upstream.
        entry["handshake"] = json!("discover-first");
    }
    let mut config = config_with(json!([entry]));
    // The stdio front serves what `/mcp` serves: the direct surface (`server__tool`) here.
    config["routing_mode"] = json!("direct");
    match cell.transport {
        Transport::Http => {
            let proxy = TestServer::start(config).await;
            common::wait_connected(&proxy, UPSTREAM).await;
            let url = format!("{}/mcp/servers/{UPSTREAM}", proxy.url());
            run_client(
                cell.sdk,
                cell.client,
                marker,
                None,
                None,
                &["http".into(), url],
            )
            .await
        }
        Transport::Stdio => {
            let home = tempfile::tempdir().map_err(|e| e.to_string())?;
            common::write_config(&home.path().join("mcp_config.json"), &config);
            let target = [
                "stdio".to_string(),
                env!("CARGO_BIN_EXE_mcpproxy").to_string(),
                "serve".into(),
                "--stdio".into(),
                "--config".into(),
                home.path().join("mcp_config.json").display().to_string(),
                "--data-dir".into(),
                home.path().join("data").display().to_string(),
            ];
            run_client(
                cell.sdk,
                cell.client,
                marker,
                Some(&format!("{UPSTREAM}__")),
                Some(home.path()),
                &target,
            )
            .await
        }
    }
}

/// Run `cells` through `run`, at most [`PARALLEL_CELLS`] at once; outcomes in cell order.
async fn run_all<F, Fut>(cells: Vec<Cell>, run: F) -> Vec<Outcome>
where
    F: Fn(Cell) -> Fut,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(PARALLEL_CELLS));
    let handles: Vec<_> = cells
        .into_iter()
        .map(|cell| {
            let gate = gate.clone();
            let fut = run(cell);
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await.expect("semaphore");
                fut.await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.expect("cell task"));
    }
    outcomes
}

fn cells(proxied: bool) -> Vec<Cell> {
    let mut cells = Vec::new();
    for sdk in [Sdk::Python, Sdk::TypeScript] {
        for client in [Rev::R2025, Rev::R2026] {
            for upstream in [Rev::R2025, Rev::R2026] {
                // Without a proxy the upstream speaks what the client speaks.
                if !proxied && upstream != client {
                    continue;
                }
                for transport in [Transport::Http, Transport::Stdio] {
                    cells.push(Cell {
                        sdk,
                        client,
                        upstream,
                        transport,
                        proxied,
                    });
                }
            }
        }
    }
    cells
}

/// The harness itself: every client, both revisions, both transports, straight to the
/// upstream: all six exercises pass and both sides spoke the cell's revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_clients_against_the_upstream_directly() {
    let outcomes = run_all(cells(false), direct).await;
    let report = table(&outcomes);
    eprintln!("{report}");
    assert!(outcomes.iter().all(Outcome::passed), "{report}");
}

/// The matrix through the proxy: 16 cells (2 SDKs × client revision × upstream revision ×
/// HTTP/stdio); each passes every exercise, as the same client does directly. A 2026-07-28
/// client of a server held on 2025-11-25 (the `--legacy-only` upstream) is asked for
/// sampling and elicitation with input-required results that the proxy turns into the
/// answers the server's requests wait for (`mcp/parked.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_clients_through_the_proxy() {
    let outcomes = run_all(cells(true), proxied).await;
    let report = table(&outcomes);
    eprintln!("{report}");
    let mut unexpected = Vec::new();
    for outcome in &outcomes {
        for (exercise, ok, detail) in outcome.exercises() {
            if !ok {
                unexpected.push(format!("{} / {exercise} fails: {detail}", outcome.cell));
            }
        }
        if let Err(e) = outcome.revisions() {
            unexpected.push(format!("{} / revisions: {e}", outcome.cell));
        }
    }
    assert!(unexpected.is_empty(), "{}\n{report}", unexpected.join("\n"));
}
