//! Releases, their phases, and revisions.

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectKey, ReleaseKey, RevisionNumber, Uid, VersionKey};
use crate::model::policy::VoteMode;
use crate::time::Timestamp;

wire_enum! {
    /// The phase of a release. Order: draft → candidate → preview → release.
    pub enum ReleasePhase, what = "release phase" {
        /// Compose: files may change; every change is a new revision.
        Draft = "release_candidate_draft",
        /// Vote: the candidate is frozen; no file changes at all.
        Candidate = "release_candidate",
        /// Finish: the vote passed; only finishing moves (new revisions) until announced.
        Preview = "release_preview",
        /// Announced: final; the files are published.
        Release = "release",
    }
}

impl ReleasePhase {
    /// Position in the phase order (draft 0 … release 3).
    pub fn rank(self) -> u8 {
        match self {
            ReleasePhase::Draft => 0,
            ReleasePhase::Candidate => 1,
            ReleasePhase::Preview => 2,
            ReleasePhase::Release => 3,
        }
    }

    /// The name the user interface shows.
    pub fn label(self) -> &'static str {
        match self {
            ReleasePhase::Draft => "Compose",
            ReleasePhase::Candidate => "Vote",
            ReleasePhase::Preview => "Finish",
            ReleasePhase::Release => "Released",
        }
    }
}

wire_enum! {
    /// Which round of a vote is running. Podling releases need both rounds, others only the first.
    pub enum VoteRound, what = "vote round" {
        /// The committee's vote (PMC, or the podling's PPMC).
        Committee = "committee",
        /// The Incubator PMC's vote on a podling release, after the PPMC vote passed.
        Incubator = "incubator",
    }
}

impl VoteRound {
    /// 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            VoteRound::Committee => 1,
            VoteRound::Incubator => 2,
        }
    }
}

/// A release: one version of one project, moving through the phases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The project.
    pub project_key: ProjectKey,
    /// The version.
    pub version_key: VersionKey,
    /// Current phase.
    pub phase: ReleasePhase,
    /// When the draft was started.
    pub created: Timestamp,
    /// When it was announced.
    pub released: Option<Timestamp>,
    /// The vote mode, frozen when the vote starts (`None` while no vote has started).
    pub vote_mode: Option<VoteMode>,
    /// Number of the current or last vote (1 for the first; a restarted vote is a new one).
    pub vote_seq: u32,
    /// The round of the running vote (`None` outside the candidate phase).
    pub vote_round: Option<VoteRound>,
    /// When the running round started.
    pub vote_started: Option<Timestamp>,
    /// The earliest time the running round may be resolved as passed or failed.
    pub vote_ends: Option<Timestamp>,
    /// When the last vote was resolved.
    pub vote_resolved: Option<Timestamp>,
    /// Mailing-list thread (or message id) of the first round, kept for podlings' second round.
    pub podling_thread_id: Option<String>,
}

impl Release {
    /// A new draft started at `now`.
    pub fn new_draft(project_key: ProjectKey, version_key: VersionKey, now: Timestamp) -> Self {
        Release {
            project_key,
            version_key,
            phase: ReleasePhase::Draft,
            created: now,
            released: None,
            vote_mode: None,
            vote_seq: 0,
            vote_round: None,
            vote_started: None,
            vote_ends: None,
            vote_resolved: None,
            podling_thread_id: None,
        }
    }

    /// `<project>-<version>`.
    pub fn key(&self) -> ReleaseKey {
        ReleaseKey::new(self.project_key.clone(), self.version_key.clone())
    }
}

/// One immutable snapshot of a release's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// The project.
    pub project_key: ProjectKey,
    /// The version.
    pub version_key: VersionKey,
    /// Its number (`00001` …), contiguous per release.
    pub number: RevisionNumber,
    /// Who made it (ASF uid).
    pub asfuid: Uid,
    /// When it was made.
    pub created: Timestamp,
    /// The phase of the release when it was made.
    pub phase: ReleasePhase,
    /// The revision it was derived from (`None` for `00001`).
    pub parent: Option<RevisionNumber>,
    /// What changed.
    pub description: String,
}

impl Revision {
    /// `"<release key> <number>"`, ATR's revision name.
    pub fn key(&self) -> String {
        format!("{}-{} {}", self.project_key, self.version_key, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_table() {
        crate::model::assert_wire_table(
            ReleasePhase::ALL,
            &["release_candidate_draft", "release_candidate", "release_preview", "release"],
        );
        let ranks: Vec<u8> = ReleasePhase::ALL.iter().map(|p| p.rank()).collect();
        assert_eq!(ranks, [0, 1, 2, 3]);
        assert_eq!(ReleasePhase::Candidate.label(), "Vote");
    }

    #[test]
    fn vote_round_table() {
        crate::model::assert_wire_table(VoteRound::ALL, &["committee", "incubator"]);
        assert_eq!(VoteRound::Incubator.number(), 2);
    }

    #[test]
    fn keys() {
        let r = Revision {
            project_key: ProjectKey::new("foo").unwrap(),
            version_key: VersionKey::new("1.0").unwrap(),
            number: RevisionNumber::new(3).unwrap(),
            asfuid: Uid::new("alice").unwrap(),
            created: Timestamp::EPOCH,
            phase: ReleasePhase::Draft,
            parent: Some(RevisionNumber::new(2).unwrap()),
            description: "upload".into(),
        };
        assert_eq!(r.key(), "foo-1.0 00003");
        let rel = Release::new_draft(r.project_key.clone(), r.version_key.clone(), Timestamp::EPOCH);
        assert_eq!(rel.key().to_string(), "foo-1.0");
        let json = serde_json::to_value(&rel).unwrap();
        assert_eq!(json["phase"], "release_candidate_draft");
        assert_eq!(json["created"], "1970-01-01T00:00:00Z");
        assert_eq!(serde_json::from_value::<Release>(json).unwrap(), rel);
    }
}
