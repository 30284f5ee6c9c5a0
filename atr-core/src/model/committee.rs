//! Committees (PMCs and podling PPMCs) and projects.

use serde::{Deserialize, Serialize};

use crate::ids::{CommitteeKey, ProjectKey, Uid};
use crate::model::policy::ReleasePolicy;
use crate::time::Timestamp;

/// A committee: a top-level project management committee or a podling's PPMC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committee {
    /// Key, such as `tooling`.
    pub key: CommitteeKey,
    /// Full name, such as `Apache Tooling`; `None` if unknown.
    pub full_name: Option<String>,
    /// Whether this is a podling's PPMC (its releases need the two-round vote).
    pub is_podling: bool,
    /// The parent committee (the Incubator for podlings), if any.
    pub parent: Option<CommitteeKey>,
    /// Committee (PMC/PPMC) members: their votes are binding.
    pub members: Vec<Uid>,
    /// Committers (participants) of the committee.
    pub committers: Vec<Uid>,
    /// Release managers, if the committee names them.
    pub release_managers: Vec<Uid>,
}

impl Committee {
    /// The name shown to people: the full name or the title-cased key, with ` (PPMC)` for podlings.
    pub fn display_name(&self) -> String {
        let base = match &self.full_name {
            Some(n) if !n.is_empty() => n.clone(),
            _ => title_case(self.key.as_str()),
        };
        if self.is_podling { format!("{base} (PPMC)") } else { base }
    }

    /// Whether `uid` is a member of this committee.
    pub fn is_member(&self, uid: &Uid) -> bool {
        self.members.contains(uid)
    }

    /// Whether `uid` is a committer (participant) or member of this committee.
    pub fn is_participant(&self, uid: &Uid) -> bool {
        self.is_member(uid) || self.committers.contains(uid)
    }
}

fn title_case(key: &str) -> String {
    key.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

wire_enum! {
    /// Whether a project still makes releases.
    pub enum ProjectStatus, what = "project status" {
        /// Makes releases.
        Active = "active",
        /// Currently inactive; no new releases.
        Dormant = "dormant",
        /// Retired to the Attic; no new releases.
        Retired = "retired",
        /// A standing committee's pseudo-project; no releases.
        Standing = "standing",
    }
}

impl ProjectStatus {
    /// Whether new releases may be started.
    pub fn accepts_releases(self) -> bool {
        self == ProjectStatus::Active
    }
}

/// A project: something a committee releases. Its key is the prefix of its release keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Key, such as `tooling-trusted-releases`.
    pub key: ProjectKey,
    /// The committee that releases it.
    pub committee_key: CommitteeKey,
    /// Full name, such as `Apache Tooling Trusted Releases`.
    pub name: String,
    /// Whether it makes releases.
    pub status: ProjectStatus,
    /// The project this one is a sub-project of, if any.
    pub super_project: Option<ProjectKey>,
    /// Free-text description.
    pub description: String,
    /// Categories.
    pub category: Vec<String>,
    /// Programming languages.
    pub programming_languages: Vec<String>,
    /// When it was created.
    pub created: Timestamp,
    /// Who created it.
    pub created_by: Uid,
    /// Its release policy (defaults when never edited).
    pub policy: ReleasePolicy,
}

impl Project {
    /// The name without a leading `Apache `.
    pub fn short_name(&self) -> &str {
        self.name.strip_prefix("Apache ").unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_status_table() {
        crate::model::assert_wire_table(ProjectStatus::ALL, &["active", "dormant", "retired", "standing"]);
        assert!(ProjectStatus::Active.accepts_releases());
        assert!(!ProjectStatus::Retired.accepts_releases());
    }

    #[test]
    fn committee_display_and_membership() {
        let alice = Uid::new("alice").unwrap();
        let bob = Uid::new("bob").unwrap();
        let c = Committee {
            key: CommitteeKey::new("foo-bar").unwrap(),
            full_name: None,
            is_podling: true,
            parent: Some(CommitteeKey::new("incubator").unwrap()),
            members: vec![alice.clone()],
            committers: vec![bob.clone()],
            release_managers: vec![],
        };
        assert_eq!(c.display_name(), "Foo Bar (PPMC)");
        assert!(c.is_member(&alice) && c.is_participant(&alice));
        assert!(!c.is_member(&bob) && c.is_participant(&bob));
    }
}
