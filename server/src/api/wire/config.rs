//! Tag `config`: the configuration document, validation and apply outcomes.

use mcpproxy_api::{ApiError, types};

use crate::app::ApplyOutcome;
use crate::config::{Config, Problem};

/// `GET /api/v1/config`, secrets masked.
pub fn config_view(
    masked: Config,
    path: &std::path::Path,
) -> Result<types::ConfigResponse, ApiError> {
    let serde_json::Value::Object(map) = serde_json::to_value(masked)
        .map_err(|e| ApiError::internal(format!("cannot serialize config: {e}")))?
    else {
        return Err(ApiError::internal("configuration is not an object"));
    };
    Ok(types::ConfigResponse {
        success: true,
        data: types::ConfigView {
            config: types::ConfigDocument(map),
            config_path: path.display().to_string(),
        },
    })
}

/// `POST /api/v1/config/validate`.
pub fn validation(problems: Vec<Problem>) -> types::ValidateConfigResponse {
    types::ValidateConfigResponse {
        success: true,
        data: types::ValidationReport {
            valid: problems.is_empty(),
            errors: problems
                .into_iter()
                .map(|p| types::ValidationError {
                    field: p.field,
                    message: p.message,
                })
                .collect(),
        },
    }
}

/// `POST /api/v1/config/apply`.
pub fn apply(outcome: ApplyOutcome) -> types::ConfigApplyResponse {
    types::ConfigApplyResponse {
        success: true,
        data: types::ConfigApplyResult {
            success: true,
            applied_immediately: outcome.applied_immediately,
            requires_restart: outcome.requires_restart,
            restart_reason: outcome.restart_reason,
            changed_fields: outcome.changed_fields,
        },
    }
}
