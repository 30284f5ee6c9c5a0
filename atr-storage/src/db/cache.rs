//! A small namespaced key-value cache (for example mail Message-ID → archive thread URL).

use rusqlite::{OptionalExtension, params};

use super::Tx;
use crate::error::{DbContext, StorageError};

impl Tx<'_> {
    /// The cached value of `key` in namespace `ns`.
    pub fn cached_value(&self, ns: &str, key: &str) -> Result<Option<String>, StorageError> {
        self.conn()
            .query_row("SELECT value FROM text_values WHERE ns = ?1 AND key = ?2", params![ns, key], |r| {
                r.get(0)
            })
            .optional()
            .doing("reading the cache")
    }

    /// Sets (or replaces) the cached value of `key` in namespace `ns`.
    pub fn set_cached_value(&self, ns: &str, key: &str, value: &str) -> Result<(), StorageError> {
        self.conn()
            .execute(
                "INSERT INTO text_values (ns, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
                params![ns, key, value],
            )
            .doing("writing the cache")?;
        Ok(())
    }
}
