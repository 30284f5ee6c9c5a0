//! The single streaming walk over an archive: decompress once, enforce the limits while reading,
//! refuse hostile members, list every member, hash every file, and hand each safe file's bytes
//! to a [`Visitor`]. Nothing is ever written to disk.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use serde::{Serialize, Serializer};

use super::format::ArchiveFormat;
use super::limits::{ArchiveLimits, LimitKind};

/// Read size for member data.
const CHUNK: usize = 64 * 1024;
/// Longest GNU long name / pax record / symlink target accepted.
const MAX_NAME_RECORD: u64 = 64 * 1024;

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (its target is in [`MemberInfo::link_target`]).
    Symlink,
    /// A hard link to another member (always refused).
    HardLink,
    /// A device, FIFO, socket, sparse file or unknown type (always refused).
    Special,
}

/// One member of an archive, as listed to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    /// The member's path with `./` prefixes, empty segments and trailing `/` removed; invalid
    /// UTF-8 is shown with replacement characters.
    pub path: String,
    /// File, directory, link, …
    pub kind: MemberKind,
    /// Size in bytes (uncompressed; the declared size for members that were not read).
    pub size: u64,
    /// Unix permission bits and type as stored (0 when the archive stores none).
    pub mode: u32,
    /// Target of a symbolic or hard link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// BLAKE3 of the content of a regular file that was read to its end.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_hash")]
    pub blake3: Option<[u8; 32]>,
}

fn ser_hash<S: Serializer>(h: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match h {
        Some(h) => s.serialize_str(&hex(h)),
        None => s.serialize_none(),
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a member is refused. Each is a blocker naming the member; the walk goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemberProblem {
    NonUtf8Name,
    ControlCharacter,
    AbsolutePath,
    ParentTraversal,
    TooDeep(u64),
    LinkOutOfTree(String),
    HardLink(String),
    Special(&'static str),
    Duplicate,
    Unreadable(String),
}

/// Something the walk found that is not a normal member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// A refused member; the walk continued.
    Member { member: String, problem: MemberProblem },
    /// A limit was exceeded; the walk stopped.
    Limit { member: Option<String>, kind: LimitKind },
    /// The stream is truncated or corrupt; the walk stopped.
    Corrupt { member: Option<String>, detail: String },
}

/// Receives the safe regular files of an archive, in archive order, in one pass.
pub(crate) trait Visitor {
    /// A member was listed. Return `true` to receive the bytes of this regular file.
    fn member(&mut self, m: &MemberInfo) -> bool;
    /// The next chunk of the current file.
    fn data(&mut self, chunk: &[u8]);
    /// The current file was read to its end (not called when reading failed).
    fn member_end(&mut self, m: &MemberInfo);
}

/// Two visitors fed by one walk (the archive checkers and an extra collector, such as the SBOM's).
pub(crate) struct Tee<'a> {
    first: &'a mut dyn Visitor,
    second: &'a mut dyn Visitor,
    wants: (bool, bool),
}

impl<'a> Tee<'a> {
    pub(crate) fn new(first: &'a mut dyn Visitor, second: &'a mut dyn Visitor) -> Self {
        Tee { first, second, wants: (false, false) }
    }
}

impl Visitor for Tee<'_> {
    fn member(&mut self, m: &MemberInfo) -> bool {
        self.wants = (self.first.member(m), self.second.member(m));
        self.wants.0 || self.wants.1
    }

    fn data(&mut self, chunk: &[u8]) {
        if self.wants.0 {
            self.first.data(chunk);
        }
        if self.wants.1 {
            self.second.data(chunk);
        }
    }

    fn member_end(&mut self, m: &MemberInfo) {
        if self.wants.0 {
            self.first.member_end(m);
        }
        if self.wants.1 {
            self.second.member_end(m);
        }
    }
}

/// The result of a walk.
#[derive(Debug, Default)]
pub(crate) struct WalkOutcome {
    pub(crate) listing: Vec<MemberInfo>,
    pub(crate) problems: Vec<Problem>,
    /// Whether the whole archive was read to its end without a limit or corruption stopping it.
    pub(crate) complete: bool,
    /// Uncompressed bytes read (the whole stream for tar, member data for zip).
    pub(crate) total_bytes: u64,
}

/// Shared byte budget of one walk.
#[derive(Debug)]
struct Budget {
    limits: ArchiveLimits,
    ratio_budget: u64,
    total: Cell<u64>,
    hit: Cell<Option<LimitKind>>,
}

