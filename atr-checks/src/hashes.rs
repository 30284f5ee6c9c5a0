//! Checksum files: `.sha256` / `.sha512` in every common format, and the legacy `.md5` / `.sha1` / `.sha`.
//!
//! Accepted formats (upper or lower case hex, one or many lines):
//! - GNU coreutils: `HASH  name` and `HASH *name` (binary mode);
//! - a bare `HASH`;
//! - BSD / `shasum --tag` / FreeBSD: `SHA512 (name) = HASH`;
//! - `gpg --print-md`: `name: HASH IN GROUPS` (possibly wrapped over several lines).
//!
//! A line naming another file is ignored when another line names the artifact.
//!
//! ```
//! use atr_checks::hashes::{parse_hash_file, HashAlgorithm};
//! let hex = "a".repeat(128);
//! let entries = parse_hash_file(&format!("SHA512 (foo.tar.gz) = {hex}\n"), HashAlgorithm::Sha512).unwrap();
//! assert_eq!(entries[0].name.as_deref(), Some("foo.tar.gz"));
//! assert_eq!(entries[0].hex, hex);
//! ```

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use serde_json::json;
use sha2::Digest;

use crate::context::CheckContext;
use crate::error::{CheckError, read_limited};

const CHECKER: CheckerId = CheckerId::HASHING;

/// A checksum algorithm the checker verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (`.sha256`).
    Sha256,
    /// SHA-512 (`.sha512`).
    Sha512,
}

impl HashAlgorithm {
    /// Length of the digest in hex characters.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 64,
            HashAlgorithm::Sha512 => 128,
        }
    }

    /// The name used in messages and BSD-style lines (`SHA256`, `SHA512`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "SHA256",
            HashAlgorithm::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One checksum found in a checksum file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashEntry {
    /// The file name the line names, if any.
    pub name: Option<String>,
    /// The checksum, lower-case hex.
    pub hex: String,
}

/// Why a checksum file could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashParseError {
    /// Not UTF-8 text.
    #[error("the file is not text; write it with `sha512sum NAME > NAME.sha512`")]
    NotText,
    /// No checksum at all.
    #[error("the file holds no checksum; write it with `sha512sum NAME > NAME.sha512`")]
    Empty,
    /// A line that is none of the known formats, or a checksum of the wrong length.
    #[error(
        "line {line} is not a {algo} checksum line (`HASH  NAME`, `HASH`, or `{algo} (NAME) = HASH` with {len} hex digits); regenerate the file with `{cmd} NAME`"
    )]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The algorithm expected.
        algo: HashAlgorithm,
        /// Expected number of hex digits.
        len: usize,
        /// The command that writes a good file.
        cmd: &'static str,
    },
}

fn bad_line(line: usize, algo: HashAlgorithm) -> HashParseError {
    let cmd = match algo {
        HashAlgorithm::Sha256 => "sha256sum",
        HashAlgorithm::Sha512 => "sha512sum",
    };
    HashParseError::BadLine { line, algo, len: algo.hex_len(), cmd }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses the text of a checksum file for `algo`. Pure; never panics on any input.
pub fn parse_hash_file(text: &str, algo: HashAlgorithm) -> Result<Vec<HashEntry>, HashParseError> {
    let len = algo.hex_len();
    // Editors on Windows may prepend a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // gpg --print-md: "name: HEX HEX …" possibly over several lines.
    if let Some(entry) = parse_print_md(text, len) {
        return Ok(vec![entry]);
    }
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        entries.push(parse_line(line, len).ok_or_else(|| bad_line(i + 1, algo))?);
    }
    if entries.is_empty() {
        return Err(HashParseError::Empty);
    }
    Ok(entries)
}

fn parse_line(line: &str, len: usize) -> Option<HashEntry> {
    // BSD: `SHA512 (name) = HEX` or `SHA512(name)= HEX`.
    if let Some(open) = line.find('(')
        && line[..open].trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !line[..open].trim().is_empty()
        && let Some(eq) = line.rfind('=')
    {
        let hex = line[eq + 1..].trim();
        let head = line[..eq].trim_end();
        if let Some(name) = head.strip_suffix(')')
            && is_hex(hex, len)
        {
            return Some(HashEntry {
                name: Some(name[open + 1..].to_owned()),
                hex: hex.to_ascii_lowercase(),
            });
        }
    }
    // GNU: `HEX  name`, `HEX *name`, `HEX name`, or bare `HEX`.
    let (hex, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim_start()),
        None => (line, ""),
    };
    if !is_hex(hex, len) {
        return None;
    }
    let name = rest.strip_prefix('*').unwrap_or(rest);
    Some(HashEntry { name: (!name.is_empty()).then(|| name.to_owned()), hex: hex.to_ascii_lowercase() })
}

fn parse_print_md(text: &str, len: usize) -> Option<HashEntry> {
    let (name, rest) = text.split_once(':')?;
    let name = name.trim();
    if name.is_empty() || name.contains('\n') {
        return None;
    }
    let hex: String = rest.chars().filter(|c| !c.is_whitespace()).collect();
    is_hex(&hex, len).then(|| HashEntry { name: Some(name.to_owned()), hex: hex.to_ascii_lowercase() })
}

