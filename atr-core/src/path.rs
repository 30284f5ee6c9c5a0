//! `RelPath`: the only way to name a file inside a revision.
//!
//! Its constructor enforces every path rule once, so no other code has to remember them:
//! no absolute paths, no `..` or `.` segments, no empty segments, no NUL or other control
//! characters, no backslashes, and no dot-files except under the `.atr/` directory.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest accepted relative path, in bytes.
pub const MAX_REL_PATH_LEN: usize = 1024;

/// A validated relative path of a file inside a revision, using `/` as separator.
///
/// ```
/// use atr_core::path::RelPath;
/// let p = RelPath::new("apache-foo-1.0.tar.gz").unwrap();
/// assert_eq!(p.file_name(), "apache-foo-1.0.tar.gz");
/// assert!(RelPath::new("../etc/passwd").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RelPath(String);

/// Why a string is not a valid [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    /// The path is empty.
    #[error("the path is empty; give a file name such as `apache-foo-1.0.tar.gz`")]
    Empty,
    /// The path is longer than [`MAX_REL_PATH_LEN`].
    #[error("the path `{0}…` is longer than {MAX_REL_PATH_LEN} bytes; use a shorter name")]
    TooLong(String),
    /// The path starts with `/`.
    #[error("the path `{0}` is absolute; give it relative to the release root, without a leading `/`")]
    Absolute(String),
    /// The path has a `..` segment.
    #[error("the path `{0}` contains `..`; paths must stay inside the release directory")]
    ParentSegment(String),
    /// The path has a `.` segment.
    #[error("the path `{0}` contains a `.` segment; remove it")]
    CurrentSegment(String),
    /// The path has an empty segment (`a//b` or a trailing `/`).
    #[error("the path `{0}` contains an empty segment (`//` or a trailing `/`); remove it")]
    EmptySegment(String),
    /// The path contains a NUL byte or another control character.
    #[error("the path `{0}` contains a control character (such as NUL or a newline); rename the file")]
    ControlCharacter(String),
    /// The path contains a backslash.
    #[error("the path `{0}` contains a backslash; use `/` to separate directories")]
    Backslash(String),
    /// A segment starts with `.` outside `.atr/`.
    #[error(
        "the path `{0}` names a dot-file or dot-directory; hidden files are not allowed in a release (only `.atr/` may hold them)"
    )]
    DotFile(String),
    /// A segment is longer than [`MAX_SEGMENT_LEN`] bytes (no file system stores it).
    #[error(
        "the file or directory name `{0}…` is longer than {MAX_SEGMENT_LEN} bytes, which no file system stores; use a shorter name"
    )]
    SegmentTooLong(String),
    /// The path holds an invisible or direction-changing character (bidi control, zero-width
    /// space or joiner, soft hyphen, byte-order mark), which makes a name look like another.
    #[error(
        "the path `{0}` contains the invisible character {1}, which can make one name look like another; rename the file without it"
    )]
    Invisible(String, String),
    /// The path holds a look-alike of `/`, `\` or `.` (such as U+2215 DIVISION SLASH).
    #[error(
        "the path `{0}` contains {1}, a look-alike of `{2}` that would mislead a reader; use `{2}` itself or another character"
    )]
    LookAlike(String, String, char),
}

/// The longest file or directory name, in bytes (`NAME_MAX` of Linux and most file systems).
pub const MAX_SEGMENT_LEN: usize = 255;

/// Characters that are invisible or change the direction of text.
const INVISIBLE: &[char] = &[
    '\u{00AD}', '\u{061C}', '\u{180E}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}',
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2060}', '\u{2061}', '\u{2062}',
    '\u{2063}', '\u{2064}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
];

/// Look-alikes of the characters that give paths their structure.
const LOOK_ALIKES: &[(char, char)] = &[
    ('\u{2044}', '/'),
    ('\u{2215}', '/'),
    ('\u{29F8}', '/'),
    ('\u{FF0F}', '/'),
    ('\u{2216}', '\\'),
    ('\u{29F9}', '\\'),
    ('\u{FE68}', '\\'),
    ('\u{FF3C}', '\\'),
    ('\u{2024}', '.'),
    ('\u{FE52}', '.'),
    ('\u{FF0E}', '.'),
];

