//! The vote through HTTP and the web's operations: start (with its refusals), ballots in the app,
//! tabulating a mail thread, resolving passed, failed and cancelled.

use std::collections::BTreeSet;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{CommitteeKey, ProjectKey, RevisionNumber, Uid, VersionKey};
use atr_core::model::{ReleasePhase, VoteChoice, VoteMode, VoteResolution};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_storage::db::checks::ResultContext;
use salvo::http::StatusCode;

use super::{Browser, TestApp};
use crate::ops;

/// The signed test release (tarball, signature, checksum) and the KEYS of its signer.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");
const TARBALL: &str = "apache-test-0.2.tar.gz";

pub(super) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURE}/{name}")).unwrap()
}

fn tarball_bytes() -> Vec<u8> {
    fixture(TARBALL)
}

/// Registers the fixture's signing key with committee `test`, so the signature check passes.
pub(super) fn add_fixture_key(app: &TestApp, committee: &str) {
    let key = fixture("signer.asc");
    let c = CommitteeKey::new(committee).unwrap();
    ops::add_signing_keys(
        &app.storage,
        &actor_of("alice", committee),
        &key,
        Some(&c),
        true,
        crate::handlers::now(),
    )
    .unwrap();
}

pub(super) fn keys() -> (ProjectKey, VersionKey) {
    (ProjectKey::new("test-client").unwrap(), VersionKey::new("0.1").unwrap())
}

pub(super) fn phase(app: &TestApp) -> ReleasePhase {
    let (p, v) = keys();
    app.storage.read(|tx| tx.release(&p, &v)).unwrap().unwrap().phase
}

pub(super) fn latest(app: &TestApp) -> RevisionNumber {
    let (p, v) = keys();
    app.storage.read(|tx| tx.latest_revision(&p, &v)).unwrap().unwrap()
}

/// A member of `test` who is not in the accounts file (for ballots cast through the operations).
pub(super) fn member(uid: &str) -> Actor {
    let committee = CommitteeKey::new("test").unwrap();
    Actor {
        uid: Some(Uid::new(uid).unwrap()),
        participant_of: BTreeSet::from([committee.clone()]),
        member_of: BTreeSet::from([committee]),
        admin: false,
    }
}

/// Runs the real worker until the queue is empty (quarantined uploads validated, every check
/// stored); no attempt may fail.
pub(super) fn finish_checks(app: &TestApp) {
    let stats = app.settle();
    assert_eq!(stats.failed_attempts, 0, "{stats:?}");
    let (p, v) = keys();
    let tasks = app.storage.read(|tx| tx.tasks_for_revision(&p, &v, latest(app))).unwrap();
    assert!(
        tasks.iter().all(|t| t.status == atr_core::model::TaskStatus::Completed),
        "every check of the latest revision ran: {tasks:?}"
    );
}

/// The check results of the latest revision.
pub(super) fn latest_results(app: &TestApp) -> Vec<CheckResult> {
    let (p, v) = keys();
    let n = latest(app);
    app.storage.read(|tx| tx.check_results(&p, &v, n)).unwrap().into_iter().map(|r| r.result).collect()
}

/// The check results of the latest revision that block a vote or need acknowledging.
fn problems(app: &TestApp) -> Vec<CheckResult> {
    latest_results(app)
        .into_iter()
        .filter(|r| matches!(r.status, CheckStatus::Blocker | CheckStatus::Concern | CheckStatus::Exception))
        .collect()
}

/// Sets the vote mode of `test-client`.
pub(super) fn set_vote_mode(app: &TestApp, mode: VoteMode) {
    let (p, _) = keys();
    app.storage
        .write(|tx| {
            let mut project = tx.project(&p)?.unwrap();
            project.policy.vote_mode = mode;
            tx.set_release_policy(&p, &project.policy)
        })
        .unwrap();
}

