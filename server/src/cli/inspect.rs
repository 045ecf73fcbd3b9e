//! `mcpproxy upstream inspect NAME [--yes]`: show exactly what inspecting a server would run
//! (`GET /api/v1/servers/{name}/inspect`, which never connects), ask the person to confirm
//! on a terminal, then connect once (`POST …/inspect`) and print the tools with the
//! scanner's warnings. Without a terminal it refuses unless `--yes` says the person already
//! decided: a script must not start a quarantined server by accident.

use std::io::{BufRead, IsTerminal, Write};

use mcpproxy_client::{Client, types};

use super::commands::describe;
use super::output::{self, Format};

/// Exit code of a failed or refused inspection.
const FAILED: i32 = 1;

/// Run the command; returns the exit code.
pub async fn run(client: &Client, name: &str, yes: bool, format: Format) -> i32 {
    let plan = match plan(client, name).await {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    if !yes {
        // The plan goes to stderr so that stdout holds only the result.
        print_plan(&plan, &mut std::io::stderr());
        if !std::io::stdin().is_terminal() {
            output::error(
                "not inspecting: this runs the command above and needs a person's confirmation; \
                 run it on a terminal, or pass --yes",
            );
            return FAILED;
        }
        if !confirm(&format!("Connect to {name} and run the above now? [y/N] ")) {
            output::error("not inspected");
            return FAILED;
        }
    }
    // Run exactly what was shown: settings changed since (an agent's edit) are refused.
    let reviewed = types::ReviewRequest {
        fingerprint: Some(plan.fingerprint.clone()),
        override_reason: None,
    };
    let result = output::with_spinner(
        &format!("inspecting {name}"),
        client.server_inspect(name, &reviewed),
    )
    .await;
    match result {
        Ok(r) => {
            let inspection = r.into_inner().data;
            match format {
                Format::Json => output::json(&inspection),
                Format::Table => {
                    if yes {
                        print_plan(&inspection.plan, &mut std::io::stdout());
                    }
                    print_tools(name, &inspection.tools);
                }
            }
            0
        }
        Err(e) => {
            output::error(describe(e));
            FAILED
        }
    }
}

/// What connecting to `name` would run (never connects); a failure is reported and its
/// exit code returned.
pub async fn plan(client: &Client, name: &str) -> Result<types::InspectionPlan, i32> {
    super::commands::checked_name(name)?;
    match client.server_inspect_plan(name).await {
        Ok(r) => Ok(r.into_inner().data),
        Err(e) => {
            output::error(describe(e));
            Err(FAILED)
        }
    }
}

fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

fn print_plan(plan: &types::InspectionPlan, out: &mut dyn Write) {
    let p = output::printable;
    let mut lines: Vec<(&str, String)> = vec![(
        "server",
        format!(
            "{}{}",
            p(&plan.server_name),
            if plan.quarantined {
                " (quarantined)"
            } else {
                ""
            }
        ),
    )];
    lines.push(("transport", p(&plan.transport)));
    if !plan.runs.is_empty() {
        let argv: Vec<String> = plan.runs.iter().map(|a| shell_word(a)).collect();
        lines.push(("runs", argv.join(" ")));
    }
    if let Some(dir) = &plan.working_dir {
        lines.push(("working dir", p(dir)));
    }
    if !plan.env_names.is_empty() {
        lines.push(("env", p(&plan.env_names.join(", "))));
    }
    if let Some(url) = &plan.url {
        lines.push(("connects to", p(url)));
    }
    if !plan.header_names.is_empty() {
        lines.push(("headers", p(&plan.header_names.join(", "))));
    }
    lines.push((
        "docker",
        match &plan.docker_image {
            Some(image) if plan.docker_isolation => format!("isolated, image {}", p(image)),
            _ => "not isolated".into(),
        },
    ));
    if !plan.changed_since_approval.is_empty() {
        lines.push((
            "changed",
            format!(
                "{} since a person approved it",
                p(&plan.changed_since_approval.join(", "))
            ),
        ));
        if let Some(before) = &plan.approved_connection {
            lines.push(("approved", connection_line(before)));
            lines.push(("now", connection_line(&plan.current_connection)));
        }
    }
    lines.push((
        "known tools",
        match &plan.last_known_tools_source {
            Some(source) => format!("{} (from {})", plan.last_known_tools.len(), p(source)),
            None => "none".into(),
        },
    ));
    for (key, value) in lines {
        let _ = writeln!(out, "{key:<12} {value}");
    }
}

fn connection_line(c: &types::ConnectionSettings) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(command) = &c.command {
        let argv: Vec<String> = std::iter::once(command)
            .chain(c.args.iter())
            .map(|a| shell_word(a))
            .collect();
        parts.push(argv.join(" "));
    }
    if let Some(url) = &c.url {
        parts.push(output::printable(url));
    }
    if !c.env.is_empty() {
        let mut names: Vec<&String> = c.env.keys().collect();
        names.sort();
        parts.push(format!(
            "env {}",
            output::printable(
                &names
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        ));
    }
    parts.join("; ")
}

/// `arg` quoted for a shell when it needs it, control characters escaped.
fn shell_word(arg: &str) -> String {
    let shown = output::printable(arg);
    let plain = !shown.is_empty()
        && shown
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+*".contains(c));
    if plain {
        shown
    } else {
        format!("'{}'", shown.replace('\'', r"'\''"))
    }
}

fn print_tools(name: &str, tools: &[types::InspectedTool]) {
    let rows: Vec<Vec<String>> = tools
        .iter()
        .map(|t| {
            let description: String = t.description.chars().take(80).collect();
            vec![
                t.name.clone(),
                description,
                if t.warnings.is_empty() {
                    String::new()
                } else {
                    t.warnings.join("; ")
                },
            ]
        })
        .collect();
    output::table(&["tool", "description", "warnings"], &rows);
    let flagged = tools.iter().filter(|t| !t.warnings.is_empty()).count();
    println!(
        "{} tools, {flagged} with warnings. Nothing was approved: a person approves the server with POST /api/v1/servers/{name}/unquarantine.",
        tools.len()
    );
}
