//! The check context: everything a check may depend on besides its input files, passed explicitly.
//!
//! Checks never read the clock, the environment or global state: the reference time, the
//! project's classification policy, the podling flag and the resource limits all come from a
//! [`CheckContext`] that the caller builds.

use std::time::SystemTime;

use atr_core::classify::ClassificationPolicy;
use atr_core::model::MissingSbom;

use crate::archive::ArchiveLimits;

/// Resource limits for checks; a limit that is hit gives an `exception` result, never a verdict on the artifact.
///
/// ```
/// let mut limits = atr_checks::Limits::default();
/// limits.max_keys_bytes = 1 << 20;
/// assert_eq!(limits.max_signature_bytes, 1 << 20);
/// assert_eq!(limits.archive, atr_checks::archive::ArchiveLimits::DEFAULT);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest KEYS file read (ATR: 10 MiB).
    pub max_keys_bytes: u64,
    /// Largest detached signature file read (1 MiB; real ones are under 2 KiB).
    pub max_signature_bytes: u64,
    /// Largest checksum file read (1 MiB).
    pub max_hash_file_bytes: u64,
    /// Archive expansion limits (total bytes, members, member size, compression ratio, depth).
    pub archive: ArchiveLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_keys_bytes: 10 << 20,
            max_signature_bytes: 1 << 20,
            max_hash_file_bytes: 1 << 20,
            archive: ArchiveLimits::DEFAULT,
        }
    }
}

/// Everything a check needs besides the files: reference time, policy, podling flag, names, limits.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use atr_checks::CheckContext;
///
/// let ctx = CheckContext::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
///     .with_podling(true)
///     .with_names("foo", "1.0");
/// assert!(ctx.podling);
/// assert_eq!(ctx.project.as_deref(), Some("foo"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckContext {
    /// "Now" for the checks: signatures made after it are refused, and keys that expired or
    /// were revoked before it (but after signing) get a concern.
    pub reference_time: SystemTime,
    /// The project's source/binary classification patterns.
    pub policy: ClassificationPolicy,
    /// Whether the project is an Apache Incubator podling (names must contain `incubating`, DISCLAIMER required).
    pub podling: bool,
    /// The project key, if known (used in messages).
    pub project: Option<String>,
    /// The version, if known (used in messages).
    pub version: Option<String>,
    /// The committee key, if known: `private@<committee>.apache.org` keys count as automated signing keys.
    pub committee: Option<String>,
    /// Resource limits.
    pub limits: Limits,
    /// How serious a source archive without `<archive>.cdx.json` beside it is (the project's
    /// release policy on the server; default `concern`, as there).
    pub missing_sbom: MissingSbom,
}

impl CheckContext {
    /// A context at `reference_time` with the default policy (heuristics only, a missing SBOM is a
    /// concern), not a podling, default limits.
    pub fn new(reference_time: SystemTime) -> Self {
        CheckContext {
            reference_time,
            policy: ClassificationPolicy::default(),
            podling: false,
            project: None,
            version: None,
            committee: None,
            limits: Limits::default(),
            missing_sbom: MissingSbom::default(),
        }
    }

    /// Sets how serious a source archive without an SBOM is.
    pub fn with_missing_sbom(mut self, missing_sbom: MissingSbom) -> Self {
        self.missing_sbom = missing_sbom;
        self
    }

    /// Sets the podling flag.
    pub fn with_podling(mut self, podling: bool) -> Self {
        self.podling = podling;
        self
    }

    /// Sets the project's classification policy.
    pub fn with_policy(mut self, policy: ClassificationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the project and version names.
    pub fn with_names(mut self, project: impl Into<String>, version: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self.version = Some(version.into());
        self
    }

    /// Sets the committee key.
    pub fn with_committee(mut self, committee: impl Into<String>) -> Self {
        self.committee = Some(committee.into());
        self
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}
