//! The check model: statuses, checker identifiers and check results.
//!
//! A check result is data: which checker said it, about which file (and which archive member),
//! how serious it is, and a message that says what is wrong and how to fix it.
//! "The artifact is bad" (`Blocker`, `Concern`, …) and "the check could not run" (`Exception`)
//! are distinct statuses and never blurred.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::path::RelPath;

/// How serious a check result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// A policy violation: a vote cannot start while it stands.
    Blocker,
    /// Must be acknowledged before a vote.
    Concern,
    /// The check itself could not run (I/O error, limit hit); says nothing about the artifact.
    Exception,
    /// Passed, or information only.
    Note,
    /// Something that could be better; never blocks.
    Suggestion,
}

impl CheckStatus {
    /// Every status, in order of severity (most severe first).
    pub const ALL: [CheckStatus; 5] = [
        CheckStatus::Blocker,
        CheckStatus::Exception,
        CheckStatus::Concern,
        CheckStatus::Suggestion,
        CheckStatus::Note,
    ];

    /// The stable wire name (`blocker`, `concern`, `exception`, `note`, `suggestion`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Blocker => "blocker",
            CheckStatus::Concern => "concern",
            CheckStatus::Exception => "exception",
            CheckStatus::Note => "note",
            CheckStatus::Suggestion => "suggestion",
        }
    }

    /// Whether a result with this status stops a vote from starting (unless ignored or acknowledged).
    pub fn blocks_vote(self) -> bool {
        matches!(self, CheckStatus::Blocker | CheckStatus::Exception)
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown status name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown check status `{0}`; use one of blocker, concern, exception, note, suggestion")]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for CheckStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// The stable public identifier of a checker, the same string ATR uses
/// (API clients and ignore rules refer to it), plus the checker's version for result caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckerId {
    /// Stable public name, such as `atr.tasks.checks.signature.check`.
    pub name: &'static str,
    /// Version of the checker's rules; bump it whenever its results may change for the same input.
    pub version: &'static str,
}

impl CheckerId {
    /// Detached OpenPGP signatures against the committee's keys.
    pub const SIGNATURE: CheckerId = CheckerId { name: "atr.tasks.checks.signature.check", version: "1" };
    /// `.sha256` / `.sha512` files.
    pub const HASHING: CheckerId = CheckerId { name: "atr.tasks.checks.hashing.check", version: "1" };
    /// File naming and paths policy over the whole revision.
    pub const PATHS: CheckerId = CheckerId { name: "atr.tasks.checks.paths.check", version: "1" };
    /// LICENSE / NOTICE / DISCLAIMER inside archives.
    pub const LICENSE_FILES: CheckerId = CheckerId { name: "atr.tasks.checks.license.files", version: "1" };
    /// Licence headers of the members of source archives.
    pub const LICENSE_HEADERS: CheckerId =
        CheckerId { name: "atr.tasks.checks.license.headers", version: "1" };
    /// RAT-class licence analysis of every member.
    pub const RAT: CheckerId = CheckerId { name: "atr.tasks.checks.rat.check", version: "1" };
    /// Structure (root directory) of tar archives.
    pub const TARGZ_STRUCTURE: CheckerId =
        CheckerId { name: "atr.tasks.checks.targz.structure", version: "1" };
    /// Integrity (readable to the end) of tar archives.
    pub const TARGZ_INTEGRITY: CheckerId =
        CheckerId { name: "atr.tasks.checks.targz.integrity", version: "1" };
    /// Structure (root directory) of zip archives.
    pub const ZIP_STRUCTURE: CheckerId =
        CheckerId { name: "atr.tasks.checks.zipformat.structure", version: "1" };
    /// Integrity (CRCs, readable to the end) of zip archives.
    pub const ZIP_INTEGRITY: CheckerId =
        CheckerId { name: "atr.tasks.checks.zipformat.integrity", version: "1" };
    /// The same tree shipped in two archive formats.
    pub const PARITY: CheckerId = CheckerId { name: "atr.tasks.checks.parity.across_formats", version: "1" };
    /// CycloneDX SBOM files.
    pub const SBOM: CheckerId = CheckerId { name: "atr.tasks.checks.sbom.check", version: "2" };