impl RelPath {
    /// Validates `s` and wraps it.
    pub fn new(s: impl Into<String>) -> Result<Self, RelPathError> {
        let s = s.into();
        validate(&s)?;
        Ok(RelPath(s))
    }

    /// The path as a string with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The directory part, if any (`a/b` for `a/b/c`).
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rsplit_once('/').map(|(dir, _)| RelPath(dir.to_owned()))
    }

    /// The segments of the path.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Number of segments.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// Joins a further relative path below this one.
    pub fn join(&self, rest: &RelPath) -> RelPath {
        RelPath(format!("{}/{}", self.0, rest.0))
    }

    /// A sibling path made by appending `suffix` to the file name (`x.tar.gz` → `x.tar.gz.asc`).
    ///
    /// Returns an error when the result would be invalid (for example a suffix holding `/`).
    pub fn with_appended(&self, suffix: &str) -> Result<RelPath, RelPathError> {
        RelPath::new(format!("{}{suffix}", self.0))
    }

    /// Whether the path lies under `.atr/`, the one place where dot-files are allowed.
    pub fn is_atr_metadata(&self) -> bool {
        self.0.starts_with(".atr/")
    }
}

/// `s` with each invisible character written as `<U+XXXX>`, so a message shows where it is.
fn show_invisible(s: &str) -> String {
    s.chars()
        .map(|c| if INVISIBLE.contains(&c) { format!("<U+{:04X}>", u32::from(c)) } else { c.to_string() })
        .collect()
}

fn validate(s: &str) -> Result<(), RelPathError> {
    if s.is_empty() {
        return Err(RelPathError::Empty);
    }
    if s.len() > MAX_REL_PATH_LEN {
        let cut: String = s.chars().take(64).collect();
        return Err(RelPathError::TooLong(cut));
    }
    if s.chars().any(char::is_control) {
        return Err(RelPathError::ControlCharacter(s.escape_debug().to_string()));
    }
    if s.contains('\\') {
        return Err(RelPathError::Backslash(s.to_owned()));
    }
    if let Some(c) = s.chars().find(|c| INVISIBLE.contains(c)) {
        return Err(RelPathError::Invisible(show_invisible(s), format!("U+{:04X}", u32::from(c))));
    }
    if let Some((c, like)) = s.chars().find_map(|c| LOOK_ALIKES.iter().find(|(l, _)| *l == c).copied()) {
        return Err(RelPathError::LookAlike(s.to_owned(), format!("U+{:04X}", u32::from(c)), like));
    }
    if s.starts_with('/') {
        return Err(RelPathError::Absolute(s.to_owned()));
    }
    let under_atr = s.starts_with(".atr/");
    for seg in s.split('/') {
        match seg {
            "" => return Err(RelPathError::EmptySegment(s.to_owned())),
            "." => return Err(RelPathError::CurrentSegment(s.to_owned())),
            ".." => return Err(RelPathError::ParentSegment(s.to_owned())),
            _ if seg.starts_with('.') && !under_atr => {
                return Err(RelPathError::DotFile(s.to_owned()));
            }
            _ if seg.len() > MAX_SEGMENT_LEN => {
                return Err(RelPathError::SegmentTooLong(seg.chars().take(64).collect()));
            }
            _ => {}
        }
    }
    Ok(())
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for RelPath {
    type Err = RelPathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RelPath::new(s)
    }
}

impl TryFrom<String> for RelPath {
    type Error = RelPathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RelPath::new(s)
    }
}

impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelPath::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Request hygiene (trust-chain issue): a name segment over 255 bytes reached the file system
    /// (a 500); invisible and look-alike characters passed. Each is refused with what to do.
    #[test]
    fn long_segments_invisible_and_look_alike_characters_are_refused() {
        let long = "a".repeat(256);
        let err = RelPath::new(format!("dir/{long}.tar.gz")).unwrap_err();
        assert!(matches!(err, RelPathError::SegmentTooLong(_)), "{err}");
        assert!(err.to_string().contains("longer than 255 bytes"), "{err}");
        ok(&"a".repeat(255));
        for (name, code) in [
            ("foo\u{202E}zg.rat.tar.gz", "U+202E"),
            ("foo\u{200B}-1.0.tar.gz", "U+200B"),
            ("\u{FEFF}x", "U+FEFF"),
        ] {
            let err = RelPath::new(name).unwrap_err();
            assert!(matches!(err, RelPathError::Invisible(..)), "{name:?}: {err}");
            assert!(
                err.to_string().contains(code) && err.to_string().contains(&format!("<{code}>")),
                "{err}"
            );
        }
        for (name, like) in [("a\u{2215}b", '/'), ("a\u{FF3C}b", '\\'), ("foo-1\u{2024}0.tar.gz", '.')] {
            let err = RelPath::new(name).unwrap_err();
            assert!(matches!(err, RelPathError::LookAlike(_, _, c) if c == like), "{name:?}: {err}");
        }
        ok("Übersicht-é-ß.txt");
    }

    #[track_caller]
    fn ok(s: &str) {
        assert_eq!(RelPath::new(s).map(|p| p.as_str().to_owned()), Ok(s.to_owned()));
    }

    #[track_caller]
    fn bad(s: &str, expected: fn(String) -> RelPathError) {
        let err = RelPath::new(s).unwrap_err();
        assert_eq!(std::mem::discriminant(&err), std::mem::discriminant(&expected(String::new())), "{s:?}");
    }

    #[test]
    fn accepts_ordinary_paths() {
        ok("apache-foo-1.0.tar.gz");
        ok("dir/sub/apache-foo-1.0.tar.gz.asc");
        ok(".atr/license-headers-ignore");
        ok(".atr/sub/.x");
        ok("a..b");
        ok("name with spaces.txt");
    }

    #[test]
    fn refuses_every_unsafe_form() {
        assert_eq!(RelPath::new(""), Err(RelPathError::Empty));
        bad("/etc/passwd", RelPathError::Absolute);
        bad("../x", RelPathError::ParentSegment);
        bad("a/../x", RelPathError::ParentSegment);
        bad("a/./b", RelPathError::CurrentSegment);
        bad("./a", RelPathError::CurrentSegment);
        bad("a//b", RelPathError::EmptySegment);
        bad("a/", RelPathError::EmptySegment);
        bad("a\0b", RelPathError::ControlCharacter);
        bad("a\nb", RelPathError::ControlCharacter);
        bad("a\\b", RelPathError::Backslash);
        bad(".hidden", RelPathError::DotFile);
        bad("dir/.DS_Store", RelPathError::DotFile);
        bad(".atr", RelPathError::DotFile);
        bad(".atrx/y", RelPathError::DotFile);
        assert!(matches!(RelPath::new("a".repeat(MAX_REL_PATH_LEN + 1)), Err(RelPathError::TooLong(_))));
    }

    #[test]
    fn messages_name_the_path_and_the_fix() {
        let msg = RelPath::new("../x").unwrap_err().to_string();
        assert!(msg.contains("`../x`") && msg.contains("inside the release"), "{msg}");
    }

    #[test]
    fn helpers() {
        let p = RelPath::new("a/b/c.tar.gz").unwrap();
        assert_eq!(p.file_name(), "c.tar.gz");
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert_eq!(p.depth(), 3);
        assert_eq!(p.with_appended(".asc").unwrap().as_str(), "a/b/c.tar.gz.asc");
        assert!(p.with_appended("/x").is_ok());
        assert!(p.with_appended("/../x").is_err());
        assert!(RelPath::new("x").unwrap().parent().is_none());
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<RelPath>(&json).unwrap(), p);
        assert!(serde_json::from_str::<RelPath>("\"../x\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn valid_paths_never_escape(s in "[a-z./\\\\]{0,12}") {
            if let Ok(p) = RelPath::new(s) {
                proptest::prop_assert!(!p.as_str().starts_with('/'));
                proptest::prop_assert!(p.segments().all(|seg| !seg.is_empty() && seg != ".." && seg != "."));
            }
        }
    }
}
