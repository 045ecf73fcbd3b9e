//! Why a storage operation failed ([`StorageError`]), the mapping of redb's open errors onto
//! it, and [`guard`], which turns a panic inside the database engine into an error.

use std::panic::UnwindSafe;
use std::path::{Path, PathBuf};

use redb::DatabaseError;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// Another process (or another handle in this one) has the file open.
    #[error("database {} is in use by another process (is another mcpproxy running?)", .0.display())]
    Locked(PathBuf),
    /// The file exists but is not a readable mcpproxy database.
    #[error("database {} is corrupted or not an mcpproxy database: {reason}", .path.display())]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The file was written by a newer, incompatible version.
    #[error("incompatible database: {0}")]
    Incompatible(String),
    /// The file could not be created or opened.
    #[error("cannot open database {}: {source}", .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A read or write failed inside the database.
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// A stored value is not the JSON expected.
    #[error("stored record is not valid: {0}")]
    Decode(#[from] serde_json::Error),
    /// The database engine panicked (a corrupted page, typically).
    #[error("database failure: {0}")]
    Panicked(String),
    /// The background writer's transaction holding this write failed.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Runs `f`, turning a panic inside the database engine into an error.
pub(super) fn guard<T>(
    f: impl FnOnce() -> Result<T, StorageError> + UnwindSafe,
) -> Result<T, StorageError> {
    std::panic::catch_unwind(f).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(StorageError::Panicked(msg))
    })
}

/// Maps redb's open errors onto ours.
pub(super) fn open_error(path: &Path, e: DatabaseError) -> StorageError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StorageError::Locked(path)
        }
        DatabaseError::UpgradeRequired(v) => StorageError::Incompatible(format!(
            "{} uses redb file format {v}, which this build cannot read",
            path.display()
        )),
        DatabaseError::RepairAborted => StorageError::Corrupted {
            path,
            reason: "repair aborted".into(),
        },
        DatabaseError::Storage(redb::StorageError::Io(io)) => match io.kind() {
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
                StorageError::Corrupted {
                    path,
                    reason: io.to_string(),
                }
            }
            _ => StorageError::Open { path, source: io },
        },
        DatabaseError::Storage(redb::StorageError::Corrupted(reason)) => {
            StorageError::Corrupted { path, reason }
        }
        other => StorageError::Corrupted {
            path,
            reason: other.to_string(),
        },
    }
}
