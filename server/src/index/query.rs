//! Query analysis: a raw query string becomes distinct weighted terms.
//!
//! Literal terms weigh 1.0; synonym expansions weigh [`SYNONYM_WEIGHT`] and
//! never override a literal. A query made only of stop words ("get me") is
//! kept verbatim rather than dropped. Queries are cut to [`MAX_QUERY_TERMS`]
//! literal terms, which bounds search cost for hostile input.

use super::synonyms::related;
use super::tokenize::{Mode, tokenize};

/// Literal terms considered per query.
pub(crate) const MAX_QUERY_TERMS: usize = 32;
/// Weight of a synonym relative to a literal query term.
pub(crate) const SYNONYM_WEIGHT: f64 = 0.4;

/// One term to look up and how much its matches count.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QueryTerm {
    pub term: String,
    pub weight: f64,
}

/// Analyzes `query` into distinct weighted terms, literal terms first.
pub(crate) fn query_terms(query: &str) -> Vec<QueryTerm> {
    let mut literal = tokenize(query, Mode::Text, MAX_QUERY_TERMS);
    if literal.is_empty() {
        literal = tokenize(query, Mode::Identifier, MAX_QUERY_TERMS);
    }
    let mut terms: Vec<QueryTerm> = Vec::with_capacity(literal.len() * 3);
    for term in &literal {
        add(&mut terms, term, 1.0);
    }
    for term in &literal {
        for synonym in related(term) {
            add(&mut terms, synonym, SYNONYM_WEIGHT);
        }
    }
    terms
}

/// Adds `term` unless present; a repeated term keeps its first weight.
fn add(terms: &mut Vec<QueryTerm>, term: &str, weight: f64) {
    if !terms.iter().any(|t| t.term == term) {
        terms.push(QueryTerm {
            term: term.to_string(),
            weight,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_QUERY_TERMS, SYNONYM_WEIGHT, query_terms};

    #[test]
    fn literal_terms_come_first_and_are_distinct() {
        let terms = query_terms("remove the files, files!");
        assert_eq!(terms[0].term, "remov");
        assert_eq!(terms[1].term, "fil");
        assert_eq!(terms.iter().filter(|t| t.term == "fil").count(), 1);
        assert!(
            terms
                .iter()
                .any(|t| t.term == "delet" && t.weight == SYNONYM_WEIGHT)
        );
    }

    #[test]
    fn synonyms_never_override_literals() {
        let terms = query_terms("delete remove");
        assert!(
            terms
                .iter()
                .filter(|t| t.term == "delet" || t.term == "remov")
                .all(|t| t.weight == 1.0)
        );
    }

    #[test]
    fn stop_word_only_queries_survive() {
        let terms = query_terms("get me");
        assert!(terms.iter().any(|t| t.term == "get"));
        let terms = query_terms("me");
        assert_eq!(terms[0].term, "me");
    }

    #[test]
    fn blank_and_hostile_queries_are_bounded() {
        assert!(query_terms("").is_empty());
        assert!(query_terms(" \t ").is_empty());
        assert!(query_terms("🔥🔥").is_empty());
        let huge = (0..10_000)
            .map(|i| format!("w{i}x"))
            .collect::<Vec<_>>()
            .join(" ");
        let literal = query_terms(&huge)
            .iter()
            .filter(|t| t.weight == 1.0)
            .count();
        assert!(literal <= MAX_QUERY_TERMS);
    }
}
