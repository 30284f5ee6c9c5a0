//! Round-trips through SQLite for every entity, plus the refusals of the repository API.

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{CommitteeKey, ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::{
    AuditAction, AuditEvent, Ballot, CheckResultIgnore, Distribution, DistributionPlatform, Fingerprint,
    KeyLink, PersonalAccessToken, ProjectStatus, PublicSigningKey, Release, ReleasePhase, ReleasePolicy,
    SshKey, TaskSpec, TaskStatus, TaskType, VoteChoice, VoteMode, VoteRound,
};
use atr_core::time::Timestamp;
use atr_storage::db::checks::ResultContext;
use atr_storage::db::tasks::EnqueueOptions;
use atr_storage::{Storage, StorageError};

use crate::support::*;

fn n(x: u32) -> RevisionNumber {
    RevisionNumber::new(x).unwrap()
}

/// Seeded storage with revision 00001 of foo-1.0.0.
fn with_revision(dir: &std::path::Path) -> Storage {
    let s = seeded(dir);
    s.create_revision(&new_rev("one"), |d| d.write(&rel("apache-foo-1.0.0.tar.gz"), b"x")).unwrap();
    s
}

#[test]
fn committees_round_trip_and_upsert_replaces_people() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut c = committee();
    assert_eq!(s.read(|tx| tx.committee(&c.key)).unwrap(), Some(c.clone()));
    let podling = atr_core::model::Committee {
        key: CommitteeKey::new("bar").unwrap(),
        full_name: None,
        is_podling: true,
        parent: Some(c.key.clone()),
        members: vec![uid("dave")],
        committers: vec![],
        release_managers: vec![],
    };
    s.write(|tx| tx.upsert_committee(&podling)).unwrap();
    assert_eq!(s.read(|tx| tx.committee(&podling.key)).unwrap(), Some(podling.clone()));
    c.members = vec![uid("bob"), uid("erin")];
    c.full_name = None;
    s.write(|tx| tx.upsert_committee(&c)).unwrap();
    assert_eq!(s.read(|tx| tx.committee(&c.key)).unwrap(), Some(c.clone()));
    assert_eq!(s.read(|tx| tx.all_committee_keys()).unwrap(), [podling.key.clone(), c.key.clone()]);
    assert_eq!(s.read(|tx| tx.committees_of(&uid("dave"))).unwrap(), std::slice::from_ref(&podling.key));
    assert!(s.read(|tx| tx.committees_of(&uid("alice"))).unwrap().contains(&c.key));
    // A committee with projects (or children) cannot be deleted; a leaf can.
    let err = s.write(|tx| tx.delete_committee(&c.key)).unwrap_err();
    assert!(matches!(err, StorageError::Reference { .. }), "{err}");
    s.write(|tx| tx.delete_committee(&podling.key)).unwrap();
    assert_eq!(s.read(|tx| tx.committee(&podling.key)).unwrap(), None);
}

