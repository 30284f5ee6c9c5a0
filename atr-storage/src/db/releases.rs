//! Releases, their guarded phase changes, and revision rows.

use atr_core::ids::{ProjectKey, ReleaseKey, RevisionNumber, VersionKey};
use atr_core::model::{Release, ReleasePhase, Revision};
use rusqlite::{OptionalExtension, params};

use super::{Tx, parse_col, parse_opt, rev, rev_opt, ts, ts_opt};
use crate::error::{DbContext, StorageError, insert_error};

const RELEASE_COLUMNS: &str = "project_key, version_key, phase, created_at, released_at, vote_mode, vote_seq, \
     vote_round, vote_started_at, vote_ends_at, vote_resolved_at, podling_thread_id";

fn release_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Release> {
    Ok(Release {
        project_key: parse_col(r, 0)?,
        version_key: parse_col(r, 1)?,
        phase: parse_col(r, 2)?,
        created: ts(r, 3)?,
        released: ts_opt(r, 4)?,
        vote_mode: parse_opt(r, 5)?,
        vote_seq: r.get(6)?,
        vote_round: parse_opt(r, 7)?,
        vote_started: ts_opt(r, 8)?,
        vote_ends: ts_opt(r, 9)?,
        vote_resolved: ts_opt(r, 10)?,
        podling_thread_id: r.get(11)?,
    })
}

const REVISION_COLUMNS: &str =
    "project_key, version_key, number, created_by, created_at, phase, parent_number, description";

fn revision_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        project_key: parse_col(r, 0)?,
        version_key: parse_col(r, 1)?,
        number: rev(r, 2)?,
        asfuid: parse_col(r, 3)?,
        created: ts(r, 4)?,
        phase: parse_col(r, 5)?,
        parent: rev_opt(r, 6)?,
        description: r.get(7)?,
    })
}

fn key(p: &ProjectKey, v: &VersionKey) -> String {
    ReleaseKey::new(p.clone(), v.clone()).to_string()
}

