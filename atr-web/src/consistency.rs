//! The admin consistency report: database rows compared with the state directory, read-only.
//!
//! Finds revision rows without their directory (and revision directories without a row), announced
//! releases without their `finished/` directory, tasks stuck active past their lease, check results
//! whose revision row is gone, and pending quarantine entries without their files (and quarantine
//! directories without an entry). Nothing is changed; the page says what to look at.

use std::collections::BTreeSet;
use std::path::Path;

use atr_storage::Storage;
use atr_storage::db::consistency::{OrphanResults, PendingQuarantine, StaleTask};

use crate::error::WebError;

/// What the consistency report found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// How many revision rows were compared with the file system.
    pub(crate) revisions_checked: usize,
    /// `project/version/NNNNN` of revision rows of unannounced releases without their directory.
    pub(crate) rows_without_dir: Vec<String>,
    /// `project/version/NNNNN` of revision directories under `unfinished/` without a row.
    pub(crate) dirs_without_row: Vec<String>,
    /// `project/version` of announced releases without their `finished/` directory.
    pub(crate) finished_without_dir: Vec<String>,
    /// Tasks still active after their lease expired.
    pub(crate) stale_tasks: Vec<StaleTask>,
    /// Check results that point at a missing revision.
    pub(crate) orphan_results: Vec<OrphanResults>,
    /// Pending quarantine entries whose directory is missing.
    pub(crate) quarantine_without_files: Vec<PendingQuarantine>,
    /// Directories under `quarantine/` without a pending entry (an upload may be in progress).
    pub(crate) quarantine_dirs_without_entry: Vec<String>,
}

impl Report {
    /// How many problems were found.
    pub(crate) fn problems(&self) -> usize {
        self.rows_without_dir.len()
            + self.dirs_without_row.len()
            + self.finished_without_dir.len()
            + self.stale_tasks.len()
            + self.orphan_results.len()
            + self.quarantine_without_files.len()
            + self.quarantine_dirs_without_entry.len()
    }
}

/// The names of the subdirectories of `dir` (none when it does not exist).
fn subdirs(dir: &Path) -> Result<Vec<String>, WebError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(WebError::internal("list a state directory", e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WebError::internal("list a state directory", e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether `name` is a revision directory name (five digits).
fn is_revision_name(name: &str) -> bool {
    name.len() == 5 && name.bytes().all(|b| b.is_ascii_digit())
}

/// Builds the report at time `now` (Unix seconds); at most `limit` stale tasks are listed.
pub(crate) fn report(storage: &Storage, now: i64, limit: u32) -> Result<Report, WebError> {
    let (revisions, releases, stale_tasks, orphan_results, pending) = storage.read(|tx| {
        Ok::<_, atr_storage::StorageError>((
            tx.consistency_revisions()?,
            tx.consistency_releases()?,
            tx.consistency_stale_tasks(now, limit)?,
            tx.consistency_orphan_results()?,
            tx.consistency_pending_quarantine()?,
        ))
    })?;
    let layout = storage.layout();
    let mut report = Report { stale_tasks, orphan_results, ..Report::default() };

    let mut rows = BTreeSet::new();
    for r in &revisions {
        if r.release_phase == "release" {
            continue;
        }
        report.revisions_checked += 1;
        let name = format!("{}/{}/{:05}", r.project, r.version, r.number);
        if !layout.unfinished().join(&name).is_dir() {
            report.rows_without_dir.push(name.clone());
        }
        rows.insert(name);
    }
    for project in subdirs(&layout.unfinished())? {
        for version in subdirs(&layout.unfinished().join(&project))? {
            for rev in subdirs(&layout.unfinished().join(&project).join(&version))? {
                let name = format!("{project}/{version}/{rev}");
                if is_revision_name(&rev) && !rows.contains(&name) {
                    report.dirs_without_row.push(name);
                }
            }
        }
    }
    for (project, version, phase) in &releases {
        if phase == "release" && !layout.finished().join(project).join(version).is_dir() {
            report.finished_without_dir.push(format!("{project}/{version}"));
        }
    }

    let pending_ids: BTreeSet<String> = pending.iter().map(|q| q.id.to_string()).collect();
    for q in pending {
        if !storage.quarantine_dir(q.id).is_dir() {
            report.quarantine_without_files.push(q);
        }
    }
    for dir in subdirs(&layout.root().join("quarantine"))? {
        if !pending_ids.contains(&dir) {
            report.quarantine_dirs_without_entry.push(dir);
        }
    }
    Ok(report)
}
