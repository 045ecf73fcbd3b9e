//! The inverted index: term -> postings (tool id + per-field term counts),
//! plus per-tool field lengths and the running totals behind avgdl.
//!
//! Postings lists are kept sorted by [`DocId`]. Tools are added and removed
//! in batches (a server at a time) with one pass over each touched postings
//! list, and the collection statistics are updated in O(1) per tool:
//! replacing one server never rescans the others.
//! Invariant: a term is present iff its postings list is non-empty, and every
//! posting refers to a live tool whose `lens` entry is set.

use std::collections::HashMap;

use super::bm25::CollectionStats;
use super::fields::{FIELD_COUNT, FieldTokens};

/// Dense tool identifier; slots are reused after removal.
pub(crate) type DocId = u32;

/// One tool's occurrences of one term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Posting {
    pub doc: DocId,
    /// Occurrences per field, saturating.
    pub tf: [u16; FIELD_COUNT],
}

/// Term postings and length statistics.
#[derive(Debug, Default)]
pub(crate) struct InvertedIndex {
    postings: HashMap<Box<str>, Vec<Posting>>,
    /// Field lengths per tool, indexed by [`DocId`]; all zero for free slots.
    lens: Vec<[u32; FIELD_COUNT]>,
    total_len: [u64; FIELD_COUNT],
    doc_count: usize,
}

impl InvertedIndex {
    /// Indexes each `(doc, fields)` pair and returns each tool's distinct
    /// terms (in input order), which [`Self::remove_batch`] needs later. No
    /// `doc` may be indexed already. Cost is one pass over each touched
    /// postings list, however many tools share a term.
    pub(crate) fn insert_batch(&mut self, docs: &[(DocId, FieldTokens)]) -> Vec<Vec<Box<str>>> {
        let mut pending: HashMap<&str, Vec<Posting>> = HashMap::new();
        let mut all_terms = Vec::with_capacity(docs.len());
        for (doc, fields) in docs {
            let (counts, lens) = count_terms(fields);
            self.set_lens(*doc, lens);
            let mut terms = Vec::with_capacity(counts.len());
            for (term, tf) in counts {
                pending
                    .entry(term)
                    .or_default()
                    .push(Posting { doc: *doc, tf });
                terms.push(Box::from(term));
            }
            all_terms.push(terms);
        }
        for (term, mut added) in pending {
            added.sort_unstable_by_key(|p| p.doc);
            let list = self.postings.entry(Box::from(term)).or_default();
            let in_order = match (list.last(), added.first()) {
                (Some(last), Some(first)) => last.doc < first.doc,
                _ => true,
            };
            list.extend(added);
            if !in_order {
                // Two sorted runs: the stable sort merges them in linear time.
                list.sort_by_key(|p| p.doc);
            }
        }
        all_terms
    }

    /// Un-indexes each `(doc, terms)` pair, `terms` being what
    /// [`Self::insert_batch`] returned for it. One pass per touched list.
    pub(crate) fn remove_batch(&mut self, docs: &[(DocId, &[Box<str>])]) {
        let mut by_term: HashMap<&str, Vec<DocId>> = HashMap::new();
        for (doc, terms) in docs {
            for term in terms.iter() {
                by_term.entry(term).or_default().push(*doc);
            }
            self.clear_lens(*doc);
        }
        for (term, mut ids) in by_term {
            let Some(list) = self.postings.get_mut(term) else {
                continue;
            };
            ids.sort_unstable();
            list.retain(|p| ids.binary_search(&p.doc).is_err());
            if list.is_empty() {
                self.postings.remove(term);
            }
        }
    }

    fn set_lens(&mut self, doc: DocId, lens: [u32; FIELD_COUNT]) {
        let slot = doc as usize;
        if self.lens.len() <= slot {
            self.lens.resize(slot + 1, [0; FIELD_COUNT]);
        }
        if let Some(entry) = self.lens.get_mut(slot) {
            *entry = lens;
        }
        for (total, len) in self.total_len.iter_mut().zip(lens) {
            *total += u64::from(len);
        }
        self.doc_count += 1;
    }

