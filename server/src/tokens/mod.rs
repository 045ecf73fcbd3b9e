//! Token accounting: how many tokens (OpenAI's `cl100k_base`, the Go original's encoding)
//! agents receive through the proxy, and what listing every upstream tool would cost them.
//!
//! A small answer (up to 512 bytes of JSON) is counted on the spot, so its call's history
//! record is written once with its tokens ([`TokenMeter::count_now`]). Larger ones are
//! counted off the request path: they go to one counting thread over a bounded channel
//! ([`TokenMeter::count_later`] never blocks; an answer that finds the channel full is not
//! counted and shows up as `uncounted`), which writes each count back into its call's
//! record. The thread gathers answers for a few milliseconds after the first of a batch, so
//! a busy proxy does not wake it per answer. Each answer adds to its kind's tally and to its
//! session's total, which the thread writes to storage in batches. A server's catalogue
//! cost is counted once per catalogue change (the catalogue `Arc` is the cache key).
//! An answer over 1 MiB of JSON is counted exactly up to there and extrapolated.
//!
//! The tokenizer is `bpe-openai`, whose counts are tiktoken's (checked against `tiktoken-rs`
//! in the tests below) at a fraction of the CPU; its tables are compiled into the binary,
//! nothing is downloaded. Each thread remembers the counts of the short pieces it has seen
//! (`pieces`): answers repeat them, and a remembered piece costs a hash, not an encoding.

mod ascii_split;
mod meter;
mod pieces;

pub use meter::{Answer, Catalogue, Kind, Tally, TokenMeter, TokenTotals};

/// The encoding every count uses.
pub const ENCODING: &str = "cl100k_base";

/// The model the encoding is named after, as the Go original reports it.
pub const MODEL: &str = "gpt-4";

/// Tokens of `text` in [`ENCODING`] (special-token text counts as ordinary text).
pub fn count(text: &str) -> u64 {
    u64::try_from(pieces::count(text)).unwrap_or(u64::MAX)
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

/// `count` texts of fewer than `longest` parts each, drawn from `parts` by a fixed
/// xorshift sequence (the same texts every run).
#[cfg(test)]
fn generated_texts<'a>(
    parts: &'a [&'a str],
    count: usize,
    longest: u64,
) -> impl Iterator<Item = String> + 'a {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count).map(move |_| {
        let len = next() % longest;
        (0..len)
            .map(|_| parts[(next() % parts.len() as u64) as usize])
            .collect()
    })
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

    /// tiktoken's own count of `text` (special-token text as ordinary text, as ours).
    fn reference(text: &str) -> u64 {
        let bpe = tiktoken_rs::cl100k_base_singleton();
        bpe.encode_ordinary(text).len() as u64
    }

    #[test]
    fn counts_are_tiktokens_on_the_projects_own_texts() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut checked = 0;
        for name in [
            "README.md",
            "docs/architecture.md",
            "oas/swagger.yaml",
            "server/src/tokens/mod.rs",
        ] {
            let text = std::fs::read_to_string(root.join(name)).expect("a project file");
            // Whole files and every seventh line: long runs and short answer-sized texts.
            assert_eq!(count(&text), reference(&text), "{name}");
            for line in text.lines().step_by(7) {
                assert_eq!(count(line), reference(line), "{name}: {line:?}");
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} lines");
    }

    #[test]
    fn counts_are_tiktokens_on_texts_made_of_the_pre_tokenisers_edge_cases() {
        // The pieces the cl100k pattern treats specially: contractions in both cases and a
        // typographic apostrophe, letters of several scripts and combining marks, digit runs
        // (split in threes), every kind of whitespace and line break, and symbols.
        let pieces = [
            "a",
            "Z",
            "é",
            "ß",
            "ǅ",
            "ж",
            "中",
            "日本",
            "🙂",
            "👍🏽",
            "\u{200d}",
            "1",
            "23",
            "٣",
            "Ⅻ",
            "½",
            " ",
            "  ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            "\u{a0}",
            "\u{3000}",
            "\u{2028}",
            "\u{85}",
            "'",
            "'s",
            "'S",
            "'ll",
            "'LL",
            "’s",
            "\"",
            "{",
            "}",
            ":",
            ",",
            "-",
            "!",
            "...",
            "\\",
            "\u{301}",
            "\u{fe0f}",
            "hello",
            "World",
            "<|endoftext|>",
            "€",
            "1234567",
            "\u{feff}",
            "\u{1f}",
        ];
        for text in generated_texts(&pieces, 3_000, 16) {
            assert_eq!(count(&text), reference(&text), "{text:?}");
        }
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
