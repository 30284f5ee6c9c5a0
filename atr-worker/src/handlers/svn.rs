//! Import from Subversion: export a tree with the system `svn` client and place its files into
//! one new draft revision through [`atr_storage::Storage::upload`] (archives pass quarantine like
//! any upload).
//!
//! The revision is resolved once (`svn info`, so `HEAD` becomes a number) and every later command
//! uses that number as its peg revision, so the listing that is checked against the limits is the
//! tree that is exported. `svn` runs with `--non-interactive`, no credential cache, an empty
//! configuration directory, no externals (they could point anywhere), no keyword expansion (the
//! files keep the bytes that were committed), and no `--trust-server-cert-failures`: a bad TLS
//! certificate fails the import. It runs under the worker's rlimits, with a time limit and a size
//! limit enforced while it runs.
//!
//! A problem the requester must fix (the path or revision does not exist, the export is too large
//! or too slow, the repository wants credentials) completes the task with `status: failed` and a
//! message; a problem that may pass (the server cannot be reached) is a failed attempt, retried.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use atr_core::model::ReleasePhase;
use atr_core::path::RelPath;
use atr_core::svn::{ExportedKind, Placement, SvnImportArgs, SvnRevision, plan_placement};
use atr_storage::quarantine::{Upload, UploadOutcome};
use atr_storage::{NewRevision, StorageError};
use serde_json::json;

use super::{Output, TaskContext};
use crate::runner::now;

/// Why an import stopped.
#[derive(Debug)]
enum Failure {
    /// The requester must change something; retrying cannot help. Shown as is.
    Final(String),
    /// It may pass on a later attempt.
    Transient(anyhow::Error),
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::WrongPhase { .. }
            | StorageError::NotFound { .. }
            | StorageError::PathConflict { .. } => {
                Failure::Final(format!("The files could not be placed in the draft: {e}."))
            }
            other => Failure::Transient(other.into()),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Transient(e.into())
    }
}

/// Runs an `svn_import_files` task.
pub fn import(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let spec = &t.task.task.spec;
    let args: SvnImportArgs =
        serde_json::from_value(spec.task_args.clone()).context("the task's SVN import arguments")?;
    let url = args.url.clone();
    match run(t, &args) {
        Ok(mut value) => {
            value["kind"] = json!("svn_import");
            value["url"] = json!(url);
            Ok(Output { results: Vec::new(), value })
        }
        Err(Failure::Final(error)) => Ok(Output {
            results: Vec::new(),
            value: json!({ "kind": "svn_import", "status": "failed", "url": url, "error": error }),
        }),
        Err(Failure::Transient(e)) => Err(e),
    }
}

