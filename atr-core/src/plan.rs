//! Which checks a new revision needs: a pure function over its file list and the project's policy.
//!
//! Per revision:
//! - one `paths_check` (no primary path) over the whole tree;
//! - one `signature_check` per `.asc` file;
//! - one `hashing_check` per `.sha256` / `.sha512` file;
//! - one `archive_check` per source or binary archive (`.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`,
//!   `.tar`, `.zip`), which runs all archive checkers in one pass over the archive; its
//!   `checkers` argument lists them (source archives get licence headers and RAT-class
//!   analysis, binary archives only integrity and licence files, as in ATR);
//! - one `sbom_check` per `.cdx.json` (schema, the artifact and its hashes, NTIA score, licence
//!   bill), and one per source archive (whether its `<archive>.cdx.json` is beside it; when it
//!   is not, the result has the status the project's policy sets, [`PlanContext::missing_sbom`]);
//! - one `parity_check` per group of two or more source archives of the same tree in different formats.
//!
//! Files are classified by [`crate::classify::classify`] with the project's patterns.
//! The result is in a stable order: the paths check first, then by file path.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use crate::check::CheckerId;
use crate::classify::{ArtifactClass, ClassificationPolicy, artifact_suffix, classify};
use crate::ids::{CommitteeKey, ProjectKey, RevisionNumber, Uid, VersionKey};
use crate::model::policy::MissingSbom;
use crate::model::task::{TaskSpec, TaskType};
use crate::path::RelPath;

/// Archive suffixes the archive checks can read, and whether each is a tar format.
const ARCHIVES: &[(&str, bool)] = &[
    (".tar.gz", true),
    (".tgz", true),
    (".tar.bz2", true),
    (".tar.xz", true),
    (".tar", true),
    (".zip", false),
];

/// What the planner needs to know about the revision besides its files.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    /// The project.
    pub project_key: &'a ProjectKey,
    /// The version.
    pub version_key: &'a VersionKey,
    /// The new revision.
    pub revision: RevisionNumber,
    /// The committee whose keys verify signatures.
    pub committee_key: &'a CommitteeKey,
    /// Whether the committee is a podling (naming and DISCLAIMER rules).
    pub is_podling: bool,
    /// Who made the revision.
    pub asf_uid: Option<&'a Uid>,
    /// The project's classification patterns.
    pub classification: &'a ClassificationPolicy,
    /// The project's missing-SBOM severity (release policy `missing_sbom_status`).
    pub missing_sbom: MissingSbom,
}

impl PlanContext<'_> {
    fn spec(&self, task_type: TaskType, path: Option<&RelPath>, args: serde_json::Value) -> TaskSpec {
        TaskSpec {
            task_type,
            task_args: args,
            asf_uid: self.asf_uid.cloned(),
            project_key: Some(self.project_key.clone()),
            version_key: Some(self.version_key.clone()),
            revision_number: Some(self.revision),
            primary_rel_path: path.cloned(),
        }
    }
}

fn archive_format(name: &str) -> Option<(&'static str, bool)> {
    ARCHIVES
        .iter()
        .copied()
        .filter(|(s, _)| name.len() > s.len() && name.ends_with(s))
        .max_by_key(|(s, _)| s.len())
}

/// The checkers an archive task runs, by archive format and class.
pub fn archive_checkers(is_tar: bool, class: ArtifactClass) -> Vec<CheckerId> {
    let (structure, integrity) = if is_tar {
        (CheckerId::TARGZ_STRUCTURE, CheckerId::TARGZ_INTEGRITY)
    } else {
        (CheckerId::ZIP_STRUCTURE, CheckerId::ZIP_INTEGRITY)
    };
    if class == ArtifactClass::Source {
        vec![structure, integrity, CheckerId::LICENSE_FILES, CheckerId::LICENSE_HEADERS, CheckerId::RAT]
    } else {
        vec![integrity, CheckerId::LICENSE_FILES]
    }
}

