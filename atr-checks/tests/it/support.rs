//! Shared test helpers: contexts, release directories, cached RSA keys.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use atr_checks::testing::{DAY, TestKey, t0};
use atr_checks::{CheckContext, CheckResult, CheckStatus};
use atr_core::path::RelPath;
use sequoia_openpgp::types::HashAlgorithm;

/// The reference time of most tests: 30 days after the test keys were made.
pub(crate) fn now() -> SystemTime {
    t0() + 30 * DAY
}

pub(crate) fn ctx() -> CheckContext {
    CheckContext::new(now())
}

pub(crate) fn rel(s: &str) -> RelPath {
    RelPath::new(s).unwrap()
}

/// A release directory in a temporary location.
pub(crate) struct Release {
    pub(crate) dir: tempfile::TempDir,
}

impl Release {
    pub(crate) fn new() -> Release {
        Release { dir: tempfile::tempdir().unwrap() }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Writes `name`, `name.asc` signed by `key` one day after t0, and `name.sha512`.
    pub(crate) fn signed(&self, name: &str, bytes: &[u8], key: &TestKey) {
        self.file(name, bytes);
        self.file(&format!("{name}.asc"), key.sign(bytes, t0() + DAY));
        let hex =
            atr_checks::hashes::hash_file(&self.path().join(name), atr_checks::hashes::HashAlgorithm::Sha512)
                .unwrap();
        let base = name.rsplit('/').next().unwrap();
        self.file(&format!("{name}.sha512"), format!("{hex}  {base}\n"));
    }
}

/// An Ed25519 key with an ASF user ID, generated once per test run.
pub(crate) fn asf_key() -> &'static TestKey {
    static K: OnceLock<TestKey> = OnceLock::new();
    K.get_or_init(|| TestKey::ed25519("Release Manager <rm@apache.org>"))
}

/// An RSA key of `bits` bits, cached in tests/data (RSA-4096 generation takes seconds).
pub(crate) fn rsa_key(bits: usize) -> TestKey {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/rsa-{bits}.key.asc"));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return TestKey::from_armored(&text);
    }
    let key = TestKey::rsa(bits, &format!("RSA {bits} Signer <rsa{bits}@apache.org>"), HashAlgorithm::SHA512);
    let _ = std::fs::write(&path, key.secret_armored());
    key
}

/// The results with `status`, for assertions.
pub(crate) fn with_status(results: &[CheckResult], status: CheckStatus) -> Vec<&CheckResult> {
    results.iter().filter(|r| r.status == status).collect()
}

/// Asserts that exactly one result has `status` and its message contains every one of `parts`.
#[track_caller]
pub(crate) fn assert_one(results: &[CheckResult], status: CheckStatus, parts: &[&str]) {
    let found = with_status(results, status);
    assert_eq!(found.len(), 1, "expected one {status} in {results:#?}");
    for p in parts {
        assert!(found[0].message.contains(p), "{status} message {:?} lacks {p:?}", found[0].message);
    }
}

/// Asserts that no result is worse than a note.
#[track_caller]
pub(crate) fn assert_all_notes(results: &[CheckResult]) {
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r.status == CheckStatus::Note), "{results:#?}");
}

/// The first result of `status` whose message contains `needle` in an archive report.
#[track_caller]
pub(crate) fn find<'a>(
    r: &'a atr_checks::archive::ArchiveReport,
    status: CheckStatus,
    needle: &str,
) -> &'a CheckResult {
    r.results
        .iter()
        .find(|c| c.status == status && c.message.contains(needle))
        .unwrap_or_else(|| panic!("no {status} result containing {needle:?}; results: {:#?}", r.results))
}
