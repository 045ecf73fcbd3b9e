//! Importing servers from other MCP clients' files (`POST /api/v1/servers/import`,
//! `mcpproxy upstream import`): the entries `config::import` read are checked against the
//! running configuration — a name already configured, or the same command and arguments or
//! URL under another name, is skipped, and so is an entry the config's rules refuse — then,
//! unless it is a preview, added in one atomic write. Imported servers are quarantined: a
//! file someone else wrote decides what would run, so a person reviews each first.

use super::{App, AppError};
use crate::config::import::{Parsed, Skipped};
use crate::config::{ConnectionSettings, ServerConfig, mask_server, validate};
use crate::events::{Event, ServerChange};

/// What an import did (or, as a preview, would do).
#[derive(Debug, Clone, Default)]
pub struct ImportOutcome {
    /// The format the file was read as.
    pub format: String,
    /// Servers added (or that would be), secrets masked.
    pub imported: Vec<ServerConfig>,
    /// Entries left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Whether this was an import (false: a preview, nothing written).
    pub applied: bool,
}

/// Why `server` duplicates one of `existing`, if it does.
fn duplicate_of(server: &ServerConfig, existing: &[ServerConfig]) -> Option<String> {
    if existing.iter().any(|s| s.name == server.name) {
        return Some(format!(
            "a server named {} is already configured",
            server.name
        ));
    }
    let settings = ConnectionSettings::of(server);
    let same = |s: &&ServerConfig| {
        let other = ConnectionSettings::of(s);
        match (&server.url, &server.command) {
            (Some(url), _) => s.url.as_ref() == Some(url),
            (None, Some(_)) => other.command == settings.command && other.args == settings.args,
            (None, None) => false,
        }
    };
    existing
        .iter()
        .find(same)
        .map(|s| format!("already configured as {}", s.name))
}

impl App {
    /// Import `parsed` (only the entries named in `only`, when given): quarantined, skipping
    /// duplicates and invalid entries. A preview (`apply` false) writes nothing.
    pub async fn import_servers(
        &self,
        parsed: Parsed,
        only: Option<&[String]>,
        apply: bool,
    ) -> Result<ImportOutcome, AppError> {
        let mut skipped = parsed.skipped;
        let mut accepted: Vec<ServerConfig> = Vec::new();
        let config = self.config();
        let now = chrono::Utc::now();
        for mut server in parsed.servers {
            if only.is_some_and(|names| !names.contains(&server.name)) {
                continue;
            }
            let reason = duplicate_of(&server, &config.servers).or_else(|| {
                // The config's own rules, on the configuration as it would be.
                let mut trial = (*config).clone();
                trial.servers.push(server.clone());
                let problems = validate(&trial);
                (!problems.is_empty()).then(|| {
                    problems
                        .iter()
                        .map(|p| format!("{}: {}", p.field, p.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            });
            if let Some(reason) = reason {
                skipped.push(Skipped {
                    name: server.name,
                    reason,
                });
                continue;
            }
            server.quarantined = true;
            server.created = Some(now);
            server.updated = Some(now);
            accepted.push(server);
        }
        if apply && !accepted.is_empty() {
            let added = accepted.clone();
            self.update_config(|config| {
                for server in &added {
                    if let Some(reason) = duplicate_of(server, &config.servers) {
                        return Err(AppError::Duplicate {
                            server: server.name.clone(),
                            reason,
                        });
                    }
                }
                config.servers.extend(added);
                Ok(())
            })
            .await?;
            for server in &accepted {
                self.forget_review(&server.name, true);
            }
            self.bus
                .publish(Event::ServersChanged(ServerChange::Imported {
                    format: parsed.format.clone(),
                    servers: accepted.iter().map(|s| s.name.clone()).collect(),
                }));
        }
        Ok(ImportOutcome {
            format: parsed.format,
            imported: accepted.iter().map(mask_server).collect(),
            skipped,
            applied: apply,
        })
    }
}
