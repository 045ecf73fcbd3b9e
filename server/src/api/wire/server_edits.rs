//! A person's server add, update and remove on the wire: the request bodies become
//! configuration entries (one place applies the fields, for add and update alike) and the
//! outcome becomes the Go-compatible `{success, server, action, async, data}`.

use mcpproxy_api::{ApiError, types};
use serde_json::{Value, json};

use crate::app::ImportOutcome;
use crate::config::ServerConfig;

/// A new server from an add request: enabled and not quarantined unless the body says so.
pub fn new_server(body: types::ServerAddRequest) -> Result<ServerConfig, ApiError> {
    let mut server: ServerConfig =
        serde_json::from_value(json!({"name": body.name, "enabled": true}))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut fields = serde_json::to_value(&body)
        .map_err(|e| ApiError::internal(format!("cannot read the request: {e}")))?;
    if let Value::Object(map) = &mut fields {
        map.remove("name");
    }
    let fields: types::ServerPatchRequest =
        serde_json::from_value(fields).map_err(|e| ApiError::bad_request(e.to_string()))?;
    apply(&mut server, fields);
    Ok(server)
}

/// Apply the fields present in `patch` to `server`; an empty string clears a text field.
pub fn apply(server: &mut ServerConfig, patch: types::ServerPatchRequest) {
    let text = |slot: &mut Option<String>, value: Option<String>| {
        if let Some(value) = value {
            *slot = Some(value).filter(|v| !v.is_empty());
        }
    };
    text(&mut server.command, patch.command);
    text(&mut server.url, patch.url);
    text(&mut server.protocol, patch.protocol);
    text(&mut server.working_dir, patch.working_dir);
    text(&mut server.handshake, patch.handshake);
    if let Some(args) = patch.args {
        server.args = args;
    }
    if let Some(env) = patch.env {
        server.env = env.into_iter().collect();
    }
    if let Some(headers) = patch.headers {
        server.headers = headers.into_iter().collect();
    }
    if let Some(isolation) = patch.isolation {
        server.isolation = Some(Value::Object(isolation));
    }
    if let Some(enabled) = patch.enabled {
        server.enabled = enabled;
    }
    if let Some(quarantined) = patch.quarantined {
        server.quarantined = quarantined;
    }
}

/// The answer to an add, update or remove of `server` (its entry after the change).
pub fn change(
    server: &ServerConfig,
    action: &str,
    changed: &[&str],
) -> types::ServerChangeResponse {
    let starts = action != "remove" && server.should_connect();
    types::ServerChangeResponse {
        success: true,
        server: server.name.clone(),
        action: action.into(),
        async_: starts,
        data: types::ServerChange {
            server: server.name.clone(),
            action: action.into(),
            success: true,
            enabled: server.enabled,
            quarantined: server.quarantined,
            changed: changed.iter().map(|c| c.to_string()).collect(),
        },
    }
}

/// The answer to an import: the bulk result's counters (`total` entries considered,
/// `successful` imported) with what was imported and what was skipped, and why.
pub fn imported(outcome: ImportOutcome) -> types::BulkOperationResponse {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let imported: Vec<types::ImportedServer> = outcome
        .imported
        .iter()
        .map(|s| types::ImportedServer {
            name: s.name.clone(),
            protocol: s.protocol_name().to_string(),
            command: s.command.clone(),
            args: s.args.clone(),
            url: s.url.clone(),
            enabled: s.enabled,
            quarantined: s.quarantined,
        })
        .collect();
    let skipped: Vec<types::SkippedServer> = outcome
        .skipped
        .iter()
        .map(|s| types::SkippedServer {
            name: s.name.clone(),
            reason: s.reason.clone(),
        })
        .collect();
    types::BulkOperationResponse {
        success: true,
        data: types::BulkOperationResult {
            total: count(imported.len() + skipped.len()),
            successful: count(imported.len()),
            failed: count(skipped.len()),
            errors: outcome
                .skipped
                .into_iter()
                .map(|s| (s.name, s.reason))
                .collect(),
            format: Some(outcome.format),
            preview: Some(!outcome.applied),
            imported: Some(imported),
            skipped: Some(skipped),
        },
    }
}
