//! `mcpproxy upstream approve NAME [--tool T …|--all-tools] [--reason R] [--fingerprint F]`:
//! a person's approval. Without tools it takes the server out of quarantine
//! (`POST /api/v1/servers/{name}/unquarantine`); with tools it approves changed tools or
//! tools the scanner holds back (`POST …/tools/approve`). `--reason` overrides the
//! tool-poisoning scanner's `block` findings and is recorded with them.

use mcpproxy_client::{Client, types};

use super::commands::{checked_name, describe, finish};
use super::output::{self, Format};

/// What to approve.
pub struct Approve<'a> {
    /// Server name.
    pub name: &'a str,
    /// Tools to approve (none: the server itself).
    pub tools: &'a [String],
    /// Every changed or held tool of the server.
    pub all_tools: bool,
    /// Why the scanner's `block` findings are overridden.
    pub reason: Option<&'a str>,
    /// The reviewed plan's fingerprint (server approval only).
    pub fingerprint: Option<&'a str>,
}

/// Run the command; returns the exit code.
pub async fn run(client: &Client, a: Approve<'_>, format: Format) -> i32 {
    let name = match checked_name(a.name) {
        Ok(name) => name,
        Err(code) => return code,
    };
    let reason = a.reason.map(str::to_string);
    if a.tools.is_empty() && !a.all_tools {
        // The plan a person approves is the one configured now (its fingerprint).
        let fingerprint = match a.fingerprint {
            Some(f) => f.to_string(),
            None => match super::inspect::plan(client, name).await {
                Ok(plan) => plan.fingerprint,
                Err(code) => return code,
            },
        };
        let body = types::ReviewRequest {
            fingerprint: Some(fingerprint),
            override_reason: reason,
        };
        return finish(
            client
                .server_unquarantine(name, &body)
                .await
                .map(|r| r.into_inner())
                .map_err(describe),
            |done| match format {
                Format::Json => output::json(&done.data),
                Format::Table => {
                    let changed = &done.data.changed_since_approval;
                    if changed.is_empty() {
                        println!("{}: approved", done.data.server);
                    } else {
                        println!(
                            "{}: approved, with changes since the previous approval: {}",
                            done.data.server,
                            output::printable(&changed.join(", "))
                        );
                    }
                }
            },
        );
    }
    let body = types::ApproveToolsRequest {
        tools: (!a.tools.is_empty()).then(|| a.tools.to_vec()),
        approve_all: a.all_tools.then_some(true),
        reason,
    };
    finish(
        client
            .server_tools_approve(name, &body)
            .await
            .map(|r| r.into_inner())
            .map_err(describe),
        |done| match format {
            Format::Json => output::json(&done.data),
            Format::Table => println!(
                "{}: approved {}",
                done.data.server_name,
                done.data.approved.join(", ")
            ),
        },
    )
}
