//! Check results, keyed by (release, revision, checker, primary path, member path), and ignore rules.

use atr_core::check::{CheckResult, CheckerId};
use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::CheckResultIgnore;
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use rusqlite::params;

use super::{Tx, json_col, parse_col, parse_opt, rev, rev_opt, to_json, ts, ts_opt};
use crate::error::{DbContext, StorageError, insert_error};

/// A check result as stored: the result plus where and when it was recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCheckResult {
    /// Row id.
    pub id: i64,
    /// The release's project.
    pub project_key: ProjectKey,
    /// The release's version.
    pub version_key: VersionKey,
    /// The revision it is about.
    pub revision_number: RevisionNumber,
    /// The checker's version when the result was made (may be older than the running checker's).
    pub checker_version: String,
    /// Hash of the checker's inputs, for reuse of results on unchanged files.
    pub inputs_hash: Option<String>,
    /// Whether the result was copied from an earlier identical check instead of computed.
    pub cached: bool,
    /// When it was recorded.
    pub created: Timestamp,
    /// The result itself.
    pub result: CheckResult,
}

/// One stored check result as its columns, borrowed from the database row
/// (see [`Tx::each_check_result`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckResultColumns<'a> {
    /// Row id.
    pub id: i64,
    /// The checker's name.
    pub checker: &'a str,
    /// The checker's version when the result was made.
    pub checker_version: &'a str,
    /// The file checked, when the result is about one.
    pub primary_rel_path: Option<&'a str>,
    /// The archive member, when the result is about one.
    pub member_rel_path: Option<&'a str>,
    /// The status name (`blocker`, `concern`, `exception`, `note`, `suggestion`).
    pub status: &'a str,
    /// The message.
    pub message: &'a str,
    /// The result's data as JSON text.
    pub data: &'a str,
    /// Hash of the checker's inputs.
    pub inputs_hash: Option<&'a str>,
    /// Whether the result was copied from an earlier identical check.
    pub cached: bool,
    /// When it was recorded.
    pub created: Timestamp,
}

/// Where and how a batch of results is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultContext<'a> {
    /// The release's project.
    pub project_key: &'a ProjectKey,
    /// The release's version.
    pub version_key: &'a VersionKey,
    /// The revision checked.
    pub revision_number: RevisionNumber,
    /// When.
    pub created: Timestamp,
    /// Hash of the checker's inputs.
    pub inputs_hash: Option<&'a str>,
    /// Whether these results were copied from an earlier identical check.
    pub cached: bool,
}

const RESULT_COLUMNS: &str = "id, project_key, version_key, revision_number, checker, checker_version, \
     primary_rel_path, member_rel_path, status, message, data, inputs_hash, cached, created_at";

fn result_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCheckResult> {
    let checker_name: String = r.get(4)?;
    let checker = CheckerId::from_name(&checker_name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("unknown checker `{checker_name}`").into(),
        )
    })?;
    Ok(StoredCheckResult {
        id: r.get(0)?,
        project_key: parse_col(r, 1)?,
        version_key: parse_col(r, 2)?,
        revision_number: rev(r, 3)?,
        checker_version: r.get(5)?,
        inputs_hash: r.get(11)?,
        cached: r.get(12)?,
        created: ts(r, 13)?,
        result: CheckResult {
            checker,
            primary_rel_path: parse_opt::<RelPath>(r, 6)?,
            member_rel_path: r.get(7)?,
            status: parse_col(r, 8)?,
            message: r.get(9)?,
            data: json_col(r, 10)?,
        },
    })
}

const IGNORE_COLUMNS: &str = "id, project_key, created_at, created_by, release_glob, revision_number, checker_glob, \
     primary_rel_path_glob, member_rel_path_glob, status, message_glob, reason, expires_at";

