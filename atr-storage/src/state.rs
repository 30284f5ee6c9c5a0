//! Loading the lifecycle's view of a release ([`ReleaseState`]) from the database and the tree.

use std::collections::BTreeSet;

use atr_core::ids::{ProjectKey, ReleaseKey, VersionKey};
use atr_core::lifecycle::{CheckSummary, ProjectContext, ReleaseState};
use atr_core::model::ReleasePhase;
use atr_core::time::Timestamp;

use crate::Storage;
use crate::error::StorageError;
use crate::revision::list_files;

impl Storage {
    /// Everything `atr_core::lifecycle::apply` needs about release `<project>-<version>`, read in one
    /// snapshot: the project context, the release (or none yet), its latest revision and files, the
    /// check summary of that revision (ignore rules applied at `now`) and the ballots of the running vote.
    pub fn release_state(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        now: Timestamp,
    ) -> Result<ReleaseState, StorageError> {
        let (state, files_dir) = self.read(|tx| {
            let p = tx
                .project(project)?
                .ok_or_else(|| StorageError::NotFound { what: "project", key: project.to_string() })?;
            let committee = tx.committee(&p.committee_key)?.ok_or_else(|| StorageError::NotFound {
                what: "committee",
                key: p.committee_key.to_string(),
            })?;
            let context = ProjectContext {
                project_key: p.key.clone(),
                project_name: p.name.clone(),
                committee_key: committee.key.clone(),
                is_podling: committee.is_podling,
                status: p.status,
                policy: p.policy.clone(),
            };
            let mut state = ReleaseState::unstarted(context);
            let Some(release) = tx.release(project, version)? else { return Ok((state, None)) };
            let latest = tx.latest_revision(project, version)?;
            let mut files_dir = None;
            if let Some(n) = latest {
                let key = ReleaseKey::new(project.clone(), version.clone());
                let results: Vec<_> =
                    tx.check_results(project, version, n)?.into_iter().map(|r| r.result).collect();
                let ignores = tx.ignores(project)?;
                let ongoing = tx.ongoing_task_count(project, version, n)?;
                state.checks = CheckSummary::from_results(&key, n, &results, &ignores, ongoing, now);
                files_dir = Some(if release.phase == ReleasePhase::Release {
                    self.layout().finished_release(project, version)
                } else {
                    self.layout().revision(project, version, n)
                });
            }
            // Uploads still waiting for validation will become a newer revision: no vote meanwhile.
            let pending = tx
                .quarantined_of_release(project, version)?
                .iter()
                .filter(|q| q.status == crate::quarantine::QuarantineStatus::Pending)
                .count();
            state.checks.quarantined = u32::try_from(pending).unwrap_or(u32::MAX);
            if let Some(round) = release.vote_round {
                state.ballots = tx.ballots(project, version, release.vote_seq, round)?;
            }
            state.latest_revision = latest;
            state.release = Some(release);
            Ok::<_, StorageError>((state, files_dir))
        })?;
        let mut state = state;
        if let Some(dir) = files_dir
            && dir.is_dir()
        {
            state.files = list_files(&dir)?.into_iter().collect::<BTreeSet<_>>();
        }
        Ok(state)
    }
}

impl crate::db::Tx<'_> {
    /// Records the database part of a transition accepted by `atr_core::lifecycle::apply` on `before`:
    /// the release row (inserted for a start, guarded update otherwise, deleted for a delete), the
    /// audit record and the tasks among the effects, all in this transaction.
    ///
    /// The update is conditional on the release still being in `before`'s phase at `before`'s latest
    /// revision; otherwise nothing is written and the refusal says "A newer revision appeared…" (or
    /// names the phase it is in now). File effects (`CreateRevision`: use
    /// [`Storage::create_revision_with`] and call this from its `in_tx`; `Publish`) and mails are the
    /// caller's. After a delete, the caller removes the directories (or the next open does).
    pub fn record_transition(
        &self,
        before: &ReleaseState,
        t: &atr_core::lifecycle::Transition,
        now: Timestamp,
    ) -> Result<Vec<atr_core::model::TaskId>, StorageError> {
        match (&before.release, &t.state.release) {
            (None, Some(new)) => self.insert_release(new)?,
            (Some(old), Some(new)) if old != new => {
                self.update_release_guarded(old.phase, before.latest_revision, new)?;
            }
            (Some(old), None) => self.delete_release_rows(&old.project_key, &old.version_key)?,
            _ => {}
        }
        self.append_audit(&t.audit)?;
        t.tasks().map(|spec| self.enqueue_task(spec, now)).collect()
    }
}