impl Budget {
    fn new(limits: ArchiveLimits, archive_len: u64) -> Self {
        Budget {
            limits,
            ratio_budget: limits.ratio_budget(archive_len),
            total: Cell::new(0),
            hit: Cell::new(None),
        }
    }

    fn consume(&self, n: u64) -> Result<(), LimitKind> {
        let total = self.total.get().saturating_add(n);
        self.total.set(total);
        let hit = if total > self.limits.max_total_bytes {
            Some(LimitKind::TotalBytes)
        } else if total > self.ratio_budget {
            Some(LimitKind::Ratio)
        } else {
            None
        };
        match hit {
            Some(k) => {
                self.hit.set(Some(k));
                Err(k)
            }
            None => Ok(()),
        }
    }
}

/// Counts the decompressed stream against the budget and fails once it is exhausted.
struct LimitReader<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for LimitReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(k) = self.budget.hit.get() {
            return Err(io::Error::other(format!("limit {k} exceeded")));
        }
        let n = self.inner.read(buf)?;
        self.budget.consume(n as u64).map_err(|k| io::Error::other(format!("limit {k} exceeded")))?;
        Ok(n)
    }
}

/// Per-walk bookkeeping: listing, problems, member count, duplicate detection.
struct State<'v> {
    limits: ArchiveLimits,
    out: WalkOutcome,
    seen: HashSet<String>,
    members: u64,
    visitor: &'v mut dyn Visitor,
    buf: Vec<u8>,
}

/// Why a walk stops.
enum Stop {
    Limit(Option<String>, LimitKind),
    Corrupt(Option<String>, String),
}

/// A member header as read from the archive, before validation.
struct RawMember<'a> {
    name: &'a [u8],
    kind: MemberKind,
    special: Option<&'static str>,
    size: u64,
    mode: u32,
    link: Option<&'a [u8]>,
}

impl<'v> State<'v> {
    fn new(limits: ArchiveLimits, visitor: &'v mut dyn Visitor) -> Self {
        State {
            limits,
            out: WalkOutcome::default(),
            seen: HashSet::new(),
            members: 0,
            visitor,
            buf: vec![0; CHUNK],
        }
    }

    fn member_problem(&mut self, member: &str, problem: MemberProblem) {
        self.out.problems.push(Problem::Member { member: member.to_owned(), problem });
    }

    /// Counts, validates and lists a member. Returns its index in the listing and whether it is safe.
    fn admit(&mut self, raw: RawMember<'_>) -> Result<(usize, bool), Stop> {
        let shown = String::from_utf8_lossy(raw.name).into_owned();
        self.members += 1;
        if self.members > self.limits.max_members {
            return Err(Stop::Limit(Some(shown), LimitKind::Members));
        }
        let (path, mut problems) = normalise(raw.name);
        let path = path.unwrap_or(shown);
        let depth = path.split('/').count() as u64;
        if depth > self.limits.max_depth {
            problems.push(MemberProblem::TooDeep(depth));
        }
        let link_target = raw.link.map(|l| String::from_utf8_lossy(l).into_owned());
        match raw.kind {
            MemberKind::Symlink => {
                let target = link_target.clone().unwrap_or_default();
                if link_escapes(&path, &target) {
                    problems.push(MemberProblem::LinkOutOfTree(target));
                }
            }
            MemberKind::HardLink => {
                problems.push(MemberProblem::HardLink(link_target.clone().unwrap_or_default()))
            }
            MemberKind::Special => {
                problems.push(MemberProblem::Special(raw.special.unwrap_or("special file")))
            }
            MemberKind::File | MemberKind::Directory => {}
        }
        if raw.kind != MemberKind::Directory && !path.is_empty() && !self.seen.insert(path.clone()) {
            problems.push(MemberProblem::Duplicate);
        }
        let safe = problems.is_empty();
        for p in problems {
            self.member_problem(&path, p);
        }
        self.out.listing.push(MemberInfo {
            path,
            kind: raw.kind,
            size: raw.size,
            mode: raw.mode,
            link_target,
            blake3: None,
        });
        Ok((self.out.listing.len() - 1, safe))
    }

