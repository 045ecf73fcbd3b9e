//! Per-server log files: `<log_dir>/server-<name>.log`, one line per connection event and per
//! stderr line of a stdio server (`<RFC 3339 ms>Z LEVEL message`), rotated at 5 MiB with one
//! `.1` backup. Writes go through a channel to one writer task per server, which buffers
//! and flushes whenever the channel runs dry; `tail` reads lines back from the end. Every
//! line is redacted first (the server's secrets and every URL masked, [`Redactor`]): agents
//! read these lines with `tail_log`.
//!
//! Logs hold whatever a server prints, so the directory is created 0700 and each file 0600;
//! a removed server's logs are removed with it ([`remove_logs`]).

use std::{
    io::{Read, Seek, SeekFrom, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::config::{Redactor, ServerConfig};

/// A log file is rotated when it would grow past this size.
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

/// Bytes read per step when reading a file backwards.
const TAIL_CHUNK: usize = 64 * 1024;

/// One line of a server log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// When it was written.
    pub timestamp: DateTime<Utc>,
    /// INFO, WARN, ERROR or STDERR.
    pub level: String,
    /// The text.
    pub message: String,
}

/// The log file of a server name, with the name made safe for the filesystem.
pub fn log_path(dir: &Path, server: &str) -> PathBuf {
    let safe: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.chars().all(|c| c == '.') {
        format!("_{safe}")
    } else {
        safe
    };
    dir.join(format!("server-{safe}.log"))
}

fn backup_path(path: &Path) -> PathBuf {
    let mut os = path.as_os_str().to_owned();
    os.push(".1");
    PathBuf::from(os)
}

/// A cheap, cloneable handle that appends to one server's log.
#[derive(Clone)]
pub(crate) struct ServerLog {
    sender: mpsc::UnboundedSender<String>,
    path: Arc<PathBuf>,
    redactor: Arc<RwLock<Redactor>>,
}

impl ServerLog {
    /// Start the writer task of `path`. Must be called inside a Tokio runtime.
    pub(crate) fn open(path: PathBuf, logger: slog::Logger) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(path.clone(), receiver, logger));
        Self {
            sender,
            path: Arc::new(path),
            redactor: Arc::default(),
        }
    }

    /// Hide `server`'s secrets from now on (its secret-resolved configuration).
    pub(crate) fn hide_secrets_of(&self, server: &ServerConfig) {
        let redactor = Redactor::new(server);
        *self.redactor.write().unwrap_or_else(|e| e.into_inner()) = redactor;
    }

    /// `text` with the server's secrets and every URL masked.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .apply(text)
    }

    /// The file this handle writes to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Append one line; newlines inside `message` are flattened.
    pub(crate) fn write(&self, level: &str, message: &str) {
        let stamp = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let message = self
            .redact(message.trim_end_matches(['\r', '\n']))
            .replace(['\r', '\n'], " ");
        // Only fails once the writer is gone, which happens at shutdown.
        let _ = self.sender.send(format!("{stamp} {level} {message}\n"));
    }

    /// An INFO line.
    pub(crate) fn info(&self, message: &str) {
        self.write("INFO", message);
    }

    /// An ERROR line.
    pub(crate) fn error(&self, message: &str) {
        self.write("ERROR", message);
    }
}

/// Own the file: append what arrives, flush whenever nothing more is queued, rotate at the cap.
/// Appends go straight to the page cache with plain `std::fs` writes (microseconds), not
/// through `tokio::fs`, whose every operation is a round trip to the blocking pool.
async fn write_loop(
    path: PathBuf,
    mut receiver: mpsc::UnboundedReceiver<String>,
    logger: slog::Logger,
) {
    let mut file: Option<(std::io::BufWriter<std::fs::File>, u64)> = None;
    let mut warned = false;
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        while let Some(line) = next.take() {
            if let Err(error) = append(&path, &mut file, line.as_bytes())
                && !warned
            {
                warned = true;
                slog::warn!(logger, "cannot write server log"; "path" => %path.display(), "error" => %error);
            }
            next = receiver.try_recv().ok();
        }
        if let Some((writer, _)) = file.as_mut()
            && writer.flush().is_err()
        {
            file = None;
        }
    }
}

fn append(
    path: &Path,
    file: &mut Option<(std::io::BufWriter<std::fs::File>, u64)>,
    bytes: &[u8],
) -> std::io::Result<()> {
    if let Some((writer, size)) = file.as_mut()
        && *size + bytes.len() as u64 > MAX_LOG_BYTES
        && *size > 0
    {
        writer.flush()?;
        *file = None;
        std::fs::rename(path, backup_path(path))?;
    }
    if file.is_none() {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let handle = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        // A file left by an older version may be wider than 0600.
        handle.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        let size = handle.metadata()?.len();
        *file = Some((std::io::BufWriter::new(handle), size));
    }
    if let Some((writer, size)) = file.as_mut() {
        writer.write_all(bytes)?;
        *size += bytes.len() as u64;
    }
    Ok(())
}

