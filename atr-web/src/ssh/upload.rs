//! One rsync transfer: the system `rsync --server` confined to an interim directory, its I/O
//! piped to the SSH channel, and on success one new revision through atr-storage.
//!
//! Upload: the interim directory `ssh-uploads/<name>/` (the storage layout's
//! [`atr_storage::layout::Layout::ssh_upload`]: state directory, same file system) is seeded with
//! hard links to the latest revision's files, so rsync compares against them and `--delete`
//! mirrors the client's tree. rsync replaces files rather than writing into them, and the server
//! options keep the modes of the seeded files, so the revision's files are never changed. After
//! rsync exits 0, the tree is compared by inode with the seed: changed files (hard-linked, not
//! copied) and removed files go through [`crate::uploads::upload_staged_files`] as one
//! [`atr_storage::quarantine::StagedUpload`] and become one new revision ("File synchronisation
//! through ssh, using rsync"), or, when any changed file is an archive, one upload held in
//! quarantine (carrying the removals too) until a worker validated it; the session waits for that
//! decision. Anything but success discards the interim directory and changes nothing.
//!
//! Limits ([`Limits`]): no new or changed file may exceed the per-file limit and together they
//! may not exceed the per-upload total. The interim tree is measured while rsync runs (rsync is
//! stopped as soon as a limit is passed) and once more, exactly, before anything is committed;
//! the client reads why on its stderr and nothing is kept.
//!
//! Download: `rsync --server --sender` serves the latest revision's directory (read only).

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use atr_core::ids::RevisionNumber;
use atr_core::lifecycle::{Command, apply};
use atr_core::model::ReleasePhase;
use atr_core::path::RelPath;
use atr_core::permissions::{Action, Actor, authorise};
use atr_storage::quarantine::{QuarantineStatus, UploadOutcome};
use russh::server::Msg;
use russh::{Channel, ChannelMsg};
use salvo::http::StatusCode;
use tokio::io::AsyncWriteExt as _;

use super::SshContext;
use super::command::{Direction, RsyncRequest};
use crate::error::WebError;
use crate::{handlers, ops, uploads};

/// The description of every revision made by an rsync upload.
pub(crate) const DESCRIPTION: &str = "File synchronisation through ssh, using rsync";

/// How long an upload with archives waits for the quarantine decision before it leaves the
/// decision to the compose page.
const QUARANTINE_WAIT: Duration = Duration::from_secs(600);

static UPLOADS: AtomicU64 = AtomicU64::new(0);

/// How often the interim tree is measured while rsync runs.
const MEASURE_EVERY: Duration = Duration::from_millis(250);

/// The limits of one rsync upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Bytes of any one new or changed file (`upload_max_bytes`).
    pub(crate) file_bytes: u64,
    /// Bytes of all new or changed files together (`rsync_max_bytes`).
    pub(crate) total_bytes: u64,
}

impl Limits {
    /// The refusal when `sizes` (new or changed files with their sizes; rsync's temporary files
    /// count too while it runs) pass a limit.
    fn check<'a>(&self, sizes: impl IntoIterator<Item = (&'a str, u64)>) -> Result<(), String> {
        let mut total = 0u64;
        for (name, size) in sizes {
            if size > self.file_bytes {
                return Err(format!(
                    "`{name}` is larger than the {} a file may have ({size} bytes or more); nothing was kept. \
                     Upload large files another way, or ask the operator to raise upload_max_bytes.",
                    human(self.file_bytes)
                ));
            }
            total = total.saturating_add(size);
            if total > self.total_bytes {
                return Err(format!(
                    "The upload brings more than the {} one rsync upload may bring; nothing was kept. \
                     Upload in smaller parts, or ask the operator to raise rsync_max_bytes.",
                    human(self.total_bytes)
                ));
            }
        }
        Ok(())
    }
}

/// `n` bytes for people ("2 GiB", "512 KiB", "100 bytes").
fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// The file rsync is receiving into its temporary file `name` (`.NAME.XXXXXX`), else `name`.
fn rsync_target_name(name: &str) -> &str {
    match name.strip_prefix('.').and_then(|rest| rest.rsplit_once('.')) {
        Some((target, suffix)) if suffix.len() == 6 && !target.is_empty() => target,
        _ => name,
    }
}

