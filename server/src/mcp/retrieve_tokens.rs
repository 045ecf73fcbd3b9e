//! Tokens per `retrieve_tools` answer, full against compact, over the search evaluation's
//! corpus (`server/tests/data/search_eval.json`: 253 real-world tool definitions and their
//! labelled queries) at the default `tools_limit`. Prints the table `docs/benchmarks.md`
//! quotes:
//! `cargo test -p mcpproxy --lib retrieve_tokens -- --nocapture`. Test-only.

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::Value;

use super::result::json_result;
use super::search::{Detail, answer, entry};
use crate::index::eval::{corpus_tools, load};
use crate::tokens::count_json;

/// The default `tools_limit`.
const LIMIT: usize = 15;

fn tool(doc: &crate::index::ToolDoc) -> Tool {
    let schema: JsonObject = match &doc.input_schema {
        Value::Object(map) => map.clone(),
        _ => JsonObject::new(),
    };
    Tool::new(doc.name.clone(), doc.description.clone(), Arc::new(schema))
}

/// The `p`-th percentile (nearest rank) of sorted `values`.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[test]
fn retrieve_tokens_compact_against_full() {
    let (index, queries) = load();
    let tools: HashMap<(String, String), Tool> = corpus_tools()
        .iter()
        .map(|d| ((d.server.clone(), d.name.clone()), tool(d)))
        .collect();
    let mut full = Vec::new();
    let mut compact = Vec::new();
    for q in &queries {
        let hits = index.search(&q.query, LIMIT);
        let tokens = |detail| {
            let entries = hits
                .iter()
                .map(|h| {
                    entry(
                        &h.server,
                        &tools[&(h.server.clone(), h.name.clone())],
                        h.score,
                        detail,
                    )
                })
                .collect();
            count_json(&json_result(answer(&q.query, entries, detail)))
        };
        let (f, c) = (tokens(Detail::Full), tokens(Detail::Compact));
        if hits.is_empty() {
            assert_eq!(c, f, "an empty answer is the same in both details");
            continue;
        }
        assert!(
            c < f,
            "compact ({c}) is smaller than full ({f}) for {:?}",
            q.query
        );
        full.push(f);
        compact.push(c);
    }
    full.sort_unstable();
    compact.sort_unstable();
    let listing: Vec<&Tool> = tools.values().collect();
    let everything = count_json(&serde_json::json!({ "tools": listing }));
    let (fm, f95) = (percentile(&full, 50.0), percentile(&full, 95.0));
    let (cm, c95) = (percentile(&compact, 50.0), percentile(&compact, 95.0));
    let cut = |a: u64, b: u64| 100.0 * (1.0 - b as f64 / a as f64);
    println!(
        "retrieve_tools tokens (cl100k_base), {} queries with hits, limit {LIMIT}, {} tools (listing them all: {everything} tokens)",
        full.len(),
        tools.len()
    );
    println!("| detail | median | p95 |");
    println!("|---|---:|---:|");
    println!("| full | {fm} | {f95} |");
    println!("| compact | {cm} | {c95} |");
    println!(
        "| compact saves | {:.0} % | {:.0} % |",
        cut(fm, cm),
        cut(f95, c95)
    );
    assert!(
        fm < everything,
        "a full answer costs less than listing every tool"
    );
}
