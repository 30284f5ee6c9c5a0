//! Distribution records: where a release was also published.

use atr_core::ids::{ProjectKey, ReleaseKey, VersionKey};
use atr_core::model::{Distribution, DistributionPlatform};
use rusqlite::{OptionalExtension as _, params};

use super::{Tx, parse_col, ts_opt};
use crate::error::{DbContext, StorageError, insert_error};

const COLUMNS: &str = "project_key, version_key, platform, owner_namespace, package, version, staging, pending, \
     upload_date, api_url, web_url, created_by, pending_reason, checked_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Distribution> {
    Ok(Distribution {
        project_key: parse_col(r, 0)?,
        version_key: parse_col(r, 1)?,
        platform: parse_col(r, 2)?,
        owner_namespace: r.get(3)?,
        package: r.get(4)?,
        version: r.get(5)?,
        staging: r.get(6)?,
        pending: r.get(7)?,
        upload_date: ts_opt(r, 8)?,
        api_url: r.get(9)?,
        web_url: r.get(10)?,
        created_by: parse_col(r, 11)?,
        pending_reason: r.get(12)?,
        checked_at: ts_opt(r, 13)?,
    })
}

impl Tx<'_> {
    /// Records a distribution, or replaces the record with the same (release, platform, owner, package, version).
    pub fn upsert_distribution(&self, d: &Distribution) -> Result<(), StorageError> {
        self.conn()
            .execute(
                &format!(
                    "INSERT INTO distributions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                     ON CONFLICT (project_key, version_key, platform, owner_namespace, package, version) DO UPDATE SET
                         staging = excluded.staging, pending = excluded.pending, upload_date = excluded.upload_date,
                         api_url = excluded.api_url, web_url = excluded.web_url, created_by = excluded.created_by,
                         pending_reason = excluded.pending_reason, checked_at = excluded.checked_at"
                ),
                params![
                    d.project_key.as_str(),
                    d.version_key.as_str(),
                    d.platform.as_str(),
                    d.owner_namespace,
                    d.package,
                    d.version,
                    d.staging,
                    d.pending,
                    d.upload_date.map(|t| t.unix()),
                    d.api_url,
                    d.web_url,
                    d.created_by.as_str(),
                    d.pending_reason,
                    d.checked_at.map(|t| t.unix()),
                ],
            )
            .map_err(insert_error("distribution of release", ReleaseKey::new(d.project_key.clone(), d.version_key.clone())))?;
        Ok(())
    }

    /// The distributions of a release.
    pub fn distributions(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
    ) -> Result<Vec<Distribution>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM distributions WHERE project_key = ?1 AND version_key = ?2
                 ORDER BY platform, owner_namespace, package, version"
            ))
            .doing("reading distributions")?;
        stmt.query_map(params![project.as_str(), version.as_str()], row)
            .doing("reading distributions")?
            .collect::<Result<_, _>>()
            .doing("reading distributions")
    }

    /// One distribution record of a release.
    pub fn distribution(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        platform: DistributionPlatform,
        owner_namespace: &str,
        package: &str,
        package_version: &str,
    ) -> Result<Option<Distribution>, StorageError> {
        self.conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM distributions WHERE project_key = ?1 AND version_key = ?2 AND platform = ?3
                   AND owner_namespace = ?4 AND package = ?5 AND version = ?6"
            ))
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        project.as_str(),
                        version.as_str(),
                        platform.as_str(),
                        owner_namespace,
                        package,
                        package_version
                    ],
                    row,
                )
                .optional()
            })
            .doing("reading a distribution")
    }

    /// Deletes one distribution record.
    pub fn delete_distribution(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        platform: DistributionPlatform,
        owner_namespace: &str,
        package: &str,
        package_version: &str,
    ) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM distributions WHERE project_key = ?1 AND version_key = ?2 AND platform = ?3
                   AND owner_namespace = ?4 AND package = ?5 AND version = ?6",
                params![
                    project.as_str(),
                    version.as_str(),
                    platform.as_str(),
                    owner_namespace,
                    package,
                    package_version
                ],
            )
            .doing("deleting a distribution")?;
        if n == 0 {
            return Err(StorageError::NotFound {
                what: "distribution",
                key: format!("{project}-{version} {platform} {owner_namespace}/{package} {package_version}"),
            });
        }
        Ok(())
    }
}
