//! Planning the check tasks of a new draft revision in the transaction that records it.
//!
//! [`Storage::create_draft_revision`] is [`Storage::create_revision`] plus planning: after the
//! change is applied it hashes every file of the new tree (BLAKE3, outside the database lock), and
//! inside the final transaction it asks the pure planner ([`atr_core::plan::plan_checks`]) which
//! tasks the revision needs. For each check task it computes the cache key
//! ([`atr_core::queue::cache_inputs`], hashed here) and either copies the results of an earlier
//! identical run into the new revision (marked `cached`, no task queued) or queues the task with
//! that key. So re-uploading one file of a 50-file release re-checks only that file (and the
//! revision-wide paths check, whose input is the listing).
//!
//! Callers that build revisions with [`Storage::create_revision_with`] themselves call
//! [`Tx::plan_revision_tasks`] from their `in_tx` closure instead.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use atr_core::classify::ClassificationPolicy;
use atr_core::model::{ReleasePhase, Revision, TaskId, TaskSpec};
use atr_core::path::RelPath;
use atr_core::plan::{PlanContext, plan_checks};
use atr_core::queue::{CachePolicy, cache_inputs};
use atr_core::time::Timestamp;

use crate::db::Tx;
use crate::db::tasks::EnqueueOptions;
use crate::error::StorageError;
use crate::revision::{InterimDir, NewRevision, RevisionStep};
use crate::{Storage, revision};

/// Content hash (`blake3:<hex>`) of every file of a revision tree.
pub type FileHashes = BTreeMap<RelPath, String>;

/// What planning a revision did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOutcome {
    /// Tasks queued, in plan order.
    pub enqueued: Vec<TaskId>,
    /// Check tasks not queued because an earlier identical run's results were copied.
    pub cached: Vec<TaskSpec>,
    /// How many results were copied for them.
    pub cached_results: usize,
    /// Check tasks not queued because the same work is already queued for this revision.
    pub duplicates: usize,
}

/// BLAKE3 of the file at `path`, as `blake3:<hex>`.
pub fn hash_file(path: &Path) -> Result<String, StorageError> {
    let mut hasher = blake3::Hasher::new();
    let file = File::open(path).map_err(StorageError::io("open", path))?;
    hasher.update_reader(file).map_err(StorageError::io("read", path))?;
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

/// Hashes every regular file under `root`.
pub fn hash_tree(root: &Path) -> Result<FileHashes, StorageError> {
    let mut out = BTreeMap::new();
    for rel in revision::list_files(root)? {
        let mut p = root.to_path_buf();
        p.extend(rel.segments());
        out.insert(rel, hash_file(&p)?);
    }
    Ok(out)
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn blake3_text(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

impl Tx<'_> {
    /// Queues the check tasks `revision` needs (nothing unless it is a draft revision), reusing the
    /// results of identical earlier runs. `hashes` holds every file of the revision.
    pub fn plan_revision_tasks(
        &self,
        revision: &Revision,
        hashes: &FileHashes,
        now: Timestamp,
    ) -> Result<PlanOutcome, StorageError> {
        let mut outcome = PlanOutcome::default();
        if revision.phase != ReleasePhase::Draft {
            return Ok(outcome);
        }
        let project = self.project(&revision.project_key)?.ok_or_else(|| StorageError::NotFound {
            what: "project",
            key: revision.project_key.to_string(),
        })?;
        let committee = self.committee(&project.committee_key)?;
        let is_podling = committee.as_ref().is_some_and(|c| c.is_podling);
        let policy = &project.policy;
        // Patterns are validated when the policy is saved; an unreadable one falls back to the
        // filename heuristics rather than leaving the revision unchecked.
        let classification = ClassificationPolicy::new(
            &strs(&policy.source_artifact_paths),
            &strs(&policy.binary_artifact_paths),
        )
        .unwrap_or_default();
        let mut keys_text = String::new();
        for k in self.signing_keys_of_committee(&project.committee_key)? {
            keys_text.push_str(k.fingerprint.as_str());
            keys_text.push('\n');
            keys_text.push_str(&k.ascii_armored_key);
            keys_text.push('\n');
        }
        let cache_policy = CachePolicy {
            source_artifact_paths: policy.source_artifact_paths.clone(),
            binary_artifact_paths: policy.binary_artifact_paths.clone(),
            committee_keys_digest: blake3_text(&keys_text),
        };
        let ctx = PlanContext {
            project_key: &revision.project_key,
            version_key: &revision.version_key,
            revision: revision.number,
            committee_key: &project.committee_key,
            is_podling,
            asf_uid: Some(&revision.asfuid),
            classification: &classification,
            missing_sbom: policy.missing_sbom_status,
        };
        let listing: Vec<RelPath> = hashes.keys().cloned().collect();
        for spec in plan_checks(&listing, &ctx) {
            let key = cache_inputs(&spec, &listing, &cache_policy, |p| hashes.get(p).cloned())
                .map(|inputs| blake3_text(&inputs.material()));
            if let Some(key) = &key {
                if self.ongoing_duplicate(
                    key,
                    &revision.project_key,
                    &revision.version_key,
                    revision.number,
                )? {
                    outcome.duplicates += 1;
                    continue;
                }
                if let Some(n) = self.copy_cached_results(
                    key,
                    &revision.project_key,
                    &revision.version_key,
                    revision.number,
                    now,
                )? {
                    outcome.cached_results += n;
                    outcome.cached.push(spec);
                    continue;
                }
            }
            let opts = EnqueueOptions { dedup_key: key, ..EnqueueOptions::default() };
            outcome.enqueued.push(self.enqueue_task_with(&spec, now, &opts)?);
        }
        Ok(outcome)
    }
}

impl Storage {
    /// [`Storage::create_revision`], and in the same transaction the check tasks of the new
    /// revision when the release is a draft (see the module docs).
    pub fn create_draft_revision<T, E: From<StorageError>>(
        &self,
        req: &NewRevision,
        change: impl FnOnce(&mut InterimDir<'_>) -> Result<T, E>,
    ) -> Result<(Revision, T, PlanOutcome), E> {
        let hashes = RefCell::new(None);
        let mut outcome = PlanOutcome::default();
        let now = req.now;
        let (rev, value) = self.create_revision_with(
            req,
            |dir| {
                let value = change(dir)?;
                *hashes.borrow_mut() = Some(hash_tree(dir.root()).map_err(E::from)?);
                Ok::<T, E>(value)
            },
            |tx, rev| {
                let hashes = hashes.borrow();
                let hashes = hashes.as_ref().expect("hashed after the change");
                outcome = tx.plan_revision_tasks(rev, hashes, now)?;
                Ok(())
            },
            &mut |_: RevisionStep| {},
        )?;
        Ok((rev, value, outcome))
    }
}