    /// Reads a member's data to its end, feeding the visitor and the hash when the member is a safe file.
    /// `count_total` is set when the stream itself is not counted (zip).
    fn pump(
        &mut self,
        r: &mut dyn Read,
        idx: usize,
        safe: bool,
        budget: &Budget,
        count_total: bool,
    ) -> Result<u64, Stop> {
        let info = &self.out.listing[idx];
        let name = info.path.clone();
        let feed = safe && info.kind == MemberKind::File && self.visitor.member(info);
        let hash = safe && info.kind == MemberKind::File;
        let mut hasher = blake3::Hasher::new();
        let mut read = 0u64;
        loop {
            let n = match r.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if let Some(k) = budget.hit.get() {
                        return Err(Stop::Limit(Some(name), k));
                    }
                    return Err(Stop::Corrupt(Some(name), e.to_string()));
                }
            };
            read += n as u64;
            if read > self.limits.max_member_bytes {
                return Err(Stop::Limit(Some(name), LimitKind::MemberBytes));
            }
            if count_total {
                budget.consume(n as u64).map_err(|k| Stop::Limit(Some(name.clone()), k))?;
            }
            let chunk = &self.buf[..n];
            if hash {
                hasher.update(chunk);
            }
            if feed {
                self.visitor.data(chunk);
            }
        }
        let info = &mut self.out.listing[idx];
        if hash {
            info.blake3 = Some(*hasher.finalize().as_bytes());
        }
        if feed {
            self.visitor.member_end(info);
        }
        Ok(read)
    }

    fn finish(mut self, stop: Option<Stop>, budget: &Budget) -> WalkOutcome {
        match stop {
            None => self.out.complete = true,
            Some(Stop::Limit(member, kind)) => self.out.problems.push(Problem::Limit { member, kind }),
            Some(Stop::Corrupt(member, detail)) => {
                self.out.problems.push(Problem::Corrupt { member, detail })
            }
        }
        self.out.total_bytes = budget.total.get();
        self.out
    }
}

/// Normalises a raw member name. Returns the path (None when not UTF-8) and the problems of the name.
fn normalise(raw: &[u8]) -> (Option<String>, Vec<MemberProblem>) {
    let mut problems = Vec::new();
    let Ok(s) = std::str::from_utf8(raw) else {
        return (None, vec![MemberProblem::NonUtf8Name]);
    };
    if s.chars().any(char::is_control) {
        problems.push(MemberProblem::ControlCharacter);
    }
    let path = s.split('/').filter(|seg| !seg.is_empty() && *seg != ".").collect::<Vec<_>>().join("/");
    // A Windows drive (`C:`) is absolute too, also once `./` prefixes are dropped.
    let drive = |p: &str| p.len() >= 2 && p.as_bytes()[0].is_ascii_alphabetic() && p.as_bytes()[1] == b':';
    if s.starts_with('/') || s.starts_with('\\') || path.starts_with('\\') || drive(s) || drive(&path) {
        problems.push(MemberProblem::AbsolutePath);
    }
    if s.split(['/', '\\']).any(|seg| seg == "..") {
        problems.push(MemberProblem::ParentTraversal);
    }
    (Some(path), problems)
}

/// Whether a symlink at `member` pointing at `target` resolves outside the archive tree.
fn link_escapes(member: &str, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') || target.starts_with('\\') {
        return true;
    }
    if target.len() >= 2 && target.as_bytes()[0].is_ascii_alphabetic() && target.as_bytes()[1] == b':' {
        return true;
    }
    let mut depth: i64 = member.split('/').count() as i64 - 1;
    for seg in target.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Reads at most `cap` bytes of a small record (long name, pax header, symlink target).
fn read_record(r: &mut dyn Read, declared: u64, cap: u64) -> io::Result<Vec<u8>> {
    if declared > cap {
        return Err(io::Error::other(format!(
            "a name or extended header record of {declared} bytes is longer than {cap}"
        )));
    }
    let mut v = Vec::with_capacity(declared as usize);
    r.take(cap).read_to_end(&mut v)?;
    Ok(v)
}

/// Walks a tar stream (already decompressed by `decoder`) of an archive `archive_len` bytes long.
pub(crate) fn walk_tar<R: Read>(
    reader: R,
    archive_len: u64,
    limits: ArchiveLimits,
    visitor: &mut dyn Visitor,
) -> WalkOutcome {
    let budget = Budget::new(limits, archive_len);
    let mut st = State::new(limits, visitor);
    // Decompress in large blocks: the tar parser reads 512-byte headers, and each small read
    // would otherwise be a decompressor call.
    let buffered = io::BufReader::with_capacity(CHUNK, LimitReader { inner: reader, budget: &budget });
    let stop = tar_entries(buffered, &budget, &mut st).err();
    st.finish(stop, &budget)
}

