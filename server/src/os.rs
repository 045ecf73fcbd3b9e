//! Operating-system helpers the configuration, the secrets file and the front door share:
//! atomic file replacement and the process's user id. Not configuration: they live here so
//! that every module writing a private file does it the same way.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Write `bytes` to `path` (mode 0600) so that readers see the old or the new content, never
/// a mix: a temp file in the same directory, fsynced, renamed over `path`, directory fsynced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("config");
    let tmp = dir.join(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The real user id of this process.
pub fn current_uid() -> u32 {
    #[expect(unsafe_code, reason = "getuid is a libc call")]
    // SAFETY: getuid has no preconditions, touches no memory of ours and cannot fail.
    unsafe {
        libc::getuid()
    }
}
