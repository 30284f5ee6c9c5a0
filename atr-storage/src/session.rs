//! Process sessions under `tmp/`, and the clean-up of what crashed processes left behind.
//!
//! Each open [`crate::Storage`] owns `tmp/<session>/` and holds an exclusive lock on the lock file
//! inside it for as long as it lives. The kernel drops the lock when the process dies (even by
//! SIGKILL), so on open a session directory whose lock can be taken belongs to a dead process and is
//! removed. Session creation and clean-up both run under the state directory's open lock, so a
//! session is never removed between its creation and its locking.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use rusqlite::Connection;

use crate::db::Tx;
use crate::error::{DbContext, StorageError};
use crate::layout::{Layout, SESSION_LOCK_FILE};

/// What [`crate::Storage::open`] found and cleaned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Session directories of dead processes removed from `tmp/`.
    pub removed_tmp: Vec<PathBuf>,
    /// Revision directories removed because no row records them (crash after rename, before commit).
    pub removed_revisions: Vec<PathBuf>,
    /// Revision rows of unfinished releases whose directory is missing (`<project>-<version> <NNNNN>`).
    /// This cannot happen through atr-storage; it means the tree was changed by hand.
    pub missing_revisions: Vec<String>,
}

/// Opens (creating) `path` and locks it; `exclusive` blocks until the lock is ours.
pub(crate) fn lock_file(path: &Path, exclusive: bool) -> Result<File, StorageError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(StorageError::io("create directory", parent))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(StorageError::io("open lock file", path))?;
    if exclusive {
        file.lock().map_err(StorageError::io("lock", path))?;
    } else {
        file.lock_shared().map_err(StorageError::io("lock", path))?;
    }
    Ok(file)
}

/// Opens (creating) `path` and takes its exclusive lock if it is free; `None` if a live process holds it.
pub(crate) fn try_lock_file(path: &Path) -> Result<Option<File>, StorageError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(StorageError::io("create directory", parent))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(StorageError::io("open lock file", path))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(StorageError::io("lock", path)(e)),
    }
}

/// The scratch directory of one open storage handle.
#[derive(Debug)]
pub(crate) struct Session {
    dir: PathBuf,
    lock: Option<File>,
    counter: AtomicU64,
}

static SESSIONS: AtomicU64 = AtomicU64::new(0);

impl Session {
    /// Removes stale sessions, then creates and locks ours. Call with the open lock held.
    pub(crate) fn start(layout: &Layout) -> Result<(Session, Vec<PathBuf>), StorageError> {
        let removed = clean_tmp(layout)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!("s{}-{}-{nanos:x}", std::process::id(), SESSIONS.fetch_add(1, Ordering::Relaxed));
        let dir = layout.session(&name);
        fs::create_dir(&dir).map_err(StorageError::io("create session directory", &dir))?;
        let lock = lock_file(&layout.session_lock(&name), true)?;
        Ok((Session { dir, lock: Some(lock), counter: AtomicU64::new(0) }, removed))
    }

    /// A fresh path inside the session directory (nothing is created).
    pub(crate) fn scratch(&self, prefix: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{prefix}-{n}"))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Best effort: a leftover is removed by the next open anyway.
        let _ = remove_tree(&self.dir);
        drop(self.lock.take());
    }
}

