//! The tool-poisoning scanner: every tool a server offers — its description, every string
//! of its input schema (parameter descriptions, defaults, enums) and its annotations — is
//! normalised ([`normalise`]), matched against token-pattern rules ([`rules`], words in
//! [`lexicon`]), decoded where it hides base64/base32/hex/percent/`\u` payloads ([`decode`],
//! rescanned recursively), weighed in context ([`context`]: a quoted example lowers a
//! finding, an instruction addressed to the model raises it) and checked against other tools,
//! its own annotations and its pinned version ([`crosstool`]: shadowing, capability mismatch,
//! rug pull).
//!
//! Each [`Finding`] has a [`Category`], a [`Tier`] — `block` keeps a server quarantined or a
//! tool unapproved until a person overrides with a reason; `review` is shown to the person —
//! the field and byte span it matched, and why. The scanner decides nothing by itself; the
//! app applies the tiers (see `app::scan`).

mod context;
mod crosstool;
mod decode;
mod lexicon;
mod needles;
mod normalise;
mod phrase;
mod rules;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Descriptions longer than this (in characters) are flagged for review.
pub const LONG_DESCRIPTION_CHARS: usize = 3000;
/// How many characters of a match a finding quotes.
const MATCH_PREVIEW_CHARS: usize = 120;
/// Schema strings shorter than this are not scanned (types, short enum values).
const MIN_SCHEMA_STRING: usize = 4;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Shown to the person approving; blocks nothing.
    Review,
    /// Keeps the server quarantined (or the tool unapproved) until a person overrides.
    Block,
}

impl Tier {
    /// `block` or `review`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Review => "review",
            Self::Block => "block",
        }
    }
}

/// What kind of attack a finding points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Hidden instructions to read or send secrets, run commands, instruction tags.
    ToolPoisoning,
    /// Attempts to override the model's instructions or hide things from the user.
    PromptInjection,
    /// Steering how the model uses other tools.
    Shadowing,
    /// A suspicious pattern that appeared since the tool was pinned.
    RugPull,
    /// Invisible, direction-changing or look-alike characters.
    UnicodeSmuggling,
    /// Suspicious text hidden in an encoding.
    EncodedPayload,
    /// Claims that contradict the tool's annotations or schema.
    CapabilityMismatch,
}

impl Category {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolPoisoning => "tool_poisoning",
            Self::PromptInjection => "prompt_injection",
            Self::Shadowing => "shadowing",
            Self::RugPull => "rug_pull",
            Self::UnicodeSmuggling => "unicode_smuggling",
            Self::EncodedPayload => "encoded_payload",
            Self::CapabilityMismatch => "capability_mismatch",
        }
    }
}

/// One thing the scanner found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The kind of attack.
    pub category: Category,
    /// `block` or `review`.
    pub tier: Tier,
    /// Which rule matched (stable identifier, e.g. `injection.override`).
    pub rule: String,
    /// The field: `description`, `previous_description`, `annotations`, or a path into the
    /// input schema such as `input_schema.properties.tag.description`.
    pub field: String,
    /// Byte offset of the match in the field.
    pub start: usize,
    /// End of the match (exclusive).
    pub end: usize,
    /// The matched text as written (cut to 120 characters).
    pub matched: String,
    /// Why it is suspicious.
    pub reason: String,
}

impl Finding {
    fn new(
        category: Category,
        tier: Tier,
        rule: &str,
        field: &Field<'_>,
        (start, end): (usize, usize),
        reason: String,
    ) -> Self {
        let matched: String = field
            .text
            .get(start..end)
            .unwrap_or_default()
            .chars()
            .take(MATCH_PREVIEW_CHARS)
            .collect();
        Self {
            category,
            tier,
            rule: rule.to_string(),
            field: field.name.to_string(),
            start,
            end,
            matched,
            reason,
        }
    }

