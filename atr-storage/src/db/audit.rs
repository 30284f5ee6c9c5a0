//! The append-only audit log. The schema's triggers refuse UPDATE and DELETE on it.

use atr_core::model::AuditEvent;
use rusqlite::params;

use super::{Tx, json_col, parse_col, parse_opt, to_json, ts};
use crate::error::{DbContext, StorageError};

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        id: Some(r.get(0)?),
        at: ts(r, 1)?,
        actor: parse_opt(r, 2)?,
        as_admin: r.get(3)?,
        action: parse_col(r, 4)?,
        target: r.get(5)?,
        details: json_col(r, 6)?,
    })
}

impl Tx<'_> {
    /// Appends an event (its `id` is ignored) and returns the id it got.
    pub fn append_audit(&self, e: &AuditEvent) -> Result<i64, StorageError> {
        self.conn()
            .execute(
                "INSERT INTO audit_events (at, actor, as_admin, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    e.at.unix(),
                    e.actor.as_ref().map(|u| u.as_str()),
                    e.as_admin,
                    e.action.as_str(),
                    e.target,
                    to_json(&e.details),
                ],
            )
            .doing("appending to the audit log")?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Events about `target` (such as `foo-1.0` or `foo-1.0 00002`), oldest first.
    pub fn audit_events_for(&self, target: &str) -> Result<Vec<AuditEvent>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT id, at, actor, as_admin, action, target, details FROM audit_events WHERE target = ?1 ORDER BY id",
            )
            .doing("reading the audit log")?;
        stmt.query_map([target], audit_row)
            .doing("reading the audit log")?
            .collect::<Result<_, _>>()
            .doing("reading the audit log")
    }

    /// The latest `limit` events, newest first.
    pub fn recent_audit_events(&self, limit: u32) -> Result<Vec<AuditEvent>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT id, at, actor, as_admin, action, target, details FROM audit_events ORDER BY id DESC LIMIT ?1",
            )
            .doing("reading the audit log")?;
        stmt.query_map(params![limit], audit_row)
            .doing("reading the audit log")?
            .collect::<Result<_, _>>()
            .doing("reading the audit log")
    }
}
