//! Property tests: random command sequences by random actors keep the lifecycle invariants.
//!
//! Invariants checked after every accepted command:
//! - a release that exists has a latest revision, and revisions are numbered 1, 2, 3, … with no gap
//!   (each new one has the previous latest as parent);
//! - at most one revision is created per command;
//! - the phase never goes backwards, except a failed or cancelled vote (candidate → draft), and
//!   deletion;
//! - the files of a candidate never change; an announced release accepts nothing but deletion;
//! - every refusal names the release, a reason and a fix.

use std::collections::BTreeSet;

use atr_core::lifecycle::{Command, Effect, FileMove, ReleaseState, apply};
use atr_core::model::release::{ReleasePhase, VoteRound};
use atr_core::model::vote::{VoteChoice, VoteResolution};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_core::time::Timestamp;
use proptest::prelude::*;

use crate::fixture::*;

fn actor(i: u8) -> Actor {
    match i % 10 {
        0 => public(),
        1 => outsider(),
        2..=4 => committer(),
        5..=8 => member(),
        _ => admin(),
    }
}

fn file_set(seed: u8) -> BTreeSet<RelPath> {
    let all = [
        "foo-client-1.0.0-src.tar.gz",
        "foo-client-1.0.0-src.tar.gz.asc",
        "foo-client-1.0.0-src.tar.gz.sha512",
        "foo-client-1.0.0-src.zip",
        "README",
        "docs/guide.txt",
    ];
    all.iter()
        .enumerate()
        .filter(|(i, _)| seed & (1 << i) != 0)
        .map(|(_, f)| RelPath::new(*f).unwrap())
        .collect()
}

fn command(kind: u8, p: u8, state: &ReleaseState) -> Command {
    let latest = state.latest_revision;
    match kind % 9 {
        0 => Command::Start { version: version() },
        1 => Command::AddRevision {
            files: file_set(p),
            description: "change".into(),
            expected_latest: if p.is_multiple_of(4) { latest.and_then(|l| l.next()) } else { latest },
        },
        2 => Command::StartVote {
            revision: if p.is_multiple_of(5) { latest.and_then(|l| l.next()) } else { None },
            duration_hours: Some([72, 96, 24][usize::from(p % 3)]),
            email_to: Some("dev@foo.apache.org".into()),
            subject: None,
            body: None,
            concerns_noted: if p.is_multiple_of(2) { ["c".to_owned()].into() } else { BTreeSet::new() },
        },
        3 => Command::Resolve {
            resolution: [VoteResolution::Passed, VoteResolution::Failed, VoteResolution::Cancelled]
                [usize::from(p % 3)],
            evidence: None,
            test_mode_bypass: false,
        },
        4 => {
            let from = state.files.iter().nth(usize::from(p) % state.files.len().max(1)).cloned();
            let moves = from
                .map(|f| FileMove {
                    to: RelPath::new(format!("moved{p}/{}", f.file_name())).unwrap(),
                    from: f,
                })
                .into_iter()
                .collect();
            Command::FinishMove { moves, expected_latest: None }
        }
        5 => Command::Announce {
            revision: None,
            email_to: "user-tests@tooling.apache.org".into(),
            body: None,
            path_suffix: None,
        },
        6 if p.is_multiple_of(4) => Command::Delete,
        _ => Command::Resolve { resolution: VoteResolution::Passed, evidence: None, test_mode_bypass: false },
    }
}

/// One step: a command by someone, or something the world does between commands.
#[derive(Debug, Clone)]
enum Step {
    /// A command of kind `.0` by actor `.1` with parameter `.2`.
    Command(u8, u8, u8),
    /// Time passes.
    Time(u8),
    /// The worker finishes the checks, with some findings.
    ChecksDone(u8),
    /// Someone votes.
    Vote(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(k, w, p)| Step::Command(k, w, p)),
        1 => any::<u8>().prop_map(Step::Time),
        2 => any::<u8>().prop_map(Step::ChecksDone),
        3 => any::<u8>().prop_map(Step::Vote),
    ]
}

/// Things the world does between commands: time passes, checks finish, people vote.
fn world(step: &Step, state: &mut ReleaseState, now: &mut Timestamp) {
    match *step {
        Step::Time(h) => *now = now.plus_hours(u32::from(h)),
        Step::ChecksDone(p) => {
            state.checks.ongoing = 0;
            state.checks.blockers = u32::from(p.is_multiple_of(10));
            state.checks.concerns =
                if p.is_multiple_of(5) { ["c".to_owned()].into() } else { BTreeSet::new() };
        }
        Step::Vote(p) => {
            let round = state.release.as_ref().and_then(|r| r.vote_round).unwrap_or(VoteRound::Committee);
            let choice = if p.is_multiple_of(6) { VoteChoice::No } else { VoteChoice::Yes };
            state.ballots.push(ballot(&format!("v{}", p % 7), choice, !p.is_multiple_of(8), round));
        }
        Step::Command(..) => {}
    }
}