fn ignore_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckResultIgnore> {
    Ok(CheckResultIgnore {
        id: Some(r.get(0)?),
        project_key: parse_col(r, 1)?,
        created: ts(r, 2)?,
        asf_uid: parse_col(r, 3)?,
        release_glob: r.get(4)?,
        revision_number: rev_opt(r, 5)?,
        checker_glob: r.get(6)?,
        primary_rel_path_glob: r.get(7)?,
        member_rel_path_glob: r.get(8)?,
        status: parse_opt(r, 9)?,
        message_glob: r.get(10)?,
        reason: r.get(11)?,
        expires: ts_opt(r, 12)?,
    })
}

impl Tx<'_> {
    /// Records results of one check run; returns their ids.
    pub fn insert_check_results(
        &self,
        ctx: &ResultContext<'_>,
        results: &[CheckResult],
    ) -> Result<Vec<i64>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "INSERT INTO check_results ({RESULT_COLUMNS}) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))
            .doing("recording check results")?;
        let key = format!("{}-{} {}", ctx.project_key, ctx.version_key, ctx.revision_number);
        let mut ids = Vec::with_capacity(results.len());
        for res in results {
            stmt.execute(params![
                ctx.project_key.as_str(),
                ctx.version_key.as_str(),
                ctx.revision_number.get(),
                res.checker.name,
                res.checker.version,
                res.primary_rel_path.as_ref().map(|p| p.as_str()),
                res.member_rel_path,
                res.status.as_str(),
                res.message,
                to_json(&res.data),
                ctx.inputs_hash,
                ctx.cached,
                ctx.created.unix(),
            ])
            .map_err(insert_error("check result for revision", &key))?;
            ids.push(self.conn().last_insert_rowid());
        }
        Ok(ids)
    }

    /// Every result of a revision, ordered by checker, primary path, member path, id.
    pub fn check_results(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
    ) -> Result<Vec<StoredCheckResult>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {RESULT_COLUMNS} FROM check_results
                 WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3
                 ORDER BY checker, primary_rel_path, member_rel_path, id"
            ))
            .doing("reading check results")?;
        stmt.query_map(params![project.as_str(), version.as_str(), revision.get()], result_row)
            .doing("reading check results")?
            .collect::<Result<_, _>>()
            .doing("reading check results")
    }

    /// Visits every result of a revision, in the order of [`Tx::check_results`], as the columns
    /// are stored (borrowed, not parsed): for listing many results without an allocation, a path
    /// validation or a JSON parse per row. The schema guarantees `status` is a status name and
    /// `data` valid JSON; paths were validated when the results were recorded. Returns how many
    /// rows were visited.
    pub fn each_check_result(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
        mut visit: impl FnMut(&CheckResultColumns<'_>),
    ) -> Result<usize, StorageError> {
        fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
            r.get_ref(i)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
            })
        }
        fn text_opt<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
            r.get_ref(i)?.as_str_or_null().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
            })
        }
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT id, checker, checker_version, primary_rel_path, member_rel_path, status, message, data, \
                 inputs_hash, cached, created_at FROM check_results
                 WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3
                 ORDER BY checker, primary_rel_path, member_rel_path, id",
            )
            .doing("reading check results")?;
        let mut rows = stmt
            .query(params![project.as_str(), version.as_str(), revision.get()])
            .doing("reading check results")?;
        let mut n = 0;
        while let Some(r) = rows.next().doing("reading check results")? {
            let columns = (|| -> rusqlite::Result<CheckResultColumns<'_>> {
                Ok(CheckResultColumns {
                    id: r.get(0)?,
                    checker: text(r, 1)?,
                    checker_version: text(r, 2)?,
                    primary_rel_path: text_opt(r, 3)?,
                    member_rel_path: text_opt(r, 4)?,
                    status: text(r, 5)?,
                    message: text(r, 6)?,
                    data: text(r, 7)?,
                    inputs_hash: text_opt(r, 8)?,
                    cached: r.get(9)?,
                    created: Timestamp::from_unix(r.get(10)?),
                })
            })()
            .doing("reading check results")?;
            visit(&columns);
            n += 1;
        }
        Ok(n)
    }

    /// The results of one checker about one file (and member) of a revision.
    pub fn check_results_for(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
        checker: CheckerId,
        primary: Option<&RelPath>,
        member: Option<&str>,
    ) -> Result<Vec<StoredCheckResult>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {RESULT_COLUMNS} FROM check_results
                 WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3 AND checker = ?4
                   AND primary_rel_path IS ?5 AND member_rel_path IS ?6
                 ORDER BY id"
            ))
            .doing("reading check results")?;
        stmt.query_map(
            params![
                project.as_str(),
                version.as_str(),
                revision.get(),
                checker.name,
                primary.map(|p| p.as_str()),
                member
            ],
            result_row,
        )
        .doing("reading check results")?
        .collect::<Result<_, _>>()
        .doing("reading check results")
    }

    /// Earlier results of the same checker version on the same inputs (for reuse), oldest first.
    pub fn check_results_by_inputs(
        &self,
        checker: CheckerId,
        inputs_hash: &str,
    ) -> Result<Vec<StoredCheckResult>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {RESULT_COLUMNS} FROM check_results
                 WHERE checker = ?1 AND checker_version = ?2 AND inputs_hash = ?3
                   AND (project_key, version_key, revision_number) = (
                       SELECT project_key, version_key, revision_number FROM check_results
                       WHERE checker = ?1 AND checker_version = ?2 AND inputs_hash = ?3 ORDER BY id LIMIT 1)
                 ORDER BY id"
            ))
            .doing("looking up earlier check results")?;
        stmt.query_map(params![checker.name, checker.version, inputs_hash], result_row)
            .doing("looking up earlier check results")?
            .collect::<Result<_, _>>()
            .doing("looking up earlier check results")
    }

    /// Deletes the results of one checker about one file of a revision (before a re-run); returns how many.
    pub fn delete_check_results_for(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
        checker: CheckerId,
        primary: Option<&RelPath>,
    ) -> Result<usize, StorageError> {
        self.conn()
            .execute(
                "DELETE FROM check_results WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3
                   AND checker = ?4 AND primary_rel_path IS ?5",
                params![project.as_str(), version.as_str(), revision.get(), checker.name, primary.map(|p| p.as_str())],
            )
            .doing("deleting check results")
    }

    /// Records an ignore rule (its `id` is ignored); returns the id it got. Validate it first
    /// ([`CheckResultIgnore::validate`]).
    pub fn insert_ignore(&self, i: &CheckResultIgnore) -> Result<i64, StorageError> {
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO check_ignores ({IGNORE_COLUMNS}) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                params![
                    i.project_key.as_str(),
                    i.created.unix(),
                    i.asf_uid.as_str(),
                    i.release_glob,
                    i.revision_number.map(|n| n.get()),
                    i.checker_glob,
                    i.primary_rel_path_glob,
                    i.member_rel_path_glob,
                    i.status.map(|s| s.as_str()),
                    i.message_glob,
                    i.reason,
                    i.expires.map(|t| t.unix()),
                ],
            )
            .map_err(insert_error("ignore rule of project", &i.project_key))?;
        Ok(self.conn().last_insert_rowid())
    }

    /// The ignore rules of a project, oldest first.
    pub fn ignores(&self, project: &ProjectKey) -> Result<Vec<CheckResultIgnore>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {IGNORE_COLUMNS} FROM check_ignores WHERE project_key = ?1 ORDER BY id"
            ))
            .doing("reading ignore rules")?;
        stmt.query_map([project.as_str()], ignore_row)
            .doing("reading ignore rules")?
            .collect::<Result<_, _>>()
            .doing("reading ignore rules")
    }

    /// Deletes ignore rule `id` of `project`.
    pub fn delete_ignore(&self, project: &ProjectKey, id: i64) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM check_ignores WHERE id = ?1 AND project_key = ?2",
                params![id, project.as_str()],
            )
            .doing("deleting an ignore rule")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "ignore rule", key: format!("{project} #{id}") });
        }
        Ok(())
    }
}