/// The regular files under `root` that are not seeded files (new, changed, or rsync's temporary
/// files), with their sizes. Errors (a file renamed meanwhile) skip the entry.
fn new_file_sizes(root: &Path, seed: &HashMap<RelPath, (u64, u64)>) -> Vec<(String, u64)> {
    let seeded: std::collections::HashSet<(u64, u64)> = seed.values().copied().collect();
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if meta.is_dir() {
                stack.push((entry.path(), format!("{prefix}{file_name}/")));
                continue;
            }
            let name = format!("{prefix}{}", rsync_target_name(&file_name));
            if meta.is_file() && !seeded.contains(&(meta.dev(), meta.ino())) {
                out.push((name, meta.len()));
            }
        }
    }
    out
}

/// Removes interim directories left by a previous run (one SSH service per state directory).
pub(crate) fn clean_leftovers(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot remove the leftovers in {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// The interim directory of one upload, removed when dropped.
#[derive(Debug)]
struct Interim {
    root: PathBuf,
}

impl Drop for Interim {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.root)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove the interim upload directory {}: {e}", self.root.display());
        }
    }
}

/// The seeded files of an interim tree and their (device, inode).
type Seed = HashMap<RelPath, (u64, u64)>;

/// What was decided before rsync runs.
#[derive(Debug)]
enum Prepared {
    Upload {
        interim: Interim,
        /// The revision the interim directory was seeded from (`None`: no release yet).
        seeded: Option<RevisionNumber>,
        /// That revision's directory.
        seed_root: Option<PathBuf>,
        /// The seeded files and their (device, inode).
        seed: HashMap<RelPath, (u64, u64)>,
    },
    Download {
        root: PathBuf,
    },
}

/// Runs `request` for `actor` on `channel` to the end: the transfer, the new revision, the
/// messages on the client's stderr, the exit status.
pub(crate) async fn run(cx: Arc<SshContext>, actor: Actor, request: RsyncRequest, channel: Channel<Msg>) {
    let (mut rd, wr) = channel.split();
    let (code, message) = match transfer(&cx, &actor, &request, &mut rd, &wr).await {
        Ok(Some(message)) => (0, message),
        Ok(None) => (0, String::new()),
        Err(Failure { code, message }) => (code, message),
    };
    if !message.is_empty() {
        let _ = wr.extended_data_bytes(1, message.into_bytes()).await;
    }
    // After rsync failed the client may have hung up already; send errors are normal then.
    let _ = wr.exit_status(code).await;
    let _ = wr.eof().await;
    let _ = wr.close().await;
}

/// Why a transfer ended without a revision.
#[derive(Debug)]
struct Failure {
    code: u32,
    message: String,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure { code: 1, message: format!("ATR: {}\n", message.into()) }
    }
}

