//! What only the project's surroundings can give a test: the folder `../shared` beside a
//! checkout (the real `atr` client, the script that fetches real Apache releases, and their
//! expected verdicts). CI has it; a fresh clone does not.
//!
//! This is the one place that names `../shared`. A test asks [`beside`] for what it needs and,
//! when that is missing, passes after one `SKIPPED: <what> is not available (<how to get it>)`
//! line; a tidy test (atr-core's `tests/it/tidy.rs`) fails on any other file that reads it.
//!
//! The project's own fixtures are in the repository, under `tests/fixtures/`
//! ([`fixture_release`]); tests that can use them never need the surroundings.

use std::io::Write;
use std::path::PathBuf;

/// Where the surroundings are, relative to the checkout.
pub const SHARED: &str = "../shared";

/// The checkout this crate was built from.
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project's own signed fixture release, `tests/fixtures/apache-test-0.2`: the tarball, its
/// `.asc` and `.sha512`, and `signer.asc`, the public key that signed it.
pub fn fixture_release() -> PathBuf {
    workspace().join("tests/fixtures/apache-test-0.2")
}

/// The path `rel` inside [`SHARED`] when it exists; otherwise `None`, after writing one line
/// `SKIPPED: <what> is not available (<how>)` to the test's standard error (past the test
/// harness's capture, so `cargo test` shows it even when the test passes).
pub fn beside(rel: &str, what: &str, how: &str) -> Option<PathBuf> {
    let path = workspace().join(SHARED).join(rel);
    if path.exists() {
        return Some(path);
    }
    skipped(what, how);
    None
}

/// Writes the one `SKIPPED:` line of a test that cannot run here, past the harness's capture.
pub fn skipped(what: &str, how: &str) {
    let line = format!("SKIPPED: {what} is not available ({how})\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}
