//! The upload operation shared by the browser form and the API: authorised by the core, stored
//! through [`Storage::upload`] (archives held in quarantine until a worker validated them).

use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::lifecycle::{Command, apply};
use atr_core::model::ReleasePhase;
use atr_core::permissions::{Action, Actor, authorise};
use atr_core::time::Timestamp;
use atr_storage::Storage;
use atr_storage::quarantine::{Quarantined, Upload, UploadOutcome};
use atr_storage::revision::NewRevision;

use crate::error::WebError;

/// Stores `uploads` in the draft of `project` `version`: a new revision at once when no file is
/// an archive, else a quarantined upload whose validation task decides (HTTP 201 or 202).
///
/// The core decides first, on the file list the revision would have (the latest revision's files
/// plus the uploaded ones): permission, phase, and that nobody added a revision meanwhile.
pub(crate) fn upload_files(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    description: &str,
    uploads: Vec<Upload<'_>>,
    now: Timestamp,
) -> Result<UploadOutcome, WebError> {
    let state = s.release_state(project, version, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let grant = authorise(actor, Action::AddRevision, &state.project.committee_key)?;
    let mut files = state.files.clone();
    files.extend(uploads.iter().map(|u| u.path.clone()));
    let command = Command::AddRevision {
        files,
        description: description.to_owned(),
        expected_latest: state.latest_revision,
    };
    apply(&state, command, actor, now)?;
    let mut req = NewRevision::new(project.clone(), version.clone(), uid, now, description)
        .in_phases(&[ReleasePhase::Draft]);
    req.as_admin = grant.as_admin;
    if let Some(n) = state.latest_revision {
        req = req.expecting_latest(n);
    }
    Ok(s.upload(&req, uploads)?)
}

/// The quarantined uploads of a release to show on its compose page: every pending one, and the
/// most recent refusals (at most `refusals`), newest first.
pub(crate) fn quarantine_status(
    s: &Storage,
    project: &ProjectKey,
    version: &VersionKey,
    refusals: usize,
) -> Result<(Vec<Quarantined>, Vec<Quarantined>), WebError> {
    use atr_storage::quarantine::QuarantineStatus;
    let all = s.read(|tx| tx.quarantined_of_release(project, version))?;
    let pending = all.iter().filter(|q| q.status == QuarantineStatus::Pending).cloned().collect();
    let failed = all.into_iter().filter(|q| q.status == QuarantineStatus::Failed).take(refusals).collect();
    Ok((pending, failed))
}