/// bob starts `test-client` 0.1 and uploads the signed fixture release (tarball, signature,
/// checksum) and a README; the real worker validates and checks them, with no blocker or concern.
/// alice (member) is logged in and returned with her token.
///
/// The fixture release has no SBOM, so alice first saves the project's policy with a missing
/// SBOM as a suggestion (as ATR has it), the choice of a committee that does not publish SBOMs
/// yet; `sbom_policy.rs` tests the default (a concern to acknowledge) and the blocker.
pub(super) async fn draft_with_files(app: &TestApp) -> (Browser, String) {
    add_fixture_key(app, "test");
    {
        let (mut alice, token) = app.browser(Some("alice")).await;
        let (status, body) = super::sbom_policy::submit_policy(app, &mut alice, &token, "suggestion").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    }
    let (mut bob, token) = app.browser(Some("bob")).await;
    let (status, _) = bob.post(app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (tar, asc, sha) =
        (tarball_bytes(), fixture(&format!("{TARBALL}.asc")), fixture(&format!("{TARBALL}.sha512")));
    let files: [(&str, &[u8]); 4] = [
        (TARBALL, &tar),
        ("apache-test-0.2.tar.gz.asc", &asc),
        ("apache-test-0.2.tar.gz.sha512", &sha),
        ("README.txt", b"Read me.\n"),
    ];
    let (status, body) =
        bob.upload(app, &format!("/upload/test-client/0.1?csrf_token={token}"), &files, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    finish_checks(app);
    let (p, v) = keys();
    let stored = app.storage.revision_files(&p, &v, latest(app)).unwrap();
    assert_eq!(stored.len(), 4, "every upload is in the latest revision: {stored:?}");
    assert_eq!(problems(app), [], "the real checks find nothing wrong with the fixture");
    app.browser(Some("alice")).await
}

pub(super) fn sha512_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha512::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The messages in the Maildir outbox.
pub(super) fn outbox(app: &TestApp) -> Vec<String> {
    let dir = app.storage.mail_outbox().join("new");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

pub(super) async fn start_vote(app: &TestApp, alice: &mut Browser, token: &str) {
    let form = format!(
        "csrf_token={token}&revision={}&email_to=dev%40test.apache.org&duration_hours=72",
        latest(app)
    );
    let (status, body) = alice.post(app, "/vote/start/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(phase(app), ReleasePhase::Candidate);
}

#[tokio::test]
async fn a_vote_starts_only_when_checks_are_done_and_its_mail_names_every_digest() {
    let app = TestApp::new();
    let (mut alice, token) = draft_with_files(&app).await;
    // A new file makes a new revision whose checks are queued.
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let path = format!("/upload/test-client/0.1?csrf_token={bob_token}");
    let (status, body) = bob.upload(&app, &path, &[("NOTES.txt", b"Notes.\n")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let n = latest(&app);

    // Checks still queued: refused with the core's reason, on the page and on the post.
    let (status, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("all checks must be completed before starting a vote"), "{page}");
    let form = format!("csrf_token={token}&revision={n}&email_to=dev%40test.apache.org");
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("all checks must be completed before starting a vote"), "{body}");
    assert_eq!(phase(&app), ReleasePhase::Draft);
    assert!(outbox(&app).is_empty(), "no mail for a refused vote");

    finish_checks(&app);
    assert_eq!(latest(&app), n);
    // A list outside the permitted ones is refused.
    let bad = format!("csrf_token={token}&revision={n}&email_to=everyone%40example.org");
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("dev@test.apache.org"), "the permitted lists are named\n{body}");

    start_vote(&app, &mut alice, &token).await;
    let mails = outbox(&app);
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.contains("Subject: [VOTE] Release Apache Test Client 0.1"), "{mail}");
    assert!(mail.contains("To: dev@test.apache.org"), "{mail}");
    assert!(mail.contains(&format!("revision {n}")), "{mail}");
    assert!(mail.contains(&format!("{}  {TARBALL}", sha512_hex(&tarball_bytes()))), "{mail}");
    assert!(mail.contains("open for 72 hours"), "placeholders filled\n{mail}");
    let archive = std::fs::read_to_string(app.storage.list_archive("dev@test.apache.org").unwrap()).unwrap();
    assert!(archive.contains("[VOTE] Release"), "the list archive has the vote\n{archive}");

    // The audit record says who started it and on which list.
    let (p, v) = keys();
    let events = app.storage.read(|tx| tx.audit_events_for(&format!("{p}-{v} {n}"))).unwrap();
    assert!(events.iter().any(|e| e.action == atr_core::model::AuditAction::VoteStart), "{events:?}");

    // Starting twice is refused: the vote is running.
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("already running"), "{body}");
}

#[tokio::test]
async fn blockers_refuse_the_vote_and_concerns_must_be_acknowledged() {
    let app = TestApp::new();
    let (mut alice, token) = draft_with_files(&app).await;
    let (p, v) = keys();
    let n = latest(&app);
    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: n,
        created: crate::handlers::now(),
        inputs_hash: None,
        cached: false,
    };
    let tarball = RelPath::new(TARBALL).unwrap();
    let concern = CheckResult::new(
        CheckerId::LICENSE_HEADERS,
        CheckStatus::Concern,
        Some(tarball.clone()),
        "No licence header.",
    );
    app.storage.write(|tx| tx.insert_check_results(&ctx, std::slice::from_ref(&concern))).unwrap();

    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    let checker = CheckerId::LICENSE_HEADERS.name;
    assert!(page.contains(&format!(r#"name="concern" value="{checker}""#)), "a box per concern\n{page}");
    let base = format!("csrf_token={token}&revision={n}&email_to=dev%40test.apache.org");
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &base).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("have not been acknowledged"), "{body}");

    let blocker = CheckResult::new(
        CheckerId::LICENSE_FILES,
        CheckStatus::Blocker,
        Some(tarball),
        "LICENSE is missing.",
    );
    app.storage.write(|tx| tx.insert_check_results(&ctx, std::slice::from_ref(&blocker))).unwrap();
    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert!(page.contains("1 blocker(s)"), "{page}");
    let acknowledged = format!("{base}&concern={checker}");
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &acknowledged).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("1 blocker(s)"), "{body}");
    assert_eq!(phase(&app), ReleasePhase::Draft);

    // Without the blocker, the acknowledged concern is recorded with the vote.
    app.storage
        .write(|tx| {
            tx.delete_check_results_for(
                &p,
                &v,
                n,
                CheckerId::LICENSE_FILES,
                Some(&RelPath::new(TARBALL).unwrap()),
            )
        })
        .unwrap();
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &acknowledged).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let events = app.storage.read(|tx| tx.audit_events_for(&format!("{p}-{v} {n}"))).unwrap();
    let start = events.iter().find(|e| e.action == atr_core::model::AuditAction::VoteStart).unwrap();
    assert_eq!(start.details["concerns_noted"], serde_json::json!([checker]), "{start:?}");
}

