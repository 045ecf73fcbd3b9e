//! Generates the API crate from `oas/swagger.yaml`, the source of truth.
//!
//! Two files land in `$OUT_DIR`:
//! - `types.rs`: every schema of the spec as a Rust type, produced by progenitor's type space
//!   (typify), deriving `schemars::JsonSchema` so dropshot can describe them again.
//! - `api.rs`: one `#[dropshot::api_description]` trait, `ProxyApi`, with one endpoint per
//!   operation. Each endpoint has a generated body: it enforces the operation's declared
//!   security, then calls the same-named method of `ProxyBackend`, which the server
//!   implements. A missing or mistyped operation therefore does not compile, and no
//!   operation can forget its authorization. Alongside: the `params` module (path and query
//!   structs) and `OPERATIONS`, the table of every operation with its security, which the
//!   front door and the tests read.
//!
//! The generator supports the subset of OpenAPI 3.0.3 that dropshot round-trips (see the
//! crate docs); anything else stops the build with the operation and the construct named.

use std::{env, fs, path::PathBuf};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

const SPEC: &str = "oas/swagger.yaml";
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = fs::read_to_string(SPEC).expect("oas/swagger.yaml is readable");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    let spec: openapiv3::OpenAPI =
        serde_yaml::from_str(&text).expect("oas/swagger.yaml is OpenAPI 3.0");
    let mut settings = progenitor_impl::GenerationSettings::default();
    settings.with_derive("schemars::JsonSchema");
    // A free-form document whose unknown keys must survive: hand-written in src/config_document.rs.
    settings.with_replacement("ConfigDocument", "ConfigDocument", std::iter::empty());
    let mut generator = progenitor_impl::Generator::new(&settings);
    generator
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("progenitor rejected oas/swagger.yaml: {e}"));
    let types = generator.get_type_space().to_stream();
    write_rust(&out.join("types.rs"), types);

    let doc: Value = serde_yaml::from_str(&text).expect("oas/swagger.yaml is YAML");
    write_rust(&out.join("api.rs"), api_tokens(&doc));
}

fn write_rust(path: &PathBuf, tokens: TokenStream) {
    let file = syn::parse2(tokens).unwrap_or_else(|e| panic!("generated code does not parse: {e}"));
    fs::write(path, prettyplease::unparse(&file)).expect("OUT_DIR is writable");
}

/// One operation of the spec, as the generator needs it.
struct Operation<'a> {
    method: &'a str,
    path: &'a str,
    id: &'a str,
    op: &'a Value,
    secured: bool,
    published: bool,
}

fn operations(doc: &Value) -> Vec<Operation<'_>> {
    let global_secured = doc["security"].as_array().is_some_and(|s| !s.is_empty());
    let paths = doc["paths"].as_object().expect("spec has paths");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let published = item.get("x-unpublished").and_then(Value::as_bool) != Some(true);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            let secured = match op.get("security").and_then(Value::as_array) {
                Some(list) => !list.is_empty(),
                None => global_secured,
            };
            ops.push(Operation {
                method,
                path,
                id,
                op,
                secured,
                published,
            });
        }
    }
    ops
}

