//! New revisions: hard-link the base revision into an interim directory, apply the caller's change,
//! fsync, then rename it into place and record it in one `BEGIN IMMEDIATE` transaction.
//!
//! The steps, and what a crash after each leaves:
//!
//! | step                          | after a crash here                                                     |
//! |-------------------------------|------------------------------------------------------------------------|
//! | [`RevisionStep::ReleaseLocked`] … [`RevisionStep::WriteLocked`] | old state; the interim dir in `tmp/` is removed on open |
//! | [`RevisionStep::Renamed`], [`RevisionStep::Inserted`] | the directory is in place but uncommitted: removed on open (no row) |
//! | [`RevisionStep::Committed`]   | new state                                                              |
//!
//! Writers of one release take turns through a per-release lock file, so a change is never applied to
//! a base that another writer has already superseded. Writers of different releases run in parallel
//! until the short final transaction.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use atr_core::ids::{ProjectKey, ReleaseKey, RevisionNumber, Uid, VersionKey};
use atr_core::model::{AuditAction, AuditEvent, ReleasePhase, Revision};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;

use crate::Storage;
use crate::db::Tx;
use crate::error::StorageError;
use crate::session::{self, Session};

/// Mode of every file inside a revision.
const FILE_MODE: u32 = 0o444;
/// Mode of every directory inside a revision once it is in place.
const DIR_MODE: u32 = 0o555;

/// What the new revision starts from before the change is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The latest revision (or nothing, for the first revision).
    Latest,
    /// An empty tree ("restart from scratch").
    Empty,
    /// An older revision ("make revision N the latest again").
    Revision(RevisionNumber),
}

/// A request for a new revision.
#[derive(Debug, Clone)]
pub struct NewRevision {
    /// The release's project.
    pub project: ProjectKey,
    /// The release's version.
    pub version: VersionKey,
    /// Who makes the revision.
    pub author: Uid,
    /// When (passed in; storage does not read the clock for domain times).
    pub now: Timestamp,
    /// Why, in a few words ("Upload of apache-foo-1.0.tar.gz").
    pub description: String,
    /// What the revision starts from.
    pub base: Base,
    /// Refuse unless the latest revision is this one (the API's `expected_revision`).
    pub expect_latest: Option<RevisionNumber>,
    /// Phases in which the release may get a new revision.
    pub phases: Vec<ReleasePhase>,
    /// Whether the author acts as an administrator (recorded in the audit log).
    pub as_admin: bool,
}

impl NewRevision {
    /// A revision based on the latest one, allowed in the draft and preview phases.
    pub fn new(
        project: ProjectKey,
        version: VersionKey,
        author: Uid,
        now: Timestamp,
        description: impl Into<String>,
    ) -> Self {
        NewRevision {
            project,
            version,
            author,
            now,
            description: description.into(),
            base: Base::Latest,
            expect_latest: None,
            phases: vec![ReleasePhase::Draft, ReleasePhase::Preview],
            as_admin: false,
        }
    }

    /// Starts from `base` instead of the latest revision.
    pub fn with_base(mut self, base: Base) -> Self {
        self.base = base;
        self
    }

    /// Refuses with "A newer revision appeared" unless the latest revision is `n`.
    pub fn expecting_latest(mut self, n: RevisionNumber) -> Self {
        self.expect_latest = Some(n);
        self
    }

    /// Allows the revision only while the release is in one of `phases`.
    pub fn in_phases(mut self, phases: &[ReleasePhase]) -> Self {
        self.phases = phases.to_vec();
        self
    }

    fn release_name(&self) -> String {
        ReleaseKey::new(self.project.clone(), self.version.clone()).to_string()
    }
}

/// The observable steps of revision creation, in order (for tracing and crash tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevisionStep {
    /// The per-release lock is held and the base is known.
    ReleaseLocked,
    /// The base revision is hard-linked into the interim directory.
    Cloned,
    /// The caller's change has been applied.
    Changed,
    /// Files and directories are read-only and fsynced.
    Synced,
    /// The database write lock is held (`BEGIN IMMEDIATE`).
    WriteLocked,
    /// The directory has been renamed into `unfinished/…/<NNNNN>/`.
    Renamed,
    /// The row and the audit record are inserted, not yet committed.
    Inserted,
    /// Committed: the revision exists.
    Committed,
}

