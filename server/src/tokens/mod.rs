//! Token accounting: how many tokens (OpenAI's `cl100k_base`, the Go original's encoding)
//! agents receive through the proxy, and what listing every upstream tool would cost them.
//!
//! Counting is off the request path: answers go to one counting thread over a bounded
//! channel ([`TokenMeter::observe`] never blocks; an answer that finds the channel full is
//! not counted and shows up as `uncounted`). The thread gathers answers for a few
//! milliseconds after the first of a batch, so a busy proxy does not wake it per answer
//! (a wake-up per call cost the c=16 throughput). The thread adds each answer to its kind's tally
//! and to its session's total, which it writes to storage in batches. A server's catalogue
//! cost is counted once per catalogue change (the catalogue `Arc` is the cache key).
//! An answer over 1 MiB of JSON is counted exactly up to there and extrapolated.
//!
//! The tokenizer's tables are compiled into the binary (`tiktoken-rs` embeds them); nothing
//! is downloaded.

mod meter;

pub use meter::{Catalogue, Kind, Tally, TokenMeter, TokenTotals};

/// The encoding every count uses.
pub const ENCODING: &str = "cl100k_base";

/// The model the encoding is named after, as the Go original reports it.
pub const MODEL: &str = "gpt-4";

/// Tokens of `text` in [`ENCODING`] (special-token text counts as ordinary text).
pub fn count(text: &str) -> u64 {
    let bpe = tiktoken_rs::cl100k_base_singleton();
    u64::try_from(bpe.encode_ordinary(text).len()).unwrap_or(u64::MAX)
}

/// Texts longer than this (bytes) are counted up to here and the rest estimated at the
/// same rate, so one huge answer cannot hold the counting thread for long.
const EXACT_UP_TO: usize = 1 << 20;

/// Tokens of `value` as compact JSON (as it goes over the wire).
pub fn count_json<T: serde::Serialize + ?Sized>(value: &T) -> u64 {
    serde_json::to_string(value).map_or(0, |text| count_long(&text))
}

/// [`count`], exact up to [`EXACT_UP_TO`] bytes and extrapolated past it.
fn count_long(text: &str) -> u64 {
    if text.len() <= EXACT_UP_TO {
        return count(text);
    }
    let mut cut = EXACT_UP_TO;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = count(&text[..cut]);
    let scaled = (head as f64 * text.len() as f64 / cut as f64).round();
    scaled as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        // Reference counts of cl100k_base.
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert!(
            count("<|endoftext|>") > 1,
            "special tokens are plain text here"
        );
        assert_eq!(
            count_json(&serde_json::json!({"a": 1})),
            count(r#"{"a":1}"#)
        );
    }

    #[test]
    fn a_huge_text_is_estimated_closely() {
        let long = "word ".repeat(EXACT_UP_TO / 5 * 3);
        let estimate = count_long(&long);
        let exact = count(&long);
        assert!(
            estimate.abs_diff(exact) * 100 <= exact,
            "{estimate} vs {exact}"
        );
    }
}