/// Plans the check tasks of a new revision holding `files`.
pub fn plan_checks<'f>(files: impl IntoIterator<Item = &'f RelPath>, ctx: &PlanContext<'_>) -> Vec<TaskSpec> {
    let files: BTreeSet<&RelPath> = files.into_iter().collect();
    let mut tasks = vec![ctx.spec(TaskType::PathsCheck, None, json!({ "is_podling": ctx.is_podling }))];
    // Source archives grouped by the name without the archive suffix, for the parity check.
    let mut trees: BTreeMap<String, Vec<&RelPath>> = BTreeMap::new();
    for &path in &files {
        let name = path.file_name();
        let c = classify(path, ctx.classification);
        match c.class {
            ArtifactClass::Signature if name.ends_with(".asc") => tasks.push(ctx.spec(
                TaskType::SignatureCheck,
                Some(path),
                json!({ "committee_key": ctx.committee_key }),
            )),
            ArtifactClass::Hash if is_checked_hash(name) => {
                tasks.push(ctx.spec(TaskType::HashingCheck, Some(path), json!({})))
            }
            ArtifactClass::Sbom if name.ends_with(".cdx.json") => tasks.push(ctx.spec(
                TaskType::SbomCheck,
                Some(path),
                json!({ "artifact": sbom_subject(path).map(|a| a.to_string()) }),
            )),
            ArtifactClass::Source | ArtifactClass::Binary => {
                let Some((suffix, is_tar)) = archive_format(name) else { continue };
                // A policy may call a `.jar` a source artifact; only real archives get archive checks.
                if artifact_suffix(name).is_some_and(|s| s.len() > suffix.len()) {
                    continue;
                }
                let checkers: Vec<&str> = archive_checkers(is_tar, c.class).iter().map(|c| c.name).collect();
                tasks.push(ctx.spec(
                    TaskType::ArchiveCheck,
                    Some(path),
                    json!({
                        "is_podling": ctx.is_podling,
                        "class": c.class.as_str(),
                        "format": suffix.trim_start_matches('.'),
                        "checkers": checkers,
                    }),
                ));
                if c.class == ArtifactClass::Source {
                    let stem = path.as_str()[..path.as_str().len() - suffix.len()].to_owned();
                    trees.entry(stem).or_default().push(path);
                    let sbom = sbom_of(path);
                    let present = sbom.as_ref().is_some_and(|s| files.contains(s));
                    tasks.push(ctx.spec(
                        TaskType::SbomCheck,
                        Some(path),
                        json!({
                            "presence": true,
                            "sbom": sbom.map(|s| s.to_string()),
                            "sbom_present": present,
                            "missing_status": ctx.missing_sbom.status(),
                        }),
                    ));
                }
            }
            _ => {}
        }
    }
    for (_, group) in trees.into_iter().filter(|(_, g)| g.len() >= 2) {
        let paths: Vec<&str> = group.iter().map(|p| p.as_str()).collect();
        tasks.push(ctx.spec(TaskType::ParityCheck, Some(group[0]), json!({ "archives": paths })));
    }
    tasks
}

/// The SBOM of an artifact: `<artifact>.cdx.json`.
pub fn sbom_of(artifact: &RelPath) -> Option<RelPath> {
    artifact.with_appended(".cdx.json").ok()
}

/// The artifact an SBOM describes, by name: `x.tar.gz.cdx.json` → `x.tar.gz`.
pub fn sbom_subject(sbom: &RelPath) -> Option<RelPath> {
    sbom.as_str().strip_suffix(".cdx.json").and_then(|s| RelPath::new(s).ok())
}

/// Whether the SBOM generator reads `artifact` (of class `class`): a source archive in a format
/// the archive checks open.
pub fn is_sbom_source(artifact: &RelPath, class: ArtifactClass) -> bool {
    let name = artifact.file_name();
    class == ArtifactClass::Source
        && archive_format(name)
            .is_some_and(|(suffix, _)| artifact_suffix(name).is_none_or(|s| s.len() <= suffix.len()))
}

/// Why an SBOM cannot be generated for a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbomRefusal {
    /// The file is not in the latest revision.
    #[error("There is no file `{0}` in the draft.")]
    NoSuchFile(RelPath),
    /// The file is not a source archive the SBOM generator reads.
    #[error(
        "`{0}` is not a source archive (.tar.gz, .tgz, .tar.bz2, .tar.xz, .tar or .zip); SBOMs are generated for source archives."
    )]
    NotSourceArchive(RelPath),
    /// The SBOM exists already.
    #[error("`{0}` exists already; delete it first to generate a new one.")]
    Exists(RelPath),
}

/// The task that generates the SBOM of `artifact` in the draft whose latest revision is
/// `ctx.revision` and holds `files`: refused unless `artifact` is a source archive of that
/// revision without an SBOM. The task makes a new revision with `<artifact>.cdx.json`.
pub fn sbom_generate_task(
    files: &BTreeSet<RelPath>,
    artifact: &RelPath,
    ctx: &PlanContext<'_>,
) -> Result<TaskSpec, SbomRefusal> {
    if !files.contains(artifact) {
        return Err(SbomRefusal::NoSuchFile(artifact.clone()));
    }
    if !is_sbom_source(artifact, classify(artifact, ctx.classification).class) {
        return Err(SbomRefusal::NotSourceArchive(artifact.clone()));
    }
    let sbom = sbom_of(artifact).ok_or_else(|| SbomRefusal::NotSourceArchive(artifact.clone()))?;
    if files.contains(&sbom) {
        return Err(SbomRefusal::Exists(sbom));
    }
    Ok(ctx.spec(
        TaskType::SbomGenerateCyclonedx,
        Some(artifact),
        json!({ "artifact": artifact.as_str(), "sbom": sbom.as_str(), "base_revision": ctx.revision, "is_podling": ctx.is_podling }),
    ))
}

