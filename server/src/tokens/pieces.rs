//! Token counts of pre-tokenised pieces, remembered per thread. `cl100k_base` splits a text
//! into pieces (words, punctuation runs, spaces) and encodes each on its own, so a text's
//! count is the sum of its pieces' counts, and a piece always counts the same. Answers
//! repeat the same pieces (`{"`, `content`, `":[`, `type`, `text`…); encoding one costs
//! two allocations and a backtracking search, a hit in this table a hash. Exact: a miss is
//! counted by the tokenizer and remembered.

use std::cell::RefCell;
use std::collections::HashMap;

/// Pieces longer than this (bytes) are counted every time: long pieces rarely repeat.
const LONGEST_REMEMBERED: usize = 24;

/// How many pieces a thread remembers; the table starts over when it is full.
const REMEMBERED: usize = 4096;

thread_local! {
    static PIECES: RefCell<HashMap<Box<str>, u32>> = RefCell::new(HashMap::new());
}

/// Tokens of `text` in `cl100k_base`: the sum of its pieces' counts (split by hand when the
/// text is ASCII, see `ascii_split`).
pub(super) fn count(text: &str) -> usize {
    let tokenizer = bpe_openai::cl100k_base();
    let text = tokenizer.normalize(text);
    let text = text.as_str();
    PIECES.with_borrow_mut(|remembered| {
        let mut count = |piece| piece_count(tokenizer, remembered, piece);
        match super::ascii_split::split(text) {
            Some(pieces) => pieces.map(&mut count).sum(),
            None => tokenizer.split(text).map(count).sum(),
        }
    })
}

fn piece_count(
    tokenizer: &bpe_openai::Tokenizer,
    remembered: &mut HashMap<Box<str>, u32>,
    piece: &str,
) -> usize {
    if piece.len() > LONGEST_REMEMBERED {
        return tokenizer.bpe.count(piece.as_bytes());
    }
    if let Some(&count) = remembered.get(piece) {
        return count as usize;
    }
    let count = tokenizer.bpe.count(piece.as_bytes());
    if remembered.len() >= REMEMBERED {
        remembered.clear();
    }
    remembered.insert(piece.into(), u32::try_from(count).unwrap_or(u32::MAX));
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokenizer's own count, piece by piece with nothing remembered.
    fn uncached(text: &str) -> usize {
        bpe_openai::cl100k_base().count(text)
    }

    #[test]
    fn remembered_counts_are_the_tokenizers_through_a_full_table() {
        // More distinct pieces than the table holds (it starts over), long pieces that are
        // never remembered, and every text counted twice (the second time from the table).
        let words: Vec<String> = (0..REMEMBERED + 900)
            .map(|i| format!(" w{i}x{}", "y".repeat(i % 40)))
            .collect();
        for chunk in words.chunks(97) {
            let text = format!("{{\"text\":\"{}\"}}", chunk.concat());
            assert_eq!(count(&text), uncached(&text), "{text}");
            assert_eq!(count(&text), uncached(&text), "again: {text}");
        }
        PIECES.with_borrow(|remembered| {
            assert!(remembered.len() <= REMEMBERED);
            assert!(remembered.keys().all(|k| k.len() <= LONGEST_REMEMBERED));
        });
    }
}
