//! Choosing how a project votes and whether announce may replace stray download files: the policy
//! form offers every vote mode, saves the choice (members only, audited) and refuses unknown modes.

use atr_core::model::{AuditAction, VoteMode};
use salvo::http::StatusCode;

use super::TestApp;
use super::vote::keys;

fn policy(app: &TestApp) -> atr_core::model::ReleasePolicy {
    let (p, _) = keys();
    app.storage.read(|tx| tx.project(&p)).unwrap().unwrap().policy
}

fn form(token: &str, mode: &str, replace: bool) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    f.append_pair("csrf_token", token).append_pair("min_hours", "72").append_pair("vote_mode", mode);
    if replace {
        f.append_pair("replace_download_files", "on");
    }
    f.finish()
}

#[tokio::test]
async fn members_choose_the_vote_mode_and_download_replacing_on_the_policy_form() {
    let app = TestApp::new();
    let (mut alice, token) = app.browser(Some("alice")).await;
    let (_, page) = alice.get(&app, "/projects/test-client").await;
    assert!(page.contains(r#"<select name="vote_mode">"#), "{page}");
    for m in ["trusted", "email", "manual"] {
        assert!(page.contains(&format!(r#"<option value="{m}""#)), "{m} is offered\n{page}");
    }
    assert!(page.contains(r#"name="replace_download_files""#), "{page}");

    assert_eq!(policy(&app).vote_mode, VoteMode::Trusted, "new projects vote on the platform");
    assert!(page.contains(r#"<option value="trusted" selected>"#), "{page}");
    for (mode, replace) in [(VoteMode::Email, true), (VoteMode::Manual, false), (VoteMode::Email, false)] {
        let (status, body) =
            alice.post(&app, "/projects/test-client/policy", &form(&token, mode.as_str(), replace)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let p = policy(&app);
        assert_eq!((p.vote_mode, p.replace_download_files), (mode, replace));
        let (_, page) = alice.get(&app, "/projects/test-client").await;
        assert!(page.contains(&format!(r#"<option value="{mode}" selected>"#)), "{page}");
    }
    let events = app.storage.read(|tx| tx.audit_events_for("test-client")).unwrap();
    let modes: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e.action == AuditAction::PolicyChange)
        .map(|e| &e.details["vote_mode"])
        .collect();
    assert_eq!(modes, ["email", "manual", "email"]);

    let (status, body) =
        alice.post(&app, "/projects/test-client/policy", &form(&token, "show-of-hands", false)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("email") && body.contains("trusted"), "the accepted modes are named\n{body}");
    assert_eq!(policy(&app).vote_mode, VoteMode::Email);

    // A committer cannot change it.
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let (status, _) = bob.post(&app, "/projects/test-client/policy", &form(&bob_token, "manual", true)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(policy(&app).vote_mode, VoteMode::Email);
}

/// Finding 5 of the trust-chain issue: `atr-web user add --member test` made an account a member
/// for permissions while its ballots stayed non-binding until a committee import listed it. Now
/// the roles are set in the roster, and the same roster decides permissions, the ballot's binding
/// flag and the binding status a mail tabulation gives.
#[tokio::test]
async fn a_member_added_by_the_operator_casts_binding_ballots() {
    let app = TestApp::new();
    let (p, v) = keys();
    super::vote::set_vote_mode(&app, VoteMode::Trusted);
    let (mut alice, token) = super::vote::draft_with_files(&app).await;
    super::vote::start_vote(&app, &mut alice, &token).await;
    let mails = super::vote::outbox(&app);
    let vote_mail = mails.iter().find(|m| m.contains("[VOTE]")).expect("the vote mail");
    assert!(vote_mail.contains("Vote on the platform at the URL above"), "{vote_mail}");
    let now = crate::handlers::now();
    let dave = atr_core::ids::Uid::new("dave").unwrap();
    let test = atr_core::ids::CommitteeKey::new("test").unwrap();

    // Before: dave is nobody in `test`; his ballot is refused or non-binding, never binding.
    let before = crate::identity::actor_for(&app.storage, &dave, false);
    assert!(!before.member_of.contains(&test));

    crate::identity::set_roles(&app.storage, &dave, &[test.clone()].into(), &Default::default(), "test", now)
        .unwrap();
    let actor = crate::identity::actor_for(&app.storage, &dave, false);
    assert!(actor.member_of.contains(&test), "a member for permissions");
    let roster = app.storage.read(|tx| tx.committee(&test)).unwrap().unwrap();
    assert!(roster.members.contains(&dave), "and in the roster the mail tabulation reads");
    let ballot = crate::ops::cast_ballot(
        &app.storage,
        &actor,
        &p,
        &v,
        atr_core::model::VoteChoice::Yes,
        String::new(),
        now,
    )
    .unwrap();
    assert!(ballot.binding, "so the ballot is binding");
}
