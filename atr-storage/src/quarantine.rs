//! Quarantine: uploaded archives are held outside every revision until they are validated.
//!
//! [`Storage::upload`] is the one entry point for uploaded files:
//! - files that need no validation (signatures, checksums, text) go straight into a new draft
//!   revision with its check tasks ([`UploadOutcome::Revision`], HTTP 201);
//! - an upload containing an archive ([`needs_quarantine`]) is written to
//!   `quarantine/<id>/` under the state directory, recorded as a `pending` [`Quarantined`] row and
//!   a `quarantine_validate` task, in one transaction ([`UploadOutcome::Quarantined`], HTTP 202).
//!
//! The worker validates the archives (format matches name, readable to the end, within the
//! hostile-archive limits) and then calls [`Storage::accept_quarantined`], which hard-links the
//! files into a new draft revision (planning its checks in the same transaction), or
//! [`Storage::reject_quarantined`], which deletes the files and keeps the explanation on the row
//! for the uploader. Either way the quarantine directory is removed afterwards; a directory
//! without a pending row is a leftover and is removed on the next upload that needs its name.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use atr_core::ids::{ProjectKey, RevisionNumber, Uid, VersionKey};
use atr_core::model::{Revision, TaskId, TaskSpec, TaskType};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::db::{Tx, json_col, parse_col, rev_opt, to_json, ts, ts_opt};
use crate::error::{DbContext, StorageError};
use crate::planning::{PlanOutcome, hash_file};
use crate::revision::NewRevision;
use crate::{Storage, session};

/// Name suffixes of files that are held in quarantine until validated (archives).
pub const QUARANTINE_SUFFIXES: &[&str] = &[".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip"];

/// Whether an uploaded file must pass quarantine before it can join a revision.
pub fn needs_quarantine(path: &RelPath) -> bool {
    let name = path.file_name().to_ascii_lowercase();
    QUARANTINE_SUFFIXES.iter().any(|s| name.len() > s.len() && name.ends_with(s))
}

/// One uploaded file.
pub struct Upload<'r> {
    /// Where it goes in the revision.
    pub path: RelPath,
    /// Its content.
    pub reader: &'r mut dyn Read,
}

impl std::fmt::Debug for Upload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Where a quarantined upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuarantineStatus {
    /// Waiting for validation.
    Pending,
    /// Validated; it became a revision.
    Accepted,
    /// Refused; the files are gone and `error` says why.
    Failed,
}

impl QuarantineStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineStatus::Pending => "pending",
            QuarantineStatus::Accepted => "accepted",
            QuarantineStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for QuarantineStatus {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(QuarantineStatus::Pending),
            "accepted" => Ok(QuarantineStatus::Accepted),
            "failed" => Ok(QuarantineStatus::Failed),
            other => {
                Err(StorageError::corrupt("quarantine status", other, "not pending, accepted or failed"))
            }
        }
    }
}

/// One file of a quarantined upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedFile {
    /// Its path in the revision to be.
    pub path: RelPath,
    /// Size in bytes.
    pub size: u64,
    /// `blake3:<hex>`.
    pub hash: String,
    /// Whether it is an archive to validate.
    pub archive: bool,
}

/// A quarantined upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Row id (also the directory name).
    pub id: i64,
    /// The release's project.
    pub project_key: ProjectKey,
    /// The release's version.
    pub version_key: VersionKey,
    /// The uploader.
    pub requested_by: Uid,
    /// The revision description to use.
    pub description: String,
    /// When it was uploaded.
    pub created: Timestamp,
    /// Where it stands.
    pub status: QuarantineStatus,
    /// The files.
    pub files: Vec<QuarantinedFile>,
    /// Why it was refused (status `failed`).
    pub error: Option<String>,
    /// The revision it became (status `accepted`).
    pub revision_number: Option<RevisionNumber>,
    /// When it was decided.
    pub finished: Option<Timestamp>,
}

