//! Classification of the files of a release: source archive, convenience binary, signature, hash, SBOM, …
//!
//! Users complain most about wrong classification, so every [`Classification`] carries the
//! [`Basis`] it rests on and a human-readable reason. The project's release policy comes first
//! ([`ClassificationPolicy`] source and binary glob patterns), then filename heuristics:
//! `-src`, `-source`, `-source-release` before the archive suffix mean source, `-bin` and
//! platform names mean binary, and a plain `name-version.tar.gz` is a source archive by ASF
//! convention.
//!
//! ```
//! use atr_core::classify::{classify, ArtifactClass, ClassificationPolicy};
//! use atr_core::path::RelPath;
//!
//! let policy = ClassificationPolicy::default();
//! let c = classify(&RelPath::new("apache-foo-1.0-src.tar.gz").unwrap(), &policy);
//! assert_eq!(c.class, ArtifactClass::Source);
//! let c = classify(&RelPath::new("apache-foo-1.0-bin.tar.gz").unwrap(), &policy);
//! assert_eq!(c.class, ArtifactClass::Binary);
//! let c = classify(&RelPath::new("apache-foo-1.0-src.tar.gz.asc").unwrap(), &policy);
//! assert_eq!(c.class, ArtifactClass::Signature);
//!
//! // The project's policy wins over the heuristics.
//! let policy = ClassificationPolicy::new(&[], &["*.tar.gz"]).unwrap();
//! let c = classify(&RelPath::new("apache-foo-1.0-src.tar.gz").unwrap(), &policy);
//! assert_eq!(c.class, ArtifactClass::Binary);
//! assert!(c.reason.contains("*.tar.gz"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::path::RelPath;

/// What a file in a release is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ArtifactClass {
    /// A source package (ASF policy: every release needs at least one).
    Source,
    /// A binary or convenience artifact (jar, wheel, `-bin.tar.gz`, installer, …).
    Binary,
    /// A detached signature (`.asc`, or the forbidden binary `.sig`).
    Signature,
    /// A checksum file (`.sha512`, `.sha256`, and the legacy `.sha1`, `.sha`, `.md5`, …).
    Hash,
    /// A CycloneDX software bill of materials (`.cdx.json`, `.cdx.xml`).
    Sbom,
    /// A `KEYS` file (it belongs on the Keys page, not in a release).
    Keys,
    /// Other metadata about an artifact (such as `.prov`).
    Metadata,
    /// Release documentation at the top level: `README`, `LICENSE`, `NOTICE`, `CHANGES` (with or without an extension).
    Documentation,
    /// Anything else.
    Other,
}

impl ArtifactClass {
    /// The stable wire name (`source`, `binary`, `signature`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactClass::Source => "source",
            ArtifactClass::Binary => "binary",
            ArtifactClass::Signature => "signature",
            ArtifactClass::Hash => "hash",
            ArtifactClass::Sbom => "sbom",
            ArtifactClass::Keys => "keys",
            ArtifactClass::Metadata => "metadata",
            ArtifactClass::Documentation => "documentation",
            ArtifactClass::Other => "other",
        }
    }

    /// Whether this is a distributed artifact (source or binary) that needs a signature and a checksum.
    pub fn is_artifact(self) -> bool {
        matches!(self, ArtifactClass::Source | ArtifactClass::Binary)
    }

    /// Whether this is metadata about another file (signature, hash, SBOM, other metadata).
    pub fn is_metadata(self) -> bool {
        matches!(
            self,
            ArtifactClass::Signature | ArtifactClass::Hash | ArtifactClass::Sbom | ArtifactClass::Metadata
        )
    }
}

impl fmt::Display for ArtifactClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a classification rests on, so a user can tell a policy decision from a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Basis {
    /// A pattern of the project's release policy matched.
    Policy,
    /// A filename heuristic (suffix or name tokens) decided.
    Heuristic,
}

