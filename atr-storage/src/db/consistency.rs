//! Read-only queries for the admin consistency report (added by the web ops helper): every
//! revision row with its release's phase, tasks stuck active past their lease, check results
//! whose revision row is gone, and pending quarantine entries. Columns are returned as stored
//! (plain strings and integers), so that a damaged row is reported rather than refused.

use rusqlite::params;

use super::Tx;
use crate::error::{DbContext, StorageError};

/// One revision row and the phase of its release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionRow {
    /// The project key.
    pub project: String,
    /// The version key.
    pub version: String,
    /// The revision number.
    pub number: i64,
    /// The phase of the release now (`release` once announced).
    pub release_phase: String,
}

/// A task marked active whose lease ran out: its worker died or hangs, and nothing reclaimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleTask {
    /// The task id.
    pub id: i64,
    /// The task type.
    pub task_type: String,
    /// The worker that holds it, if recorded.
    pub worker: Option<String>,
    /// When its lease expired (Unix seconds).
    pub lease_expires_at: i64,
    /// `project-version` of the release it is about, if any.
    pub release: Option<String>,
}

/// Check results that point at a revision row that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanResults {
    /// The project key.
    pub project: String,
    /// The version key.
    pub version: String,
    /// The missing revision number.
    pub revision: i64,
    /// How many results point at it.
    pub count: i64,
}

/// A quarantine entry still waiting for validation (its files should be on disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingQuarantine {
    /// The quarantine id (its directory is `quarantine/<id>/`).
    pub id: i64,
    /// The project key.
    pub project: String,
    /// The version key.
    pub version: String,
    /// When it was uploaded (Unix seconds).
    pub created_at: i64,
}

impl Tx<'_> {
    /// Every revision row with its release's phase, ordered by project, version, number.
    pub fn consistency_revisions(&self) -> Result<Vec<RevisionRow>, StorageError> {
        const DOING: &str = "listing revisions for the consistency report";
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT v.project_key, v.version_key, v.number, r.phase FROM revisions v
                 JOIN releases r ON r.project_key = v.project_key AND r.version_key = v.version_key
                 ORDER BY v.project_key, v.version_key, v.number",
            )
            .doing(DOING)?;
        stmt.query_map([], |r| {
            Ok(RevisionRow {
                project: r.get(0)?,
                version: r.get(1)?,
                number: r.get(2)?,
                release_phase: r.get(3)?,
            })
        })
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }

    /// Every `(project, version, phase)` of a release, to compare with the release directories.
    pub fn consistency_releases(&self) -> Result<Vec<(String, String, String)>, StorageError> {
        const DOING: &str = "listing releases for the consistency report";
        let mut stmt = self
            .conn()
            .prepare("SELECT project_key, version_key, phase FROM releases ORDER BY project_key, version_key")
            .doing(DOING)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .doing(DOING)?
            .collect::<Result<_, _>>()
            .doing(DOING)
    }

    /// Tasks still `active` whose lease expired before `now`, oldest lease first (at most `limit`).
    pub fn consistency_stale_tasks(&self, now: i64, limit: u32) -> Result<Vec<StaleTask>, StorageError> {
        const DOING: &str = "finding tasks stuck active for the consistency report";
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT id, task_type, worker, lease_expires_at,
                        CASE WHEN project_key IS NULL THEN NULL
                             ELSE project_key || '-' || COALESCE(version_key, '') END
                 FROM tasks WHERE status = 'active' AND lease_expires_at < ?1
                 ORDER BY lease_expires_at, id LIMIT ?2",
            )
            .doing(DOING)?;
        stmt.query_map(params![now, limit], |r| {
            Ok(StaleTask {
                id: r.get(0)?,
                task_type: r.get(1)?,
                worker: r.get(2)?,
                lease_expires_at: r.get(3)?,
                release: r.get(4)?,
            })
        })
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }

    /// Check results whose revision row does not exist, grouped by the missing revision.
    pub fn consistency_orphan_results(&self) -> Result<Vec<OrphanResults>, StorageError> {
        const DOING: &str = "finding check results without a revision for the consistency report";
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT c.project_key, c.version_key, c.revision_number, COUNT(*) FROM check_results c
                 LEFT JOIN revisions v ON v.project_key = c.project_key AND v.version_key = c.version_key
                                      AND v.number = c.revision_number
                 WHERE v.number IS NULL
                 GROUP BY c.project_key, c.version_key, c.revision_number
                 ORDER BY c.project_key, c.version_key, c.revision_number",
            )
            .doing(DOING)?;
        stmt.query_map([], |r| {
            Ok(OrphanResults {
                project: r.get(0)?,
                version: r.get(1)?,
                revision: r.get(2)?,
                count: r.get(3)?,
            })
        })
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }

    /// Every quarantine entry still pending, by id.
    pub fn consistency_pending_quarantine(&self) -> Result<Vec<PendingQuarantine>, StorageError> {
        const DOING: &str = "listing pending quarantine entries for the consistency report";
        let mut stmt = self
            .conn()
            .prepare(
                "SELECT id, project_key, version_key, created_at FROM quarantine
                 WHERE status = 'pending' ORDER BY id",
            )
            .doing(DOING)?;
        stmt.query_map([], |r| {
            Ok(PendingQuarantine {
                id: r.get(0)?,
                project: r.get(1)?,
                version: r.get(2)?,
                created_at: r.get(3)?,
            })
        })
        .doing(DOING)?
        .collect::<Result<_, _>>()
        .doing(DOING)
    }
}

#[cfg(test)]
mod tests {
    use crate::Storage;

    #[test]
    fn an_empty_state_is_consistent_and_a_stale_lease_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path().join("state")).unwrap();
        storage
            .read(|tx| {
                assert!(tx.consistency_revisions()?.is_empty());
                assert!(tx.consistency_releases()?.is_empty());
                assert!(tx.consistency_stale_tasks(i64::MAX, 10)?.is_empty());
                assert!(tx.consistency_orphan_results()?.is_empty());
                assert!(tx.consistency_pending_quarantine()?.is_empty());
                Ok::<_, crate::StorageError>(())
            })
            .unwrap();
        storage
            .write(|tx| {
                tx.conn()
                    .execute(
                        "INSERT INTO tasks (task_type, status, added_at, started_at, lease_expires_at, worker)
                         VALUES ('x', 'active', 1, 1, 100, 'w1'), ('y', 'active', 1, 1, 300, NULL)",
                        [],
                    )
                    .unwrap();
                Ok::<_, crate::StorageError>(())
            })
            .unwrap();
        let stale = storage.read(|tx| tx.consistency_stale_tasks(200, 10)).unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!((stale[0].task_type.as_str(), stale[0].worker.as_deref()), ("x", Some("w1")));
        assert_eq!(stale[0].release, None);
    }
}