#[test]
fn projects_round_trip_update_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut p = project();
    assert_eq!(s.read(|tx| tx.project(&p.key)).unwrap(), Some(p.clone()));
    let err = s.write(|tx| tx.insert_project(&p)).unwrap_err();
    assert_eq!(err.to_string(), "project `foo` already exists");
    let mut orphan = project();
    orphan.key = ProjectKey::new("orphan").unwrap();
    orphan.committee_key = CommitteeKey::new("nobody").unwrap();
    let err = s.write(|tx| tx.insert_project(&orphan)).unwrap_err();
    assert!(matches!(err, StorageError::Reference { .. }), "{err}");

    let mut sub = project();
    sub.key = ProjectKey::new("foo-sub").unwrap();
    sub.super_project = Some(p.key.clone());
    sub.status = ProjectStatus::Dormant;
    s.write(|tx| tx.insert_project(&sub)).unwrap();
    assert_eq!(s.read(|tx| tx.project(&sub.key)).unwrap(), Some(sub.clone()));

    p.name = "Apache Foo Renamed".into();
    p.category = vec![];
    p.status = ProjectStatus::Retired;
    s.write(|tx| tx.update_project(&p)).unwrap();
    let policy = ReleasePolicy { min_hours: 96, strict_checking: true, ..ReleasePolicy::default() };
    s.write(|tx| tx.set_release_policy(&p.key, &policy)).unwrap();
    p.policy = policy;
    assert_eq!(s.read(|tx| tx.project(&p.key)).unwrap(), Some(p.clone()));
    assert_eq!(s.read(|tx| tx.projects_of_committee(&committee().key)).unwrap(), [p.clone(), sub.clone()]);
    assert_eq!(s.read(|tx| tx.projects()).unwrap().len(), 2);
    // A project with releases cannot be deleted; one without can.
    assert!(matches!(s.write(|tx| tx.delete_project(&p.key)).unwrap_err(), StorageError::Reference { .. }));
    s.write(|tx| tx.delete_project(&sub.key)).unwrap();
    assert_eq!(s.read(|tx| tx.project(&sub.key)).unwrap(), None);
}

#[test]
fn releases_round_trip_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let release = Release {
        project_key: project_key(),
        version_key: VersionKey::new("2.0.0-rc1").unwrap(),
        phase: ReleasePhase::Candidate,
        created: NOW,
        released: Some(Timestamp::from_unix(5)),
        vote_mode: Some(VoteMode::Trusted),
        vote_seq: 2,
        vote_round: Some(VoteRound::Incubator),
        vote_started: Some(Timestamp::from_unix(1)),
        vote_ends: Some(Timestamp::from_unix(2)),
        vote_resolved: Some(Timestamp::from_unix(3)),
        podling_thread_id: Some("abc123".into()),
    };
    s.write(|tx| tx.insert_release(&release)).unwrap();
    assert_eq!(
        s.read(|tx| tx.release(&release.project_key, &release.version_key)).unwrap(),
        Some(release.clone())
    );
    let err = s.write(|tx| tx.insert_release(&release)).unwrap_err();
    assert_eq!(err.to_string(), "release `foo-2.0.0-rc1` already exists");
    assert_eq!(s.read(|tx| tx.releases_of_project(&project_key())).unwrap().len(), 2);
    assert_eq!(
        s.read(|tx| tx.releases_in_phase(ReleasePhase::Candidate)).unwrap(),
        std::slice::from_ref(&release)
    );
    let mut unknown = release.clone();
    unknown.project_key = ProjectKey::new("nope").unwrap();
    assert!(matches!(s.write(|tx| tx.insert_release(&unknown)).unwrap_err(), StorageError::Reference { .. }));
}

