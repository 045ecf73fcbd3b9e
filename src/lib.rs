//! The mcpproxy REST contract, generated from `oas/swagger.yaml`.
//!
//! `oas/swagger.yaml` is the source of truth. `build.rs` turns it into:
//! - [`types`]: every schema as a Rust type (serde + schemars);
//! - [`ProxyApi`]: a dropshot API trait with one endpoint per operation, whose generated body
//!   enforces the operation's security and then calls [`ProxyBackend`], which the server
//!   implements. Authorization therefore lives in the generated layer: an operation cannot
//!   forget it, and the server cannot skip an operation;
//! - [`OPERATIONS`]: every operation with its method, path template and security, for the
//!   front door (which authenticates before dropshot parses anything) and for tests.
//!
//! Shape decisions, all checked by `tests/spec_drift.rs`:
//! - The spec stays inside what dropshot round-trips: OpenAPI 3.0.3; optional properties are
//!   `nullable`; integers carry a `format`; enums and objects live in `components`; success
//!   responses use dropshot's descriptions; every error is `4XX`/`5XX` → [`ApiError`].
//! - Each response has its own envelope schema (`{"success": true, "data": …}`), not a
//!   generic `Envelope<T>`, so schema names stay readable.
//! - dropshot's router cannot hold a literal and a variable segment side by side, so the
//!   bulk operations (`/api/v1/servers/enable_all`, …) are one operation on
//!   `/api/v1/servers/{name}` whose `name` is the [`types::BulkAction`] enum. The wire paths
//!   are the seed's.
//! - Security (`X-API-Key` header or `apikey` query) cannot be expressed in dropshot's
//!   document, so it is carried by [`OPERATIONS`] and merged back when the spec is served.

use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::Serialize;

/// The spec, byte for byte, as served at `/swagger/swagger.yaml`.
pub const SPEC_YAML: &str = include_str!("../oas/swagger.yaml");

/// Types generated from `components/schemas`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod types {
    pub use crate::config_document::ConfigDocument;
    include!(concat!(env!("OUT_DIR"), "/types.rs"));
}

mod config_document;

#[allow(missing_docs, clippy::all)]
mod generated {
    use super::{ApiError, OperationInfo, Security, types};
    include!(concat!(env!("OUT_DIR"), "/api.rs"));
}
pub use generated::{OPERATIONS, ProxyApi, ProxyBackend, params, proxy_api_mod};

/// What an operation requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Open to anyone (health probes).
    None,
    /// The API key, by `X-API-Key` header or `apikey` query (or a trusted unix socket).
    ApiKey,
}

/// One operation of the spec.
#[derive(Debug, Clone, Copy)]
pub struct OperationInfo {
    /// Upper-case HTTP method.
    pub method: &'static str,
    /// Path template, e.g. `/api/v1/servers/{name}/enable`.
    pub path: &'static str,
    /// The spec's operationId.
    pub operation_id: &'static str,
    /// The declared security.
    pub security: Security,
    /// The spec's request body is optional (`required: false`): an empty body means `{}`.
    /// Dropshot's typed bodies are always required, so the server supplies the `{}`.
    pub empty_body_is_empty_object: bool,
}

impl OperationInfo {
    /// Whether `path` (no query string) matches this operation's template.
    pub fn matches_path(&self, path: &str) -> bool {
        let mut want = self.path.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }
}

/// The operation a request addresses, if the spec has one.
pub fn find_operation(method: &str, path: &str) -> Option<&'static OperationInfo> {
    OPERATIONS
        .iter()
        .filter(|op| op.method.eq_ignore_ascii_case(method) && op.matches_path(path))
        // A literal template beats a variable one (`/api/v1/servers/{name}` vs a longer literal).
        .min_by_key(|op| op.path.matches('{').count())
}

/// The methods the spec declares for `path` (canonical, no query), for a 405's `Allow`.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = OPERATIONS
        .iter()
        .filter(|op| op.matches_path(path))
        .map(|op| op.method)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// First path segments served without the API key when no operation of the spec says
/// otherwise: the probes, Swagger UI and the web UI (which itself asks for the key).
pub const OPEN_PREFIXES: [&str; 4] = ["healthz", "readyz", "swagger", "ui"];

/// The security a request needs. `path` must be the canonical path the router will see (no
/// empty or dot segments, no needless percent-encoding): the front door canonicalises before
/// it asks. The spec's answer for known operations; for anything else the API key, except
/// under [`OPEN_PREFIXES`] (fail closed).
pub fn required_security(method: &str, path: &str) -> Security {
    if let Some(op) = find_operation(method, path) {
        return op.security;
    }
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match OPEN_PREFIXES.contains(&first) {
        true => Security::None,
        false => Security::ApiKey,
    }
}

