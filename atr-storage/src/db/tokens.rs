//! Personal access tokens (only their hashes are stored).

use atr_core::ids::Uid;
use atr_core::model::PersonalAccessToken;
use atr_core::time::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Tx, parse_col, ts, ts_opt};
use crate::error::{DbContext, StorageError, insert_error};

const COLUMNS: &str = "id, uid, token_hash, created_at, expires_at, last_used_at, label";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PersonalAccessToken> {
    Ok(PersonalAccessToken {
        id: Some(r.get(0)?),
        asfuid: parse_col(r, 1)?,
        token_hash: r.get(2)?,
        created: ts(r, 3)?,
        expires: ts(r, 4)?,
        last_used: ts_opt(r, 5)?,
        label: r.get(6)?,
    })
}

impl Tx<'_> {
    /// Records a token (its `id` is ignored); returns the id it got.
    pub fn insert_token(&self, t: &PersonalAccessToken) -> Result<i64, StorageError> {
        self.conn()
            .execute(
                "INSERT INTO personal_access_tokens (uid, token_hash, created_at, expires_at, last_used_at, label)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    t.asfuid.as_str(),
                    t.token_hash,
                    t.created.unix(),
                    t.expires.unix(),
                    t.last_used.map(|x| x.unix()),
                    t.label
                ],
            )
            .map_err(insert_error("token with this hash", "…"))?;
        Ok(self.conn().last_insert_rowid())
    }

    /// The token of `uid` with this hash.
    pub fn token_by_hash(
        &self,
        uid: &Uid,
        token_hash: &str,
    ) -> Result<Option<PersonalAccessToken>, StorageError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM personal_access_tokens WHERE token_hash = ?1 AND uid = ?2"),
                params![token_hash, uid.as_str()],
                row,
            )
            .optional()
            .doing("looking up a token")
    }

    /// The token of `uid` with this id (the one a JWT names), if it still exists.
    pub fn token_of(&self, uid: &Uid, id: i64) -> Result<Option<PersonalAccessToken>, StorageError> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM personal_access_tokens WHERE id = ?1 AND uid = ?2"),
                params![id, uid.as_str()],
                row,
            )
            .optional()
            .doing("looking up a token")
    }

    /// The tokens of `uid`, newest first.
    pub fn tokens_of(&self, uid: &Uid) -> Result<Vec<PersonalAccessToken>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM personal_access_tokens WHERE uid = ?1 ORDER BY id DESC"
            ))
            .doing("listing tokens")?;
        stmt.query_map([uid.as_str()], row)
            .doing("listing tokens")?
            .collect::<Result<_, _>>()
            .doing("listing tokens")
    }

    /// Records that token `id` was used at `now`.
    pub fn touch_token(&self, id: i64, now: Timestamp) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "UPDATE personal_access_tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id, now.unix()],
            )
            .doing("recording token use")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "token", key: id.to_string() });
        }
        Ok(())
    }

    /// Deletes token `id` of `uid`.
    pub fn delete_token(&self, uid: &Uid, id: i64) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM personal_access_tokens WHERE id = ?1 AND uid = ?2",
                params![id, uid.as_str()],
            )
            .doing("deleting a token")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "token", key: id.to_string() });
        }
        Ok(())
    }
}
