//! Release artifact checks: signatures and KEYS, checksum files, the paths policy, archives, licences.
//!
//! A library in its own right: other Rust tools embed it, and the `atr-check` command runs it on a
//! local directory exactly as the server would. Results are data ([`CheckResult`]), never printed.
//! Checks take everything they depend on as arguments (a [`CheckContext`] with the reference time,
//! the project's policy and limits); they never read the clock or global state, and need no async
//! runtime.
//!
//! One entry point checks a whole directory ([`check_directory`]); each checker also has its own
//! ([`signature::check_signature_file`], [`hashes::check_hash_file`], [`paths::check_paths`]).
//!
//! ```
//! use atr_checks::{check_directory, keys::Keyring, CheckContext};
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("README"), b"hello").unwrap();
//! let ctx = CheckContext::new(std::time::SystemTime::UNIX_EPOCH);
//! let report = check_directory(dir.path(), Some(&Keyring::default()), &ctx).unwrap();
//! // No source artifact: a blocker.
//! assert_eq!(report.summary.blocker, 1);
//! ```

pub mod archive;
mod context;
mod directory;
mod error;
pub mod hashes;
pub mod keys;
pub mod licence;
pub mod paths;
mod report;
pub mod sbom;
pub mod signature;
#[cfg(feature = "testing")]
pub mod testing;
mod util;

pub use atr_core::check::{CheckResult, CheckStatus, CheckerId};
pub use context::{CheckContext, Limits};
pub use directory::{Progress, RunOptions, check_directory, check_directory_with};
pub use error::CheckError;
pub use report::{Report, Summary};
