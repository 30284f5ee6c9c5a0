//! The admin consistency report: clean on a fresh draft, then each kind of damage is named.

use salvo::http::StatusCode;

use super::TestApp;

#[tokio::test]
async fn the_consistency_report_names_each_kind_of_damage() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    let (status, _) = bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, body) = bob.upload(&app, &path, &[("README.txt", b"Read me.\n")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    let (mut admin, _) = app.browser(Some("admin")).await;
    let (status, page) = admin.get(&app, "/admin/consistency").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No problems found; ") && page.contains("2 revisions of unannounced"), "{page}");

    let (status, _) = bob.get(&app, "/admin/consistency").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let layout = app.storage.layout();
    let release = layout.unfinished().join("test-client/0.1");
    std::fs::rename(release.join("00002"), app.storage.layout().tmp().join("moved-away")).unwrap();
    std::fs::create_dir_all(release.join("00042")).unwrap();
    std::fs::create_dir_all(layout.root().join("quarantine/77")).unwrap();
    let (status, page) = admin.get(&app, "/admin/consistency").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<strong>3 problems found; </strong>"), "{page}");
    assert!(page.contains("Revision rows without a directory (1)"), "{page}");
    assert!(page.contains("<code>test-client/0.1/00002</code>"), "{page}");
    assert!(page.contains("Revision directories without a row (1)"), "{page}");
    assert!(page.contains("<code>test-client/0.1/00042</code>"), "{page}");
    assert!(page.contains("Quarantine directories without an entry (1)") && page.contains("<code>77</code>"));

    // A task claimed by a worker that then vanished is stuck once its lease expires.
    let now = crate::handlers::now();
    let claimed = app
        .storage
        .write(|tx| tx.claim_task("gone-worker", now, 60))
        .unwrap()
        .expect("the upload queued check tasks");
    let at = |secs: i64| now.unix() + secs;
    let fresh = crate::consistency::report(&app.storage, at(30), 10).unwrap();
    assert!(fresh.stale_tasks.is_empty(), "the lease still runs");
    let later = crate::consistency::report(&app.storage, at(3600), 10).unwrap();
    assert_eq!(later.stale_tasks.len(), 1, "{later:?}");
    assert_eq!(later.stale_tasks[0].worker.as_deref(), Some("gone-worker"));
    assert_eq!(later.stale_tasks[0].release.as_deref(), Some("test-client-0.1"));
    let _ = claimed;
    assert_eq!(later.problems(), 4);
    assert!(later.orphan_results.is_empty() && later.quarantine_without_files.is_empty());
}