/// Computes the checksum of a file, streaming it in 256 KiB blocks. Returns lower-case hex.
///
/// ```
/// use atr_checks::hashes::{hash_file, HashAlgorithm};
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("x");
/// std::fs::write(&p, b"abc").unwrap();
/// assert!(hash_file(&p, HashAlgorithm::Sha256).unwrap().starts_with("ba7816bf"));
/// ```
pub fn hash_file(path: &Path, algo: HashAlgorithm) -> Result<String, CheckError> {
    let file = File::open(path).map_err(|e| CheckError::io(path, e))?;
    match algo {
        HashAlgorithm::Sha256 => hash_reader::<sha2::Sha256>(file, path),
        HashAlgorithm::Sha512 => hash_reader::<sha2::Sha512>(file, path),
    }
}

fn hash_reader<D: Digest>(mut r: impl Read, path: &Path) -> Result<String, CheckError> {
    let mut d = D::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => d.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CheckError::io(path, e)),
        }
    }
    Ok(to_hex(&d.finalize()))
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// What the hashing checker does with a file, judged by its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashFileKind {
    /// A checksum to verify.
    Verify(HashAlgorithm),
    /// `.md5`: forbidden (blocker).
    Md5,
    /// `.sha1` or `.sha`: deprecated (concern).
    Sha1,
}

/// The kind of checksum file `name` is, or `None` if it is not one.
///
/// ```
/// use atr_checks::hashes::{hash_file_kind, HashAlgorithm, HashFileKind};
/// assert_eq!(hash_file_kind("a.tar.gz.sha512"), Some(("a.tar.gz", HashFileKind::Verify(HashAlgorithm::Sha512))));
/// assert_eq!(hash_file_kind("a.tar.gz.md5"), Some(("a.tar.gz", HashFileKind::Md5)));
/// assert_eq!(hash_file_kind("a.tar.gz"), None);
/// ```
pub fn hash_file_kind(name: &str) -> Option<(&str, HashFileKind)> {
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() {
        return None;
    }
    let kind = match ext.to_ascii_lowercase().as_str() {
        "sha256" => HashFileKind::Verify(HashAlgorithm::Sha256),
        "sha512" => HashFileKind::Verify(HashAlgorithm::Sha512),
        "md5" => HashFileKind::Md5,
        "sha1" | "sha" => HashFileKind::Sha1,
        _ => return None,
    };
    Some((stem, kind))
}

/// Checks one checksum file `hash_rel` in the release directory `root`.
///
/// Results: `note` when the checksum matches; `blocker` on a mismatch (showing both values),
/// a missing artifact, an unreadable format, or an `.md5` file; `concern` for `.sha1` / `.sha`;
/// `exception` when a file cannot be read.
///
/// ```
/// use atr_checks::{hashes::check_hash_file, CheckContext};
/// use atr_core::{check::CheckStatus, path::RelPath};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.tar.gz"), b"abc").unwrap();
/// std::fs::write(dir.path().join("a.tar.gz.sha256"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.tar.gz\n").unwrap();
/// let ctx = CheckContext::new(std::time::UNIX_EPOCH);
/// let r = check_hash_file(dir.path(), &RelPath::new("a.tar.gz.sha256").unwrap(), &ctx);
/// assert_eq!(r[0].status, CheckStatus::Note);
/// ```
pub fn check_hash_file(root: &Path, hash_rel: &RelPath, ctx: &CheckContext) -> Vec<CheckResult> {
    let name = hash_rel.file_name();
    let Some((artifact_name, kind)) = hash_file_kind(name) else {
        return vec![result(
            CheckStatus::Exception,
            hash_rel,
            format!(
                "`{name}` is not a checksum file this checker knows; it handles .sha256, .sha512, .sha1, .sha and .md5."
            ),
        )];
    };
    let artifact_rel = match hash_rel.parent() {
        Some(dir) => RelPath::new(format!("{dir}/{artifact_name}")),
        None => RelPath::new(artifact_name),
    };
    let algo = match kind {
        HashFileKind::Md5 => {
            return vec![result(
                CheckStatus::Blocker,
                hash_rel,
                format!(
                    "`{name}` is an MD5 checksum, which ASF policy forbids; delete it and provide `{artifact_name}.sha512` (made with `sha512sum {artifact_name}`)."
                ),
            )];
        }
        HashFileKind::Sha1 => {
            return vec![result(
                CheckStatus::Concern,
                hash_rel,
                format!(
                    "`{name}` is a SHA-1 checksum, which ASF policy says new releases should not provide; delete it and provide `{artifact_name}.sha512` instead (it was not verified)."
                ),
            )];
        }
        HashFileKind::Verify(algo) => algo,
    };
    let Ok(artifact_rel) = artifact_rel else {
        return vec![result(
            CheckStatus::Blocker,
            hash_rel,
            format!(
                "`{name}` names no valid artifact; name it after the file it checks, such as `foo-1.0.tar.gz.sha512`."
            ),
        )];
    };
    let artifact_path = root.join(artifact_rel.as_str());
    if !artifact_path.is_file() {
        return vec![result(
            CheckStatus::Blocker,
            hash_rel,
            format!(
                "`{name}` is a checksum of `{artifact_rel}`, which is not in the release; upload `{artifact_rel}` or delete `{name}`."
            ),
        )];
    }
    let text = match read_limited(&root.join(hash_rel.as_str()), ctx.limits.max_hash_file_bytes, "checksum") {
        Ok(b) => b,
        Err(e) => return vec![e.to_result(CHECKER, Some(hash_rel.clone()))],
    };
    let entries = match std::str::from_utf8(&text)
        .map_err(|_| HashParseError::NotText)
        .and_then(|t| parse_hash_file(t, algo))
    {
        Ok(e) => e,
        Err(e) => {
            return vec![result(
                CheckStatus::Blocker,
                hash_rel,
                format!("`{name}` cannot be read as a checksum file: {e}."),
            )];
        }
    };
    let named: Vec<&HashEntry> =
        entries.iter().filter(|e| e.name.as_deref().is_some_and(|n| names_file(n, artifact_name))).collect();
    let candidates: Vec<&HashEntry> = if named.is_empty() { entries.iter().collect() } else { named };
    let computed = match hash_file(&artifact_path, algo) {
        Ok(h) => h,
        Err(e) => return vec![e.to_result(CHECKER, Some(hash_rel.clone()))],
    };
    let expected: Vec<&str> = candidates.iter().map(|e| e.hex.as_str()).collect();
    let data = json!({
        "algorithm": algo.name(),
        "artifact": artifact_rel.as_str(),
        "computed": computed,
        "expected": if expected.len() == 1 { json!(expected[0]) } else { json!(expected) },
    });
    if expected.iter().any(|e| constant_time_eq(e.as_bytes(), computed.as_bytes())) {
        return vec![
            result(
                CheckStatus::Note,
                hash_rel,
                format!("The {algo} checksum of `{artifact_rel}` matches `{name}`."),
            )
            .with_data(data),
        ];
    }
    vec![
        result(
            CheckStatus::Blocker,
            hash_rel,
            format!(
                "The {algo} checksum of `{artifact_rel}` is {computed}, but `{name}` says {}; the file changed after the checksum was made or the checksum belongs to another file, so re-upload the right artifact or regenerate `{name}`.",
                expected.join(" or ")
            ),
        )
        .with_data(data),
    ]
}