impl From<WebError> for Failure {
    fn from(e: WebError) -> Failure {
        Failure::new(e.message)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WebError> + Send + 'static,
) -> Result<T, Failure> {
    Ok(tokio::task::spawn_blocking(f).await.map_err(WebError::from)??)
}

async fn transfer(
    cx: &Arc<SshContext>,
    actor: &Actor,
    request: &RsyncRequest,
    rd: &mut russh::ChannelReadHalf,
    wr: &russh::ChannelWriteHalf<Msg>,
) -> Result<Option<String>, Failure> {
    let prepared = {
        let (cx, actor, request) = (Arc::clone(cx), actor.clone(), request.clone());
        blocking(move || prepare(&cx, &actor, &request)).await?
    };
    let root = match &prepared {
        Prepared::Upload { interim, .. } => interim.root.clone(),
        Prepared::Download { root } => root.clone(),
    };
    let watch = match &prepared {
        Prepared::Upload { seed, .. } => Some((cx.limits, seed.clone())),
        Prepared::Download { .. } => None,
    };
    let result = run_rsync(request, &root, watch, rd, wr).await;
    if let Prepared::Upload { seed_root: Some(seed_root), seed, .. } = &prepared {
        // rsync makes a read-only file writable before it deletes it (`--delete`) unless it
        // runs as root; that file is still part of the seeded revision, so restore its mode.
        let (seed_root, files) = (seed_root.clone(), seed.keys().cloned().collect::<Vec<_>>());
        blocking(move || {
            restore_modes(&seed_root, &files);
            Ok(())
        })
        .await?;
    }
    let code = result?;
    if code != 0 {
        let what = match request.direction {
            Direction::Download => "The download failed",
            Direction::Upload { .. } => "The upload failed; nothing was changed",
        };
        return Err(Failure { code, message: format!("ATR: {what} (rsync exit code {code}).\n") });
    }
    let Prepared::Upload { interim, seeded, seed_root, seed } = prepared else {
        return Ok(None);
    };
    let compose = format!("{}/compose/{}/{}", cx.web_url, request.project, request.version);
    let outcome = {
        let (cx, actor, request) = (Arc::clone(cx), actor.clone(), request.clone());
        blocking(move || commit(&cx, &actor, &request, &interim, seeded, seed_root.as_deref(), &seed)).await?
    };
    let (p, v) = (&request.project, &request.version);
    match outcome {
        Committed::Nothing => {
            Ok(Some(format!("ATR: No file changed; revision unchanged.\nATR: {compose}\n")))
        }
        Committed::Revision(n) => Ok(Some(format!("ATR: Created revision {n} of {p} {v}\nATR: {compose}\n"))),
        Committed::Quarantined { id } => {
            let _ = wr
                .extended_data_bytes(
                    1,
                    format!("ATR: The upload holds archives: validating them before they join a revision (upload {id})…\n")
                        .into_bytes(),
                )
                .await;
            let n = wait_for_quarantine(cx, id, &compose).await?;
            let Some(n) = n else {
                return Ok(Some(format!(
                    "ATR: The archives are still being validated; the new revision appears on {compose}\n"
                )));
            };
            // The quarantined upload carries the removals mirrored by --delete: one revision.
            Ok(Some(format!("ATR: Created revision {n} of {p} {v}\nATR: {compose}\n")))
        }
    }
}

/// Decides before the transfer: the release, the permission, the phase; seeds the interim directory.
fn prepare(cx: &SshContext, actor: &Actor, request: &RsyncRequest) -> Result<Prepared, WebError> {
    let s = &cx.storage;
    let (p, v) = (&request.project, &request.version);
    let now = handlers::now();
    let state = s.release_state(p, v, now)?;
    match request.direction {
        Direction::Download => {
            authorise(actor, Action::ViewRelease, &state.project.committee_key)?;
            let release = state
                .release
                .as_ref()
                .ok_or_else(|| WebError::not_found(format!("There is no release {p} {v}.")))?;
            if !matches!(release.phase, ReleasePhase::Draft | ReleasePhase::Candidate | ReleasePhase::Preview)
            {
                return Err(WebError::forbidden(format!(
                    "{p} {v} is {}; rsync serves drafts, candidates and previews (published files are on the downloads site).",
                    release.phase.as_str()
                )));
            }
            let n = state
                .latest_revision
                .ok_or_else(|| WebError::not_found(format!("{p} {v} has no revision yet.")))?;
            Ok(Prepared::Download { root: s.layout().revision(p, v, n) })
        }
        Direction::Upload { .. } => {
            // The core decides now, before any byte is sent: start (when there is no release
            // yet) or add a revision to the draft.
            if state.release.is_none() {
                apply(&state, Command::Start { version: v.clone() }, actor, now)?;
            } else {
                let command = Command::AddRevision {
                    files: state.files.clone(),
                    description: DESCRIPTION.to_owned(),
                    expected_latest: state.latest_revision,
                };
                apply(&state, command, actor, now)?;
            }
            let n = UPLOADS.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            let interim = Interim { root: s.layout().ssh_upload(&format!("{p}-{v}-{n}-{nanos:x}")) };
            std::fs::create_dir_all(&interim.root)
                .map_err(|e| WebError::internal("create the interim directory", e))?;
            let mut seed = HashMap::new();
            let seed_root = state.latest_revision.map(|n| s.layout().revision(p, v, n));
            if let Some(root) = &seed_root {
                seed_tree(root, &interim.root, "", &mut seed)?;
            }
            if let Some(t) = &request.target {
                let mut dir = interim.root.clone();
                dir.extend(t.segments());
                if let Some(parent) = dir.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| WebError::internal("create the target directory", e))?;
                }
            }
            Ok(Prepared::Upload { interim, seeded: state.latest_revision, seed_root, seed })
        }
    }
}

