//! Read-side queries: plain data assembled from storage (and the core's classification and ignore
//! rules) for the pages to render. Nothing here writes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::PathBuf;

use atr_core::check::{CheckResult, CheckStatus};
use atr_core::classify::{ArtifactClass, classify};
use atr_core::ids::{CommitteeKey, ProjectKey, ReleaseKey, RevisionNumber, VersionKey};
use atr_core::model::{
    CheckResultIgnore, Committee, Project, PublicSigningKey, Release, ReleasePhase, Revision, Task,
};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_core::time::Timestamp;
use atr_storage::Storage;

use crate::error::WebError;

/// A project and its releases, grouped by phase.
#[derive(Debug)]
pub(crate) struct ProjectReleases {
    pub(crate) project: Project,
    pub(crate) releases: Vec<Release>,
}

/// The projects of the committees `actor` belongs to (every project for admins).
pub(crate) fn dashboard(s: &Storage, actor: &Actor) -> Result<Vec<ProjectReleases>, WebError> {
    if actor.uid.is_none() {
        return Ok(Vec::new());
    }
    Ok(s.read(|tx| {
        let mut out = Vec::new();
        for project in tx.projects()? {
            if actor.admin || actor.participant_of.contains(&project.committee_key) {
                let releases = tx.releases_of_project(&project.key)?;
                out.push(ProjectReleases { project, releases });
            }
        }
        Ok::<_, atr_storage::StorageError>(out)
    })?)
}

/// Every committee.
pub(crate) fn committees(s: &Storage) -> Result<Vec<Committee>, WebError> {
    Ok(s.read(|tx| {
        let mut out = Vec::new();
        for key in tx.all_committee_keys()? {
            out.extend(tx.committee(&key)?);
        }
        Ok::<_, atr_storage::StorageError>(out)
    })?)
}

/// A committee with its projects and signing keys.
#[derive(Debug)]
pub(crate) struct CommitteeView {
    pub(crate) committee: Committee,
    pub(crate) projects: Vec<Project>,
    pub(crate) keys: Vec<PublicSigningKey>,
}

/// One committee.
pub(crate) fn committee(s: &Storage, key: &CommitteeKey) -> Result<CommitteeView, WebError> {
    s.read(|tx| {
        let committee = tx
            .committee(key)?
            .ok_or_else(|| WebError::not_found(format!("There is no committee `{key}`.")))?;
        Ok(CommitteeView {
            projects: tx.projects_of_committee(key)?,
            keys: tx.signing_keys_of_committee(key)?,
            committee,
        })
    })
}

/// A project with its committee and releases.
#[derive(Debug)]
pub(crate) struct ProjectView {
    pub(crate) project: Project,
    pub(crate) committee: Committee,
    pub(crate) releases: Vec<Release>,
}

/// One project.
pub(crate) fn project(s: &Storage, key: &ProjectKey) -> Result<ProjectView, WebError> {
    s.read(|tx| {
        let project =
            tx.project(key)?.ok_or_else(|| WebError::not_found(format!("There is no project `{key}`.")))?;
        let committee = tx.committee(&project.committee_key)?.ok_or_else(|| {
            WebError::not_found(format!(
                "The committee `{}` of `{key}` does not exist.",
                project.committee_key
            ))
        })?;
        Ok(ProjectView { releases: tx.releases_of_project(key)?, project, committee })
    })
}

/// Counts of results by status, for one file or a whole revision.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) blockers: u32,
    pub(crate) exceptions: u32,
    pub(crate) concerns: u32,
    pub(crate) suggestions: u32,
    pub(crate) notes: u32,
    pub(crate) ignored: u32,
}

impl Counts {
    fn add(&mut self, status: CheckStatus, ignored: bool) {
        if ignored {
            self.ignored += 1;
        } else {
            self.add_n(status, 1);
        }
    }

