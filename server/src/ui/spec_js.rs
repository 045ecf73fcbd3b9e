//! `server/ui/api-spec.js`, the web UI's API layer's description of the API, is generated
//! from `oas/swagger.yaml`: every operation (method, path, query parameters, body, response
//! schema) and every object schema (its fields, which are required, and what they refer
//! to), with a JSDoc typedef each. These tests fail when the committed file and the spec
//! disagree (`UPDATE_UI_SPEC=1 cargo test -p mcpproxy --lib ui::spec_js` rewrites it) and
//! when a UI module calls an operation the spec does not have.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

fn spec() -> Value {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(mcpproxy_api::SPEC_YAML).expect("the spec is YAML");
    serde_json::to_value(yaml).expect("the spec is JSON-compatible")
}

/// `#/components/schemas/X` → `X`.
fn ref_name(v: &Value) -> Option<&str> {
    v.get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

/// What a field holds: a schema name, `[X]` for arrays, or the JSON type.
fn kind(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name.to_string();
    }
    if let Some(first) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return kind(first);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => format!("[{}]", schema.get("items").map_or("any".into(), kind)),
        Some(t) => t.to_string(),
        None => "any".to_string(),
    }
}

fn jsdoc_type(kind: &str) -> String {
    match kind {
        "integer" | "number" => "number".into(),
        "string" | "boolean" | "object" => kind.into(),
        "any" => "*".into(),
        k if k.starts_with('[') => format!("Array<{}>", jsdoc_type(&k[1..k.len() - 1])),
        k => k.into(),
    }
}

/// The generated module's text.
fn generate(spec: &Value) -> String {
    let mut ops = Map::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"].as_str().expect("operationId");
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let query: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let body = match op.get("requestBody") {
                None => "none",
                Some(b) if b["required"] == true => "required",
                Some(_) => "optional",
            };
            let response = op["responses"]["200"]["content"]["application/json"]["schema"]
                .get("$ref")
                .and_then(|_| {
                    ref_name(&op["responses"]["200"]["content"]["application/json"]["schema"])
                });
            ops.insert(
                id.to_string(),
                json!({ "method": method.to_uppercase(), "path": path, "query": query, "body": body, "response": response }),
            );
        }
    }
    let mut schemas = Map::new();
    let mut typedefs = String::new();
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        if let Some(values) = schema.get("enum") {
            let _ = writeln!(
                typedefs,
                "/** @typedef {{{}}} {name} */",
                values
                    .as_array()
                    .map(|v| v.iter().map(Value::to_string).collect::<Vec<_>>().join("|"))
                    .unwrap_or_default()
            );
            continue;
        }
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let fields: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(kind(v))))
            .collect();
        let _ = writeln!(typedefs, "/**\n * @typedef {{object}} {name}");
        for (field, k) in &fields {
            let k = k.as_str().unwrap_or("any");
            let shown = if required.contains(&field.as_str()) {
                field.clone()
            } else {
                format!("[{field}]")
            };
            let _ = writeln!(typedefs, " * @property {{{}}} {shown}", jsdoc_type(k));
        }
        typedefs.push_str(" */\n");
        schemas.insert(
            name.clone(),
            json!({ "required": required, "fields": fields }),
        );
    }
    let pretty = |v: &Map<String, Value>| {
        v.iter()
            .map(|(k, v)| format!("  {}: {},\n", Value::String(k.clone()), v))
            .collect::<String>()
    };
    format!(
        "// GENERATED from oas/swagger.yaml; do not edit. Regenerate with\n\
         // `UPDATE_UI_SPEC=1 cargo test -p mcpproxy --lib ui::spec_js`.\n\n\
         /**\n \
         * @typedef {{object}} Operation\n \
         * @property {{string}} method\n \
         * @property {{string}} path with `{{name}}` placeholders\n \
         * @property {{string[]}} query parameter names\n \
         * @property {{\"none\"|\"optional\"|\"required\"}} body\n \
         * @property {{string|null}} response the 200 answer's schema\n \
         */\n\n\
         /** @type {{Readonly<Record<string, Operation>>}} */\n\
         export const OPERATIONS = Object.freeze({{\n{}}});\n\n\
         /** Every object schema: its required fields and what each field holds\n \
         * (a schema name, `[X]` for an array of X, or a JSON type). */\n\
         export const SCHEMAS = Object.freeze({{\n{}}});\n\n{typedefs}",
        pretty(&ops),
        pretty(&schemas)
    )
}

#[test]
fn committed_api_spec_js_matches_the_spec() {
    let generated = generate(&spec());
    let path = ui_dir().join("api-spec.js");
    if std::env::var_os("UPDATE_UI_SPEC").is_some() {
        std::fs::write(&path, &generated).expect("write api-spec.js");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "server/ui/api-spec.js is out of date with oas/swagger.yaml: \
         run `UPDATE_UI_SPEC=1 cargo test -p mcpproxy --lib ui::spec_js`"
    );
}

/// Every `call("op_id"` in the UI's modules names an operation of the spec.
#[test]
fn the_ui_calls_only_operations_of_the_spec() {
    let spec = spec();
    let mut known = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for method in METHODS {
            if let Some(id) = item.get(method).and_then(|op| op["operationId"].as_str()) {
                known.push(id.to_string());
            }
        }
    }
    let mut files = vec![ui_dir().join("app.js")];
    for entry in std::fs::read_dir(ui_dir().join("pages")).expect("pages") {
        files.push(entry.expect("entry").path());
    }
    let mut used = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for piece in text.split("call(\"").skip(1) {
            let id = piece.split('"').next().unwrap_or("");
            assert!(
                known.iter().any(|k| k == id),
                "{} calls {id}, which oas/swagger.yaml does not have",
                file.display()
            );
            used += 1;
        }
    }
    assert!(used > 10, "the UI calls the API through call(\"op\", ...)");
}
