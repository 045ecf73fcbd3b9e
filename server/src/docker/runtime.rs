//! What a stdio server's command needs inside a container: its runtime family, the Go
//! original's runtime key (the key of `docker_isolation.default_images`), the default image
//! and the command to run in that image.

use std::path::Path;

use serde::Serialize;

/// The language runtime a command belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// python*, uvx, pip, pipx.
    Python,
    /// node, npm, npx, yarn.
    Node,
    /// go.
    Go,
    /// cargo, rustc.
    Rust,
    /// ruby, gem.
    Ruby,
    /// php, composer.
    Php,
    /// sh, bash.
    Shell,
    /// Anything else.
    Binary,
}

impl Runtime {
    /// `python`, `node`, `go`, `rust`, `ruby`, `php`, `shell` or `binary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Node => "node",
            Runtime::Go => "go",
            Runtime::Rust => "rust",
            Runtime::Ruby => "ruby",
            Runtime::Php => "php",
            Runtime::Shell => "shell",
            Runtime::Binary => "binary",
        }
    }

    /// The image used when the configuration names none.
    pub fn default_image(self) -> &'static str {
        match self {
            Runtime::Python => "python:3.11",
            Runtime::Node => "node:20",
            Runtime::Go => "golang:1.21-alpine",
            Runtime::Rust => "rust:1.75-slim",
            Runtime::Ruby => "ruby:3.2-alpine",
            Runtime::Php => "php:8.2-cli-alpine",
            Runtime::Shell | Runtime::Binary => "alpine:3.18",
        }
    }
}

fn basename(command: &str) -> &str {
    Path::new(command)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(command)
}

/// The Go original's runtime type of `command` (by basename): `python` (python, python3,
/// python3.x and anything containing "python"), `uvx`, `pip` (pip, pip3), `pipx`, `node`
/// (also anything containing "node"), `npm`, `npx`, `yarn`, `go`, `cargo`, `rustc`, `ruby`,
/// `gem`, `php`, `composer`, `sh`, `bash`, else `binary`. This is the key looked up in
/// `docker_isolation.default_images` and reported as `runtime_detected`.
pub fn runtime_key(command: &str) -> &'static str {
    let name = basename(command);
    match name {
        "python" | "python3" => "python",
        "uvx" => "uvx",
        "pip" | "pip3" => "pip",
        "pipx" => "pipx",
        "node" => "node",
        "npm" => "npm",
        "npx" => "npx",
        "yarn" => "yarn",
        "go" => "go",
        "cargo" => "cargo",
        "rustc" => "rustc",
        "ruby" => "ruby",
        "gem" => "gem",
        "php" => "php",
        "composer" => "composer",
        "sh" => "sh",
        "bash" => "bash",
        _ => {
            let lower = name.to_ascii_lowercase();
            if lower.contains("python") {
                "python"
            } else if lower.contains("node") {
                "node"
            } else {
                "binary"
            }
        }
    }
}

/// The runtime family of `command` (by basename).
pub fn detect_runtime(command: &str) -> Runtime {
    match runtime_key(command) {
        "python" | "uvx" | "pip" | "pipx" => Runtime::Python,
        "node" | "npm" | "npx" | "yarn" => Runtime::Node,
        "go" => Runtime::Go,
        "cargo" | "rustc" => Runtime::Rust,
        "ruby" | "gem" => Runtime::Ruby,
        "php" | "composer" => Runtime::Php,
        "sh" | "bash" => Runtime::Shell,
        _ => Runtime::Binary,
    }
}

