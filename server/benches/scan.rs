//! Tool-poisoning scanner benchmark (`harness = false`): scans 10,000 tools the way the
//! indexer does when servers come up — each tool's description, every string of its input
//! schema and its annotations, with the names of all other tools as the shadowing context —
//! and prints one JSON line `{"bench":"scan","tools":N,"median_ms":..,"max_ms":..,
//! "per_tool_us":..,"goal_ms":100}` (and, on stderr, one line for people with the number,
//! the goal and whether it is met). The tools are 9,000 synthetic API tools (varied
//! descriptions, 2–6 described parameters) and 1,000 drawn from the labelled corpus (half of
//! it attacks, so the decoders and rules do real work). The goal: under 100 ms.
//!
//! Run with `cargo bench -p mcpproxy --bench scan` (in release through `just bench`).

use std::hint::black_box;
use std::time::Instant;

use mcpproxy::security::{ScanContext, ToolText, scan_tool};
use serde_json::{Value, json};

const TOOLS: usize = 10_000;
const FROM_CORPUS: usize = 1_000;
/// What the issue allows for scanning 10,000 tools at start.
const GOAL_MS: f64 = 100.0;

const VERBS: &[&str] = &[
    "List", "Get", "Create", "Update", "Delete", "Search", "Archive", "Export", "Sync", "Merge",
];
const THINGS: &[&str] = &[
    "issues",
    "pull requests",
    "channels",
    "invoices",
    "customers",
    "pages",
    "buckets",
    "dashboards",
    "alerts",
    "deployments",
    "tickets",
    "files",
];
const TAILS: &[&str] = &[
    "Results are paginated; pass `cursor` from the previous page to continue.",
    "Use this when the user asks about recent activity. Returns at most `limit` items, newest first.",
    "Requires the workspace to be connected. Fields that are empty are omitted from the answer.",
    "The answer is JSON with an `items` array and a `next` cursor. See https://docs.example.com/api for field meanings.",
    "Filters combine with AND. Dates are ISO 8601 (e.g. 2026-01-31). Times are UTC.",
];

struct Tool {
    name: String,
    description: String,
    schema: Value,
    annotations: Option<Value>,
}

fn synthetic(i: usize) -> Tool {
    let verb = VERBS[i % VERBS.len()];
    let thing = THINGS[(i / VERBS.len()) % THINGS.len()];
    let tail = TAILS[i % TAILS.len()];
    let mut props = serde_json::Map::new();
    for p in 0..(2 + i % 5) {
        props.insert(
            format!("param_{p}"),
            json!({"type": "string", "description": format!("The {thing} {} to use; optional.", ["id", "owner", "filter", "cursor", "label", "state"][p % 6])}),
        );
    }
    Tool {
        name: format!("{}_{}_{i}", verb.to_lowercase(), thing.replace(' ', "_")),
        description: format!("{verb} {thing} in the connected account. {tail}"),
        schema: json!({"type": "object", "properties": props}),
        annotations: i
            .is_multiple_of(3)
            .then(|| json!({"readOnlyHint": verb == "List" || verb == "Get"})),
    }
}

fn corpus() -> Vec<Tool> {
    let text = include_str!("../tests/data/scanner_corpus.json");
    let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    doc["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Tool {
            name: e["tool"].as_str().unwrap_or_default().to_string(),
            description: e["description"].as_str().unwrap_or_default().to_string(),
            schema: e["input_schema"].clone(),
            annotations: e.get("annotations").cloned(),
        })
        .collect()
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let corpus = corpus();
    let mut tools: Vec<Tool> = (0..TOOLS - FROM_CORPUS).map(synthetic).collect();
    for i in 0..FROM_CORPUS {
        let c = &corpus[i % corpus.len().max(1)];
        tools.push(Tool {
            name: c.name.clone(),
            description: c.description.clone(),
            schema: c.schema.clone(),
            annotations: c.annotations.clone(),
        });
    }
    let runs = if quick { 2 } else { 7 };
    let mut times = Vec::with_capacity(runs);
    let mut findings = 0;
    for _ in 0..runs {
        let started = Instant::now();
        // As at start: the context is built once, then every tool is scanned.
        let ctx = ScanContext::with_other_tools(tools.iter().map(|t| t.name.as_str()));
        findings = 0;
        for t in &tools {
            let found = scan_tool(
                &ToolText {
                    name: &t.name,
                    description: &t.description,
                    input_schema: Some(&t.schema),
                    annotations: t.annotations.as_ref(),
                    previous_description: None,
                },
                &ctx,
            );
            findings += black_box(found).len();
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    eprintln!(
        "scan: {} tools in {median:.1} ms (median of {runs}; max {max:.1} ms) — goal: under {GOAL_MS} ms: {}",
        tools.len(),
        if median < GOAL_MS { "met" } else { "NOT met" }
    );
    println!(
        "{}",
        json!({
            "bench": "scan",
            "tools": tools.len(),
            "findings": findings,
            "median_ms": (median * 100.0).round() / 100.0,
            "max_ms": (max * 100.0).round() / 100.0,
            "per_tool_us": (median * 1e3 / tools.len() as f64 * 100.0).round() / 100.0,
            "goal_ms": GOAL_MS,
        })
    );
}