    /// One line for people: `block · prompt_injection · description: reason (“matched”)`.
    pub fn summary(&self) -> String {
        format!(
            "{} · {} · {}: {} (\u{201C}{}\u{201D})",
            self.tier.as_str(),
            self.category.as_str(),
            self.field,
            self.reason,
            self.matched
        )
    }
}

/// What the scanner looks at of one tool.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolText<'a> {
    /// Bare tool name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Input JSON Schema.
    pub input_schema: Option<&'a Value>,
    /// MCP annotations (`readOnlyHint`, `destructiveHint`, `title`, …).
    pub annotations: Option<&'a Value>,
    /// The pinned description, when the tool changed since a person approved it.
    pub previous_description: Option<&'a str>,
}

/// What the scanner knows beyond the tool itself.
#[derive(Debug, Clone, Default)]
pub struct ScanContext {
    /// Bare names of the tools other servers offer (lowercase).
    other_tools: HashSet<String>,
    /// A Bloom filter (two bits per name, from its [`phrase::word_hash`]): most words of a
    /// field are ruled out by two bit tests before the set is asked.
    filter: Vec<u64>,
}

/// Bits of [`ScanContext::filter`] (a power of two).
const NAME_FILTER_BITS: usize = 1 << 16;

impl ScanContext {
    /// A context knowing the tools of other servers.
    pub fn with_other_tools<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I) -> Self {
        let other_tools: HashSet<String> = names
            .into_iter()
            .map(|n| n.as_ref().to_ascii_lowercase())
            .collect();
        let mut filter = vec![0u64; NAME_FILTER_BITS / 64];
        for name in &other_tools {
            for bit in Self::filter_bits(phrase::word_hash(name.as_bytes())) {
                filter[bit / 64] |= 1 << (bit % 64);
            }
        }
        Self {
            other_tools,
            filter,
        }
    }

    fn filter_bits(hash: u64) -> [usize; 2] {
        [
            (hash >> 48) as usize % NAME_FILTER_BITS,
            (hash >> 24) as usize % NAME_FILTER_BITS,
        ]
    }

    /// Whether token `i` of `f` is the name of another server's tool.
    fn is_other_tool(&self, f: &normalise::Folded, i: usize) -> bool {
        Self::filter_bits(f.tokens[i].hash).iter().all(|bit| {
            self.filter
                .get(bit / 64)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
        }) && self.other_tools.contains(f.word(i))
    }
}

/// A text being scanned.
struct Field<'a> {
    name: &'a str,
    text: &'a str,
    /// Part of the input schema (a parameter's description, default, …).
    param: bool,
}

/// Scan one tool.
pub fn scan_tool(tool: &ToolText<'_>, ctx: &ScanContext) -> Vec<Finding> {
    let mut out = Vec::new();
    let field = Field {
        name: "description",
        text: tool.description,
        param: false,
    };
    let description = normalise::Folded::new(tool.description);
    scan_folded(&field, &description, tool.name, ctx, 0, &mut out);
    rules::presentation(&field, &mut out);
    if let Some(schema) = tool.input_schema {
        let mut path = String::from("input_schema");
        walk_schema(schema, &mut path, tool.name, ctx, &mut out);
    }
    if let Some(title) = tool
        .annotations
        .and_then(|a| a.get("title"))
        .and_then(Value::as_str)
    {
        let field = Field {
            name: "annotations.title",
            text: title,
            param: false,
        };
        scan_field(&field, tool.name, ctx, 0, &mut out);
    }
    crosstool::capability(tool, &description, &mut out);
    if let Some(previous) = tool.previous_description {
        crosstool::rug_pull(tool, previous, ctx, &mut out);
    }
    out
}

/// The most serious tier among `findings`.
pub fn verdict(findings: &[Finding]) -> Option<Tier> {
    findings.iter().map(|f| f.tier).max()
}

