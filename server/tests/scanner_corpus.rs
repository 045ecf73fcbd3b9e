//! Scores the tool-poisoning scanner on the labelled corpus `tests/data/scanner_corpus.json`
//! (170 entries from public attack taxonomies, each malicious category with hard negatives)
//! and asserts the thresholds of issue 17: on the `block` tier recall ≥ 0.90 and hard-negative
//! false positives ≤ 0.05; on `block`+`review` recall ≥ 0.95.
//!
//! `cargo test -p mcpproxy --test scanner_corpus -- --nocapture` (or `just scan-corpus`)
//! prints the per-category table that docs/security.md shows, and every miss.

use std::collections::BTreeMap;

use mcpproxy::security::{ScanContext, Tier, ToolText, scan_tool, verdict};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Corpus {
    other_server_tools: Vec<String>,
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    category: String,
    label: String,
    tool: String,
    description: String,
    input_schema: Value,
    annotations: Option<Value>,
    previous_description: Option<String>,
    #[serde(default)]
    hard_negative: bool,
}

#[derive(Default)]
struct Row {
    malicious: usize,
    caught_block: usize,
    caught_any: usize,
    hard: usize,
    hard_block: usize,
    hard_review: usize,
    benign: usize,
    benign_block: usize,
}

fn ratio(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.2}", a as f64 / b as f64)
    }
}

/// Scores of one labelled file: rows by category, the total, and every miss.
struct Scores {
    entries: usize,
    rows: BTreeMap<String, Row>,
    total: Row,
    misses: Vec<String>,
}

fn score(file: &str) -> Scores {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let corpus: Corpus = serde_json::from_str(&std::fs::read_to_string(&path).expect("corpus"))
        .expect("corpus JSON");
    let ctx = ScanContext::with_other_tools(&corpus.other_server_tools);
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut misses = Vec::new();
    for e in &corpus.entries {
        let tool = ToolText {
            name: &e.tool,
            description: &e.description,
            input_schema: Some(&e.input_schema),
            annotations: e.annotations.as_ref(),
            previous_description: e.previous_description.as_deref(),
        };
        let findings = scan_tool(&tool, &ctx);
        let v = verdict(&findings);
        let row = rows.entry(e.category.clone()).or_default();
        let shown = || {
            findings
                .iter()
                .map(|f| f.summary())
                .collect::<Vec<_>>()
                .join("\n      ")
        };
        if e.label == "malicious" {
            row.malicious += 1;
            row.caught_block += usize::from(v == Some(Tier::Block));
            row.caught_any += usize::from(v.is_some());
            if v != Some(Tier::Block) {
                misses.push(format!(
                    "  MISSED ({:?}) {}: {:.90}\n      {}",
                    v,
                    e.id,
                    e.description,
                    shown()
                ));
            }
        } else {
            row.benign += 1;
            row.benign_block += usize::from(v == Some(Tier::Block));
            if e.hard_negative {
                row.hard += 1;
                row.hard_block += usize::from(v == Some(Tier::Block));
                row.hard_review += usize::from(v == Some(Tier::Review));
            }
            if v == Some(Tier::Block) {
                misses.push(format!(
                    "  FALSE BLOCK {}: {:.90}\n      {}",
                    e.id,
                    e.description,
                    shown()
                ));
            }
        }
    }
    let mut total = Row::default();
    for r in rows.values() {
        total.malicious += r.malicious;
        total.caught_block += r.caught_block;
        total.caught_any += r.caught_any;
        total.hard += r.hard;
        total.hard_block += r.hard_block;
        total.hard_review += r.hard_review;
        total.benign += r.benign;
        total.benign_block += r.benign_block;
    }
    Scores {
        entries: corpus.entries.len(),
        rows,
        total,
        misses,
    }
}

fn print(title: &str, s: &Scores) {
    println!("\n{title}\n");
    println!(
        "| category | malicious | recall (block) | recall (block+review) | hard negatives | FP block | FP review |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let line = |name: &str, r: &Row| {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            r.malicious,
            ratio(r.caught_block, r.malicious),
            ratio(r.caught_any, r.malicious),
            r.hard,
            ratio(r.hard_block, r.hard),
            ratio(r.hard_review, r.hard),
        );
    };
    for (cat, r) in s.rows.iter().filter(|(_, r)| r.malicious + r.hard > 0) {
        line(cat, r);
    }
    line("**all**", &s.total);
    println!(
        "\n{} entries; every benign entry (plain tools included) blocked: {}/{}",
        s.entries, s.total.benign_block, s.total.benign
    );
    for m in &s.misses {
        println!("{m}");
    }
}

#[test]
fn corpus_scores_meet_the_thresholds() {
    let s = score("scanner_corpus.json");
    print("scanner_corpus.json (the thresholds apply here)", &s);
    assert!(s.entries >= 150, "the corpus has at least 150 entries");
    let t = &s.total;
    let recall_block = t.caught_block as f64 / t.malicious as f64;
    let recall_any = t.caught_any as f64 / t.malicious as f64;
    let fp_block = t.hard_block as f64 / t.hard as f64;
    assert!(
        recall_block >= 0.90,
        "block-tier recall {recall_block:.3} < 0.90"
    );
    assert!(
        recall_any >= 0.95,
        "block+review recall {recall_any:.3} < 0.95"
    );
    assert!(
        fp_block <= 0.05,
        "hard-negative block FP {fp_block:.3} > 0.05"
    );
}

/// The held-out sets are scored and printed, not held to the thresholds: each was written
/// before the rule changes it measures, and its misses are the honest picture of what the
/// rules do not cover yet.
#[test]
fn holdout_scores_are_printed() {
    for (file, title) in [
        (
            "scanner_holdout.json",
            "scanner_holdout.json (written after the first rules; printed, not asserted)",
        ),
        (
            "scanner_holdout2.json",
            "scanner_holdout2.json (written before the second round of rule changes; printed, not asserted)",
        ),
    ] {
        let s = score(file);
        print(title, &s);
        assert!(
            s.total.malicious > 0 && s.total.hard > 0,
            "the held-out set {file} loads"
        );
    }
}