#[test]
fn check_results_round_trip_keyed_by_release_revision_checker_path_member() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_revision(dir.path());
    let (p, v) = (project_key(), version_key());
    let file = rel("apache-foo-1.0.0.tar.gz");
    let results = vec![
        CheckResult::new(CheckerId::LICENSE_HEADERS, CheckStatus::Concern, Some(file.clone()), "no header")
            .with_member("foo-1.0.0/src/a.c")
            .with_data(serde_json::json!({"line": 1})),
        CheckResult::new(CheckerId::LICENSE_HEADERS, CheckStatus::Note, Some(file.clone()), "ok"),
        CheckResult::new(CheckerId::PATHS, CheckStatus::Blocker, None, "no LICENSE"),
    ];
    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: n(1),
        created: NOW,
        inputs_hash: Some("h1"),
        cached: false,
    };
    let ids = s.write(|tx| tx.insert_check_results(&ctx, &results)).unwrap();
    assert_eq!(ids.len(), 3);
    let stored = s.read(|tx| tx.check_results(&p, &v, n(1))).unwrap();
    let back: Vec<CheckResult> = stored.iter().map(|r| r.result.clone()).collect();
    assert_eq!(back.len(), 3);
    for r in &results {
        assert!(back.contains(r), "{r:?} missing");
    }
    assert!(stored.iter().all(|r| r.revision_number == n(1) && r.created == NOW && !r.cached));
    assert_eq!(stored[0].checker_version, "1");
    assert_eq!(stored[0].inputs_hash.as_deref(), Some("h1"));

    let member = s
        .read(|tx| {
            tx.check_results_for(
                &p,
                &v,
                n(1),
                CheckerId::LICENSE_HEADERS,
                Some(&file),
                Some("foo-1.0.0/src/a.c"),
            )
        })
        .unwrap();
    assert_eq!(member.len(), 1);
    assert_eq!(member[0].result, results[0]);
    let whole = s.read(|tx| tx.check_results_for(&p, &v, n(1), CheckerId::PATHS, None, None)).unwrap();
    assert_eq!(whole.iter().map(|r| &r.result).collect::<Vec<_>>(), [&results[2]]);
    let reuse = s.read(|tx| tx.check_results_by_inputs(CheckerId::LICENSE_HEADERS, "h1")).unwrap();
    assert_eq!(reuse.len(), 2);
    assert_eq!(
        s.write(|tx| tx.delete_check_results_for(&p, &v, n(1), CheckerId::LICENSE_HEADERS, Some(&file)))
            .unwrap(),
        2
    );
    assert_eq!(s.read(|tx| tx.check_results(&p, &v, n(1))).unwrap().len(), 1);
    // Results for a revision that does not exist are refused.
    let ctx9 = ResultContext { revision_number: n(9), ..ctx };
    let err = s.write(|tx| tx.insert_check_results(&ctx9, &results)).unwrap_err();
    assert!(matches!(err, StorageError::Reference { .. }), "{err}");
}

#[test]
fn ignore_rules_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let rule = CheckResultIgnore {
        id: None,
        asf_uid: uid("alice"),
        created: NOW,
        project_key: project_key(),
        release_glob: Some("foo-1.*".into()),
        revision_number: Some(n(3)),
        checker_glob: Some("*license*".into()),
        primary_rel_path_glob: Some("*.tar.gz".into()),
        member_rel_path_glob: Some("!".into()),
        status: Some(CheckStatus::Concern),
        message_glob: None,
        reason: "vendored code".into(),
        expires: Some(NOW.plus_hours(24)),
    };
    let id = s.write(|tx| tx.insert_ignore(&rule)).unwrap();
    assert_eq!(
        s.read(|tx| tx.ignores(&project_key())).unwrap(),
        [CheckResultIgnore { id: Some(id), ..rule.clone() }]
    );
    s.write(|tx| tx.delete_ignore(&project_key(), id)).unwrap();
    assert!(s.read(|tx| tx.ignores(&project_key())).unwrap().is_empty());
    assert!(matches!(
        s.write(|tx| tx.delete_ignore(&project_key(), id)).unwrap_err(),
        StorageError::NotFound { .. }
    ));
}

#[test]
fn distributions_round_trip_and_upsert() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut d = Distribution {
        project_key: project_key(),
        version_key: version_key(),
        platform: DistributionPlatform::Pypi,
        owner_namespace: String::new(),
        package: "apache-foo".into(),
        version: "1.0.0".into(),
        staging: true,
        pending: true,
        upload_date: None,
        api_url: "https://test.pypi.org/pypi/apache-foo/1.0.0/json".into(),
        web_url: None,
        created_by: uid("alice"),
        pending_reason: None,
        checked_at: None,
    };
    s.write(|tx| tx.upsert_distribution(&d)).unwrap();
    assert_eq!(s.read(|tx| tx.distributions(&project_key(), &version_key())).unwrap(), [d.clone()]);
    d.pending = false;
    d.upload_date = Some(NOW);
    d.web_url = Some("https://test.pypi.org/project/apache-foo/".into());
    s.write(|tx| tx.upsert_distribution(&d)).unwrap();
    assert_eq!(s.read(|tx| tx.distributions(&project_key(), &version_key())).unwrap(), [d.clone()]);
    s.write(|tx| {
        tx.delete_distribution(&project_key(), &version_key(), d.platform, "", "apache-foo", "1.0.0")
    })
    .unwrap();
    assert!(s.read(|tx| tx.distributions(&project_key(), &version_key())).unwrap().is_empty());
}

