//! `ArchiveLimits`: the explicit bounds of one archive walk, and the limit that was hit.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Bounds on what one archive may expand to. Every archive walk takes one; there are no hidden globals.
///
/// The defaults suit ASF source and convenience releases; a committee whose legitimate archive
/// exceeds one can raise that field in its release policy. Hitting a limit stops the walk at once
/// and is reported as a blocker naming the limit, its value and the field to raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveLimits {
    /// Total uncompressed bytes of the whole archive stream (default 2 GiB).
    pub max_total_bytes: u64,
    /// Number of members (files, directories, links; default 100,000).
    pub max_members: u64,
    /// Uncompressed bytes of any single member (default 1 GiB).
    pub max_member_bytes: u64,
    /// Overall compression ratio: uncompressed bytes may not exceed this many times the archive's
    /// size on disk (default 100). Checked while streaming, so a bomb stops after at most
    /// `max_ratio × max(archive size, 64 KiB)` bytes.
    pub max_ratio: u64,
    /// Path segments of a member (default 32).
    pub max_depth: u64,
}

impl ArchiveLimits {
    /// Archive sizes below this are treated as this size for the ratio limit, so that tiny
    /// legitimate archives are not refused for ordinary compression.
    pub const RATIO_FLOOR_BYTES: u64 = 64 * 1024;

    /// The documented defaults.
    pub const DEFAULT: ArchiveLimits = ArchiveLimits {
        max_total_bytes: 2 * 1024 * 1024 * 1024,
        max_members: 100_000,
        max_member_bytes: 1024 * 1024 * 1024,
        max_ratio: 100,
        max_depth: 32,
    };

    /// The most uncompressed bytes an archive of `archive_len` bytes may expand to under the ratio limit.
    pub fn ratio_budget(&self, archive_len: u64) -> u64 {
        archive_len.max(Self::RATIO_FLOOR_BYTES).saturating_mul(self.max_ratio)
    }
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits::DEFAULT
    }
}

/// Which limit of [`ArchiveLimits`] an archive exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// [`ArchiveLimits::max_total_bytes`].
    TotalBytes,
    /// [`ArchiveLimits::max_members`].
    Members,
    /// [`ArchiveLimits::max_member_bytes`].
    MemberBytes,
    /// [`ArchiveLimits::max_ratio`].
    Ratio,
    /// [`ArchiveLimits::max_depth`].
    Depth,
}

impl LimitKind {
    /// The field of [`ArchiveLimits`] (and of the release policy) that sets this limit.
    pub fn field(self) -> &'static str {
        match self {
            LimitKind::TotalBytes => "max_total_bytes",
            LimitKind::Members => "max_members",
            LimitKind::MemberBytes => "max_member_bytes",
            LimitKind::Ratio => "max_ratio",
            LimitKind::Depth => "max_depth",
        }
    }

    /// The configured value of this limit in `limits`.
    pub fn value(self, limits: &ArchiveLimits) -> u64 {
        match self {
            LimitKind::TotalBytes => limits.max_total_bytes,
            LimitKind::Members => limits.max_members,
            LimitKind::MemberBytes => limits.max_member_bytes,
            LimitKind::Ratio => limits.max_ratio,
            LimitKind::Depth => limits.max_depth,
        }
    }

    /// A one-sentence description of the limit with its value, e.g. "more than 2147483648 uncompressed bytes".
    pub fn describe(self, limits: &ArchiveLimits) -> String {
        let v = self.value(limits);
        match self {
            LimitKind::TotalBytes => format!("total uncompressed size limit of {v} bytes"),
            LimitKind::Members => format!("member count limit of {v} members"),
            LimitKind::MemberBytes => format!("single member size limit of {v} bytes"),
            LimitKind::Ratio => format!("compression ratio limit of {v}:1"),
            LimitKind::Depth => format!("path depth limit of {v} directory levels"),
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let l = ArchiveLimits::default();
        assert_eq!(l.max_total_bytes, 2 << 30);
        assert_eq!(l.max_members, 100_000);
        assert_eq!(l.max_ratio, 100);
        assert_eq!(l.max_depth, 32);
        assert_eq!(l.ratio_budget(1), 64 * 1024 * 100);
        assert_eq!(l.ratio_budget(1 << 20), 100 << 20);
        assert!(LimitKind::Ratio.describe(&l).contains("100:1"));
    }
}
