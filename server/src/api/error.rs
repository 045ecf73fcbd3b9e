//! The one place where domain errors become HTTP statuses and error codes.

use mcpproxy_api::{ApiError, types};

use crate::app::{AppError, TokenError};
use crate::config::ConfigError;
use crate::oauth::OAuthError;
use crate::upstream::UpstreamError;

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::ServerNotFound(name) => {
                ApiError::not_found(format!("Server not found: {name}"))
            }
            AppError::ServerExists(_) => ApiError::conflict(e.to_string()),
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
            AppError::Malformed(message) => ApiError::validation(
                format!("invalid configuration document: {message}"),
                vec![types::ValidationError {
                    field: "(document)".into(),
                    message,
                }],
            ),
            AppError::Config(ConfigError::Invalid(problems)) => AppError::Invalid(problems).into(),
            AppError::Inspection(message) => ApiError::new(
                dropshot::ErrorStatusCode::BAD_GATEWAY,
                mcpproxy_api::codes::INTERNAL_ERROR,
                message,
            ),
            AppError::ReviewOutdated(_) | AppError::ScanBlocked { .. } => {
                ApiError::conflict(e.to_string())
            }
            AppError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
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
            AppError::Upstream(e) => match e {
                UpstreamError::NotFound { server } => {
                    ApiError::not_found(format!("Server not found: {server}"))
                }
                // A state conflict, like restarting a disabled server (see NotRunning).
                UpstreamError::Disabled { .. } => ApiError::forbidden(e.to_string()),
                UpstreamError::NotConnected { .. } => ApiError::bad_request(e.to_string()),
                UpstreamError::ShuttingDown { .. } => ApiError::not_ready(e.to_string()),
                _ => ApiError::new(
                    dropshot::ErrorStatusCode::BAD_GATEWAY,
                    mcpproxy_api::codes::INTERNAL_ERROR,
                    e.to_string(),
                ),
            },
            AppError::Held { .. } | AppError::InvalidName(_) => {
                ApiError::bad_request(e.to_string())
            }
            AppError::SecretNotFound(name) => {
                ApiError::not_found(format!("Secret not found: {name}"))
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
