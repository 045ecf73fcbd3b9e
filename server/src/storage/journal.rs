//! The tool-call journal: every recorded call is appended, as one JSON line, to a plain file
//! next to the database before the call's result goes back to the client. A `write` to the
//! page cache costs microseconds and survives the process being killed, so the database
//! itself can be committed in batches (see `writer`) without a `kill -9` losing anything
//! but the call in flight.
//!
//! Files are generations: `<db>.journal.<n>`. Handing a record to the writer happens under
//! the same lock as its append, and the writer starts a new generation under that lock
//! while it takes everything queued; so every record in an old generation is in the batch
//! the writer is about to commit, and the file is deleted once that commit is durable.
//! Generations left behind by a crash are replayed into the database at the next start
//! (records already stored are skipped; a torn last line is ignored).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::types::ToolCallRecord;

/// The append side.
pub(crate) struct Journal {
    base: PathBuf,
    active: Mutex<Active>,
}

struct Active {
    generation: u64,
    file: Option<File>,
}

/// What an earlier process left behind.
pub(crate) struct Leftovers {
    /// The files, to delete once their records are stored.
    pub(crate) files: Vec<PathBuf>,
    /// Their records, oldest first.
    pub(crate) records: Vec<ToolCallRecord>,
    /// The highest generation found (0 if none).
    pub(crate) last_generation: u64,
}

/// `<db>.journal`, the stem of every generation's file name.
pub(crate) fn base_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

fn generation_path(base: &Path, generation: u64) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{generation}"));
    PathBuf::from(name)
}

fn create(path: &Path) -> Option<File> {
    // Arguments and responses may hold secrets: owner-only, like the database.
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .ok()
}

/// Read every generation under `base`.
pub(crate) fn leftovers(base: &Path) -> Leftovers {
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    let prefix = base
        .file_name()
        .map(|n| format!("{}.", n.to_string_lossy()))
        .unwrap_or_default();
    if let Some(entries) = base.parent().and_then(|d| std::fs::read_dir(d).ok()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(generation) = name
                .strip_prefix(&prefix)
                .and_then(|g| g.parse::<u64>().ok())
            {
                found.push((generation, entry.path()));
            }
        }
    }
    found.sort();
    let mut records = Vec::new();
    for (_, path) in &found {
        let Ok(file) = File::open(path) else { continue };
        for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
            // A line cut short by a kill mid-write does not parse; it was the call in flight.
            if let Ok(record) = serde_json::from_slice::<ToolCallRecord>(&line) {
                records.push(record);
            }
        }
    }
    Leftovers {
        last_generation: found.last().map_or(0, |(g, _)| *g),
        files: found.into_iter().map(|(_, p)| p).collect(),
        records,
    }
}

impl Journal {
    /// Start generation `generation` under `base`. If the file cannot be created the
    /// journal is off (records still reach the database, with the writer's delay).
    pub(crate) fn start(base: PathBuf, generation: u64) -> Self {
        let file = create(&generation_path(&base, generation));
        Self {
            base,
            active: Mutex::new(Active { generation, file }),
        }
    }

    /// Append `line` (its bytes are one journal line), then run `hand_over` with it (which
    /// queues the record for the writer), both under the lock. A failed append is not
    /// retried: the record still goes to the writer.
    pub(crate) fn append<L: AsRef<[u8]>, T>(&self, line: L, hand_over: impl FnOnce(L) -> T) -> T {
        let Ok(mut active) = self.active.lock() else {
            return hand_over(line);
        };
        if let Some(file) = active.file.as_mut()
            && file.write_all(line.as_ref()).is_err()
        {
            active.file = None;
        }
        hand_over(line)
    }

    /// Begin the next generation; `take_queued` runs under the lock and must take every
    /// record handed over so far. Returns the finished generation's file, to delete once
    /// those records are committed.
    pub(crate) fn rotate(&self, take_queued: impl FnOnce()) -> Option<PathBuf> {
        let Ok(mut active) = self.active.lock() else {
            take_queued();
            return None;
        };
        let finished = generation_path(&self.base, active.generation);
        active.generation += 1;
        active.file = create(&generation_path(&self.base, active.generation));
        take_queued();
        Some(finished)
    }

    /// Delete the current generation (everything in it is committed: shutdown).
    pub(crate) fn close(&self) {
        if let Ok(mut active) = self.active.lock() {
            active.file = None;
            let _ = std::fs::remove_file(generation_path(&self.base, active.generation));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> ToolCallRecord {
        ToolCallRecord::bare(id)
    }

    fn line(r: &ToolCallRecord) -> Vec<u8> {
        let mut l = serde_json::to_vec(r).expect("json");
        l.push(b'\n');
        l
    }

    #[test]
    fn generations_replay_in_order_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = base_for(&dir.path().join("x.db"));
        let journal = Journal::start(base.clone(), 1);
        journal.append(&line(&record("a")), |_| ());
        let finished = journal.rotate(|| ()).expect("rotated");
        journal.append(&line(&record("b")), |_| ());
        // A kill mid-write leaves half a line.
        journal.append(&line(&record("c"))[..10], |_| ());
        drop(journal);
        let left = leftovers(&base);
        assert_eq!(left.last_generation, 2);
        assert_eq!(left.files.len(), 2);
        assert_eq!(left.files[0], finished);
        let ids: Vec<&str> = left.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&finished).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn close_removes_the_current_generation() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = base_for(&dir.path().join("x.db"));
        let journal = Journal::start(base.clone(), 7);
        journal.close();
        assert!(leftovers(&base).files.is_empty());
    }
}