    /// Every known checker.
    pub const ALL: [CheckerId; 12] = [
        CheckerId::SIGNATURE,
        CheckerId::HASHING,
        CheckerId::PATHS,
        CheckerId::LICENSE_FILES,
        CheckerId::LICENSE_HEADERS,
        CheckerId::RAT,
        CheckerId::TARGZ_STRUCTURE,
        CheckerId::TARGZ_INTEGRITY,
        CheckerId::ZIP_STRUCTURE,
        CheckerId::ZIP_INTEGRITY,
        CheckerId::PARITY,
        CheckerId::SBOM,
    ];

    /// Looks a checker up by its public name.
    pub fn from_name(name: &str) -> Option<CheckerId> {
        CheckerId::ALL.into_iter().find(|c| c.name == name)
    }
}

impl fmt::Display for CheckerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for CheckerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

impl<'de> Deserialize<'de> for CheckerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CheckerId::from_name(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown checker `{s}`")))
    }
}

/// One finding of one checker about one file (and possibly one archive member).
///
/// The JSON form has exactly the fields of a check result in the API:
/// `checker`, `status`, `primary_rel_path`, `member_rel_path`, `message`, `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Which checker produced it.
    pub checker: CheckerId,
    /// How serious it is.
    pub status: CheckStatus,
    /// The file in the revision it is about; `None` for results about the whole revision.
    pub primary_rel_path: Option<RelPath>,
    /// The path inside an archive it is about. A plain string: hostile members have invalid names.
    pub member_rel_path: Option<String>,
    /// What is wrong and how to fix it, in one sentence (or what passed, for notes).
    pub message: String,
    /// Structured details (fingerprints, hashes, counts, …); `null` when there are none.
    pub data: serde_json::Value,
}

impl CheckResult {
    /// A result about a file, with no archive member and no data.
    pub fn new(
        checker: CheckerId,
        status: CheckStatus,
        path: Option<RelPath>,
        message: impl Into<String>,
    ) -> Self {
        CheckResult {
            checker,
            status,
            primary_rel_path: path,
            member_rel_path: None,
            message: message.into(),
            data: serde_json::Value::Null,
        }
    }

    /// Sets the archive member.
    pub fn with_member(mut self, member: impl Into<String>) -> Self {
        self.member_rel_path = Some(member.into());
        self
    }

    /// Sets the structured data.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for st in CheckStatus::ALL {
            assert_eq!(st.as_str().parse::<CheckStatus>(), Ok(st));
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{}\"", st.as_str()));
        }
        assert!("failure".parse::<CheckStatus>().unwrap_err().to_string().contains("blocker, concern"));
    }

    #[test]
    fn checker_names_are_unique_and_round_trip() {
        for c in CheckerId::ALL {
            assert_eq!(CheckerId::from_name(c.name), Some(c));
            assert_eq!(CheckerId::ALL.iter().filter(|o| o.name == c.name).count(), 1);
        }
    }

    #[test]
    fn result_json_has_exactly_the_api_fields() {
        let r = CheckResult::new(
            CheckerId::HASHING,
            CheckStatus::Blocker,
            Some(RelPath::new("a.tar.gz.sha512").unwrap()),
            "mismatch",
        )
        .with_member("a/b");
        let v = serde_json::to_value(&r).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["checker", "data", "member_rel_path", "message", "primary_rel_path", "status"]);
        assert_eq!(v["checker"], "atr.tasks.checks.hashing.check");
        assert_eq!(serde_json::from_value::<CheckResult>(v).unwrap(), r);
    }
}