/// The class of a file and why it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The class.
    pub class: ArtifactClass,
    /// Whether the project's policy or a heuristic decided.
    pub basis: Basis,
    /// One sentence explaining the decision, naming the pattern or the name part that decided.
    pub reason: String,
}

/// The project's classification patterns (from its release policy).
///
/// Patterns are gitignore-like globs (see [`Glob`]) matched against the path relative to the
/// release root. Source patterns are tried before binary patterns; both apply only to files
/// that are not signatures, checksums, SBOMs or `KEYS`.
///
/// ```
/// use atr_core::classify::ClassificationPolicy;
/// let p = ClassificationPolicy::new(&["*-sources.zip"], &["*.jar", "dist/**"]).unwrap();
/// assert_eq!(p.source_patterns().len(), 1);
/// assert!(ClassificationPolicy::new(&["[unclosed"], &[]).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassificationPolicy {
    source: Vec<Glob>,
    binary: Vec<Glob>,
}

impl ClassificationPolicy {
    /// Builds a policy from source and binary pattern strings.
    ///
    /// For owned strings, use `ClassificationPolicy::new(&v.iter().map(String::as_str).collect::<Vec<_>>(), …)`.
    pub fn new(source: &[&str], binary: &[&str]) -> Result<Self, GlobError> {
        Ok(ClassificationPolicy {
            source: source.iter().map(|s| Glob::new(s)).collect::<Result<_, _>>()?,
            binary: binary.iter().map(|s| Glob::new(s)).collect::<Result<_, _>>()?,
        })
    }

    /// The source artifact patterns.
    pub fn source_patterns(&self) -> &[Glob] {
        &self.source
    }

    /// The binary artifact patterns.
    pub fn binary_patterns(&self) -> &[Glob] {
        &self.binary
    }
}

/// Suffixes of distributed artifacts, as in ATR (`atr/analysis.py`), longest first.
pub const ARTIFACT_SUFFIXES: &[&str] = &[
    ".slingosgifeature",
    ".jar.pack.gz",
    ".tar.bz2",
    ".tar.gz",
    ".tar.xz",
    ".snupkg",
    ".nupkg",
    ".crate",
    ".taco",
    ".vsix",
    ".bin",
    ".deb",
    ".dmg",
    ".exe",
    ".far",
    ".gem",
    ".jar",
    ".msi",
    ".nar",
    ".nbm",
    ".pkg",
    ".pom",
    ".rar",
    ".rpm",
    ".tar",
    ".tgz",
    ".war",
    ".whl",
    ".zip",
    ".sh",
];

/// Suffixes of metadata files, as in ATR (`atr/analysis.py`), longest first.
pub const METADATA_SUFFIXES: &[&str] = &[
    ".sha512sum",
    ".sha512.sha512",
    ".sha512.sha1",
    ".sha512.md5",
    ".sha512.asc",
    ".asc.sha256",
    ".asc.sha512",
    ".asc.sha1",
    ".asc.md5",
    ".asc.asc",
    ".cdx.json",
    ".cdx.xml",
    ".sha256",
    ".SHA256",
    ".sha512",
    ".SHA512",
    ".sha1",
    ".prov",
    ".asc",
    ".MD5",
    ".md5",
    ".mds",
    ".sh1",
    ".sha",
    ".sig",
];

/// Archive formats in which source packages are published.
const SOURCE_ARCHIVE_SUFFIXES: &[&str] = &[".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar"];

/// Top-level files every release may carry.
const DOCUMENTATION_NAMES: &[&str] =
    &["README", "LICENSE", "NOTICE", "CHANGES", "DISCLAIMER", "DISCLAIMER-WIP"];

/// Name tokens meaning "source package".
const SOURCE_TOKENS: &[&str] = &["src", "source", "sources"];

/// Name tokens meaning "binary / convenience package".
const BINARY_TOKENS: &[&str] = &[
    "bin",
    "binary",
    "binaries",
    "linux",
    "windows",
    "win32",
    "win64",
    "macos",
    "darwin",
    "osx",
    "x86_64",
    "amd64",
    "aarch64",
    "arm64",
    "x64",
    "x86",
    "installer",
];

