//! Tool approvals (pinning records, per server and tool) and the notes kept for a person's
//! review of a server.

use std::panic::AssertUnwindSafe;

use redb::{ReadableDatabase, ReadableTable};

use super::error::guard;
use super::tables::{APPROVALS, SERVER_NOTES, read_json};
use super::{Storage, StorageError, ToolApproval};

impl Storage {
    /// Every pinning record of one server, by tool name.
    pub fn tool_approvals(&self, server: &str) -> Result<Vec<ToolApproval>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(APPROVALS)?;
            let mut out = Vec::new();
            for entry in table.range((server, "")..)? {
                let (k, v) = entry?;
                if k.value().0 != server {
                    break;
                }
                out.push(serde_json::from_slice(v.value())?);
            }
            Ok(out)
        }))
    }

    /// Inserts or replaces one pinning record (durably).
    pub fn put_tool_approval(&self, a: &ToolApproval) -> Result<(), StorageError> {
        self.put_tool_approvals(std::slice::from_ref(a))
    }

    /// Inserts or replaces several pinning records in one durable transaction.
    pub fn put_tool_approvals(&self, approvals: &[ToolApproval]) -> Result<(), StorageError> {
        if approvals.is_empty() {
            return Ok(());
        }
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(APPROVALS)?;
                for a in approvals {
                    table.insert(
                        (a.server.as_str(), a.tool.as_str()),
                        serde_json::to_vec(a)?.as_slice(),
                    )?;
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// A note kept about `server` under `kind` (see `server_notes` in `tables`).
    pub fn server_note(
        &self,
        server: &str,
        kind: &str,
    ) -> Result<Option<serde_json::Value>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(SERVER_NOTES)?;
            read_json(table.get((server, kind))?.as_ref().map(|g| g.value()))
        }))
    }

    /// Stores (`Some`) or forgets (`None`) the note about `server` under `kind`, durably.
    pub fn set_server_note(
        &self,
        server: &str,
        kind: &str,
        value: Option<&serde_json::Value>,
    ) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(SERVER_NOTES)?;
                match value {
                    Some(value) => {
                        table.insert((server, kind), serde_json::to_vec(value)?.as_slice())?;
                    }
                    None => {
                        table.remove((server, kind))?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }

    /// Forgets every pinning record of one server (durably).
    pub fn delete_tool_approvals(&self, server: &str) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(APPROVALS)?;
                let mut tools = Vec::new();
                for entry in table.range((server, "")..)? {
                    let (k, _) = entry?;
                    let (s, t) = k.value();
                    if s != server {
                        break;
                    }
                    tools.push(t.to_string());
                }
                for tool in &tools {
                    table.remove((server, tool.as_str()))?;
                }
            }
            txn.commit()?;
            Ok(())
        }))
    }
}