/// Hard-links every file of `from` into `to` (directories made fresh, 0755), recording inodes.
fn seed_tree(
    from: &Path,
    to: &Path,
    prefix: &str,
    seed: &mut HashMap<RelPath, (u64, u64)>,
) -> Result<(), WebError> {
    let io = |e| WebError::internal("seed the interim directory", e);
    for entry in std::fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let meta = entry.metadata().map_err(io)?;
        let rel = format!("{prefix}{name}");
        if meta.is_dir() {
            std::fs::create_dir(to.join(name)).map_err(io)?;
            seed_tree(&entry.path(), &to.join(name), &format!("{rel}/"), seed)?;
        } else if meta.is_file() {
            std::fs::hard_link(entry.path(), to.join(name)).map_err(io)?;
            if let Ok(rel) = RelPath::new(rel) {
                seed.insert(rel, (meta.dev(), meta.ino()));
            }
        }
    }
    Ok(())
}

/// Makes the files of the seeded revision read-only again (0444, as storage keeps them).
fn restore_modes(seed_root: &Path, files: &[RelPath]) {
    use std::os::unix::fs::PermissionsExt as _;
    for rel in files {
        let mut path = seed_root.to_path_buf();
        path.extend(rel.segments());
        match std::fs::metadata(&path) {
            Ok(m) if m.permissions().mode() & 0o7777 != 0o444 => {
                if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)) {
                    tracing::error!("cannot make {} read-only again: {e}", path.display());
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!("cannot inspect {}: {e}", path.display()),
        }
    }
}

/// Runs our `rsync --server` in `root`, piping the channel to it; returns its exit code.
async fn run_rsync(
    request: &RsyncRequest,
    root: &Path,
    watch: Option<(Limits, Seed)>,
    rd: &mut russh::ChannelReadHalf,
    wr: &russh::ChannelWriteHalf<Msg>,
) -> Result<u32, Failure> {
    let mut child = tokio::process::Command::new("rsync")
        .args(request.server_args(root))
        .current_dir(root)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            tracing::error!("cannot run rsync: {e}");
            Failure::new("The server cannot run rsync now; try again later or upload through the web.")
        })?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Failure::new("The server cannot run rsync now."));
    };
    let input = async move {
        while let Some(msg) = rd.wait().await {
            match msg {
                ChannelMsg::Data { data } if stdin.write_all(&data).await.is_err() => break,
                ChannelMsg::Eof | ChannelMsg::Close => break,
                _ => {}
            }
        }
        drop(stdin);
        // Keep the channel open until the output side is done.
        std::future::pending::<()>().await;
    };
    let output = async {
        let (a, b) = tokio::join!(wr.data(stdout), wr.extended_data(1, stderr));
        if let Err(e) = a.and(b) {
            tracing::debug!("rsync output not delivered: {e}");
        }
    };
    // Measures the interim tree while rsync runs; ends (only) when a limit is passed.
    let limit = async {
        let Some((limits, seed)) = watch else { return std::future::pending::<Failure>().await };
        let (root, seed) = (root.to_path_buf(), Arc::new(seed));
        loop {
            tokio::time::sleep(MEASURE_EVERY).await;
            let (root, seed) = (root.clone(), Arc::clone(&seed));
            let Ok(sizes) = tokio::task::spawn_blocking(move || new_file_sizes(&root, &seed)).await else {
                continue;
            };
            if let Err(why) = limits.check(sizes.iter().map(|(n, s)| (n.as_str(), *s))) {
                return Failure::new(why);
            }
        }
    };
    let status = tokio::select! {
        () = input => unreachable!("the input side never finishes"),
        failure = limit => {
            // Stop rsync (its receiver ends with it); the caller discards the interim tree.
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(failure);
        }
        status = async { output.await; child.wait().await } => status,
    };
    let status = status.map_err(|e| {
        tracing::error!("rsync did not finish: {e}");
        Failure::new("rsync did not finish.")
    })?;
    Ok(status.code().and_then(|c| u32::try_from(c).ok()).unwrap_or(255))
}

