//! The strict parser of the one command the SSH service runs: `rsync --server …` as sent by
//! `rsync -av [--delete] -e 'ssh -p 2222' dir/ uid@host:/<project>/<version>/[target]`.
//!
//! Everything the client may ask for is named here; anything else is refused with a message
//! that says what to type instead. The parsed request is rebuilt into the argument list of our
//! own `rsync --server` (never the client's string), with the path rewritten under the upload's
//! interim directory.

use std::ffi::OsString;
use std::path::Path;

use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::path::RelPath;

/// The command line users should type, shown in refusals.
pub(crate) const USAGE: &str =
    "rsync -av [--delete] -e 'ssh -p 2222' your-dir/ UID@HOST:/PROJECT/VERSION/ (download: swap the two)";

/// Short flags the client's `-a`/`-av` sends (before the `e.` client-information part).
const REQUIRED_FLAGS: &[char] = &['D', 'g', 'l', 'o', 'p', 'r', 't'];

/// Which way the files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The client uploads into the draft; `delete` mirrors the client's tree (`--delete`).
    Upload {
        /// Whether files absent on the client are removed from the draft.
        delete: bool,
    },
    /// The client downloads the latest revision (`--sender` on our side).
    Download,
}

/// A parsed, accepted `rsync --server` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RsyncRequest {
    /// Upload or download.
    pub(crate) direction: Direction,
    /// The validated short-flag word (such as `-vlogDtpre.iLsfxCIvu`), passed on unchanged.
    pub(crate) flags: String,
    /// Whether the client sent `--dirs` (passed on unchanged).
    pub(crate) dirs: bool,
    /// The release's project.
    pub(crate) project: ProjectKey,
    /// The release's version.
    pub(crate) version: VersionKey,
    /// A directory inside the release (uploads only); `None` for the release root.
    pub(crate) target: Option<RelPath>,
    /// Whether the client's path ended with `/`.
    pub(crate) trailing_slash: bool,
}

impl RsyncRequest {
    /// The arguments of our `rsync` (after the program name), serving `root` (the interim
    /// directory of an upload, or the latest revision for a download) in place of the client's path.
    ///
    /// Server-side options keep existing (hard-linked) files unchanged: `--no-super` (no owners,
    /// no device files even when we run as root), `--chmod` (the read-only modes of revision files,
    /// so attribute updates never touch a shared inode), `--munge-links` (a symbolic link can never
    /// point out of the tree; they are refused after the transfer anyway).
    pub(crate) fn server_args(&self, root: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--server".into()];
        if self.direction == Direction::Download {
            args.push("--sender".into());
        }
        args.push(self.flags.clone().into());
        if self.dirs {
            args.push("--dirs".into());
        }
        if self.direction == (Direction::Upload { delete: true }) {
            args.push("--delete".into());
        }
        args.extend(["--no-super", "--munge-links"].map(OsString::from));
        if matches!(self.direction, Direction::Upload { .. }) {
            args.push("--chmod=F444,D755".into());
        }
        args.push(".".into());
        let mut path = root.to_path_buf();
        if let Some(t) = &self.target {
            path.extend(t.segments());
        }
        let mut path = path.into_os_string();
        if self.trailing_slash || self.target.is_none() {
            path.push("/");
        }
        args.push(path);
        args
    }
}

/// Why a command is refused (the message is shown to the client as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

fn refuse(msg: impl Into<String>) -> Refused {
    Refused(msg.into())
}

/// Parses the exec request `command` (as the SSH client sent it).
pub(crate) fn parse(command: &[u8]) -> Result<RsyncRequest, Refused> {
    let command = std::str::from_utf8(command)
        .map_err(|_| refuse(format!("This service runs only rsync uploads and downloads: {USAGE}")))?;
    if command.contains('\\') || command.chars().any(|c| c.is_control() && c != ' ') {
        return Err(refuse(
            "Paths with spaces, backslashes or control characters are not accepted; \
             a release path is /PROJECT/VERSION/.",
        ));
    }
    let mut words = command.split(' ').filter(|w| !w.is_empty());
    if words.next() != Some("rsync") || words.next() != Some("--server") {
        let shown: String = command.chars().take(60).collect();
        return Err(refuse(format!(
            "`{shown}` is refused: this service runs only rsync uploads and downloads, as in: {USAGE}"
        )));
    }
    let mut sender = false;
    let mut flags = None;
    let mut dirs = false;
    let mut delete = false;
    let mut rest = Vec::new();
    for w in words {
        match w {
            "--sender" if flags.is_none() && !sender => sender = true,
            "--dirs" if !dirs => dirs = true,
            "--delete" if !delete => delete = true,
            w if w.starts_with('-') && !w.starts_with("--") && flags.is_none() => {
                flags = Some(check_flags(w)?);
            }
            w if w.starts_with('-') => {
                return Err(refuse(format!(
                    "The rsync option `{w}` is not accepted; use {USAGE} (only -av and --delete)."
                )));
            }
            w => rest.push(w),
        }
    }
    let flags = flags.ok_or_else(|| refuse(format!("The rsync flags are missing; use {USAGE}.")))?;
    if sender && delete {
        return Err(refuse("`--delete` is only accepted when uploading."));
    }
    let [".", path] = rest[..] else {
        return Err(refuse(format!(
            "Give exactly one release path, such as /PROJECT/VERSION/; use {USAGE} with one source directory."
        )));
    };
    let (project, version, target, trailing_slash) = parse_path(path)?;
    if sender && target.is_some() {
        return Err(refuse("Downloads serve the whole release: use /PROJECT/VERSION/ as the source."));
    }
    Ok(RsyncRequest {
        direction: if sender { Direction::Download } else { Direction::Upload { delete } },
        flags: flags.to_owned(),
        dirs,
        project,
        version,
        target,
        trailing_slash,
    })
}