    fn add_n(&mut self, status: CheckStatus, n: u32) {
        let slot = match status {
            CheckStatus::Blocker => &mut self.blockers,
            CheckStatus::Exception => &mut self.exceptions,
            CheckStatus::Concern => &mut self.concerns,
            CheckStatus::Suggestion => &mut self.suggestions,
            CheckStatus::Note => &mut self.notes,
        };
        *slot += n;
    }
}

/// One file of the compose page.
#[derive(Debug)]
pub(crate) struct FileRow {
    pub(crate) path: RelPath,
    pub(crate) class: ArtifactClass,
    pub(crate) counts: Counts,
    /// A source archive without `<name>.cdx.json` beside it: the page offers "Generate SBOM".
    pub(crate) sbom_missing: bool,
}

/// The compose page: the release, its latest revision, files with counts, ongoing tasks.
#[derive(Debug)]
pub(crate) struct ComposeView {
    pub(crate) release: Release,
    pub(crate) project: Project,
    pub(crate) latest: Option<Revision>,
    pub(crate) files: Vec<FileRow>,
    /// Results about the whole revision (no file).
    pub(crate) revision_counts: Counts,
    pub(crate) ongoing: Vec<Task>,
    pub(crate) ignores: usize,
    /// Every result of the revision (files and the whole revision) by status.
    pub(crate) totals: Counts,
    /// Files with a blocker or an exception.
    pub(crate) files_with_blockers: usize,
    /// Files with a concern.
    pub(crate) files_with_concerns: usize,
    /// When the view stops being true by the clock alone: the earliest expiry of an ignore rule
    /// that still applies (after it, results the rule hid count again).
    pub(crate) valid_until: Option<Timestamp>,
}

impl Counts {
    /// Adds every count of `other`.
    fn add_all(&mut self, other: &Counts) {
        self.blockers += other.blockers;
        self.exceptions += other.exceptions;
        self.concerns += other.concerns;
        self.suggestions += other.suggestions;
        self.notes += other.notes;
        self.ignored += other.ignored;
    }

    /// Whether a blocker or an exception stands.
    pub(crate) fn blocks(&self) -> bool {
        self.blockers + self.exceptions > 0
    }
}

fn release_or_404(tx: &atr_storage::db::Tx<'_>, p: &ProjectKey, v: &VersionKey) -> Result<Release, WebError> {
    tx.release(p, v)?.ok_or_else(|| WebError::not_found(format!("There is no release {p}-{v}.")))
}

/// Whether `r` is hidden by one of `ignores`.
fn ignored(
    ignores: &[CheckResultIgnore],
    key: &ReleaseKey,
    n: RevisionNumber,
    r: &CheckResult,
    now: Timestamp,
) -> bool {
    ignores.iter().any(|i| i.matches(key, n, r, now))
}

