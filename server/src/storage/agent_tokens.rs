//! Agent tokens (their names and hashed secrets, never the secret).

use std::panic::AssertUnwindSafe;

use redb::{ReadableDatabase, ReadableTable};

use super::error::guard;
use super::tables::TOKENS;
use super::{Storage, StorageError, TokenRecord};

impl Storage {
    /// Every agent token, in name order.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(TOKENS)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                let (_, v) = entry?;
                out.push(serde_json::from_slice(v.value())?);
            }
            Ok(out)
        }))
    }

    /// Inserts or replaces one agent token (durably).
    pub fn put_token(&self, token: &TokenRecord) -> Result<(), StorageError> {
        guard(AssertUnwindSafe(|| {
            let txn = self.db.begin_write()?;
            {
                let mut table = txn.open_table(TOKENS)?;
                table.insert(token.name.as_str(), serde_json::to_vec(token)?.as_slice())?;
            }
            txn.commit()?;
            Ok(())
        }))
    }
}
