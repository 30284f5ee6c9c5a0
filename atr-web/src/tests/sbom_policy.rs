//! The release policy's missing-SBOM severity: edited on the project page (members only, CSRF,
//! audited, validated), carried into the checks of the next revision by the real worker, and
//! enforced when a vote starts (a concern must be acknowledged, a blocker stops the vote).

use atr_core::check::{CheckStatus, CheckerId};
use atr_core::model::{AuditAction, MissingSbom, ReleasePhase};
use salvo::http::StatusCode;

use super::vote::{draft_with_files, finish_checks, keys, latest, latest_results, phase};
use super::{Browser, TestApp};

/// Submits the project's policy form as the page fills it in (every field with its current
/// value), with the missing-SBOM setting `setting` (any text, as a browser could send).
pub(super) async fn submit_policy(
    app: &TestApp,
    browser: &mut Browser,
    token: &str,
    setting: &str,
) -> (StatusCode, String) {
    let (p, _) = keys();
    let policy = app.storage.read(|tx| tx.project(&p)).unwrap().unwrap().policy;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("csrf_token", token)
        .append_pair("mailto_addresses", &policy.mailto_addresses.join("\n"))
        .append_pair("min_hours", &policy.min_hours.to_string())
        .append_pair("source_artifact_paths", &policy.source_artifact_paths.join("\n"))
        .append_pair("binary_artifact_paths", &policy.binary_artifact_paths.join("\n"))
        .append_pair("release_checklist", &policy.release_checklist)
        .append_pair("missing_sbom_status", setting);
    if policy.strict_checking {
        form.append_pair("strict_checking", "on");
    }
    browser.post(app, "/projects/test-client/policy", &form.finish()).await
}

fn setting(app: &TestApp) -> MissingSbom {
    let (p, _) = keys();
    app.storage.read(|tx| tx.project(&p)).unwrap().unwrap().policy.missing_sbom_status
}

#[tokio::test]
async fn members_set_the_missing_sbom_severity_on_the_policy_form() {
    let app = TestApp::new();
    let (mut alice, token) = app.browser(Some("alice")).await;
    let (status, page) = alice.get(&app, "/projects/test-client").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<select name="missing_sbom_status">"#), "{page}");
    assert!(page.contains("Missing SBOM (from the next revision on)"), "{page}");
    assert!(
        page.contains(
            r#"<option value="suggestion" selected>a suggestion (shown, nothing to acknowledge)</option>"#
        ),
        "the default (ATR's) is selected\n{page}"
    );
    assert_eq!(setting(&app), MissingSbom::Suggestion);

    for choice in MissingSbom::ALL {
        let (status, body) = submit_policy(&app, &mut alice, &token, choice.as_str()).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(setting(&app), *choice);
        let (_, page) = alice.get(&app, "/projects/test-client").await;
        assert!(page.contains(&format!(r#"<option value="{choice}" selected>"#)), "{page}");
    }
    // Each save is audited with the setting.
    let events = app.storage.read(|tx| tx.audit_events_for("test-client")).unwrap();
    let saved: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e.action == AuditAction::PolicyChange)
        .map(|e| &e.details["missing_sbom_status"])
        .collect();
    assert_eq!(saved, ["suggestion", "concern", "blocker"]);

    // An unknown setting is refused with the accepted ones, and nothing changes.
    let (status, body) = submit_policy(&app, &mut alice, &token, "note").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("suggestion, concern, blocker"), "{body}");
    assert_eq!(setting(&app), MissingSbom::Blocker);

    // A committer may not change it, nor may a request without the session's CSRF token.
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let (status, _) = submit_policy(&app, &mut bob, &bob_token, "suggestion").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = submit_policy(&app, &mut alice, "forged", "suggestion").await;
    assert_ne!(status, StatusCode::SEE_OTHER);
    assert_eq!(setting(&app), MissingSbom::Blocker);
    let (_, page) = bob.get(&app, "/projects/test-client").await;
    assert!(
        page.contains("a blocker (no vote until every source archive has its SBOM)"),
        "non-members see the setting\n{page}"
    );
}

/// The SBOM presence results of the latest revision.
fn presence(app: &TestApp) -> Vec<atr_core::check::CheckResult> {
    latest_results(app)
        .into_iter()
        .filter(|r| r.checker == CheckerId::SBOM && r.data["error_kind"] == "missing_sbom")
        .collect()
}

async fn upload_note(app: &TestApp, name: &str) {
    let (mut bob, token) = app.browser(Some("bob")).await;
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, body) = bob.upload(app, &path, &[(name, b"Notes.\n")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    finish_checks(app);
}

#[tokio::test]
async fn the_next_revision_follows_the_setting_and_the_vote_enforces_it() {
    let app = TestApp::new();
    // The fixture release has no SBOM; its committee keeps a missing SBOM a suggestion.
    let (mut alice, token) = draft_with_files(&app).await;
    let found = presence(&app);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].status, CheckStatus::Suggestion);
    let vote_form = |n: atr_core::ids::RevisionNumber| {
        format!("csrf_token={token}&revision={n}&email_to=dev%40test.apache.org")
    };
    let sbom_checker = CheckerId::SBOM.name;

    // Blocker: the next revision's check says so, and no acknowledgement starts the vote.
    let (status, body) = submit_policy(&app, &mut alice, &token, "blocker").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    upload_note(&app, "NOTES.txt").await;
    let found = presence(&app);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].status, CheckStatus::Blocker);
    assert!(found[0].message.contains("no vote until it has one"), "{}", found[0].message);
    let (_, report) = alice.get(&app, "/report/test-client/0.1/apache-test-0.2.tar.gz").await;
    assert!(
        report.contains("Generate SBOM") && report.contains("Missing SBOM"),
        "the fix is on the report\n{report}"
    );
    let acknowledged = format!("{}&concern={sbom_checker}", vote_form(latest(&app)));
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &acknowledged).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("1 blocker(s)"), "{body}");
    assert_eq!(phase(&app), ReleasePhase::Draft);

    // Concern: it must be acknowledged before the vote, and then the vote starts.
    let (status, body) = submit_policy(&app, &mut alice, &token, "concern").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    upload_note(&app, "NOTES2.txt").await;
    let found = presence(&app);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].status, CheckStatus::Concern);
    let n = latest(&app);
    let (_, page) = alice.get(&app, "/vote/test-client/0.1").await;
    assert!(
        page.contains(&format!(r#"name="concern" value="{sbom_checker}""#)),
        "a box for the SBOM concern\n{page}"
    );
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &vote_form(n)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("have not been acknowledged") && body.contains(sbom_checker), "{body}");
    assert_eq!(phase(&app), ReleasePhase::Draft);
    let acknowledged = format!("{}&concern={sbom_checker}", vote_form(n));
    let (status, body) = alice.post(&app, "/vote/start/test-client/0.1", &acknowledged).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(phase(&app), ReleasePhase::Candidate);
}
