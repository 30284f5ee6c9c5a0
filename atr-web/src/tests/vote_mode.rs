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

    for (mode, replace) in [(VoteMode::Trusted, true), (VoteMode::Manual, false), (VoteMode::Email, false)] {
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
    assert_eq!(modes, ["trusted", "manual", "email"]);

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