fn signing_key(fpr: &str) -> PublicSigningKey {
    PublicSigningKey {
        fingerprint: Fingerprint::new(fpr).unwrap(),
        algorithm: 22,
        length: 256,
        created: Timestamp::from_unix(100),
        latest_self_signature: Some(Timestamp::from_unix(200)),
        expires: None,
        primary_declared_uid: Some("Alice <alice@apache.org>".into()),
        secondary_declared_uids: vec!["Alice <alice@example.org>".into()],
        apache_uid: Some(uid("alice")),
        ascii_armored_key: "-----BEGIN PGP PUBLIC KEY BLOCK-----\n…".into(),
    }
}

#[test]
fn signing_keys_and_committee_links_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut k = signing_key("AAAA BBBB CCCC DDDD EEEE FFFF 0000 1111 2222 3333");
    let k2 = signing_key("0123456789abcdef0123456789abcdef01234567");
    s.write(|tx| {
        tx.upsert_signing_key(&k)?;
        tx.upsert_signing_key(&k2)
    })
    .unwrap();
    assert_eq!(s.read(|tx| tx.signing_key(&k.fingerprint)).unwrap(), Some(k.clone()));
    k.expires = Some(Timestamp::from_unix(999));
    k.secondary_declared_uids.clear();
    s.write(|tx| tx.upsert_signing_key(&k)).unwrap();
    assert_eq!(s.read(|tx| tx.signing_key(&k.fingerprint)).unwrap(), Some(k.clone()));
    assert_eq!(s.read(|tx| tx.signing_keys_of_uid(&uid("alice"))).unwrap().len(), 2);

    let link = KeyLink { committee_key: committee().key, fingerprint: k.fingerprint.clone() };
    s.write(|tx| {
        tx.link_key(&link)?;
        tx.link_key(&link)
    })
    .unwrap();
    assert_eq!(s.read(|tx| tx.signing_keys_of_committee(&committee().key)).unwrap(), [k.clone()]);
    assert_eq!(s.read(|tx| tx.key_committees(&k.fingerprint)).unwrap(), [committee().key]);
    let bad =
        KeyLink { committee_key: CommitteeKey::new("nobody").unwrap(), fingerprint: k.fingerprint.clone() };
    assert!(matches!(s.write(|tx| tx.link_key(&bad)).unwrap_err(), StorageError::Reference { .. }));
    s.write(|tx| tx.unlink_key(&link)).unwrap();
    assert!(s.read(|tx| tx.signing_keys_of_committee(&committee().key)).unwrap().is_empty());
    // Deleting a key removes its links.
    s.write(|tx| tx.link_key(&link)).unwrap();
    s.write(|tx| tx.delete_signing_key(&k.fingerprint)).unwrap();
    assert!(s.read(|tx| tx.key_committees(&k.fingerprint)).unwrap().is_empty());
    assert_eq!(s.read(|tx| tx.signing_key(&k.fingerprint)).unwrap(), None);
}