fn stream_error(budget: &Budget, member: Option<String>, e: &io::Error) -> Stop {
    match budget.hit.get() {
        Some(k) => Stop::Limit(member, k),
        None => Stop::Corrupt(member, e.to_string()),
    }
}

fn tar_entries<R: Read>(reader: R, budget: &Budget, st: &mut State<'_>) -> Result<(), Stop> {
    let mut archive = tar::Archive::new(reader);
    let mut last: Option<String> = None;
    {
        let entries = archive.entries().map_err(|e| stream_error(budget, None, &e))?.raw(true);
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax_path: Option<Vec<u8>> = None;
        let mut pax_link: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        for entry in entries {
            let mut entry = entry.map_err(|e| stream_error(budget, last.clone(), &e))?;
            let header = entry.header().clone();
            let et = header.entry_type();
            let declared = entry.size();
            let rec_err = |e: io::Error, budget: &Budget| stream_error(budget, last.clone(), &e);
            if et.is_gnu_longname() {
                let mut v =
                    read_record(&mut entry, declared, MAX_NAME_RECORD).map_err(|e| rec_err(e, budget))?;
                while v.last() == Some(&0) {
                    v.pop();
                }
                long_name = Some(v);
                continue;
            }
            if et.is_gnu_longlink() {
                let mut v =
                    read_record(&mut entry, declared, MAX_NAME_RECORD).map_err(|e| rec_err(e, budget))?;
                while v.last() == Some(&0) {
                    v.pop();
                }
                long_link = Some(v);
                continue;
            }
            if et.is_pax_global_extensions() {
                read_record(&mut entry, declared, MAX_NAME_RECORD).map_err(|e| rec_err(e, budget))?;
                continue;
            }
            if et.is_pax_local_extensions() {
                let rec =
                    read_record(&mut entry, declared, MAX_NAME_RECORD).map_err(|e| rec_err(e, budget))?;
                for ext in tar::PaxExtensions::new(&rec) {
                    let ext =
                        ext.map_err(|e| Stop::Corrupt(last.clone(), format!("malformed pax header: {e}")))?;
                    match ext.key_bytes() {
                        b"path" => pax_path = Some(ext.value_bytes().to_vec()),
                        b"linkpath" => pax_link = Some(ext.value_bytes().to_vec()),
                        b"size" => {
                            let v = std::str::from_utf8(ext.value_bytes()).ok().and_then(|v| v.parse().ok());
                            pax_size = Some(v.unwrap_or(u64::MAX));
                        }
                        _ => {}
                    }
                }
                continue;
            }
            // The member size is taken from the tar header; a pax size that disagrees would make
            // parsers see different archives, so it is refused.
            if let Some(ps) = pax_size.take()
                && ps != declared
            {
                return Err(Stop::Corrupt(
                    last.clone(),
                    format!(
                        "a pax header gives the next member {ps} bytes but its tar header {declared}; members over 8 GiB are not supported"
                    ),
                ));
            }
            let name: Vec<u8> =
                pax_path.take().or(long_name.take()).unwrap_or_else(|| header.path_bytes().into_owned());
            let link: Option<Vec<u8>> = pax_link
                .take()
                .or(long_link.take())
                .or_else(|| header.link_name_bytes().map(|c| c.into_owned()));
            let (kind, special) = match et {
                tar::EntryType::Regular | tar::EntryType::Continuous => (MemberKind::File, None),
                tar::EntryType::Directory => (MemberKind::Directory, None),
                tar::EntryType::Symlink => (MemberKind::Symlink, None),
                tar::EntryType::Link => (MemberKind::HardLink, None),
                tar::EntryType::Char => (MemberKind::Special, Some("character device")),
                tar::EntryType::Block => (MemberKind::Special, Some("block device")),
                tar::EntryType::Fifo => (MemberKind::Special, Some("FIFO")),
                tar::EntryType::GNUSparse => (MemberKind::Special, Some("sparse file")),
                _ => (MemberKind::Special, Some("member of an unknown tar type")),
            };
            let mode = header.mode().unwrap_or(0);
            let raw = RawMember {
                name: &name,
                kind,
                special,
                size: declared,
                mode,
                link: if matches!(kind, MemberKind::Symlink | MemberKind::HardLink) {
                    link.as_deref()
                } else {
                    None
                },
            };
            let (idx, safe) = st.admit(raw)?;
            last = Some(st.out.listing[idx].path.clone());
            let read = st.pump(&mut entry, idx, safe, budget, false)?;
            if read < declared {
                return Err(Stop::Corrupt(
                    last.clone(),
                    format!(
                        "the stream ends after {read} of the member's {declared} bytes (truncated archive)"
                    ),
                ));
            }
        }
    }
    // Read what follows the end-of-archive marker so that the compressed stream's own checksum is verified.
    let mut rest = archive.into_inner();
    let mut sink = vec![0u8; CHUNK];
    loop {
        match rest.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(stream_error(budget, None, &e)),
        }
    }
}