/// Removes every entry of `tmp/` that no live process holds.
fn clean_tmp(layout: &Layout) -> Result<Vec<PathBuf>, StorageError> {
    let tmp = layout.tmp();
    let mut removed = Vec::new();
    for entry in fs::read_dir(&tmp).map_err(StorageError::io("list", &tmp))? {
        let entry = entry.map_err(StorageError::io("list", &tmp))?;
        let path = entry.path();
        let lock_path = path.join(SESSION_LOCK_FILE);
        let live = match File::open(&lock_path) {
            Ok(f) => match f.try_lock() {
                Ok(()) => false,
                Err(TryLockError::WouldBlock) => true,
                Err(TryLockError::Error(e)) => return Err(StorageError::io("lock", &lock_path)(e)),
            },
            // No lock file: a session that died while being created, or a stray file.
            Err(_) => false,
        };
        if !live {
            remove_tree(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Removes a file or a directory tree, first making read-only directories writable.
pub(crate) fn remove_tree(path: &Path) -> Result<(), StorageError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StorageError::io("inspect", path)(e)),
    };
    let result = if meta.is_dir() {
        make_writable(path)
            .and_then(|()| fs::remove_dir_all(path).map_err(StorageError::io("remove directory", path)))
    } else {
        fs::remove_file(path).map_err(StorageError::io("remove file", path))
    };
    match result {
        // Another process removing the same tree at the same time is not an error: it is gone.
        Err(_) if fs::symlink_metadata(path).is_err() => Ok(()),
        other => other,
    }
}

fn make_writable(dir: &Path) -> Result<(), StorageError> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .map_err(StorageError::io("make writable", dir))?;
    for entry in fs::read_dir(dir).map_err(StorageError::io("list", dir))? {
        let entry = entry.map_err(StorageError::io("list", dir))?;
        if entry.file_type().map_err(StorageError::io("inspect", entry.path()))?.is_dir() {
            make_writable(&entry.path())?;
        }
    }
    Ok(())
}

/// Makes the revision tree and the revision rows agree. Runs under `BEGIN IMMEDIATE`: revision
/// creation renames its directory into place while holding the same write lock, so any directory
/// without a row seen here is the leftover of a crashed process, never work in progress.
pub(crate) fn reconcile(
    layout: &Layout,
    conn: &mut Connection,
    session: &(Session, Vec<PathBuf>),
) -> Result<ReconcileReport, StorageError> {
    let mut report = ReconcileReport { removed_tmp: session.1.clone(), ..ReconcileReport::default() };
    let tx = Tx::begin(conn, true)?;
    // (project, version, number, whether the release is unfinished). Directories of announced
    // releases are never removed here: announce moves them out itself.
    let rows: std::collections::HashMap<(String, String, u32), bool> = {
        let mut stmt = tx
            .conn()
            .prepare(
                "SELECT r.project_key, r.version_key, r.number, l.phase <> 'release' FROM revisions r
                 JOIN releases l USING (project_key, version_key)",
            )
            .doing("listing revisions")?;
        stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?)))
            .doing("listing revisions")?
            .collect::<Result<_, _>>()
            .doing("listing revisions")?
    };
    let mut seen = HashSet::new();
    let mut busy: HashSet<(String, String)> = HashSet::new();
    let unfinished = layout.unfinished();
    for project in list_dirs(&unfinished)? {
        let Ok(project_key) = ProjectKey::new(file_name(&project)) else { continue };
        for version in list_dirs(&project)? {
            let Ok(version_key) = VersionKey::new(file_name(&version)) else { continue };
            // A release whose lock is held is being changed or deleted by a live process right now:
            // its directories are that process's business.
            let Some(_release_lock) = try_lock_file(&layout.release_lock(&project_key, &version_key))? else {
                busy.insert((project_key.to_string(), version_key.to_string()));
                continue;
            };
            for revision in list_dirs(&version)? {
                let name = file_name(&revision);
                let Ok(number) = RevisionNumber::parse(&name) else { continue };
                // Only the canonical five-digit form is ours.
                if number.to_string() != name {
                    continue;
                }
                let key = (project_key.to_string(), version_key.to_string(), number.get());
                if rows.contains_key(&key) {
                    seen.insert(key);
                } else {
                    remove_tree(&layout.revision(&project_key, &version_key, number))?;
                    report.removed_revisions.push(revision);
                }
            }
        }
    }
    let mut missing: Vec<_> = rows
        .iter()
        .filter(|(key, unfinished)| {
            **unfinished && !seen.contains(*key) && !busy.contains(&(key.0.clone(), key.1.clone()))
        })
        .map(|(key, _)| key)
        .collect();
    missing.sort();
    report.missing_revisions = missing.into_iter().map(|(p, v, n)| format!("{p}-{v} {:05}", n)).collect();
    tx.commit()?;
    Ok(report)
}

fn list_dirs(dir: &Path) -> Result<Vec<PathBuf>, StorageError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StorageError::io("list", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StorageError::io("list", dir))?;
        if entry.file_type().map_err(StorageError::io("inspect", entry.path()))?.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}
