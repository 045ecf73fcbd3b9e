//! The one REST mapping: every domain error becomes an HTTP status, an error code and a
//! message here, and only here. The handlers (`?` on an [`AppError`], a [`CallError`], …)
//! and the front door (its refusals before dropshot, dropshot's own router errors) all build
//! the envelope `{"success": false, "error": …, "code": …}` from an [`ApiError`]; the one
//! status→code table for errors without a more specific cause is
//! [`mcpproxy_api::codes::for_status`].
//!
//! | domain error | status | code |
//! |---|---|---|
//! | not found (server, secret, call, session, token, registry, OAuth flow) | 404 | NOT_FOUND |
//! | invalid configuration, empty secret | 400 | VALIDATION_ERROR |
//! | bad name, bad arguments, unknown tools, unresolved secret, bad token | 400 | BAD_REQUEST |
//! | a refusal by state or policy (disabled, quarantined, changed tool, tier) | 403 | FORBIDDEN |
//! | existing or duplicate name, outdated review, scanner hold, invalid file on disk | 409 | CONFLICT |
//! | upstream not connected, proxy shutting down | 503 | NOT_READY |
//! | upstream timed out | 504 | INTERNAL_ERROR |
//! | any other upstream or inspection failure | 502 | INTERNAL_ERROR |
//! | our own storage, store or listener | 500 | INTERNAL_ERROR |

use bytes::Bytes;
use dropshot::ErrorStatusCode;
use http::{Response, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use mcpproxy_api::{ApiError, codes, types};

use crate::app::{AppError, CallError, RegistryError, Resource, TokenError};
use crate::config::ConfigError;
use crate::config::connect::ConnectError;
use crate::oauth::OAuthError;
use crate::upstream::UpstreamError;

/// A boxed response body, as the front door sends it.
pub type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// `error` as an HTTP response: its status and the envelope as JSON.
pub fn response(error: &ApiError) -> Response<Body> {
    let body = serde_json::to_vec(error).unwrap_or_default();
    Response::builder()
        .status(error.status().as_u16())
        .header(header::CONTENT_TYPE, "application/json")
        .body(
            Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap_or_default()
}

/// An error with `status` and the code the status table gives it (for errors that are only
/// a status: dropshot's router answers, a body that cannot be read).
pub fn from_status(status: u16, message: impl Into<String>) -> ApiError {
    let status =
        ErrorStatusCode::from_u16(status).unwrap_or(ErrorStatusCode::INTERNAL_SERVER_ERROR);
    ApiError::new(status, codes::for_status(status.as_u16()), message)
}

/// The API backend (dropshot behind the front door) could not be reached or failed.
pub fn backend_unavailable(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorStatusCode::BAD_GATEWAY, codes::INTERNAL_ERROR, message)
}

fn bad_gateway(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorStatusCode::BAD_GATEWAY, codes::INTERNAL_ERROR, message)
}

fn not_found(kind: Resource, name: &str) -> ApiError {
    let title = match kind {
        Resource::Server => "Server",
        Resource::Secret => "Secret",
        Resource::ToolCall => "Tool call",
        Resource::Session => "Session",
        Resource::Activity => "Activity",
    };
    ApiError::not_found(format!("{title} not found: {name}"))
}

/// The one mapping of an upstream failure, for management actions and tool calls alike.
fn upstream(e: UpstreamError) -> ApiError {
    match &e {
        UpstreamError::NotFound { server } => not_found(Resource::Server, server),
        // A state conflict, like restarting a disabled server (see AppError::NotRunning).
        UpstreamError::Disabled { .. } => ApiError::forbidden(e.to_string()),
        // Starting, reconnecting or failed: not ready (the spec's answer for tools/call).
        UpstreamError::NotConnected { .. } | UpstreamError::ShuttingDown { .. } => {
            ApiError::not_ready(e.to_string())
        }
        // The upstream refused the arguments (JSON-RPC invalid params): the caller's mistake,
        // reported as such rather than as a failing gateway.
        UpstreamError::ToolCall {
            code: Some(code), ..
        } if *code == rmcp::model::ErrorCode::INVALID_PARAMS.0 => {
            ApiError::bad_request(e.to_string())
        }
        UpstreamError::Timeout { .. } => ApiError::new(
            ErrorStatusCode::GATEWAY_TIMEOUT,
            codes::INTERNAL_ERROR,
            e.to_string(),
        ),
        _ => bad_gateway(e.to_string()),
    }
}

