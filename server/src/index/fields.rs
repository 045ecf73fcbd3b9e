//! Field extraction: splits a [`ToolDoc`] into the four weighted BM25F fields
//! (tool name, server name, description, parameters) as token lists.
//!
//! Parameters are the names and `description`s of the input schema's
//! `properties`, at top level and one level down (an object property's own
//! `properties`, or an array property's `items.properties`). Every field is
//! bounded so a hostile tool (1 MB description, 10k properties) costs a
//! bounded amount of memory and time.

use serde_json::Value;

use super::tokenize::{Mode, tokenize};
use super::types::ToolDoc;

/// Number of BM25F fields.
pub(crate) const FIELD_COUNT: usize = 4;
/// Field slots, in the order of [`super::bm25::FIELD_WEIGHTS`].
pub(crate) const NAME: usize = 0;
pub(crate) const SERVER: usize = 1;
pub(crate) const DESCRIPTION: usize = 2;
pub(crate) const PARAMS: usize = 3;
/// Each field's name where a hit says which fields matched ([`super::SearchHit::matched_fields`]).
pub(crate) const FIELD_NAMES: [&str; FIELD_COUNT] = ["name", "server", "description", "parameters"];

/// Token budget of the name and server fields.
const MAX_IDENT_TOKENS: usize = 64;
/// Token budget of the description field, and of the parameters field.
const MAX_TEXT_TOKENS: usize = 2048;
/// Properties visited per schema, across both levels.
const MAX_PROPERTIES: usize = 256;

/// A tool's tokens, one list per field.
pub(crate) type FieldTokens = [Vec<String>; FIELD_COUNT];

/// Tokenizes every field of `doc`.
pub(crate) fn field_tokens(doc: &ToolDoc) -> FieldTokens {
    let mut fields: FieldTokens = Default::default();
    fields[NAME] = tokenize(&doc.name, Mode::Identifier, MAX_IDENT_TOKENS);
    fields[SERVER] = tokenize(&doc.server, Mode::Identifier, MAX_IDENT_TOKENS);
    fields[DESCRIPTION] = tokenize(&doc.description, Mode::Text, MAX_TEXT_TOKENS);
    fields[PARAMS] = param_tokens(&doc.input_schema);
    fields
}

/// Tokens of property names and descriptions, two levels deep.
fn param_tokens(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut visited = 0;
    for (name, prop) in properties(schema) {
        if !visit(name, prop, &mut visited, &mut out) {
            return out;
        }
        let nested = properties(prop).chain(prop.get("items").into_iter().flat_map(properties));
        for (name, prop) in nested {
            if !visit(name, prop, &mut visited, &mut out) {
                return out;
            }
        }
    }
    out
}

/// Adds one property's tokens; false once a budget is exhausted.
fn visit(name: &str, prop: &Value, visited: &mut usize, out: &mut Vec<String>) -> bool {
    *visited += 1;
    let budget = MAX_TEXT_TOKENS.saturating_sub(out.len());
    if *visited > MAX_PROPERTIES || budget == 0 {
        return false;
    }
    out.extend(tokenize(name, Mode::Identifier, budget));
    if let Some(text) = prop.get("description").and_then(Value::as_str) {
        let budget = MAX_TEXT_TOKENS.saturating_sub(out.len());
        out.extend(tokenize(text, Mode::Text, budget));
    }
    true
}

/// The `properties` entries of a schema object; empty for anything else.
fn properties(schema: &Value) -> impl Iterator<Item = (&str, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DESCRIPTION, MAX_TEXT_TOKENS, NAME, PARAMS, SERVER, field_tokens};
    use crate::index::types::ToolDoc;

    fn doc(schema: serde_json::Value) -> ToolDoc {
        ToolDoc {
            server: "github".into(),
            name: "create_issue".into(),
            description: "Create a new issue in a repository".into(),
            input_schema: schema,
        }
    }

    #[test]
    fn extracts_all_fields() {
        let schema = json!({
            "type": "object",
            "properties": {
                "title": {"type": "string", "description": "Issue title"},
                "labels": {"type": "array", "items": {"type": "object", "properties": {
                    "colour": {"description": "Label colour", "properties": {"deep": {}}}
                }}},
                "owner": {"type": "object", "properties": {"login": {"description": "Owner login"}}}
            }
        });
        let fields = field_tokens(&doc(schema));
        assert_eq!(fields[NAME], ["creat", "issu"]);
        assert_eq!(fields[SERVER], ["github"]);
        assert_eq!(fields[DESCRIPTION], ["creat", "new", "issu", "repository"]);
        for term in ["titl", "label", "colour", "owner", "login"] {
            assert!(fields[PARAMS].iter().any(|t| t == term), "{term} missing");
        }
        assert!(!fields[PARAMS].iter().any(|t| t == "deep"));
    }

    #[test]
    fn tolerates_odd_schemas() {
        for schema in [
            json!(null),
            json!("x"),
            json!([1, 2]),
            json!({"properties": 3}),
        ] {
            assert!(field_tokens(&doc(schema))[PARAMS].is_empty());
        }
    }

    #[test]
    fn bounds_huge_schemas() {
        let props: serde_json::Map<String, serde_json::Value> = (0..10_000)
            .map(|i| (format!("p{i}"), json!({"description": "word ".repeat(50)})))
            .collect();
        let fields = field_tokens(&doc(json!({ "properties": props })));
        assert!(fields[PARAMS].len() <= MAX_TEXT_TOKENS);
    }
}
