//! Checks against things outside the field: another server's tool named or steered
//! (shadowing), a description or annotations that contradict the input schema (capability
//! mismatch), and patterns that appeared since the tool was pinned (rug pull: the pin diff
//! is scanned, not only the new text).

use std::collections::HashSet;

use serde_json::Value;

use super::lexicon as lx;
use super::normalise::Folded;
use super::phrase::{Lazy, any_in, step};
use super::rules::before;
use super::{Category, Field, Finding, ScanContext, Tier, ToolText, scan_field};

/// Another server's tool named in `f`: `review`; steered ("when X is used …", "instead of
/// X", "X must never be used", "call X as well"): `block`.
pub(super) fn shadowing(
    f: &Folded,
    field: &Field<'_>,
    own: &str,
    ctx: &ScanContext,
    found: &mut Vec<Finding>,
) {
    if ctx.other_tools.is_empty() {
        return;
    }
    for (i, t) in f.tokens.iter().enumerate() {
        if !ctx.is_other_tool(f, i) {
            continue;
        }
        let word = f.word(i);
        if word.eq_ignore_ascii_case(own) {
            continue;
        }
        let sentence_end = (i..f.tokens.len())
            .find(|&j| f.tokens[j].sentence != t.sentence)
            .unwrap_or(f.tokens.len());
        let steered = before(f, lx::SHADOW_CUE_BEFORE, i, lx::SHADOW_CUE_GAP + 1)
            || any_in(f, lx::SHADOW_CUE_AFTER, i + 1, i + 8, t.sentence)
            || (i > 0
                && lx::SHADOW_CALL.contains(&f.word(i - 1))
                && any_in(f, lx::SHADOW_ALSO, i + 1, sentence_end, t.sentence));
        let (tier, why) = match steered {
            true => (
                Tier::Block,
                format!("steers how the model uses another server's tool `{word}`"),
            ),
            false => (
                Tier::Review,
                format!("names another server's tool `{word}`"),
            ),
        };
        found.push(Finding::new(
            Category::Shadowing,
            tier,
            "shadowing.tool",
            field,
            f.span(t.start, t.end),
            why,
        ));
    }
}

static CLAIMS: Lazy = Lazy::new(&[
    &[step(0, lx::CLAIM_READ_ONLY)],
    &[step(0, lx::CLAIM_OFFLINE)],
]);
static EXEC_WORDS: Lazy = Lazy::new(&[&[step(0, lx::EXEC_WORDS)]]);
static EXFIL_WORDS: Lazy = Lazy::new(&[&[step(0, lx::EXFIL_WORDS)]]);
static DESTROY_WORDS: Lazy = Lazy::new(&[&[step(0, lx::DESTROY_WORDS)]]);

/// Claims ("read-only", "no network", `readOnlyHint`) that the input schema contradicts.
pub(super) fn capability(tool: &ToolText<'_>, description: &Folded, found: &mut Vec<Finding>) {
    let hint = |k: &str| {
        tool.annotations
            .and_then(|a| a.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let has_props = tool
        .input_schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let (read_only, offline) = if has_props {
        let found = CLAIMS.get().find(description);
        (
            hint("readOnlyHint") || found.iter().any(|(p, _)| *p == 0),
            found.iter().any(|(p, _)| *p == 1),
        )
    } else {
        (hint("readOnlyHint"), false)
    };
    let field = Field {
        name: "annotations",
        text: "",
        param: false,
    };
    if hint("readOnlyHint") && hint("destructiveHint") {
        found.push(Finding::new(
            Category::CapabilityMismatch,
            Tier::Block,
            "capability.annotations",
            &field,
            (0, 0),
            "annotations claim both read-only and destructive".to_string(),
        ));
    }
    if !(read_only || offline) {
        return;
    }
    let claim = if read_only { "read-only" } else { "offline" };
    let Some(props) = tool
        .input_schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return;
    };
    for (name, schema) in props {
        let lname = name.to_ascii_lowercase();
        let pdesc = schema
            .get("description")
            .and_then(Value::as_str)
            .map(Folded::new)
            .unwrap_or_default();
        let says = |words: &Lazy| words.get().any(&pdesc);
        let named = |list: &[&str]| list.contains(&lname.as_str());
        let (tier, what) = if named(lx::EXEC_PARAMS) || says(&EXEC_WORDS) {
            (Tier::Block, "runs commands")
        } else if named(lx::EXFIL_PARAMS) || says(&EXFIL_WORDS) {
            (Tier::Block, "sends data out")
        } else if read_only
            && (lx::DESTROY_WORDS.iter().any(|w| lname.contains(w)) || says(&DESTROY_WORDS))
        {
            (Tier::Block, "destroys data")
        } else if named(lx::URL_PARAMS) || lname.ends_with("_url") {
            (
                if offline { Tier::Block } else { Tier::Review },
                "contacts a URL",
            )
        } else {
            continue;
        };
        let path = format!("input_schema.properties.{name}");
        let field = Field {
            name: &path,
            text: name,
            param: true,
        };
        found.push(Finding::new(
            Category::CapabilityMismatch,
            tier,
            "capability.schema",
            &field,
            (0, name.len()),
            format!("claims to be {claim} but its `{name}` argument {what}"),
        ));
    }
}

/// Findings of the new description that the pinned one did not have, again as `rug_pull`.
pub(super) fn rug_pull(
    tool: &ToolText<'_>,
    previous: &str,
    ctx: &ScanContext,
    found: &mut Vec<Finding>,
) {
    let mut before = Vec::new();
    let field = Field {
        name: "previous_description",
        text: previous,
        param: false,
    };
    scan_field(&field, tool.name, ctx, 0, &mut before);
    let known: HashSet<(&str, String)> = before
        .iter()
        .map(|f| (f.rule.as_str(), f.matched.to_lowercase()))
        .collect();
    let new: Vec<Finding> = found
        .iter()
        .filter(|f| f.field == "description" && f.category != Category::RugPull)
        .filter(|f| !known.contains(&(f.rule.as_str(), f.matched.to_lowercase())))
        .map(|f| Finding {
            category: Category::RugPull,
            rule: format!("rug_pull.{}", f.rule),
            reason: format!("appeared since the tool was pinned: {}", f.reason),
            ..f.clone()
        })
        .collect();
    found.extend(new);
}