fn names_file(listed: &str, artifact: &str) -> bool {
    listed == artifact || listed.rsplit('/').next() == Some(artifact)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn result(status: CheckStatus, path: &RelPath, message: String) -> CheckResult {
    CheckResult::new(CHECKER, status, Some(path.clone()), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[track_caller]
    fn one(text: &str, name: Option<&str>) {
        let e = parse_hash_file(text, HashAlgorithm::Sha512).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(e.len(), 1, "{text:?}");
        assert_eq!(e[0].hex, H);
        assert_eq!(e[0].name.as_deref(), name, "{text:?}");
    }

    #[test]
    fn formats() {
        one(&format!("{H}  foo.tar.gz\n"), Some("foo.tar.gz"));
        one(&format!("{H} *foo.tar.gz"), Some("foo.tar.gz"));
        one(&format!("{}\n", H.to_uppercase()), None);
        one(H, None);
        one(&format!("SHA512 (foo.tar.gz) = {H}\n"), Some("foo.tar.gz"));
        one(&format!("SHA512(foo.tar.gz)= {}\n", H.to_uppercase()), Some("foo.tar.gz"));
        one(&format!("SHA2-512(foo (1).tar.gz)= {H}\n"), Some("foo (1).tar.gz"));
        one(&format!("\u{feff}{H}  foo.tar.gz\r\n"), Some("foo.tar.gz"));
        one(&format!("{H}  ./foo.tar.gz\n"), Some("./foo.tar.gz"));
        let grouped: Vec<String> =
            H.to_uppercase().as_bytes().chunks(8).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
        one(
            &format!("foo.tar.gz: {}\n{}\n", grouped[..8].join(" "), grouped[8..].join(" ")),
            Some("foo.tar.gz"),
        );
        let many = parse_hash_file(&format!("{H}  a\n\n{H}  b\r\n"), HashAlgorithm::Sha512).unwrap();
        assert_eq!(many.len(), 2);
    }

    #[test]
    fn bad_inputs() {
        assert_eq!(parse_hash_file("\n\n", HashAlgorithm::Sha512), Err(HashParseError::Empty));
        let e = parse_hash_file(&format!("{}  x", &H[..64]), HashAlgorithm::Sha512).unwrap_err();
        assert!(e.to_string().contains("line 1") && e.to_string().contains("sha512sum"), "{e}");
        assert!(parse_hash_file("zz  x", HashAlgorithm::Sha256).is_err());
        assert!(parse_hash_file("SHA512 (x) = nothex", HashAlgorithm::Sha512).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse_hash_file(&s, HashAlgorithm::Sha256);
            let _ = parse_hash_file(&s, HashAlgorithm::Sha512);
        }
    }
}
