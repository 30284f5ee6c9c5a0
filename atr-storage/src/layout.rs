//! The state directory map: every path the system writes under the state directory comes from here.
//!
//! ```text
//! <state>/
//!   atr.db                                   SQLite database (plus -wal and -shm)
//!   unfinished/<project>/<version>/<NNNNN>/  one immutable directory per revision
//!   finished/<project>/<version>/            announced releases
//!   downloads/<committee>/…                  public download tree (hard links to finished files)
//!   quarantine/<id>/                         uploads held until their archives are validated
//!   ssh-uploads/<name>/                      interim trees of rsync uploads in progress (SSH service)
//!   tmp/                                     interim directories; cleaned on open
//!   tmp/<session>/                           scratch of one open `Storage` (locked while it lives)
//!   locks/                                   lock files (open, per-release revision locks)
//! ```
//!
//! Everything lives on one file system, so hard links and atomic renames work between these places.
//! Callers pass validated keys ([`ProjectKey`], [`VersionKey`], [`RevisionNumber`]), so no path built
//! here can escape the state directory.

use std::io;
use std::path::{Path, PathBuf};

use atr_core::ids::{CommitteeKey, ProjectKey, RevisionNumber, VersionKey};

/// File name of the database inside the state directory.
pub const DATABASE_FILE: &str = "atr.db";

/// The map of one state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout of the state directory at `root` (nothing is created; see [`Layout::create_dirs`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    /// The state directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The SQLite database file.
    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    /// Parent of all unfinished (draft, candidate, preview) releases.
    pub fn unfinished(&self) -> PathBuf {
        self.root.join("unfinished")
    }

    /// `unfinished/<project>/`.
    pub fn unfinished_project(&self, project: &ProjectKey) -> PathBuf {
        self.unfinished().join(project.as_str())
    }

    /// `unfinished/<project>/<version>/`: holds the revision directories of one release.
    pub fn unfinished_release(&self, project: &ProjectKey, version: &VersionKey) -> PathBuf {
        self.unfinished_project(project).join(version.as_str())
    }

    /// `unfinished/<project>/<version>/<NNNNN>/`: one revision.
    pub fn revision(&self, project: &ProjectKey, version: &VersionKey, number: RevisionNumber) -> PathBuf {
        self.unfinished_release(project, version).join(number.to_string())
    }

    /// Parent of all announced releases.
    pub fn finished(&self) -> PathBuf {
        self.root.join("finished")
    }

    /// `finished/<project>/<version>/`: the files of an announced release.
    pub fn finished_release(&self, project: &ProjectKey, version: &VersionKey) -> PathBuf {
        self.finished().join(project.as_str()).join(version.as_str())
    }

    /// Parent of the public download tree.
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// `downloads/<committee>/`.
    pub fn downloads_committee(&self, committee: &CommitteeKey) -> PathBuf {
        self.downloads().join(committee.as_str())
    }

    /// Uploads held until their archives are validated (outside every revision).
    pub fn quarantine(&self) -> PathBuf {
        self.root.join("quarantine")
    }

    /// `quarantine/<id>/`: the files of one held upload.
    pub fn quarantined_upload(&self, id: i64) -> PathBuf {
        self.quarantine().join(id.to_string())
    }

    /// Interim trees of rsync uploads in progress: the SSH service owns this directory (one
    /// service per state directory) and empties it when it starts.
    pub fn ssh_uploads(&self) -> PathBuf {
        self.root.join("ssh-uploads")
    }

    /// `ssh-uploads/<name>/`: the interim tree of one rsync upload.
    pub fn ssh_upload(&self, name: &str) -> PathBuf {
        self.ssh_uploads().join(name)
    }

    /// Interim directories; anything here that no live process holds is removed on open.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// `tmp/<session>/`: the scratch directory of one open storage handle.
    pub fn session(&self, name: &str) -> PathBuf {
        self.tmp().join(name)
    }

    /// The lock file inside a session directory, held for the lifetime of the session.
    pub fn session_lock(&self, name: &str) -> PathBuf {
        self.session(name).join(SESSION_LOCK_FILE)
    }

    /// Lock files.
    pub fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// Held exclusively while a process migrates, reconciles and cleans `tmp/` on open.
    pub fn open_lock(&self) -> PathBuf {
        self.locks().join("open.lock")
    }

    /// Held while a new revision of one release is being prepared, so that changes are never lost
    /// (two writers of one release take turns; writers of different releases do not wait).
    pub fn release_lock(&self, project: &ProjectKey, version: &VersionKey) -> PathBuf {
        self.locks().join("releases").join(project.as_str()).join(format!("{version}.lock"))
    }

    /// Creates the top-level directories (idempotent).
    pub fn create_dirs(&self) -> io::Result<()> {
        for dir in [self.unfinished(), self.finished(), self.downloads(), self.tmp(), self.locks()] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

/// Name of the lock file inside each session directory.
pub const SESSION_LOCK_FILE: &str = "session.lock";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_documented_map() {
        let l = Layout::new("/s");
        let p = ProjectKey::new("foo").unwrap();
        let v = VersionKey::new("1.0.0-rc1").unwrap();
        let n = RevisionNumber::new(7).unwrap();
        assert_eq!(l.database(), Path::new("/s/atr.db"));
        assert_eq!(l.revision(&p, &v, n), Path::new("/s/unfinished/foo/1.0.0-rc1/00007"));
        assert_eq!(l.finished_release(&p, &v), Path::new("/s/finished/foo/1.0.0-rc1"));
        assert_eq!(
            l.downloads_committee(&CommitteeKey::new("tooling").unwrap()),
            Path::new("/s/downloads/tooling")
        );
        assert_eq!(l.release_lock(&p, &v), Path::new("/s/locks/releases/foo/1.0.0-rc1.lock"));
        assert_eq!(l.session_lock("x"), Path::new("/s/tmp/x/session.lock"));
        assert_eq!(l.quarantined_upload(12), Path::new("/s/quarantine/12"));
        assert_eq!(l.ssh_upload("foo-1.0-3"), Path::new("/s/ssh-uploads/foo-1.0-3"));
    }
}
