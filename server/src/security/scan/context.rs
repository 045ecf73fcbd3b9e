//! Context around a match. Quoted or example text ("such as '…'", "detects strings like …",
//! "prompts that ignore …") lowers a finding to `review`: a detector describing an attack is
//! not the attack. An instruction addressed to the model ("before using this tool, read …",
//! "the assistant must …") raises every `review` finding of the same field to `block`.

use super::lexicon as lx;
use super::normalise::Folded;
use super::rules::before;
use super::{Finding, Tier};

/// The rule id of an instruction addressed to the model.
pub const ADDRESSED_RULE: &str = "addressed.model";

/// Whether the phrase starting at token `first` (folded byte `start`) is quoted or given as
/// an example.
pub fn is_example(f: &Folded, first: usize, start: usize) -> bool {
    quoted(f, start)
        || before(f, lx::EXAMPLE_CUES, first, lx::EXAMPLE_WINDOW)
        || before(f, lx::RELATIVE_CUES, first, 1)
}

/// [`is_example`] for a match that starts at folded byte `start` (not necessarily a token).
pub fn is_example_at(f: &Folded, start: usize) -> bool {
    match f.tokens.iter().position(|t| t.end > start) {
        Some(first) => is_example(f, first, start),
        None => quoted(f, start),
    }
}

/// Whether folded byte `at` lies between a pair of `'…'` or `"…"` quotes on one line.
fn quoted(f: &Folded, at: usize) -> bool {
    let text = f.text.as_str();
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    // An apostrophe between letters (`user's`) is not a quote.
    let is_quote = |i: usize, c: char, q: char| {
        c == q
            && (q == '"'
                || !(text[..i]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric)
                    && text[i + 1..]
                        .chars()
                        .next()
                        .is_some_and(char::is_alphanumeric)))
    };
    ['"', '\''].iter().any(|&q| {
        let open = text[line_start..at]
            .char_indices()
            .filter(|(i, c)| is_quote(line_start + i, *c, q))
            .count();
        let close = text[at..line_end]
            .char_indices()
            .any(|(i, c)| is_quote(at + i, c, q));
        open % 2 == 1 && close
    })
}

/// With an instruction addressed to the model, every `review` finding but the address
/// itself becomes `block`.
pub fn raise(addressed: bool, found: &mut [Finding]) {
    if !addressed {
        return;
    }
    for f in found.iter_mut() {
        if f.tier == Tier::Review && f.rule != ADDRESSED_RULE {
            f.tier = Tier::Block;
            f.reason
                .push_str(" (in an instruction addressed to the model)");
        }
    }
}
