//! OpenPGP public signing keys and their committee links, and SSH keys.

use atr_core::ids::{CommitteeKey, Uid};
use atr_core::model::{Fingerprint, KeyLink, PublicSigningKey, SshKey};
use rusqlite::{OptionalExtension, params};

use super::{Tx, json_col, parse_col, parse_opt, to_json, ts, ts_opt};
use crate::error::{DbContext, StorageError, insert_error};

const KEY_COLUMNS: &str = "fingerprint, algorithm, length, created_at, latest_self_signature_at, expires_at, \
     primary_declared_uid, secondary_declared_uids, apache_uid, ascii_armored_key";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PublicSigningKey> {
    Ok(PublicSigningKey {
        fingerprint: parse_col(r, 0)?,
        algorithm: r.get(1)?,
        length: r.get(2)?,
        created: ts(r, 3)?,
        latest_self_signature: ts_opt(r, 4)?,
        expires: ts_opt(r, 5)?,
        primary_declared_uid: r.get(6)?,
        secondary_declared_uids: json_col(r, 7)?,
        apache_uid: parse_opt(r, 8)?,
        ascii_armored_key: r.get(9)?,
    })
}

fn ssh_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SshKey> {
    Ok(SshKey { fingerprint: r.get(0)?, key: r.get(1)?, asf_uid: parse_col(r, 2)? })
}