/// An archive check made during validation, offered to the archive task of the new revision so
/// the archive is read once. It is used only when the task would run with the same inputs.
#[derive(Debug, Clone)]
pub struct Precomputed {
    /// The archive.
    pub path: RelPath,
    /// The `class` argument the check ran with (`source` or `binary`).
    pub class: String,
    /// The podling flag it ran with.
    pub is_podling: bool,
    /// Hash of the `.atr/license-headers-ignore` it used (`None`: there was none).
    pub header_ignore_hash: Option<String>,
    /// Its results.
    pub results: Vec<atr_core::check::CheckResult>,
    /// The task result JSON.
    pub value: serde_json::Value,
}

/// What an upload became.
#[derive(Debug, Clone)]
pub enum UploadOutcome {
    /// A new revision (no archive in the upload).
    Revision {
        /// The revision.
        revision: Revision,
        /// Its check tasks.
        plan: PlanOutcome,
    },
    /// Held in quarantine until the validation task decides.
    Quarantined {
        /// The quarantine row.
        quarantined: Quarantined,
        /// The validation task.
        task: TaskId,
    },
}

const COLUMNS: &str = "id, project_key, version_key, requested_by, description, created_at, status, files, \
     error, revision_number, finished_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Quarantined> {
    Ok(Quarantined {
        id: r.get(0)?,
        project_key: parse_col(r, 1)?,
        version_key: parse_col(r, 2)?,
        requested_by: parse_col(r, 3)?,
        description: r.get(4)?,
        created: ts(r, 5)?,
        status: parse_col(r, 6)?,
        files: json_col(r, 7)?,
        error: r.get(8)?,
        revision_number: rev_opt(r, 9)?,
        finished: ts_opt(r, 10)?,
    })
}

impl Tx<'_> {
    /// Quarantined upload `id`.
    pub fn quarantined(&self, id: i64) -> Result<Option<Quarantined>, StorageError> {
        self.conn()
            .query_row(&format!("SELECT {COLUMNS} FROM quarantine WHERE id = ?1"), [id], row)
            .optional()
            .doing("reading a quarantined upload")
    }

    /// The quarantined uploads of a release, newest first (pending ones block a vote; failed ones
    /// carry the explanation for the uploader).
    pub fn quarantined_of_release(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Vec<Quarantined>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM quarantine WHERE project_key = ?1 AND version_key = ?2 ORDER BY id DESC"
            ))
            .doing("listing quarantined uploads")?;
        stmt.query_map(params![project.as_str(), version.as_str()], row)
            .doing("listing quarantined uploads")?
            .collect::<Result<_, _>>()
            .doing("listing quarantined uploads")
    }

    fn finish_quarantine(
        &self,
        id: i64,
        status: QuarantineStatus,
        error: Option<&str>,
        revision: Option<RevisionNumber>,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let n = self
            .conn()
            .execute(
                "UPDATE quarantine SET status = ?1, error = ?2, revision_number = ?3, finished_at = ?4
                 WHERE id = ?5 AND status = 'pending'",
                params![status.as_str(), error, revision.map(|r| r.get()), now.unix(), id],
            )
            .doing("deciding a quarantined upload")?;
        Ok(n == 1)
    }
}

impl Storage {
    /// The directory of quarantined upload `id` (its files keep their revision paths below it).
    pub fn quarantine_dir(&self, id: i64) -> PathBuf {
        self.quarantine_root().join(id.to_string())
    }

    fn quarantine_root(&self) -> PathBuf {
        self.layout().root().join("quarantine")
    }

