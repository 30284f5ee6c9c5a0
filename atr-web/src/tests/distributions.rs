//! Distribution records through HTTP and the operations: record (members only, phase rule from
//! the core, pending without a registry lookup), list, the same record twice, delete; audited.

use atr_core::model::distribution::DistributionInput;
use atr_core::model::{AuditAction, DistributionPlatform};
use salvo::http::StatusCode;

use super::TestApp;
use super::vote::{keys, member};
use crate::ops;

fn records(app: &TestApp) -> Vec<atr_core::model::Distribution> {
    let (p, v) = keys();
    app.storage.read(|tx| tx.distributions(&p, &v)).unwrap()
}

#[tokio::test]
async fn members_record_list_and_delete_distributions_of_a_release() {
    let app = TestApp::new();
    let (p, v) = keys();
    let now = crate::handlers::now();
    ops::start_release(&app.storage, &member("alice"), &p, v.clone(), now).unwrap();
    let (mut alice, token) = app.browser(Some("alice")).await;
    let (status, page) = alice.get(&app, "/distributions/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No distribution is recorded") && page.contains(r#"value="PYPI""#), "{page}");

    // A committer who is not a member may not record; nothing is stored.
    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let form = "platform=PYPI&package=apache-test-client&version=0.1&staging=1";
    let (status, body) = bob
        .post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={bob_token}&{form}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, page) = bob.get(&app, "/distributions/test-client/0.1").await;
    assert!(!page.contains("Record a distribution"), "no form for bob\n{page}");
    assert!(records(&app).is_empty());

    // A staging record while composing: pending, with the staging registry's URLs.
    let (status, body) =
        alice.post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{form}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let stored = records(&app);
    assert_eq!(stored.len(), 1);
    let d = &stored[0];
    assert_eq!(
        (d.platform, d.package.as_str(), d.version.as_str()),
        (DistributionPlatform::Pypi, "apache-test-client", "0.1")
    );
    assert!(d.staging && d.pending && d.upload_date.is_none(), "{d:?}");
    assert_eq!(d.api_url, "https://test.pypi.org/pypi/apache-test-client/0.1/json");
    assert_eq!(d.created_by.as_str(), "alice");
    let (_, page) = alice.get(&app, "/distributions/test-client/0.1").await;
    assert!(page.contains("Recorded PyPI apache-test-client@0.1 (pending"), "flash\n{page}");
    assert!(page.contains("pending: the registry has not been asked yet"), "{page}");

    // The same record again is not added twice.
    let input = DistributionInput {
        platform: DistributionPlatform::Pypi,
        owner_namespace: None,
        package: "apache-test-client".into(),
        version: "0.1".into(),
        staging: true,
    };
    let (_, added) = ops::record_distribution(&app.storage, &member("alice"), &p, &v, input, now).unwrap();
    assert!(!added);
    assert_eq!(records(&app).len(), 1);

    // Refusals name the rule: Maven has no staging registry, bad characters and unknown
    // platforms are refused. A published record is taken in any phase (as by ATR's API).
    for (form, expected) in [
        ("platform=MAVEN&owner_namespace=org.apache&package=x&version=0.1&staging=1", "no staging registry"),
        ("platform=PYPI&package=..%2Fx&version=0.1&staging=1", "not allowed"),
        ("platform=GITHUB&package=x&version=0.1", "is not a platform"),
    ] {
        let (status, body) = alice
            .post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{form}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form}: {body}");
        assert!(body.contains(expected), "{form}: {body}");
    }
    assert_eq!(records(&app).len(), 1, "nothing stored by a refusal");
    let npm = "platform=NPM_SCOPED&owner_namespace=apache&package=test-client&version=0.1";
    let (status, body) =
        alice.post(&app, "/distribution/record/test-client/0.1", &format!("csrf_token={token}&{npm}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let published = records(&app).into_iter().find(|d| !d.staging).unwrap();
    assert_eq!(published.api_url, "https://registry.npmjs.org/@apache/test-client");
    assert_eq!(published.web_url.as_deref(), Some("https://www.npmjs.com/package/@apache/test-client/v/0.1"));
    let del_npm = "platform=NPM_SCOPED&owner_namespace=apache&package=test-client&version=0.1";
    let (status, _) = alice
        .post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={token}&{del_npm}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Deleted by a member, audited both ways.
    let del = "platform=PYPI&owner_namespace=&package=apache-test-client&version=0.1";
    let (status, body) = bob
        .post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={bob_token}&{del}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        alice.post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={token}&{del}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(records(&app).is_empty());
    let (status, _) =
        alice.post(&app, "/distribution/delete/test-client/0.1", &format!("csrf_token={token}&{del}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleting again: there is no such record");
    let events = app.storage.read(|tx| tx.audit_events_for("test-client-0.1")).unwrap();
    let changes: Vec<&str> = events
        .iter()
        .filter(|e| e.action == AuditAction::DistributionChange)
        .map(|e| e.details["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["record", "record", "delete", "delete"]);
}