/// The compose page of release `p`-`v`.
pub(crate) fn compose(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
    now: Timestamp,
) -> Result<ComposeView, WebError> {
    let view = s.read(|tx| {
        let release = release_or_404(tx, p, v)?;
        let project =
            tx.project(p)?.ok_or_else(|| WebError::not_found(format!("There is no project `{p}`.")))?;
        let latest_n = tx.latest_revision(p, v)?;
        let latest = match latest_n {
            Some(n) => tx.revision(p, v, n)?,
            None => None,
        };
        let ignores = tx.ignores(p)?;
        let ongoing = match latest_n {
            Some(n) => {
                tx.tasks_for_revision(p, v, n)?.into_iter().filter(|t| t.status.is_ongoing()).collect()
            }
            None => Vec::new(),
        };
        // Without ignore rules the counts come from SQL; with rules every result is matched.
        let (results, grouped) = match latest_n {
            Some(n) if ignores.is_empty() => (Vec::new(), tx.check_result_counts(p, v, n)?),
            Some(n) => (tx.check_results(p, v, n)?, Vec::new()),
            None => (Vec::new(), Vec::new()),
        };
        Ok::<_, WebError>((release, project, latest, ignores, results, grouped, ongoing))
    })?;
    let (release, project, latest, ignores, results, grouped, ongoing) = view;
    let files = match &latest {
        Some(r) => s.revision_files(p, v, r.number)?,
        None => Vec::new(),
    };
    let policy = project.policy.classification_policy().unwrap_or_default();
    let key = release.key();
    let mut counts: BTreeMap<&RelPath, Counts> = BTreeMap::new();
    let mut revision_counts = Counts::default();
    let n = latest.as_ref().map_or(RevisionNumber::FIRST, |r| r.number);
    for stored in &results {
        let r = &stored.result;
        let hidden = ignored(&ignores, &key, n, r, now);
        match &r.primary_rel_path {
            Some(path) => counts.entry(path).or_default().add(r.status, hidden),
            None => revision_counts.add(r.status, hidden),
        }
    }
    for (path, status, count) in &grouped {
        match path {
            Some(path) => counts.entry(path).or_default().add_n(*status, *count),
            None => revision_counts.add_n(*status, *count),
        }
    }
    let files = files
        .iter()
        .map(|path| {
            let class = classify(path, &policy).class;
            let sbom_missing = atr_core::plan::is_sbom_source(path, class)
                && atr_core::plan::sbom_of(path).is_some_and(|sbom| files.binary_search(&sbom).is_err());
            FileRow {
                class,
                counts: counts.get(path).copied().unwrap_or_default(),
                path: path.clone(),
                sbom_missing,
            }
        })
        .collect::<Vec<FileRow>>();
    let mut totals = revision_counts;
    for f in &files {
        totals.add_all(&f.counts);
    }
    let files_with_blockers = files.iter().filter(|f| f.counts.blocks()).count();
    let files_with_concerns = files.iter().filter(|f| f.counts.concerns > 0).count();
    let valid_until = ignores.iter().filter_map(|i| i.expires).filter(|e| *e > now).min();
    Ok(ComposeView {
        release,
        project,
        latest,
        files,
        revision_counts,
        ongoing,
        ignores: ignores.len(),
        totals,
        files_with_blockers,
        files_with_concerns,
        valid_until,
    })
}

/// What the actions page of one file of a draft offers.
#[derive(Debug)]
pub(crate) struct FileActionsView {
    pub(crate) release: Release,
    pub(crate) revision: RevisionNumber,
    pub(crate) path: RelPath,
    pub(crate) class: ArtifactClass,
    /// A source archive without `<name>.cdx.json` beside it.
    pub(crate) sbom_missing: bool,
}

/// The actions page of `path` in the latest revision, or 404.
pub(crate) fn file_actions(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
    path: &RelPath,
) -> Result<FileActionsView, WebError> {
    let (release, revision, full) = file_on_disk(s, p, v, path)?;
    let project = s
        .read(|tx| tx.project(p))?
        .ok_or_else(|| WebError::not_found(format!("There is no project `{p}`.")))?;
    let class = classify(path, &project.policy.classification_policy().unwrap_or_default()).class;
    let sbom_missing = atr_core::plan::is_sbom_source(path, class)
        && atr_core::plan::sbom_of(path).is_some_and(|sbom| {
            let dir = full.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            !dir.join(sbom.file_name()).is_file()
        });
    Ok(FileActionsView { release, revision, path: path.clone(), class, sbom_missing })
}

/// One result on the report page.
#[derive(Debug)]
pub(crate) struct ReportRow {
    pub(crate) result: CheckResult,
}

/// The report of one file: its results by checker (file-level) and by member, ignored ones apart.
#[derive(Debug)]
pub(crate) struct ReportView {
    pub(crate) release: Release,
    pub(crate) revision: RevisionNumber,
    pub(crate) path: RelPath,
    pub(crate) size: u64,
    pub(crate) class: ArtifactClass,
    pub(crate) by_checker: BTreeMap<String, Vec<ReportRow>>,
    pub(crate) by_member: BTreeMap<String, Vec<ReportRow>>,
    pub(crate) ignored: Vec<ReportRow>,
    pub(crate) ongoing: usize,
}

