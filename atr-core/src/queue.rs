//! Queue rules: which inputs identify a check task (for result caching), which checkers a task
//! runs, and which checker speaks for a task that could not finish.
//!
//! Pure: file contents enter only as hashes computed by the caller, and the cache key is the
//! canonical text of the inputs ([`CacheInputs::material`]); storage hashes that text.
//!
//! Two check tasks with the same material produce the same results, so a result recorded for one
//! may be copied to the other instead of recomputed. The material therefore names everything a
//! checker reads: the checker ids and versions, the release names (they appear in messages and
//! naming rules), the primary path, the hash of every file the checker opens, the arguments and
//! the policy fields the checker consults.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::CheckerId;
use crate::ids::{ProjectKey, VersionKey};
use crate::model::task::{TaskSpec, TaskType};
use crate::path::RelPath;

/// The revision-level inputs of every check task besides the files themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CachePolicy {
    /// Release policy patterns that make a file a source artifact.
    pub source_artifact_paths: Vec<String>,
    /// Release policy patterns that make a file a binary artifact.
    pub binary_artifact_paths: Vec<String>,
    /// Digest of the committee's signing keys (fingerprints and armored blocks), so adding,
    /// revoking or updating a key re-runs signature checks.
    pub committee_keys_digest: String,
}

/// The inputs that identify one check task. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheInputs {
    /// The task kind.
    pub task_type: TaskType,
    /// The checkers it runs, with their versions (`name@version`).
    pub checkers: Vec<String>,
    /// The project.
    pub project: Option<ProjectKey>,
    /// The version.
    pub version: Option<VersionKey>,
    /// The file the task is about.
    pub primary: Option<RelPath>,
    /// Content hash of every file the checker reads, by path (`absent` when missing).
    pub files: BTreeMap<String, String>,
    /// Every path of the revision, for revision-wide checks (paths policy); empty otherwise.
    pub listing: Vec<String>,
    /// The task arguments.
    pub args: serde_json::Value,
    /// Policy fields the checker consults (empty object when none).
    pub policy: serde_json::Value,
}

impl CacheInputs {
    /// The canonical text of the inputs: equal inputs give equal text, any difference gives a
    /// different text. Hash it to get the task's dedup key.
    pub fn material(&self) -> String {
        // serde_json's map is ordered (no `preserve_order`), and every map here is a BTreeMap or
        // a JSON object, so the text is canonical.
        serde_json::to_string(self).expect("cache inputs serialise")
    }
}

