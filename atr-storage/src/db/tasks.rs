//! The task queue table: enqueue, list, and the worker protocol.
//!
//! Protocol (every step is one short `BEGIN IMMEDIATE` transaction, see [`crate::Storage::write`]):
//! - [`Tx::claim_task`]: one `UPDATE … WHERE id = (SELECT … ORDER BY priority DESC, id LIMIT 1)
//!   RETURNING …` turns the first runnable queued task into `active`, counts the attempt, names the
//!   worker and gives it a lease. SQLite has one writer at a time, so no two workers get the same task.
//! - [`Tx::renew_lease`] while the handler runs; [`Tx::complete_task`] (with the results, in the same
//!   transaction) or [`Tx::fail_attempt`] at the end. All three refuse (return `false`/`None`) when the
//!   caller no longer holds the task, so a worker that lost its lease can never overwrite the outcome
//!   of the worker that took over.
//! - [`Tx::requeue_expired_leases`]: a task whose lease ran out (its worker died or hung) goes back
//!   to the queue, or is `failed` once it has used `max_attempts` attempts, with an error that says so.
//!   [`Tx::release_worker_tasks`] does the same at once for a worker known to be dead.
//! - A check task that ends `failed` also gets an `exception` check result, so the failure shows
//!   next to the other results and blocks a vote like any check that could not run.

use atr_core::check::{CheckResult, CheckStatus};
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

/// A task a worker holds: the row plus the lease bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTask {
    /// The task (status `active`, `attempts` already counts this attempt).
    pub task: Task,
    /// Who holds it.
    pub worker: String,
    /// Until when, unless renewed.
    pub lease_expires: Timestamp,
    /// How many attempts it may use.
    pub max_attempts: u32,
    /// Its cache identity (check tasks), stored with its results.
    pub dedup_key: Option<String>,
}

/// An active task as the manager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveTask {
    /// Task id.
    pub id: TaskId,
    /// The worker holding it.
    pub worker: String,
    /// When this attempt started.
    pub started: Timestamp,
    /// When its lease runs out.
    pub lease_expires: Timestamp,
    /// Attempts used, including this one.
    pub attempts: u32,
}

/// What a requeue pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requeued {
    /// Tasks put back in the queue.
    pub requeued: Vec<TaskId>,
    /// Tasks that had used all their attempts and are now `failed`.
    pub failed: Vec<TaskId>,
}

impl Requeued {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.requeued.is_empty() && self.failed.is_empty()
    }
}

const CLAIM_COLUMNS: &str = "id, status, task_type, args, requested_by, project_key, version_key, revision_number, \
     primary_rel_path, added_at, started_at, completed_at, result, error, attempts, worker, lease_expires_at, \
     max_attempts, dedup_key";

fn claimed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ClaimedTask> {
    Ok(ClaimedTask {
        task: row(r)?,
        worker: r.get(15)?,
        lease_expires: ts(r, 16)?,
        max_attempts: r.get(17)?,
        dedup_key: r.get(18)?,
    })
}