/// The latest revision of a release, or 404.
fn latest_or_404(s: &Storage, p: &ProjectKey, v: &VersionKey) -> Result<(Release, RevisionNumber), WebError> {
    s.read(|tx| {
        let release = release_or_404(tx, p, v)?;
        let n = tx
            .latest_revision(p, v)?
            .ok_or_else(|| WebError::not_found(format!("{p}-{v} has no revision yet.")))?;
        Ok((release, n))
    })
}

/// The file `path` of the latest revision on disk, or 404.
pub(crate) fn file_on_disk(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
    path: &RelPath,
) -> Result<(Release, RevisionNumber, PathBuf), WebError> {
    let (release, n) = latest_or_404(s, p, v)?;
    let dir = if release.phase == ReleasePhase::Release {
        s.layout().finished_release(p, v)
    } else {
        s.layout().revision(p, v, n)
    };
    let mut full = dir;
    full.extend(path.segments());
    if !std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_file()) {
        return Err(WebError::not_found(format!("There is no file `{path}` in {p}-{v} revision {n}.")));
    }
    Ok((release, n, full))
}

/// The check report of `path` in the latest revision.
pub(crate) fn report(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
    path: &RelPath,
    now: Timestamp,
) -> Result<ReportView, WebError> {
    let (release, n, full) = file_on_disk(s, p, v, path)?;
    let size = std::fs::metadata(&full).map(|m| m.len()).unwrap_or(0);
    let (project, results, ignores, ongoing) = s.read(|tx| {
        let project =
            tx.project(p)?.ok_or_else(|| WebError::not_found(format!("There is no project `{p}`.")))?;
        let ongoing = tx
            .tasks_for_revision(p, v, n)?
            .iter()
            .filter(|t| t.status.is_ongoing() && t.spec.primary_rel_path.as_ref() == Some(path))
            .count();
        Ok::<_, WebError>((project, tx.check_results_of_file(p, v, n, path)?, tx.ignores(p)?, ongoing))
    })?;
    let key = release.key();
    let mut view = ReportView {
        class: classify(path, &project.policy.classification_policy().unwrap_or_default()).class,
        release,
        revision: n,
        path: path.clone(),
        size,
        by_checker: BTreeMap::new(),
        by_member: BTreeMap::new(),
        ignored: Vec::new(),
        ongoing,
    };
    for result in results {
        let hidden = ignored(&ignores, &key, n, &result, now);
        let row = ReportRow { result };
        if hidden {
            view.ignored.push(row);
        } else if let Some(member) = row.result.member_rel_path.clone() {
            view.by_member.entry(member).or_default().push(row);
        } else {
            view.by_checker.entry(row.result.checker.name.to_owned()).or_default().push(row);
        }
    }
    Ok(view)
}

/// How a file is shown in the viewer.
#[derive(Debug)]
pub(crate) enum FileContent {
    /// UTF-8 text.
    Text(String),
    /// Hex dump lines of a binary file.
    Hex(Vec<String>),
}

/// The file viewer: the first bytes of a file, as text or a hex dump, and the members of an archive.
#[derive(Debug)]
pub(crate) struct FileView {
    pub(crate) release: Release,
    pub(crate) revision: RevisionNumber,
    pub(crate) path: RelPath,
    pub(crate) size: u64,
    pub(crate) shown: usize,
    pub(crate) content: FileContent,
    pub(crate) archive: Option<ArchiveListing>,
}

/// The members of an archive, as one streaming pass of `atr-checks` read them.
#[derive(Debug)]
pub(crate) struct ArchiveListing {
    /// Members in archive order.
    pub(crate) members: Vec<atr_checks::archive::MemberInfo>,
    /// Whether the archive was read to its end (within the limits).
    pub(crate) complete: bool,
}

