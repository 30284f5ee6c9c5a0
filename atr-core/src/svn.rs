//! Import from Subversion: which URLs may be imported, what an import request is, who may ask
//! for one, and which exported files join the draft.
//!
//! Most ASF projects stage their candidates in `https://dist.apache.org/repos/dist/dev/`; an
//! import copies such a tree into a new draft revision. The rules here are pure: the worker runs
//! `svn export` and hands the exported listing to [`plan_placement`]; the web asks
//! [`check_url`] and [`authorise_import`] before anything is queued.
//!
//! URL rules ([`check_url`]): the URL must start with one of the configured prefixes (at a `/`
//! boundary), must not hold `.`/`..` segments (also percent-encoded), control characters, spaces,
//! backslashes, a query or a fragment, and `file://` URLs are accepted only in test mode.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, RefusalKind};
use crate::ids::{ProjectKey, Uid, VersionKey};
use crate::lifecycle::{Command, ReleaseState, apply};
use crate::model::task::{TaskSpec, TaskType};
use crate::path::RelPath;
use crate::permissions::Actor;
use crate::time::Timestamp;

/// The URL prefixes allowed when the configuration names none: the ASF dist areas.
pub const DEFAULT_ALLOWED_PREFIXES: [&str; 2] =
    ["https://dist.apache.org/repos/dist/dev/", "https://dist.apache.org/repos/dist/release/"];

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Where imports may come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvnPolicy {
    /// Accepted URL prefixes (`https://`, `http://` or `svn://`).
    pub allowed_prefixes: Vec<String>,
    /// Whether `file://` URLs are accepted (test mode only).
    pub allow_file_urls: bool,
}

impl Default for SvnPolicy {
    fn default() -> Self {
        SvnPolicy {
            allowed_prefixes: DEFAULT_ALLOWED_PREFIXES.iter().map(|s| (*s).to_owned()).collect(),
            allow_file_urls: false,
        }
    }
}

impl SvnPolicy {
    /// Validates configured prefixes: each must be an `https://`, `http://` or `svn://` URL
    /// naming a host, and pass the same character rules as an imported URL.
    pub fn new(prefixes: Vec<String>, allow_file_urls: bool) -> Result<SvnPolicy, String> {
        for p in &prefixes {
            let Some((scheme, rest)) = p.split_once("://") else {
                return Err(format!(
                    "the SVN prefix `{p}` is not a URL such as https://dist.apache.org/repos/dist/dev/"
                ));
            };
            if !matches!(scheme, "https" | "http" | "svn") {
                return Err(format!(
                    "the SVN prefix `{p}` uses `{scheme}://`; only https://, http:// and svn:// prefixes can be configured"
                ));
            }
            let host = rest.split('/').next().unwrap_or("");
            if host.is_empty() || host.contains('@') {
                return Err(format!("the SVN prefix `{p}` names no host (or carries credentials)"));
            }
            shape_problem(p).map_or(Ok(()), |why| Err(format!("the SVN prefix `{p}` {why}")))?;
        }
        Ok(SvnPolicy { allowed_prefixes: prefixes, allow_file_urls })
    }
}

/// Why a URL's characters or segments are not acceptable, if they are not.
fn shape_problem(url: &str) -> Option<&'static str> {
    if url.len() > MAX_URL_LEN {
        return Some("is too long");
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Some("contains a space or a control character");
    }
    if url.contains('\\') {
        return Some("contains a backslash");
    }
    if url.contains('?') || url.contains('#') {
        return Some("contains a query (`?`) or a fragment (`#`)");
    }
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    for segment in path.split('/').skip(1) {
        let Some(decoded) = percent_decode(segment) else {
            return Some("contains a malformed `%` escape");
        };
        if decoded == "." || decoded == ".." {
            return Some("contains a `.` or `..` segment");
        }
        if decoded.contains('/') || decoded.contains('\\') || decoded.chars().any(char::is_control) {
            return Some("contains an encoded `/`, `\\` or control character");
        }
    }
    None
}

/// Decodes `%XX` escapes; `None` (refused as a bad escape) when one is malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn invalid_url(url: &str, reason: impl Into<String>, fix: impl Into<String>) -> Refusal {
    let shown: String = url.chars().take(200).flat_map(char::escape_debug).collect();
    Refusal::new(RefusalKind::Invalid, format!("import `{shown}` from SVN"), reason, fix)
}