impl RevisionStep {
    /// Every step, in order.
    pub const ALL: [RevisionStep; 8] = [
        RevisionStep::ReleaseLocked,
        RevisionStep::Cloned,
        RevisionStep::Changed,
        RevisionStep::Synced,
        RevisionStep::WriteLocked,
        RevisionStep::Renamed,
        RevisionStep::Inserted,
        RevisionStep::Committed,
    ];

    /// A stable name (`release_locked`, `cloned`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RevisionStep::ReleaseLocked => "release_locked",
            RevisionStep::Cloned => "cloned",
            RevisionStep::Changed => "changed",
            RevisionStep::Synced => "synced",
            RevisionStep::WriteLocked => "write_locked",
            RevisionStep::Renamed => "renamed",
            RevisionStep::Inserted => "inserted",
            RevisionStep::Committed => "committed",
        }
    }
}

/// The interim directory of a revision being prepared. It only accepts [`RelPath`] names, and it
/// replaces files rather than writing into them, so files shared (hard-linked) with earlier
/// revisions are never modified.
#[derive(Debug)]
pub struct InterimDir<'s> {
    root: PathBuf,
    session: &'s Session,
    /// Files placed by this change, fsynced together before the revision is committed: one journal
    /// commit for the whole batch instead of one per file.
    unsynced: Vec<RelPath>,
}

