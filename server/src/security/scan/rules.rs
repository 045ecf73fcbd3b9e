//! The rules on one field: hidden characters and look-alike words, phrase patterns (prompt
//! injection, concealment, role changes, instructions addressed to the model), secrets
//! asked for together with a verb that moves them, data sent to raw IPs or mail addresses,
//! shell payloads, instruction tags, and text pushed out of view.

use super::context;
use super::lexicon as lx;
use super::normalise::{Folded, Hidden};
use super::phrase::{Lazy, any_in};
use super::{Category, Field, Finding, LONG_DESCRIPTION_CHARS, Tier};

/// One phrase rule.
struct PhraseRule {
    id: &'static str,
    category: Category,
    tier: Tier,
    reason: &'static str,
    /// Whether a quoted or example use lowers it to review.
    lowerable: bool,
}

static PHRASE_RULES: &[PhraseRule] = &[
    PhraseRule {
        id: "injection.override",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "tells the model to ignore its instructions",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.role",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "gives the model a new role or rule set",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.conceal",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "asks to hide something from the user",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.conceal",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "asks to keep the user unaware",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.stealth",
        category: Category::PromptInjection,
        tier: Tier::Review,
        reason: "asks to act quietly or secretly",
        lowerable: true,
    },
    PhraseRule {
        id: "shadowing.every_tool",
        category: Category::Shadowing,
        tier: Tier::Block,
        reason: "steers how the model uses every other tool",
        lowerable: false,
    },
];

static PHRASES: Lazy = Lazy::new(&[
    lx::OVERRIDE,
    lx::ROLE,
    lx::CONCEAL,
    lx::CONCEAL_USER,
    lx::STEALTH,
    lx::EVERY_TOOL,
]);
static ADDRESSED: Lazy = Lazy::new(&[lx::ADDRESSED]);
static SECRET_WORDS: Lazy = Lazy::new(&[&[super::phrase::step(0, lx::SECRET_WORDS)]]);

/// Hidden characters and mixed-script words.
pub(super) fn hidden(f: &Folded, field: &Field<'_>, found: &mut Vec<Finding>) {
    let kinds = [
        Hidden::Tag,
        Hidden::BidiControl,
        Hidden::ZeroWidth,
        Hidden::PrivateUse,
        Hidden::DirectionMark,
        Hidden::SoftHyphen,
        Hidden::VariationSelector,
        Hidden::Control,
    ];
    for kind in kinds {
        let chars: Vec<_> = f
            .hidden
            .iter()
            .filter(|h| h.kind == kind && !h.benign)
            .collect();
        let (Some(first), Some(last)) = (chars.first(), chars.last()) else {
            continue;
        };
        let inside_word = chars.iter().any(|h| {
            let before = field.text[..h.at].chars().next_back();
            let after = field.text[h.at + h.ch.len_utf8()..].chars().next();
            before.is_some_and(char::is_alphanumeric) && after.is_some_and(char::is_alphanumeric)
        });
        let tier = match kind {
            Hidden::Tag | Hidden::BidiControl => Tier::Block,
            Hidden::ZeroWidth if inside_word => Tier::Block,
            _ => Tier::Review,
        };
        let mut points: Vec<String> = chars
            .iter()
            .map(|h| format!("U+{:04X}", h.ch as u32))
            .collect();
        points.dedup();
        points.truncate(5);
        let where_ = if inside_word { " inside words" } else { "" };
        found.push(Finding::new(
            Category::UnicodeSmuggling,
            tier,
            "unicode.hidden",
            field,
            (first.at, last.at + last.ch.len_utf8()),
            format!(
                "contains {} characters{where_} ({})",
                kind.label(),
                points.join(", ")
            ),
        ));
    }
    for t in f.tokens.iter().filter(|t| t.mixed_script) {
        found.push(Finding::new(
            Category::UnicodeSmuggling,
            Tier::Review,
            "unicode.homoglyph",
            field,
            f.span(t.start, t.end),
            "mixes Latin with Cyrillic or Greek look-alike letters".to_string(),
        ));
    }
}