impl Tx<'_> {
    /// Records a signing key, or replaces the stored copy of the key with the same fingerprint
    /// (a re-upload with new signatures or a new expiry).
    pub fn upsert_signing_key(&self, k: &PublicSigningKey) -> Result<(), StorageError> {
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO public_signing_keys ({KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (fingerprint) DO UPDATE SET algorithm = excluded.algorithm, length = excluded.length,
                         created_at = excluded.created_at, latest_self_signature_at = excluded.latest_self_signature_at,
                         expires_at = excluded.expires_at, primary_declared_uid = excluded.primary_declared_uid,
                         secondary_declared_uids = excluded.secondary_declared_uids, apache_uid = excluded.apache_uid,
                         ascii_armored_key = excluded.ascii_armored_key"
                ),
                params![
                    k.fingerprint.as_str(),
                    k.algorithm,
                    k.length,
                    k.created.unix(),
                    k.latest_self_signature.map(|t| t.unix()),
                    k.expires.map(|t| t.unix()),
                    k.primary_declared_uid,
                    to_json(&k.secondary_declared_uids),
                    k.apache_uid.as_ref().map(|u| u.as_str()),
                    k.ascii_armored_key,
                ],
            )
            .map_err(insert_error("signing key", &k.fingerprint))?;
        Ok(())
    }

    /// The signing key with this fingerprint.
    pub fn signing_key(&self, fingerprint: &Fingerprint) -> Result<Option<PublicSigningKey>, StorageError> {
        self.conn()
            .query_row(
                &format!("SELECT {KEY_COLUMNS} FROM public_signing_keys WHERE fingerprint = ?1"),
                [fingerprint.as_str()],
                key_row,
            )
            .optional()
            .doing("reading a signing key")
    }

    /// The signing keys whose derived ASF uid is `uid`.
    pub fn signing_keys_of_uid(&self, uid: &Uid) -> Result<Vec<PublicSigningKey>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM public_signing_keys WHERE apache_uid = ?1 ORDER BY fingerprint"
            ))
            .doing("listing signing keys")?;
        stmt.query_map([uid.as_str()], key_row)
            .doing("listing signing keys")?
            .collect::<Result<_, _>>()
            .doing("listing signing keys")
    }

    /// Deletes a signing key and its committee links.
    pub fn delete_signing_key(&self, fingerprint: &Fingerprint) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute("DELETE FROM public_signing_keys WHERE fingerprint = ?1", [fingerprint.as_str()])
            .doing("deleting a signing key")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "signing key", key: fingerprint.to_string() });
        }
        Ok(())
    }

    /// Links a key to a committee (idempotent).
    pub fn link_key(&self, link: &KeyLink) -> Result<(), StorageError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO key_links (committee_key, key_fingerprint) VALUES (?1, ?2)",
                params![link.committee_key.as_str(), link.fingerprint.as_str()],
            )
            .map_err(insert_error("key link", format!("{} {}", link.committee_key, link.fingerprint)))?;
        Ok(())
    }

    /// Removes a key's link to a committee.
    pub fn unlink_key(&self, link: &KeyLink) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM key_links WHERE committee_key = ?1 AND key_fingerprint = ?2",
                params![link.committee_key.as_str(), link.fingerprint.as_str()],
            )
            .doing("unlinking a key")?;
        if n == 0 {
            return Err(StorageError::NotFound {
                what: "key link",
                key: format!("{} {}", link.committee_key, link.fingerprint),
            });
        }
        Ok(())
    }

    /// The keys linked to a committee (its KEYS file), sorted by fingerprint.
    pub fn signing_keys_of_committee(
        &self,
        committee: &CommitteeKey,
    ) -> Result<Vec<PublicSigningKey>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {} FROM public_signing_keys k JOIN key_links l ON l.key_fingerprint = k.fingerprint
                 WHERE l.committee_key = ?1 ORDER BY k.fingerprint",
                KEY_COLUMNS.split(", ").map(|c| format!("k.{c}")).collect::<Vec<_>>().join(", ")
            ))
            .doing("listing committee keys")?;
        stmt.query_map([committee.as_str()], key_row)
            .doing("listing committee keys")?
            .collect::<Result<_, _>>()
            .doing("listing committee keys")
    }

    /// The committees a key is linked to, sorted.
    pub fn key_committees(&self, fingerprint: &Fingerprint) -> Result<Vec<CommitteeKey>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT committee_key FROM key_links WHERE key_fingerprint = ?1 ORDER BY committee_key",
            )
            .doing("listing key links")?;
        stmt.query_map([fingerprint.as_str()], |r| parse_col(r, 0))
            .doing("listing key links")?
            .collect::<Result<_, _>>()
            .doing("listing key links")
    }

    /// Records an SSH key.
    pub fn insert_ssh_key(&self, k: &SshKey) -> Result<(), StorageError> {
        self.conn()
            .execute(
                "INSERT INTO ssh_keys (fingerprint, key, uid) VALUES (?1, ?2, ?3)",
                params![k.fingerprint, k.key, k.asf_uid.as_str()],
            )
            .map_err(insert_error("SSH key", &k.fingerprint))?;
        Ok(())
    }

    /// The SSH key with this fingerprint (`SHA256:…`).
    pub fn ssh_key(&self, fingerprint: &str) -> Result<Option<SshKey>, StorageError> {
        self.conn()
            .query_row(
                "SELECT fingerprint, key, uid FROM ssh_keys WHERE fingerprint = ?1",
                [fingerprint],
                ssh_row,
            )
            .optional()
            .doing("reading an SSH key")
    }

    /// The SSH keys of a person.
    pub fn ssh_keys_of(&self, uid: &Uid) -> Result<Vec<SshKey>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT fingerprint, key, uid FROM ssh_keys WHERE uid = ?1 ORDER BY fingerprint")
            .doing("listing SSH keys")?;
        stmt.query_map([uid.as_str()], ssh_row)
            .doing("listing SSH keys")?
            .collect::<Result<_, _>>()
            .doing("listing SSH keys")
    }

    /// Deletes an SSH key of `uid`.
    pub fn delete_ssh_key(&self, uid: &Uid, fingerprint: &str) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM ssh_keys WHERE fingerprint = ?1 AND uid = ?2",
                params![fingerprint, uid.as_str()],
            )
            .doing("deleting an SSH key")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "SSH key", key: fingerprint.to_owned() });
        }
        Ok(())
    }
}