/// Names that may be archives `atr-checks` can list (confirmed by their magic bytes).
const ARCHIVE_SUFFIXES: [&str; 11] =
    [".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip", ".jar", ".war", ".whl", ".nupkg", ".crate"];

/// The members of the archive at `full` (with the default expansion limits), or `None` if it is none.
pub(crate) fn archive_listing(full: &std::path::Path, rel: &RelPath) -> Option<ArchiveListing> {
    use atr_checks::archive::{ArchiveCheckContext, ArchiveRole, check_archive};
    if !ARCHIVE_SUFFIXES.iter().any(|s| rel.file_name().ends_with(s)) {
        return None;
    }
    let report = check_archive(full, rel, &ArchiveCheckContext::new(ArchiveRole::Binary));
    report.format?;
    Some(ArchiveListing { members: report.listing, complete: report.complete })
}

/// How much of a file the viewer shows.
pub(crate) const VIEW_LIMIT: usize = 256 * 1024;

/// The viewer of `path` in the latest revision.
pub(crate) fn file_view(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
    path: &RelPath,
) -> Result<FileView, WebError> {
    let (release, n, full) = file_on_disk(s, p, v, path)?;
    let file = std::fs::File::open(&full).map_err(|e| WebError::internal("open the file", e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    file.take(VIEW_LIMIT as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| WebError::internal("read the file", e))?;
    let content = match std::str::from_utf8(&bytes) {
        Ok(text) if !text.contains('\0') => FileContent::Text(text.to_owned()),
        _ => FileContent::Hex(hex_dump(&bytes)),
    };
    let archive = archive_listing(&full, path);
    Ok(FileView { release, revision: n, path: path.clone(), size, shown: bytes.len(), content, archive })
}

/// `hexdump -C`-like lines: offset, 16 bytes in hex, printable ASCII.
pub(crate) fn hex_dump(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
                .collect();
            format!("{:08x}  {:<47}  |{ascii}|", i * 16, hex.join(" "))
        })
        .collect()
}

/// The revision history of a release.
pub(crate) fn revisions(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
) -> Result<(Release, Vec<Revision>), WebError> {
    s.read(|tx| {
        let release = release_or_404(tx, p, v)?;
        Ok((release, tx.revisions(p, v)?))
    })
}

/// What changed between two revisions.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Diff {
    pub(crate) added: Vec<RelPath>,
    pub(crate) removed: Vec<RelPath>,
    pub(crate) changed: Vec<RelPath>,
    pub(crate) unchanged: usize,
    /// For changed archives: their members added, removed and changed.
    pub(crate) members: Vec<(RelPath, MemberDiff)>,
}

/// What changed inside an archive.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct MemberDiff {
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
    pub(crate) changed: Vec<String>,
}

