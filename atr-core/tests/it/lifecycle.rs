//! Every allowed and refused lifecycle transition, with the refusal text checked.

use std::collections::BTreeSet;

use atr_core::error::{Refusal, RefusalKind};
use atr_core::lifecycle::{
    Command, Effect, FileMove, MailKind, MailTo, ManualEvidence, ReleaseState, RevisionSource, apply,
};
use atr_core::model::audit::AuditAction;
use atr_core::model::committee::ProjectStatus;
use atr_core::model::policy::VoteMode;
use atr_core::model::release::{ReleasePhase, VoteRound};
use atr_core::model::task::TaskType;
use atr_core::model::vote::{VoteChoice, VoteResolution};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_core::time::Timestamp;

use crate::fixture::*;

#[track_caller]
fn refused(state: &ReleaseState, cmd: Command, actor: &Actor, now: Timestamp) -> Refusal {
    match apply(state, cmd, actor, now) {
        Ok(t) => panic!("accepted, with effects {:?}", t.effects),
        Err(r) => r,
    }
}

#[track_caller]
fn refused_with(
    state: &ReleaseState,
    cmd: Command,
    actor: &Actor,
    now: Timestamp,
    kind: RefusalKind,
    text: &str,
) {
    let r = refused(state, cmd, actor, now);
    assert_eq!(r.kind, kind, "{r}");
    assert_eq!(r.to_string(), text);
}

fn phase(s: &ReleaseState) -> ReleasePhase {
    s.phase().unwrap()
}

// ---- start ------------------------------------------------------------------------------------

#[test]
fn start_creates_a_draft_with_an_empty_first_revision_and_a_paths_check() {
    let t =
        ok(&ReleaseState::unstarted(project(false)), Command::Start { version: version() }, &committer(), T0);
    assert_eq!(phase(&t.state), ReleasePhase::Draft);
    assert_eq!(t.state.latest_revision, Some(rev(1)));
    assert_eq!(t.state.checks.ongoing, 1);
    assert!(matches!(
        &t.effects[0],
        Effect::CreateRevision { number, parent: None, phase: ReleasePhase::Draft, source: RevisionSource::Empty, .. }
            if *number == rev(1)
    ));
    let tasks: Vec<_> = t.tasks().map(|t| t.task_type).collect();
    assert_eq!(tasks, [TaskType::PathsCheck]);
    assert_eq!(t.audit.action, AuditAction::ReleaseStart);
    assert_eq!(t.audit.target, "foo-client-1.0.0");
    assert_eq!(t.audit.actor.as_ref().unwrap().as_str(), "carol");
    assert!(!t.audit.as_admin);
    assert_eq!(t.audit.at, T0);
}

#[test]
fn start_refusals() {
    refused_with(
        &draft(),
        Command::Start { version: version() },
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start foo-client-1.0.0: a release foo-client-1.0.0 already exists in the Compose phase. \
         Choose another version, or continue the existing release.",
    );
    refused_with(
        &ReleaseState::unstarted(project(false)),
        Command::Start { version: version() },
        &public(),
        T0,
        RefusalKind::Unauthenticated,
        "Cannot start foo-client-1.0.0: you are not logged in. Log in (or send a bearer token) and try again.",
    );
    refused_with(
        &ReleaseState::unstarted(project(false)),
        Command::Start { version: version() },
        &outsider(),
        T0,
        RefusalKind::Forbidden,
        "Cannot start foo-client-1.0.0: only a committer of the foo committee may do this, and eve is a logged-in \
         committer. Ask a committer of the foo committee to do it, or to give you that role.",
    );
    let mut retired = project(false);
    retired.status = ProjectStatus::Retired;
    refused_with(
        &ReleaseState::unstarted(retired),
        Command::Start { version: version() },
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start foo-client-1.0.0: the project foo-client is retired. Only active projects make releases; \
         ask the committee to reactivate the project.",
    );
}

// ---- add revision -----------------------------------------------------------------------------

#[test]
fn add_revision_numbers_contiguously_and_plans_checks() {
    let s = started(project(false));
    let t = ok(&s, add_files(), &committer(), T0);
    assert_eq!(t.state.latest_revision, Some(rev(2)));
    assert_eq!(t.state.files, release_files());
    assert!(matches!(
        &t.effects[0],
        Effect::CreateRevision { number, parent: Some(p), source: RevisionSource::Staged, .. }
            if *number == rev(2) && *p == rev(1)
    ));
    let mut kinds: Vec<_> = t.tasks().map(|t| t.task_type.as_str()).collect();
    kinds.sort();
    // The source archive has no SBOM beside it: its presence check is planned too.
    assert_eq!(kinds, ["archive_check", "hashing_check", "paths_check", "sbom_check", "signature_check"]);
    assert_eq!(t.state.checks.ongoing, 5);
    assert!(t.tasks().all(|task| task.revision_number == Some(rev(2))));
    assert_eq!(t.audit.target, "foo-client-1.0.0 00002");
    let t2 = ok(&t.state, add_files(), &committer(), T0);
    assert_eq!(t2.state.latest_revision, Some(rev(3)));
}