/// Checks `url` against `policy`; returns it trimmed.
pub fn check_url(url: &str, policy: &SvnPolicy) -> Result<String, Refusal> {
    let url = url.trim();
    if url.is_empty() {
        return Err(invalid_url(
            url,
            "no URL was given",
            "Give the URL of a directory such as https://dist.apache.org/repos/dist/dev/<project>/<version>/.",
        ));
    }
    if let Some(why) = shape_problem(url) {
        return Err(invalid_url(
            url,
            format!("the URL {why}"),
            "Give the plain URL of the directory to import.",
        ));
    }
    if url.starts_with("file://") {
        if policy.allow_file_urls {
            return Ok(url.to_owned());
        }
        return Err(invalid_url(
            url,
            "file:// URLs are accepted only in test mode",
            "Import from one of the allowed SVN locations instead.",
        ));
    }
    let allowed = policy.allowed_prefixes.iter().any(|p| {
        url.strip_prefix(p.as_str())
            .is_some_and(|rest| p.ends_with('/') || rest.is_empty() || rest.starts_with('/'))
    });
    if !allowed {
        let list = policy.allowed_prefixes.join(", ");
        return Err(invalid_url(
            url,
            format!("the URL is not under an allowed SVN location ({list})"),
            "Copy the files to the dist dev area first, or ask an administrator to allow the location.",
        ));
    }
    Ok(url.to_owned())
}

/// The revision to import: the latest (`HEAD`) or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum SvnRevision {
    /// The latest revision at the time of the export.
    Head,
    /// A fixed revision number.
    Number(u64),
}

impl fmt::Display for SvnRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SvnRevision::Head => f.write_str("HEAD"),
            SvnRevision::Number(n) => write!(f, "{n}"),
        }
    }
}

impl FromStr for SvnRevision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("head") {
            return Ok(SvnRevision::Head);
        }
        let digits = t.strip_prefix('r').unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
            return Err(format!(
                "`{}` is not an SVN revision; give HEAD or a revision number such as 12345",
                t.escape_debug()
            ));
        }
        digits.parse().map(SvnRevision::Number).map_err(|e| e.to_string())
    }
}

impl From<SvnRevision> for String {
    fn from(r: SvnRevision) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for SvnRevision {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Limits of one import, set by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvnLimits {
    /// The most bytes an export may hold.
    pub max_bytes: u64,
    /// The most files an export may hold.
    pub max_files: u64,
    /// The longest an export may take, in seconds.
    pub time_limit_secs: u64,
}

impl Default for SvnLimits {
    /// 2 GiB, 10,000 files, 240 s (below the worker manager's 300 s task limit).
    fn default() -> Self {
        SvnLimits { max_bytes: 2 << 30, max_files: 10_000, time_limit_secs: 240 }
    }
}

/// The arguments of an `svn_import_files` task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SvnImportArgs {
    /// The checked URL.
    pub url: String,
    /// The revision to export.
    pub revision: SvnRevision,
    /// The directory of the draft to place the files in (`None`: the root).
    pub target: Option<RelPath>,
    /// Whether files that exist in the draft are replaced (otherwise they are skipped).
    pub overwrite: bool,
    /// The limits.
    pub limits: SvnLimits,
}

/// A request to import, as a form or an API call gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvnImportRequest {
    /// The URL as given.
    pub url: String,
    /// The revision as given (empty: HEAD).
    pub revision: String,
    /// The target directory as given (empty: the root).
    pub target: String,
    /// Replace existing files.
    pub overwrite: bool,
}

/// What an accepted request becomes: the task to queue and whether it was authorised through
/// admin rights (for the audit record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedImport {
    /// The `svn_import_files` task.
    pub task: TaskSpec,
    /// The validated arguments (also in the task).
    pub args: SvnImportArgs,
    /// Whether the actor acted as an administrator.
    pub as_admin: bool,
}

