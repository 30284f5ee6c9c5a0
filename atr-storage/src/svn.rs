//! What imports from Subversion need of storage: a scratch directory for the export that lives
//! only as long as this process (and is cleaned by the next [`Storage::open`] after a crash), and
//! the list of a release's import tasks for its import page.

use std::path::PathBuf;

use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::model::{Task, TaskId, TaskType};
use rusqlite::params;

use crate::db::Tx;
use crate::error::{DbContext, StorageError};
use crate::{Storage, session};

/// A directory under this process's session in `tmp/`, removed when dropped.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// The directory (empty when made).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = session::remove_tree(&self.path);
    }
}

impl Storage {
    /// Makes an empty scratch directory on the state directory's file system. Other processes
    /// opening the storage leave it alone while this process lives.
    pub fn scratch_dir(&self, prefix: &str) -> Result<ScratchDir, StorageError> {
        let path = self.session().scratch(prefix);
        std::fs::create_dir(&path).map_err(StorageError::io("create directory", &path))?;
        Ok(ScratchDir { path })
    }
}

impl Tx<'_> {
    /// The newest `limit` SVN import tasks of a release, newest first.
    pub fn svn_import_tasks(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        limit: u32,
    ) -> Result<Vec<Task>, StorageError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn()
                .prepare_cached(
                    "SELECT id FROM tasks WHERE task_type = ?1 AND project_key = ?2 AND version_key = ?3
                     ORDER BY id DESC LIMIT ?4",
                )
                .doing("listing SVN imports")?;
            stmt.query_map(
                params![TaskType::SvnImportFiles.as_str(), project.as_str(), version.as_str(), limit],
                |r| r.get(0),
            )
            .doing("listing SVN imports")?
            .collect::<Result<_, _>>()
            .doing("listing SVN imports")?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.task(TaskId(id))?);
        }
        Ok(out)
    }
}