/// The text rules. Returns whether the field addresses the model directly.
pub(super) fn text(f: &Folded, field: &Field<'_>, found: &mut Vec<Finding>) -> bool {
    let addressed_hits = ADDRESSED.get().find(f);
    let addressed = !addressed_hits.is_empty();
    for (_, hit) in &addressed_hits {
        found.push(Finding::new(
            Category::ToolPoisoning,
            Tier::Review,
            context::ADDRESSED_RULE,
            field,
            token_span(f, hit.first, hit.end),
            "addresses the model with instructions".to_string(),
        ));
    }
    for (p, hit) in PHRASES.get().find(f) {
        let rule = &PHRASE_RULES[p];
        let start = f.tokens[hit.first].start;
        let example = rule.lowerable && !addressed && context::is_example(f, hit.first, start);
        let (tier, note) = match example {
            true => (Tier::Review, " (quoted or given as an example)"),
            false => (rule.tier, ""),
        };
        found.push(Finding::new(
            rule.category,
            tier,
            rule.id,
            field,
            token_span(f, hit.first, hit.end),
            format!("{}{note}", rule.reason),
        ));
    }
    secrets(f, field, addressed, found);
    shell(f, field, found);
    tags(f, field, addressed, found);
    addressed
}

fn token_span(f: &Folded, first: usize, end: usize) -> (usize, usize) {
    let end = end.max(first + 1).min(f.tokens.len());
    f.span(f.tokens[first].start, f.tokens[end - 1].end)
}

/// Sentence of the folded byte `at`.
fn sentence_at(f: &Folded, at: usize) -> u32 {
    f.tokens
        .iter()
        .find(|t| t.end > at)
        .or(f.tokens.last())
        .map_or(0, |t| t.sentence)
}

/// Occurrences of `needle` in the folded text: (start, end) in folded bytes.
fn occurrences<'a>(f: &'a Folded, needle: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let text = if f.may_contain(needle) {
        f.text.as_str()
    } else {
        ""
    };
    text.match_indices(needle)
        .map(move |(i, m)| (i, i + m.len()))
}

/// Secrets asked for, and data sent to raw IPs or mail addresses.
fn secrets(f: &Folded, field: &Field<'_>, addressed: bool, found: &mut Vec<Finding>) {
    let text = f.text.as_str();
    // (folded start, end, sentence, is a file path)
    let mut secret: Vec<(usize, usize, u32, bool)> = Vec::new();
    for p in lx::SECRET_PATHS {
        for (s, e) in occurrences(f, p) {
            // `.env` but not `.environment`; `.env.example` still names the file.
            if *p == ".env" && text[e..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            secret.push((s, e, sentence_at(f, s), true));
        }
    }
    // `~/.ssh/id_rsa` is one mention, not three.
    secret.sort_unstable();
    secret.dedup_by(|next, kept| {
        let joins = next.0 <= kept.1;
        if joins {
            kept.1 = kept.1.max(next.1);
        }
        joins
    });
    for (_, hit) in SECRET_WORDS.get().find(f) {
        let t = &f.tokens[hit.first];
        secret.push((t.start, f.tokens[hit.end - 1].end, t.sentence, false));
    }
    if f.may_contain("_") {
        for (i, t) in f.tokens.iter().enumerate() {
            if lx::SECRET_SUFFIXES.iter().any(|s| f.word(i).ends_with(s)) {
                secret.push((t.start, t.end, t.sentence, false));
            }
        }
    }
    let verbs: Vec<u32> = f
        .tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| lx::TRANSFER.contains(&f.word(*i)))
        .map(|(_, t)| t.sentence)
        .collect();
    let destinations = destinations(f);
    let has_verb = |s: u32| verbs.contains(&s);
    let param_ref = |s: u32| {
        field.param
            || f.tokens
                .iter()
                .enumerate()
                .any(|(i, t)| t.sentence == s && lx::PARAM_WORDS.contains(&f.word(i)))
            || text
                .char_indices()
                .any(|(b, c)| c == '`' && sentence_at(f, b) == s)
    };
    let mut reported_sentences = Vec::new();
    for &(s, e, sentence, path) in &secret {
        let span = f.span(s, e);
        let to_somewhere = destinations.iter().any(|d| d.2 == sentence);
        if has_verb(sentence) && (param_ref(sentence) || to_somewhere || addressed) {
            if !reported_sentences.contains(&sentence) {
                reported_sentences.push(sentence);
                found.push(Finding::new(
                    Category::ToolPoisoning,
                    Tier::Block,
                    "secrets.exfiltrate",
                    field,
                    span,
                    "asks to read or send secrets or agent configuration".to_string(),
                ));
            }
        } else if path {
            let example = context::is_example_at(f, s);
            found.push(Finding::new(
                Category::ToolPoisoning,
                Tier::Review,
                "secrets.mention",
                field,
                span,
                format!(
                    "mentions sensitive data{}",
                    if example { " (as an example)" } else { "" }
                ),
            ));
        }
    }
    for &(s, e, sentence, raw) in &destinations {
        let span = f.span(s, e);
        if has_verb(sentence) && (raw || !secret.is_empty()) {
            found.push(Finding::new(
                Category::ToolPoisoning,
                Tier::Block,
                "exfiltration.destination",
                field,
                span,
                "sends data to a raw IP address or a mail address".to_string(),
            ));
        } else if raw {
            found.push(Finding::new(
                Category::ToolPoisoning,
                Tier::Review,
                "exfiltration.destination",
                field,
                span,
                "points at a raw IP address or a mail address".to_string(),
            ));
        }
    }
}