impl Tx<'_> {
    /// Records a new release (its revisions are made with [`crate::Storage::create_revision`]).
    pub fn insert_release(&self, r: &Release) -> Result<(), StorageError> {
        self.conn()
            .execute(
                &format!("INSERT INTO releases ({RELEASE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    r.project_key.as_str(),
                    r.version_key.as_str(),
                    r.phase.as_str(),
                    r.created.unix(),
                    r.released.map(|t| t.unix()),
                    r.vote_mode.map(|m| m.as_str()),
                    r.vote_seq,
                    r.vote_round.map(|m| m.as_str()),
                    r.vote_started.map(|t| t.unix()),
                    r.vote_ends.map(|t| t.unix()),
                    r.vote_resolved.map(|t| t.unix()),
                    r.podling_thread_id,
                ],
            )
            .map_err(insert_error("release", key(&r.project_key, &r.version_key)))?;
        Ok(())
    }

    /// The release `<project>-<version>`, if it exists.
    pub fn release(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Option<Release>, StorageError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {RELEASE_COLUMNS} FROM releases WHERE project_key = ?1 AND version_key = ?2"
                ),
                params![project.as_str(), version.as_str()],
                release_row,
            )
            .optional()
            .doing("reading a release")
    }

    /// Every release of a project, oldest first.
    pub fn releases_of_project(&self, project: &ProjectKey) -> Result<Vec<Release>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {RELEASE_COLUMNS} FROM releases WHERE project_key = ?1 ORDER BY created_at, version_key"
            ))
            .doing("listing releases")?;
        stmt.query_map([project.as_str()], release_row)
            .doing("listing releases")?
            .collect::<Result<_, _>>()
            .doing("listing releases")
    }

    /// Every release in `phase`, oldest first.
    pub fn releases_in_phase(&self, phase: ReleasePhase) -> Result<Vec<Release>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {RELEASE_COLUMNS} FROM releases WHERE phase = ?1 ORDER BY created_at, project_key, version_key"
            ))
            .doing("listing releases")?;
        stmt.query_map([phase.as_str()], release_row)
            .doing("listing releases")?
            .collect::<Result<_, _>>()
            .doing("listing releases")
    }

    /// Records the Message-ID of the `[VOTE]` mail that opened the release's running vote.
    pub fn set_vote_message_id(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        message_id: &str,
    ) -> Result<(), StorageError> {
        self.conn()
            .execute(
                "UPDATE releases SET vote_message_id = ?3 WHERE project_key = ?1 AND version_key = ?2",
                params![project.as_str(), version.as_str(), message_id],
            )
            .doing("recording the vote mail")?;
        Ok(())
    }

    /// The Message-ID of the `[VOTE]` mail of the release's latest vote, if one went to a list.
    pub fn vote_message_id(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Option<String>, StorageError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT vote_message_id FROM releases WHERE project_key = ?1 AND version_key = ?2",
                params![project.as_str(), version.as_str()],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()
            .doing("reading the vote mail")?
            .flatten())
    }

    /// Writes the new state of a release, but only if it is still in `from` and its latest revision is
    /// still `at_revision` (`None`: it has no revision). Otherwise nothing is written and the refusal
    /// says what changed: [`StorageError::NewerRevision`] ("A newer revision appeared…"),
    /// [`StorageError::WrongPhase`] or [`StorageError::NotFound`].
    pub fn update_release_guarded(
        &self,
        from: ReleasePhase,
        at_revision: Option<RevisionNumber>,
        new: &Release,
    ) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "UPDATE releases SET phase = ?3, released_at = ?4, vote_mode = ?5, vote_seq = ?6, vote_round = ?7,
                     vote_started_at = ?8, vote_ends_at = ?9, vote_resolved_at = ?10, podling_thread_id = ?11
                 WHERE project_key = ?1 AND version_key = ?2 AND phase = ?12
                   AND (SELECT max(number) FROM revisions v
                        WHERE v.project_key = ?1 AND v.version_key = ?2) IS ?13",
                params![
                    new.project_key.as_str(),
                    new.version_key.as_str(),
                    new.phase.as_str(),
                    new.released.map(|t| t.unix()),
                    new.vote_mode.map(|m| m.as_str()),
                    new.vote_seq,
                    new.vote_round.map(|m| m.as_str()),
                    new.vote_started.map(|t| t.unix()),
                    new.vote_ends.map(|t| t.unix()),
                    new.vote_resolved.map(|t| t.unix()),
                    new.podling_thread_id,
                    from.as_str(),
                    at_revision.map(|n| n.get()),
                ],
            )
            .doing("changing the phase of a release")?;
        if n == 1 {
            return Ok(());
        }
        let release = key(&new.project_key, &new.version_key);
        let current = self
            .release(&new.project_key, &new.version_key)?
            .ok_or_else(|| StorageError::NotFound { what: "release", key: release.clone() })?;
        if current.phase != from {
            return Err(StorageError::WrongPhase {
                release,
                expected: from.as_str().to_owned(),
                actual: current.phase.as_str().to_owned(),
            });
        }
        let latest = self.latest_revision(&new.project_key, &new.version_key)?;
        Err(StorageError::NewerRevision {
            release,
            expected: at_revision.unwrap_or(RevisionNumber::FIRST),
            latest: latest.map_or_else(|| "none".to_owned(), |n| n.to_string()),
        })
    }

    /// Deletes the rows of a release and everything that hangs off it (revisions, check results,
    /// distributions, ballots, tasks). Files are removed by [`crate::Storage::delete_release`].
    pub fn delete_release_rows(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM releases WHERE project_key = ?1 AND version_key = ?2",
                params![project.as_str(), version.as_str()],
            )
            .doing("deleting a release")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "release", key: key(project, version) });
        }
        Ok(())
    }

    /// The latest revision number of a release, if it has any revision.
    pub fn latest_revision(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Option<RevisionNumber>, StorageError> {
        let n: Option<u32> = self
            .conn()
            .query_row(
                "SELECT max(number) FROM revisions WHERE project_key = ?1 AND version_key = ?2",
                params![project.as_str(), version.as_str()],
                |r| r.get(0),
            )
            .doing("reading the latest revision")?;
        n.map(|n| {
            RevisionNumber::new(n).map_err(|e| StorageError::corrupt("revisions.number", &n.to_string(), e))
        })
        .transpose()
    }

    /// Whether revision `number` of the release exists.
    pub fn revision_exists(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        number: RevisionNumber,
    ) -> Result<bool, StorageError> {
        self.conn()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM revisions WHERE project_key = ?1 AND version_key = ?2 AND number = ?3)",
                params![project.as_str(), version.as_str(), number.get()],
                |r| r.get(0),
            )
            .doing("looking up a revision")
    }

    /// Revision `number` of the release.
    pub fn revision(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        number: RevisionNumber,
    ) -> Result<Option<Revision>, StorageError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {REVISION_COLUMNS} FROM revisions WHERE project_key = ?1 AND version_key = ?2 AND number = ?3"
                ),
                params![project.as_str(), version.as_str(), number.get()],
                revision_row,
            )
            .optional()
            .doing("reading a revision")
    }

    /// Every revision of the release, in number order.
    pub fn revisions(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Vec<Revision>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {REVISION_COLUMNS} FROM revisions WHERE project_key = ?1 AND version_key = ?2 ORDER BY number"
            ))
            .doing("listing revisions")?;
        stmt.query_map(params![project.as_str(), version.as_str()], revision_row)
            .doing("listing revisions")?
            .collect::<Result<_, _>>()
            .doing("listing revisions")
    }

    /// Inserts a revision row. Only [`crate::Storage::create_revision`] calls this, after the
    /// directory is in place.
    pub(crate) fn insert_revision(&self, r: &Revision) -> Result<(), StorageError> {
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO revisions ({REVISION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    r.project_key.as_str(),
                    r.version_key.as_str(),
                    r.number.get(),
                    r.asfuid.as_str(),
                    r.created.unix(),
                    r.phase.as_str(),
                    r.parent.map(|n| n.get()),
                    r.description,
                ],
            )
            .map_err(insert_error("revision", r.key()))?;
        Ok(())
    }
}
