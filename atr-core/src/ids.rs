//! Validated identifiers: committee, project and version keys, release keys, revision numbers, uids.
//!
//! Each newtype can only be built through its validating constructor, so code that holds one
//! never has to re-check it. All of them serialize as plain strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value is empty.
    #[error("the {what} is empty")]
    Empty {
        /// Which identifier.
        what: &'static str,
    },
    /// The value is malformed; `rule` says what a valid one looks like.
    #[error("the {what} `{value}` is not valid: {rule}")]
    Invalid {
        /// Which identifier.
        what: &'static str,
        /// The refused value (escaped).
        value: String,
        /// The rule it broke, phrased as the fix.
        rule: &'static str,
    },
}

fn invalid(what: &'static str, value: &str, rule: &'static str) -> IdError {
    IdError::Invalid { what, value: value.escape_debug().to_string(), rule }
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $what:literal, $validate:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `s` and wraps it.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                $validate(&s)?;
                Ok(Self(s))
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            #[doc = concat!("What this identifier is called in messages: \"", $what, "\".")]
            pub const WHAT: &'static str = $what;
        }
    };
}

/// A lowercase label: `[a-z0-9]` segments joined by single `-`, 1–64 bytes.
fn validate_label(what: &'static str, s: &str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { what });
    }
    const RULE: &str = "use 1 to 64 lowercase letters, digits and single hyphens, starting and ending with a letter or digit";
    let ok = s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok { Ok(()) } else { Err(invalid(what, s, RULE)) }
}

fn validate_committee(s: &str) -> Result<(), IdError> {
    validate_label("committee key", s)
}

fn validate_project(s: &str) -> Result<(), IdError> {
    validate_label("project key", s)
}

/// ATR's version rule: non-empty, not "version", starts and ends with an alphanumeric character,
/// only `[A-Za-z0-9+.-]`, and no two consecutive characters from `+.-`.
fn validate_version(s: &str) -> Result<(), IdError> {
    const WHAT: &str = "version";
    if s.is_empty() {
        return Err(IdError::Empty { what: WHAT });
    }
    if s.eq_ignore_ascii_case("version") {
        return Err(invalid(WHAT, s, "give the actual version number, such as `1.2.0`"));
    }
    if s.len() > 64 {
        return Err(invalid(WHAT, s, "use at most 64 characters"));
    }
    let bytes = s.as_bytes();
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')) {
        return Err(invalid(WHAT, s, "use only letters, digits, `+`, `.` and `-`"));
    }
    if !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return Err(invalid(WHAT, s, "start and end with a letter or digit"));
    }
    if bytes.windows(2).any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric()) {
        return Err(invalid(WHAT, s, "do not put two of `+`, `.`, `-` next to each other"));
    }
    Ok(())
}

/// An ASF user id: lowercase letters, digits, `_` and `-`, starting with a letter, 1–32 bytes.
fn validate_uid(s: &str) -> Result<(), IdError> {
    const WHAT: &str = "user id";
    if s.is_empty() {
        return Err(IdError::Empty { what: WHAT });
    }
    let ok = s.len() <= 32
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(WHAT, s, "use 1 to 32 lowercase letters, digits, `_` or `-`, starting with a letter"))
    }
}

string_id!(
    /// The key of a committee (PMC or podling PPMC), such as `tooling`.
    CommitteeKey,
    "committee key",
    validate_committee
);
string_id!(
    /// The key of a project, such as `tooling-trusted-releases`.
    ProjectKey,
    "project key",
    validate_project
);
string_id!(
    /// The version of a release, such as `1.2.0-rc1`.
    VersionKey,
    "version",
    validate_version
);
string_id!(
    /// A user id (ASF uid), such as `alice`.
    Uid,
    "user id",
    validate_uid
);

/// The key of a release: `<project>-<version>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReleaseKey {
    /// The project.
    pub project: ProjectKey,
    /// The version.
    pub version: VersionKey,
}

impl ReleaseKey {
    /// Builds the key of a release.
    pub fn new(project: ProjectKey, version: VersionKey) -> Self {
        ReleaseKey { project, version }
    }
}

impl fmt::Display for ReleaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.project, self.version)
    }
}

/// A revision number of a release: 1, 2, 3, … shown as five digits (`00001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RevisionNumber(u32);

impl RevisionNumber {
    /// The first revision of every release.
    pub const FIRST: RevisionNumber = RevisionNumber(1);
    /// The largest revision number that fits five digits.
    pub const MAX: u32 = 99_999;

    /// Wraps `n`, which must be in `1..=99_999`.
    pub fn new(n: u32) -> Result<Self, IdError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(RevisionNumber(n))
        } else {
            Err(IdError::Invalid {
                what: "revision number",
                value: n.to_string(),
                rule: "revision numbers run from 1 to 99999",
            })
        }
    }

    /// Parses the five-digit form (`00001`); also accepts an unpadded number.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let n: u32 = s
            .parse()
            .ok()
            .filter(|_| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| invalid("revision number", s, "write it as up to five digits, such as `00001`"))?;
        Self::new(n)
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The next revision number, or `None` after 99999.
    pub fn next(self) -> Option<RevisionNumber> {
        Self::new(self.0 + 1).ok()
    }
}

impl fmt::Display for RevisionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05}", self.0)
    }
}

impl Serialize for RevisionNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RevisionNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RevisionNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rules_follow_atr() {
        for good in ["1.0", "1.0.0-rc1", "2.4.68", "1.0+build.5", "R2"] {
            assert!(VersionKey::new(good).is_ok(), "{good}");
        }
        for (bad, needle) in [
            ("", "empty"),
            ("Version", "actual version"),
            ("-1.0", "start and end"),
            ("1.0.", "start and end"),
            ("1..0", "next to each other"),
            ("1.0-+x", "next to each other"),
            ("1.0 rc", "only letters"),
            ("1/0", "only letters"),
        ] {
            let msg = VersionKey::new(bad).unwrap_err().to_string();
            assert!(msg.contains(needle), "{bad:?}: {msg}");
        }
    }

    #[test]
    fn project_and_committee_keys_are_lowercase_labels() {
        assert!(ProjectKey::new("tooling-trusted-releases").is_ok());
        assert!(CommitteeKey::new("tooling").is_ok());
        for bad in ["", "Foo", "-a", "a-", "a--b", "a_b", "a/b", &"a".repeat(65)] {
            assert!(ProjectKey::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uids() {
        assert!(Uid::new("alice").is_ok());
        assert!(Uid::new("a_b-1").is_ok());
        for bad in ["", "1abc", "Alice", "a b", "a@b"] {
            assert!(Uid::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn revision_numbers_are_five_digits() {
        let r = RevisionNumber::parse("00007").unwrap();
        assert_eq!(r.get(), 7);
        assert_eq!(r.to_string(), "00007");
        assert_eq!(r.next().unwrap().to_string(), "00008");
        assert_eq!(RevisionNumber::parse("7").unwrap(), r);
        assert!(RevisionNumber::parse("00000").is_err());
        assert!(RevisionNumber::parse("100000").is_err());
        assert!(RevisionNumber::parse("-1").is_err());
        assert!(RevisionNumber::parse("+1").is_err());
        assert!(RevisionNumber::new(RevisionNumber::MAX).unwrap().next().is_none());
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"00007\"");
    }

    #[test]
    fn release_key_display() {
        let k = ReleaseKey::new(ProjectKey::new("foo").unwrap(), VersionKey::new("1.0").unwrap());
        assert_eq!(k.to_string(), "foo-1.0");
    }
}
