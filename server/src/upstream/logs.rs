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

use super::log_feed::{FedLine, LogFeed};
use crate::config::{Redactor, ServerConfig};

/// A log file is rotated when it would grow past this size.
pub const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

/// The most lines one read of a log returns (the REST route's `tail` cap).
pub const MAX_LINES_PER_READ: usize = 10_000;

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
    redactor: Arc<RwLock<Redactor>>,
    /// The live feed each line is also offered to, with the server's name.
    feed: Option<(LogFeed, Arc<str>)>,
}

impl ServerLog {
    /// Start the writer task of `path`. Must be called inside a Tokio runtime.
    pub(crate) fn open(path: PathBuf, logger: slog::Logger) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(path, receiver, logger));
        Self {
            sender,
            redactor: Arc::default(),
            feed: None,
        }
    }

    /// Offer every line to `feed` too, as `server`'s.
    pub(crate) fn feeding(mut self, feed: LogFeed, server: &str) -> Self {
        self.feed = Some((feed, server.into()));
        self
    }

    /// Hide `server`'s secrets from now on (its secret-resolved configuration).
    pub(crate) fn hide_secrets_of(&self, server: &ServerConfig) {
        let redactor = Redactor::new(server);
        *crate::sync::write(&self.redactor) = redactor;
    }

    /// `text` with the server's secrets and every URL masked.
    pub(crate) fn redact(&self, text: &str) -> String {
        crate::sync::read(&self.redactor).apply(text)
    }

    /// Append one line; newlines inside `message` are flattened.
    pub(crate) fn write(&self, level: &str, message: &str) {
        let now = Utc::now();
        let stamp = now.format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let message = self
            .redact(message.trim_end_matches(['\r', '\n']))
            .replace(['\r', '\n'], " ");
        // Only fails once the writer is gone, which happens at shutdown.
        let _ = self.sender.send(format!("{stamp} {level} {message}\n"));
        if let Some((feed, server)) = &self.feed {
            feed.offer(|| FedLine {
                server: server.clone(),
                timestamp: now,
                level: level.to_string(),
                message,
            });
        }
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

/// Where a reader of a log stopped: the file (by inode, which a rotation keeps for the
/// backup) and the byte offset just after the last whole line read. Written `INODE-OFFSET`;
/// inode 0 (the default) stands for a log that did not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogCursor {
    inode: u64,
    offset: u64,
}

impl std::fmt::Display for LogCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.inode, self.offset)
    }
}

/// A cursor that is not `INODE-OFFSET`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a log cursor (use the `cursor` of an earlier answer)")]
pub struct BadCursor(String);

impl std::str::FromStr for LogCursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadCursor(text.chars().take(64).collect());
        let (inode, offset) = text.split_once('-').ok_or_else(bad)?;
        Ok(Self {
            inode: inode.parse().map_err(|_| bad())?,
            offset: offset.parse().map_err(|_| bad())?,
        })
    }
}

/// Where to start reading a log.
#[derive(Debug, Clone, Copy)]
pub enum LogStart {
    /// The last lines.
    Tail,
    /// The lines written after an earlier read stopped.
    After(LogCursor),
}

/// Lines read from a log, oldest first, and where to continue. The default is the empty
/// read of a log not written yet, whose cursor reads it from its first line.
#[derive(Debug, Clone, Default)]
pub struct LogRead {
    /// The lines.
    pub lines: Vec<LogLine>,
    /// Pass back as [`LogStart::After`] for only what comes next.
    pub cursor: LogCursor,
    /// Lines after the given cursor were lost (the log rotated twice since).
    pub gap: bool,
}

