//! The task queue table: enqueue and list. Claiming with leases (`BEGIN IMMEDIATE` +
//! `UPDATE … RETURNING`), renewal, retry and completion belong to the worker issue; the columns
//! they need (priority, attempts, max_attempts, lease_expires_at, worker, dedup_key) exist already.

use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::{Task, TaskId, TaskSpec, TaskStatus};
use atr_core::time::Timestamp;
use rusqlite::{OptionalExtension, params};

use super::{Tx, json_col, parse_col, parse_opt, rev_opt, to_json, ts, ts_opt};
use crate::error::{DbContext, StorageError, insert_error};

/// Queue options beyond the task itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueueOptions {
    /// Higher runs first.
    pub priority: i32,
    /// Identity of the work for deduplication and result reuse (hash of checker, version, inputs, policy).
    pub dedup_key: Option<String>,
    /// How many times the task may be tried before it is failed.
    pub max_attempts: u32,
    /// Do not start before this time.
    pub not_before: Option<Timestamp>,
}

impl Default for EnqueueOptions {
    fn default() -> Self {
        EnqueueOptions { priority: 0, dedup_key: None, max_attempts: 3, not_before: None }
    }
}

const COLUMNS: &str = "id, status, task_type, args, requested_by, project_key, version_key, revision_number, \
     primary_rel_path, added_at, started_at, completed_at, result, error, attempts";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        id: TaskId(r.get(0)?),
        status: parse_col(r, 1)?,
        spec: TaskSpec {
            task_type: parse_col(r, 2)?,
            task_args: json_col(r, 3)?,
            asf_uid: parse_opt(r, 4)?,
            project_key: parse_opt(r, 5)?,
            version_key: parse_opt(r, 6)?,
            revision_number: rev_opt(r, 7)?,
            primary_rel_path: parse_opt(r, 8)?,
        },
        added: ts(r, 9)?,
        started: ts_opt(r, 10)?,
        completed: ts_opt(r, 11)?,
        result: r.get::<_, Option<String>>(12)?.map(|s| serde_json::from_str(&s)).transpose().map_err(
            |e| rusqlite::Error::FromSqlConversionFailure(12, rusqlite::types::Type::Text, Box::new(e)),
        )?,
        error: r.get(13)?,
        attempts: r.get(14)?,
    })
}

impl Tx<'_> {
    /// Queues a task with default options; returns its id.
    pub fn enqueue_task(&self, spec: &TaskSpec, now: Timestamp) -> Result<TaskId, StorageError> {
        self.enqueue_task_with(spec, now, &EnqueueOptions::default())
    }

    /// Queues a task; returns its id.
    pub fn enqueue_task_with(
        &self,
        spec: &TaskSpec,
        now: Timestamp,
        opts: &EnqueueOptions,
    ) -> Result<TaskId, StorageError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO tasks (task_type, args, status, priority, requested_by, project_key, version_key,
                     revision_number, primary_rel_path, dedup_key, added_at, not_before, max_attempts)
                 VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    spec.task_type.as_str(),
                    to_json(&spec.task_args),
                    opts.priority,
                    spec.asf_uid.as_ref().map(|u| u.as_str()),
                    spec.project_key.as_ref().map(|p| p.as_str()),
                    spec.version_key.as_ref().map(|v| v.as_str()),
                    spec.revision_number.map(|n| n.get()),
                    spec.primary_rel_path.as_ref().map(|p| p.as_str()),
                    opts.dedup_key,
                    now.unix(),
                    opts.not_before.map(|t| t.unix()),
                    opts.max_attempts,
                ])
            })
            .map_err(insert_error("task", spec.task_type))?;
        Ok(TaskId(self.conn().last_insert_rowid()))
    }

    /// Task `id`.
    pub fn task(&self, id: TaskId) -> Result<Option<Task>, StorageError> {
        self.conn()
            .query_row(&format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"), [id.0], row)
            .optional()
            .doing("reading a task")
    }

    /// The tasks of a revision, in queue order.
    pub fn tasks_for_revision(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
    ) -> Result<Vec<Task>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3
                 ORDER BY id"
            ))
            .doing("listing tasks")?;
        stmt.query_map(params![project.as_str(), version.as_str(), revision.get()], row)
            .doing("listing tasks")?
            .collect::<Result<_, _>>()
            .doing("listing tasks")
    }

    /// How many tasks of a revision are queued or running (a vote cannot start while any are).
    pub fn ongoing_task_count(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
    ) -> Result<u32, StorageError> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM tasks WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3
                   AND status IN ('queued', 'active')",
                params![project.as_str(), version.as_str(), revision.get()],
                |r| r.get(0),
            )
            .doing("counting ongoing tasks")
    }

    /// Up to `limit` tasks with `status`, in the order a worker would take them.
    pub fn tasks_with_status(&self, status: TaskStatus, limit: u32) -> Result<Vec<Task>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE status = ?1 ORDER BY priority DESC, id LIMIT ?2"
            ))
            .doing("listing tasks")?;
        stmt.query_map(params![status.as_str(), limit], row)
            .doing("listing tasks")?
            .collect::<Result<_, _>>()
            .doing("listing tasks")
    }
}