/// Reads the member count from a zip's end-of-central-directory record (zip64 aware), if found.
fn zip_declared_members<R: Read + Seek>(r: &mut R, len: u64) -> io::Result<Option<u64>> {
    let tail_len = len.min(65_557 + 20);
    r.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    r.read_exact(&mut tail)?;
    let Some(pos) = tail.windows(4).rposition(|w| w == b"PK\x05\x06") else { return Ok(None) };
    if tail.len() < pos + 22 {
        return Ok(None);
    }
    let count = u64::from(u16::from_le_bytes([tail[pos + 10], tail[pos + 11]]));
    if count != 0xFFFF || pos < 20 || &tail[pos - 20..pos - 16] != b"PK\x06\x07" {
        return Ok(Some(count));
    }
    let mut off = [0u8; 8];
    off.copy_from_slice(&tail[pos - 12..pos - 4]);
    let rec = u64::from_le_bytes(off);
    if rec.saturating_add(40) > len {
        return Ok(Some(count));
    }
    r.seek(SeekFrom::Start(rec))?;
    let mut head = [0u8; 40];
    r.read_exact(&mut head)?;
    if &head[..4] != b"PK\x06\x06" {
        return Ok(Some(count));
    }
    let mut c = [0u8; 8];
    c.copy_from_slice(&head[32..40]);
    Ok(Some(u64::from_le_bytes(c)))
}

/// Walks a zip archive of `len` bytes.
pub(crate) fn walk_zip<R: Read + Seek>(
    mut reader: R,
    len: u64,
    limits: ArchiveLimits,
    visitor: &mut dyn Visitor,
) -> WalkOutcome {
    let budget = Budget::new(limits, len);
    let mut st = State::new(limits, visitor);
    let stop = zip_entries(&mut reader, len, &budget, &mut st).err();
    st.finish(stop, &budget)
}

fn zip_entries<R: Read + Seek>(
    reader: &mut R,
    len: u64,
    budget: &Budget,
    st: &mut State<'_>,
) -> Result<(), Stop> {
    match zip_declared_members(reader, len) {
        Ok(Some(n)) if n > st.limits.max_members => {
            return Err(Stop::Limit(None, LimitKind::Members));
        }
        Ok(_) => {}
        Err(e) => return Err(Stop::Corrupt(None, format!("cannot read the zip directory: {e}"))),
    }
    reader.seek(SeekFrom::Start(0)).map_err(|e| Stop::Corrupt(None, e.to_string()))?;
    let mut zip = zip::ZipArchive::new(reader)
        .map_err(|e| Stop::Corrupt(None, format!("not a readable zip archive: {e}")))?;
    for i in 0..zip.len() {
        let (name, kind, special, size, mode, encrypted) = {
            let f = zip.by_index_raw(i).map_err(|e| Stop::Corrupt(None, format!("zip entry {i}: {e}")))?;
            let mode = f.unix_mode().unwrap_or(0);
            let ftype = mode & 0o170_000;
            let (kind, special) = if f.is_dir() {
                (MemberKind::Directory, None)
            } else if f.is_symlink() {
                (MemberKind::Symlink, None)
            } else {
                match ftype {
                    0o020_000 => (MemberKind::Special, Some("character device")),
                    0o060_000 => (MemberKind::Special, Some("block device")),
                    0o010_000 => (MemberKind::Special, Some("FIFO")),
                    0o140_000 => (MemberKind::Special, Some("socket")),
                    _ => (MemberKind::File, None),
                }
            };
            (f.name_raw().to_vec(), kind, special, f.size(), mode, f.encrypted())
        };
        let link = if kind == MemberKind::Symlink {
            let mut f = zip.by_index(i).map_err(|e| {
                Stop::Corrupt(Some(String::from_utf8_lossy(&name).into_owned()), e.to_string())
            })?;
            Some(read_record(&mut f, size, MAX_NAME_RECORD).map_err(|e| {
                Stop::Corrupt(Some(String::from_utf8_lossy(&name).into_owned()), e.to_string())
            })?)
        } else {
            None
        };
        let raw = RawMember { name: &name, kind, special, size, mode, link: link.as_deref() };
        let (idx, safe) = st.admit(raw)?;
        let shown = st.out.listing[idx].path.clone();
        if kind != MemberKind::File {
            continue;
        }
        if encrypted {
            st.member_problem(&shown, MemberProblem::Unreadable("the member is encrypted".into()));
            continue;
        }
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(zip::result::ZipError::UnsupportedArchive(what)) => {
                st.member_problem(&shown, MemberProblem::Unreadable(what.to_owned()));
                continue;
            }
            Err(zip::result::ZipError::CompressionMethodNotSupported(m)) => {
                st.member_problem(
                    &shown,
                    MemberProblem::Unreadable(format!("compression method {m} is not supported")),
                );
                continue;
            }
            Err(e) => return Err(Stop::Corrupt(Some(shown), e.to_string())),
        };
        let read = st.pump(&mut f, idx, safe, budget, true)?;
        if read != size {
            return Err(Stop::Corrupt(
                Some(shown),
                format!("the member holds {read} bytes but declares {size}"),
            ));
        }
    }
    Ok(())
}

