//! Everything the CLI prints: aligned tables for people, JSON for scripts (`-o json`),
//! a spinner on stderr for waits longer than a second, and error messages. Nothing else in
//! `cli` prints.
//!
//! `-o json` has one shape on every command, the REST API's envelope: `{"success": true,
//! "data": …}` on stdout, and on failure `{"success": false, "error": "…", "code": "…"}`
//! on stdout (the message also on stderr) with exit code 1. Flags are JSON booleans.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

/// The format chosen for this run (set once at start).
static FORMAT: OnceLock<Format> = OnceLock::new();

/// Remember the run's output format: errors follow it.
pub fn set_format(format: Format) {
    let _ = FORMAT.set(format);
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Readable tables.
    #[default]
    Table,
    /// JSON, for scripts.
    Json,
}

/// Print `value` as the data of a successful answer: `{"success": true, "data": value}`.
pub fn json(value: &impl serde::Serialize) {
    as_json(value, |data| {
        pretty(&serde_json::json!({"success": true, "data": data}))
    });
}

/// Print one line of a stream of JSON answers (`--follow`), in the same envelope.
pub fn json_line(value: &impl serde::Serialize) {
    as_json(value, |data| {
        println!("{}", serde_json::json!({"success": true, "data": data}))
    });
}

/// Print a document as it is (pretty JSON, no envelope): something to save, not a report.
pub fn document(value: &impl serde::Serialize) {
    as_json(value, |document| pretty(&document));
}

/// `print` the JSON form of `value`, or say why there is none.
fn as_json(value: &impl serde::Serialize, print: impl FnOnce(serde_json::Value)) {
    match serde_json::to_value(value) {
        Ok(json) => print(json),
        Err(e) => eprintln!("mcpproxy: cannot format output: {e}"),
    }
}

fn pretty(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("mcpproxy: cannot format output: {e}"),
    }
}

/// `text` safe for a terminal: control characters (newlines, ANSI escapes, …) shown
/// escaped, never interpreted.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// Print rows under headers, columns aligned; cells go through [`printable`].
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let rows = rows.as_slice();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}

/// An error for a person, on stderr; with `-o json` also the error envelope on stdout
/// (`code` is the API's code when the message carries one, else `ERROR`).
pub fn error(message: impl std::fmt::Display) {
    let message = message.to_string();
    eprintln!("mcpproxy: {message}");
    if FORMAT.get() == Some(&Format::Json) {
        pretty(&serde_json::json!({
            "success": false,
            "error": message,
            "code": error_code(&message),
        }));
    }
}

/// The API's error code in a message made by `commands::describe` (`… (CODE, HTTP n)`).
fn error_code(message: &str) -> String {
    message
        .lines()
        .next()
        .and_then(|first| first.rsplit_once(" ("))
        .and_then(|(_, tail)| tail.split_once(", HTTP "))
        .map(|(code, _)| code.to_string())
        .filter(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .unwrap_or_else(|| "ERROR".into())
}

/// Run `future`; if it takes longer than a second and stderr is a terminal, show a
/// spinner with `label` until it finishes.
pub async fn with_spinner<T>(label: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::pin!(future);
    if !std::io::stderr().is_terminal() {
        return future.await;
    }
    tokio::select! {
        value = &mut future => return value,
        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    let frames = ['|', '/', '-', '\\'];
    let mut ticker = tokio::time::interval(Duration::from_millis(120));
    let mut frame = 0usize;
    loop {
        tokio::select! {
            value = &mut future => {
                eprint!("\r{}\r", " ".repeat(label.chars().count() + 2));
                return value;
            }
            _ = ticker.tick() => {
                eprint!("\r{} {label}", frames[frame % frames.len()]);
                frame += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_come_from_the_api_message() {
        assert_eq!(
            error_code("Server not found: x (NOT_FOUND, HTTP 404)\n  a: b"),
            "NOT_FOUND"
        );
        assert_eq!(error_code("cannot reach the daemon (socket)"), "ERROR");
    }

    #[test]
    fn printable_escapes_control_characters_only() {
        assert_eq!(printable("github-server"), "github-server");
        assert_eq!(printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(printable("café"), "café");
    }
}
