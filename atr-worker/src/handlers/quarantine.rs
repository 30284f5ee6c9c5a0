//! Validation of a quarantined upload: every archive must be what its name says, readable to the
//! end and within the hostile-archive limits; then the upload becomes a revision, otherwise it is
//! discarded with an explanation the uploader can read.

use anyhow::anyhow;
use atr_checks::CheckStatus;
use atr_checks::archive::{ArchiveCheckContext, ArchiveRole, check_archive};
use atr_core::check::CheckerId;
use atr_core::time::Timestamp;
use atr_storage::quarantine::QuarantineStatus;

use super::{Output, TaskContext};

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
    let ctx = ArchiveCheckContext::new(ArchiveRole::Binary);
    let mut problems = Vec::new();
    for f in q.files.iter().filter(|f| f.archive) {
        let mut path = dir.clone();
        path.extend(f.path.segments());
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
        }
    }
    let now = Timestamp::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    );
    if problems.is_empty() {
        let (revision, plan) = t.storage.accept_quarantined(id, now)?;
        Ok(Output {
            results: Vec::new(),
            value: serde_json::json!({
                "kind": "quarantine",
                "status": "accepted",
                "revision": revision.number.to_string(),
                "tasks": plan.enqueued.len(),
                "cached": plan.cached.len(),
            }),
        })
    } else {
        let explanation = format!(
            "The upload was discarded because an archive failed validation. {} Fix the archive and upload it again.",
            problems.join(" ")
        );
        t.storage.reject_quarantined(id, &explanation, now)?;
        Ok(Output {
            results: Vec::new(),
            value: serde_json::json!({ "kind": "quarantine", "status": "failed", "error": explanation }),
        })
    }
}