/// Splits a metadata file name into (subject, suffix), such as `("x.tar.gz", ".sha512")`.
///
/// The suffix is the longest known metadata suffix ([`METADATA_SUFFIXES`]) the name ends with.
///
/// ```
/// use atr_core::classify::split_metadata;
/// assert_eq!(split_metadata("a-1.0.tar.gz.sha512"), Some(("a-1.0.tar.gz", ".sha512")));
/// assert_eq!(split_metadata("a-1.0.tar.gz.asc.sha256"), Some(("a-1.0.tar.gz", ".asc.sha256")));
/// assert_eq!(split_metadata("a-1.0.tar.gz"), None);
/// ```
pub fn split_metadata(name: &str) -> Option<(&str, &'static str)> {
    METADATA_SUFFIXES
        .iter()
        .filter(|s| name.len() > s.len() && name.ends_with(*s))
        .max_by_key(|s| s.len())
        .map(|s| (&name[..name.len() - s.len()], *s))
}

/// The artifact suffix a file name ends with (longest match), such as `.tar.gz`.
///
/// ```
/// assert_eq!(atr_core::classify::artifact_suffix("a-1.0.tar.gz"), Some(".tar.gz"));
/// assert_eq!(atr_core::classify::artifact_suffix("README"), None);
/// ```
pub fn artifact_suffix(name: &str) -> Option<&'static str> {
    ARTIFACT_SUFFIXES
        .iter()
        .filter(|s| name.len() > s.len() && name.ends_with(*s))
        .max_by_key(|s| s.len())
        .copied()
}

/// Classifies one file of a release. Pure; never fails.
pub fn classify(path: &RelPath, policy: &ClassificationPolicy) -> Classification {
    let name = path.file_name();
    if name == "KEYS" || name.starts_with("KEYS.") {
        return heuristic(ArtifactClass::Keys, format!("`{name}` is a KEYS file"));
    }
    if let Some((subject, suffix)) = split_metadata(name) {
        let class = metadata_class(suffix);
        return heuristic(
            class,
            format!("the suffix `{suffix}` marks {} of `{subject}`", describe_metadata(class)),
        );
    }
    let rel = path.as_str();
    if let Some(g) = policy.source.iter().find(|g| g.matches(rel)) {
        return Classification {
            class: ArtifactClass::Source,
            basis: Basis::Policy,
            reason: format!("matches the project's source artifact pattern `{g}`"),
        };
    }
    if let Some(g) = policy.binary.iter().find(|g| g.matches(rel)) {
        return Classification {
            class: ArtifactClass::Binary,
            basis: Basis::Policy,
            reason: format!("matches the project's binary artifact pattern `{g}`"),
        };
    }
    if let Some(suffix) = artifact_suffix(name) {
        return classify_artifact_name(name, suffix);
    }
    if path.depth() == 1 && is_documentation(name) {
        return heuristic(
            ArtifactClass::Documentation,
            format!("`{name}` is top-level release documentation"),
        );
    }
    heuristic(ArtifactClass::Other, format!("`{name}` has no known artifact or metadata suffix"))
}

fn heuristic(class: ArtifactClass, reason: String) -> Classification {
    Classification { class, basis: Basis::Heuristic, reason }
}

fn metadata_class(suffix: &str) -> ArtifactClass {
    let last = suffix.rsplit('.').next().unwrap_or(suffix);
    match suffix {
        ".cdx.json" | ".cdx.xml" => ArtifactClass::Sbom,
        ".prov" => ArtifactClass::Metadata,
        _ if last == "asc" || last == "sig" => ArtifactClass::Signature,
        _ => ArtifactClass::Hash,
    }
}

fn describe_metadata(class: ArtifactClass) -> &'static str {
    match class {
        ArtifactClass::Signature => "a signature",
        ArtifactClass::Hash => "a checksum",
        ArtifactClass::Sbom => "an SBOM",
        _ => "metadata",
    }
}