/// What a finished upload became.
#[derive(Debug)]
enum Committed {
    /// The tree equals the latest revision.
    Nothing,
    /// A new revision.
    Revision(RevisionNumber),
    /// Held in quarantine (archives), with the files removed by `--delete`.
    Quarantined { id: i64 },
}

/// Turns the interim tree into one new revision (or a quarantined upload).
fn commit(
    cx: &SshContext,
    actor: &Actor,
    request: &RsyncRequest,
    interim: &Interim,
    seeded: Option<RevisionNumber>,
    seed_root: Option<&Path>,
    seed: &HashMap<RelPath, (u64, u64)>,
) -> Result<Committed, WebError> {
    let s = &cx.storage;
    let (p, v) = (&request.project, &request.version);
    let (changed, deleted) = diff_tree(&interim.root, seed_root, seed)?;
    if changed.is_empty() && deleted.is_empty() {
        return Ok(Committed::Nothing);
    }
    let path_of = |rel: &RelPath| {
        let mut path = interim.root.clone();
        path.extend(rel.segments());
        path
    };
    // The exact measure: no file or total over the limits is ever committed.
    let mut sizes = Vec::with_capacity(changed.len());
    for rel in &changed {
        let size = std::fs::symlink_metadata(path_of(rel))
            .map_err(|e| WebError::internal("read the uploaded tree", e))?
            .len();
        sizes.push((rel.as_str(), size));
    }
    cx.limits.check(sizes).map_err(|message| WebError::new(StatusCode::PAYLOAD_TOO_LARGE, message))?;
    let now = handlers::now();
    let mut base = seeded;
    if seeded.is_none() {
        ops::start_release(s, actor, p, v.clone(), now)?;
        base = s.release_state(p, v, now)?.latest_revision;
    }
    let state = s.release_state(p, v, now)?;
    if state.latest_revision != base {
        return Err(WebError::forbidden(format!(
            "Someone made revision {} of {p} {v} while you uploaded; nothing was changed. Run rsync again.",
            state.latest_revision.map(|n| n.to_string()).unwrap_or_default()
        )));
    }
    // Changed files are hard-linked (not copied) and removals recorded: one upload, archives
    // through quarantine with the removals, as a browser upload would.
    let mut staged = s.stage_upload()?;
    for rel in &changed {
        staged.link(rel.clone(), &path_of(rel))?;
    }
    for rel in deleted {
        staged.remove(rel);
    }
    match uploads::upload_staged_files(s, actor, p, v, DESCRIPTION, staged, now)? {
        UploadOutcome::Revision { revision, .. } => Ok(Committed::Revision(revision.number)),
        UploadOutcome::Quarantined { quarantined, .. } => Ok(Committed::Quarantined { id: quarantined.id }),
    }
}