#[tokio::test]
async fn trusted_ballots_are_tallied_and_the_vote_passes_only_after_its_duration() {
    let app = TestApp::new();
    set_vote_mode(&app, VoteMode::Trusted);
    let (mut alice, token) = draft_with_files(&app).await;
    start_vote(&app, &mut alice, &token).await;
    let voted = latest(&app);

    let (status, body) = alice
        .post(&app, "/vote/ballot/test-client/0.1", &format!("csrf_token={token}&choice=%2B1&comment=ok"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let receipt = outbox(&app)
        .into_iter()
        .find(|m| m.contains("Subject: Your vote on test-client-0.1: +1"))
        .expect("a receipt for the voter");
    assert!(
        receipt.contains("To: alice@apache.org") && receipt.contains(&sha512_hex(&tarball_bytes())),
        "{receipt}"
    );
    assert!(receipt.contains(&format!("binding vote +1 on test-client-0.1 revision {voted}")), "{receipt}");
    // The ballot names exactly what was voted on: the SHA-256 of the revision's artifact manifest,
    // computed here from the fixture's bytes (the tarball is the only artifact).
    let manifest = format!("{TARBALL}\0{}\n", sha512_hex(&tarball_bytes()));
    let expected: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(manifest.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert!(receipt.contains("Manifest digest (SHA-256 of the sorted"), "{receipt}");
    assert!(receipt.contains(&expected), "{receipt}");
    let (p, v) = keys();
    let stored = app.storage.release_state(&p, &v, crate::handlers::now()).unwrap().ballots;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].manifest_digest.as_deref(), Some(expected.as_str()), "stored with the ballot");
    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert!(page.contains(&expected), "shown with the ballot\n{page}");
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let (status, _) =
        bob.post(&app, "/vote/ballot/test-client/0.1", &format!("csrf_token={bob_token}&choice=-1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let now = crate::handlers::now();
    for uid in ["dave", "erin"] {
        ops::cast_ballot(&app.storage, &member(uid), &p, &v, VoteChoice::Yes, String::new(), now).unwrap();
    }
    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert!(page.contains("<th>Binding</th><td>3</td><td>0</td><td>0</td>"), "{page}");
    assert!(
        page.contains("<th>Non-binding</th><td>0</td><td>0</td><td>1</td>"),
        "bob is not a member\n{page}"
    );
    assert!(page.contains("the vote passes"), "{page}");

    // Before the vote's end: refused by the core, nothing changes.
    let (status, body) = alice
        .post(&app, "/vote/resolve/test-client/0.1", &format!("csrf_token={token}&resolution=passed"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("may only be resolved as passed after that"), "{body}");
    assert_eq!(phase(&app), ReleasePhase::Candidate);

    // After it (a time we control through the operation's `now`): preview with a new revision.
    let later = now.plus_hours(73);
    let t = ops::resolve_vote(
        &app.storage,
        &member("alice"),
        &p,
        &v,
        ops::ResolveRequest {
            resolution: VoteResolution::Passed,
            evidence: None,
            result_body: None,
            test_mode_bypass: false,
        },
        later,
    )
    .unwrap();
    assert_eq!(t.state.phase(), Some(ReleasePhase::Preview));
    assert_eq!(phase(&app), ReleasePhase::Preview);
    assert_eq!(latest(&app), voted.next().unwrap(), "a preview revision is made");
    let stored = app.storage.revision_files(&p, &v, latest(&app)).unwrap();
    assert!(stored.iter().any(|f| f.as_str() == TARBALL), "{stored:?}");
    let mails = outbox(&app);
    let result = mails.iter().find(|m| m.contains("[RESULT]")).expect("a result mail");
    assert!(result.contains("PASSED") && result.contains("In-Reply-To: <"), "{result}");
}

#[tokio::test]
async fn failed_and_cancelled_votes_return_to_the_draft() {
    let app = TestApp::new();
    set_vote_mode(&app, VoteMode::Trusted);
    let (mut alice, token) = draft_with_files(&app).await;
    start_vote(&app, &mut alice, &token).await;
    let n = latest(&app);

    // Cancelled at any time, by HTTP.
    let (status, body) = alice
        .post(&app, "/vote/resolve/test-client/0.1", &format!("csrf_token={token}&resolution=cancelled"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(phase(&app), ReleasePhase::Draft);
    assert_eq!(latest(&app), n, "no new revision");
    assert!(outbox(&app).iter().any(|m| m.contains("CANCELLED")));

    // A second vote, failed after its duration: back to the draft too.
    start_vote(&app, &mut alice, &token).await;
    let (p, v) = keys();
    let now = crate::handlers::now();
    ops::cast_ballot(&app.storage, &member("dave"), &p, &v, VoteChoice::No, String::new(), now).unwrap();
    let passed = ops::resolve_vote(
        &app.storage,
        &member("alice"),
        &p,
        &v,
        ops::ResolveRequest {
            resolution: VoteResolution::Passed,
            evidence: None,
            result_body: None,
            test_mode_bypass: false,
        },
        now.plus_hours(73),
    );
    let refused = passed.unwrap_err();
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.message.contains("has not passed"), "{}", refused.message);
    ops::resolve_vote(
        &app.storage,
        &member("alice"),
        &p,
        &v,
        ops::ResolveRequest {
            resolution: VoteResolution::Failed,
            evidence: None,
            result_body: None,
            test_mode_bypass: false,
        },
        now.plus_hours(73),
    )
    .unwrap();
    assert_eq!(phase(&app), ReleasePhase::Draft);
    assert!(outbox(&app).iter().any(|m| m.contains("FAILED")));
    // The draft is editable again.
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let (status, body) = bob
        .upload(&app, &format!("/upload/test-client/0.1?csrf_token={bob_token}"), &[("NOTICE", b"n\n")], &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
}

fn inode(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).unwrap().ino()
}

#[tokio::test]
async fn the_whole_lifecycle_publishes_the_voted_files_themselves() {
    let app = TestApp::new();
    set_vote_mode(&app, VoteMode::Trusted);
    let (p, v) = keys();
    let (mut alice, token) = draft_with_files(&app).await;
    let (tar, sha) = (tarball_bytes(), fixture(&format!("{TARBALL}.sha512")));
    start_vote(&app, &mut alice, &token).await;
    let voted = latest(&app);
    let voted_tarball = app.storage.layout().revision(&p, &v, voted).join("apache-test-0.2.tar.gz");
    let voted_inode = inode(&voted_tarball);

    let now = crate::handlers::now();
    for uid in ["alice", "dave", "erin"] {
        ops::cast_ballot(&app.storage, &member(uid), &p, &v, VoteChoice::Yes, String::new(), now).unwrap();
    }
    ops::resolve_vote(
        &app.storage,
        &member("alice"),
        &p,
        &v,
        ops::ResolveRequest {
            resolution: VoteResolution::Passed,
            evidence: None,
            result_body: None,
            test_mode_bypass: false,
        },
        now.plus_hours(73),
    )
    .unwrap();
    assert_eq!(phase(&app), ReleasePhase::Preview);

    // Announcing needs the checks of the preview done; the move makes a new revision.
    let (status, page) = alice.get(&app, "/finish/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("apache-test-0.2.tar.gz") && page.contains("Announce"), "{page}");
    let form =
        format!("csrf_token={token}&revision={}&path=apache-test-0.2.tar.gz&directory=source", latest(&app));
    let (status, body) = alice.post(&app, "/finish/move/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let moved = app.storage.revision_files(&p, &v, latest(&app)).unwrap();
    let names: Vec<&str> = moved.iter().map(RelPath::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "source/apache-test-0.2.tar.gz",
            "source/apache-test-0.2.tar.gz.asc",
            "source/apache-test-0.2.tar.gz.sha512"
        ],
        "companions move with their file"
    );
    finish_checks(&app);

    let form =
        format!("csrf_token={token}&revision={}&email_to=alice%40apache.org&path_suffix=", latest(&app));
    let (status, body) = alice.post(&app, "/announce/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(phase(&app), ReleasePhase::Release);
    let downloads = app.storage.layout().downloads().join("test/test-client-0.1");
    let published = downloads.join("source/apache-test-0.2.tar.gz");
    assert_eq!(inode(&published), voted_inode, "the download is the voted file itself");
    let keys_file = std::fs::read_to_string(app.storage.layout().downloads().join("test/KEYS")).unwrap();
    assert!(
        keys_file.contains("0F15DA58C059358F") && keys_file.contains("BEGIN PGP PUBLIC KEY BLOCK"),
        "{keys_file}"
    );
    assert!(outbox(&app).iter().any(|m| m.contains("[ANNOUNCE]") && m.contains("/release/test-client/0.1")));

    // Twice: refused, nothing changes.
    let (status, body) = alice.post(&app, "/announce/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("already announced"), "{body}");

    // The public release page and the read-only downloads area, for anyone.
    let mut visitor = Browser::default();
    let (status, page) = visitor.get(&app, "/release/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&sha512_hex(&tar)), "{page}");
    assert!(page.contains("0F15DA58C059358F") && page.contains("passed"), "{page}");
    let (status, page) = visitor.get(&app, "/downloads/test/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("test-client-0.1/") && page.contains("KEYS"), "{page}");
    let (status, bytes) =
        visitor.get(&app, "/downloads/test/test-client-0.1/source/apache-test-0.2.tar.gz.sha512").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes.as_bytes(), sha.as_slice());
    for hostile in
        ["/downloads/test/%2E%2E/%2E%2E/atr.db", "/downloads/..%2F..%2Fatr.db", "/downloads/test/.hidden"]
    {
        let (status, _) = visitor.get(&app, hostile).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{hostile}");
    }
}

/// A mail to `dev@test.apache.org` (a reply to `thread`, or a new thread), written into the list
/// archive; its Message-ID.
fn post_to_list(
    app: &TestApp,
    from: &str,
    subject: &str,
    body: &str,
    thread: Option<&str>,
    at: atr_core::time::Timestamp,
) -> String {
    let mail = atr_storage::outbox::OutgoingMail {
        from: format!("{from}@apache.org"),
        from_name: from.to_owned(),
        to: vec!["dev@test.apache.org".to_owned()],
        subject: subject.to_owned(),
        body: body.to_owned(),
        in_reply_to: thread.map(str::to_owned),
        date: at,
    };
    app.storage.deliver_local(&mail, &["dev@test.apache.org"]).unwrap().message_id
}

fn reply(app: &TestApp, from: &str, body: &str, thread: &str, at: atr_core::time::Timestamp) {
    post_to_list(app, from, "Re: [VOTE] Release Apache Test Client 0.1", body, Some(thread), at);
}

/// Posts the tabulation form as multipart, with `file` as the thread to preview or none.
async fn tabulate(
    app: &TestApp,
    browser: &mut Browser,
    token: &str,
    file: Option<(&str, &[u8])>,
) -> (StatusCode, String) {
    let mut body = Vec::new();
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"thread\"; filename=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    let req = salvo::test::TestClient::post(format!(
        "{}/vote/tabulate/test-client/0.1?csrf_token={token}",
        super::BASE
    ))
    .body(body)
    .add_header("content-type", "multipart/form-data; boundary=XyZ", true);
    let (status, _, page) = browser.send(app, req).await;
    (status, page)
}

/// Finding 3 of the trust-chain issue: any uploaded mbox used to become the round's binding
/// ballots. Now the server reads the vote's own thread (replies to its Message-ID) from its list
/// archive; an upload is only a preview; and the audit log keeps the source and its hash.
#[tokio::test]
async fn an_email_vote_is_counted_from_its_own_thread_in_the_list_archive() {
    let app = TestApp::new();
    set_vote_mode(&app, VoteMode::Email);
    let (mut alice, token) = draft_with_files(&app).await;
    start_vote(&app, &mut alice, &token).await;
    let archive = app.storage.list_archive("dev@test.apache.org").unwrap();
    let (p, v) = keys();
    let thread =
        app.storage.read(|tx| tx.vote_message_id(&p, &v)).unwrap().expect("the vote mail is recorded");
    let now = crate::handlers::now();
    reply(&app, "alice", "+1 (binding)\n\nChecked the signature.\n", &thread, now.plus_hours(1));
    reply(&app, "bob", "> +1 (binding)\n-1, the README is thin\n", &thread, now.plus_hours(2));
    // An invented thread with the same subject, where alice seems to change her vote: not counted.
    let fake = post_to_list(
        &app,
        "mallory",
        "[VOTE] Release Apache Test Client 0.1",
        "Vote here.",
        None,
        now.plus_hours(3),
    );
    reply(&app, "alice", "-1 (binding)\n", &fake, now.plus_hours(4));

    // An uploaded file with invented ballots is a preview: nothing stored, nothing counts.
    let invented = b"From x Mon Jan  5 00:00:00 2026\nMessage-ID: <i@x>\nFrom: alice@apache.org\nSubject: Re: [VOTE] Release Apache Test Client 0.1\n\n-1 (binding)\n\n";
    let (status, page) = tabulate(&app, &mut alice, &token, Some(("thread.mbox", invented))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Preview of an uploaded file: nothing was stored"), "{page}");
    assert!(!page.contains("Resolve the vote"), "a preview offers no resolution\n{page}");
    let ballots =
        || app.storage.read(|tx| tx.ballots(&p, &v, 1, atr_core::model::VoteRound::Committee)).unwrap();
    assert!(ballots().is_empty(), "the upload created no ballot");

    // Counted from the archive: only the vote's own thread.
    let (status, page) = tabulate(&app, &mut alice, &token, None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Counted from the server's archive"), "{page}");
    assert!(
        page.contains("<th>Binding</th><td>1</td><td>0</td><td>0</td>"),
        "alice's +1 is binding, the invented -1 ignored\n{page}"
    );
    assert!(
        page.contains("<th>Non-binding</th><td>0</td><td>0</td><td>1</td>"),
        "bob's quoted +1 is ignored, his -1 counts as non-binding\n{page}"
    );
    assert!(page.contains("The vote is still open for"), "{page}");
    assert!(
        page.contains("The vote on Apache Test Client 0.1 failed."),
        "the result mail is prefilled\n{page}"
    );
    assert_eq!(ballots().len(), 2);
    let audit = app.storage.read(|tx| tx.audit_events_for("test-client-0.1")).unwrap();
    let tab = audit.iter().rev().find(|e| e.details["change"] == "tabulate").expect("audited");
    assert_eq!(tab.details["source"], "list archive");
    assert_eq!(tab.details["vote_message_id"], thread.as_str());
    assert_eq!(tab.details["archive_sha256"].as_str().map(str::len), Some(64));

    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert!(page.contains("<th>Binding</th><td>1</td><td>0</td><td>0</td>"), "{page}");

    // A malformed Pony Mail preview is refused with the reason.
    let (status, page) = tabulate(&app, &mut alice, &token, Some(("t.json", b"{\"emails\": 3}"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("could not be read"), "{page}");

    // Resolved with the edited result mail, in the vote thread.
    let form = format!("csrf_token={token}&resolution=cancelled&body=Cancelled%3A+the+README+needs+work.");
    let (status, body) = alice.post(&app, "/vote/resolve/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(phase(&app), ReleasePhase::Draft);
    let archive = std::fs::read_to_string(&archive).unwrap();
    let result =
        archive.split("\nFrom ").find(|m| m.contains("[RESULT]")).expect("the result is in the thread");
    assert!(result.contains("Cancelled: the README needs work."), "{result}");
    assert!(result.contains(&format!("In-Reply-To: <{thread}>")), "{result}");
}

#[tokio::test]
async fn a_manual_vote_sends_no_mail_and_passes_only_with_both_thread_urls() {
    let app = TestApp::new();
    set_vote_mode(&app, VoteMode::Manual);
    let (mut alice, token) = draft_with_files(&app).await;
    start_vote(&app, &mut alice, &token).await;
    assert!(outbox(&app).is_empty(), "a manual vote is held on the lists, not sent from here");
    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert!(page.contains(r#"name="vote_thread_url""#), "{page}");

    let (p, v) = keys();
    let later = crate::handlers::now().plus_hours(73);
    let resolve = |evidence| ops::ResolveRequest {
        resolution: VoteResolution::Passed,
        evidence,
        result_body: None,
        test_mode_bypass: false,
    };
    let refused =
        ops::resolve_vote(&app.storage, &member("alice"), &p, &v, resolve(None), later).unwrap_err();
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.message.contains("thread URLs"), "{}", refused.message);
    let evidence = atr_core::lifecycle::ManualEvidence {
        vote_thread_url: "https://lists.apache.org/thread/abc".to_owned(),
        result_thread_url: "https://lists.apache.org/thread/def".to_owned(),
    };
    ops::resolve_vote(&app.storage, &member("alice"), &p, &v, resolve(Some(evidence)), later).unwrap();
    assert_eq!(phase(&app), ReleasePhase::Preview);
    assert!(outbox(&app).is_empty(), "no result mail either");
}

#[tokio::test]
async fn announcing_over_a_file_no_release_owns_is_refused_by_default() {
    let app = TestApp::new();
    let (p, v) = keys();
    app.storage
        .write(|tx| {
            let mut project = tx.project(&p)?.unwrap();
            project.policy.vote_mode = VoteMode::Trusted;
            project.policy.replace_download_files = false;
            tx.set_release_policy(&p, &project.policy)
        })
        .unwrap();
    let (mut alice, token) = draft_with_files(&app).await;
    start_vote(&app, &mut alice, &token).await;
    let now = crate::handlers::now();
    for uid in ["alice", "dave", "erin"] {
        ops::cast_ballot(&app.storage, &member(uid), &p, &v, VoteChoice::Yes, String::new(), now).unwrap();
    }
    let passed = ops::ResolveRequest {
        resolution: VoteResolution::Passed,
        evidence: None,
        result_body: None,
        test_mode_bypass: false,
    };
    ops::resolve_vote(&app.storage, &member("alice"), &p, &v, passed, now.plus_hours(73)).unwrap();
    let existing = app.storage.layout().downloads().join("test/test-client-0.1");
    std::fs::create_dir_all(&existing).unwrap();
    std::fs::write(existing.join("README.txt"), b"published earlier\n").unwrap();

    let preview = latest(&app);
    let form = format!("csrf_token={token}&revision={preview}&email_to=alice%40apache.org");
    let (status, body) = alice.post(&app, "/announce/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("README.txt"), "the clashing file is named\n{body}");
    assert_eq!(phase(&app), ReleasePhase::Preview, "the preview is untouched");
    assert_eq!(latest(&app), preview);
    assert_eq!(std::fs::read(existing.join("README.txt")).unwrap(), b"published earlier\n");
    assert!(!outbox(&app).iter().any(|m| m.contains("[ANNOUNCE]")), "no announcement");
}

fn actor_of(uid: &str, committee: &str) -> Actor {
    let c = CommitteeKey::new(committee).unwrap();
    Actor {
        uid: Some(Uid::new(uid).unwrap()),
        participant_of: BTreeSet::from([c.clone()]),
        member_of: BTreeSet::from([c]),
        admin: false,
    }
}

#[tokio::test]
async fn a_podling_vote_passes_two_rounds_before_the_preview() {
    let app = TestApp::new();
    let now = crate::handlers::now();
    let mut pod = crate::demo::committee("pod", &["pam", "pat", "pia"], &[]).unwrap();
    pod.is_podling = true;
    let lib = crate::demo::project("pod-lib", "pod", "Apache Pod Lib (incubating)", now).unwrap();
    app.storage
        .write(|tx| {
            tx.upsert_committee(&pod)?;
            tx.insert_project(&lib)
        })
        .unwrap();
    let (p, v) = (ProjectKey::new("pod-lib").unwrap(), VersionKey::new("1.0").unwrap());
    let pam = actor_of("pam", "pod");
    ops::start_release(&app.storage, &pam, &p, v.clone(), now).unwrap();
    // A real podling source release: `incubating` in its name, a DISCLAIMER, signed by pam's key.
    let key = atr_checks::testing::TestKey::ed25519("Pam <pam@apache.org>");
    let pod_key = CommitteeKey::new("pod").unwrap();
    ops::add_signing_keys(&app.storage, &pam, key.public_armored().as_bytes(), Some(&pod_key), true, now)
        .unwrap();
    let root = "apache-pod-lib-1.0-incubating";
    let tarball = atr_checks::testing::archive::ArchiveBuilder::source_release(
        atr_checks::archive::ArchiveFormat::TarGz,
        root,
    )
    .file(&format!("{root}/DISCLAIMER"), "Apache Pod Lib is an effort undergoing incubation at the ASF.\n")
    .build();
    let name = format!("{root}-src.tar.gz");
    let signature = key.sign(&tarball, atr_checks::testing::t0() + std::time::Duration::from_secs(60));
    ops::add_revision(&app.storage, &pam, &p, &v, "Upload", now, |dir| {
        dir.write(&RelPath::new(&name).unwrap(), &tarball)?;
        dir.write(&RelPath::new(format!("{name}.asc")).unwrap(), &signature)?;
        dir.write(
            &RelPath::new(format!("{name}.sha512")).unwrap(),
            format!("{}  {name}\n", sha512_hex(&tarball)).as_bytes(),
        )?;
        Ok(())
    })
    .unwrap();
    let n = app.storage.read(|tx| tx.latest_revision(&p, &v)).unwrap().unwrap();
    assert_eq!(app.settle().failed_attempts, 0);
    let results = app.storage.read(|tx| tx.check_results(&p, &v, n)).unwrap();
    assert!(
        results
            .iter()
            .any(|r| r.result.checker == CheckerId::SIGNATURE && r.result.status == CheckStatus::Note),
        "{results:?}"
    );
    assert!(
        results.iter().all(|r| !matches!(r.result.status, CheckStatus::Blocker | CheckStatus::Exception)),
        "{results:?}"
    );
    // The podling has no SBOM yet; under the default policy (ATR's) that is a suggestion, so
    // there is no concern to acknowledge when starting the vote.
    let concerns: BTreeSet<String> = results
        .iter()
        .filter(|r| r.result.status == CheckStatus::Concern)
        .map(|r| r.result.checker.name.to_owned())
        .collect();
    assert_eq!(concerns, BTreeSet::new(), "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| r.result.checker == CheckerId::SBOM && r.result.status == CheckStatus::Suggestion),
        "{results:?}"
    );
    let start = ops::StartVoteRequest {
        revision: Some(n),
        email_to: "dev@pod.apache.org".to_owned(),
        duration_hours: None,
        concerns_noted: concerns,
    };
    ops::start_vote(&app.storage, &pam, &p, &v, start, now).unwrap();
    let phase_of = || app.storage.read(|tx| tx.release(&p, &v)).unwrap().unwrap();
    for uid in ["pam", "pat", "pia"] {
        ops::cast_ballot(&app.storage, &actor_of(uid, "pod"), &p, &v, VoteChoice::Yes, String::new(), now)
            .unwrap();
    }
    let passed = || ops::ResolveRequest {
        resolution: VoteResolution::Passed,
        evidence: None,
        result_body: None,
        test_mode_bypass: false,
    };
    let round_one_end = now.plus_hours(73);
    ops::resolve_vote(&app.storage, &pam, &p, &v, passed(), round_one_end).unwrap();
    let release = phase_of();
    assert_eq!(release.phase, ReleasePhase::Candidate, "the Incubator votes next");
    assert_eq!(release.vote_round, Some(atr_core::model::VoteRound::Incubator));
    let incubator =
        std::fs::read_to_string(app.storage.list_archive("general@incubator.apache.org").unwrap()).unwrap();
    assert!(incubator.contains("(Incubator)") && incubator.contains(&sha512_hex(&tarball)), "{incubator}");

    // The PPMC's ballots do not count in the Incubator's round.
    let refused =
        ops::resolve_vote(&app.storage, &pam, &p, &v, passed(), round_one_end.plus_hours(73)).unwrap_err();
    assert!(refused.message.contains("has not passed"), "{}", refused.message);
    for uid in ["ian", "ivy", "ike"] {
        let ipmc = Actor { participant_of: BTreeSet::new(), ..actor_of(uid, "incubator") };
        ops::cast_ballot(&app.storage, &ipmc, &p, &v, VoteChoice::Yes, String::new(), round_one_end).unwrap();
    }
    ops::resolve_vote(&app.storage, &pam, &p, &v, passed(), round_one_end.plus_hours(73)).unwrap();
    assert_eq!(phase_of().phase, ReleasePhase::Preview);
}