/// One line per finding of a description alone (what inspection shows as `warnings`).
pub fn scan_description(text: &str) -> Vec<String> {
    let tool = ToolText {
        description: text,
        ..ToolText::default()
    };
    scan_tool(&tool, &ScanContext::default())
        .iter()
        .map(Finding::summary)
        .collect()
}

fn walk_schema(
    value: &Value,
    path: &mut String,
    tool: &str,
    ctx: &ScanContext,
    out: &mut Vec<Finding>,
) {
    match value {
        Value::String(s) if s.len() >= MIN_SCHEMA_STRING => {
            let field = Field {
                name: path,
                text: s,
                param: true,
            };
            scan_field(&field, tool, ctx, 0, out);
        }
        Value::Object(map) => {
            for (k, v) in map {
                if matches!(
                    k.as_str(),
                    "type" | "format" | "$schema" | "$ref" | "$id" | "required"
                ) {
                    continue;
                }
                let len = path.len();
                path.push('.');
                path.push_str(k);
                walk_schema(v, path, tool, ctx, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_schema(v, path, tool, ctx, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Scan one field (and, below [`decode::MAX_DEPTH`], what it hides) into `out`.
fn scan_field(
    field: &Field<'_>,
    tool: &str,
    ctx: &ScanContext,
    depth: usize,
    out: &mut Vec<Finding>,
) {
    scan_folded(
        field,
        &normalise::Folded::new(field.text),
        tool,
        ctx,
        depth,
        out,
    );
}

/// [`scan_field`] with the field already normalised.
fn scan_folded(
    field: &Field<'_>,
    folded: &normalise::Folded,
    tool: &str,
    ctx: &ScanContext,
    depth: usize,
    out: &mut Vec<Finding>,
) {
    let mut found = Vec::new();
    rules::hidden(folded, field, &mut found);
    let addressed = rules::text(folded, field, &mut found);
    crosstool::shadowing(folded, field, tool, ctx, &mut found);
    context::raise(addressed, &mut found);
    if depth < decode::MAX_DEPTH {
        if !folded.tag_text.is_empty() {
            hidden_text(
                field,
                tool,
                ctx,
                depth,
                &folded.tag_text,
                (0, field.text.len()),
                Category::UnicodeSmuggling,
                "Unicode tag characters",
                &mut found,
            );
        }
        for d in decode::find(field.text) {
            hidden_text(
                field,
                tool,
                ctx,
                depth,
                &d.text,
                (d.start, d.end),
                Category::EncodedPayload,
                d.encoding.label(),
                &mut found,
            );
        }
    }
    dedup(&mut found);
    out.extend(found);
}

/// Scan `text` found hidden in `field` at `span`; when anything matches, one `block` finding
/// saying what it decodes to and why.
#[expect(
    clippy::too_many_arguments,
    reason = "one finding is built from the field, the span, the decoded text and the context it was found in; a struct for one private call would only rename them"
)]
fn hidden_text(
    field: &Field<'_>,
    tool: &str,
    ctx: &ScanContext,
    depth: usize,
    text: &str,
    span: (usize, usize),
    category: Category,
    how: &str,
    found: &mut Vec<Finding>,
) {
    let inner_field = Field {
        name: field.name,
        text,
        param: field.param,
    };
    let mut inner = Vec::new();
    scan_field(&inner_field, tool, ctx, depth + 1, &mut inner);
    if inner.is_empty() {
        return;
    }
    let preview: String = text.chars().take(MATCH_PREVIEW_CHARS).collect();
    let mut why: Vec<&str> = inner.iter().map(|f| f.reason.as_str()).collect();
    why.dedup();
    found.push(Finding::new(
        category,
        Tier::Block,
        "hidden.decoded",
        field,
        span,
        format!("{how} hide \u{201C}{preview}\u{201D}: {}", why.join("; ")),
    ));
}

/// One finding per rule and span.
fn dedup(found: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    found.retain(|f| seen.insert((f.rule.clone(), f.start, f.end)));
}

#[cfg(test)]
mod tests;
