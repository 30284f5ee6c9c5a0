//! Announce: publish a release's voted files in one step that either completes or leaves the preview untouched.
//!
//! The files users download must be exactly the files the committee voted on, so nothing is
//! copied: the voted revision directory is renamed to `finished/<project>/<version>/` and every
//! file is hard-linked into the download area (`downloads/<committee>/<suffix>`, podlings under
//! `downloads/incubator/<podling>/<suffix>`), with the committee's `KEYS` file written at the
//! root of the committee's download directory.
//!
//! The steps, and what a crash after each leaves (see [`PublishStep`]):
//!
//! | step              | on disk                                                          | after [`Storage::recover_publications`] |
//! |-------------------|------------------------------------------------------------------|-----------------------------------------|
//! | (before)          | a stage directory `publishing/<p>/.<v>.<pid>.stage`               | removed: still preview                  |
//! | `Staged`          | the stage holds the download links, `KEYS` and `plan.json`        | removed: still preview                  |
//! | `Marked`          | the stage renamed to the journal `publishing/<p>/<v>/`            | phase is preview: journal removed       |
//! | `Committed`       | the phase is `release` (guarded update, audit, mail task)         | phase is release: rolled forward        |
//! | `FinishedMoved`   | the revision renamed to `finished/<p>/<v>/`                       | rolled forward                          |
//! | `DownloadsLinked` | the staged links renamed into the download area                   | rolled forward                          |
//! | `KeysWritten`     | `KEYS` renamed into place                                         | rolled forward                          |
//! | `Cleaned`         | older revisions and the journal removed                           | nothing to do                           |
//!
//! The database commit is the decision; the journal directory records it is pending on disk.
//! Until the commit the revision directory is never touched; after it every remaining step is
//! an idempotent rename, so recovery (on retry, or [`Storage::recover_publications`] after
//! open) finishes what a crashed process began.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use atr_core::ids::{CommitteeKey, ProjectKey, RevisionNumber, VersionKey};
use atr_core::lifecycle::{Effect, ReleaseState, Transition};
use atr_core::model::{ReleasePhase, TaskId};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Storage;
use crate::error::StorageError;
use crate::revision::{fsync_dir, list_files};
use crate::session::{lock_file, remove_tree, try_lock_file};

/// Name of the journal parent directory under the state directory.
pub const PUBLISHING_DIR: &str = "publishing";

/// The observable steps of announce, in order (for tracing and crash tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStep {
    /// The stage directory holds every download link, `KEYS` and the plan.
    Staged,
    /// The stage was renamed to the journal directory.
    Marked,
    /// The database transaction (phase `release`, audit, mail task) committed.
    Committed,
    /// The voted revision was renamed to `finished/<project>/<version>/`.
    FinishedMoved,
    /// The download links were renamed into the download area.
    DownloadsLinked,
    /// `KEYS` was renamed into place.
    KeysWritten,
    /// Older revisions and the journal were removed.
    Cleaned,
}

impl PublishStep {
    /// Every step, in order.
    pub const ALL: [PublishStep; 7] = [
        PublishStep::Staged,
        PublishStep::Marked,
        PublishStep::Committed,
        PublishStep::FinishedMoved,
        PublishStep::DownloadsLinked,
        PublishStep::KeysWritten,
        PublishStep::Cleaned,
    ];

    /// The step's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishStep::Staged => "staged",
            PublishStep::Marked => "marked",
            PublishStep::Committed => "committed",
            PublishStep::FinishedMoved => "finished_moved",
            PublishStep::DownloadsLinked => "downloads_linked",
            PublishStep::KeysWritten => "keys_written",
            PublishStep::Cleaned => "cleaned",
        }
    }
}

/// What an announce did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// `finished/<project>/<version>/`.
    pub finished: PathBuf,
    /// The download directory the files were linked into.
    pub downloads: PathBuf,
    /// The `KEYS` file written.
    pub keys: PathBuf,
    /// The files published, relative to both directories.
    pub files: Vec<RelPath>,
    /// Tasks the transition queued (the announce mail).
    pub tasks: Vec<TaskId>,
}

/// What [`Storage::recover_publications`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishRecovery {
    /// Releases (`<project>-<version>`) whose announce had not committed: left in preview.
    pub rolled_back: Vec<String>,
    /// Releases whose announce had committed: publishing completed.
    pub completed: Vec<String>,
    /// Journal entries skipped because a live process holds the release's lock.
    pub busy: Vec<String>,
}

