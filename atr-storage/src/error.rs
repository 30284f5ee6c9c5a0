//! `StorageError`: everything that can go wrong in the database or the state directory.
//!
//! Library code returns `StorageError`; binaries may wrap it in `anyhow`. Each message names the
//! problem and, where there is one, the fix.

use std::io;
use std::path::{Path, PathBuf};

use atr_core::ids::RevisionNumber;

/// An error of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite refused or failed an operation.
    #[error("database error while {doing}: {source}")]
    Database {
        /// What we were doing.
        doing: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The schema migrations could not be applied.
    #[error("could not migrate the database `{path}`: {source}; restore a backup or fix the migration")]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The refinery error.
        #[source]
        source: Box<refinery::Error>,
    },
    /// A file-system operation failed.
    #[error("could not {doing} `{path}`: {source}")]
    Io {
        /// What we were doing, as a verb phrase (`create directory`, `hard-link`, …).
        doing: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A row that was asked for does not exist.
    #[error("{what} `{key}` does not exist")]
    NotFound {
        /// What kind of thing (`release`, `project`, …).
        what: &'static str,
        /// Its key as shown to people.
        key: String,
    },
    /// A row with the same key already exists.
    #[error("{what} `{key}` already exists")]
    AlreadyExists {
        /// What kind of thing.
        what: &'static str,
        /// Its key as shown to people.
        key: String,
    },
    /// A referenced row (committee, project, release, …) does not exist, or rows still refer to this one.
    #[error("{what}: a row it refers to does not exist, or other rows still refer to it")]
    Reference {
        /// What we were writing.
        what: &'static str,
    },
    /// A guarded update found that the release moved on since the caller looked at it.
    #[error(
        "A newer revision appeared for {release}: you acted on revision {expected}, but the latest is {latest}. \
         Please refresh and try again."
    )]
    NewerRevision {
        /// The release, as `<project>-<version>`.
        release: String,
        /// The revision the caller saw.
        expected: RevisionNumber,
        /// The latest revision now (`none` if the release has none).
        latest: String,
    },
    /// A guarded update found the release in another phase than the caller expected.
    #[error("{release} is in phase `{actual}`, not `{expected}`; refresh the page to see its current state")]
    WrongPhase {
        /// The release, as `<project>-<version>`.
        release: String,
        /// The phase the caller expected.
        expected: String,
        /// The phase it is in.
        actual: String,
    },
    /// All revision numbers of a release are used.
    #[error("{release} already has revision 99999, the last possible number; start a new release version")]
    RevisionsExhausted {
        /// The release, as `<project>-<version>`.
        release: String,
    },
    /// The change applied to an interim revision named a file that is not there.
    #[error("`{path}` is not in the revision being prepared")]
    NoSuchFile {
        /// The relative path.
        path: String,
    },
    /// Announce would replace or mix with files that are not the release's own (see `atr_core::publish`).
    #[error("the release cannot be published there: {0}")]
    Publication(#[from] atr_core::publish::Conflict),
    /// A change would put a file where a directory is, or the reverse.
    #[error("`{path}` cannot be written: {reason}")]
    PathConflict {
        /// The relative path.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// A stored value does not parse back into its domain type.
    #[error(
        "the stored {column} value `{value}` is invalid ({reason}); the database was changed outside atr-storage"
    )]
    Corrupt {
        /// `table.column`.
        column: &'static str,
        /// The offending value (escaped).
        value: String,
        /// Why it does not parse.
        reason: String,
    },
}

impl StorageError {
    /// An I/O error about `path`.
    pub(crate) fn io(doing: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.as_ref().to_path_buf();
        move |source| StorageError::Io { doing, path, source }
    }

    /// A stored value that does not parse.
    pub(crate) fn corrupt(column: &'static str, value: &str, reason: impl std::fmt::Display) -> StorageError {
        StorageError::Corrupt { column, value: value.escape_debug().to_string(), reason: reason.to_string() }
    }
}

/// Adds "what we were doing" to a rusqlite result.
pub(crate) trait DbContext<T> {
    /// Wraps the error as [`StorageError::Database`].
    fn doing(self, doing: &'static str) -> Result<T, StorageError>;
}

impl<T> DbContext<T> for Result<T, rusqlite::Error> {
    fn doing(self, doing: &'static str) -> Result<T, StorageError> {
        self.map_err(|source| StorageError::Database { doing, source })
    }
}

/// Whether a SQLite error is a UNIQUE or PRIMARY KEY violation.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error().map(|e| e.extended_code),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    )
}

/// Whether a SQLite error is a FOREIGN KEY violation.
pub(crate) fn is_fk_violation(e: &rusqlite::Error) -> bool {
    // RESTRICT actions report the plain constraint code; deferred checks the extended one.
    match e {
        rusqlite::Error::SqliteFailure(err, msg) => {
            err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
                || (err.code == rusqlite::ErrorCode::ConstraintViolation
                    && msg.as_deref().is_some_and(|m| m.contains("FOREIGN KEY")))
        }
        _ => false,
    }
}

/// Maps an insert error: key conflicts become [`StorageError::AlreadyExists`], missing references
/// [`StorageError::Reference`], everything else [`StorageError::Database`].
pub(crate) fn insert_error(
    what: &'static str,
    key: impl std::fmt::Display,
) -> impl FnOnce(rusqlite::Error) -> StorageError {
    move |e| {
        if is_unique_violation(&e) {
            StorageError::AlreadyExists { what, key: key.to_string() }
        } else if is_fk_violation(&e) {
            StorageError::Reference { what }
        } else {
            StorageError::Database { doing: what, source: e }
        }
    }
}