/// At most `n` lines of the log at `path` from `start`, oldest first, with the cursor after
/// the last whole line returned: reading on from it never misses or repeats a line, across
/// rotations (the backup is read first when the cursor points into it).
pub fn read(path: &Path, start: LogStart, n: usize) -> std::io::Result<LogRead> {
    let current = open_existing(path)?;
    let (raw, cursor, gap) = match start {
        LogStart::Tail => {
            let (mut lines, cursor) = tail_lines(current.as_ref(), n)?;
            if lines.len() < n {
                let backup = open_existing(&backup_path(path))?;
                let (mut older, _) = tail_lines(backup.as_ref(), n - lines.len())?;
                older.append(&mut lines);
                lines = older;
            }
            (lines, cursor, false)
        }
        LogStart::After(cursor) => lines_after(path, current.as_ref(), cursor, n)?,
    };
    let mut out: Vec<LogLine> = Vec::with_capacity(raw.len());
    for line in raw {
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
    Ok(LogRead {
        lines: out,
        cursor,
        gap,
    })
}

/// The file at `path`, or `None` when there is none.
fn open_existing(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    match std::fs::File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn inode(file: Option<&std::fs::File>) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(match file {
        Some(file) => file.metadata()?.ino(),
        None => 0,
    })
}

/// The lines after `cursor`: in the current file, or in the backup and then the current file
/// when a rotation moved the cursor's file aside. `(lines, next cursor, gap)`.
fn lines_after(
    path: &Path,
    current: Option<&std::fs::File>,
    cursor: LogCursor,
    n: usize,
) -> std::io::Result<(Vec<String>, LogCursor, bool)> {
    let current_inode = inode(current)?;
    if current.is_some() && cursor.inode == current_inode {
        return match current {
            Some(file) if cursor.offset <= file.metadata()?.len() => {
                let (lines, offset) = lines_from(file, cursor.offset, n)?;
                Ok((lines, LogCursor { offset, ..cursor }, false))
            }
            // Shorter than where we stopped: the file was cut; read it again whole.
            _ => {
                let (lines, offset) = lines_from_optional(current, 0, n)?;
                let next = LogCursor {
                    inode: current_inode,
                    offset,
                };
                Ok((lines, next, true))
            }
        };
    }
    let backup = open_existing(&backup_path(path))?;
    let in_backup = backup.is_some() && cursor.inode == inode(backup.as_ref())?;
    // The cursor's file is gone (rotated twice) unless it is the backup or there was none.
    let gap = !in_backup && cursor.inode != 0;
    let mut lines = Vec::new();
    if in_backup || cursor.inode == 0 {
        let from = if in_backup { cursor.offset } else { 0 };
        let (older, offset) = lines_from_optional(backup.as_ref(), from, n)?;
        lines = older;
        if lines.len() == n {
            let inode = inode(backup.as_ref())?;
            return Ok((lines, LogCursor { inode, offset }, gap));
        }
    }
    let (newer, offset) = lines_from_optional(current, 0, n - lines.len())?;
    lines.extend(newer);
    let next = LogCursor {
        inode: current_inode,
        offset,
    };
    Ok((lines, next, gap))
}

fn lines_from_optional(
    file: Option<&std::fs::File>,
    offset: u64,
    n: usize,
) -> std::io::Result<(Vec<String>, u64)> {
    match file {
        Some(file) => lines_from(file, offset, n),
        None => Ok((Vec::new(), 0)),
    }
}

/// Up to `n` whole non-empty lines of `file` from byte `offset`, and the offset after the
/// last line taken (a line still being written is left for the next read).
fn lines_from(file: &std::fs::File, offset: u64, n: usize) -> std::io::Result<(Vec<String>, u64)> {
    let mut reader = file;
    reader.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    // A log never grows past the cap; bound the read anyway against a foreign file.
    reader.take(2 * MAX_LOG_BYTES).read_to_end(&mut bytes)?;
    let mut lines = Vec::new();
    let mut consumed = 0usize;
    while lines.len() < n {
        let Some(end) = bytes[consumed..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = &bytes[consumed..consumed + end];
        consumed += end + 1;
        if !line.is_empty() {
            lines.push(String::from_utf8_lossy(line).into_owned());
        }
    }
    Ok((lines, offset + consumed as u64))
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

/// The last `n` whole non-empty lines of a file, reading backwards in chunks, and the cursor
/// after them (a line still being written is left for the next read).
fn tail_lines(file: Option<&std::fs::File>, n: usize) -> std::io::Result<(Vec<String>, LogCursor)> {
    let Some(mut file) = file else {
        return Ok((
            Vec::new(),
            LogCursor {
                inode: 0,
                offset: 0,
            },
        ));
    };
    let len = file.metadata()?.len();
    let mut pos = len;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0usize;
    // n lines need n+1 newlines before them (and one after) unless we reach the start.
    while pos > 0 && newlines <= n + 1 {
        let step = (TAIL_CHUNK as u64).min(pos);
        pos -= step;
        file.seek(SeekFrom::Start(pos))?;
        let mut chunk = vec![0u8; step as usize];
        file.read_exact(&mut chunk)?;
        newlines += chunk.iter().filter(|&&b| b == b'\n').count();
        chunks.push(chunk);
    }
    let mut bytes: Vec<u8> = chunks.into_iter().rev().flatten().collect();
    // Only whole lines: what follows the last newline is still being written.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(whole);
    let cursor = LogCursor {
        inode: inode(Some(file))?,
        offset: pos + whole as u64,
    };
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
    Ok((lines.into_iter().skip(skip).collect(), cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last `n` lines, reaching into the backup when the current file is short.
    fn tail(path: &Path, n: usize) -> std::io::Result<Vec<LogLine>> {
        read(path, LogStart::Tail, n).map(|read| read.lines)
    }

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

    fn appended(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open");
        file.write_all(text.as_bytes()).expect("append");
    }

    fn messages(read: &LogRead) -> Vec<&str> {
        read.lines.iter().map(|l| l.message.as_str()).collect()
    }

    #[test]
    fn a_cursor_reads_on_without_missing_or_repeating_across_a_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server-f.log");
        let empty = read(&path, LogStart::Tail, 10).expect("read");
        assert!(empty.lines.is_empty());
        appended(
            &path,
            "2026-11-25T17:00:00.000Z INFO a\n2026-11-25T17:00:00.000Z INFO b\n",
        );
        // A line still being written is not returned, and not skipped later.
        appended(&path, "2026-11-25T17:00:00.000Z INFO par");
        let first = read(&path, LogStart::After(empty.cursor), 10).expect("read");
        assert_eq!(messages(&first), ["a", "b"]);
        assert!(!first.gap);
        appended(&path, "tial\n2026-11-25T17:00:00.000Z INFO c\n");
        let second = read(&path, LogStart::After(first.cursor), 10).expect("read");
        assert_eq!(messages(&second), ["partial", "c"]);
        // At most n lines per read; the cursor stops after the last one returned.
        appended(&path, "2026-11-25T17:00:00.000Z INFO d\n");
        std::fs::rename(&path, backup_path(&path)).expect("rotate");
        appended(
            &path,
            "2026-11-25T17:00:00.000Z INFO e\n2026-11-25T17:00:00.000Z INFO f\n",
        );
        let third = read(&path, LogStart::After(second.cursor), 2).expect("read");
        assert_eq!(messages(&third), ["d", "e"]);
        let fourth = read(&path, LogStart::After(third.cursor), 10).expect("read");
        assert_eq!(messages(&fourth), ["f"]);
        assert!(!fourth.gap);
        let idle = read(&path, LogStart::After(fourth.cursor), 10).expect("read");
        assert!(idle.lines.is_empty());
        assert_eq!(idle.cursor, fourth.cursor);
        // Rotated twice since the cursor: what is left is returned, and the loss is said.
        std::fs::rename(&path, backup_path(&path)).expect("rotate");
        appended(&path, "2026-11-25T17:00:00.000Z INFO g\n");
        std::fs::rename(&path, backup_path(&path)).expect("rotate");
        appended(&path, "2026-11-25T17:00:00.000Z INFO h\n");
        let lost = read(&path, LogStart::After(idle.cursor), 10).expect("read");
        assert_eq!(messages(&lost), ["h"]);
        assert!(lost.gap);
        // The tail's cursor continues from the tail.
        let tail = read(&path, LogStart::Tail, 1).expect("read");
        appended(&path, "2026-11-25T17:00:00.000Z INFO i\n");
        let after_tail = read(&path, LogStart::After(tail.cursor), 10).expect("read");
        assert_eq!(messages(&after_tail), ["i"]);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor: LogCursor = "17-42".parse().expect("parses");
        assert_eq!(cursor.to_string(), "17-42");
        assert!("17".parse::<LogCursor>().is_err());
        assert!("a-1".parse::<LogCursor>().is_err());
        assert!("1--1".parse::<LogCursor>().is_err());
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
