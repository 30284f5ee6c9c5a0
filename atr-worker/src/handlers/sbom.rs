//! SBOM handlers: check one `*.cdx.json` (or whether a source archive has one), and generate the
//! CycloneDX SBOM of a source archive into a new revision.
//!
//! Generation reads the archive once, running every archive check in the same pass, and then
//! makes a new draft revision holding `<artifact>.cdx.json` (revisions are never written into);
//! the new revision's checks, including the check of the SBOM itself, are planned with it.

use std::time::SystemTime;

use anyhow::{Context, anyhow};
use atr_checks::archive::{ArchiveCheckContext, ArchiveRole};
use atr_checks::sbom::{self, SbomRequest};
use atr_checks::{CheckContext, CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::ReleasePhase;
use atr_core::path::RelPath;
use atr_core::queue::HEADER_IGNORE_FILE;
use atr_storage::{NewRevision, StorageError};

use super::{Output, TaskContext};

fn names(t: &TaskContext<'_>) -> anyhow::Result<(ProjectKey, VersionKey, RevisionNumber, RelPath)> {
    let spec = &t.task.task.spec;
    match (&spec.project_key, &spec.version_key, spec.revision_number, &spec.primary_rel_path) {
        (Some(p), Some(v), Some(r), Some(f)) => Ok((p.clone(), v.clone(), r, f.clone())),
        _ => Err(anyhow!("a {} task needs a project, version, revision and file", spec.task_type)),
    }
}

/// Checks one SBOM file, or (`presence` tasks) whether a source archive has its SBOM.
pub fn check(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let (project, version, revision, rel) = names(t)?;
    let root = t.storage.layout().revision(&project, &version, revision);
    let args = &t.task.task.spec.task_args;
    if args.get("presence").and_then(|p| p.as_bool()) == Some(true) {
        let files = t.storage.revision_files(&project, &version, revision).context("listing the revision")?;
        // Planned from the project's policy; a task queued before the setting existed has none
        // and gets the policy's default.
        let missing = match args.get("missing_status").and_then(|s| s.as_str()) {
            Some(s) => s.parse::<CheckStatus>().map_err(|e| anyhow!("the task's missing_status: {e}"))?,
            None => atr_core::model::MissingSbom::default().status(),
        };
        return Ok(Output {
            results: sbom::check_sbom_presence(&rel, &files, missing),
            value: serde_json::json!({ "kind": "sbom_presence" }),
        });
    }
    let results = sbom::check_sbom_file(&root, &rel, &CheckContext::new(SystemTime::now()));
    let score = results.iter().find_map(|r| r.data.get("ntia").and_then(|n| n.get("score")).cloned());
    Ok(Output { results, value: serde_json::json!({ "kind": "sbom_check", "ntia_score": score }) })
}

/// The SHA-512 and SHA-256 of `artifact` that the checksum checks of `revision` computed from
/// the same (immutable) file, if they ran: the `computed` digest of a hashing result, whether
/// or not it matched the checksum file. With them the generator hashes nothing; the check of the
/// new SBOM verifies them against the file again.
fn known_digests(
    t: &TaskContext<'_>,
    project: &ProjectKey,
    version: &VersionKey,
    revision: RevisionNumber,
    artifact: &RelPath,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let results = t
        .storage
        .read(|tx| tx.check_results(project, version, revision))
        .context("reading the revision's checksum results")?;
    let computed = |algorithm: &str| {
        results.iter().map(|r| &r.result).find_map(|r| {
            (r.checker == CheckerId::HASHING
                && r.data.get("artifact").and_then(|a| a.as_str()) == Some(artifact.as_str())
                && r.data.get("algorithm").and_then(|a| a.as_str()) == Some(algorithm))
            .then(|| r.data.get("computed").and_then(|c| c.as_str()).map(str::to_owned))
            .flatten()
        })
    };
    Ok((computed("SHA512"), computed("SHA256")))
}

/// Generates `<artifact>.cdx.json` for the task's source archive and saves it in a new revision.
pub fn generate(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let (project, version, revision, artifact) = names(t)?;
    let spec = &t.task.task.spec;
    let author =
        spec.asf_uid.clone().ok_or_else(|| anyhow!("the SBOM task names nobody who asked for it"))?;
    let sbom_rel = sbom::sbom_path(&artifact);
    let root = t.storage.layout().revision(&project, &version, revision);
    let mut path = root.clone();
    path.extend(artifact.segments());
    let podling = spec.task_args.get("is_podling").and_then(|p| p.as_bool()).unwrap_or(false);
    let mut actx = ArchiveCheckContext::new(ArchiveRole::Source).with_podling(podling);
    if let Ok(text) = std::fs::read_to_string(root.join(HEADER_IGNORE_FILE)) {
        actx = actx.with_header_ignore(text);
    }
    let now = crate::runner::now();
    let mut req = SbomRequest::new(project.as_str(), version.as_str(), now);
    req.requested_by = Some(author.to_string());
    let (known_sha512, known_sha256) = known_digests(t, &project, &version, revision, &artifact)?;
    let known_supplied = known_sha512.is_some();
    req.known_sha512 = known_sha512;
    req.known_sha256 = known_sha256;
    let generated = match sbom::generate(&path, &artifact, &actx, &req) {
        Ok(g) => g,
        // The archive is unreadable: retrying cannot help; say why in the task's result.
        Err(
            e @ (sbom::GenerateError::Incomplete(_)
            | sbom::GenerateError::Invalid(_)
            | sbom::GenerateError::KnownDigest { .. }),
        ) => {
            return Ok(Output {
                results: Vec::new(),
                value: serde_json::json!({ "kind": "sbom_generate", "status": "failed", "error": e.to_string() }),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let bytes = generated.to_json();
    let description = format!("Generation of {sbom_rel}");
    let req = NewRevision::new(project.clone(), version.clone(), author, now, description)
        .in_phases(&[ReleasePhase::Draft]);
    let made = t.storage.create_draft_revision(&req, |dir| {
        if !dir.contains(&artifact) {
            return Err(StorageError::NotFound { what: "file", key: artifact.to_string() });
        }
        if dir.contains(&sbom_rel) {
            return Err(StorageError::AlreadyExists { what: "SBOM", key: sbom_rel.to_string() });
        }
        dir.write(&sbom_rel, &bytes)
    });
    let (rev, (), plan) = match made {
        Ok(v) => v,
        Err(
            e @ (StorageError::NotFound { .. }
            | StorageError::AlreadyExists { .. }
            | StorageError::WrongPhase { .. }),
        ) => {
            return Ok(Output {
                results: Vec::new(),
                value: serde_json::json!({ "kind": "sbom_generate", "status": "failed", "error": e.to_string() }),
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Output {
        results: Vec::new(),
        value: serde_json::json!({
            "kind": "sbom_generate",
            "status": "completed",
            "sbom": sbom_rel.as_str(),
            "revision": rev.number.to_string(),
            "components": generated.bom["components"].as_array().map_or(0, Vec::len),
            "manifests": generated.manifests.iter().map(|(p, k, n)| serde_json::json!({ "path": p, "kind": k, "components": n })).collect::<Vec<_>>(),
            "problems": generated.problems.iter().map(|(p, why)| format!("{p}: {why}")).collect::<Vec<_>>(),
            "sha512": generated.hashes.sha512,
            "sha256": generated.hashes.sha256,
            "digests_supplied": known_supplied,
            "tasks": plan.enqueued.len(),
        }),
    })
}
