//! Checking a whole release directory: list it, run the paths policy, then every per-file checker.

use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use serde_json::json;

use atr_core::classify::{ArtifactClass, classify};
use atr_core::plan::is_sbom_source;

use crate::archive::{self, ArchiveCheckContext, ArchiveFormat, ArchiveReport, ArchiveRole};
use crate::context::CheckContext;
use crate::error::CheckError;
use crate::hashes::{check_hash_file, hash_file_kind};
use crate::keys::Keyring;
use crate::paths::check_listing;
use crate::report::Report;
use crate::sbom;
use crate::signature::check_signature_file;

/// Progress of a directory check, passed to [`RunOptions::progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Per-file checks finished.
    pub done: usize,
    /// Per-file checks in total.
    pub total: usize,
    /// The file whose check just finished.
    pub file: String,
}

/// How to run a directory check: parallelism and progress reporting.
///
/// ```
/// let opts = atr_checks::RunOptions::default();
/// assert_eq!(opts.jobs, 1);
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct RunOptions<'a> {
    /// Number of threads for per-file checks (at least 1).
    pub jobs: usize,
    /// Called after each per-file check finishes (from worker threads).
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions { jobs: 1, progress: None }
    }
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("jobs", &self.jobs)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a> RunOptions<'a> {
    /// Sets the number of threads.
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Sets the progress callback.
    pub fn with_progress(mut self, progress: &'a (dyn Fn(&Progress) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// One per-file check.
#[derive(Debug, Clone)]
enum Task {
    Signature(RelPath),
    Hash(RelPath),
    Archive(RelPath, ArchiveRole),
    Sbom(RelPath),
}

impl Task {
    fn path(&self) -> &RelPath {
        match self {
            Task::Signature(p) | Task::Hash(p) | Task::Archive(p, _) | Task::Sbom(p) => p,
        }
    }
}

/// What one task produced: results, and for archives the report kept for the parity check.
#[derive(Debug, Clone, Default)]
struct TaskOutput {
    results: Vec<CheckResult>,
    archive: Option<ArchiveReport>,
}

/// Checks every file of the release in `dir` (one thread). See [`check_directory_with`].
///
/// ```
/// use atr_checks::{check_directory, CheckContext};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("foo-1.0.tar.gz"), b"x").unwrap();
/// let report = check_directory(dir.path(), None, &CheckContext::new(std::time::SystemTime::UNIX_EPOCH)).unwrap();
/// assert!(report.has_blockers()); // no .asc, no .sha512
/// ```
pub fn check_directory(
    dir: &Path,
    keyring: Option<&Keyring>,
    ctx: &CheckContext,
) -> Result<Report, CheckError> {
    check_directory_with(dir, keyring, ctx, &RunOptions::default())
}

/// Checks every file of the release in `dir`: the paths policy over the whole listing, each
/// signature against `keyring` (without one, signature checks give `exception` results), each
/// checksum file, each archive (as a source or binary package according to its classification,
/// honouring `.atr/license-headers-ignore`), parity between archives of the same tree in
/// several formats, each CycloneDX SBOM (`*.cdx.json`: schema, artifact and hashes, NTIA score,
/// licence bill) and whether each source archive has its SBOM beside it (a result of status
/// [`CheckContext::missing_sbom`] when not). Fails only when the directory itself cannot be listed.
pub fn check_directory_with(
    dir: &Path,
    keyring: Option<&Keyring>,
    ctx: &CheckContext,
    opts: &RunOptions<'_>,
) -> Result<Report, CheckError> {
    if !dir.is_dir() {
        return Err(CheckError::NotADirectory(dir.to_owned()));
    }
    let mut listing = Vec::new();
    let mut results = Vec::new();
    walk(dir, "", &mut listing, &mut results)?;
    listing.sort();
    results.extend(check_listing(&listing, ctx));
    if let Some(ring) = keyring {
        results.extend(ring.notes());
    }
    let tasks: Vec<Task> = listing.iter().filter_map(|f| task_for(f, ctx)).collect();
    let header_ignore = fs::read_to_string(dir.join(".atr/license-headers-ignore")).ok();
    let mut archive_ctx = ArchiveCheckContext::new(ArchiveRole::Source)
        .with_podling(ctx.podling)
        .with_limits(ctx.limits.archive);
    if let Some(text) = header_ignore {
        archive_ctx = archive_ctx.with_header_ignore(text);
    }
    let outputs = run_tasks(dir, &tasks, keyring, ctx, &archive_ctx, opts);
    let mut archives = Vec::new();
    for (task, out) in tasks.iter().zip(outputs) {
        results.extend(out.results);
        if let Some(a) = out.archive {
            archives.push((task.path().clone(), a));
        }
    }
    let refs: Vec<(&RelPath, &ArchiveReport)> = archives.iter().map(|(p, a)| (p, a)).collect();
    results.extend(archive::parity(&refs));
    // Each source archive needs its SBOM beside it, as the server plans it.
    let files: Vec<RelPath> = listing.iter().filter_map(|f| RelPath::new(f).ok()).collect();
    for task in &tasks {
        if let Task::Archive(p, ArchiveRole::Source) = task
            && is_sbom_source(p, ArtifactClass::Source)
        {
            results.extend(sbom::check_sbom_presence(p, &files, ctx.missing_sbom.status()));
        }
    }
    Ok(Report::new(results))
}

fn task_for(raw: &str, ctx: &CheckContext) -> Option<Task> {
    let p = RelPath::new(raw).ok()?;
    let name = p.file_name();
    if name.ends_with(".asc") || name.ends_with(".sig") {
        return Some(Task::Signature(p));
    }
    if hash_file_kind(name).is_some() {
        return Some(Task::Hash(p));
    }
    if name.ends_with(".cdx.json") {
        return Some(Task::Sbom(p));
    }
    ArchiveFormat::from_name(name)?;
    match classify(&p, &ctx.policy).class {
        ArtifactClass::Source => Some(Task::Archive(p, ArchiveRole::Source)),
        ArtifactClass::Binary => Some(Task::Archive(p, ArchiveRole::Binary)),
        _ => None,
    }
}

fn run_one(
    dir: &Path,
    task: &Task,
    keyring: Option<&Keyring>,
    ctx: &CheckContext,
    archive_ctx: &ArchiveCheckContext,
) -> TaskOutput {
    let results = match task {
        Task::Signature(p) => match keyring {
            Some(ring) => check_signature_file(dir, p, ring, ctx),
            None if p.file_name().ends_with(".sig") => check_signature_file(dir, p, &Keyring::default(), ctx),
            None => vec![CheckResult::new(
                CheckerId::SIGNATURE,
                CheckStatus::Exception,
                Some(p.clone()),
                format!(
                    "`{p}` was not verified because no KEYS file was given; pass the committee's KEYS file (`--keys KEYS`)."
                ),
            )],
        },
        Task::Hash(p) => check_hash_file(dir, p, ctx),
        Task::Sbom(p) => sbom::check_sbom_file(dir, p, ctx),
        Task::Archive(p, role) => {
            let actx = ArchiveCheckContext { role: *role, ..archive_ctx.clone() };
            let mut report = archive::check_archive(&dir.join(p.as_str()), p, &actx);
            let results = std::mem::take(&mut report.results);
            return TaskOutput { results, archive: Some(report) };
        }
    };
    TaskOutput { results, archive: None }
}

fn run_tasks(
    dir: &Path,
    tasks: &[Task],
    keyring: Option<&Keyring>,
    ctx: &CheckContext,
    archive_ctx: &ArchiveCheckContext,
    opts: &RunOptions<'_>,
) -> Vec<TaskOutput> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Mutex<Vec<TaskOutput>> = Mutex::new(vec![TaskOutput::default(); tasks.len()]);
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(task) = tasks.get(i) else { break };
            let r = run_one(dir, task, keyring, ctx, archive_ctx);
            if let Ok(mut s) = slots.lock() {
                s[i] = r;
            }
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = opts.progress {
                p(&Progress { done: d, total: tasks.len(), file: task.path().to_string() });
            }
        }
    };
    let jobs = opts.jobs.clamp(1, tasks.len().max(1));
    std::thread::scope(|s| {
        for _ in 1..jobs {
            s.spawn(worker);
        }
        worker();
    });
    slots.into_inner().unwrap_or_default()
}

/// Lists regular files below `dir`, as `/`-separated relative names. Links and special files are reported, not followed.
fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<String>,
    results: &mut Vec<CheckResult>,
) -> Result<(), CheckError> {
    let entries = fs::read_dir(dir).map_err(|e| CheckError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CheckError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let ft = entry.file_type().map_err(|e| CheckError::io(entry.path(), e))?;
        if ft.is_symlink() {
            results.push(link_result(&rel, "a symbolic link", "replace it with the real file"));
        } else if ft.is_dir() {
            walk(&entry.path(), &rel, out, results)?;
        } else if ft.is_file() {
            out.push(rel);
        } else {
            results.push(link_result(&rel, "a special file (device, socket or FIFO)", "delete it"));
        }
    }
    Ok(())
}

fn link_result(rel: &str, what: &str, fix: &str) -> CheckResult {
    CheckResult::new(
        CheckerId::PATHS,
        CheckStatus::Blocker,
        RelPath::new(rel).ok(),
        format!("`{}` is {what}, which a release cannot contain; {fix}.", rel.escape_debug()),
    )
    .with_data(json!({ "path": rel }))
}