/// Decides on an import request: the actor must be allowed to add a revision to this release (a
/// draft), and the URL, revision and target must be acceptable. Nothing is queued on refusal.
pub fn authorise_import(
    state: &ReleaseState,
    actor: &Actor,
    request: &SvnImportRequest,
    policy: &SvnPolicy,
    limits: SvnLimits,
    now: Timestamp,
) -> Result<AcceptedImport, Refusal> {
    // The same guards as any change of the draft's files (permission, phase, release exists).
    let probe = Command::AddRevision {
        files: state.files.clone(),
        description: "Import from SVN".to_owned(),
        expected_latest: state.latest_revision,
    };
    let transition = apply(state, probe, actor, now)?;
    let url = check_url(&request.url, policy)?;
    let revision: SvnRevision = request.revision.parse().map_err(|e: String| {
        invalid_url(&url, e, "Leave the revision empty (or HEAD) for the latest, or give a number.")
    })?;
    let target = match request.target.trim().trim_matches('/') {
        "" => None,
        t => Some(RelPath::new(t).map_err(|e| {
            invalid_url(
                &url,
                format!("the target directory is not valid: {e}"),
                "Give a relative directory such as `binaries`, or leave it empty.",
            )
        })?),
    };
    let release = state.release.as_ref().expect("apply accepted a change of an existing release");
    let args = SvnImportArgs { url, revision, target, overwrite: request.overwrite, limits };
    let task = import_task(&release.project_key, &release.version_key, actor.uid.clone(), &args);
    Ok(AcceptedImport { task, args, as_admin: transition.audit.as_admin })
}

/// The task that runs an import.
pub fn import_task(
    project: &ProjectKey,
    version: &VersionKey,
    requested_by: Option<Uid>,
    args: &SvnImportArgs,
) -> TaskSpec {
    TaskSpec {
        task_type: TaskType::SvnImportFiles,
        task_args: serde_json::to_value(args).expect("import arguments serialise"),
        asf_uid: requested_by,
        project_key: Some(project.clone()),
        version_key: Some(version.clone()),
        revision_number: None,
        primary_rel_path: None,
    }
}

/// What an exported entry is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportedKind {
    /// A regular file.
    File,
    /// A symbolic link (`svn:special`): never followed, never imported.
    Symlink,
    /// Anything else (device, socket, …): never imported.
    Other,
}

/// A file the import did not place, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The path in the export (or in the draft, for existing files).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Which exported files go where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// Export path → draft path, for every file to write (new or replacing).
    pub add: BTreeMap<String, RelPath>,
    /// Draft paths among `add` that replace an existing file.
    pub replaced: BTreeSet<RelPath>,
    /// What was left out.
    pub skipped: Vec<Skipped>,
}

