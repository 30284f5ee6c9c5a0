//! Quarantine: uploaded archives are held outside every revision until they are validated.
//!
//! Uploaded files are written once: into a [`StagedUpload`] ([`Storage::stage_upload`]), a
//! directory of the storage handle's scratch area under the state directory, hashed (BLAKE3) while
//! they are written. [`Storage::upload_staged`] then hard-links them into a revision or renames them
//! into quarantine, never copying or reading them again; [`Storage::upload`] does both for
//! readers. Dropping a staged upload (a refused or abandoned request) removes its files.
//!
//! [`Storage::upload_staged`] (and [`Storage::upload`]) is the one entry point for uploaded files:
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
//! for the uploader. A quarantined upload may also carry removals (rsync `--delete`), applied in
//! the same revision as its files. Either way the quarantine directory is removed afterwards; a
//! directory without a pending row is a leftover and is removed on the next upload that needs its
//! name.

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
use crate::planning::{FileHashes, PlanOutcome, hash_file};
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

/// Size of the buffer between a staged file and its disk file.
const STAGE_BUFFER: usize = 1 << 20;

/// Once this many bytes of a staged file are written, the kernel is asked to start writing them
/// to disk, so the final fsync does not wait for the whole file.
const WRITEBACK_EVERY: u64 = 32 << 20;

/// An upload being received. Its files are written once, into a directory of the storage
/// handle's scratch area under the state directory (the file system of revisions and
/// quarantine), and hashed (BLAKE3, as storage records them) while they are written, so
/// [`Storage::upload_staged`] hard-links them into a revision or renames them into quarantine
/// without copying or reading them again.
///
/// Dropping it without [`Storage::upload_staged`] removes every file written so far.
#[derive(Debug)]
pub struct StagedUpload {
    dir: PathBuf,
    files: Vec<StagedFile>,
    removals: Vec<RelPath>,
    bytes: u64,
    counter: u64,
}

#[derive(Debug)]
struct StagedFile {
    path: RelPath,
    size: u64,
    hash: String,
    at: PathBuf,
}