/// The journal's record of an announce in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    project: String,
    version: String,
    revision: u32,
    /// Download directory, relative to the state directory.
    downloads: String,
    /// `KEYS` path, relative to the state directory.
    keys: String,
    /// Whether files no release owns may be replaced (the policy's `replace_download_files`).
    #[serde(default)]
    replace_unowned: bool,
}

impl Storage {
    /// The download directory of a committee's release: `downloads/<committee>/<suffix>`, or
    /// `downloads/incubator/<podling>/<suffix>` for a podling. `suffix` is `/`-separated, may be
    /// empty, and must not hold `..`, `.` or dot-file segments.
    pub fn download_dir(
        &self,
        committee: &CommitteeKey,
        is_podling: bool,
        suffix: &str,
    ) -> Result<PathBuf, StorageError> {
        let mut dir = self.download_root(committee, is_podling);
        let trimmed = suffix.trim_matches('/');
        if !trimmed.is_empty() {
            let rel = RelPath::new(trimmed).map_err(|_| StorageError::PathConflict {
                path: suffix.to_string(),
                reason: "a download path suffix must be a relative path without `..`, `.`, empty or dot-file \
                         segments, such as `/foo-1.0.0/`",
            })?;
            dir = dir.join(rel.as_str());
        }
        Ok(dir)
    }

    fn download_root(&self, committee: &CommitteeKey, is_podling: bool) -> PathBuf {
        if is_podling {
            self.layout().downloads().join("incubator").join(committee.as_str())
        } else {
            self.layout().downloads_committee(committee)
        }
    }

