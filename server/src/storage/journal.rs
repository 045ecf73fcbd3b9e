//! The tool-call journal: every recorded call is appended, as one JSON line, to a plain file
//! next to the database before the call's result goes back to the client. The file is
//! mapped into memory, so an append is a copy into the page cache (no system call); the
//! page cache outlives the process, so the database itself can be committed in batches
//! (see `writer`) without a `kill -9` losing anything but the call in flight.
//!
//! Files are generations: `<db>.journal.<n>`. Handing a record to the writer happens under
//! the same lock as its append, and the writer starts a new generation under that lock
//! while it takes everything queued; so every record in an old generation is in the batch
//! the writer is about to commit. Once that commit is durable the file is emptied (zeroed)
//! and kept as the spare: the next generation is that file, renamed, so its pages are
//! already in the page cache and mapped (a fresh file costs a page fault per 4 KiB
//! appended, ~0.9 µs of every call). Generations left behind by a crash are replayed into
//! the database at the next start (records already stored are skipped; a torn last line
//! is ignored).
//!
//! A generation's blocks are allocated before the file is mapped (`fallocate`), so a full
//! disk is an error when a generation starts or grows, never a fault in the middle of a
//! copy. Where blocks cannot be allocated, the journal writes the rest of that generation
//! with `pwrite` instead, as it did before it was mapped.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use memmap2::MmapMut;

use super::types::ToolCallRecord;

/// The smallest generation file; a generation starts at twice what the last one held.
const MIN_CAPACITY: u64 = 256 * 1024;

/// The append side.
pub(crate) struct Journal {
    base: PathBuf,
    active: Mutex<Active>,
    /// A committed generation's file (where it is now) and its mapping, emptied, for the
    /// next generation to take.
    spare: Mutex<Option<(PathBuf, Segment)>>,
}

/// A finished generation: every record in it is in the batch being committed.
pub(crate) struct Finished {
    path: PathBuf,
    segment: Option<Segment>,
}

struct Active {
    generation: u64,
    /// None when the generation's file could not be made: the journal is off until the
    /// next generation (records still reach the database, with the writer's delay).
    segment: Option<Segment>,
}

/// One generation's file, appended to through its mapping while it has one.
struct Segment {
    file: File,
    /// The file's allocated length, mapped; none once it could not be (re)mapped.
    map: Option<MmapMut>,
    /// Bytes appended so far.
    used: u64,
}

impl Segment {
    /// Create `path` (owner-only: arguments and responses may hold secrets) with room
    /// for `capacity` bytes.
    fn create(path: &Path, capacity: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        let mut segment = Self {
            file,
            map: None,
            used: 0,
        };
        segment.map = segment.mapped(capacity);
        Ok(segment)
    }

    /// The file, its blocks allocated up to `capacity`, mapped; none if either fails.
    fn mapped(&self, capacity: u64) -> Option<MmapMut> {
        allocate(&self.file, capacity).ok()?;
        map(&self.file).ok()
    }

    /// Append `bytes`: copied into the mapping (grown when full), else written at the end.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let start = self.used;
        let end = start + bytes.len() as u64;
        let capacity = self.map.as_ref().map_or(0, |m| m.len() as u64);
        if self.map.is_some() && end > capacity {
            // Unmapped first: the old mapping must not outlive a failed grow.
            self.map = None;
            self.map = self.mapped(end.max(capacity * 2).next_power_of_two());
        }
        match self.map.as_mut() {
            Some(map) => map[start as usize..end as usize].copy_from_slice(bytes),
            None => self.file.write_all_at(bytes, start)?,
        }
        self.used = end;
        Ok(())
    }
}

