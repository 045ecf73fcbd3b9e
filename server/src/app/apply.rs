//! `config/validate` and `config/apply`: validation, change detection and hot apply — the
//! one apply path, shared by the REST endpoint and the config file watcher (`reload`).

use super::{App, AppError};
use crate::config::{Config, Problem, unmask, validate};
use crate::events::{Event, ServerChange};

/// Fields whose change takes effect only after a restart, with the reason given.
const RESTART_FIELDS: [(&str, &str); 11] = [
    (
        "listen",
        "Listen address changed - requires HTTP server restart",
    ),
    (
        "data_dir",
        "Data directory changed - requires database restart",
    ),
    ("api_key", "API key changed - requires restart"),
    ("enable_socket", "Socket setting changed - requires restart"),
    (
        "history_max_calls",
        "History retention changed - applies after a restart",
    ),
    (
        "history_max_age",
        "History retention changed - applies after a restart",
    ),
    (
        "history_max_sessions",
        "History retention changed - applies after a restart",
    ),
    (
        "cors_allowed_origins",
        "HTTP server settings changed - requires restart",
    ),
    (
        "http_header_timeout",
        "HTTP server settings changed - requires restart",
    ),
    (
        "http_first_byte_timeout",
        "HTTP server settings changed - requires restart",
    ),
    (
        "max_connections",
        "HTTP server settings changed - requires restart",
    ),
];

/// Where a configuration to apply comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplySource {
    /// `POST /api/v1/config/apply`: the document is saved to the file.
    Api,
    /// The file changed on disk: it already holds the document, so it is not written back.
    File,
}

impl ApplySource {
    /// `api` or `file`, as in the `config.reloaded` payload.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplySource::Api => "api",
            ApplySource::File => "file",
        }
    }
}

/// What `config/apply` did.
#[derive(Debug, Clone)]
pub struct ApplyOutcome {
    /// The running proxy uses the new configuration now.
    pub applied_immediately: bool,
    /// Some change needs a restart (the file is saved anyway).
    pub requires_restart: bool,
    /// Why, or "No configuration changes detected".
    pub restart_reason: Option<String>,
    /// Top-level keys that changed, in file order.
    pub changed_fields: Vec<String>,
}

/// Top-level keys whose values differ between two configurations.
pub fn changed_fields(old: &Config, new: &Config) -> Vec<String> {
    let (Ok(serde_json::Value::Object(old)), Ok(serde_json::Value::Object(new))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    let mut fields: Vec<String> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    fields.extend(old.keys().filter(|k| !new.contains_key(*k)).cloned());
    fields
}

impl App {
    /// Parse a configuration document; serde's message names the offending field.
    pub fn parse_document(
        &self,
        document: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Config, AppError> {
        serde_json::from_value(serde_json::Value::Object(document))
            .map_err(|e| AppError::Malformed(crate::config::mask_parse_error(&e.to_string())))
    }

    /// Every problem of a configuration document, nothing applied.
    pub fn validate_document(
        &self,
        document: serde_json::Map<String, serde_json::Value>,
    ) -> Vec<Problem> {
        match self.parse_document(document) {
            Ok(mut config) => {
                let mut problems = validate(&config);
                problems.extend(unmask(&mut config, &self.config()));
                problems
            }
            Err(e) => vec![Problem {
                field: "(document)".into(),
                message: e.to_string(),
            }],
        }
    }

    /// Validate, save atomically and apply a whole configuration document. Masked secrets
    /// coming back from `GET /config` are restored (a mask with no real value at the same
    /// place is refused, naming the field), and an absent API key keeps the current one, so a
    /// round trip never loses a secret nor writes a mask to disk.
    pub async fn apply_document(
        &self,
        document: serde_json::Map<String, serde_json::Value>,
    ) -> Result<ApplyOutcome, AppError> {
        let incoming = self.parse_document(document)?;
        self.apply_config(incoming, ApplySource::Api).await
    }

    /// Validate and apply a whole configuration: only the upstreams whose connection
    /// settings changed restart. Saved to the file unless it came from the file.
    pub async fn apply_config(
        &self,
        mut incoming: Config,
        source: ApplySource,
    ) -> Result<ApplyOutcome, AppError> {
        let problems = validate(&incoming);
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        let current = self.config();
        let unresolved = unmask(&mut incoming, &current);
        // A file that holds a mask literally is the user's text: it is applied as written.
        if source == ApplySource::Api && !unresolved.is_empty() {
            return Err(AppError::Invalid(unresolved));
        }
        let fields = changed_fields(&current, &incoming);
        if fields.is_empty() {
            return Ok(ApplyOutcome {
                applied_immediately: false,
                requires_restart: false,
                restart_reason: Some("No configuration changes detected".into()),
                changed_fields: Vec::new(),
            });
        }
        self.change_config(
            |config| {
                *config = incoming;
                Ok(())
            },
            source == ApplySource::Api,
        )
        .await?;
        let restart_reason = RESTART_FIELDS
            .iter()
            .find(|(field, _)| fields.iter().any(|f| f == field))
            .map(|(_, why)| why.to_string());
        self.bus.publish(Event::ConfigReloaded {
            path: self.config_path().to_path_buf(),
            changed_fields: fields.clone(),
            source: source.as_str(),
        });
        if fields.iter().any(|f| f == "mcpServers") {
            self.bus
                .publish(Event::ServersChanged(ServerChange::ConfigHotReload {
                    changed_fields: fields.clone(),
                }));
        }
        Ok(ApplyOutcome {
            applied_immediately: restart_reason.is_none(),
            requires_restart: restart_reason.is_some(),
            restart_reason,
            changed_fields: fields,
        })
    }
}