/// Checks the short-flag word: exactly the flags of `rsync -a` (`-Dgloprt`, `v` and `d` optional)
/// followed by the client-information part `e.…`.
fn check_flags(word: &str) -> Result<&str, Refused> {
    let body = &word[1..];
    let (short, info) = match body.find('e') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    let wrong = || {
        refuse(format!(
            "The rsync flags must be -Dgloprtv (rsync -av), not {word}; use {USAGE}. \
             Options such as -s (--secluded-args), -c, -z or --inplace are not accepted."
        ))
    };
    if !info.is_empty()
        && (!info.starts_with('.') || !info.chars().all(|c| c.is_ascii_alphabetic() || c == '.'))
    {
        return Err(wrong());
    }
    let mut seen: Vec<char> = short.chars().filter(|c| !matches!(c, 'v' | 'd')).collect();
    seen.sort_unstable();
    seen.dedup();
    if seen != REQUIRED_FLAGS || short.chars().any(|c| !c.is_ascii_alphabetic()) {
        return Err(wrong());
    }
    Ok(word)
}

fn parse_path(path: &str) -> Result<(ProjectKey, VersionKey, Option<RelPath>, bool), Refused> {
    let bad = |why: String| refuse(format!("The path `{path}` is refused: {why}. Use /PROJECT/VERSION/."));
    let Some(inner) = path.strip_prefix('/') else {
        return Err(bad("it must start with /".into()));
    };
    let trailing_slash = inner.ends_with('/');
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    let mut segments = inner.splitn(3, '/');
    let project = segments.next().unwrap_or_default();
    let project = ProjectKey::new(project).map_err(|e| bad(e.to_string()))?;
    let version = segments.next().ok_or_else(|| bad("the version is missing".into()))?;
    let version = VersionKey::new(version).map_err(|e| bad(e.to_string()))?;
    let target = match segments.next() {
        None => None,
        Some(t) => Some(RelPath::new(t).map_err(|e| bad(e.to_string()))?),
    };
    if target.is_none() && !trailing_slash {
        return Err(bad("it must end with / (the release directory)".into()));
    }
    Ok((project, version, target, trailing_slash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_of_rsync_av_are_accepted() {
        let r = parse(b"rsync --server -vlogDtpre.iLsfxCIvu . /test-client/0.2/").unwrap();
        assert_eq!(r.direction, Direction::Upload { delete: false });
        assert_eq!((r.project.as_str(), r.version.as_str(), r.target.as_ref()), ("test-client", "0.2", None));
        let r = parse(b"rsync --server -vlogDtpre.iLsfxCIvu --delete . /test-client/0.2/").unwrap();
        assert_eq!(r.direction, Direction::Upload { delete: true });
        let r = parse(b"rsync --server --sender -vlogDtpre.iLsfxCIvu . /test-client/0.2/").unwrap();
        assert_eq!(r.direction, Direction::Download);
        let r = parse(b"rsync --server -logDtpre.iLsfxCIvu . /test-client/0.2/sub/dir").unwrap();
        assert_eq!(r.target.unwrap().as_str(), "sub/dir");
        let args = parse(b"rsync --server -vlogDtpre.iLsfxCIvu --delete . /p/1.0/")
            .unwrap()
            .server_args(Path::new("/state/x"));
        let args: Vec<_> = args.iter().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--server",
                "-vlogDtpre.iLsfxCIvu",
                "--delete",
                "--no-super",
                "--munge-links",
                "--chmod=F444,D755",
                ".",
                "/state/x/"
            ]
        );
    }

    #[test]
    fn everything_else_is_refused_with_the_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"ls /", "only rsync"),
            (b"sh -c 'rsync --server'", "only rsync"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu --remove-source-files . /p/1.0/", "--remove-source-files"),
            (b"rsync --server -vslogDtpre.iLsfxCIvu . /p/1.0/", "must be -Dgloprtv"),
            (b"rsync --server -vlogDtprze.iLsfxCIvu . /p/1.0/", "must be -Dgloprtv"),
            (b"rsync --server -vlogtpre.iLsfxCIvu . /p/1.0/", "must be -Dgloprtv"),
            (b"rsync --server -vlogDtpre.iLs;x . /p/1.0/", "must be -Dgloprtv"),
            (
                b"rsync --server --sender -vlogDtpre.iLsfxCIvu --delete . /p/1.0/",
                "only accepted when uploading",
            ),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /p/1.0", "must end with /"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . p/1.0/", "must start with /"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /p/", "version is missing"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /p/1.0/../../etc", ".."),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . //p/1.0/", "refused"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /p/1.0//x", "absolute"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /p/1.0/a//b", "empty segment"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /p/1.0/ /q/1.0/", "exactly one"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu . /my\\ dir/1.0/", "spaces"),
            (b"rsync --server -vlogDtpre.iLsfxCIvu", "exactly one"),
            (b"rsync --server --sender -vlogDtpre.iLsfxCIvu . /p/1.0/sub/", "whole release"),
        ];
        for (cmd, want) in cases {
            let err = parse(cmd).expect_err(&String::from_utf8_lossy(cmd)).0;
            assert!(err.contains(want), "{}: {err}", String::from_utf8_lossy(cmd));
        }
    }
}