/// Allocate the file's blocks up to `len` (extending it), so writing through a mapping
/// never needs a block the disk does not have.
#[expect(unsafe_code, reason = "fallocate(2) is a libc call")]
fn allocate(file: &File, len: u64) -> io::Result<()> {
    let len = libc::off_t::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: fallocate takes a file descriptor we own for the duration of the call and
    // three integers; it touches no memory of ours.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The whole file, mapped shared and writable.
#[expect(
    unsafe_code,
    reason = "a file mapping is only sound while the file keeps its length"
)]
fn map(file: &File) -> io::Result<MmapMut> {
    // SAFETY: the file is this process's own (created new, mode 0600, in its data
    // directory); it is never truncated while mapped, only grown (`allocate`) before a
    // new mapping replaces the old, and deleted after its mapping is dropped.
    unsafe { MmapMut::map_mut(file) }
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
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        // The allocated room past the last append reads as zeros.
        let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        for line in bytes[..end].split(|&b| b == b'\n') {
            // A line cut short by a kill mid-copy does not parse (the rest of it is
            // zeros, or missing); it was the call in flight.
            if let Ok(record) = serde_json::from_slice::<ToolCallRecord>(line) {
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
    /// Start generation `generation` under `base`. If its file cannot be created the
    /// journal is off until the next generation.
    pub(crate) fn start(base: PathBuf, generation: u64) -> Self {
        let segment = Segment::create(&generation_path(&base, generation), MIN_CAPACITY).ok();
        Self {
            base,
            active: Mutex::new(Active {
                generation,
                segment,
            }),
            spare: Mutex::new(None),
        }
    }

    /// Append `line` (its bytes are one journal line), then run `hand_over` with it (which
    /// queues the record for the writer), both under the lock. A failed append is not
    /// retried, and the generation's journal is off: the record still goes to the writer.
    pub(crate) fn append<L: AsRef<[u8]>, T>(&self, line: L, hand_over: impl FnOnce(L) -> T) -> T {
        let Ok(mut active) = self.active.lock() else {
            return hand_over(line);
        };
        if let Some(segment) = active.segment.as_mut()
            && segment.append(line.as_ref()).is_err()
        {
            active.segment = None;
        }
        hand_over(line)
    }

    /// Begin the next generation; `take_queued` runs under the lock and must take every
    /// record handed over so far. Returns the finished generation, to [`Self::recycle`]
    /// once those records are committed (dropped instead, its file stays for the next
    /// start to replay). Only the writer rotates, so the next file is made outside the
    /// lock (appends do not wait for it): the spare, else a new one sized by what the
    /// last one held.
    pub(crate) fn rotate(&self, take_queued: impl FnOnce()) -> Option<Finished> {
        let Some((generation, held)) = self
            .active
            .lock()
            .ok()
            .map(|a| (a.generation, a.segment.as_ref().map_or(0, |s| s.used)))
        else {
            take_queued();
            return None;
        };
        let next = generation + 1;
        let path = generation_path(&self.base, next);
        let segment = self.take_spare(&path).or_else(|| {
            let capacity = (held * 2).next_power_of_two().max(MIN_CAPACITY);
            Segment::create(&path, capacity).ok()
        });
        let Ok(mut active) = self.active.lock() else {
            take_queued();
            return None;
        };
        active.generation = next;
        let segment = std::mem::replace(&mut active.segment, segment);
        take_queued();
        Some(Finished {
            path: generation_path(&self.base, generation),
            segment,
        })
    }

    /// The spare file, renamed to `path`; none if there is none or it cannot be.
    fn take_spare(&self, path: &Path) -> Option<Segment> {
        let (spare, segment) = self.spare.lock().ok()?.take()?;
        match std::fs::rename(&spare, path) {
            Ok(()) => Some(segment),
            Err(_) => {
                let _ = std::fs::remove_file(&spare);
                None
            }
        }
    }

    /// `finished`'s records are committed: its file is emptied and kept as the spare
    /// when it is mapped and there is none yet, else deleted.
    pub(crate) fn recycle(&self, finished: Finished) {
        if let Some(mut segment) = finished.segment
            && let Some(map) = segment.map.as_mut()
            && let Ok(mut spare) = self.spare.lock()
            && spare.is_none()
        {
            let used = usize::try_from(segment.used)
                .unwrap_or(usize::MAX)
                .min(map.len());
            map[..used].fill(0);
            segment.used = 0;
            *spare = Some((finished.path, segment));
            return;
        }
        let _ = std::fs::remove_file(&finished.path);
    }

    /// Delete the current generation (everything in it is committed: shutdown) and the
    /// spare.
    pub(crate) fn close(&self) {
        if let Ok(mut active) = self.active.lock() {
            active.segment = None;
            let _ = std::fs::remove_file(generation_path(&self.base, active.generation));
        }
        if let Some((spare, _)) = self.spare.lock().ok().and_then(|mut s| s.take()) {
            let _ = std::fs::remove_file(&spare);
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
        let finished = journal.rotate(|| ()).expect("rotated").path;
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

    /// A committed generation's file is emptied and becomes a later generation (the same
    /// file, renamed): only the records appended since replay, and nothing is left at
    /// shutdown.
    #[test]
    fn a_committed_generations_file_is_emptied_and_taken_again() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = base_for(&dir.path().join("x.db"));
        let journal = Journal::start(base.clone(), 1);
        let inode = |path: &Path| {
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).expect("meta"))
        };
        let first = inode(&generation_path(&base, 1));
        journal.append(&line(&record("committed")), |_| ());
        let finished = journal.rotate(|| ()).expect("rotated");
        journal.recycle(finished);
        assert_eq!(leftovers(&base).records.len(), 0, "emptied once committed");
        // Generation 2 was made new; generation 3 takes the spare (generation 1's file).
        journal.append(&line(&record("second")), |_| ());
        let finished = journal.rotate(|| ()).expect("rotated");
        assert_eq!(inode(&generation_path(&base, 3)), first);
        assert!(!generation_path(&base, 1).exists());
        journal.append(&line(&record("third")), |_| ());
        let ids: Vec<String> = leftovers(&base).records.into_iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            ["second", "third"],
            "uncommitted generations replay in order"
        );
        journal.recycle(finished);
        journal.close();
        assert!(
            leftovers(&base).files.is_empty(),
            "nothing left at shutdown"
        );
    }

    /// A generation that outgrows its file grows it, and without a mapping (no blocks
    /// could be allocated) it is written instead; either way every line replays.
    #[test]
    fn a_generation_grows_past_its_room_and_replays_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let base = base_for(&dir.path().join("x.db"));
        let mut mapped = Segment::create(&generation_path(&base, 1), 64).expect("create");
        let mut written = Segment::create(&generation_path(&base, 2), 64).expect("create");
        written.map = None;
        let ids: Vec<String> = (0..40).map(|i| format!("call-{i}")).collect();
        for id in &ids {
            let l = line(&record(id));
            mapped.append(&l).expect("append");
            written.append(&l).expect("append");
        }
        assert!(
            mapped
                .map
                .as_ref()
                .is_some_and(|m| m.len() as u64 >= mapped.used)
        );
        drop((mapped, written));
        let replayed: Vec<String> = leftovers(&base).records.into_iter().map(|r| r.id).collect();
        let twice: Vec<String> = ids.iter().chain(&ids).cloned().collect();
        assert_eq!(replayed, twice);
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
