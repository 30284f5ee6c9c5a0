//! Votes: ballots, the tally and the ASF passing rule.
//!
//! A release vote passes when there are at least three binding +1 votes and more binding +1
//! than binding −1 votes. Only each voter's latest ballot counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{RevisionNumber, Uid};
use crate::model::release::VoteRound;
use crate::time::Timestamp;

/// Binding +1 votes a passing vote needs at least.
pub const MIN_BINDING_YES: u32 = 3;

wire_enum! {
    /// A ballot's choice.
    pub enum VoteChoice, what = "vote choice" {
        /// +1: release it.
        Yes = "+1",
        /// 0: abstain.
        Abstain = "0",
        /// −1: do not release it.
        No = "-1",
    }
}

wire_enum! {
    /// How a vote was resolved.
    pub enum VoteResolution, what = "vote resolution" {
        /// The vote passed: the release moves on (or to the Incubator round for podlings).
        Passed = "passed",
        /// The vote failed: the release goes back to draft.
        Failed = "failed",
        /// The vote was called off: the release goes back to draft. Allowed at any time.
        Cancelled = "cancelled",
    }
}

/// One person's vote in one round of one vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    /// Who voted; `None` when the voter could not be identified (email tabulation).
    pub voter: Option<Uid>,
    /// The voter's name or email as shown.
    pub voter_name: String,
    /// The choice.
    pub choice: VoteChoice,
    /// Whether the vote is binding (committee member; Incubator PMC member in the Incubator round).
    pub binding: bool,
    /// Optional comment.
    pub comment: String,
    /// Which vote (`Release::vote_seq`).
    pub vote_seq: u32,
    /// Which round.
    pub vote_round: VoteRound,
    /// The revision voted on.
    pub revision_number: RevisionNumber,
    /// When it was cast.
    pub cast_at: Timestamp,
    /// SHA-256 (hex) of the voted revision's artifact manifest ([`manifest_text`]); trusted ballots only.
    #[serde(default)]
    pub manifest_digest: Option<String>,
}

/// The canonical artifact manifest of a revision that a ballot's digest covers: one
/// `path\0sha512\n` line per artifact (SHA-512 in lowercase hex), sorted by path, so anyone with the
/// files can recompute the SHA-256 stored with the ballot.
pub fn manifest_text<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut lines: Vec<String> = entries
        .into_iter()
        .map(|(path, sha512)| format!("{path}\0{}\n", sha512.to_ascii_lowercase()))
        .collect();
    lines.sort();
    lines.concat()
}

/// Counts of a vote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Binding +1.
    pub binding_yes: u32,
    /// Binding −1.
    pub binding_no: u32,
    /// Binding 0.
    pub binding_abstain: u32,
    /// Non-binding +1.
    pub non_binding_yes: u32,
    /// Non-binding −1.
    pub non_binding_no: u32,
    /// Non-binding 0.
    pub non_binding_abstain: u32,
}

impl Tally {
    /// Counts `ballots`; for each identified voter only the latest ballot (by `cast_at`, then order) counts.
    pub fn of(ballots: &[Ballot]) -> Tally {
        let mut latest: BTreeMap<&Uid, &Ballot> = BTreeMap::new();
        let mut anonymous = Vec::new();
        for b in ballots {
            match &b.voter {
                Some(uid) => {
                    let keep = latest.get(uid).is_some_and(|prev| prev.cast_at > b.cast_at);
                    if !keep {
                        latest.insert(uid, b);
                    }
                }
                None => anonymous.push(b),
            }
        }
        let mut t = Tally::default();
        for b in latest.into_values().chain(anonymous) {
            // An unidentified voter is never binding.
            let binding = b.binding && b.voter.is_some();
            let slot = match (binding, b.choice) {
                (true, VoteChoice::Yes) => &mut t.binding_yes,
                (true, VoteChoice::No) => &mut t.binding_no,
                (true, VoteChoice::Abstain) => &mut t.binding_abstain,
                (false, VoteChoice::Yes) => &mut t.non_binding_yes,
                (false, VoteChoice::No) => &mut t.non_binding_no,
                (false, VoteChoice::Abstain) => &mut t.non_binding_abstain,
            };
            *slot += 1;
        }
        t
    }