impl InterimDir<'_> {
    fn path(&self, rel: &RelPath) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(rel.segments());
        p
    }

    /// The directory on disk (read-only use: checks, listings).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes `contents` as `path`, replacing any file of that name.
    pub fn write(&mut self, path: &RelPath, contents: &[u8]) -> Result<(), StorageError> {
        self.write_from(path, &mut &contents[..]).map(|_| ())
    }

    /// Streams `reader` into `path`, replacing any file of that name; returns the byte count.
    pub fn write_from(&mut self, path: &RelPath, reader: &mut dyn Read) -> Result<u64, StorageError> {
        let stage = self.session.scratch("stage");
        let result = (|| {
            let mut file = File::create_new(&stage).map_err(StorageError::io("create", &stage))?;
            let n = std::io::copy(reader, &mut file).map_err(StorageError::io("write", &stage))?;
            file.flush().map_err(StorageError::io("write", &stage))?;
            file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
                .map_err(StorageError::io("make read-only", &stage))?;
            self.place(path, &stage)?;
            Ok(n)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&stage);
        }
        result
    }

    /// Hard-links the existing file `source` (on the same file system, for example an upload that
    /// passed quarantine) as `path`. The file becomes read-only.
    pub fn link_file(&mut self, path: &RelPath, source: &Path) -> Result<(), StorageError> {
        let meta = fs::metadata(source).map_err(StorageError::io("inspect", source))?;
        if !meta.is_file() {
            return Err(StorageError::PathConflict {
                path: path.to_string(),
                reason: "the source is not a regular file",
            });
        }
        fs::set_permissions(source, fs::Permissions::from_mode(FILE_MODE))
            .map_err(StorageError::io("make read-only", source))?;
        let stage = self.session.scratch("stage");
        fs::hard_link(source, &stage).map_err(StorageError::io("hard-link", source))?;
        let placed = self.place(path, &stage);
        if placed.is_err() {
            let _ = fs::remove_file(&stage);
        }
        placed
    }

    /// Moves the staged file into place with a rename, so an existing file is replaced, not written into.
    fn place(&mut self, path: &RelPath, staged: &Path) -> Result<(), StorageError> {
        let target = self.path(path);
        if let Some(parent) = path.parent() {
            self.make_dirs(&parent)?;
        }
        if target.is_dir() {
            return Err(StorageError::PathConflict {
                path: path.to_string(),
                reason: "a directory of that name exists",
            });
        }
        fs::rename(staged, &target).map_err(StorageError::io("move into the interim revision", &target))?;
        self.unsynced.push(path.clone());
        Ok(())
    }

    /// Fsyncs every file this change placed (files it later moved or removed are skipped).
    fn sync_placed(&mut self) -> Result<(), StorageError> {
        for rel in std::mem::take(&mut self.unsynced) {
            let p = self.path(&rel);
            match File::open(&p) {
                Ok(f) => f.sync_all().map_err(StorageError::io("fsync", &p))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StorageError::io("open", &p)(e)),
            }
        }
        Ok(())
    }

    fn make_dirs(&self, dir: &RelPath) -> Result<(), StorageError> {
        let mut p = self.root.clone();
        for seg in dir.segments() {
            p.push(seg);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(StorageError::PathConflict {
                        path: dir.to_string(),
                        reason: "a file stands where a directory is needed",
                    });
                }
                Err(_) => fs::create_dir(&p).map_err(StorageError::io("create directory", &p))?,
            }
        }
        Ok(())
    }

    /// Whether a file (not a directory) named `path` exists.
    pub fn contains(&self, path: &RelPath) -> bool {
        fs::symlink_metadata(self.path(path)).is_ok_and(|m| m.is_file())
    }

    /// Reads the file `path`.
    pub fn read(&self, path: &RelPath) -> Result<Vec<u8>, StorageError> {
        if !self.contains(path) {
            return Err(StorageError::NoSuchFile { path: path.to_string() });
        }
        let p = self.path(path);
        fs::read(&p).map_err(StorageError::io("read", &p))
    }

    /// Removes the file `path`, and any directories that this leaves empty.
    pub fn remove(&mut self, path: &RelPath) -> Result<(), StorageError> {
        if !self.contains(path) {
            return Err(StorageError::NoSuchFile { path: path.to_string() });
        }
        let p = self.path(path);
        fs::remove_file(&p).map_err(StorageError::io("remove", &p))?;
        let mut dir = path.parent();
        while let Some(d) = dir {
            let dp = self.path(&d);
            if fs::remove_dir(&dp).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// Renames the file `from` to `to` (replacing `to` if it exists).
    pub fn rename(&mut self, from: &RelPath, to: &RelPath) -> Result<(), StorageError> {
        if !self.contains(from) {
            return Err(StorageError::NoSuchFile { path: from.to_string() });
        }
        let stage = self.session.scratch("stage");
        let src = self.path(from);
        fs::rename(&src, &stage).map_err(StorageError::io("move", &src))?;
        if let Err(e) = self.place(to, &stage) {
            // Put it back so the interim tree is as before.
            let _ = fs::rename(&stage, &src);
            return Err(e);
        }
        // `place` queued the file under its new name for the batch fsync; the emptied directories
        // and every other directory entry are fsynced when the revision is sealed.
        // Prune directories emptied by the move.
        let mut dir = from.parent();
        while let Some(d) = dir {
            if fs::remove_dir(self.path(&d)).is_err() {
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }

    /// Removes every file.
    pub fn clear(&mut self) -> Result<(), StorageError> {
        session::remove_tree(&self.root)?;
        fs::create_dir(&self.root).map_err(StorageError::io("create directory", &self.root))
    }

    /// Every file, sorted.
    pub fn files(&self) -> Result<Vec<RelPath>, StorageError> {
        list_files(&self.root)
    }
}

/// Every regular file under `root`, as sorted relative paths.
pub(crate) fn list_files(root: &Path) -> Result<Vec<RelPath>, StorageError> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<RelPath>) -> Result<(), StorageError> {
        for entry in fs::read_dir(dir).map_err(StorageError::io("list", dir))? {
            let entry = entry.map_err(StorageError::io("list", dir))?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                StorageError::corrupt("revision file name", &name.to_string_lossy(), "not UTF-8")
            })?;
            let rel = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
            let ft = entry.file_type().map_err(StorageError::io("inspect", entry.path()))?;
            if ft.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else if ft.is_file() {
                out.push(
                    RelPath::new(rel.as_str())
                        .map_err(|e| StorageError::corrupt("revision file name", &rel, e))?,
                );
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// Recreates the directories of `src` under `dst` and hard-links its regular files.
fn clone_tree(src: &Path, dst: &Path) -> Result<(), StorageError> {
    for entry in fs::read_dir(src).map_err(StorageError::io("list", src))? {
        let entry = entry.map_err(StorageError::io("list", src))?;
        let ft = entry.file_type().map_err(StorageError::io("inspect", entry.path()))?;
        let to = dst.join(entry.file_name());
        if ft.is_dir() {
            fs::create_dir(&to).map_err(StorageError::io("create directory", &to))?;
            clone_tree(&entry.path(), &to)?;
        } else if ft.is_file() {
            fs::hard_link(entry.path(), &to).map_err(StorageError::io("hard-link", entry.path()))?;
        }
    }
    Ok(())
}

/// Makes every directory below `dir` read-only and fsyncs it (children first); `dir` itself is
/// fsynced but left writable, because renaming a directory to another parent needs write access to it.
fn seal_dirs(dir: &Path, is_root: bool) -> Result<(), StorageError> {
    for entry in fs::read_dir(dir).map_err(StorageError::io("list", dir))? {
        let entry = entry.map_err(StorageError::io("list", dir))?;
        if entry.file_type().map_err(StorageError::io("inspect", entry.path()))?.is_dir() {
            seal_dirs(&entry.path(), false)?;
        }
    }
    if !is_root {
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
            .map_err(StorageError::io("make read-only", dir))?;
    }
    fsync_dir(dir)
}

pub(crate) fn fsync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(StorageError::io("fsync", dir))
}

/// Removes the interim directory on every path out of `create_revision` that did not rename it.
struct InterimGuard(Option<PathBuf>);

impl Drop for InterimGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = session::remove_tree(&p);
        }
    }
}