    /// The committee's download area and every file in it that is a hard link of a file of the
    /// announced release `project`-`version` (same device and inode as a file under `finished/`).
    pub(crate) fn published_links(
        &self,
        project: &ProjectKey,
        version: &VersionKey,
        committee: &CommitteeKey,
        is_podling: bool,
    ) -> Result<(PathBuf, Vec<PathBuf>), StorageError> {
        let finished = self.layout().finished_release(project, version);
        let area = self.download_root(committee, is_podling);
        let mut inodes = std::collections::HashSet::new();
        if finished.is_dir() {
            for f in list_files(&finished)? {
                let path = finished.join(f.as_str());
                let m = fs::symlink_metadata(&path).map_err(StorageError::io("inspect", &path))?;
                inodes.insert((m.dev(), m.ino()));
            }
        }
        // Every entry of the area, whatever its name: a file put there by other means is looked at
        // (and left alone unless it is one of the release's inodes), never a reason to fail.
        let mut links = Vec::new();
        let mut dirs = if inodes.is_empty() { Vec::new() } else { vec![area.clone()] };
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for entry in entries {
                let entry = entry.map_err(StorageError::io("list", &dir))?;
                let m =
                    fs::symlink_metadata(entry.path()).map_err(StorageError::io("inspect", entry.path()))?;
                if m.is_dir() {
                    dirs.push(entry.path());
                } else if m.is_file() && inodes.contains(&(m.dev(), m.ino())) {
                    links.push(entry.path());
                }
            }
        }
        links.sort();
        Ok((area, links))
    }

    fn publishing(&self) -> PathBuf {
        self.layout().root().join(PUBLISHING_DIR)
    }

    fn journal(&self, project: &ProjectKey, version: &VersionKey) -> PathBuf {
        self.publishing().join(project.as_str()).join(version.as_str())
    }

    /// Carries out an announce that `atr_core::lifecycle::apply` accepted on `before` (its
    /// `Publish` effect and its database part): see the module documentation. `keys_text` is the
    /// committee's `KEYS` file.
    ///
    /// Refused, with nothing changed, if `finished/<project>/<version>/` exists ("already
    /// announced"), if the download folder or one of the files would mix with another release's
    /// published files, or replace a file no release owns without the policy allowing it
    /// ([`atr_core::publish::judge`]), or if the release moved on since `before` was read.
    pub fn announce(
        &self,
        before: &ReleaseState,
        t: &Transition,
        keys_text: &str,
        now: Timestamp,
    ) -> Result<Published, StorageError> {
        self.announce_with(before, t, keys_text, now, &mut |_| {})
    }

    /// [`Storage::announce`], calling `observe` after each step.
    pub fn announce_with(
        &self,
        before: &ReleaseState,
        t: &Transition,
        keys_text: &str,
        now: Timestamp,
        observe: &mut dyn FnMut(PublishStep),
    ) -> Result<Published, StorageError> {
        let Some((revision, committee, suffix, replace)) = t.effects.iter().find_map(|e| match e {
            Effect::Publish { revision, committee_key, download_path_suffix, replace_unowned } => {
                Some((*revision, committee_key.clone(), download_path_suffix.clone(), *replace_unowned))
            }
            _ => None,
        }) else {
            return Err(StorageError::NotFound {
                what: "publish effect in the transition",
                key: t.audit.target.clone(),
            });
        };
        let project = before.project.project_key.clone();
        let release = before
            .release
            .as_ref()
            .ok_or_else(|| StorageError::NotFound { what: "release", key: project.to_string() })?;
        let version = release.version_key.clone();
        let name = format!("{project}-{version}");

        let _lock = lock_file(&self.layout().release_lock(&project, &version), true)?;
        // A retry first finishes (or undoes) what a crashed attempt left.
        self.recover_one(&project, &version)?;

        let finished = self.layout().finished_release(&project, &version);
        if finished.exists() {
            return Err(StorageError::AlreadyExists { what: "announced release", key: name });
        }
        let revision_dir = self.layout().revision(&project, &version, revision);
        if !revision_dir.is_dir() {
            return Err(StorageError::NotFound {
                what: "revision directory",
                key: format!("{name} {revision}"),
            });
        }
        let files = list_files(&revision_dir)?;
        let downloads = self.download_dir(&committee, before.project.is_podling, &suffix)?;
        let keys = self.download_root(&committee, before.project.is_podling).join("KEYS");
        if files.iter().any(|f| downloads.join(f.as_str()) == keys) {
            return Err(StorageError::PathConflict {
                path: keys.display().to_string(),
                reason: "the release has a KEYS file where the committee's KEYS file goes; remove it from the \
                         release (import its keys into the committee instead) or choose a download path suffix",
            });
        }
        let area = self.download_root(&committee, before.project.is_podling);
        let site = self.publication_site(&name, &area, &downloads, &files)?;
        atr_core::publish::judge(&site, replace)?;

        // Stage: links to the voted files, KEYS, and the plan, all beside the journal.
        let parent = self.publishing().join(project.as_str());
        fs::create_dir_all(&parent).map_err(StorageError::io("create directory", &parent))?;
        let stage = parent.join(format!(".{version}.{}.stage", std::process::id()));
        remove_tree(&stage)?;
        let staged = self.stage(
            &stage,
            &revision_dir,
            &files,
            keys_text,
            &Plan {
                project: project.to_string(),
                version: version.to_string(),
                revision: revision.get(),
                downloads: self.relative(&downloads),
                keys: self.relative(&keys),
                replace_unowned: replace,
            },
        );
        if let Err(e) = staged {
            let _ = remove_tree(&stage);
            return Err(e);
        }
        observe(PublishStep::Staged);

        let journal = self.journal(&project, &version);
        fs::rename(&stage, &journal).map_err(StorageError::io("rename the stage to", &journal))?;
        fsync_dir(&parent)?;
        observe(PublishStep::Marked);

        let tasks = match self.write(|tx| tx.record_transition(before, t, now)) {
            Ok(tasks) => tasks,
            Err(e) => {
                remove_tree(&journal)?;
                return Err(e);
            }
        };
        observe(PublishStep::Committed);

        let plan = read_plan(&journal)?;
        self.roll_forward(&journal, &plan, observe)?;
        Ok(Published { finished, downloads, keys, files, tasks })
    }

    /// What is at the download folder `downloads` (inside the committee's area `area`) and at each of
    /// the release's `files` there, for [`atr_core::publish::judge`]. A file belongs to an announced
    /// release when it is a hard link of one of the files under `finished/` (same device and inode);
    /// only files with more than one link are looked up, so the common case reads no other release.
    fn publication_site(
        &self,
        release: &str,
        area: &Path,
        downloads: &Path,
        files: &[RelPath],
    ) -> Result<atr_core::publish::Site, StorageError> {
        use atr_core::publish::{Occupant, Site};
        let rel = |p: &Path| p.strip_prefix(area).unwrap_or(p).to_string_lossy().into_owned();
        let linked = |m: &fs::Metadata| m.is_file() && m.nlink() > 1;
        let mut targets = Vec::new();
        let mut wanted = Vec::new();
        for f in files {
            let target = downloads.join(f.as_str());
            let occupant = match fs::symlink_metadata(&target) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Occupant::Nothing,
                Err(e) => return Err(StorageError::io("inspect", &target)(e)),
                Ok(m) if m.is_dir() => Occupant::Directory,
                Ok(m) if linked(&m) => {
                    wanted.push((m.dev(), m.ino()));
                    Occupant::Unowned
                }
                Ok(_) => Occupant::Unowned,
            };
            targets.push((rel(&target), occupant, target));
        }
        // Files that would share the folder: inside it (unless it is the committee's own folder,
        // shared by design), and directly inside each folder between it and the area.
        let mut neighbours = Vec::new();
        if downloads != area {
            if downloads.is_dir() {
                for f in list_files(downloads)? {
                    neighbours.push(downloads.join(f.as_str()));
                }
            }
            let mut dir = downloads.parent();
            while let Some(d) = dir
                && d != area
                && d.starts_with(area)
            {
                if let Ok(entries) = fs::read_dir(d) {
                    neighbours.extend(entries.flatten().map(|e| e.path()));
                }
                dir = d.parent();
            }
        }
        let mut enclosing_candidates = Vec::new();
        for path in neighbours {
            if let Ok(m) = fs::symlink_metadata(&path)
                && linked(&m)
            {
                wanted.push((m.dev(), m.ino()));
                enclosing_candidates.push((rel(&path), (m.dev(), m.ino())));
            }
        }
        let owners = if wanted.is_empty() { Default::default() } else { self.finished_owners(&wanted)? };
        for (_, occupant, target) in &mut targets {
            if *occupant == Occupant::Unowned
                && let Ok(m) = fs::symlink_metadata(&*target)
                && let Some(owner) = owners.get(&(m.dev(), m.ino()))
            {
                *occupant = Occupant::Release(owner.clone());
            }
        }
        let mut enclosing: Vec<(String, String)> = enclosing_candidates
            .into_iter()
            .filter_map(|(path, id)| owners.get(&id).map(|o| (path, o.clone())))
            .collect();
        enclosing.sort();
        Ok(Site {
            release: release.to_owned(),
            folder: rel(downloads),
            enclosing,
            targets: targets.into_iter().map(|(p, o, _)| (p, o)).collect(),
        })
    }

    /// Which announced release (`<project>-<version>`) each of the `wanted` inodes belongs to.
    fn finished_owners(
        &self,
        wanted: &[(u64, u64)],
    ) -> Result<std::collections::HashMap<(u64, u64), String>, StorageError> {
        let wanted: std::collections::HashSet<&(u64, u64)> = wanted.iter().collect();
        let mut owners = std::collections::HashMap::new();
        let finished = self.layout().finished();
        let Ok(projects) = fs::read_dir(&finished) else { return Ok(owners) };
        for project in projects.flatten() {
            let Ok(versions) = fs::read_dir(project.path()) else { continue };
            for version in versions.flatten() {
                let dir = version.path();
                if !dir.is_dir() {
                    continue;
                }
                let name = format!(
                    "{}-{}",
                    project.file_name().to_string_lossy(),
                    version.file_name().to_string_lossy()
                );
                for f in list_files(&dir)? {
                    let path = dir.join(f.as_str());
                    let m = fs::symlink_metadata(&path).map_err(StorageError::io("inspect", &path))?;
                    if wanted.contains(&(m.dev(), m.ino())) {
                        owners.insert((m.dev(), m.ino()), name.clone());
                    }
                }
            }
        }
        Ok(owners)
    }

    /// `path` relative to the state directory, for plans, messages and audit records.
    pub(crate) fn relative(&self, path: &Path) -> String {
        path.strip_prefix(self.layout().root()).unwrap_or(path).to_string_lossy().into_owned()
    }

    fn stage(
        &self,
        stage: &Path,
        revision_dir: &Path,
        files: &[RelPath],
        keys_text: &str,
        plan: &Plan,
    ) -> Result<(), StorageError> {
        let links = stage.join("downloads");
        fs::create_dir_all(&links).map_err(StorageError::io("create directory", &links))?;
        for f in files {
            let target = links.join(f.as_str());
            if let Some(p) = target.parent() {
                fs::create_dir_all(p).map_err(StorageError::io("create directory", p))?;
            }
            let source = revision_dir.join(f.as_str());
            fs::hard_link(&source, &target).map_err(StorageError::io("hard-link", &source))?;
        }
        write_synced(&stage.join("KEYS"), keys_text.as_bytes(), 0o444)?;
        let plan = serde_json::to_vec_pretty(plan).map_err(|e| StorageError::Corrupt {
            column: "publishing plan",
            value: String::new(),
            reason: e.to_string(),
        })?;
        write_synced(&stage.join("plan.json"), &plan, 0o644)?;
        fsync_tree(&links)?;
        fsync_dir(stage)
    }

    /// Completes a committed announce from its journal. Every step is idempotent.
    fn roll_forward(
        &self,
        journal: &Path,
        plan: &Plan,
        observe: &mut dyn FnMut(PublishStep),
    ) -> Result<(), StorageError> {
        let (project, version, revision) = plan_keys(plan)?;
        let finished = self.layout().finished_release(&project, &version);
        let revision_dir = self.layout().revision(&project, &version, revision);
        if !finished.exists() {
            let parent = finished.parent().unwrap_or(&finished).to_path_buf();
            fs::create_dir_all(&parent).map_err(StorageError::io("create directory", &parent))?;
            // Moving a directory to a new parent rewrites its `..`: it must be writable for that.
            fs::set_permissions(&revision_dir, fs::Permissions::from_mode(0o755))
                .map_err(StorageError::io("make writable", &revision_dir))?;
            fs::rename(&revision_dir, &finished)
                .map_err(StorageError::io("move the voted revision to", &finished))?;
            fs::set_permissions(&finished, fs::Permissions::from_mode(0o555))
                .map_err(StorageError::io("make read-only", &finished))?;
            fsync_dir(&parent)?;
            if let Some(p) = revision_dir.parent() {
                fsync_dir(p)?;
            }
        }
        observe(PublishStep::FinishedMoved);

        let links = journal.join("downloads");
        let downloads = self.layout().root().join(&plan.downloads);
        if links.is_dir() {
            for f in list_files(&links)? {
                let staged = links.join(f.as_str());
                let target = downloads.join(f.as_str());
                if let Some(p) = target.parent() {
                    fs::create_dir_all(p).map_err(StorageError::io("create directory", p))?;
                }
                // Checked before the commit; here only a file that appeared since (another announce
                // into the same folder) can be in the way, and it is never replaced.
                if let Ok(existing) = fs::symlink_metadata(&target) {
                    let ours = fs::metadata(&staged).map_err(StorageError::io("inspect", &staged))?;
                    let same = existing.ino() == ours.ino() && existing.dev() == ours.dev();
                    let replaceable = plan.replace_unowned && existing.is_file() && existing.nlink() == 1;
                    if !same && !replaceable {
                        return Err(StorageError::PathConflict {
                            path: target.display().to_string(),
                            reason: "a file of that name appeared in the download area during the announce; \
                                     move it away and retry the announce, which completes the publication",
                        });
                    }
                }
                fs::rename(&staged, &target)
                    .map_err(StorageError::io("link into the download area", &target))?;
            }
            fsync_tree(&downloads)?;
        }
        observe(PublishStep::DownloadsLinked);

        let staged_keys = journal.join("KEYS");
        if staged_keys.exists() {
            let keys = self.layout().root().join(&plan.keys);
            fs::rename(&staged_keys, &keys).map_err(StorageError::io("write", &keys))?;
            if let Some(p) = keys.parent() {
                fsync_dir(p)?;
            }
        }
        observe(PublishStep::KeysWritten);

        // Older revisions of the release, then the journal itself (its removal ends the announce).
        remove_tree(&self.layout().unfinished_release(&project, &version))?;
        remove_tree(journal)?;
        if let Some(p) = journal.parent() {
            let _ = fs::remove_dir(p);
            if let Some(pp) = p.parent() {
                fsync_dir(pp)?;
            }
        }
        observe(PublishStep::Cleaned);
        Ok(())
    }

    /// Finishes or undoes the announce of one release left by a crashed process; the caller holds
    /// the release lock. Returns `Some(true)` if completed, `Some(false)` if rolled back.
    fn recover_one(&self, project: &ProjectKey, version: &VersionKey) -> Result<Option<bool>, StorageError> {
        let parent = self.publishing().join(project.as_str());
        // Stages of attempts that never reached the journal.
        if let Ok(entries) = fs::read_dir(&parent) {
            let prefix = format!(".{version}.");
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with(&prefix) && n.ends_with(".stage") {
                    remove_tree(&e.path())?;
                }
            }
        }
        let journal = self.journal(project, version);
        if !journal.exists() {
            return Ok(None);
        }
        let phase = self.read(|tx| tx.release(project, version))?.map(|r| r.phase);
        if phase == Some(ReleasePhase::Release) {
            let plan = read_plan(&journal)?;
            self.roll_forward(&journal, &plan, &mut |_| {})?;
            Ok(Some(true))
        } else {
            remove_tree(&journal)?;
            Ok(Some(false))
        }
    }

    /// Completes every announce that committed and undoes every one that did not, as left by
    /// processes that crashed. Call it after [`Storage::open`]; [`Storage::announce`] also does it
    /// for its own release. Releases whose lock a live process holds are skipped.
    pub fn recover_publications(&self) -> Result<PublishRecovery, StorageError> {
        let mut report = PublishRecovery::default();
        let Ok(projects) = fs::read_dir(self.publishing()) else { return Ok(report) };
        for p in projects.flatten() {
            let Ok(project) = ProjectKey::new(p.file_name().to_string_lossy()) else { continue };
            let Ok(entries) = fs::read_dir(p.path()) else { continue };
            let mut versions = std::collections::BTreeSet::new();
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let v = match n.strip_prefix('.').and_then(|s| s.strip_suffix(".stage")) {
                    // `.<version>.<pid>.stage`
                    Some(inner) => inner.rsplit_once('.').map_or(inner.to_string(), |(v, _)| v.to_string()),
                    None => n,
                };
                if let Ok(v) = VersionKey::new(v) {
                    versions.insert(v);
                }
            }
            for version in versions {
                let name = format!("{project}-{version}");
                let Some(_lock) = try_lock_file(&self.layout().release_lock(&project, &version))? else {
                    report.busy.push(name);
                    continue;
                };
                match self.recover_one(&project, &version)? {
                    Some(true) => report.completed.push(name),
                    Some(false) => report.rolled_back.push(name),
                    None => {}
                }
            }
            let _ = fs::remove_dir(p.path());
        }
        Ok(report)
    }
}