#[test]
fn add_revision_refusals() {
    refused_with(
        &ReleaseState::unstarted(project(false)),
        add_files(),
        &committer(),
        T0,
        RefusalKind::NotFound,
        "Cannot change the files of a release of foo-client: there is no such release. \
         Check the project and version, or start the release first.",
    );
    refused_with(
        &candidate(),
        add_files(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot change the files of foo-client-1.0.0: the release is in the Vote (release_candidate) phase, and this \
         is only possible in a draft: the candidate is immutable while its vote runs. Cancel the vote to return to \
         the draft, change the files, then start a new vote.",
    );
    refused_with(
        &preview(),
        add_files(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot change the files of foo-client-1.0.0: the release is in the Finish (release_preview) phase, and this \
         is only possible in a draft: after the vote only finishing moves are allowed. Use the finish page to move \
         or rename files.",
    );
    let r = refused(&released(), add_files(), &committer(), T0);
    assert!(r.to_string().contains("an announced release is final"), "{r}");
    let stale = Command::AddRevision {
        files: release_files(),
        description: "x".into(),
        expected_latest: Some(rev(1)),
    };
    refused_with(
        &draft(),
        stale,
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot change the files of foo-client-1.0.0: revision 00001 is not the latest; a newer revision (00002) \
         appeared. Refresh, review the latest revision and try again.",
    );
    assert_eq!(refused(&draft(), add_files(), &outsider(), T0).kind, RefusalKind::Forbidden);
}

#[test]
fn revision_numbers_stop_at_99999() {
    let mut s = draft();
    s.latest_revision = Some(rev(99_999));
    let r = refused(&s, add_files(), &committer(), T0);
    assert!(r.to_string().contains("already has 99999 revisions"), "{r}");
}

// ---- start vote -------------------------------------------------------------------------------

#[test]
fn start_vote_freezes_the_candidate_and_mails_the_list() {
    let t = ok(&draft(), start_vote(), &committer(), T0);
    let r = t.state.release.as_ref().unwrap();
    assert_eq!(r.phase, ReleasePhase::Candidate);
    assert_eq!(r.vote_mode, Some(VoteMode::Trusted));
    assert_eq!(r.vote_seq, 1);
    assert_eq!(r.vote_round, Some(VoteRound::Committee));
    assert_eq!(r.vote_started, Some(T0));
    assert_eq!(r.vote_ends, Some(T0.plus_hours(72)));
    assert_eq!(t.state.latest_revision, Some(rev(2)), "no new revision at promotion");
    let mails: Vec<_> = t.mails().collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].kind, MailKind::VoteStart);
    assert_eq!(mails[0].to, MailTo::List("dev@foo.apache.org".into()));
    assert_eq!(mails[0].subject, "[VOTE] Release Apache Foo Client 1.0.0");
    assert_eq!(mails[0].duration_hours, Some(72));
    assert_eq!(t.audit.action, AuditAction::VoteStart);
    assert_eq!(t.audit.target, "foo-client-1.0.0 00002");
}