/// Decides where each exported entry goes: under `target`, by the [`RelPath`] rules, skipping
/// links and special files, and skipping files the draft has already unless `overwrite`.
/// `exported` holds `/`-separated paths relative to the export root.
pub fn plan_placement(
    exported: &[(String, ExportedKind)],
    target: Option<&RelPath>,
    existing: &BTreeSet<RelPath>,
    overwrite: bool,
) -> Placement {
    let mut out = Placement::default();
    for (path, kind) in exported {
        let skip = |reason: String| Skipped { path: path.clone(), reason };
        match kind {
            ExportedKind::File => {}
            ExportedKind::Symlink => {
                out.skipped.push(skip("a symbolic link (svn:special); links are never imported".to_owned()));
                continue;
            }
            ExportedKind::Other => {
                out.skipped.push(skip("not a regular file".to_owned()));
                continue;
            }
        }
        let rel = match RelPath::new(path.as_str()) {
            Ok(r) => target.map_or_else(|| r.clone(), |t| t.join(&r)),
            Err(e) => {
                out.skipped.push(skip(format!("not a valid release path: {e}")));
                continue;
            }
        };
        if existing.contains(&rel) {
            if !overwrite {
                out.skipped.push(skip(format!(
                    "`{rel}` exists in the draft already (choose \"overwrite existing files\" to replace it)"
                )));
                continue;
            }
            out.replaced.insert(rel.clone());
        }
        // A file of the draft where the import needs a directory (or the reverse) would fail the
        // whole revision; leave such files out with a reason instead.
        let blocks_dir = rel.parent().is_some_and(|mut dir| {
            loop {
                if existing.contains(&dir) {
                    break true;
                }
                match dir.parent() {
                    Some(p) => dir = p,
                    None => break false,
                }
            }
        });
        let prefix = format!("{}/", rel.as_str());
        let is_dir_in_draft = existing
            .range(rel.clone()..)
            .take_while(|e| e.as_str().starts_with(rel.as_str()))
            .any(|e| e.as_str().starts_with(&prefix));
        if blocks_dir || is_dir_in_draft {
            out.replaced.remove(&rel);
            out.skipped.push(skip(format!("`{rel}` clashes with a file or directory of the draft")));
            continue;
        }
        out.add.insert(path.clone(), rel);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SvnPolicy {
        SvnPolicy::default()
    }

    #[test]
    fn urls_under_the_prefixes_pass_and_others_are_refused() {
        let ok = "https://dist.apache.org/repos/dist/dev/test/0.2/";
        assert_eq!(check_url(&format!("  {ok} "), &policy()).unwrap(), ok);
        assert!(check_url("https://dist.apache.org/repos/dist/release/foo", &policy()).is_ok());
        for bad in [
            "",
            "https://dist.apache.org/repos/dist/private/x",
            "https://dist.apache.org.evil.example/repos/dist/dev/x",
            "https://evil.example/https://dist.apache.org/repos/dist/dev/",
            "https://dist.apache.org/repos/dist/dev/../private/x",
            "https://dist.apache.org/repos/dist/dev/%2e%2E/private",
            "https://dist.apache.org/repos/dist/dev/a%2fb",
            "https://dist.apache.org/repos/dist/dev/a%zz",
            "https://dist.apache.org/repos/dist/dev/a b",
            "https://dist.apache.org/repos/dist/dev/a\nb",
            "https://dist.apache.org/repos/dist/dev/a?x=1",
            "https://dist.apache.org/repos/dist/dev/a\\..\\b",
            "http://dist.apache.org/repos/dist/dev/x",
            "svn+ssh://dist.apache.org/repos/dist/dev/x",
            "-r1 https://dist.apache.org/repos/dist/dev/x",
            "file:///tmp/repo/dev",
        ] {
            let e = check_url(bad, &policy()).expect_err(bad);
            assert_eq!(e.kind, RefusalKind::Invalid, "{bad}");
            assert!(e.to_string().starts_with("Cannot import"), "{e}");
        }
        let e = check_url("https://example.org/svn/x", &policy()).unwrap_err();
        assert!(e.to_string().contains("https://dist.apache.org/repos/dist/dev/"), "{e}");
    }

    #[test]
    fn file_urls_only_in_test_mode_and_prefixes_at_a_boundary() {
        let test = SvnPolicy::new(vec!["svn://127.0.0.1:3690/repo".into()], true).unwrap();
        assert!(check_url("file:///tmp/repo/dev", &test).is_ok());
        assert!(check_url("file:///tmp/repo/../etc", &test).is_err());
        assert!(check_url("svn://127.0.0.1:3690/repo/dev", &test).is_ok());
        assert!(check_url("svn://127.0.0.1:3690/repo", &test).is_ok());
        assert!(check_url("svn://127.0.0.1:3690/repository", &test).is_err(), "not at a / boundary");
        assert!(check_url("file:///tmp/repo", &policy()).unwrap_err().to_string().contains("test mode"));
        for bad in ["file:///tmp/", "ftp://x/", "https://", "https://u@host/x", "notaurl", "https://h/a b"] {
            assert!(SvnPolicy::new(vec![bad.into()], false).is_err(), "{bad}");
        }
    }

    #[test]
    fn revisions_parse() {
        assert_eq!("".parse::<SvnRevision>(), Ok(SvnRevision::Head));
        assert_eq!(" head ".parse::<SvnRevision>(), Ok(SvnRevision::Head));
        assert_eq!("r123".parse::<SvnRevision>(), Ok(SvnRevision::Number(123)));
        assert_eq!("42".parse::<SvnRevision>(), Ok(SvnRevision::Number(42)));
        for bad in ["-1", "1.5", "PREV", "{2020-01-01}", "1234567890123", "r"] {
            assert!(bad.parse::<SvnRevision>().is_err(), "{bad}");
        }
        let json = serde_json::to_value(SvnRevision::Number(7)).unwrap();
        assert_eq!(json, "7");
        assert_eq!(serde_json::from_value::<SvnRevision>(json).unwrap(), SvnRevision::Number(7));
    }

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn placement_skips_existing_links_and_bad_names() {
        let exported = vec![
            ("a.tar.gz".to_owned(), ExportedKind::File),
            ("a.tar.gz.asc".to_owned(), ExportedKind::File),
            ("link".to_owned(), ExportedKind::Symlink),
            (".htaccess".to_owned(), ExportedKind::File),
            ("sub/b.zip".to_owned(), ExportedKind::File),
            ("x".to_owned(), ExportedKind::File),
        ];
        let existing: BTreeSet<_> = [rel("a.tar.gz"), rel("x/y")].into();
        let p = plan_placement(&exported, None, &existing, false);
        assert_eq!(p.add.keys().map(String::as_str).collect::<Vec<_>>(), ["a.tar.gz.asc", "sub/b.zip"]);
        let skipped: Vec<_> = p.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(skipped, ["a.tar.gz", "link", ".htaccess", "x"]);
        assert!(p.skipped[0].reason.contains("exists"), "{:?}", p.skipped[0]);
        assert!(p.replaced.is_empty());

        let p = plan_placement(&exported, None, &existing, true);
        assert!(p.add.contains_key("a.tar.gz"));
        assert_eq!(p.replaced, [rel("a.tar.gz")].into());

        let p = plan_placement(&exported, Some(&rel("dist")), &existing, false);
        assert_eq!(p.add["a.tar.gz"], rel("dist/a.tar.gz"));
        assert_eq!(p.add["sub/b.zip"], rel("dist/sub/b.zip"));

        // A draft file where the import needs a directory.
        let p = plan_placement(&exported, None, &[rel("sub")].into(), false);
        assert!(!p.add.contains_key("sub/b.zip"));
    }

    fn state(actor_is_member: bool) -> (ReleaseState, Actor) {
        use crate::lifecycle::ProjectContext;
        use crate::model::{ProjectStatus, Release, ReleasePolicy};
        let project = ProjectContext {
            project_key: ProjectKey::new("foo").unwrap(),
            project_name: "Apache Foo".into(),
            committee_key: crate::ids::CommitteeKey::new("foo").unwrap(),
            is_podling: false,
            status: ProjectStatus::Active,
            policy: ReleasePolicy::default(),
        };
        let mut s = ReleaseState::unstarted(project);
        s.release = Some(Release::new_draft(
            ProjectKey::new("foo").unwrap(),
            VersionKey::new("1.0").unwrap(),
            Timestamp::EPOCH,
        ));
        s.latest_revision = Some(crate::ids::RevisionNumber::FIRST);
        let actor = Actor::user(Uid::new("alice").unwrap());
        let actor = if actor_is_member {
            actor.participant_of(crate::ids::CommitteeKey::new("foo").unwrap())
        } else {
            actor
        };
        (s, actor)
    }

    #[test]
    fn authorisation_uses_the_draft_rules_and_builds_the_task() {
        let req = SvnImportRequest {
            url: "https://dist.apache.org/repos/dist/dev/foo/1.0".into(),
            revision: "".into(),
            target: "/src/".into(),
            overwrite: false,
        };
        let (s, actor) = state(true);
        let a =
            authorise_import(&s, &actor, &req, &policy(), SvnLimits::default(), Timestamp::EPOCH).unwrap();
        assert_eq!(a.task.task_type, TaskType::SvnImportFiles);
        assert_eq!(a.args.target, Some(rel("src")));
        assert_eq!(a.task.task_args["revision"], "HEAD");
        let back: SvnImportArgs = serde_json::from_value(a.task.task_args.clone()).unwrap();
        assert_eq!(back, a.args);

        let (s, stranger) = state(false);
        let e = authorise_import(&s, &stranger, &req, &policy(), SvnLimits::default(), Timestamp::EPOCH)
            .unwrap_err();
        assert_eq!(e.kind, RefusalKind::Forbidden);

        let (mut s, actor) = state(true);
        s.release.as_mut().unwrap().phase = crate::model::ReleasePhase::Candidate;
        let e = authorise_import(&s, &actor, &req, &policy(), SvnLimits::default(), Timestamp::EPOCH)
            .unwrap_err();
        assert_eq!(e.kind, RefusalKind::Conflict);

        let (s, actor) = state(true);
        let bad = SvnImportRequest { target: "../x".into(), ..req.clone() };
        assert!(
            authorise_import(&s, &actor, &bad, &policy(), SvnLimits::default(), Timestamp::EPOCH).is_err()
        );
        let bad = SvnImportRequest { revision: "PREV".into(), ..req };
        assert!(
            authorise_import(&s, &actor, &bad, &policy(), SvnLimits::default(), Timestamp::EPOCH).is_err()
        );
    }
}
