//! The rules on one field: hidden characters and look-alike words, phrase patterns (prompt
//! injection, concealment, role changes, instructions addressed to the model), secrets
//! asked for together with a verb that moves them, data sent to raw IPs or mail addresses,
//! shell payloads, instruction tags, and text pushed out of view.

use super::context;
use super::lexicon as lx;
use super::needles::{self, Family};
use super::normalise::{Folded, Hidden};
use super::phrase::{Hit, Lazy, WordSet, any_in};
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
    PhraseRule {
        id: "injection.override",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "declares the text before it void",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.override",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "declares the model's rules void",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.role",
        category: Category::PromptInjection,
        tier: Tier::Review,
        reason: "mentions new instructions or rules",
        lowerable: true,
    },
    PhraseRule {
        id: "injection.role",
        category: Category::PromptInjection,
        tier: Tier::Block,
        reason: "hands the model new instructions or rules",
        lowerable: true,
    },
];

/// Index of the stealth rule in [`PHRASE_RULES`] (raised with a verb that moves data).
const STEALTH_RULE: usize = 4;

/// Every word pattern of the text rules, found in one pass: [`PHRASE_RULES`] in order, then
/// the address to the model and the secret words.
static PHRASES: Lazy = Lazy::new(&[
    lx::OVERRIDE,
    lx::ROLE,
    lx::CONCEAL,
    lx::CONCEAL_USER,
    lx::STEALTH,
    lx::EVERY_TOOL,
    lx::VOID_EARLIER,
    lx::RULES_VOID,
    lx::NEW_RULES,
    lx::NEW_RULES_GIVEN,
    lx::ADDRESSED,
    &[super::phrase::step(0, lx::SECRET_WORDS)],
]);
/// Index of the address to the model in [`PHRASES`].
const ADDRESSED: usize = PHRASE_RULES.len();
/// Index of the secret words in [`PHRASES`].
const SECRET_WORDS: usize = ADDRESSED + 1;
static TRANSFER: WordSet = WordSet::new(lx::TRANSFER);
static PARAM_WORDS: WordSet = WordSet::new(lx::PARAM_WORDS);

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
    let phrases = PHRASES.get().find(f);
    let addressed = phrases.iter().any(|(p, _)| *p == ADDRESSED);
    for (_, hit) in phrases.iter().filter(|(p, _)| *p == ADDRESSED) {
        found.push(Finding::new(
            Category::ToolPoisoning,
            Tier::Review,
            context::ADDRESSED_RULE,
            field,
            token_span(f, hit.first, hit.end),
            "addresses the model with instructions".to_string(),
        ));
    }
    for &(p, hit) in &phrases {
        let Some(rule) = PHRASE_RULES.get(p) else {
            continue;
        };
        let start = f.tokens[hit.first].start;
        let example = rule.lowerable && !addressed && context::is_example(f, hit.first, start);
        // "Secretly include …": acting behind the user's back while moving data.
        let sentence = f.tokens[hit.first].sentence;
        let moves_data = p == STEALTH_RULE
            && (0..f.tokens.len()).any(|i| f.tokens[i].sentence == sentence && TRANSFER.has(f, i));
        let (tier, note) = match (example, moves_data) {
            (true, _) => (Tier::Review, " (quoted or given as an example)"),
            (false, true) => (Tier::Block, " while moving data"),
            (false, false) => (rule.tier, ""),
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
    let hits = needles::find(f);
    secrets(f, &hits, &phrases, field, addressed, found);
    shell(f, &hits, field, found);
    tags(f, &hits, field, addressed, found);
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

/// Secrets asked for, and data sent to raw IPs or mail addresses.
fn secrets(
    f: &Folded,
    hits: &[needles::Hit],
    phrases: &[(usize, Hit)],
    field: &Field<'_>,
    addressed: bool,
    found: &mut Vec<Finding>,
) {
    let text = f.text.as_str();
    // (folded start, end, sentence, is a file path)
    let mut secret: Vec<(usize, usize, u32, bool)> = Vec::new();
    for h in needles::of(hits, Family::SecretPath) {
        // `.env` but not `.environment`; `.env.example` still names the file.
        if lx::SECRET_PATHS[h.index] == ".env"
            && text[h.end..].starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            continue;
        }
        secret.push((h.start, h.end, sentence_at(f, h.start), true));
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
    for (_, hit) in phrases.iter().filter(|(p, _)| *p == SECRET_WORDS) {
        let t = &f.tokens[hit.first];
        secret.push((t.start, f.tokens[hit.end - 1].end, t.sentence, false));
    }
    for (i, t) in f.tokens.iter().enumerate() {
        let word = f.word(i);
        if word.contains('_') && lx::SECRET_SUFFIXES.iter().any(|s| word.ends_with(s)) {
            secret.push((t.start, t.end, t.sentence, false));
        }
    }
    let verbs: Vec<u32> = f
        .tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| TRANSFER.has(f, *i))
        .map(|(_, t)| t.sentence)
        .collect();
    let destinations = destinations(f, hits);
    let has_verb = |s: u32| verbs.contains(&s);
    let param_ref = |s: u32| {
        field.param
            || f.tokens
                .iter()
                .enumerate()
                .any(|(i, t)| t.sentence == s && PARAM_WORDS.has(f, i))
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
fn destinations(f: &Folded, hits: &[needles::Hit]) -> Vec<(usize, usize, u32, bool)> {
    let text = f.text.as_str();
    let mut out = Vec::new();
    for &needles::Hit {
        start: s, end: e, ..
    } in needles::of(hits, Family::Scheme)
    {
        {
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

/// A `block` finding at the first occurrence of each needle of `family`.
fn first_of_each(
    f: &Folded,
    hits: &[needles::Hit],
    family: Family,
    field: &Field<'_>,
    (category, rule): (Category, &str),
    reason: &str,
    found: &mut Vec<Finding>,
) {
    let mut last = None;
    for h in needles::of(hits, family) {
        if last.replace(h.index) != Some(h.index) {
            found.push(Finding::new(
                category,
                Tier::Block,
                rule,
                field,
                f.span(h.start, h.end),
                reason.to_string(),
            ));
        }
    }
}

/// Download-and-run pipelines, reverse shells, destructive commands.
fn shell(f: &Folded, hits: &[needles::Hit], field: &Field<'_>, found: &mut Vec<Finding>) {
    let text = f.text.as_str();
    first_of_each(
        f,
        hits,
        Family::Shell,
        field,
        (Category::ToolPoisoning, "shell.payload"),
        "contains a shell payload (reverse shell, destructive or obfuscated command)",
        found,
    );
    for &needles::Hit { start: s, .. } in needles::of(hits, Family::Fetcher) {
        {
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
fn tags(
    f: &Folded,
    hits: &[needles::Hit],
    field: &Field<'_>,
    addressed: bool,
    found: &mut Vec<Finding>,
) {
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
        // A chat-template turn: `<|im_start|>system`, or a special token such as
        // `<|system|>`, `<|user|>`, `<|endoftext|>`; (role, folded end).
        let turn = if name == "im_start" {
            Some(word_at(skip(e, b"|>\n")))
        } else if kind == b'<'
            && b.get(i + 1) == Some(&b'|')
            && b.get(e) == Some(&b'|')
            && !name.is_empty()
        {
            Some((name, (e + 2).min(b.len())))
        } else {
            None
        };
        if let Some((role, end)) = turn {
            let (tier, why) = match role {
                "system" => (Tier::Block, "opens a chat-template system turn"),
                _ => (Tier::Review, "contains a chat-template token"),
            };
            found.push(Finding::new(
                Category::PromptInjection,
                tier,
                "tags.chat_template",
                field,
                f.span(i, end),
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
    first_of_each(
        f,
        hits,
        Family::Breakout,
        field,
        (Category::PromptInjection, "tags.breakout"),
        "closes the tool description early to inject text",
        found,
    );
}

/// Text pushed out of view: very long descriptions, long runs of line breaks or spaces.
pub(super) fn presentation(field: &Field<'_>, found: &mut Vec<Finding>) {
    let text = field.text;
    // A character is at most as many as its bytes: most descriptions need no count.
    if text.len() > LONG_DESCRIPTION_CHARS {
        let chars = text.chars().count();
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
    }
    for (what, is, min) in [
        ("line breaks", &[b'\n', b'\r'][..], 20),
        ("spaces", &[b' ', b'\t'][..], 200),
    ] {
        if let Some((s, e, n)) = longest_run(text.as_bytes(), is).filter(|r| r.2 >= min) {
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

/// The longest run of the (ASCII) bytes `is`: (start byte, end byte, count).
fn longest_run(text: &[u8], is: &[u8]) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    let mut start = None;
    for (i, b) in text.iter().enumerate() {
        if !is.contains(b) {
            start = None;
            continue;
        }
        let s = *start.get_or_insert(i);
        let n = i + 1 - s;
        if best.is_none_or(|b| n > b.2) {
            best = Some((s, i + 1, n));
        }
    }
    best
}

/// Whether `alts` occur in the sentence of token `i`, within `window` tokens before it.
pub(super) fn before(f: &Folded, alts: &[&str], i: usize, window: usize) -> bool {
    let sentence = f.tokens[i].sentence;
    any_in(f, alts, i.saturating_sub(window), i, sentence)
}
