//! Queries for the web pages (added by the web helper): one file's check results, and result counts
//! per file and status, so the compose and report pages of a large release read only what they show.

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::path::RelPath;
use rusqlite::params;

use super::{Tx, json_col, parse_col, parse_opt};
use crate::error::{DbContext, StorageError};

impl Tx<'_> {
    /// The results of revision `revision` about the file `path` (its own and its members'),
    /// ordered by checker, member, id.
    pub fn check_results_of_file(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
        path: &RelPath,
    ) -> Result<Vec<CheckResult>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                // Without the hint SQLite walks the /api/checks/list index (checker before path)
                // through every result of the revision to skip a sort of one file's results.
                "SELECT checker, primary_rel_path, member_rel_path, status, message, data
                 FROM check_results INDEXED BY check_results_by_file_status
                 WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3 AND primary_rel_path = ?4
                 ORDER BY checker, member_rel_path, id",
            )
            .doing("reading the check results of a file")?;
        stmt.query_map(params![project.as_str(), version.as_str(), revision.get(), path.as_str()], |r| {
            let name: String = r.get(0)?;
            let checker = CheckerId::from_name(&name).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    format!("unknown checker `{name}`").into(),
                )
            })?;
            Ok(CheckResult {
                checker,
                primary_rel_path: parse_opt::<RelPath>(r, 1)?,
                member_rel_path: r.get(2)?,
                status: parse_col(r, 3)?,
                message: r.get(4)?,
                data: json_col(r, 5)?,
            })
        })
        .doing("reading the check results of a file")?
        .collect::<Result<_, _>>()
        .doing("reading the check results of a file")
    }

    /// How many results of each status revision `revision` has per file (`None`: about the whole revision).
    pub fn check_result_counts(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        revision: RevisionNumber,
    ) -> Result<Vec<(Option<RelPath>, CheckStatus, u32)>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT primary_rel_path, status, COUNT(*) FROM check_results
                 WHERE project_key = ?1 AND version_key = ?2 AND revision_number = ?3
                 GROUP BY primary_rel_path, status",
            )
            .doing("counting check results")?;
        stmt.query_map(params![project.as_str(), version.as_str(), revision.get()], |r| {
            Ok((parse_opt::<RelPath>(r, 0)?, parse_col(r, 1)?, r.get(2)?))
        })
        .doing("counting check results")?
        .collect::<Result<_, _>>()
        .doing("counting check results")
    }
}