fn api_tokens(doc: &Value) -> TokenStream {
    let ops = operations(doc);
    let table = ops.iter().map(|o| {
        let method = o.method.to_uppercase();
        let (path, id, secured) = (o.path, o.id, o.secured);
        let security = if secured { quote!(Security::ApiKey) } else { quote!(Security::None) };
        // A body the spec does not require: the front door supplies `{}` for an empty one,
        // because dropshot's typed bodies are always required.
        let empty_body = o.op.get("requestBody").is_some_and(|b| b.get("required") != Some(&Value::Bool(true)));
        quote! { OperationInfo { method: #method, path: #path, operation_id: #id, security: #security, empty_body_is_empty_object: #empty_body } }
    });
    let mut param_structs = Vec::new();
    let mut backend_methods = Vec::new();
    let mut endpoints = Vec::new();
    for o in ops.iter().filter(|o| o.published) {
        let parts = endpoint_tokens(doc, o);
        param_structs.extend(parts.param_structs);
        backend_methods.push(parts.backend_method);
        endpoints.push(parts.endpoint);
    }
    quote! {
        /// Every operation of the spec (published or not), with its declared security.
        pub static OPERATIONS: &[OperationInfo] = &[ #(#table),* ];

        /// Path and query parameter structs, one per operation that has them.
        pub mod params {
            #![allow(missing_docs)]
            use super::types;
            #(#param_structs)*
        }

        /// What the server implements: one method per published operation, called after the
        /// operation's security has been enforced.
        pub trait ProxyBackend: dropshot::ServerContext + Sized {
            /// Decide whether the request may run an operation that declares `security`.
            fn authorize(rqctx: &dropshot::RequestContext<Self>, security: Security) -> Result<(), ApiError>;
            #(#backend_methods)*
        }

        /// The dropshot API trait generated from `oas/swagger.yaml`.
        #[dropshot::api_description]
        pub trait ProxyApi {
            /// The server's context; it implements every operation.
            type Context: ProxyBackend;
            #(#endpoints)*
        }
    }
}

struct EndpointTokens {
    param_structs: Vec<TokenStream>,
    backend_method: TokenStream,
    endpoint: TokenStream,
}

fn endpoint_tokens(doc: &Value, o: &Operation<'_>) -> EndpointTokens {
    let op = o.op;
    let ident = format_ident!("{}", o.id);
    let pascal = pascal_case(o.id);
    let method_ident = format_ident!("{}", o.method.to_uppercase());
    let path = o.path;
    let tags: Vec<&str> = op["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    let mut docs = Vec::new();
    if let Some(s) = op["summary"].as_str() {
        docs.push(s.to_string());
    }
    if let Some(d) = op["description"].as_str() {
        docs.push(String::new());
        docs.extend(d.trim_end().lines().map(str::to_string));
    }
    let doc_attrs = docs.iter().map(|d| quote!(#[doc = #d]));

    let mut param_structs = Vec::new();
    let mut extractor_args = Vec::new(); // endpoint signature
    let mut backend_args = Vec::new(); // backend signature
    let mut call_args = Vec::new(); // endpoint -> backend
    for location in ["path", "query"] {
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|p| p.iter().filter(|p| p["in"] == location).collect())
            .unwrap_or_default();
        if params.is_empty() {
            continue;
        }
        let struct_ident = format_ident!(
            "{}{}",
            pascal,
            if location == "path" { "Path" } else { "Query" }
        );
        let fields = params.iter().map(|p| {
            let name = p["name"].as_str().expect("parameter has a name");
            // A keyword (`type`) is a raw identifier; serde and schemars drop the `r#`.
            let field = if syn::parse_str::<syn::Ident>(name).is_ok() {
                format_ident!("{}", name)
            } else {
                format_ident!("r#{}", name)
            };
            let required = p["required"].as_bool().unwrap_or(false);
            let ty = rust_type(doc, &p["schema"], o.id);
            let ty = if required { ty } else { quote!(Option<#ty>) };
            let desc = p["description"].as_str().map(|d| quote!(#[doc = #d]));
            quote! { #desc pub #field: #ty }
        });
        param_structs.push(quote! {
            #[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
            pub struct #struct_ident { #(#fields),* }
        });
        let arg = format_ident!("{}", location);
        let extractor = if location == "path" {
            quote!(dropshot::Path)
        } else {
            quote!(dropshot::Query)
        };
        extractor_args.push(quote!(#arg: #extractor<params::#struct_ident>));
        backend_args.push(quote!(#arg: params::#struct_ident));
        call_args.push(quote!(#arg.into_inner()));
    }
    if let Some(body) = op.get("requestBody") {
        let schema = &body["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{}: only application/json request bodies are supported",
            o.id
        );
        let ty = rust_type(doc, schema, o.id);
        extractor_args.push(quote!(body: dropshot::TypedBody<#ty>));
        backend_args.push(quote!(body: #ty));
        call_args.push(quote!(body.into_inner()));
    }

    let (status, response) = op["responses"]
        .as_object()
        .and_then(|r| r.iter().find(|(code, _)| code.starts_with('2')))
        .unwrap_or_else(|| panic!("{}: no 2xx response", o.id));
    let (wrapper, payload) = match status.as_str() {
        "200" => (
            quote!(dropshot::HttpResponseOk),
            Some(rust_type(
                doc,
                &response["content"]["application/json"]["schema"],
                o.id,
            )),
        ),
        "201" => (
            quote!(dropshot::HttpResponseCreated),
            Some(rust_type(
                doc,
                &response["content"]["application/json"]["schema"],
                o.id,
            )),
        ),
        "204" if o.method == "delete" => (quote!(dropshot::HttpResponseDeleted), None),
        "204" => (quote!(dropshot::HttpResponseUpdatedNoContent), None),
        other => panic!("{}: unsupported success status {other}", o.id),
    };
    let (ret, backend_ret, wrap) = match &payload {
        Some(ty) => (quote!(#wrapper<#ty>), quote!(#ty), quote!(.map(#wrapper))),
        None => (quote!(#wrapper), quote!(()), quote!(.map(|()| #wrapper()))),
    };
    let security = if o.secured {
        quote!(Security::ApiKey)
    } else {
        quote!(Security::None)
    };
    let doc_line = format!(
        "`{} {}`: {}",
        o.method.to_uppercase(),
        path,
        op["summary"].as_str().unwrap_or("")
    );

    EndpointTokens {
        param_structs,
        backend_method: quote! {
            #[doc = #doc_line]
            fn #ident(rqctx: &dropshot::RequestContext<Self>, #(#backend_args),*)
                -> impl std::future::Future<Output = Result<#backend_ret, ApiError>> + Send;
        },
        endpoint: quote! {
            #(#doc_attrs)*
            #[endpoint { method = #method_ident, path = #path, tags = [#(#tags),*] }]
            async fn #ident(rqctx: dropshot::RequestContext<Self::Context>, #(#extractor_args),*)
                -> Result<#ret, ApiError>
            {
                <Self::Context as ProxyBackend>::authorize(&rqctx, #security)?;
                <Self::Context as ProxyBackend>::#ident(&rqctx, #(#call_args),*).await #wrap
            }
        },
    }
}

/// The Rust type of a parameter, body or response schema.
fn rust_type(doc: &Value, schema: &Value, op: &str) -> TokenStream {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{op}: unsupported $ref {reference}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{op}: unknown schema {name}"
        );
        let ident = format_ident!("{}", name);
        return quote!(types::#ident);
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), None) => quote!(String),
        (Some("boolean"), None) => quote!(bool),
        (Some("integer"), Some("uint32")) => quote!(u32),
        (Some("integer"), Some("uint64")) => quote!(u64),
        (Some("integer"), Some("int32")) => quote!(i32),
        (Some("integer"), Some("int64")) => quote!(i64),
        (Some("number"), _) => quote!(f64),
        other => {
            panic!("{op}: unsupported inline schema {other:?}; use a $ref to components/schemas")
        }
    }
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}
