//! Commands that need no daemon: `config path`, `config init`, `config show` (the daemon's
//! masked view when one runs, else the file masked locally) and `completion bash|zsh|fish`.

use std::path::Path;

use clap::CommandFactory;

use super::commands::FAILED;
use super::output::{self, Format};

/// `mcpproxy config path`: the configuration file this command line uses.
pub fn config_path(path: &Path, format: Format) -> i32 {
    let exists = path.exists();
    match format {
        Format::Json => output::json(&serde_json::json!({"path": path, "exists": exists})),
        Format::Table => println!("{}", path.display()),
    }
    0
}

/// `mcpproxy config init`: write the default configuration; an existing file is kept.
pub fn config_init(path: &Path, format: Format) -> i32 {
    if path.exists() {
        output::error(format!(
            "{} exists already; not overwritten (edit it, or remove it first)",
            path.display()
        ));
        return FAILED;
    }
    let store = crate::config::ConfigStore::new(path.to_path_buf());
    match store.save(&crate::config::Config::default()) {
        Ok(()) => {
            match format {
                Format::Json => output::json(&serde_json::json!({"path": path, "created": true})),
                Format::Table => println!(
                    "created {}; add servers with `mcpproxy upstream add` or `mcpproxy upstream import`",
                    path.display()
                ),
            }
            0
        }
        Err(e) => {
            output::error(e);
            FAILED
        }
    }
}

/// `mcpproxy config show`: the running configuration (secrets masked), from the daemon when
/// one runs, else from the file.
pub async fn config_show(
    client: Option<&mcpproxy_client::Client>,
    path: &Path,
    format: Format,
) -> i32 {
    let shown = match client {
        Some(client) => match client.config_get().await {
            Ok(r) => serde_json::to_value(r.into_inner().data.config).map_err(|e| e.to_string()),
            Err(e) => Err(super::commands::describe(e)),
        },
        None => crate::config::ConfigStore::new(path.to_path_buf())
            .read()
            .map_err(|e| e.to_string())
            .and_then(|c| {
                serde_json::to_value(crate::config::mask_config(&c)).map_err(|e| e.to_string())
            }),
    };
    match shown {
        Ok(config) => {
            match format {
                Format::Json => output::json(&config),
                Format::Table => match serde_json::to_string_pretty(&config) {
                    Ok(text) => println!("{text}"),
                    Err(e) => output::error(e),
                },
            }
            0
        }
        Err(e) => {
            output::error(e);
            FAILED
        }
    }
}

/// The shells `completion` writes scripts for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    /// bash (`source <(mcpproxy completion bash)`).
    Bash,
    /// zsh (`mcpproxy completion zsh > "${fpath[1]}/_mcpproxy"`).
    Zsh,
    /// fish (`mcpproxy completion fish > ~/.config/fish/completions/mcpproxy.fish`).
    Fish,
}

/// `mcpproxy completion SHELL`: the completion script on stdout, generated from the
/// command line's own definition (so it never drifts from it).
pub fn completion(shell: Shell) -> i32 {
    let mut command = super::Cli::command();
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into a buffer first: clap_complete panics on a failed write (`| head` closing the pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "mcpproxy", &mut script);
    use std::io::Write;
    match std::io::stdout().write_all(&script) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            output::error(format!("cannot write the script: {e}"));
            FAILED
        }
    }
}