/// Compares the interim tree with the seed: (changed or new files, removed files). A file rsync
/// did not replace has the seeded inode; a replaced one is compared by content with the seeded
/// revision's file (rsync re-sends files whose times differ, such as after quarantine).
fn diff_tree(
    root: &Path,
    seed_root: Option<&Path>,
    seed: &HashMap<RelPath, (u64, u64)>,
) -> Result<(Vec<RelPath>, Vec<RelPath>), WebError> {
    fn same_content(a: &Path, b: &Path) -> std::io::Result<bool> {
        use std::io::Read as _;
        let (mut a, mut b) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
        if a.metadata()?.len() != b.metadata()?.len() {
            return Ok(false);
        }
        let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
        loop {
            let n = a.read(&mut x)?;
            if n == 0 {
                return Ok(true);
            }
            b.read_exact(&mut y[..n])?;
            if x[..n] != y[..n] {
                return Ok(false);
            }
        }
    }
    fn walk(
        dir: &Path,
        prefix: &str,
        seed_root: Option<&Path>,
        seed: &HashMap<RelPath, (u64, u64)>,
        changed: &mut Vec<RelPath>,
        seen: &mut BTreeSet<RelPath>,
    ) -> Result<(), WebError> {
        let io = |e| WebError::internal("read the uploaded tree", e);
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                WebError::invalid(format!("The file name {name:?} is not UTF-8; rename it and upload again."))
            })?;
            let rel = format!("{prefix}{name}");
            let meta = entry.path().symlink_metadata().map_err(io)?;
            if meta.is_dir() {
                walk(&entry.path(), &format!("{rel}/"), seed_root, seed, changed, seen)?;
                continue;
            }
            if !meta.is_file() {
                return Err(WebError::invalid(format!(
                    "`{rel}` is a symbolic link or special file; a release holds regular files only. \
                     Nothing was changed."
                )));
            }
            let path = RelPath::new(rel.as_str()).map_err(|e| {
                WebError::invalid(format!("`{rel}` cannot be part of a release: {e}. Nothing was changed."))
            })?;
            let unchanged = match (seed.get(&path), seed_root) {
                (Some(&inode), _) if inode == (meta.dev(), meta.ino()) => true,
                (Some(_), Some(seed_root)) => {
                    let mut old = seed_root.to_path_buf();
                    old.extend(path.segments());
                    same_content(&entry.path(), &old).map_err(io)?
                }
                _ => false,
            };
            if !unchanged {
                changed.push(path.clone());
            }
            seen.insert(path);
        }
        Ok(())
    }
    let (mut changed, mut seen) = (Vec::new(), BTreeSet::new());
    walk(root, "", seed_root, seed, &mut changed, &mut seen)?;
    changed.sort();
    let mut deleted: Vec<RelPath> = seed.keys().filter(|p| !seen.contains(*p)).cloned().collect();
    deleted.sort();
    Ok((changed, deleted))
}

/// Waits for the decision on quarantined upload `id`: `Some(revision)` when accepted, `None`
/// when still pending after [`QUARANTINE_WAIT`].
async fn wait_for_quarantine(
    cx: &Arc<SshContext>,
    id: i64,
    compose: &str,
) -> Result<Option<RevisionNumber>, Failure> {
    let deadline = tokio::time::Instant::now() + QUARANTINE_WAIT;
    loop {
        let storage = Arc::clone(&cx.storage);
        let q = blocking(move || Ok(storage.read(|tx| tx.quarantined(id))?)).await?;
        let Some(q) = q else {
            return Err(Failure::new(format!("The quarantined upload {id} disappeared; see {compose}.")));
        };
        match q.status {
            QuarantineStatus::Accepted => return Ok(q.revision_number),
            QuarantineStatus::Failed => {
                return Err(Failure::new(format!(
                    "The upload was refused: {}. Nothing was changed; fix the files and run rsync again.",
                    q.error.as_deref().unwrap_or("the archives did not pass validation")
                )));
            }
            QuarantineStatus::Pending if tokio::time::Instant::now() >= deadline => return Ok(None),
            QuarantineStatus::Pending => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_file_or_the_total() {
        let limits = Limits { file_bytes: 1 << 20, total_bytes: 3 << 20 };
        assert!(limits.check([("a", 1 << 20), ("b", 1 << 20), ("c", 1 << 20)]).is_ok());
        let e = limits.check([("a", 1 << 20), ("big.bin", (1 << 20) + 1)]).unwrap_err();
        assert!(e.starts_with("`big.bin` is larger than the 1 MiB a file may have"), "{e}");
        let e = limits.check([("a", 1 << 20), ("b", 1 << 20), ("c", 1 << 20), ("d", 1)]).unwrap_err();
        assert!(e.contains("more than the 3 MiB one rsync upload may bring"), "{e}");
    }

    #[test]
    fn temporary_files_of_rsync_are_named_by_their_target() {
        assert_eq!(rsync_target_name(".data.bin.a1B2c3"), "data.bin");
        assert_eq!(rsync_target_name("data.bin"), "data.bin");
        assert_eq!(rsync_target_name(".hidden"), ".hidden");
        assert_eq!(human(8 << 30), "8 GiB");
        assert_eq!(human(1000), "1000 bytes");
    }
}
