//! Tool fingerprints: a SHA-256 over the canonical JSON of everything an agent sees of a tool,
//! so that any change to its description or schemas changes the hash.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of the canonical JSON (object keys sorted recursively, no
/// whitespace) of `{"description", "input_schema", "output_schema"?, "server_name", "tool_name"}`.
/// An `output_schema` of `None` or JSON `null` is left out, so both hash the same.
pub fn tool_hash(
    server: &str,
    tool: &str,
    description: &str,
    input_schema: &Value,
    output_schema: Option<&Value>,
) -> String {
    // The top-level keys are fixed, so they are written in sorted order directly.
    let mut out = String::with_capacity(256);
    out.push_str("{\"description\":");
    write_str(description, &mut out);
    out.push_str(",\"input_schema\":");
    write_canonical(input_schema, &mut out);
    if let Some(schema) = output_schema.filter(|v| !v.is_null()) {
        out.push_str(",\"output_schema\":");
        write_canonical(schema, &mut out);
    }
    out.push_str(",\"server_name\":");
    write_str(server, &mut out);
    out.push_str(",\"tool_name\":");
    write_str(tool, &mut out);
    out.push('}');
    hex::encode(Sha256::digest(out.as_bytes()))
}

/// Canonical JSON of `value`: objects with keys in byte order, compact separators.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        // Scalars: serde_json's compact form (strings escaped, numbers as parsed).
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push_str(&Value::from(s).to_string());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hash_is_stable_under_key_reordering() {
        let a: Value = serde_json::from_str(
            r#"{"type":"object","properties":{"b":{"type":"string","description":"x"},"a":{"type":"number"}},"required":["b","a"]}"#,
        )
        .expect("json");
        let b: Value = serde_json::from_str(
            r#"{"required":["b","a"],"properties":{"a":{"type":"number"},"b":{"description":"x","type":"string"}},"type":"object"}"#,
        )
        .expect("json");
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            tool_hash("s", "t", "d", &a, Some(&b)),
            tool_hash("s", "t", "d", &b, Some(&a))
        );
    }

    #[test]
    fn every_field_changes_the_hash() {
        let schema = json!({"type": "object"});
        let base = tool_hash("s", "t", "d", &schema, None);
        assert_eq!(base.len(), 64);
        assert!(
            base.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let variants = [
            tool_hash("s2", "t", "d", &schema, None),
            tool_hash("s", "t2", "d", &schema, None),
            tool_hash("s", "t", "d ", &schema, None),
            tool_hash(
                "s",
                "t",
                "d",
                &json!({"type": "object", "properties": {}}),
                None,
            ),
            tool_hash("s", "t", "d", &schema, Some(&json!({"type": "string"}))),
        ];
        for v in &variants {
            assert_ne!(v, &base);
        }
        assert_eq!(tool_hash("s", "t", "d", &schema, Some(&Value::Null)), base);
        // Field boundaries are unambiguous: moving text between fields changes the hash.
        assert_ne!(
            tool_hash("ab", "c", "d", &schema, None),
            tool_hash("a", "bc", "d", &schema, None)
        );
    }

    #[test]
    fn canonical_form_is_compact_and_escaped() {
        let v = json!({"z": [1, 2.5, null, true], "a": "q\"uote\n", "m": {"y": {}, "x": []}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"q\"uote\n","m":{"x":[],"y":{}},"z":[1,2.5,null,true]}"#
        );
    }
}