fn is_checked_hash(name: &str) -> bool {
    [".sha256", ".sha512", ".SHA256", ".SHA512"].iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(files: &[&str], policy: &ClassificationPolicy) -> Vec<(String, String, serde_json::Value)> {
        plan_with(files, policy, MissingSbom::default())
    }

    fn plan_with(
        files: &[&str],
        policy: &ClassificationPolicy,
        missing_sbom: MissingSbom,
    ) -> Vec<(String, String, serde_json::Value)> {
        let (p, v, c) = (
            ProjectKey::new("foo").unwrap(),
            VersionKey::new("1.0").unwrap(),
            CommitteeKey::new("foo").unwrap(),
        );
        let ctx = PlanContext {
            project_key: &p,
            version_key: &v,
            revision: RevisionNumber::new(2).unwrap(),
            committee_key: &c,
            is_podling: false,
            asf_uid: None,
            classification: policy,
            missing_sbom,
        };
        let files: Vec<RelPath> = files.iter().map(|f| RelPath::new(*f).unwrap()).collect();
        plan_checks(&files, &ctx)
            .into_iter()
            .map(|t| {
                assert_eq!(t.revision_number.unwrap().to_string(), "00002");
                (
                    t.task_type.to_string(),
                    t.primary_rel_path.map(|p| p.to_string()).unwrap_or_default(),
                    t.task_args,
                )
            })
            .collect()
    }

    fn kinds(files: &[&str]) -> Vec<String> {
        plan(files, &ClassificationPolicy::default())
            .into_iter()
            .map(|(k, p, _)| format!("{k} {p}"))
            .collect()
    }

    #[test]
    fn empty_revision_gets_only_the_paths_check() {
        assert_eq!(kinds(&[]), ["paths_check "]);
    }

    #[test]
    fn a_typical_release() {
        assert_eq!(
            kinds(&[
                "apache-foo-1.0-src.tar.gz",
                "apache-foo-1.0-src.tar.gz.asc",
                "apache-foo-1.0-src.tar.gz.sha512",
                "apache-foo-1.0-src.zip",
                "apache-foo-1.0-src.zip.asc",
                "apache-foo-1.0-src.zip.sha256",
                "apache-foo-1.0-bin.tar.gz",
                "apache-foo-1.0.cdx.json",
                "apache-foo-1.0.jar",
                "apache-foo-1.0.jar.md5",
                "apache-foo-1.0.jar.sig",
                "README",
                "KEYS",
            ]),
            [
                "paths_check ",
                "archive_check apache-foo-1.0-bin.tar.gz",
                "archive_check apache-foo-1.0-src.tar.gz",
                "sbom_check apache-foo-1.0-src.tar.gz",
                "signature_check apache-foo-1.0-src.tar.gz.asc",
                "hashing_check apache-foo-1.0-src.tar.gz.sha512",
                "archive_check apache-foo-1.0-src.zip",
                "sbom_check apache-foo-1.0-src.zip",
                "signature_check apache-foo-1.0-src.zip.asc",
                "hashing_check apache-foo-1.0-src.zip.sha256",
                "sbom_check apache-foo-1.0.cdx.json",
                "parity_check apache-foo-1.0-src.tar.gz",
            ]
        );
    }

    #[test]
    fn archive_tasks_list_their_checkers_by_class() {
        let tasks = plan(&["a-1.0-src.tar.gz", "a-1.0-bin.zip"], &ClassificationPolicy::default());
        let src = &tasks.iter().find(|t| t.1 == "a-1.0-src.tar.gz").unwrap().2;
        assert_eq!(src["class"], "source");
        assert_eq!(src["format"], "tar.gz");
        assert_eq!(
            src["checkers"],
            json!([
                "atr.tasks.checks.targz.structure",
                "atr.tasks.checks.targz.integrity",
                "atr.tasks.checks.license.files",
                "atr.tasks.checks.license.headers",
                "atr.tasks.checks.rat.check"
            ])
        );
        let bin = &tasks.iter().find(|t| t.1 == "a-1.0-bin.zip").unwrap().2;
        assert_eq!(bin["class"], "binary");
        assert_eq!(
            bin["checkers"],
            json!(["atr.tasks.checks.zipformat.integrity", "atr.tasks.checks.license.files"])
        );
    }

    #[test]
    fn policy_patterns_decide_the_class() {
        let policy = ClassificationPolicy::new(&[], &["*.tar.gz"]).unwrap();
        let tasks = plan(&["a-1.0-src.tar.gz"], &policy);
        assert_eq!(tasks[1].2["class"], "binary");
        assert_eq!(tasks[0].2["is_podling"], false);
    }

    #[test]
    fn source_archives_get_an_sbom_presence_check_and_sboms_name_their_artifact() {
        let tasks = plan(
            &["a-1.0-src.tar.gz", "a-1.0-src.tar.gz.cdx.json", "b-1.0-src.zip", "a-1.0-bin.zip"],
            &ClassificationPolicy::default(),
        );
        let sbom_tasks: Vec<(&str, &serde_json::Value)> =
            tasks.iter().filter(|t| t.0 == "sbom_check").map(|t| (t.1.as_str(), &t.2)).collect();
        assert_eq!(
            sbom_tasks,
            [
                (
                    "a-1.0-src.tar.gz",
                    &json!({ "presence": true, "sbom": "a-1.0-src.tar.gz.cdx.json", "sbom_present": true, "missing_status": "suggestion" })
                ),
                ("a-1.0-src.tar.gz.cdx.json", &json!({ "artifact": "a-1.0-src.tar.gz" })),
                (
                    "b-1.0-src.zip",
                    &json!({ "presence": true, "sbom": "b-1.0-src.zip.cdx.json", "sbom_present": false, "missing_status": "suggestion" })
                ),
            ]
        );
    }

    #[test]
    fn the_policy_sets_the_status_of_a_missing_sbom() {
        for (setting, status) in [
            (MissingSbom::Suggestion, "suggestion"),
            (MissingSbom::Concern, "concern"),
            (MissingSbom::Blocker, "blocker"),
        ] {
            let tasks =
                plan_with(&["a-1.0-src.tar.gz", "a-1.0-bin.zip"], &ClassificationPolicy::default(), setting);
            let presence: Vec<&serde_json::Value> =
                tasks.iter().filter(|t| t.0 == "sbom_check").map(|t| &t.2).collect();
            assert_eq!(presence.len(), 1, "binary archives need no SBOM: {tasks:?}");
            assert_eq!(presence[0]["missing_status"], status, "{setting}");
        }
    }

    #[test]
    fn sbom_generation_only_for_source_archives_without_one() {
        let (p, v, c) = (
            ProjectKey::new("foo").unwrap(),
            VersionKey::new("1.0").unwrap(),
            CommitteeKey::new("foo").unwrap(),
        );
        let policy = ClassificationPolicy::default();
        let ctx = PlanContext {
            project_key: &p,
            version_key: &v,
            revision: RevisionNumber::new(3).unwrap(),
            committee_key: &c,
            is_podling: false,
            asf_uid: None,
            classification: &policy,
            missing_sbom: MissingSbom::default(),
        };
        let r = |s: &str| RelPath::new(s).unwrap();
        let files: BTreeSet<RelPath> = [
            "a-1.0-src.tar.gz",
            "a-1.0-src.tar.gz.asc",
            "b-1.0-src.zip",
            "b-1.0-src.zip.cdx.json",
            "a-1.0-bin.tar.gz",
        ]
        .map(r)
        .into();
        let t = sbom_generate_task(&files, &r("a-1.0-src.tar.gz"), &ctx).unwrap();
        assert_eq!(t.task_type, TaskType::SbomGenerateCyclonedx);
        assert_eq!(t.task_args["sbom"], "a-1.0-src.tar.gz.cdx.json");
        assert_eq!(t.task_args["base_revision"], "00003");
        assert_eq!(
            sbom_generate_task(&files, &r("b-1.0-src.zip"), &ctx),
            Err(SbomRefusal::Exists(r("b-1.0-src.zip.cdx.json")))
        );
        assert_eq!(
            sbom_generate_task(&files, &r("x.tar.gz"), &ctx),
            Err(SbomRefusal::NoSuchFile(r("x.tar.gz")))
        );
        assert!(matches!(
            sbom_generate_task(&files, &r("a-1.0-src.tar.gz.asc"), &ctx),
            Err(SbomRefusal::NotSourceArchive(_))
        ));
        assert!(matches!(
            sbom_generate_task(&files, &r("a-1.0-bin.tar.gz"), &ctx),
            Err(SbomRefusal::NotSourceArchive(_))
        ));
        assert_eq!(sbom_subject(&r("d/x.zip.cdx.json")), Some(r("d/x.zip")));
    }

    #[test]
    fn every_asc_gets_one_signature_check() {
        let files: Vec<String> = (0..20).map(|i| format!("d/f{i}.tar.gz.asc")).collect();
        let refs: Vec<&str> = files.iter().map(String::as_str).collect();
        let k = kinds(&refs);
        assert_eq!(k.iter().filter(|s| s.starts_with("signature_check")).count(), 20);
        assert_eq!(k.iter().filter(|s| s.starts_with("paths_check")).count(), 1);
    }
}
