//! Upstream OAuth against the official conformance suite: every `auth/*` client scenario
//! (`@modelcontextprotocol/conformance` 0.2.0-alpha.12) at 2025-11-25 and 2026-07-28,
//! through `conformance/client-driver`, which configures the proxy with the suite's mock
//! server as its upstream and completes each browser step by following the authorization
//! URL (the mock authorization server approves at once). Every scenario must pass but the
//! [`KNOWN_GAPS`]; a known gap that starts passing fails the test too (take it off the list).

use crate::conformance_client::{run_lines, scenario_log};

/// Scenarios that do not pass yet, with the reason (none now: every auth scenario of the
/// suite passes at both revisions).
const KNOWN_GAPS: [(&str, &str); 0] = [];

/// Run every auth scenario at `revision` and compare with [`KNOWN_GAPS`].
async fn auth_scenarios(revision: &str) {
    let (lines, out) = run_lines(revision, &[], true).await;
    let mut failing = Vec::new();
    let mut closed = Vec::new();
    let mut ran = 0;
    for line in &lines {
        let mut words = line.split(' ');
        let (Some(verdict), Some(scenario)) = (words.next(), words.next()) else {
            continue;
        };
        if !scenario.starts_with("auth/") {
            continue;
        }
        ran += 1;
        let known = KNOWN_GAPS.iter().any(|(gap, _)| *gap == scenario);
        match (verdict, known) {
            ("PASS", true) => closed.push(scenario.to_string()),
            ("FAIL", false) => {
                failing.push(format!("{line}\n{}", scenario_log(out.path(), scenario)))
            }
            _ => {}
        }
    }
    assert!(
        ran >= 20,
        "too few auth scenarios ran at {revision}: {lines:?}"
    );
    assert!(
        closed.is_empty(),
        "known gaps that pass now at {revision} (take them off KNOWN_GAPS): {closed:?}"
    );
    assert!(
        failing.is_empty(),
        "auth scenarios failing at {revision}:\n{}",
        failing.join("\n\n")
    );
}

#[tokio::test]
async fn test_conformance_auth_scenarios_2025_11_25() {
    auth_scenarios("2025-11-25").await;
}

#[tokio::test]
async fn test_conformance_auth_scenarios_2026_07_28() {
    auth_scenarios("2026-07-28").await;
}
