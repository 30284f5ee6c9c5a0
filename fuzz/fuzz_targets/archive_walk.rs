//! Fuzz target: the archive walker and every archive checker on arbitrary bytes.
//!
//! The first byte picks the name the bytes are checked under (`.tar.gz`, `.tar.bz2`, `.tar.xz`,
//! `.tar`, `.zip`, `.jar`), so format detection, the mismatch rule and all five readers are reached;
//! the rest is the archive. Small limits keep each run fast; any panic, hang or unbounded
//! allocation is a bug.
#![no_main]

use std::io::Cursor;

use atr_checks::archive::{ArchiveCheckContext, ArchiveLimits, ArchiveRole, check_archive_reader};
use atr_core::path::RelPath;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "apache-foo-1.0-src.tar.gz",
    "apache-foo-1.0-src.tar.bz2",
    "apache-foo-1.0-src.tar.xz",
    "apache-foo-1.0-src.tar",
    "apache-foo-1.0-src.zip",
    "apache-foo-1.0.jar",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, archive)) = data.split_first() else { return };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let role = if selector & 0x80 == 0 { ArchiveRole::Source } else { ArchiveRole::Binary };
    let limits = ArchiveLimits {
        max_total_bytes: 16 << 20,
        max_members: 2_000,
        max_member_bytes: 8 << 20,
        max_ratio: 100,
        max_depth: 32,
    };
    let ctx = ArchiveCheckContext::new(role).with_podling(selector & 0x40 != 0).with_limits(limits);
    let report = check_archive_reader(Cursor::new(archive), &RelPath::new(name).expect("valid name"), &ctx);
    // Invariants: a complete walk has a tree hash, an incomplete one has none; every result names the file.
    assert_eq!(report.complete, report.tree_hash.is_some());
    assert!(report.uncompressed_bytes <= limits.max_total_bytes + (1 << 20));
    assert!(report.listing.len() as u64 <= limits.max_members + 1);
    assert!(report.results.iter().all(|r| r.primary_rel_path.as_ref().map(|p| p.as_str()) == Some(name)));
});
