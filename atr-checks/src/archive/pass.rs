//! The archive checkers' side of the single pass: one [`Visitor`] that classifies every file's
//! licence from its first bytes, spots compiled code, and keeps the few small files the rules need
//! whole (LICENSE, NOTICE, DISCLAIMER, `package.json`, RAT exclude files), all in bounded memory.

use crate::licence::headers::{self, MemberLicence};

use super::walk::{MemberInfo, Visitor};

/// Largest licence-like file kept whole (larger ones are checked on their first bytes).
pub(crate) const CAPTURE_CAP: usize = 1024 * 1024;
/// Total bytes kept whole over the whole archive.
const CAPTURE_BUDGET: usize = 8 * 1024 * 1024;

/// What a kept file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaptureKind {
    Licence,
    Notice,
    Disclaimer,
    PackageJson,
    RatExcludes,
}

/// A small file kept whole.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) path: String,
    pub(crate) kind: CaptureKind,
    pub(crate) content: Vec<u8>,
}

/// What kind of compiled code a member is.
fn compiled_kind(path: &str, head: &[u8]) -> Option<&'static str> {
    let lower = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if head.starts_with(b"\x7fELF") {
        return Some("ELF executable or library");
    }
    if [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xcf, 0xfa, 0xed, 0xfe],
    ]
    .iter()
    .any(|m| head.starts_with(m))
    {
        return Some("Mach-O executable or library");
    }
    if head.starts_with(&[0xca, 0xfe, 0xba, 0xbe]) && head.len() >= 8 {
        let major = u16::from_be_bytes([head[6], head[7]]);
        return Some(if major >= 45 { "Java class file" } else { "Mach-O universal binary" });
    }
    if head.starts_with(b"MZ") {
        let pe = head.get(0x3c..0x40).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let pe_sig = pe.and_then(|o| head.get(o..o + 4)).is_some_and(|s| s == b"PE\0\0");
        if pe_sig || matches!(ext, "exe" | "dll" | "sys") {
            return Some("Windows (PE) executable or library");
        }
    }
    if head.starts_with(b"\0asm") {
        return Some("WebAssembly module");
    }
    if head.starts_with(b"PK\x03\x04") && matches!(ext, "jar" | "war" | "ear" | "aar" | "apk" | "nar") {
        return Some("Java/Android archive");
    }
    if ext == "pyc" || ext == "pyo" {
        return Some("Python bytecode");
    }
    None
}

/// Which small file, if any, a member is kept whole as.
fn capture_kind(path: &str) -> Option<CaptureKind> {
    let segments = path.split('/').count();
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == ".rat-excludes" || name == "rat-excludes.txt" {
        return Some(CaptureKind::RatExcludes);
    }
    if segments == 2 && path.starts_with("package/") && name == "package.json" {
        return Some(CaptureKind::PackageJson);
    }
    let customary = segments <= 2 || path.contains("META-INF/") || path.contains(".dist-info/");
    if !customary {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    let stem = upper.strip_suffix(".TXT").or_else(|| upper.strip_suffix(".MD")).unwrap_or(&upper);
    match stem {
        "LICENSE" | "LICENCE" => Some(CaptureKind::Licence),
        "NOTICE" => Some(CaptureKind::Notice),
        "DISCLAIMER" | "DISCLAIMER-WIP" => Some(CaptureKind::Disclaimer),
        _ => None,
    }
}

/// The checkers' state across the pass.
#[derive(Debug, Default)]
pub(crate) struct Pass {
    head: Vec<u8>,
    capture: Option<(CaptureKind, Vec<u8>)>,
    capture_used: usize,
    /// Files kept whole.
    pub(crate) captured: Vec<Captured>,
    /// Files that could not be kept because the capture budget ran out.
    pub(crate) capture_skipped: Vec<String>,
    /// The licence verdict of every safe regular file, in archive order.
    pub(crate) verdicts: Vec<(String, MemberLicence)>,
    /// Compiled code found: (member, kind).
    pub(crate) compiled: Vec<(String, &'static str)>,
}

impl Visitor for Pass {
    fn member(&mut self, m: &MemberInfo) -> bool {
        self.head.clear();
        self.capture = None;
        if let Some(kind) = capture_kind(&m.path) {
            if self.capture_used < CAPTURE_BUDGET {
                self.capture = Some((kind, Vec::new()));
            } else {
                self.capture_skipped.push(m.path.clone());
            }
        }
        true
    }

    fn data(&mut self, chunk: &[u8]) {
        if self.head.len() < headers::HEAD_BYTES {
            let take = (headers::HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if let Some((_, buf)) = &mut self.capture {
            let room =
                CAPTURE_CAP.saturating_sub(buf.len()).min(CAPTURE_BUDGET.saturating_sub(self.capture_used));
            let take = room.min(chunk.len());
            buf.extend_from_slice(&chunk[..take]);
            self.capture_used += take;
        }
    }

    fn member_end(&mut self, m: &MemberInfo) {
        let verdict = headers::classify(&m.path, &self.head, m.size);
        if let Some(kind) = compiled_kind(&m.path, &self.head) {
            self.compiled.push((m.path.clone(), kind));
        }
        self.verdicts.push((m.path.clone(), verdict));
        if let Some((kind, content)) = self.capture.take() {
            self.captured.push(Captured { path: m.path.clone(), kind, content });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_code_by_magic() {
        assert_eq!(compiled_kind("r/a.out", b"\x7fELF\x02\x01"), Some("ELF executable or library"));
        assert_eq!(compiled_kind("r/A.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34"), Some("Java class file"));
        assert_eq!(
            compiled_kind("r/fat", b"\xca\xfe\xba\xbe\x00\x00\x00\x02"),
            Some("Mach-O universal binary")
        );
        assert_eq!(compiled_kind("r/lib/x.jar", b"PK\x03\x04"), Some("Java/Android archive"));
        assert_eq!(compiled_kind("r/data.zip", b"PK\x03\x04"), None);
        assert_eq!(compiled_kind("r/readme.txt", b"MZ is a word"), None);
    }

    #[test]
    fn kept_files() {
        assert_eq!(capture_kind("r/LICENSE"), Some(CaptureKind::Licence));
        assert_eq!(capture_kind("r/NOTICE.txt"), Some(CaptureKind::Notice));
        assert_eq!(capture_kind("META-INF/LICENSE"), Some(CaptureKind::Licence));
        assert_eq!(capture_kind("r/sub/LICENSE"), None);
        assert_eq!(capture_kind("r/DISCLAIMER-WIP"), Some(CaptureKind::Disclaimer));
        assert_eq!(capture_kind("package/package.json"), Some(CaptureKind::PackageJson));
        assert_eq!(capture_kind("r/a/b/.rat-excludes"), Some(CaptureKind::RatExcludes));
    }
}
