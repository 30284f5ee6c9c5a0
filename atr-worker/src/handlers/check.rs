//! Check handlers: run one checker (or, for archives, every archive checker in one pass) over one
//! file of one revision, through `atr-checks`. Results are keyed by (release, revision, checker,
//! primary path, member path) when the runner stores them.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, anyhow};
use atr_checks::archive::{self, ArchiveCheckContext, ArchiveReport, ArchiveRole, check_archive};
use atr_checks::keys::Keyring;
use atr_checks::{CheckContext, hashes, paths, signature};
use atr_core::classify::ClassificationPolicy;
use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::path::RelPath;
use atr_core::queue::HEADER_IGNORE_FILE;

use super::{Output, TaskContext};

/// Where a check task points, plus the context every checker takes.
struct Target {
    root: PathBuf,
    ctx: CheckContext,
    committee: atr_core::ids::CommitteeKey,
    project: ProjectKey,
    version: VersionKey,
    revision: RevisionNumber,
}

fn target(t: &TaskContext<'_>) -> anyhow::Result<Target> {
    let spec = &t.task.task.spec;
    let (Some(project), Some(version), Some(revision)) =
        (spec.project_key.clone(), spec.version_key.clone(), spec.revision_number)
    else {
        return Err(anyhow!("a {} task needs a project, version and revision", spec.task_type));
    };
    let (proj, podling) = t.storage.read(|tx| {
        let proj = tx.project(&project)?.ok_or_else(|| atr_storage::StorageError::NotFound {
            what: "project",
            key: project.to_string(),
        })?;
        let podling = tx.committee(&proj.committee_key)?.is_some_and(|c| c.is_podling);
        Ok::<_, atr_storage::StorageError>((proj, podling))
    })?;
    let strs = |v: &[String]| -> Vec<String> { v.to_vec() };
    let src = strs(&proj.policy.source_artifact_paths);
    let bin = strs(&proj.policy.binary_artifact_paths);
    let policy = ClassificationPolicy::new(
        &src.iter().map(String::as_str).collect::<Vec<_>>(),
        &bin.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let ctx = CheckContext::new(SystemTime::now())
        .with_podling(podling)
        .with_policy(policy)
        .with_names(project.as_str(), version.as_str())
        .with_committee(proj.committee_key.as_str());
    Ok(Target {
        root: t.storage.layout().revision(&project, &version, revision),
        ctx,
        committee: proj.committee_key,
        project,
        version,
        revision,
    })
}

fn primary(t: &TaskContext<'_>) -> anyhow::Result<RelPath> {
    t.task.task.spec.primary_rel_path.clone().ok_or_else(|| anyhow!("the task names no file"))
}

fn archive_ctx(target: &Target, args: &serde_json::Value) -> ArchiveCheckContext {
    let role = match args.get("class").and_then(|c| c.as_str()) {
        Some("binary") => ArchiveRole::Binary,
        _ => ArchiveRole::Source,
    };
    let mut actx = ArchiveCheckContext::new(role)
        .with_podling(target.ctx.podling)
        .with_limits(target.ctx.limits.archive);
    if let Ok(text) = std::fs::read_to_string(target.root.join(HEADER_IGNORE_FILE)) {
        actx = actx.with_header_ignore(text);
    }
    actx
}

fn file_path(target: &Target, rel: &RelPath) -> PathBuf {
    let mut p = target.root.clone();
    p.extend(rel.segments());
    p
}

/// Every archive check over one archive, in one pass.
pub fn archive_check(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let target = target(t)?;
    let rel = primary(t)?;
    let actx = archive_ctx(&target, &t.task.task.spec.task_args);
    let report = check_archive(&file_path(&target, &rel), &rel, &actx);
    Ok(Output { value: archive_value(&report), results: report.results })
}

/// The task result JSON of an archive check.
pub fn archive_value(report: &ArchiveReport) -> serde_json::Value {
    serde_json::json!({
        "kind": "archive_check",
        "complete": report.complete,
        "members": report.listing.len(),
        "uncompressed_bytes": report.uncompressed_bytes,
        "tree_hash": report.tree_hash_hex(),
    })
}

/// One `.sha256` / `.sha512` file.
pub fn hashing(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let target = target(t)?;
    let rel = primary(t)?;
    Ok(Output {
        results: hashes::check_hash_file(&target.root, &rel, &target.ctx),
        value: serde_json::Value::Null,
    })
}

/// One detached signature against the committee's keys.
pub fn signature(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let target = target(t)?;
    let rel = primary(t)?;
    let keys = t.storage.read(|tx| tx.signing_keys_of_committee(&target.committee))?;
    let mut armored = String::new();
    for k in &keys {
        armored.push_str(&k.ascii_armored_key);
        armored.push('\n');
    }
    let ring = Keyring::parse(armored.as_bytes());
    Ok(Output {
        results: signature::check_signature_file(&target.root, &rel, &ring, &target.ctx),
        value: serde_json::json!({ "kind": "signature_check", "committee_keys": keys.len() }),
    })
}

/// The paths policy over the whole revision.
pub fn paths(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let target = target(t)?;
    let files = t
        .storage
        .revision_files(&target.project, &target.version, target.revision)
        .context("listing the revision")?;
    Ok(Output { results: paths::check_paths(&files, &target.ctx), value: serde_json::Value::Null })
}

/// The same tree shipped in several archive formats.
pub fn parity(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let target = target(t)?;
    let args = &t.task.task.spec.task_args;
    let actx = archive_ctx(&target, args);
    let archives: Vec<RelPath> = args
        .get("archives")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().and_then(|s| RelPath::new(s).ok())).collect())
        .unwrap_or_default();
    let reports: Vec<(RelPath, ArchiveReport)> = archives
        .into_iter()
        .map(|rel| (rel.clone(), check_archive(&file_path(&target, &rel), &rel, &actx)))
        .collect();
    let refs: Vec<(&RelPath, &ArchiveReport)> = reports.iter().map(|(p, r)| (p, r)).collect();
    Ok(Output { results: archive::parity(&refs), value: serde_json::Value::Null })
}
