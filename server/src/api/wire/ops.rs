//! Domain values → wire types for the operational endpoints: secrets, Docker status,
//! diagnostics and the `update` object of `/info`.

use mcpproxy_api::types;

use super::count;
use crate::app::{Category, Diagnostics, DockerState, Issue, SecretView, Severity};
use crate::update::UpdateInfo;

fn secret(view: SecretView) -> types::SecretInfo {
    types::SecretInfo {
        name: view.name,
        type_: view.kind.as_str().to_string(),
        reference: view.reference,
        is_set: view.is_set,
        used_by: view.used_by,
    }
}

/// `GET /api/v1/secrets`.
pub fn secret_list(views: Vec<SecretView>) -> types::SecretListResponse {
    types::SecretListResponse {
        success: true,
        data: types::SecretList {
            count: count(views.len()),
            secrets: views.into_iter().map(secret).collect(),
        },
    }
}

/// `GET /api/v1/secrets/{name}`.
pub fn secret_get(view: SecretView) -> types::SecretResponse {
    types::SecretResponse {
        success: true,
        data: secret(view),
    }
}

/// `POST /api/v1/secrets`.
pub fn secret_stored(name: String) -> types::SecretStoreResponse {
    types::SecretStoreResponse {
        success: true,
        data: types::SecretStored {
            message: "Secret stored".into(),
            reference: format!("${{keyring:{name}}}"),
            name,
            type_: "keyring".into(),
        },
    }
}

/// `DELETE /api/v1/secrets/{name}`.
pub fn secret_deleted(name: String) -> types::SecretDeleteResponse {
    types::SecretDeleteResponse {
        success: true,
        data: types::SecretDeleted {
            message: "Secret deleted".into(),
            name,
            type_: "keyring".into(),
        },
    }
}

/// `GET /api/v1/docker/status`.
pub fn docker_status(state: DockerState) -> types::DockerStatusResponse {
    let DockerState {
        isolation_enabled,
        status,
        last_successful_at,
    } = state;
    types::DockerStatusResponse {
        success: true,
        data: types::DockerStatus {
            isolation_enabled,
            docker_available: status.available,
            version: status.version,
            recovery_mode: status.recovery_mode,
            failure_count: status.failure_count,
            last_attempt: Some(status.checked_at),
            last_successful_at,
            last_error: status.last_error,
        },
    }
}

fn issue(issue: Issue) -> types::DiagnosticIssue {
    types::DiagnosticIssue {
        category: match issue.category {
            Category::UpstreamError => types::DiagnosticCategory::UpstreamError,
            Category::OauthRequired => types::DiagnosticCategory::OauthRequired,
            Category::MissingSecret => types::DiagnosticCategory::MissingSecret,
            Category::Quarantined => types::DiagnosticCategory::Quarantined,
            Category::ChangedTools => types::DiagnosticCategory::ChangedTools,
            Category::Docker => types::DiagnosticCategory::Docker,
            Category::Config => types::DiagnosticCategory::Config,
            Category::Security => types::DiagnosticCategory::Security,
        },
        severity: match issue.severity {
            Severity::Error => types::DiagnosticSeverity::Error,
            Severity::Warning => types::DiagnosticSeverity::Warning,
        },
        server: issue.server,
        message: issue.message,
        action: issue.action,
    }
}

/// `GET /api/v1/diagnostics` and `/doctor`.
pub fn diagnostics(d: Diagnostics) -> types::DiagnosticsResponse {
    types::DiagnosticsResponse {
        success: true,
        data: types::Diagnostics {
            total_issues: count(d.issues.len()),
            issues: d.issues.into_iter().map(issue).collect(),
            upstream_errors: d
                .upstream_errors
                .into_iter()
                .map(|u| types::UpstreamErrorDiagnostic {
                    server_name: u.server_name,
                    error_message: u.error_message,
                    timestamp: u.timestamp,
                })
                .collect(),
            oauth_required: d
                .oauth_required
                .into_iter()
                .map(|(server, state)| types::OAuthRequiredDiagnostic {
                    message: format!("Run: mcpproxy auth login --server={server}"),
                    server_name: server,
                    state,
                })
                .collect(),
            missing_secrets: d
                .missing_secrets
                .into_iter()
                .map(|s| types::MissingSecretDiagnostic {
                    secret_name: s.name,
                    type_: s.kind.as_str().to_string(),
                    used_by: s.used_by,
                })
                .collect(),
            runtime_warnings: d.runtime_warnings,
            docker_status: d.docker.map(|s| types::DiagnosticsDockerStatus {
                available: s.available,
                version: s.version,
                error: s.last_error,
            }),
            timestamp: d.timestamp,
        },
    }
}

/// The `update` object of `/info`; `None` until a check has finished.
pub fn update(info: Option<UpdateInfo>) -> Option<types::UpdateInfo> {
    info.map(|u| types::UpdateInfo {
        available: u.available,
        latest_version: u.latest_version,
        release_url: u.release_url,
        checked_at: u.checked_at,
        is_prerelease: u.is_prerelease,
        check_error: u.check_error,
    })
}
