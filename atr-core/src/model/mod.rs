//! Domain types: committees, projects, policies, releases, revisions, ignores, tasks, keys,
//! distributions, votes and audit events.
//!
//! These are plain data. Field names follow ATR's model as updated by the API contract
//! (`project_key`, `version_key`, check statuses `blocker|concern|exception|note|suggestion`).
//! Every enum that is stored or sent has an explicit `as_str`/`FromStr` pair and serializes as
//! that string, so storage and the API never depend on Rust variant names.

/// Declares a fieldless enum stored as text: `ALL`, `as_str`, `Display`, `FromStr` and serde as the string.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, what = $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form, as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::model::UnknownValue::new($what, s, $name::ALL.iter().map(|v| v.as_str())))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub mod audit;
pub mod committee;
pub mod distribution;
pub mod ignore;
pub mod keys;
pub mod policy;
pub mod release;
pub mod task;
pub mod vote;

pub use audit::{AuditAction, AuditEvent};
pub use committee::{Committee, Project, ProjectStatus};
pub use distribution::{Distribution, DistributionPlatform, Registries};
pub use ignore::{CheckResultIgnore, IgnoreError};
pub use keys::{Fingerprint, KeyLink, PersonalAccessToken, PublicSigningKey, SshKey};
pub use policy::{MissingSbom, PolicyError, ReleasePolicy, VoteMode};
pub use release::{Release, ReleasePhase, Revision, VoteRound};
pub use task::{Task, TaskId, TaskSpec, TaskStatus, TaskType};
pub use vote::{Ballot, Tally, VoteChoice, VoteResolution, manifest_text};

/// A text value that names no known enum value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`; use one of {expected}")]
pub struct UnknownValue {
    /// Which enum.
    pub what: &'static str,
    /// The refused text (escaped).
    pub value: String,
    /// The accepted values, comma-separated.
    pub expected: String,
}

impl UnknownValue {
    fn new<'a>(what: &'static str, value: &str, expected: impl Iterator<Item = &'a str>) -> Self {
        UnknownValue {
            what,
            value: value.escape_debug().to_string(),
            expected: expected.collect::<Vec<_>>().join(", "),
        }
    }
}

/// Checks that every value of a text enum round-trips through `as_str`/`FromStr`/serde and
/// that the text forms are exactly `expected`. Shared by the per-enum table tests.
#[cfg(test)]
fn assert_wire_table<T>(all: &[T], expected: &[&str])
where
    T: Copy
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display
        + std::str::FromStr
        + serde::Serialize
        + serde::de::DeserializeOwned,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    let names: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(names, expected);
    for (v, s) in all.iter().zip(expected) {
        assert_eq!(s.parse::<T>().unwrap(), *v);
        assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<T>(&format!("\"{s}\"")).unwrap(), *v);
    }
    assert!("no-such-value".parse::<T>().is_err());
    assert!(serde_json::from_str::<T>("\"no-such-value\"").is_err());
}