fn plan_keys(plan: &Plan) -> Result<(ProjectKey, VersionKey, RevisionNumber), StorageError> {
    let bad = |what: &'static str, v: &str, e: &dyn std::fmt::Display| StorageError::Corrupt {
        column: what,
        value: v.to_string(),
        reason: e.to_string(),
    };
    Ok((
        ProjectKey::new(plan.project.clone())
            .map_err(|e| bad("publishing plan project", &plan.project, &e))?,
        VersionKey::new(plan.version.clone())
            .map_err(|e| bad("publishing plan version", &plan.version, &e))?,
        RevisionNumber::new(plan.revision)
            .map_err(|e| bad("publishing plan revision", &plan.revision.to_string(), &e))?,
    ))
}

fn read_plan(journal: &Path) -> Result<Plan, StorageError> {
    let path = journal.join("plan.json");
    let bytes = fs::read(&path).map_err(StorageError::io("read", &path))?;
    serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt {
        column: "publishing plan",
        value: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn write_synced(path: &Path, data: &[u8], mode: u32) -> Result<(), StorageError> {
    let mut f = fs::File::create(path).map_err(StorageError::io("create", path))?;
    f.write_all(data).map_err(StorageError::io("write", path))?;
    f.sync_all().map_err(StorageError::io("fsync", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(StorageError::io("set permissions of", path))
}

/// Fsyncs every directory of a tree (the links themselves need no data sync: their inodes are synced).
fn fsync_tree(dir: &Path) -> Result<(), StorageError> {
    for e in fs::read_dir(dir).map_err(StorageError::io("list", dir))?.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            fsync_tree(&e.path())?;
        }
    }
    fsync_dir(dir)
}