#[test]
fn start_vote_guards() {
    let d = draft();
    let with_latest = Command::StartVote {
        revision: Some(rev(1)),
        duration_hours: None,
        email_to: Some("dev@foo.apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    };
    refused_with(
        &d,
        with_latest,
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: revision 00001 is not the latest; a newer revision (00002) \
         appeared. Refresh, review the latest revision and try again.",
    );

    refused_with(
        &started(project(false)),
        start_vote(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: revision 00001 has no files. \
         Upload the release artifacts, their signatures and checksums first.",
    );

    let mut running = d.clone();
    running.checks.ongoing = 3;
    refused_with(
        &running,
        start_vote(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: all checks must be completed before starting a vote \
         (3 still queued or running). Wait for the checks to finish, then try again.",
    );

    let mut quarantined = d.clone();
    quarantined.checks.quarantined = 1;
    let r = refused(&quarantined, start_vote(), &committer(), T0);
    assert!(r.to_string().contains("1 upload(s) are still in quarantine"), "{r}");

    let mut blocked = d.clone();
    blocked.checks.blockers = 2;
    refused_with(
        &blocked,
        start_vote(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: revision 00002 has 2 blocker(s) and 0 unresolved check \
         exception(s). Fix the files and upload a new revision; exceptions may instead be re-run or ignored with a reason.",
    );
    let mut excepted = d.clone();
    excepted.checks.exceptions = 1;
    assert!(
        refused(&excepted, start_vote(), &committer(), T0)
            .to_string()
            .contains("1 unresolved check exception")
    );

    let mut concerned = d.clone();
    concerned.checks.concerns = ["atr.tasks.checks.rat.check".to_owned()].into();
    refused_with(
        &concerned,
        start_vote(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: concerns from `atr.tasks.checks.rat.check` have not been \
         acknowledged. Read the concerns and acknowledge each checker (concerns_noted), or fix the files.",
    );
    let noted = Command::StartVote {
        revision: Some(rev(2)),
        duration_hours: Some(96),
        email_to: Some("dev@foo.apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: ["atr.tasks.checks.rat.check".to_owned()].into(),
    };
    let t = ok(&concerned, noted.clone(), &committer(), T0);
    assert_eq!(t.state.release.unwrap().vote_ends, Some(T0.plus_hours(96)));

    let mut strict = concerned.clone();
    strict.project.policy.strict_checking = true;
    refused_with(
        &strict,
        noted,
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: the project's policy uses strict checking and revision 00002 has \
         concerns from `atr.tasks.checks.rat.check`. Fix the files, or add ignore rules with a reason for accepted concerns.",
    );

    let to_announce = Command::StartVote {
        revision: None,
        duration_hours: None,
        email_to: Some("announce@apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    };
    refused_with(
        &d,
        to_announce,
        &committer(),
        T0,
        RefusalKind::Invalid,
        "Cannot start a vote on foo-client-1.0.0: `announce@apache.org` is not a list you may send this vote to. \
         Use one of dev@foo.apache.org, private@foo.apache.org, user-tests@tooling.apache.org, carol@apache.org.",
    );

    let short = Command::StartVote {
        revision: None,
        duration_hours: Some(24),
        email_to: Some("dev@foo.apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    };
    refused_with(
        &d,
        short,
        &committer(),
        T0,
        RefusalKind::Invalid,
        "Cannot start a vote on foo-client-1.0.0: a vote of 24 hours is not allowed. Give a duration from 72 to 720 hours.",
    );

    refused_with(
        &candidate(),
        start_vote(),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot start a vote on foo-client-1.0.0: the release is in the Vote (release_candidate) phase, and this is \
         only possible from a draft. A vote is already running; resolve or cancel it first.",
    );
    assert!(
        refused(&preview(), start_vote(), &committer(), T0)
            .to_string()
            .contains("The vote on this release is over")
    );
    assert_eq!(refused(&d, start_vote(), &public(), T0).kind, RefusalKind::Unauthenticated);
}

#[test]
fn a_policy_without_minimum_allows_a_short_vote() {
    let mut p = project(false);
    p.policy.min_hours = 0;
    let cmd = Command::StartVote {
        revision: None,
        duration_hours: Some(1),
        email_to: Some("carol@apache.org".into()),
        subject: Some("[VOTE] test".into()),
        body: Some("body".into()),
        concerns_noted: BTreeSet::new(),
    };
    let t = ok(&draft_with(p), cmd, &committer(), T0);
    assert_eq!(t.state.release.as_ref().unwrap().vote_ends, Some(T0.plus_hours(1)));
    let mail = t.mails().next().unwrap();
    assert_eq!((mail.subject.as_str(), mail.body.as_deref()), ("[VOTE] test", Some("body")));
}

#[test]
fn manual_votes_send_no_mail_and_need_thread_urls_to_pass() {
    let mut p = project(false);
    p.policy.vote_mode = VoteMode::Manual;
    let manual_start = Command::StartVote {
        revision: None,
        duration_hours: None,
        email_to: None,
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    };
    let t = ok(&draft_with(p), manual_start, &committer(), T0);
    assert_eq!(t.mails().count(), 0);
    let c = t.state;
    assert_eq!(c.release.as_ref().unwrap().vote_mode, Some(VoteMode::Manual));
    refused_with(
        &c,
        resolve(VoteResolution::Passed),
        &member(),
        after_vote(),
        RefusalKind::Invalid,
        "Cannot resolve the vote on foo-client-1.0.0: a manual vote needs the vote thread and the result thread as \
         evidence. Give both thread URLs; each must start with https://lists.apache.org/thread/.",
    );
    let bad = Command::Resolve {
        resolution: VoteResolution::Passed,
        evidence: Some(ManualEvidence {
            vote_thread_url: "https://example.com/x".into(),
            result_thread_url: "https://lists.apache.org/thread/abc".into(),
        }),
        test_mode_bypass: false,
    };
    assert_eq!(refused(&c, bad, &member(), after_vote()).kind, RefusalKind::Invalid);
    let good = Command::Resolve {
        resolution: VoteResolution::Passed,
        evidence: Some(ManualEvidence {
            vote_thread_url: "https://lists.apache.org/thread/abc".into(),
            result_thread_url: "https://lists.apache.org/thread/def".into(),
        }),
        test_mode_bypass: false,
    };
    let t = ok(&c, good, &member(), after_vote());
    assert_eq!(phase(&t.state), ReleasePhase::Preview);
    assert_eq!(t.mails().count(), 0);
    assert_eq!(t.audit.details["evidence"]["vote_thread_url"], "https://lists.apache.org/thread/abc");
}

// ---- resolve ----------------------------------------------------------------------------------

#[test]
fn passed_vote_moves_to_preview_with_a_copied_revision() {
    let c = candidate();
    let t = ok(&c, resolve(VoteResolution::Passed), &member(), after_vote());
    let r = t.state.release.as_ref().unwrap();
    assert_eq!(r.phase, ReleasePhase::Preview);
    assert_eq!(r.vote_resolved, Some(after_vote()));
    assert_eq!(t.state.latest_revision, Some(rev(3)));
    assert_eq!(t.state.files, c.files);
    assert!(matches!(
        &t.effects[0],
        Effect::CreateRevision { number, parent: Some(p), phase: ReleasePhase::Preview, source: RevisionSource::CopyOfParent, .. }
            if *number == rev(3) && *p == rev(2)
    ));
    let mail = t.mails().next().unwrap();
    assert_eq!(mail.kind, MailKind::VoteResult);
    assert_eq!(mail.to, MailTo::VoteThread);
    assert_eq!(mail.subject, "[VOTE] [RESULT] Release Apache Foo Client 1.0.0 PASSED");
    assert_eq!(t.audit.details["binding_yes"], 3);
    assert!(t.state.ballots.is_empty());
}

#[test]
fn a_test_server_resolves_at_once_whatever_the_tally_and_says_so_in_the_audit() {
    let mut c = candidate();
    c.ballots.clear();
    let bypass = |resolution| Command::Resolve { resolution, evidence: None, test_mode_bypass: true };
    // At the start of a 72 h vote, with no ballot at all.
    let t = ok(&c, bypass(VoteResolution::Passed), &member(), T0);
    assert_eq!(phase(&t.state), ReleasePhase::Preview);
    assert_eq!(t.audit.details["test_mode_bypass"], true);
    assert_eq!(t.audit.details["binding_yes"], 0);
    let t = ok(&c, bypass(VoteResolution::Failed), &member(), T0);
    assert_eq!(phase(&t.state), ReleasePhase::Draft);
    // Without the bypass the same commands wait for the period and the tally.
    assert_eq!(refused(&c, resolve(VoteResolution::Passed), &member(), T0).kind, RefusalKind::TooEarly);
    assert_eq!(
        refused(&c, resolve(VoteResolution::Passed), &member(), after_vote()).kind,
        RefusalKind::Conflict
    );
    assert_eq!(
        ok(&c, resolve(VoteResolution::Failed), &member(), after_vote()).audit.details["test_mode_bypass"],
        false
    );
    // Permission still applies: an outsider cannot resolve, bypass or not.
    assert_eq!(refused(&c, bypass(VoteResolution::Passed), &outsider(), T0).kind, RefusalKind::Forbidden);
}

#[test]
fn resolve_guards() {
    let c = candidate();
    refused_with(
        &c,
        resolve(VoteResolution::Passed),
        &member(),
        T0.plus_hours(70),
        RefusalKind::TooEarly,
        "Cannot resolve the vote on foo-client-1.0.0: the vote is open until 2025-11-01T12:00:00Z (2h 0m left), and \
         may only be resolved as passed after that. Wait until the vote period ends, or cancel the vote.",
    );
    assert_eq!(refused(&c, resolve(VoteResolution::Failed), &member(), T0).kind, RefusalKind::TooEarly);
    // Exactly at the end is allowed.
    ok(&c, resolve(VoteResolution::Passed), &member(), T0.plus_hours(72));

    let mut two = c.clone();
    two.ballots.pop();
    refused_with(
        &two,
        resolve(VoteResolution::Passed),
        &member(),
        after_vote(),
        RefusalKind::Conflict,
        "Cannot resolve the vote on foo-client-1.0.0: the vote has not passed: it has 2 binding +1 vote(s) and needs \
         at least 3. Resolve it as failed, or cancel it and start a new vote.",
    );
    let mut contested = c.clone();
    for u in ["n1", "n2", "n3"] {
        contested.ballots.push(ballot(u, VoteChoice::No, true, VoteRound::Committee));
    }
    assert!(
        refused(&contested, resolve(VoteResolution::Passed), &member(), after_vote())
            .to_string()
            .contains("it has 3 binding +1 and 3 binding -1 votes, and needs more +1 than -1")
    );
    let mut non_binding = c.clone();
    for b in &mut non_binding.ballots {
        b.binding = false;
    }
    assert!(
        refused(&non_binding, resolve(VoteResolution::Passed), &member(), after_vote())
            .to_string()
            .contains("0 binding +1")
    );

    refused_with(
        &c,
        resolve(VoteResolution::Passed),
        &committer(),
        after_vote(),
        RefusalKind::Forbidden,
        "Cannot resolve the vote on foo-client-1.0.0: only a member of the foo committee (PMC or PPMC) may do this, \
         and carol is a committer of the foo committee. Ask a member of the foo committee (PMC or PPMC) to do it, or \
         to give you that role.",
    );
    refused_with(
        &draft(),
        resolve(VoteResolution::Cancelled),
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot resolve the vote on foo-client-1.0.0: the release is in the Compose (release_candidate_draft) phase, \
         and this is only possible while a vote is running. Only a release in the Vote phase has a vote to resolve.",
    );
}

#[test]
fn failed_and_cancelled_votes_return_to_an_editable_draft() {
    let c = candidate();
    let failed = ok(&c, resolve(VoteResolution::Failed), &member(), after_vote());
    assert_eq!(phase(&failed.state), ReleasePhase::Draft);
    assert_eq!(failed.state.latest_revision, Some(rev(2)), "files unchanged");
    assert_eq!(
        failed.mails().next().unwrap().subject,
        "[VOTE] [RESULT] Release Apache Foo Client 1.0.0 FAILED"
    );
    // Cancelling is allowed at once, by the release manager.
    let cancelled = ok(&c, resolve(VoteResolution::Cancelled), &committer(), T0.plus_secs(60));
    assert_eq!(phase(&cancelled.state), ReleasePhase::Draft);
    assert!(cancelled.mails().next().unwrap().subject.ends_with("CANCELLED"));
    // The draft is editable again and a new vote is a new sequence.
    let edited = checks_done(ok(&cancelled.state, add_files(), &committer(), T0).state);
    assert_eq!(edited.latest_revision, Some(rev(3)));
    let again = ok(&edited, start_vote(), &committer(), T0.plus_hours(1));
    assert_eq!(again.state.release.unwrap().vote_seq, 2);
}

#[test]
fn podlings_vote_twice() {
    let c = candidate_with(project(true));
    let round1 = ok(&c, resolve(VoteResolution::Passed), &member(), after_vote());
    let r = round1.state.release.as_ref().unwrap();
    assert_eq!(r.phase, ReleasePhase::Candidate, "still voting after the PPMC round");
    assert_eq!(r.vote_round, Some(VoteRound::Incubator));
    assert_eq!(r.vote_started, Some(after_vote()));
    assert_eq!(r.vote_ends, Some(after_vote().plus_hours(72)));
    assert_eq!(round1.audit.action, AuditAction::VoteNextRound);
    assert_eq!(round1.state.latest_revision, Some(rev(2)));
    let mails: Vec<_> = round1.mails().collect();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].kind, MailKind::VoteResult);
    assert_eq!(mails[1].kind, MailKind::VoteStart);
    assert_eq!(mails[1].to, MailTo::List("general@incubator.apache.org".into()));
    assert!(round1.state.ballots.is_empty(), "round-1 ballots do not count for round 2");

    // Round 2 needs its own votes and its own period.
    let mut s = round1.state;
    assert!(
        refused(&s, resolve(VoteResolution::Passed), &member(), after_vote().plus_hours(1)).kind
            == RefusalKind::TooEarly
    );
    let end2 = after_vote().plus_hours(72);
    assert!(
        refused(&s, resolve(VoteResolution::Passed), &member(), end2).to_string().contains("0 binding +1")
    );
    s.ballots = passing_ballots(VoteRound::Incubator);
    let round2 = ok(&s, resolve(VoteResolution::Passed), &member(), end2);
    assert_eq!(phase(&round2.state), ReleasePhase::Preview);
    assert_eq!(round2.state.latest_revision, Some(rev(3)));

    // A failed Incubator round returns to draft too.
    let failed = ok(&s, resolve(VoteResolution::Failed), &member(), end2);
    assert_eq!(phase(&failed.state), ReleasePhase::Draft);
}

// ---- finish -----------------------------------------------------------------------------------

fn mv(from: &str, to: &str) -> FileMove {
    FileMove { from: RelPath::new(from).unwrap(), to: RelPath::new(to).unwrap() }
}

#[test]
fn finish_moves_take_companions_along_and_make_a_revision() {
    let p = preview();
    let cmd = Command::FinishMove {
        moves: vec![mv("foo-client-1.0.0-src.tar.gz", "src/foo-client-1.0.0-src.tar.gz")],
        expected_latest: Some(rev(3)),
    };
    let t = ok(&p, cmd, &committer(), after_vote());
    assert_eq!(phase(&t.state), ReleasePhase::Preview);
    assert_eq!(t.state.latest_revision, Some(rev(4)));
    assert_eq!(
        t.state.files,
        files(&[
            "README",
            "src/foo-client-1.0.0-src.tar.gz",
            "src/foo-client-1.0.0-src.tar.gz.asc",
            "src/foo-client-1.0.0-src.tar.gz.sha512",
        ])
    );
    let Effect::CreateRevision { source: RevisionSource::Moves(moves), phase: ReleasePhase::Preview, .. } =
        &t.effects[0]
    else {
        panic!("{:?}", t.effects[0])
    };
    assert_eq!(moves.len(), 3);
    assert!(t.state.checks.ongoing > 0, "moved files are checked again");
    assert_eq!(t.audit.action, AuditAction::FinishMove);
}

#[test]
fn finish_move_guards() {
    let one = || vec![mv("README", "docs/README")];
    refused_with(
        &draft(),
        Command::FinishMove { moves: one(), expected_latest: None },
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot move files of foo-client-1.0.0: the release is in the Compose (release_candidate_draft) phase, and \
         this is only possible in the Finish phase, after the vote passed. In a draft, change files by uploading or \
         deleting them.",
    );
    assert!(
        refused(&candidate(), Command::FinishMove { moves: one(), expected_latest: None }, &committer(), T0)
            .to_string()
            .contains("The candidate is immutable while its vote runs.")
    );
    let p = preview();
    refused_with(
        &p,
        Command::FinishMove { moves: vec![], expected_latest: None },
        &committer(),
        T0,
        RefusalKind::Invalid,
        "Cannot move files of foo-client-1.0.0: no moves were given. Name at least one file and its new path.",
    );
    refused_with(
        &p,
        Command::FinishMove { moves: vec![mv("nope", "x")], expected_latest: None },
        &committer(),
        T0,
        RefusalKind::Invalid,
        "Cannot move files of foo-client-1.0.0: `nope` is not a file of revision 00003. Refresh the file list and pick an existing file.",
    );
    refused_with(
        &p,
        Command::FinishMove {
            moves: vec![mv("README", "foo-client-1.0.0-src.tar.gz")],
            expected_latest: None,
        },
        &committer(),
        T0,
        RefusalKind::Conflict,
        "Cannot move files of foo-client-1.0.0: `foo-client-1.0.0-src.tar.gz` already exists (or two files would \
         move there). Choose a target path that is not taken.",
    );
    assert!(
        refused(
            &p,
            Command::FinishMove { moves: vec![mv("README", "README")], expected_latest: None },
            &committer(),
            T0
        )
        .to_string()
        .contains("would move onto itself")
    );
    assert!(
        refused(&p, Command::FinishMove { moves: one(), expected_latest: Some(rev(2)) }, &committer(), T0)
            .to_string()
            .contains("a newer revision (00003) appeared")
    );
    // Swapping two names is one consistent move set.
    let swap = vec![mv("README", "tmp"), mv("foo-client-1.0.0-src.tar.gz.asc", "README")];
    assert!(apply(&p, Command::FinishMove { moves: swap, expected_latest: None }, &committer(), T0).is_ok());
}

// ---- announce ---------------------------------------------------------------------------------

#[test]
fn announce_publishes_the_latest_preview_revision() {
    let p = preview();
    let t = ok(&p, announce(), &member(), after_vote());
    let r = t.state.release.as_ref().unwrap();
    assert_eq!(r.phase, ReleasePhase::Release);
    assert_eq!(r.released, Some(after_vote()));
    assert_eq!(
        t.effects[0],
        Effect::Publish {
            revision: rev(3),
            committee_key: committee(),
            download_path_suffix: "/foo-client-1.0.0/".into(),
            replace_unowned: false,
        }
    );
    let mail = t.mails().next().unwrap();
    assert_eq!(mail.subject, "[ANNOUNCE] Apache Foo Client 1.0.0 released");
    assert_eq!(t.audit.action, AuditAction::ReleaseAnnounce);

    let custom = Command::Announce {
        revision: Some(rev(3)),
        email_to: "alice@apache.org".into(),
        body: None,
        path_suffix: Some("client".into()),
    };
    let t = ok(&p, custom, &member(), after_vote());
    assert!(
        matches!(&t.effects[0], Effect::Publish { download_path_suffix, .. } if download_path_suffix == "/client/")
    );
}

#[test]
fn announce_guards() {
    refused_with(
        &draft(),
        announce(),
        &member(),
        T0,
        RefusalKind::Conflict,
        "Cannot announce foo-client-1.0.0: the release is in the Compose (release_candidate_draft) phase, and this is \
         only possible from the Finish phase, after the vote passed. Start a vote; once it passes the release can be announced.",
    );
    assert!(refused(&candidate(), announce(), &member(), T0).to_string().contains("Resolve the vote first"));
    assert!(refused(&released(), announce(), &member(), T0).to_string().contains("already announced"));
    let p = preview();
    refused_with(
        &p,
        announce(),
        &committer(),
        T0,
        RefusalKind::Forbidden,
        "Cannot announce foo-client-1.0.0: only a member of the foo committee (PMC or PPMC) may do this, and carol is \
         a committer of the foo committee. Ask a member of the foo committee (PMC or PPMC) to do it, or to give you that role.",
    );
    let mut running = p.clone();
    running.checks.ongoing = 1;
    assert!(
        refused(&running, announce(), &member(), T0)
            .to_string()
            .contains("are not complete (1 still queued or running)")
    );
    let mut blocked = p.clone();
    blocked.checks.blockers = 1;
    assert!(
        refused(&blocked, announce(), &member(), T0).to_string().contains("revision 00003 has 1 blocker(s)")
    );
    let to_dev = Command::Announce {
        revision: None,
        email_to: "dev@foo.apache.org".into(),
        body: None,
        path_suffix: None,
    };
    refused_with(
        &p,
        to_dev,
        &member(),
        T0,
        RefusalKind::Invalid,
        "Cannot announce foo-client-1.0.0: `dev@foo.apache.org` is not a list you may announce to. \
         Use one of user-tests@tooling.apache.org, alice@apache.org.",
    );
    for bad in ["../x", "a//b", "a/.hidden", ".x"] {
        let cmd = Command::Announce {
            revision: None,
            email_to: "alice@apache.org".into(),
            body: None,
            path_suffix: Some(bad.into()),
        };
        let r = refused(&p, cmd, &member(), T0);
        assert_eq!(r.kind, RefusalKind::Invalid, "{bad}");
        assert!(r.to_string().contains("contains `..`, `//` or a dot-directory"), "{r}");
    }
    let stale = Command::Announce {
        revision: Some(rev(2)),
        email_to: "alice@apache.org".into(),
        body: None,
        path_suffix: None,
    };
    assert!(refused(&p, stale, &member(), T0).to_string().contains("revision 00002 is not the latest"));
}

#[test]
fn project_named_like_its_committee_publishes_at_the_root() {
    let mut pr = project(false);
    pr.project_key = atr_core::ids::ProjectKey::new("foo").unwrap();
    let d = draft_with(pr);
    let mut c = ok(&d, start_vote(), &committer(), T0).state;
    c.ballots = passing_ballots(VoteRound::Committee);
    let p = ok(&c, resolve(VoteResolution::Passed), &member(), after_vote()).state;
    let t = ok(&p, announce(), &member(), after_vote());
    assert!(
        matches!(&t.effects[0], Effect::Publish { download_path_suffix, .. } if download_path_suffix == "/")
    );
}

// ---- delete -----------------------------------------------------------------------------------

#[test]
fn delete_by_phase() {
    let t = ok(&draft(), Command::Delete, &committer(), T0);
    assert!(t.state.release.is_none() && t.state.latest_revision.is_none() && t.state.files.is_empty());
    assert_eq!(t.effects, [Effect::DeleteRelease { remove_downloads: false }]);
    assert_eq!(t.audit.action, AuditAction::ReleaseDelete);

    refused_with(
        &candidate(),
        Command::Delete,
        &member(),
        T0,
        RefusalKind::Forbidden,
        "Cannot delete foo-client-1.0.0: only a platform administrator may do this, and alice is a member of the foo \
         committee (PMC or PPMC). Ask a platform administrator. Or cancel the vote first, then delete the draft.",
    );
    let t = ok(&candidate(), Command::Delete, &admin(), T0);
    assert!(t.audit.as_admin);

    assert_eq!(refused(&preview(), Command::Delete, &committer(), T0).kind, RefusalKind::Forbidden);
    ok(&preview(), Command::Delete, &member(), T0);

    assert_eq!(refused(&released(), Command::Delete, &member(), T0).kind, RefusalKind::Forbidden);
    let t = ok(&released(), Command::Delete, &admin(), T0);
    assert_eq!(t.effects, [Effect::DeleteRelease { remove_downloads: true }]);

    assert_eq!(
        refused(&ReleaseState::unstarted(project(false)), Command::Delete, &admin(), T0).kind,
        RefusalKind::NotFound
    );
}

// ---- ballots and check summaries --------------------------------------------------------------

#[test]
fn ballots_of_other_votes_or_rounds_do_not_count() {
    let mut c = candidate();
    for b in &mut c.ballots {
        b.vote_seq = 7;
    }
    assert!(
        refused(&c, resolve(VoteResolution::Passed), &member(), after_vote())
            .to_string()
            .contains("0 binding +1")
    );
    let mut c = candidate();
    for b in &mut c.ballots {
        b.vote_round = VoteRound::Incubator;
    }
    assert!(
        refused(&c, resolve(VoteResolution::Passed), &member(), after_vote())
            .to_string()
            .contains("0 binding +1")
    );
}

#[test]
fn casting_ballots_on_the_platform() {
    use atr_core::lifecycle::cast_ballot;
    let mut c = candidate();
    c.ballots.clear();
    let (b, audit) =
        cast_ballot(&c, &member(), VoteChoice::Yes, "checked sigs".into(), T0.plus_hours(1)).unwrap();
    assert!(b.binding);
    assert_eq!((b.vote_seq, b.vote_round, b.revision_number), (1, VoteRound::Committee, rev(2)));
    assert_eq!(audit.action, AuditAction::BallotCast);
    assert_eq!(audit.details["binding"], true);
    let (b, _) = cast_ballot(&c, &committer(), VoteChoice::Yes, String::new(), T0).unwrap();
    assert!(!b.binding, "committers' votes are not binding");
    let (b, audit) = cast_ballot(&c, &admin(), VoteChoice::No, String::new(), T0).unwrap();
    assert!(!b.binding, "admin rights never make a vote binding");
    assert!(!audit.as_admin, "any logged-in committer may vote");
    let (b, _) = cast_ballot(&c, &outsider(), VoteChoice::Abstain, String::new(), T0).unwrap();
    assert!(!b.binding);
    assert_eq!(
        cast_ballot(&c, &public(), VoteChoice::Yes, String::new(), T0).unwrap_err().kind,
        RefusalKind::Unauthenticated
    );
    let r = cast_ballot(&draft(), &member(), VoteChoice::Yes, String::new(), T0).unwrap_err();
    assert_eq!(
        r.to_string(),
        "Cannot vote on foo-client-1.0.0: the release is in the Compose (release_candidate_draft) phase, and this is \
         only possible while a vote is running. Wait for a vote to start."
    );

    // In the Incubator round only Incubator PMC members are binding.
    let podling = candidate_with(project(true));
    let round2 = ok(&podling, resolve(VoteResolution::Passed), &member(), after_vote()).state;
    let (b, _) = cast_ballot(&round2, &member(), VoteChoice::Yes, String::new(), after_vote()).unwrap();
    assert!(!b.binding);
    assert_eq!(b.vote_round, VoteRound::Incubator);
    let ipmc = Actor::user(atr_core::ids::Uid::new("ipmc").unwrap())
        .member_of(atr_core::ids::CommitteeKey::new("incubator").unwrap());
    assert!(cast_ballot(&round2, &ipmc, VoteChoice::Yes, String::new(), after_vote()).unwrap().0.binding);

    // Manual votes are held elsewhere.
    let mut p = project(false);
    p.policy.vote_mode = atr_core::model::policy::VoteMode::Manual;
    let manual = Command::StartVote {
        revision: None,
        duration_hours: None,
        email_to: None,
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    };
    let m = ok(&draft_with(p), manual, &committer(), T0).state;
    assert!(
        cast_ballot(&m, &member(), VoteChoice::Yes, String::new(), T0)
            .unwrap_err()
            .to_string()
            .contains("manual vote mode")
    );
}

#[test]
fn check_summary_applies_ignores_but_never_to_blockers() {
    use atr_core::check::{CheckResult, CheckStatus, CheckerId};
    use atr_core::ids::{ProjectKey, ReleaseKey, Uid};
    use atr_core::lifecycle::CheckSummary;
    use atr_core::model::ignore::CheckResultIgnore;

    let key = ReleaseKey::new(ProjectKey::new("foo-client").unwrap(), version());
    let path = Some(RelPath::new("foo-client-1.0.0-src.tar.gz").unwrap());
    let results = [
        CheckResult::new(CheckerId::RAT, CheckStatus::Concern, path.clone(), "unknown licence"),
        CheckResult::new(CheckerId::RAT, CheckStatus::Concern, path.clone(), "another"),
        CheckResult::new(CheckerId::LICENSE_FILES, CheckStatus::Concern, path.clone(), "odd NOTICE"),
        CheckResult::new(CheckerId::HASHING, CheckStatus::Blocker, path.clone(), "mismatch"),
        CheckResult::new(CheckerId::SIGNATURE, CheckStatus::Exception, path.clone(), "keyring unreadable"),
        CheckResult::new(CheckerId::PATHS, CheckStatus::Suggestion, path.clone(), "consider"),
        CheckResult::new(CheckerId::PATHS, CheckStatus::Note, path, "ok"),
    ];
    let s = CheckSummary::from_results(&key, rev(2), &results, &[], 4, T0);
    assert_eq!((s.ongoing, s.blockers, s.exceptions), (4, 1, 1));
    assert_eq!(
        s.concerns,
        ["atr.tasks.checks.license.files".to_owned(), "atr.tasks.checks.rat.check".to_owned()].into()
    );

    let ignore_all = CheckResultIgnore {
        id: None,
        asf_uid: Uid::new("alice").unwrap(),
        created: T0,
        project_key: ProjectKey::new("foo-client").unwrap(),
        release_glob: None,
        revision_number: None,
        checker_glob: Some("*".into()),
        primary_rel_path_glob: None,
        member_rel_path_glob: None,
        status: None,
        message_glob: None,
        reason: "accepted by the PMC".into(),
        expires: Some(T0.plus_hours(1)),
    };
    let s = CheckSummary::from_results(&key, rev(2), &results, std::slice::from_ref(&ignore_all), 0, T0);
    assert_eq!((s.blockers, s.exceptions, s.concerns.len()), (1, 0, 0), "blockers are never ignored");
    let later = CheckSummary::from_results(&key, rev(2), &results, &[ignore_all], 0, T0.plus_hours(2));
    assert_eq!((later.exceptions, later.concerns.len()), (1, 2), "an expired rule ignores nothing");
}
