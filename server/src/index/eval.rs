//! Retrieval-quality test against the labelled set in
//! `server/tests/data/search_eval.json`: recall@5 and MRR over natural
//! language queries an agent would type. Test-only.

use serde::Deserialize;

use super::{ToolDoc, ToolIndex};

/// The labelled evaluation set.
#[derive(Deserialize)]
struct EvalSet {
    tools: Vec<ToolDoc>,
    queries: Vec<EvalQuery>,
}

/// One query and its correct `server:tool` answers.
#[derive(Deserialize)]
pub(crate) struct EvalQuery {
    /// What an agent would type.
    pub(crate) query: String,
    relevant: Vec<String>,
}

const EVAL_JSON: &str = include_str!("../../tests/data/search_eval.json");

/// The labelled set's tools (also the token benchmark's corpus).
pub(crate) fn corpus_tools() -> Vec<ToolDoc> {
    let set: EvalSet = serde_json::from_str(EVAL_JSON).expect("search_eval.json parses");
    set.tools
}

/// The labelled set's tools, indexed, and its queries.
pub(crate) fn load() -> (ToolIndex, Vec<EvalQuery>) {
    let set: EvalSet = serde_json::from_str(EVAL_JSON).expect("search_eval.json parses");
    let mut servers: Vec<String> = set.tools.iter().map(|t| t.server.clone()).collect();
    servers.sort();
    servers.dedup();
    let mut index = ToolIndex::new();
    for server in &servers {
        let tools = set
            .tools
            .iter()
            .filter(|t| &t.server == server)
            .cloned()
            .collect();
        index.replace_server(server, tools);
    }
    assert_eq!(
        index.len(),
        set.tools.len(),
        "tool names repeat within a server"
    );
    (index, set.queries)
}

fn ranked(index: &ToolIndex, query: &str, limit: usize) -> Vec<String> {
    index
        .search(query, limit)
        .into_iter()
        .map(|hit| format!("{}:{}", hit.server, hit.name))
        .collect()
}

#[test]
fn eval_set_is_well_formed() {
    let (index, queries) = load();
    assert!(index.len() >= 220);
    assert!(queries.len() >= 45);
    for query in &queries {
        assert!(!query.relevant.is_empty(), "{}", query.query);
        for label in &query.relevant {
            let (server, name) = label.split_once(':').expect("label is server:tool");
            assert!(index.get(server, name).is_some(), "unknown label {label}");
        }
    }
}

#[test]
fn recall_at_5_and_mrr_meet_the_bar() {
    let (index, queries) = load();
    let (mut recall, mut mrr) = (0.0, 0.0);
    for query in &queries {
        let hits = ranked(&index, &query.query, 10);
        let is_relevant = |hit: &String| query.relevant.contains(hit);
        let found = hits.iter().take(5).filter(|h| is_relevant(h)).count();
        recall += found as f64 / query.relevant.len().min(5) as f64;
        let rank = hits.iter().position(is_relevant);
        mrr += rank.map_or(0.0, |r| 1.0 / (r + 1) as f64);
        if rank != Some(0) {
            println!(
                "miss@1 {:?}: want {:?}, got {:?}",
                query.query,
                query.relevant,
                &hits[..hits.len().min(3)]
            );
        }
    }
    let n = queries.len() as f64;
    let (recall, mrr) = (recall / n, mrr / n);
    println!(
        "search eval: {} queries, recall@5 = {recall:.3}, MRR = {mrr:.3}",
        queries.len()
    );
    assert!(recall >= 0.85, "recall@5 {recall:.3} < 0.85");
    assert!(mrr >= 0.7, "MRR {mrr:.3} < 0.7");
}

#[test]
fn echo_query_finds_everything_echo_first() {
    let (index, _) = load();
    let hits = ranked(&index, "echo a message back", 5);
    assert_eq!(hits.first().map(String::as_str), Some("everything:echo"));
}