impl StagedUpload {
    /// Starts the file `path`; write its content to the returned writer, then call
    /// [`StagedWriter::finish`]. Refuses a path the upload already holds.
    pub fn begin(&mut self, path: RelPath) -> Result<StagedWriter<'_>, StorageError> {
        if self.files.iter().any(|f| f.path == path) {
            return Err(StorageError::PathConflict {
                path: path.to_string(),
                reason: "the upload holds a file of that name already",
            });
        }
        let at = self.dir.join(format!("f{}", self.counter));
        self.counter += 1;
        let file = fs::File::create_new(&at).map_err(StorageError::io("create", &at))?;
        Ok(StagedWriter {
            upload: self,
            path,
            at,
            out: Some(file),
            buf: Vec::with_capacity(STAGE_BUFFER),
            hasher: blake3::Hasher::new(),
            size: 0,
            synced_to: 0,
        })
    }

    /// Streams `reader` to the end as the file `path`; returns its size.
    pub fn add(&mut self, path: RelPath, reader: &mut dyn Read) -> Result<u64, StorageError> {
        let mut w = self.begin(path)?;
        let at = w.at.clone();
        std::io::copy(reader, &mut w).map_err(StorageError::io("write", &at))?;
        w.finish()
    }

    /// Adds the existing file `source` (on the state directory's file system) as `path` by a
    /// hard link, reading it once for its hash; returns its size.
    pub fn link(&mut self, path: RelPath, source: &Path) -> Result<u64, StorageError> {
        if self.files.iter().any(|f| f.path == path) {
            return Err(StorageError::PathConflict {
                path: path.to_string(),
                reason: "the upload holds a file of that name already",
            });
        }
        let meta = fs::symlink_metadata(source).map_err(StorageError::io("inspect", source))?;
        if !meta.is_file() {
            return Err(StorageError::PathConflict {
                path: path.to_string(),
                reason: "the source is not a regular file",
            });
        }
        let at = self.dir.join(format!("f{}", self.counter));
        self.counter += 1;
        fs::hard_link(source, &at).map_err(StorageError::io("hard-link", source))?;
        let hash = hash_file(&at)?;
        self.bytes += meta.len();
        self.files.push(StagedFile { path, size: meta.len(), hash, at });
        Ok(meta.len())
    }

    /// Records that the upload removes `path` from the latest revision (rsync `--delete`).
    pub fn remove(&mut self, path: RelPath) {
        if !self.removals.contains(&path) {
            self.removals.push(path);
        }
    }

    /// Moves every file under the directory `dir` (a form's target directory, which may arrive
    /// after the files).
    pub fn prefix(&mut self, dir: &RelPath) {
        for f in &mut self.files {
            f.path = dir.join(&f.path);
        }
    }

    /// The paths of the files, in the order they were added.
    pub fn paths(&self) -> impl ExactSizeIterator<Item = &RelPath> {
        self.files.iter().map(|f| &f.path)
    }

    /// The paths it removes.
    pub fn removals(&self) -> &[RelPath] {
        &self.removals
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether it holds no file (removals aside).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The bytes of every finished file.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for StagedUpload {
    fn drop(&mut self) {
        let _ = session::remove_tree(&self.dir);
    }
}

/// One file of a [`StagedUpload`] being written: every byte goes to disk and into the hash
/// once. Dropped without [`StagedWriter::finish`], the partial file is removed.
pub struct StagedWriter<'u> {
    upload: &'u mut StagedUpload,
    path: RelPath,
    at: PathBuf,
    /// The open file; `None` once finished.
    out: Option<fs::File>,
    /// Bytes not yet written: they go to the file and into the hash together, a whole buffer
    /// at a time, so the hash runs on large aligned blocks (its SIMD path) whatever the size of
    /// the pieces the network delivered.
    buf: Vec<u8>,
    hasher: blake3::Hasher,
    size: u64,
    synced_to: u64,
}