fn rank(s: &ReleaseState) -> Option<u8> {
    s.release.as_ref().map(|r| r.phase.rank())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_invariants(
        steps in proptest::collection::vec(step(), 1..150),
        podling in any::<bool>(),
    ) {
        // Start from a draft with files (revisions 1 and 2); deletion and a new start are in the mix.
        let mut state = draft_with(project(podling));
        let mut now = T0;
        let mut created: Vec<u32> = vec![1, 2];
        for s in steps {
            let Step::Command(kind, who, p) = s else {
                world(&s, &mut state, &mut now);
                continue;
            };
            let cmd = command(kind, p, &state);
            let name = cmd.name();
            let resolution = match &cmd { Command::Resolve { resolution, .. } => Some(*resolution), _ => None };
            let t = match apply(&state, cmd, &actor(who), now) {
                Ok(t) => t,
                Err(r) => {
                    // Every refusal names what was refused, why, and a fix phrased as a sentence.
                    prop_assert!(r.action.contains("foo-client"), "{r}");
                    prop_assert!(!r.reason.is_empty() && r.fix.ends_with('.'), "{r}");
                    continue;
                }
            };
            let old = &state;
            let new = &t.state;

            // One latest revision whenever the release exists.
            prop_assert_eq!(new.release.is_some(), new.latest_revision.is_some());

            // At most one revision per command, numbered after the previous latest.
            let revisions: Vec<_> = t.effects.iter().filter_map(|e| match e {
                Effect::CreateRevision { number, parent, .. } => Some((*number, *parent)),
                _ => None,
            }).collect();
            prop_assert!(revisions.len() <= 1, "{name}: {revisions:?}");
            if name == "delete" {
                prop_assert!(new.release.is_none());
                created.clear();
            } else if let Some((number, parent)) = revisions.first() {
                prop_assert_eq!(*parent, old.latest_revision);
                prop_assert_eq!(number.get(), old.latest_revision.map_or(1, |l| l.get() + 1));
                prop_assert_eq!(new.latest_revision, Some(*number));
                created.push(number.get());
            } else {
                prop_assert_eq!(new.latest_revision, old.latest_revision, "{}", name);
            }
            let contiguous: Vec<u32> = (1..=u32::try_from(created.len()).unwrap()).collect();
            prop_assert_eq!(&created, &contiguous);

            // Phase order.
            match (rank(old), rank(new)) {
                (_, None) => prop_assert_eq!(name, "delete"),
                (Some(a), Some(b)) if b < a => {
                    prop_assert_eq!(old.phase(), Some(ReleasePhase::Candidate));
                    prop_assert_eq!(new.phase(), Some(ReleasePhase::Draft));
                    prop_assert!(matches!(resolution, Some(VoteResolution::Failed | VoteResolution::Cancelled)));
                }
                _ => {}
            }

            // A candidate's files never change; an announced release only accepts deletion.
            if old.phase() == Some(ReleasePhase::Candidate) && new.release.is_some() {
                prop_assert_eq!(&new.files, &old.files);
            }
            if old.phase() == Some(ReleasePhase::Release) {
                prop_assert_eq!(name, "delete");
            }
            // Every accepted command is audited against its release, by a logged-in actor.
            prop_assert!(t.audit.target.starts_with("foo-client-1.0.0"));
            prop_assert!(t.audit.actor.is_some());
            prop_assert_eq!(t.audit.at, now);

            state = t.state;
        }
    }
}

#[test]
fn a_long_happy_path_reaches_every_phase() {
    // Deterministic companion to the property test: the generators above can reach every phase.
    let mut s = ReleaseState::unstarted(project(false));
    s = ok(&s, command(0, 0, &s), &committer(), T0).state;
    s = checks_done(ok(&s, command(1, 0b1111, &s), &committer(), T0).state);
    s = ok(&s, command(2, 3, &s), &committer(), T0).state;
    s.ballots = passing_ballots(VoteRound::Committee);
    s = ok(&s, command(3, 0, &s), &member(), T0.plus_hours(72)).state;
    assert_eq!(s.phase(), Some(ReleasePhase::Preview));
    s = checks_done(ok(&s, command(4, 0, &s), &committer(), T0.plus_hours(73)).state);
    s = ok(&s, command(5, 0, &s), &member(), T0.plus_hours(74)).state;
    assert_eq!(s.phase(), Some(ReleasePhase::Release));
    assert_eq!(s.latest_revision.unwrap().get(), 4);
}
