//! Generates the typed client from `../oas/swagger.yaml` with progenitor.

use std::{env, fs, path::PathBuf};

fn main() {
    let spec_path = "../oas/swagger.yaml";
    println!("cargo:rerun-if-changed={spec_path}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = fs::read_to_string(spec_path).expect("oas/swagger.yaml is readable");
    let spec: openapiv3::OpenAPI =
        serde_yaml::from_str(&text).expect("oas/swagger.yaml is OpenAPI 3.0");
    let mut generator = progenitor::Generator::default();
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor rejected oas/swagger.yaml: {e}"));
    let file = syn::parse2(tokens).expect("generated client parses");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("codegen.rs");
    fs::write(out, prettyplease::unparse(&file)).expect("OUT_DIR is writable");
}
