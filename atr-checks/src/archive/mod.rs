//! Archive checks in one streaming pass: integrity, structure, LICENSE/NOTICE/DISCLAIMER,
//! licence headers, RAT-class licence analysis, compiled code in source archives, and the
//! listing and tree hash used for parity across formats.
//!
//! Each archive is decompressed exactly once; each member's bytes go once through every checker,
//! in bounded memory (the first [`crate::licence::HEAD_BYTES`] of each file, and licence files
//! whole up to 1 MiB). Nothing is extracted to disk. Hostile archives (traversal, absolute paths,
//! links out of the tree, hard links, devices, bombs, truncation) become blockers naming the
//! member; limits come from an explicit [`ArchiveLimits`].
//!
//! ```no_run
//! use atr_checks::archive::{check_archive, ArchiveCheckContext, ArchiveRole};
//! use atr_core::path::RelPath;
//! let rel = RelPath::new("apache-foo-1.0-src.tar.gz").unwrap();
//! let report = check_archive(std::path::Path::new("/tmp/apache-foo-1.0-src.tar.gz"), &rel,
//!     &ArchiveCheckContext::new(ArchiveRole::Source));
//! for r in &report.results { eprintln!("{} {} {}", r.status, r.checker, r.message); }
//! ```

mod format;
mod limits;
mod parity;
mod pass;
mod report;
mod structure;
mod walk;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use serde::Serialize;

pub use format::{ArchiveFormat, Container};
pub use limits::{ArchiveLimits, LimitKind};
pub use parity::parity;
pub use structure::{ROOT_SUFFIXES, accepted_roots, npm_matches};
pub(crate) use walk::Visitor;
pub use walk::{MemberInfo, MemberKind};

use crate::licence::MemberLicence;

/// Whether an archive is the source release or a convenience binary (decided by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveRole {
    /// A source package: LICENSE/NOTICE at the root, headers and licence analysis, no compiled code.
    Source,
    /// A convenience binary: LICENSE/NOTICE in the format's customary place; no header analysis.
    Binary,
}

/// Everything an archive check needs besides the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveCheckContext {
    /// Source or binary.
    pub role: ArchiveRole,
    /// Whether the project is a podling (DISCLAIMER or DISCLAIMER-WIP required).
    pub podling: bool,
    /// Expansion limits.
    pub limits: ArchiveLimits,
    /// Content of the revision's `.atr/license-headers-ignore` (gitignore syntax), if any.
    /// Patterns match the member path and the path below the root directory.
    pub header_ignore: Option<String>,
}

impl ArchiveCheckContext {
    /// A context with default limits, not a podling, no ignore file.
    pub fn new(role: ArchiveRole) -> Self {
        ArchiveCheckContext { role, podling: false, limits: ArchiveLimits::DEFAULT, header_ignore: None }
    }

    /// Sets the podling flag.
    pub fn with_podling(mut self, podling: bool) -> Self {
        self.podling = podling;
        self
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: ArchiveLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the content of `.atr/license-headers-ignore`.
    pub fn with_header_ignore(mut self, text: impl Into<String>) -> Self {
        self.header_ignore = Some(text.into());
        self
    }
}

/// Everything one pass over an archive found.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// The format the content was read as (from its magic bytes); `None` when unrecognised.
    pub format: Option<ArchiveFormat>,
    /// Check results, each keyed by checker, file and member.
    pub results: Vec<CheckResult>,
    /// Every member in archive order (path, kind, size, mode, link target, BLAKE3).
    pub listing: Vec<MemberInfo>,
    /// BLAKE3 over the sorted (path, content hash) of every file and symlink; `None` when the archive
    /// could not be read to its end. Equal hashes mean equal trees whatever the format.
    #[serde(serialize_with = "ser_opt_hash")]
    pub tree_hash: Option<[u8; 32]>,
    /// The licence verdict of every analysed regular file of a source archive: all safe files except
    /// those excluded by `.rat-excludes`/`.atr/license-headers-ignore` or inside hidden directories
    /// (empty for binaries).
    pub licences: Vec<(String, MemberLicence)>,
    /// Files per licence family (source archives; excluded files counted as `excluded`).
    pub licence_counts: BTreeMap<String, u64>,
    /// Whether the archive was read to its end.
    pub complete: bool,
    /// Uncompressed bytes read.
    pub uncompressed_bytes: u64,
}

fn ser_opt_hash<S: serde::Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&walk::hex(h)),
        None => s.serialize_none(),
    }
}

impl ArchiveReport {
    /// The tree hash as lower-case hex.
    pub fn tree_hash_hex(&self) -> Option<String> {
        self.tree_hash.map(|h| walk::hex(&h))
    }

    /// The most severe status among the results.
    pub fn worst_status(&self) -> Option<CheckStatus> {
        self.results.iter().map(|r| r.status).min()
    }