impl Tx<'_> {
    /// Claims the next runnable task for `worker` with a lease of `lease_secs`, first requeueing
    /// tasks whose lease has expired. `None` when nothing is runnable. Use it in a write transaction.
    pub fn claim_task(
        &self,
        worker: &str,
        now: Timestamp,
        lease_secs: i64,
    ) -> Result<Option<ClaimedTask>, StorageError> {
        self.requeue_expired_leases(now)?;
        self.conn()
            .prepare_cached(&format!(
                "UPDATE tasks SET status = 'active', started_at = ?1, attempts = attempts + 1,
                     lease_expires_at = ?2, worker = ?3, completed_at = NULL
                 WHERE id = (SELECT id FROM tasks WHERE status = 'queued' AND (not_before IS NULL OR not_before <= ?1)
                             ORDER BY priority DESC, id LIMIT 1)
                 RETURNING {CLAIM_COLUMNS}"
            ))
            .and_then(|mut stmt| stmt.query_row(params![now.unix(), now.unix() + lease_secs, worker], claimed_row).optional())
            .doing("claiming a task")
    }

    /// Whether [`Tx::claim_task`] would find work at `now` (a runnable queued task or an expired
    /// lease). A cheap read that idle workers poll instead of taking the write lock.
    pub fn has_claimable_task(&self, now: Timestamp) -> Result<bool, StorageError> {
        self.conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'queued' AND (not_before IS NULL OR not_before <= ?1))
                     OR EXISTS (SELECT 1 FROM tasks WHERE status = 'active' AND lease_expires_at < ?1)",
            )
            .and_then(|mut s| s.query_row([now.unix()], |r| r.get(0)))
            .doing("looking for work")
    }

    /// Extends the lease of task `id` held by `worker`; `false` when the worker no longer holds it.
    pub fn renew_lease(
        &self,
        id: TaskId,
        worker: &str,
        now: Timestamp,
        lease_secs: i64,
    ) -> Result<bool, StorageError> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE tasks SET lease_expires_at = ?1 WHERE id = ?2 AND worker = ?3 AND status = 'active'",
            )
            .and_then(|mut s| s.execute(params![now.unix() + lease_secs, id.0, worker]))
            .doing("renewing a task lease")?;
        Ok(n == 1)
    }

    /// Completes queued task `id` directly with `result` (its work was already done, for example
    /// by the quarantine validation pass over the same archive); `false` unless it was queued.
    pub fn complete_queued_task(
        &self,
        id: TaskId,
        worker: &str,
        now: Timestamp,
        result: &serde_json::Value,
    ) -> Result<bool, StorageError> {
        let n = self
            .conn()
            .execute(
                "UPDATE tasks SET status = 'completed', started_at = ?1, completed_at = ?1, attempts = attempts + 1,
                     worker = ?2, result = ?3, error = NULL, lease_expires_at = NULL
                 WHERE id = ?4 AND status = 'queued'",
                params![now.unix(), worker, to_json(result), id.0],
            )
            .doing("completing a task")?;
        Ok(n == 1)
    }

    /// Marks task `id` held by `worker` completed with `result`; `false` (and nothing changes) when
    /// the worker no longer holds it. Store the task's check results in the same transaction.
    pub fn complete_task(
        &self,
        id: TaskId,
        worker: &str,
        now: Timestamp,
        result: &serde_json::Value,
    ) -> Result<bool, StorageError> {
        let n = self
            .conn()
            .prepare_cached(
                "UPDATE tasks SET status = 'completed', completed_at = ?1, result = ?2, error = NULL,
                     lease_expires_at = NULL
                 WHERE id = ?3 AND worker = ?4 AND status = 'active'",
            )
            .and_then(|mut s| s.execute(params![now.unix(), to_json(result), id.0, worker]))
            .doing("completing a task")?;
        Ok(n == 1)
    }

    /// Records a failed attempt of task `id` held by `worker`: back to the queue (not before
    /// `retry_after_secs` from now), or `failed` when it has used all its attempts. Returns the new
    /// status, or `None` when the worker no longer holds the task.
    pub fn fail_attempt(
        &self,
        id: TaskId,
        worker: &str,
        now: Timestamp,
        error: &str,
        retry_after_secs: i64,
    ) -> Result<Option<TaskStatus>, StorageError> {
        let held: Option<(u32, u32)> = self
            .conn()
            .query_row(
                "SELECT attempts, max_attempts FROM tasks WHERE id = ?1 AND worker = ?2 AND status = 'active'",
                params![id.0, worker],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .doing("reading a task")?;
        let Some((attempts, max)) = held else { return Ok(None) };
        if attempts >= max {
            self.finish_failed(
                id,
                now,
                &format!("gave up after {attempts} of {max} attempts; last error: {error}"),
            )?;
            Ok(Some(TaskStatus::Failed))
        } else {
            self.conn()
                .execute(
                    "UPDATE tasks SET status = 'queued', worker = NULL, lease_expires_at = NULL, not_before = ?1,
                         error = ?2
                     WHERE id = ?3",
                    params![now.unix() + retry_after_secs, format!("attempt {attempts} of {max} failed: {error}"), id.0],
                )
                .doing("requeueing a task")?;
            Ok(Some(TaskStatus::Queued))
        }
    }

    /// Fails active task `id` for good, whoever holds it (the manager's time limit); `false` when it
    /// is not active.
    pub fn fail_task(&self, id: TaskId, now: Timestamp, error: &str) -> Result<bool, StorageError> {
        let active: bool = self
            .conn()
            .query_row("SELECT status = 'active' FROM tasks WHERE id = ?1", [id.0], |r| r.get(0))
            .optional()
            .doing("reading a task")?
            .unwrap_or(false);
        if active {
            self.finish_failed(id, now, error)?;
        }
        Ok(active)
    }

    /// Sets a task `failed` with `error`; for a check task also records an `exception` result.
    fn finish_failed(&self, id: TaskId, now: Timestamp, error: &str) -> Result<(), StorageError> {
        self.conn()
            .execute(
                "UPDATE tasks SET status = 'failed', completed_at = ?1, error = ?2, lease_expires_at = NULL,
                     result = json_object('kind', 'exception', 'message', ?2)
                 WHERE id = ?3",
                params![now.unix(), error, id.0],
            )
            .doing("failing a task")?;
        let Some(task) = self.task(id)? else { return Ok(()) };
        let spec = &task.spec;
        if spec.task_type == atr_core::model::TaskType::QuarantineValidate
            && let Some(q) = spec.task_args.get("quarantine_id").and_then(|v| v.as_i64())
        {
            // The upload stays out of every revision and the uploader learns why. Its directory
            // stays until `Storage::reject_quarantined` is called for it (which also removes the
            // files of an upload that is already decided).
            self.conn()
                .execute(
                    "UPDATE quarantine SET status = 'failed', error = ?1, finished_at = ?2
                     WHERE id = ?3 AND status = 'pending'",
                    params![
                        format!(
                            "The upload could not be validated and was discarded: {error}. Upload it again."
                        ),
                        now.unix(),
                        q
                    ],
                )
                .doing("failing a quarantined upload")?;
        }
        let checker = atr_core::queue::failure_checker(spec.task_type, &spec.task_args);
        if let (Some(checker), Some(project), Some(version), Some(revision)) =
            (checker, &spec.project_key, &spec.version_key, spec.revision_number)
        {
            let result = CheckResult::new(
                checker,
                CheckStatus::Exception,
                spec.primary_rel_path.clone(),
                format!(
                    "The {} task could not finish: {error}. Ask an administrator to look at the worker log, or upload the file again to re-run it.",
                    spec.task_type
                ),
            )
            .with_data(serde_json::json!({ "task_id": id.0 }));
            let ctx = crate::db::checks::ResultContext {
                project_key: project,
                version_key: version,
                revision_number: revision,
                created: now,
                inputs_hash: None,
                cached: false,
            };
            // The revision may be gone (release deleted meanwhile); the task row says enough then.
            if self.revision_exists(project, version, revision)? {
                self.insert_check_results(&ctx, &[result])?;
            }
        }
        Ok(())
    }

    /// Puts every active task whose lease expired before `now` back in the queue, or fails it when
    /// it has used all its attempts.
    pub fn requeue_expired_leases(&self, now: Timestamp) -> Result<Requeued, StorageError> {
        let expired = self.active_where("lease_expires_at < ?1", params![now.unix()])?;
        self.requeue(
            expired,
            now,
            "its worker stopped renewing the lease (it died, hung or was cut off)",
            true,
        )
    }

    /// Puts the active tasks of `worker` back in the queue at once (the manager saw it die).
    /// `count_attempt = false` refunds the attempt (a clean shutdown is not the task's fault).
    pub fn release_worker_tasks(
        &self,
        worker: &str,
        now: Timestamp,
        reason: &str,
        count_attempt: bool,
    ) -> Result<Requeued, StorageError> {
        let held = self.active_where("worker = ?1", params![worker])?;
        self.requeue(held, now, reason, count_attempt)
    }

    fn requeue(
        &self,
        tasks: Vec<ActiveTask>,
        now: Timestamp,
        reason: &str,
        count_attempt: bool,
    ) -> Result<Requeued, StorageError> {
        let mut out = Requeued::default();
        for t in tasks {
            let max: u32 = self
                .conn()
                .query_row("SELECT max_attempts FROM tasks WHERE id = ?1", [t.id.0], |r| r.get(0))
                .doing("reading a task")?;
            if count_attempt && t.attempts >= max {
                self.finish_failed(
                    t.id,
                    now,
                    &format!(
                        "gave up after {} of {max} attempts; last attempt: {reason} (worker {})",
                        t.attempts, t.worker
                    ),
                )?;
                out.failed.push(t.id);
            } else {
                self.conn()
                    .execute(
                        "UPDATE tasks SET status = 'queued', worker = NULL, lease_expires_at = NULL,
                             attempts = attempts - ?1, error = ?2
                         WHERE id = ?3",
                        params![
                            u32::from(!count_attempt),
                            format!(
                                "attempt {} of {max} interrupted: {reason} (worker {})",
                                t.attempts, t.worker
                            ),
                            t.id.0
                        ],
                    )
                    .doing("requeueing a task")?;
                out.requeued.push(t.id);
            }
        }
        Ok(out)
    }

    fn active_where(&self, cond: &str, p: impl rusqlite::Params) -> Result<Vec<ActiveTask>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT id, worker, started_at, lease_expires_at, attempts FROM tasks
                 WHERE status = 'active' AND {cond} ORDER BY id"
            ))
            .doing("listing active tasks")?;
        stmt.query_map(p, |r| {
            Ok(ActiveTask {
                id: TaskId(r.get(0)?),
                worker: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                started: ts(r, 2)?,
                lease_expires: ts(r, 3)?,
                attempts: r.get(4)?,
            })
        })
        .doing("listing active tasks")?
        .collect::<Result<_, _>>()
        .doing("listing active tasks")
    }

    /// Every active task, oldest first (the manager enforces time limits with it).
    pub fn active_tasks(&self) -> Result<Vec<ActiveTask>, StorageError> {
        self.active_where("1", [])
    }

    /// Counts tasks by status: (queued, active, completed, failed).
    pub fn task_counts(&self) -> Result<(u64, u64, u64, u64), StorageError> {
        self.conn()
            .query_row(
                "SELECT coalesce(sum(status = 'queued'), 0), coalesce(sum(status = 'active'), 0),
                        coalesce(sum(status = 'completed'), 0), coalesce(sum(status = 'failed'), 0) FROM tasks",
                [],
                |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                    Ok((n(0)?, n(1)?, n(2)?, n(3)?))
                },
            )
            .doing("counting tasks")
    }

    /// The dedup key of task `id`.
    pub fn task_dedup_key(&self, id: TaskId) -> Result<Option<String>, StorageError> {
        self.conn()
            .query_row("SELECT dedup_key FROM tasks WHERE id = ?1", [id.0], |r| r.get(0))
            .optional()
            .doing("reading a task")
            .map(Option::flatten)
    }

    /// Whether an unfinished task with `dedup_key` exists for the same revision (planning twice
    /// must not queue the same work twice).
    pub fn ongoing_duplicate(
        &self,
        dedup_key: &str,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
    ) -> Result<bool, StorageError> {
        self.conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM tasks WHERE dedup_key = ?1 AND status IN ('queued', 'active')
                    AND project_key = ?2 AND version_key = ?3 AND revision_number = ?4)",
                params![dedup_key, project.as_str(), version.as_str(), revision.get()],
                |r| r.get(0),
            )
            .doing("looking for a duplicate task")
    }

    /// Copies the results of the latest completed task with `dedup_key` of the same release into
    /// `revision`, marked as cached. Returns how many results were copied, or `None` when no
    /// completed task has that key (the work must run).
    pub fn copy_cached_results(
        &self,
        dedup_key: &str,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
        now: Timestamp,
    ) -> Result<Option<usize>, StorageError> {
        let source: Option<u32> = self
            .conn()
            .prepare_cached(
                "SELECT revision_number FROM tasks WHERE dedup_key = ?1 AND status = 'completed'
                   AND project_key = ?2 AND version_key = ?3 AND revision_number IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![dedup_key, project.as_str(), version.as_str()], |r| r.get(0)).optional()
            })
            .doing("looking up a cached result")?;
        let Some(source) = source else { return Ok(None) };
        if source == revision.get() {
            return Ok(Some(0));
        }
        let n = self
            .conn()
            .prepare_cached(
                "INSERT INTO check_results (project_key, version_key, revision_number, checker, checker_version,
                     primary_rel_path, member_rel_path, status, message, data, inputs_hash, cached, created_at)
                 SELECT project_key, version_key, ?4, checker, checker_version, primary_rel_path, member_rel_path,
                     status, message, data, inputs_hash, 1, ?5
                 FROM check_results
                 WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3 AND inputs_hash = ?6
                 ORDER BY id",
            )
            .and_then(|mut s| {
                s.execute(params![project.as_str(), version.as_str(), source, revision.get(), now.unix(), dedup_key])
            })
            .doing("copying cached check results")?;
        Ok(Some(n))
    }
}
