//! Loading `ReleaseState` for the pure lifecycle and recording its transitions atomically.

use std::collections::BTreeSet;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::RevisionNumber;
use atr_core::lifecycle::{Command, apply};
use atr_core::model::{AuditAction, ReleasePhase, TaskStatus};
use atr_core::permissions::Actor;
use atr_storage::db::checks::ResultContext;
use atr_storage::{Storage, StorageError};

use crate::support::*;

fn alice() -> Actor {
    Actor {
        uid: Some(uid("alice")),
        participant_of: BTreeSet::from([committee().key]),
        member_of: BTreeSet::from([committee().key]),
        admin: false,
    }
}

fn start_vote() -> Command {
    Command::StartVote {
        revision: Some(RevisionNumber::FIRST),
        duration_hours: None,
        email_to: Some("dev@tooling.apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: BTreeSet::new(),
    }
}

fn with_files(dir: &std::path::Path) -> Storage {
    let s = seeded(dir);
    s.create_revision(&new_rev("upload"), |d| {
        d.write(&rel("apache-foo-1.0.0.tar.gz"), b"x")?;
        d.write(&rel("apache-foo-1.0.0.tar.gz.asc"), b"sig")
    })
    .unwrap();
    s
}

#[test]
fn release_state_reflects_rows_files_checks_and_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_files(dir.path());
    let (p, v) = (project_key(), version_key());
    let unstarted = s.release_state(&p, &atr_core::ids::VersionKey::new("9.9").unwrap(), NOW).unwrap();
    assert_eq!((unstarted.release, unstarted.latest_revision), (None, None));
    assert_eq!(unstarted.project.committee_key, committee().key);

    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: RevisionNumber::FIRST,
        created: NOW,
        inputs_hash: None,
        cached: false,
    };
    s.write(|tx| {
        tx.insert_check_results(
            &ctx,
            &[CheckResult::new(
                CheckerId::SIGNATURE,
                CheckStatus::Blocker,
                Some(rel("apache-foo-1.0.0.tar.gz.asc")),
                "bad",
            )],
        )
    })
    .unwrap();
    let state = s.release_state(&p, &v, NOW).unwrap();
    assert_eq!(state.release.as_ref().unwrap().phase, ReleasePhase::Draft);
    assert_eq!(state.latest_revision, Some(RevisionNumber::FIRST));
    assert_eq!(
        state.files,
        BTreeSet::from([rel("apache-foo-1.0.0.tar.gz"), rel("apache-foo-1.0.0.tar.gz.asc")])
    );
    assert_eq!(state.checks.blockers, 1);
    // The core refuses the vote because of the blocker; nothing to record.
    let refusal = apply(&state, start_vote(), &alice(), NOW).unwrap_err();
    assert!(refusal.to_string().to_lowercase().contains("block"), "{refusal}");
}

#[test]
fn an_accepted_transition_is_recorded_with_its_audit_and_tasks_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_files(dir.path());
    let (p, v) = (project_key(), version_key());
    let state = s.release_state(&p, &v, NOW).unwrap();
    let t = apply(&state, start_vote(), &alice(), NOW).unwrap();
    let tasks = s.write(|tx| tx.record_transition(&state, &t, NOW)).unwrap();
    assert_eq!(tasks.len(), t.tasks().count());
    let after = s.release_state(&p, &v, NOW).unwrap();
    assert_eq!(after.release, t.state.release);
    assert_eq!(after.phase(), Some(ReleasePhase::Candidate));
    let audit = s.read(|tx| tx.recent_audit_events(1)).unwrap();
    assert_eq!(audit[0].action, AuditAction::VoteStart);
    for id in tasks {
        assert_eq!(s.read(|tx| tx.task(id)).unwrap().unwrap().status, TaskStatus::Queued);
    }
}

#[test]
fn a_transition_computed_before_a_newer_revision_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_files(dir.path());
    let (p, v) = (project_key(), version_key());
    let state = s.release_state(&p, &v, NOW).unwrap();
    let t = apply(&state, start_vote(), &alice(), NOW).unwrap();
    // Meanwhile someone uploads.
    s.create_revision(&new_rev("late upload"), |d| d.write(&rel("README.txt"), b"r")).unwrap();
    let audit_before = s.read(|tx| tx.recent_audit_events(100)).unwrap().len();
    let err = s.write(|tx| tx.record_transition(&state, &t, NOW)).unwrap_err();
    assert!(matches!(err, StorageError::NewerRevision { .. }), "{err}");
    assert!(err.to_string().starts_with("A newer revision appeared for foo-1.0.0"), "{err}");
    assert_eq!(s.release_state(&p, &v, NOW).unwrap().phase(), Some(ReleasePhase::Draft));
    assert_eq!(s.read(|tx| tx.recent_audit_events(100)).unwrap().len(), audit_before);
    assert!(s.read(|tx| tx.tasks_with_status(TaskStatus::Queued, 100)).unwrap().is_empty());
}

#[test]
fn cache_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.read(|tx| tx.cached_value("mid-url", "<a@b>")).unwrap(), None);
    s.write(|tx| tx.set_cached_value("mid-url", "<a@b>", "https://lists.apache.org/thread/x")).unwrap();
    s.write(|tx| tx.set_cached_value("mid-url", "<a@b>", "https://lists.apache.org/thread/y")).unwrap();
    assert_eq!(
        s.read(|tx| tx.cached_value("mid-url", "<a@b>")).unwrap().as_deref(),
        Some("https://lists.apache.org/thread/y")
    );
    assert_eq!(s.read(|tx| tx.cached_value("other", "<a@b>")).unwrap(), None);
}