impl Storage {
    /// Makes a new revision of a release: `change` edits a hard-linked copy of the base revision,
    /// and the result becomes revision `latest + 1` atomically (see the module docs).
    ///
    /// Refuses when the release does not exist, is in a phase not listed in `req.phases`, or when
    /// `req.expect_latest` is set and a newer revision appeared. If `change` fails, nothing changes.
    pub fn create_revision<T, E: From<StorageError>>(
        &self,
        req: &NewRevision,
        change: impl FnOnce(&mut InterimDir<'_>) -> Result<T, E>,
    ) -> Result<(Revision, T), E> {
        self.create_revision_with(req, change, |_, _| Ok(()), &mut |_| {})
    }

    /// [`Storage::create_revision`] with two extras: `in_tx` runs inside the final transaction after
    /// the revision row is inserted (to enqueue its check tasks atomically with it), and `observe` is
    /// called after each [`RevisionStep`].
    pub fn create_revision_with<T, E: From<StorageError>>(
        &self,
        req: &NewRevision,
        change: impl FnOnce(&mut InterimDir<'_>) -> Result<T, E>,
        in_tx: impl FnOnce(&Tx<'_>, &Revision) -> Result<(), StorageError>,
        observe: &mut dyn FnMut(RevisionStep),
    ) -> Result<(Revision, T), E> {
        let layout = self.layout();
        let _release_lock = session::lock_file(&layout.release_lock(&req.project, &req.version), true)?;

        let (_, latest) = self.read(|tx| self.check_preconditions(tx, req))?;
        let base_dir = match req.base {
            Base::Latest => latest.map(|n| layout.revision(&req.project, &req.version, n)),
            Base::Empty => None,
            Base::Revision(n) => {
                if !self.read(|tx| tx.revision_exists(&req.project, &req.version, n))? {
                    return Err(StorageError::NotFound {
                        what: "revision",
                        key: format!("{} {n}", req.release_name()),
                    }
                    .into());
                }
                Some(layout.revision(&req.project, &req.version, n))
            }
        };
        observe(RevisionStep::ReleaseLocked);

        let interim = self.session().scratch("revision");
        fs::create_dir(&interim).map_err(StorageError::io("create directory", &interim))?;
        let mut guard = InterimGuard(Some(interim.clone()));
        if let Some(base) = &base_dir {
            clone_tree(base, &interim)?;
        }
        observe(RevisionStep::Cloned);

        let mut dir = InterimDir { root: interim.clone(), session: self.session(), unsynced: Vec::new() };
        let value = change(&mut dir)?;
        observe(RevisionStep::Changed);

        dir.sync_placed()?;
        seal_dirs(&interim, true)?;
        observe(RevisionStep::Synced);

        let revision = self.commit_revision(req, latest, &interim, &mut guard, in_tx, observe)?;
        Ok((revision, value))
    }

    fn check_preconditions(
        &self,
        tx: &Tx<'_>,
        req: &NewRevision,
    ) -> Result<(ReleasePhase, Option<RevisionNumber>), StorageError> {
        let release = tx
            .release(&req.project, &req.version)?
            .ok_or_else(|| StorageError::NotFound { what: "release", key: req.release_name() })?;
        if !req.phases.contains(&release.phase) {
            return Err(StorageError::WrongPhase {
                release: req.release_name(),
                expected: req.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("` or `"),
                actual: release.phase.as_str().to_owned(),
            });
        }
        let latest = tx.latest_revision(&req.project, &req.version)?;
        if let Some(expected) = req.expect_latest
            && latest != Some(expected)
        {
            return Err(StorageError::NewerRevision {
                release: req.release_name(),
                expected,
                latest: latest.map_or_else(|| "none".to_owned(), |n| n.to_string()),
            });
        }
        Ok((release.phase, latest))
    }

    fn commit_revision(
        &self,
        req: &NewRevision,
        seen_latest: Option<RevisionNumber>,
        interim: &Path,
        guard: &mut InterimGuard,
        in_tx: impl FnOnce(&Tx<'_>, &Revision) -> Result<(), StorageError>,
        observe: &mut dyn FnMut(RevisionStep),
    ) -> Result<Revision, StorageError> {
        let layout = self.layout();
        let mut conn = self.pool().get()?;
        let tx = Tx::begin(&mut conn, true)?;
        observe(RevisionStep::WriteLocked);

        // Re-check under the write lock: the phase may have changed while the change was applied.
        let (phase, latest) = self.check_preconditions(&tx, req)?;
        if latest != seen_latest {
            // Only possible if something bypassed the release lock.
            return Err(StorageError::NewerRevision {
                release: req.release_name(),
                expected: seen_latest.unwrap_or(RevisionNumber::FIRST),
                latest: latest.map_or_else(|| "none".to_owned(), |n| n.to_string()),
            });
        }
        let number = match latest {
            None => RevisionNumber::FIRST,
            Some(n) => {
                n.next().ok_or_else(|| StorageError::RevisionsExhausted { release: req.release_name() })?
            }
        };

        let target = layout.revision(&req.project, &req.version, number);
        let parent = layout.unfinished_release(&req.project, &req.version);
        fs::create_dir_all(&parent).map_err(StorageError::io("create directory", &parent))?;
        // A directory without a row here is the leftover of a crashed process: we hold the write lock.
        session::remove_tree(&target)?;
        fs::rename(interim, &target).map_err(StorageError::io("rename the interim revision to", &target))?;
        guard.0 = None;
        let placed = PlacedGuard(Some(target.clone()));
        observe(RevisionStep::Renamed);

        fs::set_permissions(&target, fs::Permissions::from_mode(DIR_MODE))
            .map_err(StorageError::io("make read-only", &target))?;
        fsync_dir(&parent)?;

        let revision = Revision {
            project_key: req.project.clone(),
            version_key: req.version.clone(),
            number,
            asfuid: req.author.clone(),
            created: req.now,
            phase,
            parent: latest,
            description: req.description.clone(),
        };
        tx.insert_revision(&revision)?;
        let base = match req.base {
            Base::Latest => "latest".to_owned(),
            Base::Empty => "empty".to_owned(),
            Base::Revision(n) => n.to_string(),
        };
        tx.append_audit(&AuditEvent {
            id: None,
            at: req.now,
            actor: Some(req.author.clone()),
            as_admin: req.as_admin,
            action: AuditAction::RevisionAdd,
            target: revision.key(),
            details: serde_json::json!({
                "number": number.to_string(),
                "parent": latest.map(|n| n.to_string()),
                "base": base,
                "description": req.description,
            }),
        })?;
        in_tx(&tx, &revision)?;
        observe(RevisionStep::Inserted);

        tx.commit()?;
        placed.disarm();
        observe(RevisionStep::Committed);
        Ok(revision)
    }
}

/// Removes a renamed-into-place directory if the transaction does not commit.
struct PlacedGuard(Option<PathBuf>);

impl PlacedGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for PlacedGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = session::remove_tree(&p);
        }
    }
}

impl Storage {
    /// The files of revision `number`, sorted.
    pub fn revision_files(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        number: RevisionNumber,
    ) -> Result<Vec<RelPath>, StorageError> {
        if !self.read(|tx| tx.revision_exists(project, version, number))? {
            return Err(StorageError::NotFound {
                what: "revision",
                key: format!("{} {number}", ReleaseKey::new(project.clone(), version.clone())),
            });
        }
        list_files(&self.layout().revision(project, version, number))
    }

