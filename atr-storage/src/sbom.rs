//! Requests for SBOM generation: the one operation the web's file tools and the API's
//! `/api/sbom/generate` share. The caller authorises the actor first (atr-core
//! `authorise(actor, Action::AddRevision, committee)`); here the core's rule
//! ([`atr_core::plan::sbom_generate_task`]) decides on the latest revision's files, and the task
//! and its audit record are written in one transaction. The worker then makes the new revision.

use std::collections::BTreeSet;

use atr_core::classify::ClassificationPolicy;
use atr_core::ids::{ProjectKey, ReleaseKey, Uid, VersionKey};
use atr_core::model::{AuditAction, AuditEvent, ReleasePhase, TaskId};
use atr_core::path::RelPath;
use atr_core::plan::{PlanContext, SbomRefusal, sbom_generate_task};
use atr_core::time::Timestamp;

use crate::Storage;
use crate::error::StorageError;

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

impl Storage {
    /// Queues the generation of `<artifact>.cdx.json` for a source archive of the latest revision
    /// of a draft, on behalf of `requested_by` (already authorised), with its audit record.
    /// Returns the task id, or the core's refusal (no such file, not a source archive, SBOM exists).
    pub fn request_sbom_generation(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        artifact: &RelPath,
        requested_by: &Uid,
        as_admin: bool,
        now: Timestamp,
    ) -> Result<Result<TaskId, SbomRefusal>, StorageError> {
        let release_name = ReleaseKey::new(project.clone(), version.clone()).to_string();
        self.write(|tx| {
            let release = tx
                .release(project, version)?
                .ok_or_else(|| StorageError::NotFound { what: "release", key: release_name.clone() })?;
            if release.phase != ReleasePhase::Draft {
                return Err(StorageError::WrongPhase {
                    release: release_name.clone(),
                    expected: ReleasePhase::Draft.as_str().to_owned(),
                    actual: release.phase.as_str().to_owned(),
                });
            }
            let latest = tx
                .latest_revision(project, version)?
                .ok_or_else(|| StorageError::NotFound { what: "revision", key: release_name.clone() })?;
            let files: BTreeSet<RelPath> =
                self.revision_files(project, version, latest)?.into_iter().collect();
            let proj = tx
                .project(project)?
                .ok_or_else(|| StorageError::NotFound { what: "project", key: project.to_string() })?;
            let is_podling = tx.committee(&proj.committee_key)?.is_some_and(|c| c.is_podling);
            let classification = ClassificationPolicy::new(
                &strs(&proj.policy.source_artifact_paths),
                &strs(&proj.policy.binary_artifact_paths),
            )
            .unwrap_or_default();
            let ctx = PlanContext {
                project_key: project,
                version_key: version,
                revision: latest,
                committee_key: &proj.committee_key,
                is_podling,
                asf_uid: Some(requested_by),
                classification: &classification,
                missing_sbom: proj.policy.missing_sbom_status,
            };
            let spec = match sbom_generate_task(&files, artifact, &ctx) {
                Ok(spec) => spec,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let id = tx.enqueue_task(&spec, now)?;
            tx.append_audit(&AuditEvent {
                id: None,
                at: now,
                actor: Some(requested_by.clone()),
                as_admin,
                action: AuditAction::SbomGenerate,
                target: release_name.clone(),
                details: serde_json::json!({
                    "artifact": artifact.as_str(),
                    "sbom": spec.task_args["sbom"],
                    "revision": latest.to_string(),
                    "task": id.0,
                }),
            })?;
            Ok(Ok(id))
        })
    }
}