fn run(t: &TaskContext<'_>, args: &SvnImportArgs) -> Result<serde_json::Value, Failure> {
    let spec = &t.task.task.spec;
    let (Some(project), Some(version), Some(uid)) =
        (spec.project_key.clone(), spec.version_key.clone(), spec.asf_uid.clone())
    else {
        return Err(Failure::Final("The import task names no release or requester.".to_owned()));
    };
    if !["https://", "http://", "svn://", "file://"].iter().any(|s| args.url.starts_with(s))
        || args.url.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Failure::Final(format!(
            "`{}` is not a URL the import accepts.",
            args.url.escape_debug()
        )));
    }
    let limits = args.limits;
    let deadline = Instant::now() + Duration::from_secs(limits.time_limit_secs.max(1));
    let scratch = t.storage.scratch_dir("svn")?;
    let svn = Svn::new(scratch.path())?;

    // 1. One revision number for everything that follows.
    let info = svn.output(&["info", "--xml", "--", &peg(&args.url, args.revision)], deadline, args)?;
    let kind = attribute(&info, "kind").unwrap_or_default();
    let number: u64 = attribute(&info, "revision")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| Failure::Transient(anyhow!("`svn info` gave no revision for {}", args.url)))?;
    let pinned = peg(&args.url, SvnRevision::Number(number));

    // 2. The size of the tree before a byte of it is fetched.
    if kind == "dir" {
        let listing = svn.output(&["list", "--recursive", "--xml", "--", &pinned], deadline, args)?;
        let files = listing.matches("kind=\"file\"").count() as u64;
        let bytes: u64 = element_values(&listing, "size").iter().filter_map(|s| s.parse::<u64>().ok()).sum();
        check_limits(bytes, files, args, number)?;
    }

    // 3. The export, watched for size and time.
    let dest = scratch.path().join("export");
    svn.export(&pinned, &dest, deadline, args, number)?;

    // 4. What was exported, never following links.
    let mut exported = Vec::new();
    let meta = std::fs::symlink_metadata(&dest)?;
    if meta.is_file() {
        let name = args.url.trim_end_matches('/').rsplit('/').next().unwrap_or("file").to_owned();
        let single = scratch.path().join("single");
        std::fs::create_dir(&single)?;
        std::fs::rename(&dest, single.join(&name))?;
        std::fs::rename(&single, &dest)?;
    }
    walk(&dest, "", &mut exported)?;
    let (bytes, files) = usage(&dest);
    check_limits(bytes, files, args, number)?;

    // 5. Which files go where.
    let latest = t.storage.read(|tx| tx.latest_revision(&project, &version))?;
    let existing: BTreeSet<RelPath> = match latest {
        Some(n) => t.storage.revision_files(&project, &version, n)?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    let placement = plan_placement(&exported, args.target.as_ref(), &existing, args.overwrite);
    let Placement { add, replaced, skipped } = placement;
    let summary = |outcome: serde_json::Value| {
        let mut v = json!({
            "status": "imported",
            "svn_revision": number,
            "added": add.values().filter(|p| !replaced.contains(*p)).map(RelPath::as_str).collect::<Vec<_>>(),
            "replaced": replaced.iter().map(RelPath::as_str).collect::<Vec<_>>(),
            "skipped": skipped,
            "bytes": bytes,
        });
        if let (Some(o), serde_json::Value::Object(extra)) = (v.as_object_mut(), outcome) {
            o.extend(extra);
        }
        v
    };
    if add.is_empty() {
        return Ok(summary(
            json!({ "outcome": "nothing", "message": "Nothing was imported: every exported file was skipped." }),
        ));
    }

    // 6. One new revision (archives wait in quarantine first).
    let mut readers: Vec<(RelPath, LazyFile)> = add
        .iter()
        .map(|(from, to)| {
            let mut source = dest.clone();
            source.extend(from.split('/'));
            (to.clone(), LazyFile { path: source, file: None, done: false })
        })
        .collect();
    let uploads: Vec<Upload<'_>> =
        readers.iter_mut().map(|(path, r)| Upload { path: path.clone(), reader: r }).collect();
    let description = format!("Import from SVN: {} at r{number}", args.url);
    let mut req =
        NewRevision::new(project, version, uid, now(), description).in_phases(&[ReleasePhase::Draft]);
    if let Some(n) = latest {
        req = req.expecting_latest(n);
    }
    let outcome = match t.storage.upload(&req, uploads) {
        Ok(o) => o,
        Err(StorageError::NewerRevision { .. }) => {
            // The draft changed while the tree was exported: the placement may be stale.
            return Err(Failure::Transient(anyhow!("the draft changed during the import; trying again")));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(summary(match outcome {
        UploadOutcome::Revision { revision, plan } => json!({
            "outcome": "revision",
            "revision_number": revision.number.to_string(),
            "tasks": plan.enqueued.len(),
        }),
        UploadOutcome::Quarantined { quarantined, task } => json!({
            "outcome": "quarantined",
            "quarantine_id": quarantined.id,
            "validation_task": task.0,
        }),
    }))
}

/// `url@rev`: the path as it was at that revision (a peg revision, so a path deleted or moved
/// later is still found).
fn peg(url: &str, rev: SvnRevision) -> String {
    format!("{url}@{rev}")
}

fn check_limits(bytes: u64, files: u64, args: &SvnImportArgs, number: u64) -> Result<(), Failure> {
    let l = args.limits;
    if bytes > l.max_bytes {
        return Err(Failure::Final(format!(
            "The tree at {} r{number} holds {} bytes, more than the import limit of {} bytes; import a smaller directory.",
            args.url, bytes, l.max_bytes
        )));
    }
    if files > l.max_files {
        return Err(Failure::Final(format!(
            "The tree at {} r{number} holds {files} files, more than the import limit of {}; import a smaller directory.",
            args.url, l.max_files
        )));
    }
    Ok(())
}

/// The `svn` client with the options every call gets.
struct Svn {
    config_dir: PathBuf,
    home: PathBuf,
}

impl Svn {
    fn new(scratch: &Path) -> std::io::Result<Svn> {
        let config_dir = scratch.join("config");
        let home = scratch.join("home");
        std::fs::create_dir(&config_dir)?;
        std::fs::create_dir(&home)?;
        Ok(Svn { config_dir, home })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("svn");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("HOME", &self.home)
            .env("LC_ALL", "C")
            .arg("--non-interactive")
            .arg("--no-auth-cache")
            .arg("--config-dir")
            .arg(&self.config_dir)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn spawn(&self, args: &[&str], stdout: Stdio) -> Result<Child, Failure> {
        self.command(args).stdout(stdout).stderr(Stdio::piped()).spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Failure::Final(
                    "The `svn` client is not installed on the worker (Debian package `subversion`); ask an administrator."
                        .to_owned(),
                )
            } else {
                Failure::Transient(anyhow!("cannot run svn: {e}"))
            }
        })
    }

    /// Runs `svn args…` to completion (or the deadline) and returns its output.
    fn output(&self, args: &[&str], deadline: Instant, import: &SvnImportArgs) -> Result<String, Failure> {
        let mut child = self.spawn(args, Stdio::piped())?;
        // The listing of an allowed tree is at most a few hundred bytes per file.
        let cap = import.limits.max_files.saturating_mul(2048).saturating_add(1 << 20);
        let out = drain(child.stdout.take(), cap);
        let err = drain(child.stderr.take(), 1 << 20);
        let status = wait(&mut child, deadline, || None)?;
        let (stdout, stderr) = (join(out), join(err));
        match status {
            Waited::Exited(s) if s.success() => {
                if stdout.len() as u64 >= cap {
                    return Err(Failure::Final(format!(
                        "The listing of {} is larger than an import of at most {} files can be; import a smaller directory.",
                        import.url, import.limits.max_files
                    )));
                }
                Ok(stdout)
            }
            Waited::Exited(_) => Err(explain(&stderr, import, None)),
            Waited::TimedOut => Err(timed_out(import)),
            Waited::Stopped(why) => Err(Failure::Final(why)),
        }
    }

    /// Exports `url` (pinned) into `dest`, stopping it when it grows past the limits.
    fn export(
        &self,
        url: &str,
        dest: &Path,
        deadline: Instant,
        import: &SvnImportArgs,
        number: u64,
    ) -> Result<(), Failure> {
        let dest_str = dest.to_str().ok_or_else(|| Failure::Transient(anyhow!("non-UTF-8 scratch path")))?;
        let args = ["export", "--quiet", "--ignore-externals", "--ignore-keywords", "--", url, dest_str];
        let mut child = self.spawn(&args, Stdio::null())?;
        let err = drain(child.stderr.take(), 1 << 20);
        let mut last_look = Instant::now();
        let status = wait(&mut child, deadline, || {
            if last_look.elapsed() < Duration::from_millis(200) {
                return None;
            }
            last_look = Instant::now();
            let (bytes, files) = usage(dest);
            check_limits(bytes, files, import, number).err().map(|f| match f {
                Failure::Final(m) => format!("The export was stopped: {m}"),
                Failure::Transient(e) => e.to_string(),
            })
        })?;
        let stderr = join(err);
        match status {
            Waited::Exited(s) if s.success() => Ok(()),
            Waited::Exited(_) => Err(explain(&stderr, import, Some(number))),
            Waited::TimedOut => Err(timed_out(import)),
            Waited::Stopped(why) => Err(Failure::Final(why)),
        }
    }
}