fn member_diff(old: &ArchiveListing, new: &ArchiveListing) -> MemberDiff {
    let map = |l: &ArchiveListing| -> BTreeMap<String, (u64, Option<[u8; 32]>)> {
        l.members.iter().map(|m| (m.path.clone(), (m.size, m.blake3))).collect()
    };
    let (a, b) = (map(old), map(new));
    MemberDiff {
        added: b.keys().filter(|k| !a.contains_key(*k)).cloned().collect(),
        removed: a.keys().filter(|k| !b.contains_key(*k)).cloned().collect(),
        changed: a
            .iter()
            .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

/// The hex digest of a file, read in chunks (never whole in memory).
pub(crate) fn hex_digest<D: sha2::Digest>(mut file: std::fs::File) -> std::io::Result<String> {
    let mut hasher = D::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn file_digest(path: &std::path::Path) -> Result<String, WebError> {
    let file = std::fs::File::open(path).map_err(|e| WebError::internal("open a file", e))?;
    hex_digest::<sha2::Sha256>(file).map_err(|e| WebError::internal("read a file", e))
}

/// Files added, removed and changed from revision `a` to revision `b`. Hard-linked (unchanged)
/// files share an inode, so only files with distinct inodes are hashed.
pub(crate) fn diff(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
    a: RevisionNumber,
    b: RevisionNumber,
) -> Result<Diff, WebError> {
    use std::os::unix::fs::MetadataExt as _;
    let old: BTreeSet<RelPath> = s.revision_files(p, v, a)?.into_iter().collect();
    let new: BTreeSet<RelPath> = s.revision_files(p, v, b)?.into_iter().collect();
    let (dir_a, dir_b) = (s.layout().revision(p, v, a), s.layout().revision(p, v, b));
    let mut d = Diff {
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
        ..Diff::default()
    };
    for path in old.intersection(&new) {
        let (mut fa, mut fb) = (dir_a.clone(), dir_b.clone());
        fa.extend(path.segments());
        fb.extend(path.segments());
        let same_inode = match (std::fs::metadata(&fa), std::fs::metadata(&fb)) {
            (Ok(x), Ok(y)) => x.ino() == y.ino() && x.dev() == y.dev(),
            _ => false,
        };
        if same_inode || file_digest(&fa)? == file_digest(&fb)? {
            d.unchanged += 1;
        } else {
            if let (Some(old), Some(new)) = (archive_listing(&fa, path), archive_listing(&fb, path)) {
                d.members.push((path.clone(), member_diff(&old, &new)));
            }
            d.changed.push(path.clone());
        }
    }
    Ok(d)
}

/// The vote page: the release's lifecycle state, what the vote is on, and where it stands.
#[derive(Debug)]
pub(crate) struct VoteView {
    /// The core's view of the release (phase, latest revision, checks, ballots).
    pub(crate) state: atr_core::lifecycle::ReleaseState,
    pub(crate) release: Release,
    /// SHA-512 of each artifact of the latest revision.
    pub(crate) digests: Vec<(RelPath, String)>,
    /// Why a vote cannot start now (the core's refusal with every concern acknowledged), if so.
    pub(crate) start_refusal: Option<String>,
    /// Lists the viewer may send the vote to.
    pub(crate) recipients: Vec<String>,
    /// The tally of the ballots of the running round.
    pub(crate) tally: atr_core::model::Tally,
}

/// The vote page of release `p`-`v` as `actor` sees it at `now`.
pub(crate) fn vote(
    s: &Storage,
    actor: &Actor,
    p: &ProjectKey,
    v: &VersionKey,
    now: Timestamp,
) -> Result<VoteView, WebError> {
    let state = s.release_state(p, v, now)?;
    let release =
        state.release.clone().ok_or_else(|| WebError::not_found(format!("There is no release {p}-{v}.")))?;
    let digests = match state.latest_revision {
        Some(n) if release.phase != atr_core::model::ReleasePhase::Release => {
            crate::ops::artifact_digests(s, &state.project.policy, p, v, n)?
        }
        _ => Vec::new(),
    };
    let recipients = actor
        .uid
        .as_ref()
        .map(|u| atr_core::lifecycle::permitted_vote_recipients(u, &state.project.committee_key))
        .unwrap_or_default();
    let start_refusal = if release.phase == atr_core::model::ReleasePhase::Draft {
        let dry = atr_core::lifecycle::Command::StartVote {
            revision: state.latest_revision,
            duration_hours: None,
            email_to: recipients.first().cloned(),
            subject: None,
            body: None,
            concerns_noted: state.checks.concerns.clone(),
        };
        atr_core::lifecycle::apply(&state, dry, actor, now).err().map(|r| r.to_string())
    } else {
        None
    };
    let tally = atr_core::model::Tally::of(&state.ballots);
    Ok(VoteView { state, release, digests, start_refusal, recipients, tally })
}