/// Create `dir` (and missing parents) 0700. An existing directory is left as it is: a
/// configured `logging.log_dir` may be shared on purpose; the files themselves are 0600.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Remove the log of `server` in `dir` and its rotated backup; missing files are fine.
pub fn remove_logs(dir: &Path, server: &str) -> std::io::Result<()> {
    let path = log_path(dir, server);
    for file in [backup_path(&path), path] {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// The last `n` lines of the log at `path` (reaching into the `.1` backup if the current file
/// is short), oldest first. A missing file is an empty log.
pub fn tail(path: &Path, n: usize) -> std::io::Result<Vec<LogLine>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut lines = tail_lines(path, n)?;
    if lines.len() < n {
        let mut older = tail_lines(&backup_path(path), n - lines.len())?;
        older.append(&mut lines);
        lines = older;
    }
    let mut out: Vec<LogLine> = Vec::with_capacity(lines.len());
    for line in lines {
        let parsed = parse_line(&line).unwrap_or_else(|| LogLine {
            timestamp: out
                .last()
                .map(|l| l.timestamp)
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            level: String::new(),
            message: line.clone(),
        });
        out.push(parsed);
    }
    Ok(out)
}

/// Parse `TIMESTAMP LEVEL message`.
pub fn parse_line(line: &str) -> Option<LogLine> {
    let (stamp, rest) = line.split_once(' ')?;
    let timestamp = DateTime::parse_from_rfc3339(stamp)
        .ok()?
        .with_timezone(&Utc);
    let (level, message) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(LogLine {
        timestamp,
        level: level.to_string(),
        message: message.to_string(),
    })
}

/// The last `n` non-empty lines of a file, reading backwards in chunks.
fn tail_lines(path: &Path, n: usize) -> std::io::Result<Vec<String>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut pos = file.metadata()?.len();
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0usize;
    // n lines need n+1 newlines before them unless we reach the start of the file.
    while pos > 0 && newlines <= n {
        let step = (TAIL_CHUNK as u64).min(pos);
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; step as usize];
        file.read_exact(&mut chunk)?;
        newlines += chunk.iter().filter(|&&b| b == b'\n').count();
        chunks.push(chunk);
    }
    let bytes: Vec<u8> = chunks.into_iter().rev().flatten().collect();
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    // The first line may be cut in the middle if we did not reach the start.
    if pos > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let skip = lines.len().saturating_sub(n);
    Ok(lines.into_iter().skip(skip).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger() -> slog::Logger {
        slog::Logger::root(slog::Discard, slog::o!())
    }

    #[test]
    fn names_are_made_safe() {
        let dir = Path::new("/x");
        assert_eq!(log_path(dir, "github"), Path::new("/x/server-github.log"));
        assert_eq!(log_path(dir, "a/b c"), Path::new("/x/server-a_b_c.log"));
        assert_eq!(log_path(dir, ".."), Path::new("/x/server-_...log"));
    }

    #[test]
    fn parses_what_it_writes() {
        let line = parse_line("2026-11-25T17:00:00.123Z STDERR hello world").expect("parses");
        assert_eq!(line.level, "STDERR");
        assert_eq!(line.message, "hello world");
        assert_eq!(line.timestamp.timestamp_subsec_millis(), 123);
    }

    #[test]
    fn tail_reads_from_the_end_across_chunks_and_the_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server-x.log");
        let mut old = String::new();
        for i in 0..10 {
            old.push_str(&format!("2026-11-25T17:00:00.000Z INFO old {i}\n"));
        }
        std::fs::write(backup_path(&path), old).expect("write");
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("2026-11-25T17:00:01.000Z INFO line {i}\n"));
        }
        std::fs::write(&path, text).expect("write");
        let got = tail(&path, 3).expect("tail");
        let messages: Vec<&str> = got.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, ["line 19997", "line 19998", "line 19999"]);
        let all = tail(&path, 20_005).expect("tail");
        assert_eq!(all.len(), 20_005);
        assert_eq!(all[0].message, "old 5");
        assert_eq!(all[20_004].message, "line 19999");
        assert!(
            tail(&dir.path().join("missing.log"), 5)
                .expect("tail")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn the_writer_rotates_at_the_cap_and_keeps_one_backup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server-r.log");
        let log = ServerLog::open(path.clone(), logger());
        let big = "y".repeat(1000);
        for _ in 0..(6 * 1024) {
            log.info(&big);
        }
        log.info("last");
        drop(log);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let last = tail(&path, 1).expect("tail");
            if last.first().is_some_and(|l| l.message == "last") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "writer never caught up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let size = std::fs::metadata(&path).expect("meta").len();
        let backup = std::fs::metadata(backup_path(&path)).expect("backup").len();
        assert!(
            size <= MAX_LOG_BYTES && backup <= MAX_LOG_BYTES,
            "{size} {backup}"
        );
        assert!(size + backup > 6 * 1000 * 1024 - MAX_LOG_BYTES);
    }

    #[tokio::test]
    async fn lines_never_hold_the_servers_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server-s.log");
        let log = ServerLog::open(path.clone(), logger());
        let server: ServerConfig = serde_json::from_value(serde_json::json!({
            "name": "s", "command": "x", "env": {"PASS": "hunter2-value"}
        }))
        .expect("server");
        log.hide_secrets_of(&server);
        log.write(
            "STDERR",
            "login with hunter2-value at https://h/?token=t0k3n",
        );
        log.info("last");
        drop(log);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let lines = loop {
            let lines = tail(&path, 2).expect("tail");
            if lines.last().is_some_and(|l| l.message == "last") {
                break lines;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "writer never caught up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(
            lines[0].message,
            "login with ******** at https://h/?token=********"
        );
    }
}