/// The checkers a task runs (empty for tasks that are not checks).
pub fn task_checkers(task_type: TaskType, args: &serde_json::Value) -> Vec<CheckerId> {
    match task_type {
        TaskType::SignatureCheck => vec![CheckerId::SIGNATURE],
        TaskType::HashingCheck => vec![CheckerId::HASHING],
        TaskType::PathsCheck => vec![CheckerId::PATHS],
        TaskType::ParityCheck => vec![CheckerId::PARITY],
        TaskType::SbomCheck => vec![CheckerId::SBOM],
        TaskType::ArchiveCheck => args
            .get("checkers")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|c| c.as_str().and_then(CheckerId::from_name)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The checker under which a task that could not finish (crash, panic, time limit) is reported
/// as an `exception` result; `None` for tasks that are not checks.
pub fn failure_checker(task_type: TaskType, args: &serde_json::Value) -> Option<CheckerId> {
    let checkers = task_checkers(task_type, args);
    if task_type == TaskType::ArchiveCheck {
        let integrity = checkers
            .iter()
            .copied()
            .find(|c| *c == CheckerId::TARGZ_INTEGRITY || *c == CheckerId::ZIP_INTEGRITY);
        return integrity.or_else(|| checkers.first().copied()).or(Some(CheckerId::TARGZ_INTEGRITY));
    }
    checkers.first().copied()
}

/// The artifact a signature or checksum file is about (`x.tar.gz.asc` → `x.tar.gz`).
pub fn subject_of(path: &RelPath) -> Option<RelPath> {
    let s = path.as_str();
    [".asc", ".sig", ".sha256", ".sha512", ".SHA256", ".SHA512"]
        .iter()
        .find_map(|suffix| s.strip_suffix(suffix))
        .and_then(|stem| RelPath::new(stem).ok())
}

/// The revision file that changes how archive headers are checked.
pub const HEADER_IGNORE_FILE: &str = ".atr/license-headers-ignore";

/// The files (besides the listing) a check task reads, so their hashes go into its cache key.
pub fn input_files(spec: &TaskSpec) -> Vec<RelPath> {
    let mut out = Vec::new();
    let primary = spec.primary_rel_path.as_ref();
    match spec.task_type {
        TaskType::SignatureCheck | TaskType::HashingCheck => {
            if let Some(p) = primary {
                out.push(p.clone());
                out.extend(subject_of(p));
            }
        }
        TaskType::ArchiveCheck => {
            out.extend(primary.cloned());
            out.extend(RelPath::new(HEADER_IGNORE_FILE).ok());
        }
        TaskType::SbomCheck => {
            out.extend(primary.cloned());
            // An SBOM is checked against the artifact it describes.
            let artifact = spec.task_args.get("artifact").and_then(|a| a.as_str());
            out.extend(artifact.and_then(|a| RelPath::new(a).ok()));
        }
        TaskType::ParityCheck => {
            let archives = spec.task_args.get("archives").and_then(|a| a.as_array());
            for a in archives.into_iter().flatten() {
                out.extend(a.as_str().and_then(|s| RelPath::new(s).ok()));
            }
            out.extend(RelPath::new(HEADER_IGNORE_FILE).ok());
        }
        _ => {}
    }
    out
}

/// The cache inputs of a check task; `None` for tasks that are not checks (they are never cached).
///
/// `hash_of` returns the content hash of a revision file, or `None` when it does not exist;
/// `listing` is every file of the revision.
pub fn cache_inputs(
    spec: &TaskSpec,
    listing: &[RelPath],
    policy: &CachePolicy,
    hash_of: impl Fn(&RelPath) -> Option<String>,
) -> Option<CacheInputs> {
    if !spec.task_type.is_check() {
        return None;
    }
    let checkers = task_checkers(spec.task_type, &spec.task_args);
    let files = input_files(spec)
        .into_iter()
        .map(|p| {
            let h = hash_of(&p).unwrap_or_else(|| "absent".to_owned());
            (p.as_str().to_owned(), h)
        })
        .collect();
    let patterns = || {
        serde_json::json!({
            "source_artifact_paths": policy.source_artifact_paths,
            "binary_artifact_paths": policy.binary_artifact_paths,
        })
    };
    let (listing, policy_fields) = match spec.task_type {
        TaskType::PathsCheck => (listing.iter().map(|p| p.as_str().to_owned()).collect(), patterns()),
        TaskType::ArchiveCheck | TaskType::ParityCheck => (Vec::new(), patterns()),
        TaskType::SignatureCheck => {
            (Vec::new(), serde_json::json!({ "committee_keys": policy.committee_keys_digest }))
        }
        _ => (Vec::new(), serde_json::json!({})),
    };
    Some(CacheInputs {
        task_type: spec.task_type,
        checkers: checkers.iter().map(|c| format!("{}@{}", c.name, c.version)).collect(),
        project: spec.project_key.clone(),
        version: spec.version_key.clone(),
        primary: spec.primary_rel_path.clone(),
        files,
        listing,
        args: spec.task_args.clone(),
        policy: policy_fields,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(t: TaskType, path: Option<&str>, args: serde_json::Value) -> TaskSpec {
        TaskSpec {
            task_type: t,
            task_args: args,
            asf_uid: None,
            project_key: Some(ProjectKey::new("foo").unwrap()),
            version_key: Some(VersionKey::new("1.0").unwrap()),
            revision_number: None,
            primary_rel_path: path.map(|p| RelPath::new(p).unwrap()),
        }
    }

    fn policy() -> CachePolicy {
        CachePolicy {
            source_artifact_paths: vec![],
            binary_artifact_paths: vec![],
            committee_keys_digest: "k1".into(),
        }
    }

    #[test]
    fn signature_key_covers_signature_artifact_and_keys() {
        let s = spec(TaskType::SignatureCheck, Some("a.tar.gz.asc"), json!({"committee_key": "c"}));
        let listing = [RelPath::new("a.tar.gz").unwrap(), RelPath::new("a.tar.gz.asc").unwrap()];
        let base = |h_art: &str, keys: &str| {
            let mut p = policy();
            p.committee_keys_digest = keys.into();
            let h_art = h_art.to_owned();
            cache_inputs(&s, &listing, &p, move |f| {
                Some(if f.as_str() == "a.tar.gz" { h_art.clone() } else { "sig".into() })
            })
            .unwrap()
            .material()
        };
        assert_eq!(base("x", "k1"), base("x", "k1"));
        assert_ne!(base("x", "k1"), base("y", "k1"), "artifact content is an input");
        assert_ne!(base("x", "k1"), base("x", "k2"), "committee keys are an input");
        // The listing does not matter for a signature check: other uploads keep the cache.
        let other = cache_inputs(&s, &listing[..1], &policy(), |f| {
            Some(if f.as_str() == "a.tar.gz" { "x".into() } else { "sig".into() })
        })
        .unwrap();
        assert_eq!(other.material(), base("x", "k1"));
    }

    #[test]
    fn paths_key_covers_the_listing_and_archive_key_covers_ignore_file() {
        let p = spec(TaskType::PathsCheck, None, json!({"is_podling": false}));
        let l1 = [RelPath::new("a").unwrap()];
        let l2 = [RelPath::new("a").unwrap(), RelPath::new("b").unwrap()];
        let m = |l: &[RelPath]| cache_inputs(&p, l, &policy(), |_| None).unwrap().material();
        assert_ne!(m(&l1), m(&l2));

        let a = spec(
            TaskType::ArchiveCheck,
            Some("a.tar.gz"),
            json!({"checkers": ["atr.tasks.checks.targz.integrity"]}),
        );
        let with = cache_inputs(&a, &l1, &policy(), |f| Some(f.as_str().into())).unwrap();
        let without = cache_inputs(&a, &l1, &policy(), |f| {
            (f.as_str() != HEADER_IGNORE_FILE).then(|| f.as_str().into())
        })
        .unwrap();
        assert_ne!(with.material(), without.material());
        assert_eq!(with.files.len(), 2);
    }

    #[test]
    fn non_checks_have_no_key_and_failures_name_a_checker() {
        let v = spec(TaskType::VoteInitiate, None, json!({}));
        assert!(cache_inputs(&v, &[], &policy(), |_| None).is_none());
        assert_eq!(failure_checker(TaskType::VoteInitiate, &json!({})), None);
        let args = json!({"checkers": ["atr.tasks.checks.zipformat.structure", "atr.tasks.checks.zipformat.integrity"]});
        assert_eq!(failure_checker(TaskType::ArchiveCheck, &args), Some(CheckerId::ZIP_INTEGRITY));
        assert_eq!(failure_checker(TaskType::HashingCheck, &json!({})), Some(CheckerId::HASHING));
        assert_eq!(task_checkers(TaskType::ArchiveCheck, &args).len(), 2);
    }

    #[test]
    fn subject_strips_one_suffix() {
        let s = |p: &str| subject_of(&RelPath::new(p).unwrap()).map(|r| r.as_str().to_owned());
        assert_eq!(s("a.tar.gz.asc").as_deref(), Some("a.tar.gz"));
        assert_eq!(s("d/a.zip.sha512").as_deref(), Some("d/a.zip"));
        assert_eq!(s("a.tar.gz"), None);
    }
}