#[test]
fn ssh_keys_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let k = SshKey {
        fingerprint: "SHA256:abcdefghijklmnop".into(),
        key: "ssh-ed25519 AAAAC3Nza alice@host".into(),
        asf_uid: uid("alice"),
    };
    s.write(|tx| tx.insert_ssh_key(&k)).unwrap();
    assert_eq!(s.read(|tx| tx.ssh_key(&k.fingerprint)).unwrap(), Some(k.clone()));
    assert_eq!(s.read(|tx| tx.ssh_keys_of(&uid("alice"))).unwrap(), std::slice::from_ref(&k));
    assert_eq!(
        s.write(|tx| tx.insert_ssh_key(&k)).unwrap_err().to_string(),
        "SSH key `SHA256:abcdefghijklmnop` already exists"
    );
    // Only the owner can delete it.
    assert!(matches!(
        s.write(|tx| tx.delete_ssh_key(&uid("bob"), &k.fingerprint)).unwrap_err(),
        StorageError::NotFound { .. }
    ));
    s.write(|tx| tx.delete_ssh_key(&uid("alice"), &k.fingerprint)).unwrap();
    assert_eq!(s.read(|tx| tx.ssh_key(&k.fingerprint)).unwrap(), None);
}

#[test]
fn personal_access_tokens_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let t = PersonalAccessToken {
        id: None,
        asfuid: uid("alice"),
        token_hash: "ab".repeat(32),
        created: NOW,
        expires: NOW.plus_hours(24 * 180),
        last_used: None,
        label: "CI".into(),
    };
    let id = s.write(|tx| tx.insert_token(&t)).unwrap();
    let stored = PersonalAccessToken { id: Some(id), ..t.clone() };
    assert_eq!(s.read(|tx| tx.token_by_hash(&uid("alice"), &t.token_hash)).unwrap(), Some(stored.clone()));
    assert_eq!(s.read(|tx| tx.token_by_hash(&uid("bob"), &t.token_hash)).unwrap(), None);
    assert!(matches!(s.write(|tx| tx.insert_token(&t)).unwrap_err(), StorageError::AlreadyExists { .. }));
    s.write(|tx| tx.touch_token(id, NOW.plus_secs(60))).unwrap();
    assert_eq!(s.read(|tx| tx.tokens_of(&uid("alice"))).unwrap()[0].last_used, Some(NOW.plus_secs(60)));
    s.write(|tx| tx.delete_token(&uid("alice"), id)).unwrap();
    assert!(s.read(|tx| tx.tokens_of(&uid("alice"))).unwrap().is_empty());
}

#[test]
fn tasks_round_trip_and_follow_their_release() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_revision(dir.path());
    let spec = TaskSpec {
        task_type: TaskType::HashingCheck,
        task_args: serde_json::json!({"algorithm": "sha512"}),
        asf_uid: Some(uid("alice")),
        project_key: Some(project_key()),
        version_key: Some(version_key()),
        revision_number: Some(n(1)),
        primary_rel_path: Some(rel("apache-foo-1.0.0.tar.gz.sha512")),
    };
    let meta = TaskSpec {
        task_type: TaskType::MetadataUpdate,
        task_args: serde_json::Value::Null,
        asf_uid: None,
        project_key: None,
        version_key: None,
        revision_number: None,
        primary_rel_path: None,
    };
    let (a, b) = s
        .write(|tx| {
            let a = tx.enqueue_task(&spec, NOW)?;
            let opts =
                EnqueueOptions { priority: 5, dedup_key: Some("k".into()), ..EnqueueOptions::default() };
            let b = tx.enqueue_task_with(&meta, NOW.plus_secs(1), &opts)?;
            Ok::<_, StorageError>((a, b))
        })
        .unwrap();
    let task = s.read(|tx| tx.task(a)).unwrap().unwrap();
    assert_eq!(task.spec, spec);
    assert_eq!((task.status, task.added, task.attempts), (TaskStatus::Queued, NOW, 0));
    assert_eq!(
        (task.started, task.completed, task.result.clone(), task.error.clone()),
        (None, None, None, None)
    );
    assert_eq!(s.read(|tx| tx.task(b)).unwrap().unwrap().spec, meta);
    assert_eq!(s.read(|tx| tx.tasks_for_revision(&project_key(), &version_key(), n(1))).unwrap(), [task]);
    assert_eq!(s.read(|tx| tx.ongoing_task_count(&project_key(), &version_key(), n(1))).unwrap(), 1);
    // Higher priority first.
    let queued: Vec<_> =
        s.read(|tx| tx.tasks_with_status(TaskStatus::Queued, 10)).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(queued, [b, a]);
    // Deleting the release removes its tasks, not the others.
    s.delete_release(&project_key(), &version_key(), &uid("alice"), NOW).unwrap();
    assert_eq!(s.read(|tx| tx.task(a)).unwrap(), None);
    assert!(s.read(|tx| tx.task(b)).unwrap().is_some());
}