/// URLs and mail addresses: (folded start, end, sentence, raw IP or mail address).
fn destinations(f: &Folded) -> Vec<(usize, usize, u32, bool)> {
    let text = f.text.as_str();
    let mut out = Vec::new();
    for scheme in ["http://", "https://"] {
        for (s, e) in occurrences(f, scheme) {
            let rest = &text[e..];
            let host_end = rest
                .find(|c: char| c == '/' || c == ':' || c.is_whitespace())
                .unwrap_or(rest.len());
            let host = &rest[..host_end];
            let raw = host.split('.').count() == 4
                && host
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            let end = e + rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push((s, end, sentence_at(f, s), raw));
        }
    }
    for (at, _) in text.match_indices('@') {
        let local = text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        let domain_len = text[at + 1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(text.len() - at - 1);
        let domain = text[at + 1..at + 1 + domain_len].trim_end_matches('.');
        if local && domain.contains('.') {
            let start = text[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || "._-+".contains(c)))
                .map_or(0, |i| i + 1);
            out.push((start, at + 1 + domain.len(), sentence_at(f, at), true));
        }
    }
    out
}

/// Download-and-run pipelines, reverse shells, destructive commands.
fn shell(f: &Folded, field: &Field<'_>, found: &mut Vec<Finding>) {
    let text = f.text.as_str();
    for p in lx::SHELL {
        if let Some((s, e)) = occurrences(f, p).next() {
            found.push(Finding::new(
                Category::ToolPoisoning,
                Tier::Block,
                "shell.payload",
                field,
                f.span(s, e),
                "contains a shell payload (reverse shell, destructive or obfuscated command)"
                    .to_string(),
            ));
        }
    }
    for fetcher in lx::FETCHERS {
        for (s, _) in occurrences(f, fetcher) {
            let line_end = text[s..].find('\n').map_or(text.len(), |i| s + i);
            let Some(pipe) = text[s..line_end].find('|') else {
                continue;
            };
            let after = text[s + pipe + 1..line_end].trim_start();
            let word: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if lx::INTERPRETERS.contains(&word.as_str()) {
                let e = s + pipe + 1 + (line_end - s - pipe - 1 - after.len()) + word.len();
                found.push(Finding::new(
                    Category::ToolPoisoning,
                    Tier::Block,
                    "shell.pipe",
                    field,
                    f.span(s, e),
                    "pipes a download into a shell".to_string(),
                ));
            }
        }
    }
}