/// Machine-readable error codes of the error envelope.
pub mod codes {
    /// Missing or wrong API key.
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    /// Unknown server, route or resource.
    pub const NOT_FOUND: &str = "NOT_FOUND";
    /// Malformed request.
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The request was well-formed but its content is invalid.
    pub const VALIDATION_ERROR: &str = "VALIDATION_ERROR";
    /// Request body over the limit.
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    /// A request body that is not `application/json`.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    /// Wrong method for the route.
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    /// The action conflicts with the current state or configuration.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// The action conflicts with a resource or file: an existing name, or a configuration
    /// file on disk that is invalid (so a change was not saved).
    pub const CONFLICT: &str = "CONFLICT";
    /// The proxy is starting or stopping.
    pub const NOT_READY: &str = "NOT_READY";
    /// Too many concurrent connections; try again later.
    pub const BUSY: &str = "BUSY";
    /// A bug or an I/O failure on our side.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";

    /// The code of an error with this HTTP status and no more specific cause.
    pub fn for_status(status: u16) -> &'static str {
        match status {
            400 => BAD_REQUEST,
            401 => UNAUTHORIZED,
            403 => FORBIDDEN,
            404 => NOT_FOUND,
            405 => METHOD_NOT_ALLOWED,
            409 => CONFLICT,
            413 => PAYLOAD_TOO_LARGE,
            415 => UNSUPPORTED_MEDIA_TYPE,
            503 => NOT_READY,
            s if s >= 500 => INTERNAL_ERROR,
            _ => BAD_REQUEST,
        }
    }
}

/// The error envelope of every failed request.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "ErrorResponse")]
pub struct ApiError {
    /// Stable machine-readable code: UNAUTHORIZED, NOT_FOUND, BAD_REQUEST, VALIDATION_ERROR, PAYLOAD_TOO_LARGE, CONFLICT, NOT_READY or INTERNAL_ERROR.
    pub code: String,
    /// Human-readable message.
    pub error: String,
    /// Field errors, for VALIDATION_ERROR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<types::ValidationError>>,
    /// Always false.
    pub success: bool,
    #[serde(skip)]
    status: ErrorStatusCode,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: ErrorStatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            error: message.into(),
            errors: None,
            success: false,
            status,
        }
    }
    /// 400 BAD_REQUEST.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorStatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
    }
    /// 401 UNAUTHORIZED with the Go original's message.
    pub fn unauthorized() -> Self {
        Self::new(
            ErrorStatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "Invalid or missing API key",
        )
    }
    /// 403 FORBIDDEN.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorStatusCode::FORBIDDEN, codes::FORBIDDEN, message)
    }
    /// 409 CONFLICT.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorStatusCode::CONFLICT, codes::CONFLICT, message)
    }
    /// 404 NOT_FOUND.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorStatusCode::NOT_FOUND, codes::NOT_FOUND, message)
    }
    /// 400 VALIDATION_ERROR carrying the field errors.
    pub fn validation(message: impl Into<String>, errors: Vec<types::ValidationError>) -> Self {
        let mut e = Self::new(
            ErrorStatusCode::BAD_REQUEST,
            codes::VALIDATION_ERROR,
            message,
        );
        e.errors = Some(errors);
        e
    }
    /// 503 NOT_READY.
    pub fn not_ready(message: impl Into<String>) -> Self {
        Self::new(
            ErrorStatusCode::SERVICE_UNAVAILABLE,
            codes::NOT_READY,
            message,
        )
    }
    /// 500 INTERNAL_ERROR; log the detail before calling this and pass a short message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            ErrorStatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL_ERROR,
            message,
        )
    }
    /// The HTTP status.
    pub fn status(&self) -> ErrorStatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.error, self.code)
    }
}

impl std::error::Error for ApiError {}

impl HttpResponseError for ApiError {
    fn status_code(&self) -> ErrorStatusCode {
        self.status
    }
}

/// dropshot's own errors (extractors, body limits) take the same envelope.
impl From<HttpError> for ApiError {
    fn from(e: HttpError) -> Self {
        let status = e.status_code;
        let message = e.external_message;
        if status.as_u16() == 400 && message.contains("exceeded maximum size") {
            return Self::new(
                ErrorStatusCode::PAYLOAD_TOO_LARGE,
                codes::PAYLOAD_TOO_LARGE,
                message,
            );
        }
        let code = codes::for_status(status.as_u16());
        Self::new(status, code, message)
    }
}
