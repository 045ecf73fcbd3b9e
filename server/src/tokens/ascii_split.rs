//! `cl100k_base`'s pre-tokenisation of ASCII text, by hand. The tokenizer splits a text with
//! a regex (contractions, words with one leading non-letter, up to three digits,
//! punctuation runs, whitespace with look-ahead rules) before encoding each piece; for an
//! echo answer that regex is most of the count's cost. Tool answers are mostly ASCII, where
//! each class is a byte test, so [`split`] walks the bytes instead. It returns exactly the
//! pieces `bpe_openai`'s splitter returns (compared on generated texts in the tests below);
//! text with any non-ASCII byte goes to the tokenizer's own splitter.

/// The pieces of `text`, when it is all ASCII.
pub(super) fn split(text: &str) -> Option<AsciiPieces<'_>> {
    text.is_ascii().then_some(AsciiPieces { text, at: 0 })
}

/// The pieces of an ASCII text, in order.
pub(super) struct AsciiPieces<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for AsciiPieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.at;
        if start >= self.text.len() {
            return None;
        }
        let end = piece_end(self.text.as_bytes(), start);
        self.at = end;
        Some(&self.text[start..end])
    }
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

fn is_digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// `\s` on ASCII: tab, line feed, vertical tab, form feed, carriage return, space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

fn is_newline(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Neither whitespace, letter nor digit (`[^\s\p{L}\p{N}]`).
fn is_other(b: u8) -> bool {
    !is_space(b) && !is_letter(b) && !is_digit(b)
}

/// Where the run of bytes from `from` that satisfy `class` ends.
fn run_end(t: &[u8], from: usize, class: fn(u8) -> bool) -> usize {
    t[from..]
        .iter()
        .position(|&b| !class(b))
        .map_or(t.len(), |n| from + n)
}

/// The length of a contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`, any case)
/// starting at the apostrophe at `i`.
fn contraction(t: &[u8], i: usize) -> Option<usize> {
    let lower = |k: usize| t.get(i + k).map(u8::to_ascii_lowercase);
    match lower(1)? {
        b's' | b't' | b'm' | b'd' => Some(2),
        b'r' | b'v' if lower(2) == Some(b'e') => Some(3),
        b'l' if lower(2) == Some(b'l') => Some(3),
        _ => None,
    }
}

/// Where the piece starting at `i` ends: the first alternative of the pattern that matches
/// there, as the regex takes them in order.
fn piece_end(t: &[u8], i: usize) -> usize {
    let c = t[i];
    let next = t.get(i + 1).copied();
    // '(?i:'s|'t|'re|'ve|'m|'ll|'d)
    if c == b'\''
        && let Some(n) = contraction(t, i)
    {
        return i + n;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if is_letter(c) {
        return run_end(t, i, is_letter);
    }
    if !is_newline(c) && !is_digit(c) && next.is_some_and(is_letter) {
        return run_end(t, i + 1, is_letter);
    }
    // \p{N}{1,3}
    if is_digit(c) {
        return run_end(t, i, is_digit).min(i + 3);
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
    let punctuation = if c == b' ' && next.is_some_and(is_other) {
        Some(i + 1)
    } else {
        is_other(c).then_some(i)
    };
    if let Some(from) = punctuation {
        let end = run_end(t, from, is_other);
        return run_end(t, end, is_newline);
    }
    // Whitespace from here on (every other byte matched above).
    let spaces = run_end(t, i, is_space);
    // \s*[\r\n]+ : up to the last line break of the run.
    if let Some(last) = t[i..spaces].iter().rposition(|&b| is_newline(b)) {
        return i + last + 1;
    }
    // \s+$
    if spaces == t.len() {
        return spaces;
    }
    // \s+\s with its last character given back (\s+(?!\S)), else \s+.
    if spaces - i >= 2 { spaces - 1 } else { spaces }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn theirs(text: &str) -> Vec<&str> {
        bpe_openai::cl100k_base().split(text).collect()
    }

    fn ours(text: &str) -> Vec<&str> {
        split(text).expect("ascii").collect()
    }

    #[test]
    fn splits_as_the_tokenizer_does_on_chosen_texts() {
        let texts = [
            r#"{"content":[{"type":"text","text":"Echo: hello world"}],"isError":false}"#,
            "I'm sure they'll say it's 12345 o'clock, you've I'D 'RE 'Ll 'x",
            "  leading\n\n  trailing  \r\n\tx \t y   \n",
            "a  b\t\tc \n d\r\re   ",
            " !!\n\n? ...\r\nok 1 22 333 4444 55555 a1b2",
            "\x00\x01 \x7f\x1f|~ \u{b}\u{c}x",
            "'",
            " ",
            "\n",
            "x",
        ];
        for text in texts {
            assert_eq!(ours(text), theirs(text), "{text:?}");
        }
    }

    #[test]
    fn splits_as_the_tokenizer_does_on_generated_texts() {
        // Every byte class the pattern tells apart, in random mixes (a fixed seed).
        let alphabet: &[&str] = &[
            "a", "Z", "q", "s", "t", "re", "ve", "ll", "d", "m", "RE", "Ll", "0", "7", "123", " ",
            "  ", "\t", "\n", "\r", "\r\n", "\u{b}", "\u{c}", "'", "\"", "{", "}", ":", ",", ".",
            "!", "-", "_", "\\", "\x00", "\x1f", "\x7f", "~",
        ];
        for text in super::super::generated_texts(alphabet, 20_000, 24) {
            assert_eq!(ours(&text), theirs(&text), "{text:?}");
        }
    }

    #[test]
    fn text_with_other_than_ascii_is_left_to_the_tokenizer() {
        assert!(split("café").is_none());
        assert!(split("cafe").is_some());
    }
}