/// Quote `arg` for `sh -c` when it has characters the shell would interpret.
pub(crate) fn shell_quote(arg: &str) -> String {
    if arg.is_empty() {
        return "''".to_string();
    }
    if !arg
        .chars()
        .any(|c| " \t\n\r\"'\\$`;&|<>(){}[]?*~#!".contains(c))
    {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', r#"'"'"'"#))
}

/// The program and arguments to run inside the image. Runtime tools are called by name (a
/// host path such as `/usr/local/bin/node` does not exist in the image); `uvx` and `pipx`
/// are installed with pip first; shells and other binaries run as configured.
pub(crate) fn container_command(command: &str, args: &[String]) -> Vec<String> {
    let key = runtime_key(command);
    let install_then = |tool: &str| {
        let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
        let package = if tool == "uvx" { "uv" } else { tool };
        let script = format!(
            "pip install --quiet {package} && {tool} {}",
            quoted.join(" ")
        );
        vec![
            "sh".to_string(),
            "-c".to_string(),
            script.trim_end().to_string(),
        ]
    };
    let program = match key {
        "uvx" | "pipx" => return install_then(key),
        "python" => "python".to_string(),
        "sh" | "bash" | "binary" => command.to_string(),
        other => other.to_string(),
    };
    std::iter::once(program)
        .chain(args.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_detected_by_basename() {
        let table = [
            ("python", "python", Runtime::Python),
            ("/usr/bin/python3", "python", Runtime::Python),
            ("python3.12", "python", Runtime::Python),
            ("/opt/venv/bin/mypython-wrapper", "python", Runtime::Python),
            ("uvx", "uvx", Runtime::Python),
            ("pip3", "pip", Runtime::Python),
            ("pipx", "pipx", Runtime::Python),
            ("/usr/local/bin/node", "node", Runtime::Node),
            ("npm", "npm", Runtime::Node),
            ("npx", "npx", Runtime::Node),
            ("yarn", "yarn", Runtime::Node),
            ("nodejs", "node", Runtime::Node),
            ("go", "go", Runtime::Go),
            ("cargo", "cargo", Runtime::Rust),
            ("rustc", "rustc", Runtime::Rust),
            ("ruby", "ruby", Runtime::Ruby),
            ("gem", "gem", Runtime::Ruby),
            ("php", "php", Runtime::Php),
            ("composer", "composer", Runtime::Php),
            ("/bin/sh", "sh", Runtime::Shell),
            ("bash", "bash", Runtime::Shell),
            ("/opt/bin/my-server", "binary", Runtime::Binary),
            ("gopher", "binary", Runtime::Binary),
        ];
        for (command, key, runtime) in table {
            assert_eq!(
                (runtime_key(command), detect_runtime(command)),
                (key, runtime),
                "{command}"
            );
        }
    }

    #[test]
    fn default_images_follow_the_go_table() {
        let table = [
            (Runtime::Python, "python:3.11"),
            (Runtime::Node, "node:20"),
            (Runtime::Go, "golang:1.21-alpine"),
            (Runtime::Rust, "rust:1.75-slim"),
            (Runtime::Ruby, "ruby:3.2-alpine"),
            (Runtime::Php, "php:8.2-cli-alpine"),
            (Runtime::Shell, "alpine:3.18"),
            (Runtime::Binary, "alpine:3.18"),
        ];
        for (runtime, image) in table {
            assert_eq!(runtime.default_image(), image, "{}", runtime.as_str());
        }
    }

    #[test]
    fn container_commands() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            container_command("/usr/bin/python3", &args(&["-m", "srv"])),
            args(&["python", "-m", "srv"])
        );
        assert_eq!(
            container_command("/usr/local/bin/npx", &args(&["-y", "pkg"])),
            args(&["npx", "-y", "pkg"])
        );
        assert_eq!(
            container_command("/bin/sh", &args(&["-c", "x"])),
            args(&["/bin/sh", "-c", "x"])
        );
        assert_eq!(
            container_command("./my-server", &args(&["--a"])),
            args(&["./my-server", "--a"])
        );
        assert_eq!(
            container_command("uvx", &args(&["mcp-server-fetch", "--user agent"])),
            args(&[
                "sh",
                "-c",
                "pip install --quiet uv && uvx mcp-server-fetch '--user agent'"
            ])
        );
        assert_eq!(
            container_command("pipx", &args(&["run", "x"])),
            args(&["sh", "-c", "pip install --quiet pipx && pipx run x"])
        );
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("plain-arg_1.0"), "plain-arg_1.0");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