/// Most memory the xz decoder may use (xz -9 needs 65 MiB).
const XZ_MEMLIMIT: u64 = 96 << 20;

/// A reader that fails at once (a decoder that could not be set up).
struct FailingReader(String);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other(self.0.clone()))
    }
}

/// Opens the decompressor for a tar-based format.
pub(crate) fn decoder<'r, R: io::BufRead + 'r>(format: ArchiveFormat, r: R) -> Box<dyn Read + 'r> {
    match format {
        ArchiveFormat::TarGz => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        ArchiveFormat::TarBz2 => Box::new(bzip2::bufread::MultiBzDecoder::new(r)),
        ArchiveFormat::TarXz => {
            // A hostile header can ask for a dictionary of gigabytes: cap the decoder's memory.
            match liblzma::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, liblzma::stream::CONCATENATED) {
                Ok(stream) => Box::new(liblzma::bufread::XzDecoder::new_stream(r, stream)),
                Err(e) => Box::new(FailingReader(e.to_string())),
            }
        }
        ArchiveFormat::Tar | ArchiveFormat::Zip => Box::new(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_judged() {
        assert_eq!(normalise(b"./a//b/"), (Some("a/b".into()), vec![]));
        assert_eq!(normalise(b"/etc/passwd").1, vec![MemberProblem::AbsolutePath]);
        assert_eq!(normalise(b"C:\\x").1, vec![MemberProblem::AbsolutePath]);
        assert_eq!(normalise(b"./C:/Windows/x").1, vec![MemberProblem::AbsolutePath]);
        assert_eq!(normalise(b"a/../../x").1, vec![MemberProblem::ParentTraversal]);
        assert_eq!(normalise(b"a\\..\\x").1, vec![MemberProblem::ParentTraversal]);
        assert_eq!(normalise(b"a\nb").1, vec![MemberProblem::ControlCharacter]);
        assert_eq!(normalise(b"a\xffb"), (None, vec![MemberProblem::NonUtf8Name]));
        assert_eq!(normalise(b"a..b/c"), (Some("a..b/c".into()), vec![]));
    }

    proptest::proptest! {
        #[test]
        fn accepted_names_never_escape(name in "[a./\\\\:C]{0,12}") {
            let (path, problems) = normalise(name.as_bytes());
            if problems.is_empty() {
                let path = path.unwrap();
                proptest::prop_assert!(!path.starts_with('/'));
                proptest::prop_assert!(path.split(['/', '\\']).all(|seg| seg != ".."));
                proptest::prop_assert!(!link_escapes("r/x", &path) || path.is_empty());
            }
        }
    }

    #[test]
    fn links_out_of_the_tree() {
        assert!(!link_escapes("r/a/l", "../b"));
        assert!(!link_escapes("r/l", "a/../b"));
        assert!(link_escapes("r/l", "../../x"));
        assert!(link_escapes("l", ".."));
        assert!(link_escapes("r/l", "/etc/passwd"));
        assert!(link_escapes("r/l", ""));
    }
}
