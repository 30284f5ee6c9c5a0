//! [`CheckError`]: a check could not run (as opposed to "the artifact is bad").

use std::io;
use std::path::PathBuf;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;

/// A condition under which a check could not run. Never a verdict on the artifact: it maps to
/// an `exception` result (see [`CheckError::to_result`]).
///
/// ```
/// use atr_checks::CheckError;
/// use atr_core::check::{CheckStatus, CheckerId};
/// let e = CheckError::TooLarge { path: "x.asc".into(), size: 5, limit: 4, what: "signature" };
/// let r = e.to_result(CheckerId::SIGNATURE, None);
/// assert_eq!(r.status, CheckStatus::Exception);
/// assert!(r.message.contains("x.asc"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// A file could not be read or listed.
    #[error("could not read `{}`: {source}; check that it exists and is readable", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A file is larger than the limit for its kind.
    #[error("`{}` is {size} bytes, more than the {limit}-byte limit for a {what} file; it cannot be a genuine {what} file", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
        /// The kind of file ("signature", "KEYS", …).
        what: &'static str,
    },
    /// The path given is not a directory.
    #[error("`{}` is not a directory; give the directory that holds the release files", .0.display())]
    NotADirectory(PathBuf),
}

impl CheckError {
    /// Builds an I/O error for `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        CheckError::Io { path: path.into(), source }
    }

    /// The `exception` result reporting this error for `checker` and `path`.
    pub fn to_result(&self, checker: CheckerId, path: Option<RelPath>) -> CheckResult {
        CheckResult::new(checker, CheckStatus::Exception, path, format!("The check could not run: {self}."))
            .with_data(serde_json::json!({ "error": format!("{self:?}") }))
    }
}

/// Reads a whole file, refusing files over `limit` bytes.
pub(crate) fn read_limited(
    path: &std::path::Path,
    limit: u64,
    what: &'static str,
) -> Result<Vec<u8>, CheckError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| CheckError::io(path, e))?;
    let size = file.metadata().map_err(|e| CheckError::io(path, e))?.len();
    if size > limit {
        return Err(CheckError::TooLarge { path: path.to_owned(), size, limit, what });
    }
    let mut buf = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut buf).map_err(|e| CheckError::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(CheckError::TooLarge { path: path.to_owned(), size: buf.len() as u64, limit, what });
    }
    Ok(buf)
}