    /// Stores uploaded files: straight into a new draft revision, or into quarantine when any of
    /// them is an archive (see the module docs). `req` describes the revision to make.
    pub fn upload(&self, req: &NewRevision, uploads: Vec<Upload<'_>>) -> Result<UploadOutcome, StorageError> {
        if !uploads.iter().any(|u| needs_quarantine(&u.path)) {
            let (revision, (), plan) = self.create_draft_revision(req, |dir| {
                for u in uploads {
                    dir.write_from(&u.path, u.reader)?;
                }
                Ok::<_, StorageError>(())
            })?;
            return Ok(UploadOutcome::Revision { revision, plan });
        }
        // Refuse early what would be refused at acceptance (no release, wrong phase).
        self.read(|tx| {
            let release = tx.release(&req.project, &req.version)?.ok_or_else(|| StorageError::NotFound {
                what: "release",
                key: format!("{}-{}", req.project, req.version),
            })?;
            if !req.phases.contains(&release.phase) {
                return Err(StorageError::WrongPhase {
                    release: format!("{}-{}", req.project, req.version),
                    expected: req.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("` or `"),
                    actual: release.phase.as_str().to_owned(),
                });
            }
            Ok(())
        })?;

        let stage = self.session().scratch("quarantine");
        fs::create_dir(&stage).map_err(StorageError::io("create directory", &stage))?;
        let staged = (|| {
            let mut files = Vec::new();
            for u in uploads {
                let mut target = stage.clone();
                target.extend(u.path.segments());
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(StorageError::io("create directory", parent))?;
                }
                let mut f = fs::File::create_new(&target).map_err(StorageError::io("create", &target))?;
                let size = std::io::copy(u.reader, &mut f).map_err(StorageError::io("write", &target))?;
                f.sync_all().map_err(StorageError::io("fsync", &target))?;
                files.push(QuarantinedFile {
                    hash: hash_file(&target)?,
                    archive: needs_quarantine(&u.path),
                    path: u.path,
                    size,
                });
            }
            Ok::<_, StorageError>(files)
        })();
        let files = match staged {
            Ok(f) => f,
            Err(e) => {
                let _ = session::remove_tree(&stage);
                return Err(e);
            }
        };
        let root = self.quarantine_root();
        fs::create_dir_all(&root).map_err(StorageError::io("create directory", &root))?;
        let result = self.write(|tx| {
            tx.conn()
                .execute(
                    "INSERT INTO quarantine (project_key, version_key, requested_by, description, created_at, files)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        req.project.as_str(),
                        req.version.as_str(),
                        req.author.as_str(),
                        req.description,
                        req.now.unix(),
                        to_json(&files)
                    ],
                )
                .doing("recording a quarantined upload")?;
            let id = tx.conn().last_insert_rowid();
            let task = tx.enqueue_task(
                &TaskSpec {
                    task_type: TaskType::QuarantineValidate,
                    task_args: serde_json::json!({ "quarantine_id": id }),
                    asf_uid: Some(req.author.clone()),
                    project_key: Some(req.project.clone()),
                    version_key: Some(req.version.clone()),
                    revision_number: None,
                    primary_rel_path: None,
                },
                req.now,
            )?;
            let target = self.quarantine_dir(id);
            // A directory without a row is the leftover of a crash: we hold the write lock.
            session::remove_tree(&target)?;
            fs::rename(&stage, &target).map_err(StorageError::io("move the upload into quarantine at", &target))?;
            let quarantined = tx.quarantined(id)?.expect("inserted above");
            Ok::<_, StorageError>((quarantined, task, target))
        });
        match result {
            Ok((quarantined, task, _)) => Ok(UploadOutcome::Quarantined { quarantined, task }),
            Err(e) => {
                let _ = session::remove_tree(&stage);
                Err(e)
            }
        }
    }

    /// Turns validated upload `id` into a new draft revision (its checks planned in the same
    /// transaction) and removes its quarantine directory.
    pub fn accept_quarantined(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<(Revision, PlanOutcome), StorageError> {
        self.accept_quarantined_with(id, now, &[]).map(|(r, p, _)| (r, p))
    }

    /// [`Storage::accept_quarantined`], completing the new revision's archive tasks with the
    /// `precomputed` checks whose inputs match (same class, podling flag and header-ignore file);
    /// also returns how many tasks were completed that way.
    pub fn accept_quarantined_with(
        &self,
        id: i64,
        now: Timestamp,
        precomputed: &[Precomputed],
    ) -> Result<(Revision, PlanOutcome, usize), StorageError> {
        let q = self.pending(id)?;
        let dir = self.quarantine_dir(id);
        let mut req = NewRevision::new(
            q.project_key.clone(),
            q.version_key.clone(),
            q.requested_by.clone(),
            now,
            q.description.clone(),
        );
        req.phases = vec![atr_core::model::ReleasePhase::Draft];
        let mut reused = 0;
        let (revision, (), plan) =
            self.create_draft_revision_then(&req, &dir, &q.files, precomputed, &mut reused, |tx, rev| {
                if !tx.finish_quarantine(id, QuarantineStatus::Accepted, None, Some(rev.number), now)? {
                    return Err(StorageError::AlreadyExists {
                        what: "decision for quarantined upload",
                        key: id.to_string(),
                    });
                }
                Ok(())
            })?;
        let _ = session::remove_tree(&dir);
        Ok((revision, plan, reused))
    }

    /// Refuses upload `id` with `explanation` (shown to the uploader) and deletes its files.
    /// `false` when it was already decided.
    pub fn reject_quarantined(
        &self,
        id: i64,
        explanation: &str,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let changed = self
            .write(|tx| tx.finish_quarantine(id, QuarantineStatus::Failed, Some(explanation), None, now))?;
        session::remove_tree(&self.quarantine_dir(id))?;
        Ok(changed)
    }

    fn pending(&self, id: i64) -> Result<Quarantined, StorageError> {
        let q = self
            .read(|tx| tx.quarantined(id))?
            .ok_or_else(|| StorageError::NotFound { what: "quarantined upload", key: id.to_string() })?;
        if q.status != QuarantineStatus::Pending {
            return Err(StorageError::AlreadyExists {
                what: "decision for quarantined upload",
                key: format!("{id} ({})", q.status.as_str()),
            });
        }
        Ok(q)
    }

    fn create_draft_revision_then(
        &self,
        req: &NewRevision,
        dir: &Path,
        files: &[QuarantinedFile],
        precomputed: &[Precomputed],
        reused: &mut usize,
        in_tx: impl FnOnce(&Tx<'_>, &Revision) -> Result<(), StorageError>,
    ) -> Result<(Revision, (), PlanOutcome), StorageError> {
        let hashes = std::cell::RefCell::new(None);
        let mut plan = PlanOutcome::default();
        let now = req.now;
        let (rev, ()) = self.create_revision_with(
            req,
            |interim| {
                for f in files {
                    let mut src = dir.to_path_buf();
                    src.extend(f.path.segments());
                    interim.link_file(&f.path, &src)?;
                }
                *hashes.borrow_mut() = Some(crate::planning::hash_tree(interim.root())?);
                Ok::<_, StorageError>(())
            },
            |tx, rev| {
                in_tx(tx, rev)?;
                let hashes = hashes.borrow();
                let hashes = hashes.as_ref().expect("hashed after the change");
                plan = tx.plan_revision_tasks(rev, hashes, now)?;
                *reused = use_precomputed(tx, rev, &plan, hashes, precomputed, now)?;
                Ok(())
            },
            &mut |_| {},
        )?;
        Ok((rev, (), plan))
    }
}

/// Completes the planned archive tasks whose inputs match a precomputed check; returns how many.
fn use_precomputed(
    tx: &Tx<'_>,
    rev: &Revision,
    plan: &PlanOutcome,
    hashes: &crate::planning::FileHashes,
    precomputed: &[Precomputed],
    now: Timestamp,
) -> Result<usize, StorageError> {
    if precomputed.is_empty() {
        return Ok(0);
    }
    let ignore_hash =
        RelPath::new(atr_core::queue::HEADER_IGNORE_FILE).ok().and_then(|p| hashes.get(&p).cloned());
    let mut n = 0;
    for &id in &plan.enqueued {
        let Some(task) = tx.task(id)? else { continue };
        let spec = &task.spec;
        if spec.task_type != TaskType::ArchiveCheck {
            continue;
        }
        let args = &spec.task_args;
        let Some(pre) = precomputed.iter().find(|p| {
            Some(&p.path) == spec.primary_rel_path.as_ref()
                && args.get("class").and_then(|c| c.as_str()) == Some(p.class.as_str())
                && args.get("is_podling").and_then(|c| c.as_bool()) == Some(p.is_podling)
                && p.header_ignore_hash == ignore_hash
        }) else {
            continue;
        };
        if !tx.complete_queued_task(id, "quarantine-validation", now, &pre.value)? {
            continue;
        }
        let key = tx.task_dedup_key(id)?;
        let ctx = crate::db::checks::ResultContext {
            project_key: &rev.project_key,
            version_key: &rev.version_key,
            revision_number: rev.number,
            created: now,
            inputs_hash: key.as_deref(),
            cached: false,
        };
        tx.insert_check_results(&ctx, &pre.results)?;
        n += 1;
    }
    Ok(n)
}