enum Waited {
    Exited(std::process::ExitStatus),
    TimedOut,
    Stopped(String),
}

/// Waits for `child` until it exits, the deadline passes or `stop` gives a reason (then kills it).
fn wait(
    child: &mut Child,
    deadline: Instant,
    mut stop: impl FnMut() -> Option<String>,
) -> Result<Waited, Failure> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Waited::Exited(status));
        }
        let why = if Instant::now() >= deadline { Some(None) } else { stop().map(Some) };
        if let Some(why) = why {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(why.map_or(Waited::TimedOut, Waited::Stopped));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn timed_out(import: &SvnImportArgs) -> Failure {
    Failure::Final(format!(
        "The export of {} took longer than the limit of {} seconds and was stopped; import a smaller directory.",
        import.url, import.limits.time_limit_secs
    ))
}

/// What an `svn` error means for the requester.
fn explain(stderr: &str, import: &SvnImportArgs, number: Option<u64>) -> Failure {
    let at = match (number, import.revision) {
        (Some(n), _) | (None, SvnRevision::Number(n)) => format!("revision {n}"),
        (None, SvnRevision::Head) => "the latest revision".to_owned(),
    };
    let has = |codes: &[&str]| codes.iter().any(|c| stderr.contains(c));
    if has(&["E160006", "No such revision"]) {
        return Failure::Final(format!(
            "Revision {} does not exist in the repository of {}; give an existing revision number or HEAD.",
            import.revision, import.url
        ));
    }
    if has(&["E170000", "W170000", "E160013", "non-existent", "path not found"]) {
        return Failure::Final(format!(
            "{} does not exist at {at} of the repository; check the URL (and the revision).",
            import.url
        ));
    }
    if has(&["E215004", "E170001", "authorization failed", "Authentication"]) {
        return Failure::Final(format!(
            "The repository asks for credentials to read {}; only publicly readable paths can be imported.",
            import.url
        ));
    }
    if has(&["E230001", "certificate verification failed"]) {
        return Failure::Final(format!(
            "The TLS certificate of the server of {} could not be verified, so nothing was fetched.",
            import.url
        ));
    }
    let last: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).rev().take(3).collect();
    let text = last.into_iter().rev().collect::<Vec<_>>().join(" ");
    if has(&["E170013", "E000111", "Unable to connect", "E670002", "E175002"]) {
        return Failure::Transient(anyhow!("svn could not reach the repository of {}: {text}", import.url));
    }
    Failure::Final(format!("svn failed for {}: {text}", import.url))
}