fn is_documentation(name: &str) -> bool {
    let stem = name.split_once('.').map_or(name, |(s, _)| s);
    DOCUMENTATION_NAMES.contains(&stem) || DOCUMENTATION_NAMES.contains(&stem.to_ascii_uppercase().as_str())
}

fn classify_artifact_name(name: &str, suffix: &'static str) -> Classification {
    let stem = &name[..name.len() - suffix.len()];
    if !SOURCE_ARCHIVE_SUFFIXES.contains(&suffix) {
        return heuristic(
            ArtifactClass::Binary,
            format!("`{suffix}` packages are binary (convenience) artifacts"),
        );
    }
    let tokens: Vec<String> = stem.split(['-', '_', '.']).map(str::to_ascii_lowercase).collect();
    if let Some(t) = tokens.iter().find(|t| SOURCE_TOKENS.contains(&t.as_str())) {
        let shown = if stem.to_ascii_lowercase().ends_with("source-release") { "source-release" } else { t };
        return heuristic(
            ArtifactClass::Source,
            format!("the name part `{shown}` before `{suffix}` marks a source package"),
        );
    }
    if let Some(t) = tokens.iter().find(|t| BINARY_TOKENS.contains(&t.as_str())) {
        return heuristic(
            ArtifactClass::Binary,
            format!("the name part `{t}` before `{suffix}` marks a binary (convenience) package"),
        );
    }
    heuristic(
        ArtifactClass::Source,
        format!("a plain `name-version{suffix}` archive is a source package by ASF convention"),
    )
}

/// A gitignore-like glob pattern over release paths.
///
/// - `*` matches any run of characters except `/`; `?` one character except `/`;
/// - `**` matches anything including `/`, and `**/` matches zero or more whole directories;
/// - `[abc]`, `[a-z]`, `[!a-z]` match one character of (or not of) a set;
/// - `\x` matches `x` literally;
/// - a pattern without `/` matches the file name at any depth; a pattern with `/` is anchored
///   at the release root (a leading `/` is allowed and ignored).
///
/// ```
/// use atr_core::classify::Glob;
/// let g = Glob::new("*-src.tar.gz").unwrap();
/// assert!(g.matches("apache-foo-1.0-src.tar.gz"));
/// assert!(g.matches("sub/apache-foo-1.0-src.tar.gz"));
/// assert!(!g.matches("apache-foo-1.0.tar.gz"));
/// let g = Glob::new("dist/**/*.jar").unwrap();
/// assert!(g.matches("dist/a.jar") && g.matches("dist/x/y/a.jar"));
/// assert!(!g.matches("other/dist/a.jar"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    source: String,
    tokens: Vec<Token>,
    anchored: bool,
}

/// Why a glob pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobError {
    /// The pattern is empty.
    #[error("the pattern is empty; write a glob such as `*-src.tar.gz`")]
    Empty,
    /// A `[` has no closing `]`.
    #[error("the pattern `{0}` has a `[` without a closing `]`; close the set or escape it as `\\[`")]
    UnclosedClass(String),
    /// The pattern ends with a lone `\`.
    #[error("the pattern `{0}` ends with a lone `\\`; remove it or escape it as `\\\\`")]
    TrailingEscape(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Lit(char),
    AnyChar,
    Star,
    DoubleStar,
    DirsPrefix,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

impl Glob {
    /// Parses a pattern.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        if body.is_empty() {
            return Err(GlobError::Empty);
        }
        let anchored = pattern.starts_with('/') || body.contains('/');
        let chars: Vec<char> = body.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    if chars.get(i + 2) == Some(&'/') {
                        tokens.push(Token::DirsPrefix);
                        i += 3;
                    } else {
                        tokens.push(Token::DoubleStar);
                        i += 2;
                        while chars.get(i) == Some(&'*') {
                            i += 1;
                        }
                    }
                }
                '*' => {
                    tokens.push(Token::Star);
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::AnyChar);
                    i += 1;
                }
                '\\' => {
                    let c = *chars.get(i + 1).ok_or_else(|| GlobError::TrailingEscape(pattern.to_owned()))?;
                    tokens.push(Token::Lit(c));
                    i += 2;
                }
                '[' => {
                    let (tok, next) =
                        parse_class(&chars, i).ok_or_else(|| GlobError::UnclosedClass(pattern.to_owned()))?;
                    tokens.push(tok);
                    i = next;
                }
                c => {
                    tokens.push(Token::Lit(c));
                    i += 1;
                }
            }
        }
        Ok(Glob { source: pattern.to_owned(), tokens, anchored })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `path` (relative, `/`-separated) matches.
    pub fn matches(&self, path: &str) -> bool {
        if self.anchored {
            return match_tokens(&self.tokens, &path.chars().collect::<Vec<_>>());
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        match_tokens(&self.tokens, &name.chars().collect::<Vec<_>>())
    }
}

fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

/// Dynamic programming over (token index, text index): linear in pattern × text, no backtracking blow-up.
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let n = text.len();
    // next[j]: tokens[i+1..] matches text[j..]; computed from the last token backwards.
    let mut next = vec![false; n + 1];
    next[n] = true;
    for tok in tokens.iter().rev() {
        let mut cur = vec![false; n + 1];
        for j in (0..=n).rev() {
            cur[j] = match tok {
                Token::Lit(c) => j < n && text[j] == *c && next[j + 1],
                Token::AnyChar => j < n && text[j] != '/' && next[j + 1],
                Token::Class { negated, ranges } => {
                    j < n
                        && text[j] != '/'
                        && ranges.iter().any(|&(a, b)| a <= text[j] && text[j] <= b) != *negated
                        && next[j + 1]
                }
                // Zero characters, or one non-slash character and still in the star.
                Token::Star => next[j] || (j < n && text[j] != '/' && cur[j + 1]),
                Token::DoubleStar => next[j] || (j < n && cur[j + 1]),
                // Zero directories, or a run of characters ending in `/`.
                Token::DirsPrefix => {
                    next[j]
                        || (j < n && text[j..].iter().enumerate().any(|(k, &c)| c == '/' && next[j + k + 1]))
                }
            };
        }
        next = cur;
    }
    next[0]
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for Glob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Glob::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(path: &str, policy: &ClassificationPolicy, class: ArtifactClass, reason_part: &str) {
        let c = classify(&RelPath::new(path).unwrap(), policy);
        assert_eq!(c.class, class, "{path}: {}", c.reason);
        assert!(c.reason.contains(reason_part), "{path}: {:?} lacks {reason_part:?}", c.reason);
    }

    #[test]
    fn heuristics() {
        let p = ClassificationPolicy::default();
        use ArtifactClass::*;
        check("apache-foo-1.0-src.tar.gz", &p, Source, "`src`");
        check("apache-foo-1.0-source-release.zip", &p, Source, "source-release");
        check("apache-foo-1.0-source.tar.xz", &p, Source, "`source`");
        check("commons-compress-1.22-src.tar.xz", &p, Source, "`src`");
        check("apache-foo-1.0.tar.gz", &p, Source, "ASF convention");
        check("apr-1.7.2.tar.bz2", &p, Source, "ASF convention");
        check("apache-foo-1.0.tgz", &p, Source, "ASF convention");
        check("apache-maven-3.9.6-bin.tar.gz", &p, Binary, "`bin`");
        check("foo-1.0-linux-x86_64.tar.gz", &p, Binary, "`linux`");
        check("foo-1.0.jar", &p, Binary, "`.jar`");
        check("foo-1.0-sources.jar", &p, Binary, "`.jar`");
        check("foo-1.0-py3-none-any.whl", &p, Binary, "`.whl`");
        check("foo-1.0.tar.gz.asc", &p, Signature, "`.asc`");
        check("foo-1.0.tar.gz.sig", &p, Signature, "`.sig`");
        check("foo-1.0.tar.gz.sha512", &p, Hash, "checksum of `foo-1.0.tar.gz`");
        check("foo-1.0.tar.gz.md5", &p, Hash, "`.md5`");
        check("foo-1.0.tar.gz.sha", &p, Hash, "`.sha`");
        check("foo-1.0.cdx.json", &p, Sbom, "SBOM");
        check("foo-1.0.tar.gz.cdx.xml", &p, Sbom, "SBOM");
        check("foo-1.0.tar.gz.prov", &p, Metadata, "`.prov`");
        check("KEYS", &p, Keys, "KEYS");
        check("sub/KEYS", &p, Keys, "KEYS");
        check("README", &p, Documentation, "documentation");
        check("LICENSE.txt", &p, Documentation, "documentation");
        check("sub/README", &p, Other, "no known");
        check("notes.txt", &p, Other, "no known");
    }

    #[test]
    fn policy_first_and_named() {
        use ArtifactClass::*;
        let p = ClassificationPolicy::new(&["*.crate"], &["*.tar.gz", "dist/**"]).unwrap();
        check("foo-1.0.crate", &p, Source, "source artifact pattern `*.crate`");
        check("foo-1.0-src.tar.gz", &p, Binary, "binary artifact pattern `*.tar.gz`");
        check("dist/foo.zip", &p, Binary, "`dist/**`");
        // Signatures of matching files stay signatures.
        check("foo-1.0.tar.gz.asc", &p, Signature, "`.asc`");
        let c = classify(&RelPath::new("foo-1.0.crate").unwrap(), &p);
        assert_eq!(c.basis, Basis::Policy);
    }

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| Glob::new(p).unwrap().matches(s);
        assert!(m("*.tar.gz", "a.tar.gz"));
        assert!(m("*.tar.gz", "x/y/a.tar.gz"));
        assert!(m("/*.tar.gz", "a.tar.gz") && !m("/*.tar.gz", "x/a.tar.gz"));
        assert!(m("a?c", "abc") && !m("a?c", "a/c"));
        assert!(m("[ab]x", "bx") && !m("[!ab]x", "ax") && m("[a-c]x", "cx") && !m("[a-c]x", "dx"));
        assert!(m("**/x.jar", "x.jar") && m("**/x.jar", "a/b/x.jar"));
        assert!(m("a/**", "a/b/c") && !m("a/**", "b/c"));
        assert!(m("dist/**/*.jar", "dist/a.jar") && m("dist/**/*.jar", "dist/x/y/a.jar"));
        assert!(m("a/**/b", "a/b") && m("a/**/b", "a/x/y/b") && !m("a/**/b", "a/xb"));
        assert!(m("a/*/c", "a/b/c") && !m("a/*/c", "a/b/d/c"));
        assert!(m("\\*x", "*x") && !m("\\*x", "ax"));
        assert!(m("[]]", "]"));
        assert_eq!(Glob::new(""), Err(GlobError::Empty));
        assert!(matches!(Glob::new("a["), Err(GlobError::UnclosedClass(_))));
        assert!(matches!(Glob::new("a\\"), Err(GlobError::TrailingEscape(_))));
        // Pathological pattern stays fast (linear DP).
        let text = "a".repeat(1000);
        assert!(!m(&format!("{}b", "*a".repeat(50)), &text));
        let g: Glob = serde_json::from_str("\"*.jar\"").unwrap();
        assert_eq!(serde_json::to_string(&g).unwrap(), "\"*.jar\"");
    }

    proptest::proptest! {
        #[test]
        fn star_matches_any_name(s in "[a-z.-]{1,20}") {
            proptest::prop_assert!(Glob::new("*").unwrap().matches(&s));
            let lit = Glob::new(&s).unwrap();
            proptest::prop_assert!(lit.matches(&s));
        }
    }
}