#[test]
fn ballots_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_revision(dir.path());
    let ballot = |voter: Option<&str>, choice, binding, at| Ballot {
        voter: voter.map(uid),
        voter_name: voter.unwrap_or("Someone").into(),
        choice,
        binding,
        comment: "checked sigs".into(),
        vote_seq: 1,
        vote_round: VoteRound::Committee,
        revision_number: n(1),
        cast_at: Timestamp::from_unix(at),
        manifest_digest: voter.map(|_| "ab".repeat(32)),
    };
    let all = [
        ballot(Some("alice"), VoteChoice::Yes, true, 10),
        ballot(None, VoteChoice::No, false, 11),
        ballot(Some("alice"), VoteChoice::Abstain, true, 12),
    ];
    s.write(|tx| {
        for b in &all {
            tx.insert_ballot(&project_key(), &version_key(), b)?;
        }
        Ok::<_, StorageError>(())
    })
    .unwrap();
    assert_eq!(
        s.read(|tx| tx.ballots(&project_key(), &version_key(), 1, VoteRound::Committee)).unwrap(),
        all
    );
    assert!(
        s.read(|tx| tx.ballots(&project_key(), &version_key(), 1, VoteRound::Incubator)).unwrap().is_empty()
    );
}

#[test]
fn audit_events_round_trip_and_cannot_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let e = AuditEvent {
        id: None,
        at: NOW,
        actor: None,
        as_admin: true,
        action: AuditAction::PolicyChange,
        target: "foo".into(),
        details: serde_json::json!({"min_hours": [72, 96]}),
    };
    let id = s.write(|tx| tx.append_audit(&e)).unwrap();
    assert_eq!(s.read(|tx| tx.audit_events_for("foo")).unwrap(), [AuditEvent { id: Some(id), ..e.clone() }]);
    assert_eq!(s.read(|tx| tx.recent_audit_events(1)).unwrap()[0].id, Some(id));
    // The triggers refuse changes, whoever connects.
    let conn = rusqlite::Connection::open(s.layout().database()).unwrap();
    let err = conn.execute("UPDATE audit_events SET actor = 'mallory'", []).unwrap_err();
    assert!(err.to_string().contains("audit_events is append-only: UPDATE is not allowed"), "{err}");
    let err = conn.execute("DELETE FROM audit_events", []).unwrap_err();
    assert!(err.to_string().contains("audit_events is append-only: DELETE is not allowed"), "{err}");
    assert_eq!(s.read(|tx| tx.audit_events_for("foo")).unwrap().len(), 1);
}

#[test]
fn an_audit_record_rolls_back_with_its_change() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let res: Result<(), StorageError> = s.write(|tx| {
        tx.append_audit(&AuditEvent {
            id: None,
            at: NOW,
            actor: Some(uid("alice")),
            as_admin: false,
            action: AuditAction::ProjectChange,
            target: "foo".into(),
            details: serde_json::Value::Null,
        })?;
        // The change itself fails: the audit record must not survive.
        tx.insert_project(&project())
    });
    assert!(matches!(res, Err(StorageError::AlreadyExists { .. })));
    assert!(s.read(|tx| tx.audit_events_for("foo")).unwrap().is_empty());
}