    /// The ASF rule: at least three binding +1 and more binding +1 than binding −1.
    pub fn passes(&self) -> bool {
        self.binding_yes >= MIN_BINDING_YES && self.binding_yes > self.binding_no
    }

    /// Why the vote does not pass, phrased for a refusal; `None` if it passes.
    pub fn shortfall(&self) -> Option<String> {
        if self.binding_yes < MIN_BINDING_YES {
            Some(format!(
                "it has {} binding +1 vote(s) and needs at least {MIN_BINDING_YES}",
                self.binding_yes
            ))
        } else if self.binding_yes <= self.binding_no {
            Some(format!(
                "it has {} binding +1 and {} binding -1 votes, and needs more +1 than -1",
                self.binding_yes, self.binding_no
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ballot(uid: &str, choice: VoteChoice, binding: bool, at: i64) -> Ballot {
        Ballot {
            voter: Some(Uid::new(uid).unwrap()),
            voter_name: uid.into(),
            choice,
            binding,
            comment: String::new(),
            vote_seq: 1,
            vote_round: VoteRound::Committee,
            revision_number: RevisionNumber::FIRST,
            cast_at: Timestamp::from_unix(at),
            manifest_digest: None,
        }
    }

    #[test]
    fn manifest_text_is_sorted_nul_separated_and_lowercase() {
        let text = manifest_text([("b/x.tar.gz", "ABCD"), ("a.zip", "ef01")]);
        assert_eq!(text, "a.zip\0ef01\nb/x.tar.gz\0abcd\n");
        assert_eq!(text, manifest_text([("a.zip", "ef01"), ("b/x.tar.gz", "abcd")]));
        assert_ne!(text, manifest_text([("a.zip", "ef01"), ("b/x.tar.gz", "abce")]));
        assert_eq!(manifest_text([]), "");
    }

    #[test]
    fn tables() {
        crate::model::assert_wire_table(VoteChoice::ALL, &["+1", "0", "-1"]);
        crate::model::assert_wire_table(VoteResolution::ALL, &["passed", "failed", "cancelled"]);
    }

    #[test]
    fn passing_rule() {
        use VoteChoice::*;
        let three = [ballot("a", Yes, true, 1), ballot("b", Yes, true, 1), ballot("c", Yes, true, 1)];
        assert!(Tally::of(&three).passes());
        assert!(!Tally::of(&three[..2]).passes());
        assert!(Tally::of(&three[..2]).shortfall().unwrap().contains("needs at least 3"));
        // Non-binding votes never make up the number.
        let mut v = three[..2].to_vec();
        v.push(ballot("d", Yes, false, 1));
        assert!(!Tally::of(&v).passes());
        // Three +1 against three -1 fails.
        let mut v = three.to_vec();
        v.extend([ballot("x", No, true, 1), ballot("y", No, true, 1), ballot("z", No, true, 1)]);
        let t = Tally::of(&v);
        assert_eq!((t.binding_yes, t.binding_no), (3, 3));
        assert!(!t.passes() && t.shortfall().unwrap().contains("more +1 than -1"));
    }

    #[test]
    fn only_the_latest_ballot_of_a_voter_counts() {
        use VoteChoice::*;
        let v = [
            ballot("a", No, true, 5),
            ballot("a", Yes, true, 1),
            ballot("b", Yes, true, 1),
            ballot("c", Yes, true, 1),
        ];
        let t = Tally::of(&v);
        assert_eq!((t.binding_yes, t.binding_no), (2, 1));
        let mut anon = ballot("q", Yes, true, 1);
        anon.voter = None;
        assert_eq!(Tally::of(&[anon]).non_binding_yes, 1);
    }
}
