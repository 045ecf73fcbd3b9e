//! The drift test: the document dropshot generates from the API trait must equal
//! `oas/swagger.yaml` in paths, methods, operation ids, parameters, request bodies, response
//! schemas and security.
//!
//! dropshot cannot express security, so security is checked against [`OPERATIONS`], the
//! table the front door and the generated endpoint bodies enforce. Documentation-only keys
//! (`example`, `x-*`, the spec's top-level `info`, `servers` and tag descriptions) are left
//! out of the comparison; everything else is compared strictly, descriptions included.

use mcpproxy_api::{OPERATIONS, SPEC_YAML, Security, proxy_api_mod};
use serde_json::{Map, Value};

#[test]
fn generated_document_matches_the_spec() {
    let spec: Value = serde_yaml::from_str(SPEC_YAML).expect("spec parses");
    let api = proxy_api_mod::stub_api_description().expect("stub API description builds");
    let generated = api
        .openapi("mcpproxy", semver::Version::new(0, 1, 0))
        .json()
        .expect("document serializes");

    let mut generated = generated;
    if let Some(obj) = generated.as_object_mut() {
        obj.remove("info");
    }
    let diffs = diff(&canonical_spec(&spec), &canonical(&generated, ""));
    assert!(
        diffs.is_empty(),
        "oas/swagger.yaml and the served API differ:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn optional_request_bodies_are_exactly_the_ones_the_front_door_fills_in() {
    let spec: Value = serde_yaml::from_str(SPEC_YAML).expect("spec parses");
    let mut optional = Vec::new();
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            let Some(body) = op.get("requestBody") else {
                continue;
            };
            if body.get("required") != Some(&Value::Bool(true)) {
                optional.push(op["operationId"].as_str().expect("id").to_string());
            }
        }
    }
    let mut filled: Vec<String> = OPERATIONS
        .iter()
        .filter(|o| o.empty_body_is_empty_object)
        .map(|o| o.operation_id.to_string())
        .collect();
    optional.sort();
    filled.sort();
    assert_eq!(optional, filled);
    assert_eq!(
        filled,
        [
            "server_inspect",
            "server_quarantine",
            "server_unquarantine",
            "servers_bulk"
        ],
        "the spec's optional bodies (quarantine's flag, a reviewed plan's fingerprint, the bulk operations' none beside import's file)"
    );
}

#[test]
fn every_operation_enforces_the_security_the_spec_declares() {
    let spec: Value = serde_yaml::from_str(SPEC_YAML).expect("spec parses");
    let global = spec["security"].as_array().is_some_and(|s| !s.is_empty());
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let declared = match op.get("security").and_then(Value::as_array) {
                Some(list) => !list.is_empty(),
                None => global,
            };
            let info = OPERATIONS
                .iter()
                .find(|o| o.operation_id == id)
                .unwrap_or_else(|| panic!("{id} missing from OPERATIONS"));
            assert_eq!(info.method, method.to_uppercase(), "{id} method");
            assert_eq!(info.path, path, "{id} path");
            let enforced = info.security == Security::ApiKey;
            assert_eq!(enforced, declared, "{id}: spec declares secured={declared}");
            seen += 1;
        }
    }
    assert_eq!(
        seen,
        OPERATIONS.len(),
        "OPERATIONS has operations the spec lacks"
    );
}

/// The spec minus what dropshot cannot express.
fn canonical_spec(spec: &Value) -> Value {
    let mut spec = spec.clone();
    let obj = spec.as_object_mut().expect("spec is an object");
    for key in ["info", "servers", "security"] {
        obj.remove(key);
    }
    if let Some(components) = obj.get_mut("components").and_then(Value::as_object_mut) {
        components.remove("securitySchemes");
    }
    if let Some(paths) = obj.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|_, item| item.get("x-unpublished").and_then(Value::as_bool) != Some(true));
        for item in paths.values_mut() {
            for op in item
                .as_object_mut()
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                if let Some(op) = op.as_object_mut() {
                    op.remove("security");
                    // Dropshot serves every typed body as required; an optional one is
                    // served by the front door turning an empty body into `{}`, which the
                    // test below ties to OPERATIONS.
                    if let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) {
                        body.insert("required".into(), Value::Bool(true));
                    }
                }
            }
        }
    }
    canonical(&spec, "")
}

/// Normalizes representation differences that carry no meaning.
fn canonical(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k.starts_with("x-") || k == "example" || k == "examples" {
                    continue;
                }
                // typify's placeholder doc for undocumented types.
                if k == "description"
                    && v.as_str()
                        .is_some_and(|d| d.starts_with('`') && d.ends_with('`'))
                {
                    continue;
                }
                out.insert(k.clone(), canonical(v, k));
            }
            // `format: uint32` means at most u32::MAX; the spec also says so as `maximum`
            // (for clients and fuzzers that ignore formats), schemars only by the format.
            if out.get("format").and_then(Value::as_str) == Some("uint32")
                && out.get("maximum").and_then(Value::as_f64) == Some(f64::from(u32::MAX))
            {
                out.remove("maximum");
            }
            if key == "tags" || out.contains_key("in") {
                // A parameter: dropshot marks optional ones nullable.
                if out.get("required") != Some(&Value::Bool(true))
                    && let Some(schema) = out.get_mut("schema").and_then(Value::as_object_mut)
                {
                    schema.remove("nullable");
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|v| canonical(v, "")).collect();
            if key == "tags" {
                // Top-level tags: compare names only.
                items = items
                    .into_iter()
                    .map(|t| t.get("name").cloned().unwrap_or(t))
                    .collect();
            }
            if matches!(key, "required" | "enum" | "tags" | "parameters") {
                items.sort_by_key(|v| v.to_string());
            }
            Value::Array(items)
        }
        Value::Number(n) => n.as_f64().map(Value::from).unwrap_or_else(|| value.clone()),
        other => other.clone(),
    }
}

fn diff(spec: &Value, generated: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", spec, generated, &mut out);
    out
}

fn walk(pointer: &str, spec: &Value, generated: &Value, out: &mut Vec<String>) {
    match (spec, generated) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                match b.get(k) {
                    Some(vb) => walk(&p, va, vb, out),
                    None => out.push(format!("only in spec:      {p} = {va}")),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(format!("only in generated: {p} = {vb}"));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                walk(&format!("{pointer}/{i}"), va, vb, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("differs {pointer}: spec={a} generated={b}")),
    }
}