/// Instruction tags (`<IMPORTANT>…</IMPORTANT>`, `{{ system }}`, `[hidden]`, chat-template
/// turns): a pair wraps text aimed at the model (block); a lone mention is for review.
fn tags(f: &Folded, field: &Field<'_>, addressed: bool, found: &mut Vec<Finding>) {
    let b = f.text.as_bytes();
    let skip = |mut j: usize, extra: &[u8]| {
        while j < b.len() && (b[j] == b' ' || extra.contains(&b[j])) {
            j += 1;
        }
        j
    };
    let word_at = |j: usize| {
        let e = (j..b.len())
            .find(|&k| !(b[k].is_ascii_alphabetic() || b[k] == b'_'))
            .unwrap_or(b.len());
        (&f.text[j..e], e)
    };
    // (kind, name, folded start, folded end, closing)
    let mut marks: Vec<(u8, &str, usize, usize, bool)> = Vec::new();
    for i in 0..b.len() {
        let kind = b[i];
        if !matches!(kind, b'<' | b'[' | b'{') {
            continue;
        }
        let mut j = i + 1;
        if kind == b'{' {
            if b.get(j) != Some(&b'{') {
                continue;
            }
            j += 1;
        }
        j = skip(j, b"|");
        let closing = b.get(j) == Some(&b'/');
        if closing {
            j = skip(j + 1, b"");
        }
        let (name, e) = word_at(j);
        if name == "im_start" {
            let (role, re) = word_at(skip(e, b"|>\n"));
            let (tier, why) = match role {
                "system" => (Tier::Block, "opens a chat-template system turn"),
                _ => (Tier::Review, "contains a chat-template token"),
            };
            found.push(Finding::new(
                Category::PromptInjection,
                tier,
                "tags.chat_template",
                field,
                f.span(i, re),
                why.to_string(),
            ));
            continue;
        }
        if lx::TAG_NAMES.contains(&name) {
            marks.push((kind, name, i, e, closing));
        }
    }
    let mut reported: Vec<&str> = Vec::new();
    for &(kind, name, s, e, closing) in &marks {
        if closing || reported.contains(&name) {
            continue;
        }
        reported.push(name);
        let paired = match kind {
            b'{' => f.text[e..].contains("}}"),
            _ => marks.iter().any(|m| m.4 && m.1 == name && m.2 > s),
        };
        let example = !addressed && context::is_example_at(f, s);
        let tier = if paired && !example {
            Tier::Block
        } else {
            Tier::Review
        };
        let why = if paired {
            "wraps text in an instruction tag aimed at the model"
        } else {
            "mentions an instruction tag"
        };
        found.push(Finding::new(
            Category::ToolPoisoning,
            tier,
            "tags.instruction",
            field,
            f.span(s, e),
            why.to_string(),
        ));
    }
    for p in lx::BREAKOUT {
        if let Some((s, e)) = occurrences(f, p).next() {
            found.push(Finding::new(
                Category::PromptInjection,
                Tier::Block,
                "tags.breakout",
                field,
                f.span(s, e),
                "closes the tool description early to inject text".to_string(),
            ));
        }
    }
}

/// Text pushed out of view: very long descriptions, long runs of line breaks or spaces.
pub(super) fn presentation(field: &Field<'_>, found: &mut Vec<Finding>) {
    let chars = field.text.chars().count();
    if chars > LONG_DESCRIPTION_CHARS {
        found.push(Finding::new(
            Category::ToolPoisoning,
            Tier::Review,
            "presentation.long",
            field,
            (0, 0),
            format!("is unusually long ({chars} characters; over {LONG_DESCRIPTION_CHARS})"),
        ));
    }
    for (what, is, min) in [
        ("line breaks", &['\n', '\r'][..], 20),
        ("spaces", &[' ', '\t'][..], 200),
    ] {
        if let Some((s, e, n)) = longest_run(field.text, |c| is.contains(&c)).filter(|r| r.2 >= min)
        {
            found.push(Finding::new(
                Category::ToolPoisoning,
                Tier::Review,
                "presentation.padding",
                field,
                (s, e),
                format!("contains {n} consecutive {what} (text pushed out of view)"),
            ));
        }
    }
}

/// The longest run of characters matching `pred`: (start byte, end byte, count).
fn longest_run(text: &str, pred: impl Fn(char) -> bool) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    let mut current: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        if pred(c) {
            let (s, n) = current.unwrap_or((i, 0));
            current = Some((s, n + 1));
            if best.is_none_or(|b| n + 1 > b.2) {
                best = Some((s, i + c.len_utf8(), n + 1));
            }
        } else {
            current = None;
        }
    }
    best
}

/// Whether `alts` occur in the sentence of token `i`, within `window` tokens before it.
pub(super) fn before(f: &Folded, alts: &[&str], i: usize, window: usize) -> bool {
    let sentence = f.tokens[i].sentence;
    any_in(f, alts, i.saturating_sub(window), i, sentence)
}