/// Reads a pipe to its end (at most `cap` bytes kept) in a thread, so no pipe fills up.
fn drain(pipe: Option<impl Read + Send + 'static>, cap: u64) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = pipe {
            let mut limited = p.take(cap);
            let _ = limited.read_to_end(&mut buf);
            let mut rest = limited.into_inner();
            let _ = std::io::copy(&mut rest, &mut std::io::sink());
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn join(h: std::thread::JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// The value of the first `name="…"` attribute in `xml`.
fn attribute(xml: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = xml.find(&key)? + key.len();
    let end = xml[start..].find('"')?;
    Some(xml[start..start + end].to_owned())
}

/// The text of every `<name>…</name>` element in `xml`.
fn element_values<'x>(xml: &'x str, name: &str) -> Vec<&'x str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(rest[..j].trim());
        rest = &rest[j + close.len()..];
    }
    out
}

/// Bytes and regular files under `dir` (links not followed); errors count as nothing.
fn usage(dir: &Path) -> (u64, u64) {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                bytes += m.len();
                files += 1;
            }
        }
    }
    (bytes, files)
}

/// Every entry below `dir` as a `/`-separated path with its kind, in name order.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, ExportedKind)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let m = e.path().symlink_metadata()?;
        if m.is_dir() {
            walk(&e.path(), &rel, out)?;
        } else if m.is_file() {
            out.push((rel, ExportedKind::File));
        } else if m.file_type().is_symlink() {
            out.push((rel, ExportedKind::Symlink));
        } else {
            out.push((rel, ExportedKind::Other));
        }
    }
    Ok(())
}

/// A file opened on its first read and closed at its end, so an import of many files never holds
/// more than one open (the worker's open-file limit is small).
struct LazyFile {
    path: PathBuf,
    file: Option<File>,
    done: bool,
}

impl Read for LazyFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(File::open(&self.path)?),
        };
        let n = file.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.done = true;
            self.file = None;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_helpers_read_svn_output() {
        let info =
            "<info>\n<entry\n   kind=\"dir\"\n   path=\"0.2\"\n   revision=\"17\">\n<commit revision=\"3\">";
        assert_eq!(attribute(info, "kind").as_deref(), Some("dir"));
        assert_eq!(attribute(info, "revision").as_deref(), Some("17"));
        let list = "<entry kind=\"file\"><name>a</name><size>10</size></entry><entry kind=\"file\"><name>b</name><size> 5 </size></entry>";
        assert_eq!(element_values(list, "size"), ["10", "5"]);
    }

    #[test]
    fn errors_are_explained() {
        let args = SvnImportArgs {
            url: "svn://h/r/x".into(),
            revision: SvnRevision::Number(99),
            target: None,
            overwrite: false,
            limits: Default::default(),
        };
        let msg = |e: Failure| match e {
            Failure::Final(m) => m,
            Failure::Transient(e) => format!("transient: {e}"),
        };
        assert!(
            msg(explain("svn: E160006: No such revision 99", &args, None))
                .contains("Revision 99 does not exist")
        );
        assert!(
            msg(explain("svn: warning: W170000: URL 'x' non-existent", &args, Some(3)))
                .contains("does not exist at revision 3")
        );
        assert!(msg(explain("svn: E170013: Unable to connect", &args, None)).starts_with("transient"));
    }
}