impl std::fmt::Debug for StagedWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagedWriter")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl StagedWriter<'_> {
    /// The bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Completes the file; returns its size.
    pub fn finish(mut self) -> Result<u64, StorageError> {
        self.drain().map_err(StorageError::io("write", &self.at))?;
        self.out.take().expect("taken only here");
        let file = StagedFile {
            path: self.path.clone(),
            size: self.size,
            hash: format!("blake3:{}", self.hasher.finalize().to_hex()),
            at: self.at.clone(),
        };
        self.upload.bytes += self.size;
        self.upload.files.push(file);
        Ok(self.size)
    }

    /// Hashes and writes the buffered bytes.
    fn drain(&mut self) -> std::io::Result<()> {
        let out = self.out.as_mut().ok_or_else(|| std::io::Error::other("the file is finished"))?;
        self.hasher.update(&self.buf);
        std::io::Write::write_all(out, &self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Starts the disk write of what was flushed since the last call (the data stays in the page
    /// cache; the fsync before the revision or quarantine row then has little left to do).
    fn start_writeback(&mut self) {
        let Some(out) = &self.out else { return };
        let flushed = self.size - self.buf.len() as u64;
        if flushed < self.synced_to + WRITEBACK_EVERY {
            return;
        }
        start_writeback(out, self.synced_to, flushed - self.synced_to);
        self.synced_to = flushed;
    }
}

/// Asks Linux to start writing `len` bytes at `offset` of `file` to disk, without waiting.
fn start_writeback(file: &fs::File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd as _;
    let (Ok(offset), Ok(len)) = (libc::off64_t::try_from(offset), libc::off64_t::try_from(len)) else {
        return;
    };
    // SAFETY: a valid open descriptor and a range; the call only schedules I/O (advisory).
    let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

impl std::io::Write for StagedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.is_none() {
            return Err(std::io::Error::other("the file is finished"));
        }
        self.buf.extend_from_slice(buf);
        self.size += buf.len() as u64;
        if self.buf.len() >= STAGE_BUFFER {
            self.drain()?;
            self.start_writeback();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for StagedWriter<'_> {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.at);
        }
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
    /// Files of the latest revision the upload removes (rsync `--delete`), applied together with
    /// the files when the upload is accepted.
    pub removals: Vec<RelPath>,
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

/// One entry of the `files` column: a file of the upload, or (`removed`) a path it removes.
/// Rows written before removals existed hold files only and read the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredEntry {
    path: RelPath,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    hash: String,
    #[serde(default)]
    archive: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    removed: bool,
}

impl StoredEntry {
    fn file(f: &QuarantinedFile) -> StoredEntry {
        StoredEntry {
            path: f.path.clone(),
            size: f.size,
            hash: f.hash.clone(),
            archive: f.archive,
            removed: false,
        }
    }

    fn removal(path: &RelPath) -> StoredEntry {
        StoredEntry { path: path.clone(), size: 0, hash: String::new(), archive: false, removed: true }
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Quarantined> {
    let entries: Vec<StoredEntry> = json_col(r, 7)?;
    let (removed, kept): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.removed);
    Ok(Quarantined {
        id: r.get(0)?,
        project_key: parse_col(r, 1)?,
        version_key: parse_col(r, 2)?,
        requested_by: parse_col(r, 3)?,
        description: r.get(4)?,
        created: ts(r, 5)?,
        status: parse_col(r, 6)?,
        files: kept
            .into_iter()
            .map(|e| QuarantinedFile { path: e.path, size: e.size, hash: e.hash, archive: e.archive })
            .collect(),
        removals: removed.into_iter().map(|e| e.path).collect(),
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
        self.layout().quarantined_upload(id)
    }

    fn quarantine_root(&self) -> PathBuf {
        self.layout().quarantine()
    }

    /// Stores uploaded files: straight into a new draft revision, or into quarantine when any of
    /// them is an archive (see the module docs). `req` describes the revision to make.
    ///
    /// Each reader is streamed once into [`Storage::stage_upload`]'s area and hashed on the way;
    /// see [`Storage::upload_staged`].
    pub fn upload(&self, req: &NewRevision, uploads: Vec<Upload<'_>>) -> Result<UploadOutcome, StorageError> {
        let mut staged = self.stage_upload()?;
        for u in uploads {
            staged.add(u.path, u.reader)?;
        }
        self.upload_staged(req, staged)
    }

    /// A new, empty [`StagedUpload`]: a directory of this storage handle's scratch area under the
    /// state directory, so its files can be hard-linked into a revision or renamed into
    /// quarantine without a copy.
    pub fn stage_upload(&self) -> Result<StagedUpload, StorageError> {
        let dir = self.session().scratch("upload");
        fs::create_dir(&dir).map_err(StorageError::io("create directory", &dir))?;
        Ok(StagedUpload { dir, files: Vec::new(), removals: Vec::new(), bytes: 0, counter: 0 })
    }

    /// Stores a staged upload: a new draft revision (the latest one, minus the staged removals,
    /// plus the staged files, hard-linked) when no file is an archive; otherwise the files and
    /// removals are held in quarantine until the validation task decides, and the revision made
    /// on acceptance applies both. The files are not read again: their hashes were taken while
    /// they were written.
    pub fn upload_staged(
        &self,
        req: &NewRevision,
        staged: StagedUpload,
    ) -> Result<UploadOutcome, StorageError> {
        if !staged.files.iter().any(|f| needs_quarantine(&f.path)) {
            let sources: Vec<(RelPath, PathBuf)> =
                staged.files.iter().map(|f| (f.path.clone(), f.at.clone())).collect();
            let known: FileHashes = staged.files.iter().map(|f| (f.path.clone(), f.hash.clone())).collect();
            let mut reused = 0;
            let (revision, (), plan) = self.create_draft_revision_then(
                req,
                &sources,
                &staged.removals,
                &known,
                &[],
                &mut reused,
                |_, _| Ok(()),
            )?;
            drop(staged);
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

        // Arrange the flat staged files as the tree quarantine keeps (renames: no copy), fsynced.
        let stage = staged.dir.join("tree");
        fs::create_dir(&stage).map_err(StorageError::io("create directory", &stage))?;
        let mut entries = Vec::with_capacity(staged.files.len() + staged.removals.len());
        for f in &staged.files {
            let mut target = stage.clone();
            target.extend(f.path.segments());
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(StorageError::io("create directory", parent))?;
            }
            if fs::symlink_metadata(&target).is_ok() {
                return Err(StorageError::PathConflict {
                    path: f.path.to_string(),
                    reason: "a directory of that name is in the same upload",
                });
            }
            fs::rename(&f.at, &target)
                .map_err(StorageError::io("move into the quarantine stage", &target))?;
            fs::File::open(&target)
                .and_then(|file| file.sync_all())
                .map_err(StorageError::io("fsync", &target))?;
            entries.push(StoredEntry::file(&QuarantinedFile {
                path: f.path.clone(),
                size: f.size,
                hash: f.hash.clone(),
                archive: needs_quarantine(&f.path),
            }));
        }
        entries.extend(staged.removals.iter().map(StoredEntry::removal));
        let root = self.quarantine_root();
        fs::create_dir_all(&root).map_err(StorageError::io("create directory", &root))?;
        let (quarantined, task) = self.write(|tx| {
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
                        to_json(&entries)
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
            Ok::<_, StorageError>((quarantined, task))
        })?;
        drop(staged);
        Ok(UploadOutcome::Quarantined { quarantined, task })
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
        let sources: Vec<(RelPath, PathBuf)> = q
            .files
            .iter()
            .map(|f| {
                let mut src = dir.clone();
                src.extend(f.path.segments());
                (f.path.clone(), src)
            })
            .collect();
        let known: FileHashes = q.files.iter().map(|f| (f.path.clone(), f.hash.clone())).collect();
        let (revision, (), plan) = self.create_draft_revision_then(
            &req,
            &sources,
            &q.removals,
            &known,
            precomputed,
            &mut reused,
            |tx, rev| {
                if !tx.finish_quarantine(id, QuarantineStatus::Accepted, None, Some(rev.number), now)? {
                    return Err(StorageError::AlreadyExists {
                        what: "decision for quarantined upload",
                        key: id.to_string(),
                    });
                }
                Ok(())
            },
        )?;
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

    /// A draft revision: the latest one minus `removals` (those still there), plus `sources`
    /// hard-linked as their paths; files whose hash is in `known` are not read again.
    #[expect(clippy::too_many_arguments, reason = "one private helper of the two upload paths")]
    fn create_draft_revision_then(
        &self,
        req: &NewRevision,
        sources: &[(RelPath, PathBuf)],
        removals: &[RelPath],
        known: &FileHashes,
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
                for rel in removals {
                    if interim.contains(rel) {
                        interim.remove(rel)?;
                    }
                }
                for (rel, src) in sources {
                    interim.link_file(rel, src)?;
                }
                *hashes.borrow_mut() = Some(hash_tree_known(interim.root(), known)?);
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

/// [`crate::planning::hash_tree`], taking the hashes in `known` instead of reading those files.
fn hash_tree_known(root: &Path, known: &FileHashes) -> Result<FileHashes, StorageError> {
    let mut out = FileHashes::new();
    for rel in crate::revision::list_files(root)? {
        let hash = match known.get(&rel) {
            Some(h) => h.clone(),
            None => {
                let mut p = root.to_path_buf();
                p.extend(rel.segments());
                hash_file(&p)?
            }
        };
        out.insert(rel, hash);
    }
    Ok(out)
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
