//! Change stamps for page caches (migration V7): triggers bump a release's stamp on every change
//! its pages show (release row, revisions, check results, task states, quarantined uploads) and a
//! project's stamp on changes to the project row and its ignore rules, in the writer's own
//! transaction. Reading both is one primary-key lookup each, so a cached page can be checked
//! against the database on every request.

use atr_core::ids::{ProjectKey, VersionKey};
use rusqlite::{OptionalExtension as _, params};

use super::Tx;
use crate::error::{DbContext, StorageError};

/// The change stamps of a release and of its project. Two equal stamps read at two times mean
/// nothing a release's pages show changed in between (except what depends on the clock alone,
/// such as an ignore rule's expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageStamp {
    /// The release's stamp (0 before its first change since migration V7).
    pub release: i64,
    /// The project's stamp (0 before its first change since migration V7).
    pub project: i64,
}

impl Tx<'_> {
    /// The change stamps of release `project`-`version`, or `None` when there is no such release.
    pub fn page_stamp(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Option<PageStamp>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT (SELECT stamp FROM release_stamps WHERE project_key = ?1 AND version_key = ?2),
                        (SELECT stamp FROM project_stamps WHERE project_key = ?1)
                 FROM releases WHERE project_key = ?1 AND version_key = ?2",
            )
            .doing("reading a release's change stamp")?;
        stmt.query_row(params![project.as_str(), version.as_str()], |r| {
            Ok(PageStamp {
                release: r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                project: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
            })
        })
        .optional()
        .doing("reading a release's change stamp")
    }
}

#[cfg(test)]
mod tests {
    use super::PageStamp;
    use crate::Storage;
    use atr_core::ids::{ProjectKey, VersionKey};

    /// Runs `sql` in a write transaction and returns the stamps of `p`-`1.0` after it.
    fn after(s: &Storage, sql: &str) -> Option<PageStamp> {
        let (p, v) = (ProjectKey::new("p").unwrap(), VersionKey::new("1.0").unwrap());
        s.write(|tx| {
            tx.conn().execute_batch(sql).unwrap();
            tx.page_stamp(&p, &v)
        })
        .unwrap()
    }

    #[test]
    fn every_change_a_release_page_shows_moves_a_stamp_and_lease_renewals_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path().join("state")).unwrap();
        let policy = r#"{"missing_sbom_status":"concern"}"#;
        let setup = format!(
            "INSERT INTO committees (key) VALUES ('c');
             INSERT INTO projects (key, committee_key, name, created_at, created_by, release_policy)
                 VALUES ('p', 'c', 'P', 0, 'x', '{policy}');"
        );
        assert_eq!(after(&s, &setup), None, "no release, no stamp");
        let mut last = after(
            &s,
            "INSERT INTO releases (project_key, version_key, phase, created_at)
                 VALUES ('p', '1.0', 'release_candidate_draft', 0);
             INSERT INTO releases (project_key, version_key, phase, created_at)
                 VALUES ('p', '2.0', 'release_candidate_draft', 0);",
        )
        .unwrap();
        assert_eq!(last, PageStamp { release: 1, project: 0 });
        let release_changes = [
            "INSERT INTO revisions (project_key, version_key, number, created_at, created_by, phase)
                 VALUES ('p', '1.0', 1, 0, 'x', 'release_candidate_draft')",
            "UPDATE revisions SET description = 'd' WHERE version_key = '1.0'",
            "INSERT INTO check_results (project_key, version_key, revision_number, checker, checker_version,
                 status, message, created_at) VALUES ('p', '1.0', 1, 'c', '1', 'blocker', 'm', 0)",
            "UPDATE check_results SET message = 'n'",
            "DELETE FROM check_results",
            "INSERT INTO tasks (id, task_type, project_key, version_key, revision_number, added_at)
                 VALUES (7, 't', 'p', '1.0', 1, 0)",
            "UPDATE tasks SET status = 'active', started_at = 1, lease_expires_at = 2 WHERE id = 7",
            "UPDATE tasks SET status = 'completed', completed_at = 3 WHERE id = 7",
            "DELETE FROM tasks WHERE id = 7",
            "INSERT INTO quarantine (id, project_key, version_key, requested_by, description, created_at)
                 VALUES (3, 'p', '1.0', 'x', 'd', 0)",
            "UPDATE quarantine SET status = 'failed', error = 'e' WHERE id = 3",
            "DELETE FROM quarantine WHERE id = 3",
            "UPDATE releases SET phase = 'release_candidate' WHERE version_key = '1.0'",
            "DELETE FROM revisions WHERE version_key = '1.0'",
        ];
        for sql in release_changes {
            let now = after(&s, sql).unwrap();
            assert!(now.release > last.release && now.project == last.project, "{sql}: {last:?} -> {now:?}");
            last = now;
        }
        let project_changes = [
            "UPDATE projects SET name = 'Q'",
            "INSERT INTO check_ignores (id, project_key, created_at, created_by, reason) VALUES (5, 'p', 0, 'x', 'r')",
            "UPDATE check_ignores SET reason = 's' WHERE id = 5",
            "DELETE FROM check_ignores WHERE id = 5",
        ];
        for sql in project_changes {
            let now = after(&s, sql).unwrap();
            assert!(now.project > last.project && now.release == last.release, "{sql}: {last:?} -> {now:?}");
            last = now;
        }
        let unseen = [
            // A lease renewal, and work of another release or of no release.
            "INSERT INTO tasks (id, task_type, project_key, version_key, added_at, status, started_at,
                 lease_expires_at) VALUES (8, 't', 'p', '1.0', 0, 'active', 1, 2)",
            "UPDATE tasks SET lease_expires_at = 9, worker = 'w' WHERE id = 8",
            "INSERT INTO tasks (task_type, added_at) VALUES ('t', 0)",
            "INSERT INTO tasks (task_type, project_key, version_key, added_at) VALUES ('t', 'p', '2.0', 0)",
            "UPDATE releases SET phase = 'release_candidate' WHERE version_key = '2.0'",
        ];
        let base = after(&s, unseen[0]).unwrap();
        for sql in &unseen[1..] {
            assert_eq!(after(&s, sql).unwrap(), base, "{sql}");
        }
        // Deleted and started again: the stamp keeps counting up and never repeats.
        let deleted = after(&s, "DELETE FROM tasks; DELETE FROM releases WHERE version_key = '1.0'");
        assert_eq!(deleted, None);
        let again = after(
            &s,
            "INSERT INTO releases (project_key, version_key, phase, created_at)
                 VALUES ('p', '1.0', 'release_candidate_draft', 0)",
        )
        .unwrap();
        assert!(again.release > base.release, "{base:?} -> {again:?}");
    }
}
