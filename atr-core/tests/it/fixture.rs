//! Shared builders: a project, actors, file lists, ballots, and releases driven to each phase.

use std::collections::BTreeSet;

use atr_core::ids::{CommitteeKey, ProjectKey, RevisionNumber, Uid, VersionKey};
use atr_core::lifecycle::{Command, ProjectContext, ReleaseState, Transition, apply};
use atr_core::model::committee::ProjectStatus;
use atr_core::model::policy::ReleasePolicy;
use atr_core::model::release::VoteRound;
use atr_core::model::vote::{Ballot, VoteChoice, VoteResolution};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_core::time::Timestamp;

/// 2025-10-29T12:00:00Z.
pub(crate) const T0: Timestamp = Timestamp::from_unix(1_761_739_200);

pub(crate) fn committee() -> CommitteeKey {
    CommitteeKey::new("foo").unwrap()
}

pub(crate) fn project(is_podling: bool) -> ProjectContext {
    ProjectContext {
        project_key: ProjectKey::new("foo-client").unwrap(),
        project_name: "Apache Foo Client".into(),
        committee_key: committee(),
        is_podling,
        status: ProjectStatus::Active,
        policy: ReleasePolicy::default(),
    }
}

pub(crate) fn version() -> VersionKey {
    VersionKey::new("1.0.0").unwrap()
}

pub(crate) fn rev(n: u32) -> RevisionNumber {
    RevisionNumber::new(n).unwrap()
}

pub(crate) fn public() -> Actor {
    Actor::public()
}

pub(crate) fn outsider() -> Actor {
    Actor::user(Uid::new("eve").unwrap()).member_of(CommitteeKey::new("other").unwrap())
}

pub(crate) fn committer() -> Actor {
    Actor::user(Uid::new("carol").unwrap()).participant_of(committee())
}

pub(crate) fn member() -> Actor {
    Actor::user(Uid::new("alice").unwrap()).member_of(committee())
}

pub(crate) fn admin() -> Actor {
    Actor::user(Uid::new("root").unwrap()).admin()
}

pub(crate) fn files(names: &[&str]) -> BTreeSet<RelPath> {
    names.iter().map(|n| RelPath::new(*n).unwrap()).collect()
}

pub(crate) fn release_files() -> BTreeSet<RelPath> {
    files(&[
        "foo-client-1.0.0-src.tar.gz",
        "foo-client-1.0.0-src.tar.gz.asc",
        "foo-client-1.0.0-src.tar.gz.sha512",
        "README",
    ])
}

pub(crate) fn ballot(uid: &str, choice: VoteChoice, binding: bool, round: VoteRound) -> Ballot {
    Ballot {
        voter: Some(Uid::new(uid).unwrap()),
        voter_name: uid.into(),
        choice,
        binding,
        comment: String::new(),
        vote_seq: 1,
        vote_round: round,
        revision_number: rev(2),
        cast_at: T0,
        manifest_digest: None,
    }
}

pub(crate) fn passing_ballots(round: VoteRound) -> Vec<Ballot> {
    ["b1", "b2", "b3"].iter().map(|u| ballot(u, VoteChoice::Yes, true, round)).collect()
}

#[track_caller]
pub(crate) fn ok(state: &ReleaseState, cmd: Command, actor: &Actor, now: Timestamp) -> Transition {
    match apply(state, cmd, actor, now) {
        Ok(t) => t,
        Err(r) => panic!("refused: {r}"),
    }
}

/// Simulates the worker finishing every queued check with no findings.
pub(crate) fn checks_done(mut state: ReleaseState) -> ReleaseState {
    state.checks.ongoing = 0;
    state
}

pub(crate) fn add_files() -> Command {
    Command::AddRevision { files: release_files(), description: "upload".into(), expected_latest: None }
}

pub(crate) fn start_vote() -> Command {
    Command::StartVote {
        revision: None,
        duration_hours: None,
        email_to: Some("dev@foo.apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    }
}

pub(crate) fn resolve(resolution: VoteResolution) -> Command {
    Command::Resolve { resolution, evidence: None, test_mode_bypass: false }
}

pub(crate) fn announce() -> Command {
    Command::Announce {
        revision: None,
        email_to: "user-tests@tooling.apache.org".into(),
        body: None,
        path_suffix: None,
    }
}

/// A started release with one empty revision.
pub(crate) fn started(p: ProjectContext) -> ReleaseState {
    checks_done(
        ok(&ReleaseState::unstarted(p), Command::Start { version: version() }, &committer(), T0).state,
    )
}

/// A draft whose revision 00002 holds [`release_files`], checks finished clean.
pub(crate) fn draft_with(p: ProjectContext) -> ReleaseState {
    checks_done(ok(&started(p), add_files(), &committer(), T0).state)
}

pub(crate) fn draft() -> ReleaseState {
    draft_with(project(false))
}

/// A candidate whose vote started at T0 (72 hours), with three binding +1 ballots.
pub(crate) fn candidate_with(p: ProjectContext) -> ReleaseState {
    let mut s = ok(&draft_with(p), start_vote(), &committer(), T0).state;
    s.ballots = passing_ballots(VoteRound::Committee);
    s
}

pub(crate) fn candidate() -> ReleaseState {
    candidate_with(project(false))
}

/// After the vote: 72 hours and one second after T0.
pub(crate) fn after_vote() -> Timestamp {
    T0.plus_hours(72).plus_secs(1)
}

pub(crate) fn preview() -> ReleaseState {
    ok(&candidate(), resolve(VoteResolution::Passed), &member(), after_vote()).state
}

pub(crate) fn released() -> ReleaseState {
    ok(&preview(), announce(), &member(), after_vote()).state
}
