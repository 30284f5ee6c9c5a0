//! Validation of a quarantined upload: every archive must be what its name says, readable to the
//! end and within the hostile-archive limits; then the upload becomes a revision, otherwise it is
//! discarded with an explanation the uploader can read.
//!
//! The validation pass is the archive check itself, run with the context the new revision's
//! archive task will have (class by the project's policy, podling flag, header-ignore file), so
//! each archive is read once: its results complete that task when the revision is made.

use std::path::PathBuf;

use anyhow::anyhow;
use atr_checks::CheckStatus;
use atr_checks::archive::{ArchiveCheckContext, ArchiveLimits, ArchiveRole, check_archive};
use atr_core::check::CheckerId;
use atr_core::classify::{ArtifactClass, ClassificationPolicy, classify};
use atr_core::path::RelPath;
use atr_core::queue::HEADER_IGNORE_FILE;
use atr_storage::StorageError;
use atr_storage::quarantine::{Precomputed, QuarantineStatus};

use super::{Output, TaskContext};
use crate::runner::now;

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Validates the quarantined upload named by the task's `quarantine_id` and accepts or rejects it.
pub fn validate(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let id = t
        .task
        .task
        .spec
        .task_args
        .get("quarantine_id")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| anyhow!("the task has no `quarantine_id` argument"))?;
    let q = t
        .storage
        .read(|tx| tx.quarantined(id))?
        .ok_or_else(|| anyhow!("quarantined upload {id} does not exist (its release was deleted?)"))?;
    if q.status != QuarantineStatus::Pending {
        // Decided by an earlier attempt that did not get to record completion.
        return Ok(Output {
            results: Vec::new(),
            value: serde_json::json!({ "kind": "quarantine", "status": q.status.as_str() }),
        });
    }
    let dir = t.storage.quarantine_dir(id);
    let (policy, podling, latest) = t.storage.read(|tx| {
        let project = tx
            .project(&q.project_key)?
            .ok_or_else(|| StorageError::NotFound { what: "project", key: q.project_key.to_string() })?;
        let podling = tx.committee(&project.committee_key)?.is_some_and(|c| c.is_podling);
        let latest = tx.latest_revision(&q.project_key, &q.version_key)?;
        Ok::<_, StorageError>((project.policy, podling, latest))
    })?;
    let classification =
        ClassificationPolicy::new(&strs(&policy.source_artifact_paths), &strs(&policy.binary_artifact_paths))
            .unwrap_or_default();
    // The header-ignore file the new revision will hold: uploaded now, or kept from the latest revision.
    let ignore_rel = RelPath::new(HEADER_IGNORE_FILE)?;
    let ignore_path: Option<PathBuf> = if q.files.iter().any(|f| f.path == ignore_rel) {
        Some(dir.join(HEADER_IGNORE_FILE))
    } else {
        latest
            .map(|n| t.storage.layout().revision(&q.project_key, &q.version_key, n).join(HEADER_IGNORE_FILE))
            .filter(|p| p.is_file())
    };
    let ignore_text = ignore_path.as_deref().and_then(|p| std::fs::read_to_string(p).ok());
    let ignore_hash = ignore_path.as_deref().map(atr_storage::planning::hash_file).transpose()?;

    let mut problems = Vec::new();
    let mut precomputed = Vec::new();
    for f in q.files.iter().filter(|f| f.archive) {
        let mut path = dir.clone();
        path.extend(f.path.segments());
        let class = classify(&f.path, &classification).class;
        let (role, class_name) = match class {
            ArtifactClass::Source => (ArchiveRole::Source, Some("source")),
            ArtifactClass::Binary => (ArchiveRole::Binary, Some("binary")),
            _ => (ArchiveRole::Binary, None),
        };
        let mut ctx =
            ArchiveCheckContext::new(role).with_podling(podling).with_limits(ArchiveLimits::DEFAULT);
        if let Some(text) = &ignore_text {
            ctx = ctx.with_header_ignore(text.clone());
        }
        let report = check_archive(&path, &f.path, &ctx);
        let integrity: Vec<&str> = report
            .results
            .iter()
            .filter(|r| {
                matches!(r.status, CheckStatus::Blocker | CheckStatus::Exception)
                    && (r.checker == CheckerId::TARGZ_INTEGRITY || r.checker == CheckerId::ZIP_INTEGRITY)
            })
            .map(|r| r.message.as_str())
            .collect();
        if !integrity.is_empty() {
            problems.push(format!("`{}`: {}", f.path, integrity.join("; ")));
        } else if !report.complete || report.format.is_none() {
            problems.push(format!("`{}`: the archive could not be read to its end", f.path));
        } else if let Some(class_name) = class_name {
            precomputed.push(Precomputed {
                path: f.path.clone(),
                class: class_name.to_owned(),
                is_podling: podling,
                header_ignore_hash: ignore_hash.clone(),
                value: super::check::archive_value(&report),
                results: report.results,
            });
        }
    }
    if problems.is_empty() {
        let (revision, plan, reused) = match t.storage.accept_quarantined_with(id, now(), &precomputed) {
            Ok(v) => v,
            // The release changed under the upload: retrying cannot help, tell the uploader.
            Err(e @ (StorageError::WrongPhase { .. } | StorageError::NotFound { .. })) => {
                let explanation = format!("The upload was valid but was discarded: {e}.");
                t.storage.reject_quarantined(id, &explanation, now())?;
                return Ok(Output {
                    results: Vec::new(),
                    value: serde_json::json!({ "kind": "quarantine", "status": "failed", "error": explanation }),
                });
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Output {
            results: Vec::new(),
            value: serde_json::json!({
                "kind": "quarantine",
                "status": "accepted",
                "revision": revision.number.to_string(),
                "tasks": plan.enqueued.len(),
                "cached": plan.cached.len(),
                "archive_checks_done_here": reused,
            }),
        })
    } else {
        let explanation = format!(
            "The upload was discarded because an archive failed validation. {} Fix the archive and upload it again.",
            problems.join(" ")
        );
        t.storage.reject_quarantined(id, &explanation, now())?;
        Ok(Output {
            results: Vec::new(),
            value: serde_json::json!({ "kind": "quarantine", "status": "failed", "error": explanation }),
        })
    }
}