fn validation(summary: String, field: &str, message: String) -> ApiError {
    ApiError::validation(
        summary,
        vec![types::ValidationError {
            field: field.into(),
            message,
        }],
    )
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound { kind, name } => not_found(kind, &name),
            AppError::ServerExists(_) | AppError::Duplicate { .. } => {
                ApiError::conflict(e.to_string())
            }
            AppError::Invalid(problems) => {
                let summary = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                let errors = problems
                    .into_iter()
                    .map(|p| types::ValidationError {
                        field: p.field,
                        message: p.message,
                    })
                    .collect();
                ApiError::validation(
                    format!("configuration validation failed: {summary}"),
                    errors,
                )
            }
            AppError::Malformed(message) => validation(
                format!("invalid configuration document: {message}"),
                "(document)",
                message,
            ),
            AppError::EmptySecret => validation(e.to_string(), "value", e.to_string()),
            AppError::BadArguments(_) => ApiError::bad_request(e.to_string()),
            AppError::Config(ConfigError::Invalid(problems)) => AppError::Invalid(problems).into(),
            AppError::Inspection(message) => bad_gateway(message),
            AppError::ReviewOutdated(_) | AppError::ScanBlocked { .. } => {
                ApiError::conflict(e.to_string())
            }
            AppError::Security(crate::security::SecurityError::UnknownTools { server, tools }) => {
                ApiError::bad_request(format!(
                    "unknown tools for server {server}: {}",
                    tools.join(", ")
                ))
            }
            AppError::Security(e) => ApiError::internal(format!("tool approvals failed: {e}")),
            AppError::Storage(e) => ApiError::internal(format!("history storage failed: {e}")),
            // A state conflict, not a malformed request: 403 as for calls to such a server.
            AppError::NotRunning(name) => ApiError::forbidden(format!(
                "server {name} is disabled or quarantined; enable or approve it first"
            )),
            AppError::Upstream(e) => upstream(e),
            AppError::Held { .. } | AppError::InvalidName(_) => {
                ApiError::bad_request(e.to_string())
            }
            AppError::Secret(e @ crate::secrets::SecretError::InvalidName { .. }) => {
                ApiError::bad_request(e.to_string())
            }
            AppError::Secret(other) => ApiError::internal(format!("secret store failed: {other}")),
            AppError::Config(e @ ConfigError::InvalidOnDisk { .. }) => {
                ApiError::conflict(e.to_string())
            }
            AppError::Token(e) => match e {
                TokenError::NotFound(_) => ApiError::not_found(e.to_string()),
                TokenError::Exists(_) => ApiError::conflict(e.to_string()),
                _ => ApiError::bad_request(e.to_string()),
            },
            // Signing in failed for a reason of the server or its authorization server (not
            // HTTP, refused metadata, discovery, registration or token errors): the request
            // cannot succeed as it is, 400 with the reason. Only our own store and listener
            // are server errors.
            AppError::OAuth(e) => match e {
                OAuthError::NoFlow(_) => ApiError::not_found(e.to_string()),
                OAuthError::Store(_) | OAuthError::Listener(_) => ApiError::internal(e.to_string()),
                _ => ApiError::bad_request(e.to_string()),
            },
            AppError::Config(other) => {
                ApiError::internal(format!("configuration storage failed: {other}"))
            }
        }
    }
}

/// A refused or failed call (`POST /api/v1/tools/call`).
impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::BadName(_) => ApiError::bad_request(e.to_string()),
            CallError::UnknownServer(_) | CallError::UnknownTool { .. } => {
                ApiError::not_found(e.to_string())
            }
            CallError::Quarantined(_)
            | CallError::Disabled(_)
            | CallError::Changed { .. }
            | CallError::HeldByScanner { .. }
            | CallError::IntentMismatch { .. }
            | CallError::OutOfScope { .. }
            | CallError::AboveTier { .. } => ApiError::forbidden(e.to_string()),
            // The call's wording (it names the tool), the upstream mapping's status.
            CallError::Upstream(inner) => {
                let message = CallError::Upstream(inner.clone()).to_string();
                let mapped = upstream(inner);
                ApiError::new(mapped.status(), &mapped.code, message)
            }
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(_) => ApiError::not_found(e.to_string()),
            RegistryError::NoServersUrl(_) => ApiError::bad_request(e.to_string()),
            RegistryError::Unavailable { .. } => bad_gateway(e.to_string()),
        }
    }
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Client(_) => ApiError::bad_request(e.to_string()),
            ConnectError::Unreadable { .. } => ApiError::conflict(e.to_string()),
            ConnectError::NothingToUndo(_) => ApiError::not_found(e.to_string()),
            ConnectError::Io { .. } => ApiError::internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_is_not_connected_is_not_ready_for_actions_and_calls_alike() {
        let not_connected = || UpstreamError::NotConnected {
            server: "s".into(),
            state: crate::upstream::ConnectionState::Connecting,
        };
        let action = ApiError::from(AppError::Upstream(not_connected()));
        let call = ApiError::from(CallError::Upstream(not_connected()));
        for e in [action, call] {
            assert_eq!(e.status().as_u16(), 503);
            assert_eq!(e.code, codes::NOT_READY);
        }
    }

    #[test]
    fn every_not_found_is_a_404_naming_what() {
        let upstream = AppError::from(UpstreamError::NotFound { server: "x".into() });
        assert!(matches!(
            upstream,
            AppError::NotFound {
                kind: Resource::Server,
                ..
            }
        ));
        let e = ApiError::from(upstream);
        assert_eq!(
            (e.status().as_u16(), e.error.as_str()),
            (404, "Server not found: x")
        );
        let e = ApiError::from(AppError::not_found(Resource::Secret, "k"));
        assert_eq!(
            (e.status().as_u16(), e.error.as_str()),
            (404, "Secret not found: k")
        );
    }

    #[test]
    fn a_duplicate_is_a_conflict_and_an_empty_secret_names_its_field() {
        let e = ApiError::from(AppError::Duplicate {
            server: "a".into(),
            reason: "already configured as b".into(),
        });
        assert_eq!(
            (e.status().as_u16(), e.code.as_str()),
            (409, codes::CONFLICT)
        );
        let e = ApiError::from(AppError::EmptySecret);
        assert_eq!(e.code, codes::VALIDATION_ERROR);
        assert_eq!(
            e.errors.map(|v| v[0].field.clone()).as_deref(),
            Some("value")
        );
    }

    #[test]
    fn the_envelope_carries_status_code_and_message() {
        let resp = response(&from_status(405, "nope"));
        assert_eq!(resp.status().as_u16(), 405);
    }
}
