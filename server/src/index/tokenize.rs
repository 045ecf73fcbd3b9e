//! Tokenizer: turns tool names, descriptions, schema text and queries into
//! index terms.
//!
//! Lowercases; splits on every non-alphanumeric character (`_ - . / :`,
//! spaces, emoji, punctuation) and inside words at camelCase / PascalCase and
//! letter-digit boundaries (`getUserID` -> get, user, id; `createIssue2` ->
//! create, issue, 2); drops English stop words in [`Mode::Text`]; stems with
//! [`super::stem`]. Output is a pure function of the input and is bounded:
//! at most `max_tokens` terms of at most [`MAX_TOKEN_CHARS`] characters each.

use super::stem::stem_in_place;

/// Longer alphanumeric runs (hashes, base64 blobs) are cut to this many chars.
pub(crate) const MAX_TOKEN_CHARS: usize = 40;

/// Words carrying no search signal in prose and queries.
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "by", "can", "could", "do",
    "does", "for", "from", "give", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "let", "me", "my", "of", "on", "or", "our", "please", "should", "so", "some", "than",
    "that", "the", "their", "them", "then", "there", "these", "this", "those", "to", "us", "via",
    "want", "was", "we", "were", "what", "when", "which", "will", "with", "would", "you", "your",
];

/// Whether stop words are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Prose and queries: stop words are dropped.
    Text,
    /// Identifiers (tool, server and parameter names): every word is kept.
    Identifier,
}

/// Tokenizes `text` into at most `max_tokens` terms, in order of appearance.
pub(crate) fn tokenize(text: &str, mode: Mode, max_tokens: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut chars = text.chars();
    while tokens.len() < max_tokens {
        let next = chars.next();
        match next {
            Some(c) if c.is_alphanumeric() => run.push(c),
            _ => {
                split_run(&run, mode, max_tokens, &mut tokens);
                run.clear();
                if next.is_none() {
                    break;
                }
            }
        }
    }
    tokens
}

/// Whether `word` (lowercase, unstemmed) is a stop word.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// Splits one alphanumeric run at case and letter-digit boundaries.
fn split_run(run: &[char], mode: Mode, max_tokens: usize, out: &mut Vec<String>) {
    let mut start = 0;
    for i in 1..=run.len() {
        if i == run.len() || is_boundary(run, i) {
            if out.len() >= max_tokens {
                return;
            }
            if let Some(piece) = run.get(start..i) {
                push_word(piece, mode, out);
            }
            start = i;
        }
    }
}

/// Whether a new word starts at `run[i]` (`0 < i < run.len()`).
fn is_boundary(run: &[char], i: usize) -> bool {
    let (Some(&prev), Some(&cur)) = (run.get(i.wrapping_sub(1)), run.get(i)) else {
        return false;
    };
    if prev.is_numeric() != cur.is_numeric() {
        return true;
    }
    if prev.is_lowercase() && cur.is_uppercase() {
        return true;
    }
    // "HTTPServer": the last capital of an acronym starts the next word.
    prev.is_uppercase() && cur.is_uppercase() && run.get(i + 1).is_some_and(|c| c.is_lowercase())
}

fn push_word(piece: &[char], mode: Mode, out: &mut Vec<String>) {
    let mut word: String = piece
        .iter()
        .flat_map(|c| c.to_lowercase())
        .take(MAX_TOKEN_CHARS)
        .collect();
    if word.is_empty() || (mode == Mode::Text && is_stop_word(&word)) {
        return;
    }
    stem_in_place(&mut word);
    out.push(word);
}

#[cfg(test)]
mod tests {
    use super::{MAX_TOKEN_CHARS, Mode, STOP_WORDS, tokenize};

    fn text(s: &str) -> Vec<String> {
        tokenize(s, Mode::Text, 1000)
    }

    fn ident(s: &str) -> Vec<String> {
        tokenize(s, Mode::Identifier, 1000)
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn splits_camel_case_and_digits() {
        assert_eq!(ident("getUserID"), ["get", "user", "id"]);
        assert_eq!(ident("createIssue2"), ["creat", "issu", "2"]);
        assert_eq!(ident("HTTPServer"), ["http", "server"]);
        assert_eq!(ident("s3PutObject"), ["s", "3", "put", "object"]);
    }

    #[test]
    fn splits_on_separators() {
        assert_eq!(ident("slack_post_message"), ["slack", "post", "messag"]);
        assert_eq!(ident("get-tiny-image"), ["get", "tiny", "imag"]);
        assert_eq!(
            ident("github:list.branches/x y"),
            ["github", "list", "branch", "x", "y"]
        );
    }

    #[test]
    fn drops_stop_words_only_in_text_mode() {
        assert_eq!(
            text("List the files in a directory"),
            ["list", "fil", "directory"]
        );
        assert_eq!(ident("get_me"), ["get", "me"]);
        assert_eq!(text("get_me"), ["get"]);
    }

    #[test]
    fn stems_queries_and_names_alike() {
        assert_eq!(text("listing created issues"), ident("list_create_issue"));
    }

    #[test]
    fn handles_unicode_and_hostile_input() {
        assert_eq!(text("🚀🔥 ✨"), Vec::<String>::new());
        assert_eq!(text("Ünïcödé ÉCOLE"), ["ünïcödé", "école"]);
        assert_eq!(text("日本語のテキスト"), ["日本語のテキスト"]);
        let long = "x".repeat(10_000);
        assert_eq!(text(&long), ["x".repeat(MAX_TOKEN_CHARS)]);
        let many = "word ".repeat(100_000);
        assert_eq!(tokenize(&many, Mode::Text, 7).len(), 7);
        assert!(text("").is_empty());
        assert!(text("  \t\n ").is_empty());
    }
}