    fn clear_lens(&mut self, doc: DocId) {
        if let Some(entry) = self.lens.get_mut(doc as usize) {
            for (total, len) in self.total_len.iter_mut().zip(*entry) {
                *total = total.saturating_sub(u64::from(len));
            }
            *entry = [0; FIELD_COUNT];
            self.doc_count = self.doc_count.saturating_sub(1);
        }
    }

    /// The postings of `term`, sorted by tool id; empty if unknown.
    pub(crate) fn postings(&self, term: &str) -> &[Posting] {
        self.postings.get(term).map_or(&[], Vec::as_slice)
    }

    /// Field lengths of tool `doc`.
    pub(crate) fn lens(&self, doc: DocId) -> [u32; FIELD_COUNT] {
        self.lens.get(doc as usize).copied().unwrap_or_default()
    }

    /// Current document count and average field lengths.
    pub(crate) fn stats(&self) -> CollectionStats {
        let n = self.doc_count.max(1) as f64;
        CollectionStats {
            doc_count: self.doc_count,
            avg_len: self.total_len.map(|total| total as f64 / n),
        }
    }

    /// Number of distinct terms.
    #[cfg(test)]
    pub(crate) fn vocabulary_len(&self) -> usize {
        self.postings.len()
    }
}

/// Per-term field counts and per-field lengths of one tool.
fn count_terms(fields: &FieldTokens) -> (HashMap<&str, [u16; FIELD_COUNT]>, [u32; FIELD_COUNT]) {
    let mut counts: HashMap<&str, [u16; FIELD_COUNT]> = HashMap::new();
    let mut lens = [0u32; FIELD_COUNT];
    for (f, tokens) in fields.iter().enumerate() {
        lens[f] = u32::try_from(tokens.len()).unwrap_or(u32::MAX);
        for token in tokens {
            let tf = counts.entry(token.as_str()).or_default();
            tf[f] = tf[f].saturating_add(1);
        }
    }
    (counts, lens)
}

#[cfg(test)]
mod tests {
    use super::InvertedIndex;
    use crate::index::fields::FieldTokens;

    fn fields(name: &[&str], description: &[&str]) -> FieldTokens {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        [owned(name), vec!["srv".into()], owned(description), vec![]]
    }

    #[test]
    fn insert_and_remove_keep_stats_exact() {
        let mut index = InvertedIndex::default();
        let terms = index.insert_batch(&[
            (0, fields(&["get", "user"], &["user", "profil"])),
            (1, fields(&["list", "user"], &[])),
        ]);
        assert_eq!(index.postings("user").len(), 2);
        assert_eq!(index.postings("user")[0].tf, [1, 0, 1, 0]);
        assert_eq!(index.stats().doc_count, 2);
        assert_eq!(index.stats().avg_len, [2.0, 1.0, 1.0, 0.0]);

        index.remove_batch(&[(0, &terms[0])]);
        assert_eq!(index.postings("user").len(), 1);
        assert!(index.postings("profil").is_empty());
        assert_eq!(index.stats().avg_len, [2.0, 1.0, 0.0, 0.0]);

        index.remove_batch(&[(1, &terms[1])]);
        assert_eq!(index.vocabulary_len(), 0);
        assert_eq!(index.stats().doc_count, 0);
    }

    #[test]
    fn postings_stay_sorted_with_reused_ids() {
        let mut index = InvertedIndex::default();
        index.insert_batch(&[(5, fields(&["x"], &[])), (1, fields(&["x"], &[]))]);
        let terms = index.insert_batch(&[(3, fields(&["x"], &[])), (0, fields(&["x"], &[]))]);
        let ids: Vec<u32> = index.postings("x").iter().map(|p| p.doc).collect();
        assert_eq!(ids, [0, 1, 3, 5]);
        index.remove_batch(&[(3, &terms[0]), (0, &terms[1])]);
        let ids: Vec<u32> = index.postings("x").iter().map(|p| p.doc).collect();
        assert_eq!(ids, [1, 5]);
    }
}