    /// Results of one checker.
    pub fn by_checker(&self, checker: CheckerId) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(move |r| r.checker == checker)
    }

    fn exception(rel: &RelPath, checker: CheckerId, message: String) -> ArchiveReport {
        ArchiveReport {
            format: None,
            results: vec![CheckResult::new(checker, CheckStatus::Exception, Some(rel.clone()), message)],
            listing: Vec::new(),
            tree_hash: None,
            licences: Vec::new(),
            licence_counts: BTreeMap::new(),
            complete: false,
            uncompressed_bytes: 0,
        }
    }
}

/// Runs every archive check on the file at `path`, known in the revision as `rel`.
pub fn check_archive(path: &Path, rel: &RelPath, ctx: &ArchiveCheckContext) -> ArchiveReport {
    let checker = integrity_checker(rel.file_name());
    match File::open(path) {
        Ok(f) => check_archive_reader(BufReader::with_capacity(64 * 1024, f), rel, ctx),
        Err(e) => ArchiveReport::exception(
            rel,
            checker,
            format!("Cannot open the archive `{}`: {e}", path.display()),
        ),
    }
}

fn integrity_checker(name: &str) -> CheckerId {
    match ArchiveFormat::from_name(name) {
        Some((ArchiveFormat::Zip, _)) => CheckerId::ZIP_INTEGRITY,
        _ => CheckerId::TARGZ_INTEGRITY,
    }
}

/// Runs every archive check on an archive read from `reader` (a file or bytes in memory).
pub fn check_archive_reader<R: Read + Seek>(
    reader: R,
    rel: &RelPath,
    ctx: &ArchiveCheckContext,
) -> ArchiveReport {
    check_archive_reader_with(reader, rel, ctx, None)
}

/// [`check_archive_reader`], also feeding every safe file to `extra` in the same pass (the SBOM's
/// manifest collector): the archive is still decompressed once.
pub(crate) fn check_archive_reader_with<R: Read + Seek>(
    mut reader: R,
    rel: &RelPath,
    ctx: &ArchiveCheckContext,
    extra: Option<&mut dyn Visitor>,
) -> ArchiveReport {
    let name = rel.file_name();
    let io_checker = integrity_checker(name);
    let sniffed = (|| -> std::io::Result<(u64, Vec<u8>)> {
        let len = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(0))?;
        let mut head = Vec::with_capacity(Container::SNIFF_LEN);
        (&mut reader).take(Container::SNIFF_LEN as u64).read_to_end(&mut head)?;
        reader.seek(SeekFrom::Start(0))?;
        Ok((len, head))
    })();
    let (len, head) = match sniffed {
        Ok(v) => v,
        Err(e) => return ArchiveReport::exception(rel, io_checker, format!("Cannot read the archive: {e}")),
    };
    let named = ArchiveFormat::from_name(name);
    let container = Container::sniff(&head);
    let content = ArchiveFormat::of_container(container);
    let mut pre = Vec::new();
    let Some(format) = content else {
        let expected = named.map_or("an archive".to_owned(), |(f, _)| format!("a {} archive", f.container()));
        pre.push(CheckResult::new(
            io_checker,
            CheckStatus::Blocker,
            Some(rel.clone()),
            format!(
                "`{name}` is not a recognised archive: its first bytes match none of gzip, bzip2, xz, zip or tar, but its name promises {expected}; upload the real archive"
            ),
        ));
        let mut r = ArchiveReport::exception(rel, io_checker, String::new());
        r.results = pre;
        return r;
    };
    if let Some((named_format, _)) = named
        && named_format.container() != container
    {
        {
            pre.push(CheckResult::new(
                io_checker,
                CheckStatus::Blocker,
                Some(rel.clone()),
                format!(
                    "`{name}` is named as a {named_format} archive but its content is {container}; give it the extension that matches its content ({}) or re-create it in the format its name promises",
                    format.extension()
                ),
            ).with_data(serde_json::json!({"named": named_format, "content": container})));
        }
    }
    let mut pass = pass::Pass::default();
    let outcome = {
        let mut tee;
        let visitor: &mut dyn Visitor = match extra {
            Some(extra) => {
                tee = walk::Tee::new(&mut pass, extra);
                &mut tee
            }
            None => &mut pass,
        };
        if format.is_tar() {
            let buffered = BufReader::with_capacity(64 * 1024, reader);
            walk::walk_tar(walk::decoder(format, buffered), len, ctx.limits, visitor)
        } else {
            walk::walk_zip(reader, len, ctx.limits, visitor)
        }
    };
    let mut report = report::assemble(rel, ctx, format, outcome, pass);
    pre.append(&mut report.results);
    report.results = pre;
    report
}