    /// Deletes an unfinished release: its rows (with revisions, results, tasks, ballots), an audit
    /// record, then its directory. A crash after the commit leaves directories without rows, which
    /// the next [`Storage::open`] removes.
    pub fn delete_release(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        actor: &Uid,
        now: Timestamp,
    ) -> Result<(), StorageError> {
        let audit = AuditEvent {
            id: None,
            at: now,
            actor: Some(actor.clone()),
            as_admin: false,
            action: AuditAction::ReleaseDelete,
            target: ReleaseKey::new(project.clone(), version.clone()).to_string(),
            details: serde_json::json!({}),
        };
        self.delete_release_as(project, version, &audit, None).map(|_| ())
    }

    /// Deletes a release as the core decided (its audit record `audit`, the phase added to its
    /// details): rows, then directories. With `unpublish_from` (the committee and whether it is a
    /// podling; an announced release, which only an administrator may delete), its files are
    /// also taken out of the download area: every file there that is a hard link of one of the
    /// release's finished files (same inode, as ATR does), and nothing else; the paths removed
    /// are in the audit record. Returns them.
    pub fn delete_release_as(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        audit: &AuditEvent,
        unpublish_from: Option<(&atr_core::ids::CommitteeKey, bool)>,
    ) -> Result<Vec<String>, StorageError> {
        let _release_lock = session::lock_file(&self.layout().release_lock(project, version), true)?;
        let key = ReleaseKey::new(project.clone(), version.clone()).to_string();
        let (area, published) = match unpublish_from {
            Some((committee, is_podling)) => self.published_links(project, version, committee, is_podling)?,
            None => (PathBuf::new(), Vec::new()),
        };
        let removed: Vec<String> = published.iter().map(|p| self.relative(p)).collect();
        self.write(|tx| {
            let release = tx
                .release(project, version)?
                .ok_or_else(|| StorageError::NotFound { what: "release", key: key.clone() })?;
            tx.delete_release_rows(project, version)?;
            let mut event = audit.clone();
            if let serde_json::Value::Object(details) = &mut event.details {
                details.insert("phase".to_owned(), release.phase.as_str().into());
                if unpublish_from.is_some() {
                    details.insert("download_files_removed".to_owned(), removed.clone().into());
                }
            }
            tx.append_audit(&event).map(|_| ())
        })?;
        for path in &published {
            match fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StorageError::io("remove the download", path)(e));
                }
                _ => {}
            }
            // Directories the release's files leave empty go too (never the committee's own).
            let mut dir = path.parent();
            while let Some(d) = dir {
                if !d.starts_with(&area) || d == area || fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
        if unpublish_from.is_some() {
            session::remove_tree(&self.layout().finished_release(project, version))?;
        }
        session::remove_tree(&self.layout().unfinished_release(project, version))?;
        Ok(removed)
    }
}
